"""
Family 0x0001, generic service control (oscar.md 6, 8): the BOS start-up
replies, rate classes, own info and status.
"""

import struct
from dataclasses import dataclass, field

from iserverd.codec.errors import MalformedPacket
from iserverd.codec.oscar.userinfo import DcInfo, UserInfo
from iserverd.codec.oscar.wire import Reader, Tlvs, pack_words, u16, u32, words

FAMILY = 0x0001
CLIENT_READY = 0x0002
SERVER_READY = 0x0003  # the family list
SERVICE_REQUEST = 0x0004
SERVICE_REDIRECT = 0x0005
RATE_REQUEST = 0x0006
RATE_INFO = 0x0007
RATE_ACK = 0x0008
RATE_CHANGE = 0x000A
OWN_INFO_REQUEST = 0x000E
OWN_INFO = 0x000F
IDLE = 0x0011
MOTD = 0x0013
VERSIONS_REQUEST = 0x0017
VERSIONS = 0x0018
SET_STATUS = 0x001E

# 01,13 as the real server and IServerd send it (vector V4).
MOTD_TYPE = 0x0005
MOTD_TLVS = Tlvs.of((0x0002, u16(0x001E)), (0x0003, u16(0x04B0)))

# 01,1E TLVs.
TLV_STATUS = 0x0006
TLV_DC_INFO = 0x000C

# 01,05 TLVs.
TLV_SERVICE_FAMILY = 0x000D
TLV_SERVICE_ADDRESS = 0x0005
TLV_SERVICE_COOKIE = 0x0006

# 01,0A codes.
RATE_PARAMS_CHANGED = 1
RATE_WARNING = 2
RATE_LIMITED = 3
RATE_CLEARED = 4


@dataclass(frozen=True)
class FamilyList:
    """01,03: the families this server offers."""

    families: tuple = ()

    @classmethod
    def parse(cls, data):
        return cls(tuple(words(data, "family list")))

    def build(self):
        return pack_words(self.families)


_PAIR = struct.Struct(">HH")


@dataclass(frozen=True)
class Versions:
    """01,17 / 01,18: (family, version) pairs."""

    pairs: tuple = ()

    @classmethod
    def parse(cls, data):
        if len(data) % 4:
            raise MalformedPacket("family versions of %d bytes" % len(data))
        return cls(tuple(_PAIR.iter_unpack(bytes(data))))

    def build(self):
        return b"".join(_PAIR.pack(f & 0xFFFF, v & 0xFFFF) for f, v in self.pairs)

    def version_of(self, family, default=None):
        return dict(self.pairs).get(family, default)


@dataclass(frozen=True)
class Motd:
    """01,13: WORD type, TLV chain."""

    type: int = MOTD_TYPE
    tlvs: Tlvs = MOTD_TLVS

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        return cls(r.u16("MOTD type"), Tlvs.parse(r.rest()))

    def build(self):
        return u16(self.type) + self.tlvs.build()


_CLASS = struct.Struct(">HIIIIIII")
_CLASS_TAIL = struct.Struct(">IB")


@dataclass(frozen=True)
class RateClass:
    """
    One rate class record of 01,07 / 01,0A: 31 bytes, or 35 with the last
    time and state, which family-1 version 3 and later clients expect.
    """

    id: int
    window: int
    clear: int
    alert: int
    limit: int
    disconnect: int
    current: int
    max: int
    last_time: int = 0
    state: int = 0

    @classmethod
    def read(cls, reader, with_tail=True):
        values = _CLASS.unpack(reader.raw(_CLASS.size, "rate class"))
        tail = _CLASS_TAIL.unpack(reader.raw(_CLASS_TAIL.size, "rate class")) if with_tail else (0, 0)
        return cls(*values, *tail)

    def build(self, with_tail=True):
        head = _CLASS.pack(self.id & 0xFFFF, *(v & 0xFFFFFFFF for v in (
            self.window, self.clear, self.alert, self.limit, self.disconnect,
            self.current, self.max)))
        return head + (_CLASS_TAIL.pack(self.last_time & 0xFFFFFFFF, self.state & 0xFF)
                       if with_tail else b"")


@dataclass(frozen=True)
class RateInfo:
    """
    01,07: the classes, then per class the (family, subtype) pairs it covers.

    @ivar groups: C{(class id, ((family, subtype), ...))} in wire order.
    """

    classes: tuple = ()
    groups: tuple = ()

    @classmethod
    def parse(cls, data, with_tail=True):
        r = Reader(data)
        classes = tuple(RateClass.read(r, with_tail) for _ in range(r.u16("class count")))
        groups = []
        while r.remaining():
            class_id = r.u16("group class id")
            count = r.u16("group pair count")
            pairs = tuple(_PAIR.unpack(r.raw(4, "rate pair")) for _ in range(count))
            groups.append((class_id, pairs))
        return cls(classes, tuple(groups))

    def build(self, with_tail=True):
        out = [u16(len(self.classes))]
        out += [c.build(with_tail) for c in self.classes]
        for class_id, pairs in self.groups:
            out.append(u16(class_id) + u16(len(pairs)))
            out += [_PAIR.pack(f, s) for f, s in pairs]
        return b"".join(out)

    def class_of(self, family, subtype):
        """The class id a SNAC falls in, or L{None}."""
        for class_id, pairs in self.groups:
            if (family, subtype) in pairs:
                return class_id
        return None


def rate_record_has_tail(family1_version):
    """Family-1 versions 3 and up get 35-byte class records (8.1)."""
    return family1_version is None or family1_version >= 3


@dataclass(frozen=True)
class RateAck:
    """01,08: the class ids the client accepts."""

    class_ids: tuple = ()

    @classmethod
    def parse(cls, data):
        return cls(tuple(words(data, "rate ack")))

    def build(self):
        return pack_words(self.class_ids)


@dataclass(frozen=True)
class RateChange:
    """01,0A: WORD code + one class record."""

    code: int
    rate_class: RateClass

    @classmethod
    def parse(cls, data, with_tail=True):
        r = Reader(data)
        return cls(r.u16("rate change code"), RateClass.read(r, with_tail))

    def build(self, with_tail=True):
        return u16(self.code) + self.rate_class.build(with_tail)


@dataclass(frozen=True)
class SetStatus:
    """
    01,1E: status DWORD (TLV 0x0006) and DC info (TLV 0x000C), each
    optional on the wire; the other TLVs are kept and ignored.
    """

    status: int = None
    dc_info: DcInfo = None
    tlvs: Tlvs = field(default_factory=Tlvs)

    @classmethod
    def parse(cls, data):
        tlvs = Tlvs.parse(data)
        dc = tlvs.get(TLV_DC_INFO)
        return cls(tlvs.dword(TLV_STATUS), None if dc is None else DcInfo.parse(dc),
                   tlvs.without(TLV_STATUS, TLV_DC_INFO))

    def build(self):
        return Tlvs.of(
            (TLV_STATUS, None if self.status is None else u32(self.status)),
            (TLV_DC_INFO, None if self.dc_info is None else self.dc_info.build()),
        ).build() + self.tlvs.build()


@dataclass(frozen=True)
class Idle:
    """01,11: DWORD seconds idle; 0 = no longer idle."""

    seconds: int

    @classmethod
    def parse(cls, data):
        return cls(Reader(data).u32("idle seconds"))

    def build(self):
        return u32(self.seconds)


_QUAD = struct.Struct(">HHHH")


@dataclass(frozen=True)
class ClientReady:
    """01,02: (family, version, tool id, tool version) quadruples; ignored
    by the server except as the end of the login."""

    entries: tuple = ()

    @classmethod
    def parse(cls, data):
        data = bytes(data)
        usable = len(data) - len(data) % 8
        return cls(tuple(_QUAD.iter_unpack(data[:usable])))

    def build(self):
        return b"".join(_QUAD.pack(*e) for e in self.entries)


@dataclass(frozen=True)
class ServiceRequest:
    """01,04: WORD family (+ TLVs, e.g. Miranda's 0x8C SSL request)."""

    family: int
    tlvs: Tlvs = field(default_factory=Tlvs)

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        return cls(r.u16("service family"), Tlvs.parse(r.rest(), lenient=True))

    def build(self):
        return u16(self.family) + self.tlvs.build()


def own_info(info):
    """01,0F body: one user-info block."""
    return info.build()


def parse_own_info(data):
    return UserInfo.parse(data)
