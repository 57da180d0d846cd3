"""
Big-endian field readers and writers and TLVs, shared by the OSCAR families.

OSCAR numbers are big-endian (network order) everywhere except inside the ICQ
blocks (family 0x15, channel-4 and channel-2 message bodies), which are read
with the little-endian L{iserverd.codec.wire.Reader}.  Every read checks the
bytes left before slicing, so lying lengths end in L{MalformedPacket}.
"""

import struct
from dataclasses import dataclass

from iserverd.codec import wire
from iserverd.codec.errors import MalformedPacket

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class Reader(wire.Reader):
    """
    A big-endian cursor: L{wire.Reader} with network-order words, plus the
    OSCAR strings.
    """

    __slots__ = ()

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

    def bstr(self, what="string"):
        """A BYTE-length-prefixed string (a BUIN when it names a user)."""
        return self.raw(self.u8(what + " length"), what)

    def wstr(self, what="string"):
        """A WORD-length-prefixed string."""
        return self.raw(self.u16(what + " length"), what)


def u8(value):
    return bytes((value & 0xFF,))


def u16(value):
    return _U16.pack(value & 0xFFFF)


def u32(value):
    return _U32.pack(value & 0xFFFFFFFF)


def text(value):
    """Bytes of a protocol string given as bytes or ASCII/latin-1 text."""
    if isinstance(value, str):
        return value.encode("latin-1", "replace")
    return bytes(value)


def bstr(value):
    value = text(value)
    if len(value) > 0xFF:
        raise ValueError("a BYTE-length string of %d bytes" % len(value))
    return u8(len(value)) + value


def wstr(value):
    value = text(value)
    if len(value) > 0xFFFF:
        raise ValueError("a WORD-length string of %d bytes" % len(value))
    return u16(len(value)) + value


def screen_name(uin):
    """The screen name of an ICQ account: its UIN in decimal ASCII."""
    return b"%d" % (uin,)


def parse_uin(name):
    """
    The UIN a screen name stands for, or L{None} for an AIM-style name (or
    anything else that is not a plain decimal number that fits a DWORD).
    """
    name = text(name)
    if not name or not name.isdigit() or len(name) > 10:
        return None
    value = int(name)
    return value if 0 < value <= 0xFFFFFFFF else None


def tlv(kind, value=b""):
    """One TLV: WORD type, WORD length, the value."""
    value = text(value)
    if len(value) > 0xFFFF:
        raise ValueError("TLV 0x%04X of %d bytes" % (kind, len(value)))
    return u16(kind) + u16(len(value)) + value


@dataclass(frozen=True)
class Tlvs:
    """
    An ordered TLV chain (types may repeat; the first occurrence is "the" value).

    @ivar items: C{(type, value)} pairs in wire order.
    """

    items: tuple = ()

    @classmethod
    def of(cls, *pairs):
        """Build from C{(type, value)} pairs; L{None} values are left out."""
        return cls(tuple((t, text(v)) for t, v in pairs if v is not None))

    def get(self, kind, default=None):
        for t, v in self.items:
            if t == kind:
                return v
        return default

    def all(self, kind):
        return [v for t, v in self.items if t == kind]

    def word(self, kind, default=None):
        """The first TLV of this type read as a WORD (L{None} if absent or short)."""
        v = self.get(kind)
        return default if v is None or len(v) < 2 else _U16.unpack_from(v)[0]

    def dword(self, kind, default=None):
        v = self.get(kind)
        return default if v is None or len(v) < 4 else _U32.unpack_from(v)[0]

    def __contains__(self, kind):
        return any(t == kind for t, _ in self.items)

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)

    def types(self):
        return [t for t, _ in self.items]

    def without(self, *kinds):
        return Tlvs(tuple((t, v) for t, v in self.items if t not in kinds))

    def plus(self, *pairs):
        return Tlvs(self.items + Tlvs.of(*pairs).items)

    def build(self):
        """The chain: TLVs back to back."""
        return b"".join(tlv(t, v) for t, v in self.items)

    def build_block(self):
        """The block: WORD count, then the chain."""
        return u16(len(self.items)) + self.build()

    @classmethod
    def parse(cls, data, lenient=False):
        """
        Read a chain to the end of C{data}.

        @param lenient: accept a last TLV whose length runs past the end,
            keeping the bytes present (Jimm's over-long capability TLV).
        """
        return cls.read(Reader(data), None, lenient)

    @classmethod
    def read(cls, reader, count=None, lenient=False):
        """
        Read C{count} TLVs (a block's body), or to the end when L{None}.
        """
        items = []
        while reader.remaining() if count is None else len(items) < count:
            kind = reader.u16("TLV type")
            length = reader.u16("TLV length")
            if lenient and count is None and length > reader.remaining():
                items.append((kind, reader.rest()))
                break
            items.append((kind, reader.raw(length, "TLV 0x%04X" % kind)))
        return cls(tuple(items))

    @classmethod
    def read_block(cls, reader):
        """Read a block: WORD count, then that many TLVs."""
        return cls.read(reader, reader.u16("TLV count"))


def words(data, what="word list"):
    """A packed list of WORDs (family lists, class ids, SSI results)."""
    if len(data) % 2:
        raise MalformedPacket("%s of %d bytes is not whole words" % (what, len(data)))
    return [v for (v,) in _U16.iter_unpack(data)]


def pack_words(values):
    return b"".join(u16(v) for v in values)


def buin_list(data):
    """Screen names back to back, each a BUIN (03,04 and 09,05 bodies)."""
    r = Reader(data)
    names = []
    while r.remaining():
        names.append(r.bstr("screen name"))
    return names


def pack_buins(names):
    return b"".join(bstr(n) for n in names)


__all__ = [
    "MalformedPacket", "Reader", "Tlvs", "bstr", "buin_list", "pack_buins",
    "pack_words", "parse_uin", "screen_name", "text", "tlv", "u8", "u16", "u32",
    "words", "wstr",
]
