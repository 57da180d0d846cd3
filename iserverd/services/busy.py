# -*- test-case-name: tests.test_busy -*-
"""
The busy gate: overload shedding in front of the packet handlers.

Every datagram passes L{BusyGate.admit} before it is decoded and dispatched.

 - A packet of a logged-in session (its UIN's session was opened from this
   very address and port) is always served, and costs one dictionary lookup:
   client ACKs shrink the resend list, keep-alives keep users from expiring,
   and online users go on talking whatever else arrives.
 - Every other packet (logins, registrations, garbage, strays: the packets
   that can start new work) takes a token from its source address's bucket,
   then one from the global bucket (L{iserverd.core.ratelimit}).  One noisy
   source runs out of its own budget before it can drain the global one.
 - Beyond either budget the packet gets the protocol's BUSY reply and
   nothing else: no database work, no session (server-model.md section 5).
   A v5 client is answered with the header-only v5 BUSY (0x00FA, SEQ1 0, SEQ2
   and session id copied), a v3 client with the v3 packet of the same code.
   A client ACK or a packet that does not decode is dropped; so is everything
   beyond the BUSY replies' own budget, so that a flood from spoofed sources
   cannot make the server send as fast as it is sent to.

Entering overload and leaving it (no refusal for L{QUIET} seconds) are logged
once each.
"""

import struct

from twisted.application import service
from twisted.logger import Logger

from iserverd.codec import v5
from iserverd.codec.errors import MalformedPacket
from iserverd.core.ratelimit import BucketTable, allow
from iserverd.services.loop import GuardedLoop

# Overload is over once nothing was refused for this long (seconds).
QUIET = 5.0
TICK = 1.0

_V3 = 3
_V5 = v5.VERSION
_V3_HEADER_SIZE = 16
_CMD_ACK = 0x000A  # the same code in v3 and v5
_UIN_AT = {_V5: 6, _V3: 8}  # where the sender's UIN lies, unencrypted (within 12 bytes)
_U32 = struct.Struct("<I")
# version, command, seq1, seq2, uin (v3 header, never encrypted)
_V3_FIELDS = struct.Struct("<HHHHI")


class BusyGate(service.Service):
    """
    @ivar sources: the per-source L{BucketTable}.
    @ivar overloaded_since: clock time overload began, or L{None}.
    @ivar counters: C{refused} (all packets turned away), C{busy} (BUSY
        replies sent), C{dropped} (refused without a reply), C{sessions}
        (packets of sessions served during overload).
    """

    log = Logger()

    def __init__(self, config, clock, lookup, send):
        """
        @param config: the server L{iserverd.config.Config} (the C{overload_*}
            settings).
        @param clock: an L{IReactorTime}.
        @param lookup: C{lookup(uin)} returns the online session of a UIN, or
            L{None} (the network's C{sessions.get}).
        @param send: C{send(datagram, addr)}, the transport's output.
        """
        self.clock = clock
        self.lookup = lookup
        self.send = send
        self.rate = config.overload_rate
        self.burst = config.overload_burst
        self.busy_rate = config.overload_busy_rate
        self.sources = BucketTable(
            config.overload_source_rate, config.overload_source_burst, config.overload_source_table
        )
        self.overloaded_since = None
        self.counters = {"refused": 0, "busy": 0, "dropped": 0, "sessions": 0}
        self._global = None
        self._replies = None
        self._replies_muted_until = 0.0
        self._last_refusal = None
        self._at_entry = None
        self._loop = GuardedLoop(clock, TICK, self.tick, "busy gate tick")

    # --- the hot path ---------------------------------------------------------

    def admit(self, datagram, addr):
        """
        Decide whether a datagram may go on to its handler; a refused one has
        had its BUSY reply (or been dropped) when this returns.

        @return: C{True} to handle the datagram, C{False} when it was refused.
        """
        # A logged-in session's packet is served unmetered: the UIN lies
        # unencrypted at a fixed offset, so this costs one dictionary lookup.
        if len(datagram) >= 12:
            version = datagram[0] | (datagram[1] << 8)
            at = _UIN_AT.get(version)
            if at is not None:
                session = self.lookup(_U32.unpack_from(datagram, at)[0])
                if (session is not None and session.addr == addr and session.version == version
                        and session.active):
                    if self.overloaded_since is not None:
                        self.counters["sessions"] += 1
                    return True
        now = self.clock.seconds()
        source_ok = self.sources.allow(addr[0], now)
        if source_ok:
            ok, self._global = allow(self._global, now, self.rate, self.burst)
            if ok:
                return True
        self._refuse(datagram, addr, now, source_ok)
        return False

    def _refuse(self, datagram, addr, now, source_ok):
        if self.overloaded_since is None:
            self.overloaded_since = now
            self._at_entry = dict(self.counters)
            if source_ok:
                why = "packets without a session are over the server's rate"
            else:
                why = "source %s is over its rate" % (addr[0],)
            self.log.warn("overload: {why}; answering BUSY to packets without a session", why=why)
        self.counters["refused"] += 1
        self._last_refusal = now
        # The reply budget is spent only on a reply actually sent, and checked
        # first, so that a flood beyond it is not even decoded.
        if now < self._replies_muted_until or not self.busy_rate:
            self.counters["dropped"] += 1
            return
        ok, replies = allow(self._replies, now, self.busy_rate, self.busy_rate)
        if not ok:
            # Empty: nothing to try before the next token is due.
            self._replies_muted_until = now + (1 - replies.tokens) / self.busy_rate
        reply = self._busy_reply(datagram) if ok else None
        if reply is None:
            self.counters["dropped"] += 1
            return
        self._replies = replies
        self.counters["busy"] += 1
        self.send(reply, addr)

    @staticmethod
    def _busy_reply(datagram):
        """The BUSY answer to a datagram, or L{None} when it deserves none."""
        version = datagram[0] | (datagram[1] << 8) if len(datagram) >= 2 else None
        if version == _V5:
            try:
                packet = v5.decode_client(datagram)
            except MalformedPacket:
                return None
            if packet.command == _CMD_ACK:
                return None
            return v5.encode_server(
                v5.ServerPacket(packet.session_id, v5.SRV_BUSY, 0, packet.seq2, packet.uin)
            )
        if version == _V3 and len(datagram) >= _V3_HEADER_SIZE:
            _, command, _, seq2, uin = _V3_FIELDS.unpack_from(datagram)
            if command == _CMD_ACK:
                return None
            return v5.encode_v3_reply(v5.SRV_BUSY, seq2, uin)
        return None

    # --- the tick -------------------------------------------------------------

    def tick(self):
        """Once a second: forget idle sources, and notice when overload is over."""
        now = self.clock.seconds()
        self.sources.expire(now)
        if self.overloaded_since is not None and now - self._last_refusal >= QUIET:
            before = self._at_entry
            refused = self.counters["refused"] - before["refused"]
            self.log.warn(
                "overload over after {seconds:.0f} s: {refused} packets refused "
                "({busy} answered BUSY, {dropped} dropped), {sessions} of sessions served",
                seconds=self._last_refusal - self.overloaded_since, refused=refused,
                busy=self.counters["busy"] - before["busy"],
                dropped=self.counters["dropped"] - before["dropped"],
                sessions=self.counters["sessions"] - before["sessions"],
            )
            self.overloaded_since = None

    def startService(self):
        service.Service.startService(self)
        self._loop.start()

    def stopService(self):
        service.Service.stopService(self)
        return self._loop.stop()
