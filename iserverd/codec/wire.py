"""
Little-endian field readers and writers shared by the v3 and v5 codecs.

Every read checks the bytes left before slicing, so a short or lying packet ends
in L{MalformedPacket} and never in C{IndexError} or C{struct.error}.
"""

import struct

from iserverd.codec.errors import MalformedPacket

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")


class Reader:
    """
    A cursor over a packet's bytes.

    @ivar data: the bytes being read.
    @ivar pos: the offset of the next read.
    """

    __slots__ = ("data", "pos")

    def __init__(self, data, pos=0):
        self.data = bytes(data)
        self.pos = pos

    def remaining(self):
        return len(self.data) - self.pos

    def _need(self, n, what):
        if n < 0 or self.pos + n > len(self.data):
            raise MalformedPacket(
                "%s needs %d bytes at offset %d, packet has %d"
                % (what, n, self.pos, len(self.data))
            )

    def u8(self, what="byte"):
        self._need(1, what)
        value = self.data[self.pos]
        self.pos += 1
        return value

    def u16(self, what="word"):
        self._need(2, what)
        (value,) = _U16.unpack_from(self.data, self.pos)
        self.pos += 2
        return value

    def u32(self, what="dword"):
        self._need(4, what)
        (value,) = _U32.unpack_from(self.data, self.pos)
        self.pos += 4
        return value

    def raw(self, n, what="bytes"):
        self._need(n, what)
        value = self.data[self.pos : self.pos + n]
        self.pos += n
        return value

    def ip(self, what="ip"):
        """
        An IPv4 address stored in dotted (network) order, returned as text.
        """
        b = self.raw(4, what)
        return "%d.%d.%d.%d" % (b[0], b[1], b[2], b[3])

    def lnts(self, what="string", limit=None):
        """
        A length-prefixed string; one trailing NUL is stripped when present.

        @param limit: the longest accepted length (NUL included), or L{None}.
        """
        n = self.u16(what + " length")
        if limit is not None and n > limit:
            raise MalformedPacket("%s of %d bytes exceeds %d" % (what, n, limit))
        value = self.raw(n, what)
        if value.endswith(b"\x00"):
            value = value[:-1]
        return value

    def rest(self):
        value = self.data[self.pos :]
        self.pos = len(self.data)
        return value

    def u8_or(self, default=0):
        """Read a trailing optional byte; C{default} when the packet ends."""
        return self.u8() if self.remaining() >= 1 else default

    def u16_or(self, default=0):
        return self.u16() if self.remaining() >= 2 else default

    def u32_or(self, default=0):
        return self.u32() if self.remaining() >= 4 else default


def u8(value):
    return bytes((value & 0xFF,))


def u16(value):
    return _U16.pack(value & 0xFFFF)


def u32(value):
    return _U32.pack(value & 0xFFFFFFFF)


def ip(address):
    """
    Encode dotted IPv4 text (or C{None}/empty, meaning 0.0.0.0) in network order.
    """
    if not address:
        return b"\x00\x00\x00\x00"
    try:
        parts = [int(p) for p in address.split(".")]
        if len(parts) != 4 or not all(0 <= p <= 255 for p in parts):
            raise ValueError(address)
    except ValueError:
        return b"\x00\x00\x00\x00"
    return bytes(parts)


def lnts(text):
    """
    Encode bytes as an LNTS: WORD length (NUL included), the bytes, a NUL.
    """
    if isinstance(text, str):
        text = text.encode("latin-1", "replace")
    return u16(len(text) + 1) + text + b"\x00"
