"""
Reliable delivery of server packets: SEQ1 numbering, resends, give-up.

Every packet the client must acknowledge takes the session's next SEQ1, is sent,
and waits in C{session.pending} until the client's ACK names that SEQ1.  It is
resent with identical bytes every C{timeout} seconds, at most C{retries} times.
A packet that is never acknowledged leaves the client deaf (it ignores every
later SEQ1), so giving up on one ends the session.

Pure bookkeeping: the caller supplies C{now} and does the sending.
"""

from dataclasses import dataclass
from typing import Callable, Optional

# A client that leaves this many packets unacknowledged is treated as gone, so a
# dead client cannot make the server's memory grow.
MAX_PENDING = 256


@dataclass(eq=False)
class Pending:
    """
    A sent packet awaiting its ACK.

    @ivar on_ack: called once when the client acknowledges it (e.g. to delete a
        delivered offline message).
    @ivar message: C{(from_uin, msg_type, text, sent_at)} when the packet
        carries a message that must be stored offline if it is never
        acknowledged.
    """

    seq1: int
    datagram: bytes
    due: float
    retries_left: int
    on_ack: Optional[Callable] = None
    message: Optional[tuple] = None


class ReliableQueue:
    """
    The server-wide view of unacknowledged packets: which sessions have any, and
    which of those are due for a resend or have run out of retries.
    """

    def __init__(self):
        self.busy = set()
        self.resends = 0
        self.expired = 0

    def add(self, session, seq1, datagram, now, timeout, retries, on_ack=None, message=None):
        """
        Queue a just-sent packet.

        @return: C{False} when the session already has L{MAX_PENDING} packets
            outstanding (the caller should end it).
        """
        if len(session.pending) >= MAX_PENDING:
            return False
        session.pending[seq1] = Pending(seq1, datagram, now + timeout, retries, on_ack, message)
        self.busy.add(session)
        return True

    def ack(self, session, seq1):
        """
        @return: the acknowledged L{Pending}, or L{None} for an unknown SEQ1
            (a duplicate ACK, or one for a packet already given up).
        """
        entry = session.pending.pop(seq1, None)
        if not session.pending:
            self.busy.discard(session)
        return entry

    def forget(self, session):
        """
        Drop everything queued for a session that has ended.

        @return: the dropped entries, oldest first.
        """
        self.busy.discard(session)
        entries = sorted(session.pending.values(), key=lambda p: p.due)
        session.pending.clear()
        return entries

    def due(self, now, timeout):
        """
        Advance time: collect packets to resend and sessions that gave up.

        @return: C{(resend, dead)}: a list of C{(session, datagram)} to send
            again, and the sessions with a packet out of retries.
        """
        resend = []
        dead = []
        for session in list(self.busy):
            for entry in session.pending.values():
                if entry.due > now:
                    continue
                if entry.retries_left <= 0:
                    dead.append(session)
                    self.expired += 1
                    break
                entry.retries_left -= 1
                entry.due = now + timeout(session)
                resend.append((session, entry.datagram))
        self.resends += len(resend)
        return resend, dead

# Reply packets to one request at most (a search's results), whatever the
# configuration says: each is a reliable packet, and a client with
# MAX_PENDING unacknowledged ones is dropped.
SEARCH_PACKETS_MAX = MAX_PENDING // 2
