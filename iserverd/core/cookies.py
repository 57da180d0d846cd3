# -*- test-case-name: tests.test_oscar_core -*-
"""
OSCAR login cookies (oscar.md 5.4): what the authorization step hands a
client to present at the BOS step.

A cookie is 16 random bytes bound to the UIN that earned it.  It is accepted
once (taking it removes it), only within its lifetime, and the jar is bounded,
so a login flood cannot grow it: past the limit the oldest cookie is dropped.
"""

import os
from collections import OrderedDict
from dataclasses import dataclass

COOKIE_SIZE = 16


@dataclass(frozen=True)
class Ticket:
    """What a cookie stands for."""

    uin: int
    issued_at: float
    client_id: bytes = b""


class CookieJar:
    """
    @ivar clock: an C{IReactorTime}; only C{seconds()} is used.
    """

    def __init__(self, clock, lifetime=60.0, limit=65536, random=os.urandom):
        self.clock = clock
        self.lifetime = lifetime
        self.limit = limit
        self._random = random
        self._tickets = OrderedDict()  # cookie -> Ticket, oldest first

    def __len__(self):
        return len(self._tickets)

    def _prune(self, now):
        tickets = self._tickets
        while tickets:
            cookie, ticket = next(iter(tickets.items()))
            if ticket.issued_at + self.lifetime > now and len(tickets) <= self.limit:
                break
            del tickets[cookie]

    def issue(self, uin, client_id=b""):
        """@return: a fresh cookie for C{uin}."""
        now = self.clock.seconds()
        cookie = self._random(COOKIE_SIZE)
        while cookie in self._tickets:
            cookie = self._random(COOKIE_SIZE)
        self._tickets[cookie] = Ticket(uin, now, bytes(client_id))
        self._prune(now)
        return cookie

    def take(self, cookie):
        """
        Accept a cookie once.

        @return: its L{Ticket}, or L{None} when unknown, already used or expired.
        """
        ticket = self._tickets.pop(bytes(cookie), None)
        if ticket is None or ticket.issued_at + self.lifetime <= self.clock.seconds():
            return None
        return ticket

    def forget(self, uin):
        """Drop every cookie of C{uin} (its account was deleted or locked)."""
        for cookie in [c for c, t in self._tickets.items() if t.uin == uin]:
            del self._tickets[cookie]
