"""
Family 0x0013, server-stored information (oscar.md 9): roster items, the
roster reply and its split into parts, edits and their results, and the
authorization SNACs.
"""

import struct
from dataclasses import dataclass, field

from iserverd.codec.errors import MalformedPacket
from iserverd.codec.oscar.wire import Reader, Tlvs, bstr, pack_words, text, u8, u16, u32, words, wstr

FAMILY = 0x0013
RIGHTS_REQUEST = 0x0002
RIGHTS = 0x0003
ROSTER_REQUEST = 0x0004
ROSTER_CHECK = 0x0005
ROSTER = 0x0006
ACTIVATE = 0x0007
ADD = 0x0008
UPDATE = 0x0009
DELETE = 0x000A
RESULT = 0x000E
UNCHANGED = 0x000F
EDIT_BEGIN = 0x0011
EDIT_END = 0x0012
FUTURE_AUTH_GRANT = 0x0014
FUTURE_AUTH_GRANTED = 0x0015
REMOVE_ME = 0x0016
AUTH_REQUEST = 0x0018
AUTH_REQUEST_IN = 0x0019
AUTH_REPLY = 0x001A
AUTH_REPLY_IN = 0x001B
YOU_WERE_ADDED = 0x001C

# Item types (9.1).
ITEM_BUDDY = 0x0000
ITEM_GROUP = 0x0001
ITEM_PERMIT = 0x0002
ITEM_DENY = 0x0003
ITEM_PRIVACY = 0x0004
ITEM_PRESENCE = 0x0005
ITEM_IGNORE = 0x000E
ITEM_LAST_UPDATE = 0x000F
ITEM_NON_ICQ = 0x0010

# Item TLVs.
TLV_AWAITING_AUTH = 0x0066
TLV_GROUP_MEMBERS = 0x00C8
TLV_PRIVACY_MODE = 0x00CA
TLV_NICK = 0x0131

# Results (9.4).
RESULT_OK = 0x0000
RESULT_NOT_FOUND = 0x0002
RESULT_EXISTS = 0x0003
RESULT_INVALID = 0x000A
RESULT_LIMIT = 0x000C
RESULT_ICQ_IN_AIM = 0x000D
RESULT_AUTH_REQUIRED = 0x000E

EDIT_IMPORT = 0x00010000

# 13,03 TLV 0x0004: the limit per item type, IServerd's defaults (9.2).
DEFAULT_LIMITS = (600, 61, 200, 200, 1, 1, 0x32, 0, 0, 3, 0, 0, 0, 0x80, 128,
                  0x14, 200, 1, 0, 1, 0, 1, 0x28, 0, 0)

# Roster parts stay under this many bytes of items (IServerd: ~1400).
PART_SIZE = 1400


def rights(limits=DEFAULT_LIMITS):
    """13,03 body."""
    return Tlvs.of((0x0004, pack_words(limits))).build()


def parse_rights(data):
    return tuple(words(Tlvs.parse(data).get(0x0004, b""), "SSI limits"))


_ITEM_IDS = struct.Struct(">HHH")


@dataclass(frozen=True)
class Item:
    """One roster item: name, group id, item id, type, TLV data."""

    name: bytes
    group_id: int
    item_id: int
    type: int
    tlvs: Tlvs = field(default_factory=Tlvs)

    @classmethod
    def read(cls, reader):
        name = reader.wstr("item name")
        gid = reader.u16("group id")
        iid = reader.u16("item id")
        kind = reader.u16("item type")
        return cls(name, gid, iid, kind, Tlvs.parse(reader.wstr("item data")))

    def build(self):
        return (wstr(self.name) + _ITEM_IDS.pack(self.group_id & 0xFFFF, self.item_id & 0xFFFF,
                                                 self.type & 0xFFFF)
                + wstr(self.tlvs.build()))

    @property
    def awaiting_auth(self):
        return TLV_AWAITING_AUTH in self.tlvs

    @property
    def members(self):
        """A group's member ids (TLV 0x00C8)."""
        return words(self.tlvs.get(TLV_GROUP_MEMBERS, b""), "group members")

    @property
    def nick(self):
        return self.tlvs.get(TLV_NICK)


def parse_items(data):
    """13,08 / 13,09 / 13,0A body: items back to back."""
    r = Reader(data)
    items = []
    while r.remaining():
        items.append(Item.read(r))
    return items


def build_items(items):
    return b"".join(i.build() for i in items)


@dataclass(frozen=True)
class Roster:
    """
    13,06: BYTE version 0, WORD count, items, DWORD last-change time.  Every
    part of a split roster ends with the time (ambiguity 8).
    """

    items: tuple = ()
    last_change: int = 0
    version: int = 0

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        version = r.u8("SSI version")
        items = tuple(Item.read(r) for _ in range(r.u16("item count")))
        return cls(items, r.u32("last change time"), version)

    def build(self):
        if len(self.items) > 0xFFFF:
            raise ValueError("a roster part of %d items" % len(self.items))
        return (u8(self.version) + u16(len(self.items)) + build_items(self.items)
                + u32(self.last_change))


def roster_parts(items, last_change, part_size=PART_SIZE):
    """
    Split a roster into 13,06 bodies whose items stay under C{part_size}
    bytes (an item larger than that gets a part of its own).  The caller
    sets flag 0x0001 on all but the last.  An empty roster is one part.
    """
    parts, current, size = [], [], 0
    for item in items:
        n = len(item.build())
        if current and size + n > part_size:
            parts.append(Roster(tuple(current), last_change).build())
            current, size = [], 0
        current.append(item)
        size += n
    parts.append(Roster(tuple(current), last_change).build())
    return parts


_CHECK = struct.Struct(">IH")


@dataclass(frozen=True)
class RosterStamp:
    """13,05 (the client's copy) and 13,0F (unchanged): DWORD time, WORD count."""

    last_change: int
    count: int

    @classmethod
    def parse(cls, data):
        return cls(*_CHECK.unpack(Reader(data).raw(_CHECK.size, "roster stamp")))

    def build(self):
        return _CHECK.pack(self.last_change & 0xFFFFFFFF, self.count & 0xFFFF)


def parse_results(data):
    """13,0E: one WORD per item of the request."""
    return words(data, "SSI results")


build_results = pack_words


def parse_edit_begin(data):
    """13,11: empty, or DWORD 0x00010000 for import mode; @return: import?"""
    return len(data) >= 4 and Reader(data).u32() & EDIT_IMPORT == EDIT_IMPORT


@dataclass(frozen=True)
class AuthRequest:
    """
    13,18 / 13,19 (and 13,14 / 13,15): BUIN, WORD-length reason, then a WORD
    charset flag (0, or non-zero + WORD unknown + WORD-length charset name).
    """

    name: bytes
    reason: bytes = b""
    charset: bytes = None

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        name = r.bstr("screen name")
        reason = r.wstr("reason") if r.remaining() else b""
        return cls(name, reason, _charset_tail(r))

    def build(self):
        return bstr(self.name) + wstr(self.reason) + _build_charset(self.charset)


@dataclass(frozen=True)
class AuthReply:
    """13,1A / 13,1B: BUIN, BYTE 1 granted / 0 declined, reason, charset tail."""

    name: bytes
    granted: bool
    reason: bytes = b""
    charset: bytes = None

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        name = r.bstr("screen name")
        granted = r.u8("grant flag") == 1
        reason = r.wstr("reason") if r.remaining() else b""
        return cls(name, granted, reason, _charset_tail(r))

    def build(self):
        tail = b"" if self.charset is None else _build_charset(self.charset)
        return bstr(self.name) + u8(1 if self.granted else 0) + wstr(self.reason) + tail


def _charset_tail(r):
    if r.remaining() < 2:
        return None
    if r.u16("charset flag") == 0:
        return None
    r.u16("charset unknown")
    return r.wstr("charset name")


def _build_charset(charset):
    if not charset:
        return u16(0)
    return u16(1) + u16(0) + wstr(text(charset))


def parse_name(data):
    """13,16 / 13,1C body: one BUIN."""
    r = Reader(data)
    name = r.bstr("screen name")
    if not name:
        raise MalformedPacket("empty screen name")
    return name


def build_name(name):
    return bstr(name)
