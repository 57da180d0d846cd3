"""
Online sessions and the table that indexes them.

A L{Session} is everything the server knows about one login: where the client
is, what it may see, what it has not acknowledged yet.  The L{SessionTable} is
IServerd's "online cache": every lookup on the hot path is a dictionary access
here, never a database query.
"""

from collections import deque
from dataclasses import dataclass, field, fields, replace
from typing import Optional

from twisted.logger import Logger

from iserverd.storage.interfaces import Account, DatabaseUnavailable

_log = Logger()

# Status words (low word of the status DWORD).
STATUS_ONLINE = 0x0000
STATUS_INVISIBLE_BIT = 0x0100
STATUS_OFFLINE = 0xFFFF

_ACCOUNT_FIELDS = frozenset(f.name for f in fields(Account))

# How many recent (SEQ1, command) pairs a session remembers to spot retransmissions.
DEDUP_WINDOW = 32


@dataclass
class ClientInfo:
    """
    What a client said about itself at login, echoed to its watchers.
    """

    tcp_port: int = 0
    internal_ip: str = "0.0.0.0"
    dc_type: int = 0
    tcp_version: int = 0
    web_port: int = 0
    client_features: int = 0


@dataclass(frozen=True)
class LoginRequest:
    """
    What a login packet asks for, in any protocol: the account, the client's
    address (and session id, where the protocol has one), its first status
    and what it said about itself.  C{seq2} is answered in the HELLO.
    """

    uin: int
    password: bytes
    addr: tuple
    session_id: int = 0
    status: int = STATUS_ONLINE
    flags: int = 0
    info: ClientInfo = field(default_factory=ClientInfo)
    seq2: int = 0


@dataclass(eq=False)
class Session:
    """
    One logged-in client.

    @ivar speaker: the per-version object that encodes packets for this client
        (provides L{iserverd.core.interfaces.ISpeaker}).
    @ivar login_id: unique per login in this server process; ties queued
        packets to one login.
    @ivar next_seq: the SEQ1 of the next reliable packet to this client.
    @ivar pending: SEQ1 to L{iserverd.core.reliable.Pending}, the packets the
        client has not acknowledged yet.
    @ivar expires_at: clock time at which the session ends without a keep-alive.
    """

    uin: int
    version: int
    addr: tuple
    session_id: int
    login_id: int
    speaker: object
    ping_time: int
    status: int = STATUS_ONLINE
    flags: int = 0
    info: ClientInfo = field(default_factory=ClientInfo)
    account: Optional[object] = None
    login_at: float = 0.0
    expires_at: float = 0.0
    next_seq: int = 0
    pending: dict = field(default_factory=dict)
    contacts: set = field(default_factory=set)
    visible: set = field(default_factory=set)
    invisible: set = field(default_factory=set)
    active: bool = True
    offline_delivery: str = "due"  # due -> running -> done
    delivering: set = field(default_factory=set)
    handling: dict = field(default_factory=dict)
    _recent: deque = field(default_factory=lambda: deque(maxlen=DEDUP_WINDOW))
    _top: Optional[int] = None

    @property
    def invisible_mode(self):
        # IServerd tested status == 0x0100; the bit test also covers invisible + away.
        return bool(self.status & STATUS_INVISIBLE_BIT)

    def is_repeat(self, seq1, command):
        """
        Remember C{(seq1, command)}; return whether it is a retransmission or a
        replay: seen recently, or older than the recent window (clients number
        their packets consecutively, so such a packet can only be a replay).
        """
        key = (seq1, command)
        if key in self._recent:
            return True
        if self._top is not None:
            behind = (self._top - seq1) & 0xFFFF
            if DEDUP_WINDOW < behind < 0x8000:
                return True
            if behind >= 0x8000:
                self._top = seq1
        else:
            self._top = seq1
        self._recent.append(key)
        return False

    def remembers(self, seq1, command):
        """Whether C{(seq1, command)} was handled (not forgotten as failed)."""
        return (seq1, command) in self._recent

    def forget_repeat(self, seq1, command):
        """Let a packet that could not be handled count as new when it is resent."""
        try:
            self._recent.remove((seq1, command))
        except ValueError:
            pass

    def update_account(self, values):
        """
        Keep the account held with the session in step with stored columns
        (presence and "you were added" read it, not the database).
        """
        if self.account is not None:
            known = _ACCOUNT_FIELDS.intersection(values)
            self.account = replace(self.account, **{k: values[k] for k in known})

    def take_seq(self):
        seq = self.next_seq
        self.next_seq = (seq + 1) & 0xFFFF
        return seq

    def matches(self, addr, session_id=None):
        """The packet comes from this login's address (and session id, for v5)."""
        return self.addr == addr and (session_id is None or session_id == self.session_id)


def visible_to(user, watcher_uin, status=None):
    """
    Whether C{watcher_uin} may see C{user} online (v5.md section 12.5).

    @param status: judge as if the user had this status (for status changes).
    """
    invisible = bool((user.status if status is None else status) & STATUS_INVISIBLE_BIT)
    if invisible:
        return watcher_uin in user.visible
    return watcher_uin not in user.invisible


class SessionTable:
    """
    The online sessions by UIN, with a reverse index of contact lists so that
    "who has U in their list" is one dictionary access.
    """

    def __init__(self):
        self._by_uin = {}
        self._watchers = {}

    def __len__(self):
        return len(self._by_uin)

    def __iter__(self):
        return iter(list(self._by_uin.values()))

    def get(self, uin):
        return self._by_uin.get(uin)

    def add(self, session):
        """Add a session; the caller has removed any older one for the UIN."""
        self._by_uin[session.uin] = session

    def remove(self, session):
        """Forget a session and its contact list; no-op if it was replaced."""
        if self._by_uin.get(session.uin) is session:
            del self._by_uin[session.uin]
        self.drop_contacts(session, set(session.contacts))

    def add_contacts(self, session, uins):
        """@return: the UINs that were not in the contact list before."""
        new = set(uins) - session.contacts
        session.contacts |= new
        for uin in new:
            self._watchers.setdefault(uin, set()).add(session.uin)
        return new

    def drop_contacts(self, session, uins):
        for uin in uins:
            session.contacts.discard(uin)
            owners = self._watchers.get(uin)
            if owners is not None:
                owners.discard(session.uin)
                if not owners:
                    del self._watchers[uin]

    def watchers(self, uin):
        """The active online sessions that have C{uin} in their contact list."""
        result = []
        for owner in self._watchers.get(uin, ()):
            session = self._by_uin.get(owner)
            if session is not None and session.active and uin in session.contacts:
                result.append(session)
        return result


def unacknowledged(session, packet):
    """
    The errback for a client packet whose work needs the database.

    While the database is away the packet is left unacknowledged, so the
    client sends it again; its resend must then count as new, not as a
    repeat of a packet already handled.
    """

    def errback(failure):
        failure.trap(DatabaseUnavailable)
        session.forget_repeat(packet.seq1, packet.command)
        _log.warn(
            "uin {uin}: command 0x{command:04x} (v{version}) not acknowledged, database unavailable",
            uin=session.uin, command=packet.command, version=session.version,
        )

    return errback
