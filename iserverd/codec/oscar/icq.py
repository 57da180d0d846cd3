"""
Family 0x0015, ICQ extensions (oscar.md 11): the little-endian envelope in
TLV 0x0001 and the offline-message exchange (0x003C -> 0x0041... 0x0042,
0x003E).  META requests (0x07D0) reuse the v5 META layouts and are decoded
elsewhere; here they are only framed.
"""

import struct
from dataclasses import dataclass
from datetime import datetime, timezone

from iserverd.codec import wire as lewire
from iserverd.codec.errors import MalformedPacket
from iserverd.codec.oscar.wire import Tlvs, text

FAMILY = 0x0015
ERROR = 0x0001
REQUEST = 0x0002
REPLY = 0x0003

TLV_ICQ_DATA = 0x0001

REQ_OFFLINE = 0x003C
REQ_DELETE_OFFLINE = 0x003E
REQ_META = 0x07D0
REP_OFFLINE = 0x0041
REP_OFFLINE_DONE = 0x0042
REP_META = 0x07DA

_HEAD = struct.Struct("<IH")


@dataclass(frozen=True)
class Envelope:
    """
    The ICQ block: WORD LE length of the rest, DWORD LE owner UIN, WORD LE
    request type, two sequence bytes (copied unchanged: clients disagree on
    their byte order), data.
    """

    uin: int
    type: int
    sequence: bytes = b"\x00\x00"
    data: bytes = b""

    @classmethod
    def parse(cls, body):
        """
        Decode a 15,02 / 15,03 body.

        @raise MalformedPacket: no TLV 0x0001, a block under 8 bytes, or an
            inner length that disagrees with the TLV's.
        """
        block = Tlvs.parse(body).get(TLV_ICQ_DATA)
        if block is None:
            raise MalformedPacket("family 0x15 SNAC without TLV 0x0001")
        r = lewire.Reader(block)
        length = r.u16("ICQ block length")
        if length != len(block) - 2:
            raise MalformedPacket(
                "ICQ block length %d, TLV holds %d" % (length, len(block) - 2))
        uin, kind = _HEAD.unpack(r.raw(_HEAD.size, "ICQ block header"))
        sequence = r.raw(2, "ICQ sequence")
        return cls(uin, kind, sequence, r.rest())

    def build(self):
        inner = _HEAD.pack(self.uin & 0xFFFFFFFF, self.type & 0xFFFF) + bytes(self.sequence) + bytes(self.data)
        return Tlvs.of((TLV_ICQ_DATA, lewire.u16(len(inner)) + inner)).build()

    def reply(self, kind, data=b""):
        """The server's answer: same owner and sequence bytes."""
        return Envelope(self.uin, kind, self.sequence, data)


_OFFLINE = struct.Struct("<IHBBBBBB")


@dataclass(frozen=True)
class OfflineMessage:
    """
    0x0041 data: sender UIN, UTC date and time, type, flags, LNTS text
    (8-bit, network code page).
    """

    sender: int
    sent: datetime
    type: int
    flags: int = 0
    text: bytes = b""

    @classmethod
    def parse(cls, data):
        r = lewire.Reader(data)
        sender, year, month, day, hour, minute, kind, flags = _OFFLINE.unpack(
            r.raw(_OFFLINE.size, "offline message"))
        try:
            sent = datetime(year, month, day, hour, minute, tzinfo=timezone.utc)
        except ValueError as e:
            raise MalformedPacket("offline message date: %s" % (e,))
        return cls(sender, sent, kind, flags, r.lnts("offline text"))

    def build(self):
        # A naive time is taken as UTC, never as the machine's local time.
        t = self.sent if self.sent.tzinfo is None else self.sent.astimezone(timezone.utc)
        return _OFFLINE.pack(self.sender & 0xFFFFFFFF, t.year, t.month, t.day, t.hour,
                             t.minute, self.type & 0xFF, self.flags & 0xFF) + lewire.lnts(text(self.text))


_META_REPLY = struct.Struct("<HB")


@dataclass(frozen=True)
class MetaRequest:
    """0x07D0 data: WORD LE subtype, then the v5-style META parameters."""

    subtype: int
    data: bytes = b""

    @classmethod
    def parse(cls, data):
        r = lewire.Reader(data)
        return cls(r.u16("META subtype"), r.rest())

    def build(self):
        return lewire.u16(self.subtype) + bytes(self.data)


@dataclass(frozen=True)
class MetaReply:
    """0x07DA data: WORD LE subtype, BYTE result (0x0A ok, 0x32 fail, 0x14 error), data."""

    subtype: int
    result: int = 0x0A
    data: bytes = b""

    @classmethod
    def parse(cls, data):
        r = lewire.Reader(data)
        subtype, result = _META_REPLY.unpack(r.raw(_META_REPLY.size, "META reply header"))
        return cls(subtype, result, r.rest())

    def build(self):
        return _META_REPLY.pack(self.subtype & 0xFFFF, self.result & 0xFF) + bytes(self.data)


def offline_done(dropped=False):
    """0x0042 data: the "dropped messages" flag."""
    return b"\x01" if dropped else b"\x00"
