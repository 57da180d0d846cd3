# -*- test-case-name: tests.test_guards,tests.test_handlers_v3,tests.test_v5_meta,tests.test_v3_meta -*-
"""
The checks every protocol handler runs a client packet through before it
acts on it, written once for all protocols.

A handler using them provides C{network}, C{version}, C{log}, C{speaker},
C{ack(packet, addr)}, C{not_connected(packet, addr)}, C{session_ids}
(whether its packets carry a session id that must match the session's) and
C{parse_request(packet)} (the command's parameters, or L{None}).
"""

import functools

from twisted.internet import defer

from iserverd.core.network import SYSTEM_UIN
from iserverd.core.session import unacknowledged
from iserverd.storage.interfaces import LIST_INVISIBLE, LIST_VISIBLE

MSG_PLAIN = 0x0001

# In a reply list: end the session after sending the replies (unregister).
END_SESSION = object()

# Registration needs no login, so one source address may register once per
# this many seconds; a repeat of a request already answered gets the same
# answer again instead (the client resends until it sees one).
REGISTRATION_INTERVAL = 60.0
REGISTRATION_MEMORY = 1024

# The answer to a registration that is being stored: the client's resends
# get nothing until it is known.
PENDING = object()


class SessionChecks:
    """
    Mixin for a protocol handler: find the session a packet belongs to.
    """

    def own_session(self, packet, addr):
        """The sender's session if the packet comes from it (address, port, session id), else L{None}."""
        session = self.network.sessions.get(packet.uin)
        if (session is None or session.version != self.version
                or not session.matches(addr, packet.session_id if self.session_ids else None)):
            return None
        return session

    def client_ack(self, packet, addr):
        """A client acknowledges one of our reliable packets (its SEQ1 is ours)."""
        session = self.own_session(packet, addr)
        if session is not None:
            self.network.ack(session, packet.seq1)

    def session_for(self, packet, addr):
        """
        The sender's session, if the packet comes from it; else NOT_CONNECTED
        is sent and L{None} returned.  Any authenticated packet counts as a
        keep-alive.
        """
        session = self.own_session(packet, addr)
        if session is None:
            if self.network.sessions.get(packet.uin) is not None:
                self.log.info(
                    "v{version} 0x{command:04x} for uin {uin} from {host}:{port} does not match its session;"
                    " refused", version=self.version, command=packet.command, uin=packet.uin,
                    host=addr[0], port=addr[1],
                )
            self.not_connected(packet, addr)
            return None
        self.network.keep_alive(session)
        return session


def session_command(method):
    """
    Run C{method(self, session, packet, addr, request)} only for a packet from
    the sender's own login, with its parsed parameters; a repeat of a recently
    handled packet is acknowledged again and not acted on twice, and a repeat
    of one still being handled is acknowledged only once that succeeds (a
    message's resend is never acknowledged before its first copy is stored).  A malformed
    packet is dropped before it is remembered, so its corrected resend is
    acted on.
    """

    @functools.wraps(method)
    def handle(self, packet, addr):
        session = self.session_for(packet, addr)
        if session is None:
            return None
        request = self.parse_request(packet)
        key = (packet.seq1, packet.command)
        if session.is_repeat(*key):
            original = session.handling.get(key)
            if original is None:
                self.ack(packet, addr)
            else:
                # The first copy is still being handled (a message being
                # stored): the repeat is acknowledged only if that succeeds.
                original.addBoth(_ack_repeat, self, session, packet, addr)
            return None
        result = method(self, session, packet, addr, request)
        if isinstance(result, defer.Deferred):
            # Removed at once when it is already done.
            session.handling[key] = result
            result.addBoth(_handled, session, key)
        return result

    return handle


def _ack_repeat(result, handler, session, packet, addr):
    if session.active and session.remembers(packet.seq1, packet.command):
        handler.ack(packet, addr)
    return result


def _handled(result, session, key):
    session.handling.pop(key, None)
    return result


class SharedCommands(SessionChecks):
    """
    Mixin for a protocol handler: the session commands every protocol handles
    alike, once their parameters are parsed (a C{uins} list, a C{uin}).  The
    handler also provides C{authorization} and C{ends_list(request)}, whether
    a contact-list packet completes the list (which delivers offline
    messages).
    """

    def attach_meta(self, meta):
        """
        Serve the commands of the protocol's info, search and registration
        handler: its C{table} (no session needed) and its C{session_commands}.
        """
        self.meta = meta
        self.table.update(meta.table)
        self.table.update(dict.fromkeys(meta.session_commands, self.directory_command))

    @session_command
    def acknowledge(self, session, packet, addr, request):
        """
        A session command that is only acknowledged: keep-alives (the session
        check already renewed the lifetime) and commands with nothing left
        to do.
        """
        self.ack(packet, addr)

    @session_command
    def directory_command(self, session, packet, addr, request):
        """Info, search and account changes: the protocol's C{meta} handler serves them."""
        return self.meta.handle(session, packet, addr, request)

    @session_command
    def contact_list(self, session, packet, addr, request):
        """A contact-list packet: the contacts that may be added are, and the online ones shown."""
        final = self.ends_list(request)
        return self.authorization.contacts(
            self, session, packet, addr, request.uins,
            lambda uins: self.network.contact_list(session, uins, final=final),
        )

    @session_command
    def add_contact(self, session, packet, addr, request):
        """One contact added (v5 ADD_TO_LIST, v3 USER_ADD): checked for authorization like a list."""
        return self.authorization.add_contact(self, session, packet, addr, request.uin)

    @session_command
    def visible_list(self, session, packet, addr, request):
        """The visible list (v3 VISIBLE_LIST as in v5, v3.md 21 #4)."""
        self.ack(packet, addr)
        self.network.change_list(session, LIST_VISIBLE, add=request.uins)

    @session_command
    def invisible_list(self, session, packet, addr, request):
        """The invisible list (v3 INVISIBLE_LIST as in v5, v3.md 21 #4)."""
        self.ack(packet, addr)
        self.network.change_list(session, LIST_INVISIBLE, add=request.uins)


def reply_when_done(handler, session, packet, addr, d):
    """
    Answer a request whose Deferred C{d} fires with the replies, as
    C{(server command, data)} pairs: the ACK, then the replies, reliable and
    carrying the request's SEQ2; an L{END_SESSION} pair ends the session after
    them.  A refused request has no replies and is only acknowledged.  While
    the database is away nothing is acknowledged, so the client resends.
    """

    def answer(replies):
        handler.ack(packet, addr)
        packets = []
        for command, data in replies:
            if command is not END_SESSION:
                packets += session.speaker.reliable(command, data, packet.seq2)
        if packets:
            handler.network.send_reliable(session, packets)
        for command, reason in replies:
            if command is END_SESSION:
                handler.network.end_session(session, reason)

    return d.addCallback(answer).addErrback(unacknowledged(session, packet))


def refused_as_too_long(handler, session, packet, addr, recipient, text, limit):
    """
    Refuse a message over the version's size limit: the packet is
    acknowledged, the sender told by a system message, and the session goes
    on (IServerd disconnected the sender).

    @return: whether the message was refused.
    """
    if len(text) <= limit:
        return False
    handler.ack(packet, addr)
    handler.log.info("uin {uin}: message of {size} bytes to {to} refused (limit {limit})",
                     uin=session.uin, size=len(text), to=recipient, limit=limit)
    notice = "Your message to %d was not delivered: it is longer than %d bytes." % (recipient, limit)
    handler.network.send_reliable(
        session, session.speaker.message(session, SYSTEM_UIN, MSG_PLAIN, notice.encode("ascii"))
    )
    return True


def relay_message(handler, session, packet, addr, recipient, msg_type, text, limit):
    """
    A message through the server: refused when over C{limit}, else
    acknowledged once it is queued for the online recipient or stored (an
    "authorization granted" is recorded first); not acknowledged, so the
    client resends, while the database is away.
    """
    if len(text) > limit and refused_as_too_long(handler, session, packet, addr, recipient, text, limit):
        return None
    d = handler.authorization.send_message(session, recipient, msg_type, text)
    return d.addCallbacks(lambda _: handler.ack(packet, addr), unacknowledged(session, packet))


class RegistrationGuard:
    """
    Registration without a login, kept in bounds: one source address
    registers at most once per L{REGISTRATION_INTERVAL}, and a resend of a
    request already answered gets the same answer again (each protocol keys
    its requests by what identifies a resend).
    """

    def __init__(self, clock, interval=REGISTRATION_INTERVAL, memory=REGISTRATION_MEMORY):
        self.clock = clock
        self.interval = interval
        self.memory = memory
        self._answers = {}  # request key -> (clock time, answer or PENDING)
        self._last = {}  # host -> clock time of its last registration

    def recall(self, key):
        """
        @return: L{None} for a new request, else the answer given to it
            (L{PENDING} while it is being stored).
        """
        self._forget(self.clock.seconds())
        entry = self._answers.get(key)
        return None if entry is None else entry[1]

    def too_soon(self, host):
        """Whether C{host} registered less than the interval ago."""
        now = self.clock.seconds()
        return now - self._last.get(host, now - self.interval) < self.interval

    def start(self, key, host):
        """
        A registration is being stored: taken now, so a resend or another
        request that arrives while the database works is not registered twice.
        """
        now = self.clock.seconds()
        self._answers[key] = (now, PENDING)
        self._last[host] = now

    def answered(self, key, answer):
        """Remember the answer to a request (a refusal or the stored outcome)."""
        self._answers[key] = (self.clock.seconds(), answer)

    def failed(self, key, host):
        """Nothing was stored (the database is away): the resend counts as new."""
        self._answers.pop(key, None)
        self._last.pop(host, None)

    def _forget(self, now):
        for table, when in ((self._answers, lambda v: v[0]), (self._last, lambda v: v)):
            stale = [k for k, v in table.items() if now - when(v) >= self.interval]
            for k in stale:
                del table[k]
            while len(table) > self.memory:
                del table[next(iter(table))]
