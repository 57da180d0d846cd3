"""
The UDP socket: one datagram in, one decoded packet handed to its handler.

The first WORD of every datagram selects the protocol version (3 or 5).  The
version's handler decodes the packet; the (version, command) table then picks
the method that acts on it.  Nothing raised below this point escapes
L{ICQProtocol.datagramReceived}: a malformed packet is one log event, a failing
handler is one logged error, and the socket keeps serving.
"""

import struct

from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from iserverd.codec.errors import MalformedPacket

# Larger datagrams are not ICQ; IServerd's own limit.
MAX_DATAGRAM = 8192



class ICQProtocol(DatagramProtocol):
    """
    @ivar handlers: protocol version to handler; a handler provides
        C{decode(datagram)}, C{table} (command to callable) and C{unknown(packet, addr)}.
    @ivar counters: packets in/out and dropped, for status and metrics.
    @ivar gate: L{None}, or an object whose C{admit(datagram, addr)} says
        whether a datagram may be handled (the busy gate, which answers the
        ones it refuses itself).
    @ivar meter: L{None}, or C{meter(version, command, known)}, called for each
        decoded packet (metrics); it returns L{None} or a callable that is
        given the handler's result once the handler is done.
    """

    log = Logger()
    gate = None
    meter = None

    def __init__(self, handlers=None):
        self.handlers = dict(handlers or {})
        self.counters = {"in": 0, "out": 0, "malformed": 0, "errors": 0, "refused": 0}

    def send(self, datagram, addr):
        """Send one datagram; a socket error is logged, never raised into a handler."""
        if self.transport is None:
            return
        try:
            self.transport.write(datagram, addr)
            self.counters["out"] += 1
        except Exception as e:
            self.log.warn("send to {addr} failed: {error}", addr=addr, error=e)

    def datagramReceived(self, datagram, addr):
        self.counters["in"] += 1
        try:
            if self.gate is not None and not self.gate.admit(datagram, addr):
                self.counters["refused"] += 1
                return
            self._dispatch(datagram, addr)
        except MalformedPacket as e:
            self.counters["malformed"] += 1
            self.log.info(
                "dropped malformed packet from {host}:{port} ({length} bytes): {reason}",
                host=addr[0], port=addr[1], length=len(datagram), reason=str(e),
            )
        except Exception:
            self.counters["errors"] += 1
            self.log.failure("handler failed on a packet from {host}:{port}", host=addr[0], port=addr[1])

    def _dispatch(self, datagram, addr):
        if len(datagram) < 2 or len(datagram) > MAX_DATAGRAM:
            raise MalformedPacket("datagram of %d bytes" % (len(datagram),))
        if addr[0] == "0.0.0.0":
            raise MalformedPacket("source address 0.0.0.0")
        (version,) = struct.unpack_from("<H", datagram)
        handler = self.handlers.get(version)
        if handler is None:
            raise MalformedPacket("unknown protocol version 0x%04x" % (version,))
        packet = handler.decode(datagram)
        method = handler.table.get(packet.command)
        done = None if self.meter is None else self.meter(version, packet.command, method is not None)
        if method is None:
            result = handler.unknown(packet, addr)
        else:
            result = method(packet, addr)
        if result is not None and hasattr(result, "addErrback"):
            result.addErrback(self._handlerFailed, version, packet.command, addr)
            if done is not None:
                result.addBoth(done)
        elif done is not None:
            done(result)

    def _handlerFailed(self, failure, version, command, addr):
        self.counters["errors"] += 1
        self.log.failure(
            "v{version} command 0x{command:04x} from {host}:{port} failed",
            failure, version=version, command=command, host=addr[0], port=addr[1],
        )
