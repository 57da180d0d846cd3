# -*- test-case-name: tests.test_invites -*-
"""
Invite codes for closed networks: with C{Web invite only}, a web sign-up
needs one.  The administrator makes them (C{iserverd-admin invite create}),
each good for a number of sign-ups, and may revoke them.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from zope.interface import Interface, implementer

# Letters and digits that cannot be mistaken for one another when read aloud or copied.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12


def new_code():
    """A random code such as C{K7QF-2MZX-P9RA} (60 bits)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def normalize(code):
    """What a visitor typed, as stored: upper case, dashes where they belong, no spaces."""
    raw = "".join(c for c in code.upper() if c.isalnum())
    if len(raw) != CODE_LENGTH:
        return None
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


@dataclass(frozen=True)
class Invite:
    code: str
    uses_left: int
    used: int
    revoked: bool
    note: str
    created_at: Optional[datetime] = None


class IInvites(Interface):
    """Invite codes; every method returns a Deferred."""

    def create_invite(uses=1, note=""):
        """@return: Deferred firing with the new code."""

    def list_invites():
        """@return: Deferred firing with the L{Invite}s, newest first."""

    def revoke_invite(code):
        """@return: Deferred firing with whether such a code existed."""

    def use_invite(code):
        """
        Spend one use of C{code}, atomically.

        @return: Deferred firing with whether it was valid (known, not
            revoked, uses left).
        """


@implementer(IInvites)
class PostgresInvites:
    def __init__(self, storage):
        self._query = storage.run_query

    def create_invite(self, uses=1, note=""):
        code = new_code()
        d = self._query("INSERT INTO invites (code, uses_left, note) VALUES (%s, %s, %s) RETURNING code",
                        (code, uses, note))
        return d.addCallback(lambda rows: rows[0][0])

    def list_invites(self):
        d = self._query("SELECT code, uses_left, used, revoked, note, created_at FROM invites"
                        " ORDER BY created_at DESC, code")
        return d.addCallback(lambda rows: [Invite(*row) for row in rows])

    def revoke_invite(self, code):
        d = self._query("UPDATE invites SET revoked = true WHERE code = %s RETURNING code", (normalize(code) or code,))
        return d.addCallback(bool)

    def use_invite(self, code):
        code = normalize(code)
        if code is None:
            from twisted.internet import defer
            return defer.succeed(False)
        d = self._query("UPDATE invites SET uses_left = uses_left - 1, used = used + 1"
                        " WHERE code = %s AND NOT revoked AND uses_left > 0 RETURNING code", (code,))
        return d.addCallback(bool)
