"""
Family 0x0004, ICBM: messages on channels 1, 2 and 4, acknowledgements,
errors and typing notifications (oscar.md 10).

The server relays a message's TLVs as they came (04,06 -> 04,07), so the
envelope is decoded separately from the channel data: L{ChannelOneMessage}
(fragments), L{IcqMessage} (channel 4, little-endian) and L{Rendezvous} with
its L{ServerRelayMessage} (channel 2 type-2 bodies).
"""

import struct
from dataclasses import dataclass, field

from iserverd.codec import wire as lewire
from iserverd.codec.errors import MalformedPacket
from iserverd.codec.oscar.userinfo import CAP_SRV_RELAY, UserInfo
from iserverd.codec.oscar.wire import Reader, Tlvs, bstr, text, u16, u32

FAMILY = 0x0004
ERROR = 0x0001
SET_PARAMS = 0x0002
PARAMS_REQUEST = 0x0004
PARAMS = 0x0005
SEND = 0x0006
RECEIVE = 0x0007
MISSED = 0x000A
CLIENT_ACK = 0x000B
SERVER_ACK = 0x000C
OFFLINE_REQUEST = 0x0010
TYPING = 0x0014
OFFLINE_DONE = 0x0017

CHANNEL_PLAIN = 1
CHANNEL_RENDEZVOUS = 2
CHANNEL_ICQ = 4

# 04,06 / 04,07 TLVs.
TLV_MESSAGE = 0x0002  # channel 1 fragments
TLV_WANT_ACK = 0x0003
TLV_AUTO_REPLY = 0x0004
TLV_ICQ_DATA = 0x0005  # channel 2 rendezvous / channel 4 ICQ data
TLV_STORE = 0x0006
TLV_TYPING_WANTED = 0x000B
TLV_SEND_TIME = 0x0016  # offline delivery through 04,10

# Params flags (10.1).
PARAM_MESSAGES = 0x0001
PARAM_MISSED_CALLS = 0x0002
PARAM_TYPING = 0x0008
PARAM_OFFLINE_ICBM = 0x0100
PARAM_HTML = 0x0400

# Channel-1 charsets (4.1).
CHARSET_ASCII = 0x0000
CHARSET_UCS2 = 0x0002
CHARSET_8BIT = 0x0003

FRAGMENT_FEATURES = 0x05
FRAGMENT_TEXT = 0x01
FEATURES_TEXT = b"\x01"

# Typing events (10.7).
TYPING_FINISHED = 0x0000
TYPING_TYPED = 0x0001
TYPING_BEGUN = 0x0002

COOKIE_SIZE = 8

_PARAMS = struct.Struct(">HIHHHI")


@dataclass(frozen=True)
class Params:
    """04,02 / 04,05: the 16-byte ICBM parameter block."""

    channel: int = 0
    flags: int = 3
    max_size: int = 512
    max_sender_warning: int = 999
    max_receiver_warning: int = 999
    min_interval: int = 0

    @classmethod
    def parse(cls, data):
        return cls(*_PARAMS.unpack(Reader(data).raw(_PARAMS.size, "ICBM parameters")))

    def build(self):
        return _PARAMS.pack(self.channel & 0xFFFF, self.flags & 0xFFFFFFFF,
                            self.max_size & 0xFFFF, self.max_sender_warning & 0xFFFF,
                            self.max_receiver_warning & 0xFFFF,
                            self.min_interval & 0xFFFFFFFF)


def _head(r):
    cookie = r.raw(COOKIE_SIZE, "message cookie")
    return cookie, r.u16("channel")


@dataclass(frozen=True)
class Send:
    """04,06: cookie, channel, recipient, TLVs."""

    cookie: bytes
    channel: int
    recipient: bytes
    tlvs: Tlvs = field(default_factory=Tlvs)

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        cookie, channel = _head(r)
        return cls(cookie, channel, r.bstr("recipient"), Tlvs.parse(r.rest()))

    def build(self):
        return bytes(self.cookie) + u16(self.channel) + bstr(self.recipient) + self.tlvs.build()

    @property
    def wants_ack(self):
        return TLV_WANT_ACK in self.tlvs

    @property
    def store_offline(self):
        return TLV_STORE in self.tlvs

    def relayed(self):
        """The TLVs a recipient gets: without the server-only 0x0003/0x0006."""
        return self.tlvs.without(TLV_WANT_ACK, TLV_STORE)


@dataclass(frozen=True)
class Receive:
    """04,07: cookie, channel, the sender's user info, the message TLVs."""

    cookie: bytes
    channel: int
    sender: UserInfo
    tlvs: Tlvs = field(default_factory=Tlvs)

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        cookie, channel = _head(r)
        sender = UserInfo.read(r)
        return cls(cookie, channel, sender, Tlvs.parse(r.rest()))

    def build(self):
        return bytes(self.cookie) + u16(self.channel) + self.sender.build() + self.tlvs.build()


@dataclass(frozen=True)
class ServerAck:
    """04,0C: cookie, channel, the recipient named in the 04,06 (ambiguity 14)."""

    cookie: bytes
    channel: int
    name: bytes

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        cookie, channel = _head(r)
        return cls(cookie, channel, r.bstr("screen name"))

    def build(self):
        return bytes(self.cookie) + u16(self.channel) + bstr(self.name)


@dataclass(frozen=True)
class ClientAck:
    """04,0B: cookie, channel, BUIN, WORD reason, channel-specific data."""

    cookie: bytes
    channel: int
    name: bytes
    reason: int = 3
    data: bytes = b""

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        cookie, channel = _head(r)
        name = r.bstr("screen name")
        return cls(cookie, channel, name, r.u16("reason"), r.rest())

    def build(self):
        return (bytes(self.cookie) + u16(self.channel) + bstr(self.name)
                + u16(self.reason) + bytes(self.data))


@dataclass(frozen=True)
class Typing:
    """04,14: cookie (zeros), channel, BUIN, WORD event."""

    name: bytes
    event: int
    channel: int = CHANNEL_PLAIN
    cookie: bytes = bytes(COOKIE_SIZE)

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        cookie, channel = _head(r)
        name = r.bstr("screen name")
        return cls(name, r.u16("typing event"), channel, cookie)

    def build(self):
        return bytes(self.cookie) + u16(self.channel) + bstr(self.name) + u16(self.event)


# --- channel 1 ---------------------------------------------------------------


@dataclass(frozen=True)
class ChannelOneMessage:
    """
    TLV 0x0002 of a channel-1 message: the required-features fragment and the
    text fragment (WORD charset, WORD subset, text).  Other fragments are
    skipped; a message without a text fragment is malformed.
    """

    text: bytes
    charset: int = CHARSET_ASCII
    subset: int = 0
    features: bytes = FEATURES_TEXT

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        features, message = b"", None
        while r.remaining():
            kind = r.u8("fragment id")
            r.u8("fragment version")
            body = r.wstr("fragment")
            if kind == FRAGMENT_FEATURES and not features:
                features = body
            elif kind == FRAGMENT_TEXT and message is None:
                message = body
        if message is None:
            raise MalformedPacket("channel-1 message without a text fragment")
        m = Reader(message)
        charset = m.u16("charset")
        subset = m.u16("charset subset")
        return cls(m.rest(), charset, subset, features)

    def build(self):
        body = u16(self.charset) + u16(self.subset) + bytes(self.text)
        return (bytes((FRAGMENT_FEATURES, 1)) + u16(len(self.features)) + bytes(self.features)
                + bytes((FRAGMENT_TEXT, 1)) + u16(len(body)) + body)

    def decode(self, codepage):
        """
        The text as Unicode: UCS-2BE for charset 2, the network code page for
        the 8-bit charsets (0 and 3, and anything unknown).
        """
        if self.charset == CHARSET_UCS2:
            return bytes(self.text).decode("utf-16-be", "replace")
        return bytes(self.text).decode(codepage, "replace")


def plain_message(value, codepage, unicode_ok):
    """
    A channel-1 message for Unicode C{value} (oscar.md 15.3): charset 0 for
    ASCII, else UCS-2BE when the recipient takes it, else the 8-bit bytes
    of the network code page with charset 3 (C{?} for what it cannot hold).
    """
    try:
        return ChannelOneMessage(value.encode("ascii"), CHARSET_ASCII)
    except UnicodeEncodeError:
        pass
    if unicode_ok:
        return ChannelOneMessage(value.encode("utf-16-be", "replace"), CHARSET_UCS2)
    return ChannelOneMessage(value.encode(codepage, "replace"), CHARSET_8BIT)


# --- channel 4 ---------------------------------------------------------------


@dataclass(frozen=True)
class IcqMessage:
    """
    TLV 0x0005 of a channel-4 message, little-endian: DWORD sender UIN, BYTE
    type, BYTE flags, LNTS text.  C{type | flags << 8} is the v5 message-type
    WORD.
    """

    uin: int
    type: int
    flags: int = 0
    text: bytes = b""

    @classmethod
    def parse(cls, data):
        r = lewire.Reader(data)
        uin = r.u32("sender UIN")
        kind = r.u8("message type")
        flags = r.u8("message flags")
        return cls(uin, kind, flags, r.lnts("message text"))

    def build(self):
        return lewire.u32(self.uin) + bytes((self.type & 0xFF, self.flags & 0xFF)) + lewire.lnts(text(self.text))

    @property
    def v5_type(self):
        return self.type | (self.flags << 8)


# --- channel 2 ---------------------------------------------------------------

RV_REQUEST = 0
RV_CANCEL = 1
RV_ACCEPT = 2

TLV_RV_ACK_TYPE = 0x000A
TLV_RV_INTERNAL_IP = 0x0003
TLV_RV_PORT = 0x0005
TLV_RV_EXTERNAL_IP = 0x0004
TLV_RV_SERVER_RELAY = 0x2711


@dataclass(frozen=True)
class Rendezvous:
    """TLV 0x0005 of a channel-2 message: WORD type, cookie, capability, TLVs."""

    request_type: int
    cookie: bytes
    capability: bytes
    tlvs: Tlvs = field(default_factory=Tlvs)

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        kind = r.u16("rendezvous type")
        cookie = r.raw(COOKIE_SIZE, "rendezvous cookie")
        capability = r.raw(16, "rendezvous capability")
        return cls(kind, cookie, capability, Tlvs.parse(r.rest()))

    def build(self):
        return u16(self.request_type) + bytes(self.cookie) + bytes(self.capability) + self.tlvs.build()

    @property
    def is_icq_message(self):
        return self.capability == CAP_SRV_RELAY


_RELAY_HEAD = struct.Struct("<HH16sHIBH")
_RELAY_SECOND = struct.Struct("<HH12s")


@dataclass(frozen=True)
class ServerRelayMessage:
    """
    TLV 0x2711 of an ICQ type-2 message (little-endian, oscar.md 10.4), and
    the body of a channel-2 04,0B acknowledgement.

    @ivar tail: what follows the text (colours, the UTF-8 GUID), kept as is.
    """

    type: int
    flags: int = 1
    status: int = 0
    priority: int = 1
    text: bytes = b""
    version: int = 8
    sequence: int = 0xFFFF
    plugin: bytes = bytes(16)
    features: int = 3
    dc_type: int = 0
    tail: bytes = b""

    @classmethod
    def parse(cls, data):
        r = lewire.Reader(data)
        r.raw(_RELAY_HEAD.size, "type-2 header")
        _, version, plugin, _, features, dc_type, sequence = _RELAY_HEAD.unpack_from(
            r.data, 0)
        r.raw(_RELAY_SECOND.size, "type-2 second header")
        kind = r.u8("message type")
        flags = r.u8("message flags")
        status = r.u16("status")
        priority = r.u16("priority")
        message = r.lnts("message text")
        return cls(kind, flags, status, priority, message, version, sequence,
                   plugin, features, dc_type, r.rest())

    def build(self):
        return (
            _RELAY_HEAD.pack(0x001B, self.version & 0xFFFF, bytes(self.plugin), 0,
                             self.features & 0xFFFFFFFF, self.dc_type & 0xFF,
                             self.sequence & 0xFFFF)
            + _RELAY_SECOND.pack(0x000E, self.sequence & 0xFFFF, bytes(12))
            + bytes((self.type & 0xFF, self.flags & 0xFF))
            + lewire.u16(self.status) + lewire.u16(self.priority)
            + lewire.lnts(text(self.text)) + bytes(self.tail)
        )


def offline_delivery(receive, sent_at):
    """A 04,07 for 04,10 delivery: TLV 0x0016 carries the send time."""
    return Receive(receive.cookie, receive.channel, receive.sender,
                   receive.tlvs.plus((TLV_SEND_TIME, u32(sent_at))))
