"""
SNAC header (oscar.md 3.1) and the error SNAC every family shares (3.3).
"""

import struct
from dataclasses import dataclass

from iserverd.codec.errors import MalformedPacket
from iserverd.codec.oscar.wire import Reader, Tlvs, u16

HEADER_SIZE = 10

FLAG_MORE = 0x0001  # more SNACs with the same request id follow
FLAG_EXTRA = 0x8000  # the body starts with WORD n + n bytes to skip

# Server-initiated SNACs carry request ids with this bit set.
SERVER_REQUEST_BIT = 0x80000000

SUBTYPE_ERROR = 0x0001

# Error codes (3.3) this server sends.
ERR_INVALID_HEADER = 0x0001
ERR_SERVER_RATE = 0x0002
ERR_CLIENT_RATE = 0x0003
ERR_NOT_LOGGED_ON = 0x0004
ERR_UNAVAILABLE = 0x0005
ERR_NOT_DEFINED = 0x0006
ERR_OBSOLETE = 0x0007
ERR_NOT_SUPPORTED_BY_SERVER = 0x0008
ERR_NOT_SUPPORTED_BY_CLIENT = 0x0009
ERR_REFUSED_BY_CLIENT = 0x000A
ERR_REPLY_TOO_BIG = 0x000B
ERR_REQUEST_DENIED = 0x000D
ERR_BAD_FORMAT = 0x000E
ERR_INSUFFICIENT_RIGHTS = 0x000F
ERR_BLOCKED = 0x0010
ERR_LIST_OVERFLOW = 0x0015

TLV_ERROR_SUBCODE = 0x0008

_HEADER = struct.Struct(">HHHI")


@dataclass(frozen=True)
class Snac:
    """
    One SNAC.

    @ivar body: the family/subtype data, after any flag-0x8000 prefix.
    """

    family: int
    subtype: int
    flags: int = 0
    request_id: int = 0
    body: bytes = b""

    @property
    def key(self):
        return (self.family, self.subtype)


def decode(data):
    """
    Split the data of a channel-2 frame into header and body; a flag-0x8000
    prefix is skipped.

    @raise MalformedPacket: fewer than 10 bytes, or a prefix that runs past
        the end.
    """
    data = bytes(data)
    if len(data) < HEADER_SIZE:
        raise MalformedPacket("SNAC of %d bytes, header needs 10" % len(data))
    family, subtype, flags, request_id = _HEADER.unpack_from(data)
    r = Reader(data, HEADER_SIZE)
    if flags & FLAG_EXTRA:
        r.raw(r.u16("SNAC extra length"), "SNAC extra data")
    return Snac(family, subtype, flags, request_id, r.rest())


def encode(snac):
    """Header + body; a flag-0x8000 body must carry its own prefix."""
    return _HEADER.pack(
        snac.family & 0xFFFF, snac.subtype & 0xFFFF, snac.flags & 0xFFFF,
        snac.request_id & 0xFFFFFFFF,
    ) + bytes(snac.body)


@dataclass(frozen=True)
class Error:
    """xx,01: WORD code, optional TLV 0x0008 sub-code (and others, ignored)."""

    code: int
    subcode: int = None

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        code = r.u16("error code")
        tlvs = Tlvs.parse(r.rest(), lenient=True)
        return cls(code, tlvs.word(TLV_ERROR_SUBCODE))

    def build(self):
        tail = b"" if self.subcode is None else Tlvs.of(
            (TLV_ERROR_SUBCODE, u16(self.subcode))).build()
        return u16(self.code) + tail


def error(family, request_id, code, subcode=None):
    """The error SNAC answering a request of C{family}."""
    return Snac(family, SUBTYPE_ERROR, 0, request_id, Error(code, subcode).build())
