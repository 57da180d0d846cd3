# -*- test-case-name: tests.test_codec_v3 -*-
"""
ICQ protocol version 3, "Groupware" (ICQ Corp 1.x, Miranda's ICQCorp plugin): the pure codec.

Message flow
============

Every datagram is one packet: a 16-byte little-endian header (version 3, command, SEQ1, SEQ2,
UIN, a reserved DWORD) and the command's parameters.  The header is the same in both
directions, so one L{Packet} type and one L{decode}/L{encode} pair serve the server and the
test client alike.  There is no encryption, checksum or session id; a session is the UIN plus
the address its LOGON came from.

A client opens with LOGON (L{CMD_LOGON}).  The server ACKs it at once (an ACK echoes SEQ1,
SEQ2 and UIN of the packet it answers), then answers HELLO (L{SRV_HELLO}) or a refusal:
WRONG_PASSWD for a bad password or unknown UIN, LOGIN_ERR with a text for everything else.
After HELLO the client ACKs, asks for its offline messages (SYSMSG_REQ), sends its contact
list (CONTACT_LIST) and then PINGs every 45 seconds.  The server tells it who is online
(USER_ONLINE ... LIST_DONE) and, later, every login, logoff and status change of its contacts
(USER_ONLINE, USER_OFFLINE, USER_STATUS).  Messages go in as THRU_SERVER and come out as
SYSMSG_ONLINE, or are stored and handed out as SYSMSG_OFFLINE ... SYSMSG_DONE, after which the
client confirms with SYSMSG_DONE_ACK.  LOGOFF ends the session without a reply.

Reliability is the server's job.  Apart from ACKs, error replies and the answers to clients
without a session (DEPS_LIST, the registration replies), every server packet is "reliable"
(L{RELIABLE_SERVER_COMMANDS}): it carries the session's next SEQ1 and is resent until the
client ACKs that SEQ1 (client ACKs have SEQ2 0).  The sequence rules
that a codec can state once live in L{ack_for} and L{reply_to}; counters and resends belong to
the server.

A reliable packet longer than the MTU travels in FRAGMENT packets (L{split}); clients may
fragment too, and L{Reassembler} joins those pieces with bounded memory.

Parameters
==========

Each command's data has a small frozen dataclass with C{parse(data)} and C{build()}.  Text
fields are C{bytes} (8-bit, code-page translation happens elsewhere); IP fields are dotted
text.  Parsing follows C{v3.md} section 1: an LNTS whose length runs past the end is
malformed, an LNTS without its NUL is accepted, bytes after the last field are ignored, and
the few fields that clients really omit (LOGON's tail, SET_STATUS flags, ...) fall back to a
default.  C{parse} raises only L{MalformedPacket}; C{build} raises C{ValueError} for values
that do not fit their field.  L{CLIENT_BODIES} and L{SERVER_BODIES} map every command to its
parameter class, and L{parse_client_body}/L{parse_server_body} dispatch on them.

Nothing here does I/O, reads a clock or draws random numbers.
"""

import struct
from collections import OrderedDict
from dataclasses import dataclass
from typing import ClassVar, Optional

from iserverd.codec import wire
from iserverd.codec.errors import MalformedPacket
from iserverd.codec.wire import Reader

VERSION = 3
HEADER_SIZE = 16

# IServerd reads datagrams of up to 8192 bytes; reassembled packets are held to the same size.
MAX_DATAGRAM = 8192

# `V3 packet mtu`: reliable packets above this size go out as fragments.
DEFAULT_MTU = 500

# A fragment is a header, an index byte and a count byte, then its piece of the inner packet.
FRAGMENT_OVERHEAD = HEADER_SIZE + 2

# ---------------------------------------------------------------------------------------------
# Command codes (v3.md section 6).  Names are IServerd's, with the spec's or Miranda's where
# those say more.

# Client -> server.
CMD_ACK = 0x000A
CMD_THRU_SERVER = 0x010E
CMD_RECONNECT = 0x015E
CMD_LOGON = 0x03E8
CMD_GET_DEPS = 0x03F2
CMD_CONTACT_LIST = 0x0406
CMD_USER_LIST = CMD_CONTACT_LIST  # IServerd's name for the same command
CMD_PING = 0x042E
CMD_LOGOFF = 0x0438
CMD_SYSMSG_DONE_ACK = 0x0442
CMD_SYSMSG_REQ = 0x044C
CMD_AUTHORIZE = 0x0456
CMD_GET_INFO1 = 0x0460
CMD_SET_PASSWORD = 0x049C
CMD_GET_EXTERNALS = 0x04C4
CMD_SET_STATUS = 0x04D8
CMD_FIRST_LOGIN = 0x04EC
CMD_SET_BASIC_INFO = 0x050A
CMD_SET_AUTH = 0x0514
CMD_PING2 = 0x051E
CMD_SET_STATE = 0x0528
CMD_USAGE_STATS = 0x0532
CMD_USER_ADD = 0x053C
CMD_SET_WORK_INFO = 0x0578
CMD_SET_HOME_INFO = 0x0582
CMD_SET_HOME_PAGE = 0x058C
CMD_SET_NOTES = 0x0596
CMD_GET_NOTES = 0x05AA
CMD_SET_WORK_PAGE = 0x05BE
CMD_SEARCH_START = 0x05C8
CMD_FRAGMENT = 0x05D2
CMD_REG_REQUEST_INFO = 0x05DC
CMD_REG_NEW_USER_INFO = 0x05E6
CMD_GET_DEPS1 = 0x05F0
CMD_GET_INFO = 0x05FA
CMD_BROADCAST_REQ = 0x0604  # Miranda's name
CMD_UNKNOWN_DEP = CMD_BROADCAST_REQ  # IServerd's name
CMD_BROADCAST_MSG_ALL = 0x060E
CMD_BROADCAST_MSG_ONLINE = 0x0618
CMD_WWP_MSG = 0x0622  # internal only (webpager)
CMD_INVISIBLE_LIST = 0x06A4
CMD_VISIBLE_LIST = 0x06AE
CMD_UPDATE_LIST = 0x06B8
CMD_DELUSER_REQ = 0x2121  # internal only (admin disconnect); has no v3 header

# Server -> client.
SRV_ACK = 0x000A
SRV_SET_OFFLINE = 0x0028
SRV_DEPS_LIST = 0x0032
SRV_HELLO = 0x005A
SRV_WRONG_PASSWD = 0x0064
SRV_USER_ONLINE = 0x006E
SRV_USER_OFFLINE = 0x0078
SRV_DEPS_LIST1 = 0x0082
SRV_SEARCH_FOUND = 0x008C
SRV_SEARCH_DONE = 0x00A0
SRV_SYSMSG_OFFLINE = 0x00DC
SRV_SYSMSG_DONE = 0x00E6
SRV_NOT_CONNECTED = 0x00F0
SRV_BUSY = 0x00FA
SRV_SYSMSG_ONLINE = 0x0104
SRV_INFO_SINGLE = 0x0118
SRV_SET_PASSWORD_OK = 0x0140
SRV_USER_STATUS = 0x01A4
SRV_SET_BASIC_INFO_OK = 0x01E0
SRV_SET_AUTH_OK = 0x01F4
SRV_LIST_DONE = 0x021C
SRV_SET_WORK_PAGE_OK = 0x0258
SRV_SET_WORK_INFO_OK = 0x026C
SRV_SET_HOME_INFO_OK = 0x0280
SRV_SET_HOME_PAGE_OK = 0x0294
SRV_SET_NOTES_OK = 0x02A8
SRV_INFO_BASIC = 0x02E4
SRV_INVALID_UIN = 0x02EE
SRV_INFO_WORK = 0x02F8
SRV_INFO_WORK_PAGE = 0x030C
SRV_INFO_HOME = 0x0320
SRV_INFO_HOME_PAGE = 0x0334
SRV_NOTES = 0x0352
SRV_FRAGMENT = 0x0366
SRV_LOGIN_ERR = 0x0370
SRV_REGISTER_INFO = 0x037A
SRV_REGISTRATION_OK = 0x0384
SRV_BROADCAST_OFFLINE = 0x038E  # Miranda knows it; no server is known to send it
SRV_BROADCAST_DONE = 0x0398  # idem
SRV_BROADCAST_ONLINE = 0x03A2  # idem


def _names(prefix, skip=()):
    return {
        value: name
        for name, value in sorted(globals().items())
        if name.startswith(prefix) and name not in skip
    }


#: Command code -> name, for log lines.  The aliases are left out so each code has one name.
CLIENT_COMMAND_NAMES = _names("CMD_", skip=("CMD_USER_LIST", "CMD_UNKNOWN_DEP"))
SERVER_COMMAND_NAMES = _names("SRV_")

#: Server packets that go on the resend list and take the session's SEQ1 (v3.md 4.3).  A
#: FRAGMENT is as reliable as the packet it carries, so it is not listed.
RELIABLE_SERVER_COMMANDS = frozenset(
    [
        SRV_HELLO,
        SRV_USER_ONLINE,
        SRV_USER_OFFLINE,
        SRV_USER_STATUS,
        SRV_LIST_DONE,
        SRV_SYSMSG_ONLINE,
        SRV_SYSMSG_OFFLINE,
        SRV_SYSMSG_DONE,
        SRV_SEARCH_FOUND,
        SRV_SEARCH_DONE,
        SRV_INFO_SINGLE,
        SRV_INFO_BASIC,
        SRV_INFO_HOME,
        SRV_INFO_HOME_PAGE,
        SRV_INFO_WORK,
        SRV_INFO_WORK_PAGE,
        SRV_INVALID_UIN,
        SRV_NOTES,
        SRV_SET_PASSWORD_OK,
        SRV_SET_BASIC_INFO_OK,
        SRV_SET_AUTH_OK,
        SRV_SET_WORK_PAGE_OK,
        SRV_SET_WORK_INFO_OK,
        SRV_SET_HOME_INFO_OK,
        SRV_SET_HOME_PAGE_OK,
        SRV_SET_NOTES_OK,
        SRV_DEPS_LIST1,
        SRV_SET_OFFLINE,
    ]
)

#: Client commands accepted without a session (v3.md 5); everything else needs a login.
SESSIONLESS_COMMANDS = frozenset(
    [
        CMD_ACK,
        CMD_LOGON,
        CMD_GET_DEPS,
        CMD_FIRST_LOGIN,
        CMD_GET_EXTERNALS,
        CMD_REG_REQUEST_INFO,
        CMD_REG_NEW_USER_INFO,
    ]
)

#: Commands IServerd generates internally; from the network they are dropped (v3.md 18).
INTERNAL_ONLY_COMMANDS = frozenset([CMD_WWP_MSG, CMD_DELUSER_REQ])

# ---------------------------------------------------------------------------------------------
# Header


@dataclass(frozen=True)
class Packet:
    """
    One v3 packet, either direction.

    @ivar command: the command code (C{CMD_*} from a client, C{SRV_*} from the server).
    @ivar seq1: the first sequence number; ACKs are matched on it.
    @ivar seq2: the second sequence number; replies echo the request's.
    @ivar uin: the sender (client packets) or the recipient (server packets).
    @ivar data: the command's parameters, undecoded.
    @ivar reserved: the header's last DWORD; 0 except in SET_STATE and RECONNECT.
    """

    command: int
    seq1: int
    seq2: int
    uin: int
    data: bytes = b""
    reserved: int = 0


_HEADER = struct.Struct("<HHHHII")


def decode(datagram):
    """
    Split a datagram into header fields and parameter bytes.

    @raise MalformedPacket: shorter than a header, longer than L{MAX_DATAGRAM}, or not
        version 3 (the transport routes on the first WORD, so that would be a routing bug or
        a forged packet).
    """
    datagram = bytes(datagram)
    if len(datagram) < HEADER_SIZE:
        raise MalformedPacket(
            "v3 packet of %d bytes is shorter than its %d-byte header"
            % (len(datagram), HEADER_SIZE)
        )
    if len(datagram) > MAX_DATAGRAM:
        raise MalformedPacket(
            "v3 packet of %d bytes exceeds %d" % (len(datagram), MAX_DATAGRAM)
        )
    version, command, seq1, seq2, uin, reserved = _HEADER.unpack_from(datagram)
    if version != VERSION:
        raise MalformedPacket("version %d is not v3" % (version,))
    return Packet(command, seq1, seq2, uin, datagram[HEADER_SIZE:], reserved)


def encode(packet):
    """
    The wire bytes of C{packet}.

    @raise ValueError: a header field does not fit its WORD or DWORD; the caller must wrap
        its counters, silently masking them here would hide that bug.
    """
    for name, limit in (("command", 0xFFFF), ("seq1", 0xFFFF), ("seq2", 0xFFFF)):
        _check(name, getattr(packet, name), limit)
    _check("uin", packet.uin, 0xFFFFFFFF)
    _check("reserved", packet.reserved, 0xFFFFFFFF)
    return (
        _HEADER.pack(
            VERSION, packet.command, packet.seq1, packet.seq2, packet.uin, packet.reserved
        )
        + bytes(packet.data)
    )


def ack_for(request):
    """
    The server ACK of a client packet: its SEQ1, SEQ2 and UIN echoed, no data (v3.md 4.1).
    """
    return Packet(SRV_ACK, request.seq1, request.seq2, request.uin)


def reply_to(request, command, data=b"", seq1=0):
    """
    A server answer to C{request}: the request's SEQ2 and UIN, so the client can match it.

    Unreliable answers (NOT_CONNECTED, BUSY, WRONG_PASSWD, LOGIN_ERR) keep the default SEQ1
    0; reliable ones pass the session's next SEQ1.
    """
    return Packet(command, seq1, request.seq2, request.uin, bytes(data))


# ---------------------------------------------------------------------------------------------
# Field readers and writers


def _check(name, value, limit):
    if not isinstance(value, int) or not 0 <= value <= limit:
        raise ValueError("%s %r does not fit 0..%d" % (name, value, limit))


def _u8(value):
    _check("byte", value, 0xFF)
    return wire.u8(value)


def _u16(value):
    _check("word", value, 0xFFFF)
    return wire.u16(value)


def _u32(value):
    _check("dword", value, 0xFFFFFFFF)
    return wire.u32(value)


def _lnts(text):
    if isinstance(text, str):
        text = text.encode("latin-1", "replace")
    if len(text) > 0xFFFE:
        raise ValueError("LNTS of %d bytes does not fit its length word" % (len(text),))
    return wire.lnts(text)


_READERS = {
    "u8": (1, Reader.u8),
    "u16": (2, Reader.u16),
    "u32": (4, Reader.u32),
    "ip": (4, Reader.ip),
    "lnts": (2, Reader.lnts),
}

_WRITERS = {"u8": _u8, "u16": _u16, "u32": _u32, "ip": wire.ip, "lnts": _lnts}


def _lnts_fits(data, offset):
    """
    Whether the LNTS at C{offset} ends exactly at the end of C{data}, also when its length
    word leaves out the NUL that follows (as in the spec's SEARCH dump).
    """
    if len(data) - offset < 2:
        return False
    (n,) = struct.unpack_from("<H", data, offset)
    end = offset + 2 + n
    return end == len(data) or (end + 1 == len(data) and data[-1] == 0)


# ---------------------------------------------------------------------------------------------
# Parameter bodies


@dataclass(frozen=True)
class Body:
    """
    Base of the parameter classes.

    Most layouts are a plain sequence of fields, declared in C{LAYOUT} as (field, kind) with
    kind one of C{u8 u16 u32 ip lnts}.  A kind ending in C{?} is optional: when the packet
    ends before it, parsing takes the field's default, and a C{None} default is left out when
    building, so a short form round-trips.  Only trailing fields may be optional.

    C{LIMITS} gives, per text field, the longest LNTS IServerd accepts (NUL included);
    L{oversized} reports the fields above it so a handler can refuse the request.
    """

    LAYOUT: ClassVar[tuple] = ()
    LIMITS: ClassVar[dict] = {}

    @classmethod
    def parse(cls, data):
        """
        Decode parameter bytes.

        @raise MalformedPacket: a required field is missing or an LNTS runs past the end.
        """
        reader = Reader(data)
        return cls(**cls._read_layout(reader, cls.LAYOUT))

    @classmethod
    def _read_layout(cls, reader, layout):
        values = {}
        for name, kind in layout:
            optional = kind.endswith("?")
            size, read = _READERS[kind.rstrip("?")]
            if optional and reader.remaining() < size:
                values[name] = cls.__dataclass_fields__[name].default
            else:
                values[name] = read(reader, name)
        return values

    def build(self):
        """The parameter bytes."""
        return self._write_layout(self.LAYOUT)

    def _write_layout(self, layout):
        out = []
        for name, kind in layout:
            value = getattr(self, name)
            if value is None and kind.endswith("?"):
                continue
            out.append(_WRITERS[kind.rstrip("?")](value))
        return b"".join(out)

    def oversized(self):
        """
        The names of the text fields longer than IServerd's limits, in field order.
        """
        return tuple(
            name
            for name, limit in self.LIMITS.items()
            if len(getattr(self, name)) + 1 > limit
        )


@dataclass(frozen=True)
class Empty(Body):
    """
    No parameters: ACK, PING, LIST_DONE, the C{*_OK} replies and other header-only packets.

    Anything after the header is ignored, as v3.md 1 asks of every field list.
    """


@dataclass(frozen=True)
class Raw(Body):
    """
    Parameters nobody decodes (USAGE_STATS) or of a command this module does not know.
    """

    data: bytes = b""

    @classmethod
    def parse(cls, data):
        return cls(bytes(data))

    def build(self):
        return bytes(self.data)


@dataclass(frozen=True)
class UinBody(Body):
    """
    A single UIN: USER_ADD, GET_INFO, GET_INFO1, GET_NOTES (the target), USER_OFFLINE (who
    left) and INVALID_UIN (who was asked for).
    """

    uin: int
    LAYOUT: ClassVar[tuple] = (("uin", "u32"),)


@dataclass(frozen=True)
class Text(Body):
    """
    One LNTS: SET_NOTES, SET_HOME_PAGE, SET_WORK_PAGE, LOGIN_ERR, REGISTRATION_OK,
    SET_OFFLINE, INFO_HOME_PAGE, INFO_WORK_PAGE.
    """

    text: bytes
    LAYOUT: ClassVar[tuple] = (("text", "lnts"),)


@dataclass(frozen=True)
class Logon(Body):
    """
    LOGON parameters (v3.md 7.1).

    Everything after the password falls back to Miranda's values when missing: the server
    reads only the password strictly, and a client that sends less still deserves a clear
    WRONG_PASSWD or HELLO rather than silence.  The password is read whole; refusing one
    over L{PASSWORD_LIMIT} is the handler's call (IServerd truncated it and misread the rest).
    """

    tcp_port: int
    password: bytes
    client_version: int = 0x0002007A
    internal_ip: str = "0.0.0.0"
    dc_type: int = 4
    status: int = 0
    status_flags: int = 0
    tcp_version: int = 2
    unknown: int = 0
    trailer: int = 0x007A0013

    PASSWORD_LIMIT: ClassVar[int] = 20
    LIMITS: ClassVar[dict] = {"password": PASSWORD_LIMIT}
    LAYOUT: ClassVar[tuple] = (
        ("tcp_port", "u32"),
        ("password", "lnts"),
        ("client_version", "u32?"),
        ("internal_ip", "ip?"),
        ("dc_type", "u8?"),
        ("status", "u16?"),
        ("status_flags", "u16?"),
        ("tcp_version", "u32?"),
        ("unknown", "u32?"),
        ("trailer", "u32?"),
    )


@dataclass(frozen=True)
class Logoff(Body):
    """
    LOGOFF parameters: a text command and a WORD (4 or 5).  Only "B_USER_DISCONNECTED"
    ends the session (L{disconnects}).
    """

    text: bytes = b"B_USER_DISCONNECTED"
    code: int = 5

    DISCONNECT: ClassVar[bytes] = b"B_USER_DISCONNECTED"
    LAYOUT: ClassVar[tuple] = (("text", "lnts"), ("code", "u16?"))

    @property
    def disconnects(self):
        """
        True for the logoff command; IServerd compares ignoring case.
        """
        return self.text.upper() == self.DISCONNECT


@dataclass(frozen=True)
class SetStatus(Body):
    """
    SET_STATUS parameters: WORD status, then an optional WORD of flags (v3.md 10.2).

    Miranda sends the status alone (flags C{None} here, meaning "not sent"); the Groupware
    client sends a DWORD whose high WORD is the flags.  Anything further is ignored.
    """

    status: int
    flags: Optional[int] = None
    LAYOUT: ClassVar[tuple] = (("status", "u16"), ("flags", "u16?"))


@dataclass(frozen=True)
class Message(Body):
    """
    A message through the server: THRU_SERVER and AUTHORIZE from the client (uin = the
    recipient), SYSMSG_ONLINE and BROADCAST_ONLINE from the server (uin = the sender).
    """

    uin: int
    msg_type: int
    text: bytes
    LAYOUT: ClassVar[tuple] = (("uin", "u32"), ("msg_type", "u16"), ("text", "lnts"))


@dataclass(frozen=True)
class Broadcast(Body):
    """
    BROADCAST_MSG_ALL / BROADCAST_MSG_ONLINE: a department (0 = everybody), a type the
    server ignores (it delivers type 0x0014), and the text.
    """

    department: int
    msg_type: int
    text: bytes
    LAYOUT: ClassVar[tuple] = (("department", "u32"), ("msg_type", "u16"), ("text", "lnts"))


@dataclass(frozen=True)
class OfflineMessage(Body):
    """
    SYSMSG_OFFLINE (and Miranda's BROADCAST_OFFLINE): a stored message with its time.

    The time is true UTC Unix seconds (v3.md 11.3; IServerd added its UTC offset).  The
    client echoes it in SYSMSG_DONE_ACK.
    """

    uin: int
    time: int
    msg_type: int
    text: bytes
    LAYOUT: ClassVar[tuple] = (
        ("uin", "u32"),
        ("time", "u32"),
        ("msg_type", "u16"),
        ("text", "lnts"),
    )


@dataclass(frozen=True)
class SysmsgRequest(Body):
    """
    SYSMSG_REQ: header only from Miranda; DWORD 0, DWORD 7 from the Groupware client (the
    second may be a maximum count).  Both are kept so either form round-trips.
    """

    unknown: Optional[int] = None
    limit: Optional[int] = None
    LAYOUT: ClassVar[tuple] = (("unknown", "u32?"), ("limit", "u32?"))


@dataclass(frozen=True)
class SysmsgDoneAck(Body):
    """
    SYSMSG_DONE_ACK: the time of the last offline message the client received.
    """

    time: int
    LAYOUT: ClassVar[tuple] = (("time", "u32"),)


@dataclass(frozen=True)
class UinList(Body):
    """
    CONTACT_LIST, INVISIBLE_LIST and VISIBLE_LIST: BYTE count, then count UINs.

    The count is unsigned (v3.md 21 #22: IServerd's signed read lost lists of 128 or more).
    A count larger than the UINs present is malformed: storing half a list would silently
    hide contacts.
    """

    uins: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "uins", tuple(self.uins))

    @classmethod
    def parse(cls, data):
        reader = Reader(data)
        count = reader.u8("count")
        if reader.remaining() < 4 * count:
            raise MalformedPacket(
                "list announces %d UINs, %d bytes present" % (count, reader.remaining())
            )
        return cls(tuple(reader.u32("uin") for _ in range(count)))

    def build(self):
        if len(self.uins) > 0xFF:
            raise ValueError("a list packet holds at most 255 UINs, not %d" % len(self.uins))
        return _u8(len(self.uins)) + b"".join(_u32(uin) for uin in self.uins)


@dataclass(frozen=True)
class UpdateList(Body):
    """
    UPDATE_LIST as Miranda defines it (its sender is disabled): UIN, list, add flag.
    """

    uin: int
    list_type: int = 0
    add: int = 0
    LAYOUT: ClassVar[tuple] = (("uin", "u32"), ("list_type", "u8?"), ("add", "u8?"))


@dataclass(frozen=True)
class GetDeps(Body):
    """
    GET_DEPS: the pseudo-login that fetches the department list (header UIN 0).
    """

    uin: int
    password: bytes
    LIMITS: ClassVar[dict] = {"password": Logon.PASSWORD_LIMIT}
    LAYOUT: ClassVar[tuple] = (("uin", "u32"), ("password", "lnts"))


@dataclass(frozen=True)
class GetExternals(Body):
    """
    GET_EXTERNALS: the client's externals counter.  The server only ACKs.
    """

    counter: int = 0
    LAYOUT: ClassVar[tuple] = (("counter", "u32?"),)


@dataclass(frozen=True)
class SetState(Body):
    """
    SET_STATE: the client's window state (0 disabled, 1 maximized, 0xFF minimized); its
    timestamp rides in the header's reserved field.
    """

    state: int = 0
    LAYOUT: ClassVar[tuple] = (("state", "u8?"),)


@dataclass(frozen=True)
class BroadcastRequest(Body):
    """
    Miranda's 0x0604: the time of the last broadcast it saw, and 0.  The server only ACKs,
    but must, or Miranda reconnects.
    """

    last_time: int = 0
    unknown: int = 0
    LAYOUT: ClassVar[tuple] = (("last_time", "u32?"), ("unknown", "u32?"))


@dataclass(frozen=True)
class Reconnect(Body):
    """
    RECONNECT, known from one spec dump only; the layout is partly inferred and every field
    is optional.  The server only checks the session and ACKs.
    """

    unknown: int = 0
    ip: str = "0.0.0.0"
    tcp_port: int = 0
    dc_type: int = 0
    uin: int = 0
    unknown2: int = 0
    tcp_version: int = 0
    LAYOUT: ClassVar[tuple] = (
        ("unknown", "u32?"),
        ("ip", "ip?"),
        ("tcp_port", "u32?"),
        ("dc_type", "u8?"),
        ("uin", "u32?"),
        ("unknown2", "u32?"),
        ("tcp_version", "u16?"),
    )


@dataclass(frozen=True)
class WebPagerMessage(Body):
    """
    WWP_MSG, internal only: a web-pager message to C{uin} (v3.md 18, webpager.md).
    """

    uin: int
    name: bytes
    email: bytes
    text: bytes
    LAYOUT: ClassVar[tuple] = (
        ("uin", "u32"),
        ("name", "lnts"),
        ("email", "lnts"),
        ("text", "lnts"),
    )


@dataclass(frozen=True)
class SetPassword(Body):
    """
    SET_PASSWORD: the new password as an LNTS.

    The spec's dump has 4 unexplained bytes first (v3.md 21 #10), so the LNTS is taken at
    offset 0 if it ends exactly at the end of the packet, else at offset 4 if that one does
    (C{prefix} then holds the DWORD), else the packet is malformed.
    """

    password: bytes
    prefix: Optional[int] = None
    LIMITS: ClassVar[dict] = {"password": 32}

    @classmethod
    def parse(cls, data):
        data = bytes(data)
        if _lnts_fits(data, 0):
            return cls(Reader(data).lnts("password"))
        if _lnts_fits(data, 4):
            reader = Reader(data)
            prefix = reader.u32("prefix")
            return cls(reader.lnts("password"), prefix)
        raise MalformedPacket("SET_PASSWORD holds no LNTS at offset 0 or 4")

    def build(self):
        prefix = b"" if self.prefix is None else _u32(self.prefix)
        return prefix + _lnts(self.password)


@dataclass(frozen=True)
class SetAuth(Body):
    """
    SET_AUTH: an unknown DWORD, then the mode byte (v3.md 13.5, 21 #9).

    The mode is taken from the last byte, so a one-byte packet works as well; mode 0 means
    authorization is required, 1 that it is not (the spec's sense).
    """

    mode: int
    unknown: Optional[int] = None

    @classmethod
    def parse(cls, data):
        data = bytes(data)
        if not data:
            raise MalformedPacket("SET_AUTH without a mode byte")
        unknown = struct.unpack_from("<I", data)[0] if len(data) >= 5 else None
        return cls(data[-1], unknown)

    def build(self):
        prefix = b"" if self.unknown is None else _u32(self.unknown)
        return prefix + _u8(self.mode)

    @property
    def auth_required(self):
        return self.mode == 0


@dataclass(frozen=True)
class SetBasicInfo(Body):
    """
    SET_BASIC_INFO: nick, first name, last name, e-mail.
    """

    nick: bytes
    first: bytes
    last: bytes
    email: bytes
    LIMITS: ClassVar[dict] = {"nick": 32, "first": 32, "last": 32, "email": 128}
    LAYOUT: ClassVar[tuple] = (
        ("nick", "lnts"),
        ("first", "lnts"),
        ("last", "lnts"),
        ("email", "lnts"),
    )


@dataclass(frozen=True)
class InfoBasic(Body):
    """
    INFO_BASIC and INFO_SINGLE: the SET_BASIC_INFO fields and the auth byte (v3 sense:
    1 = no authorization needed).
    """

    nick: bytes
    first: bytes
    last: bytes
    email: bytes
    auth: int = 0
    LAYOUT: ClassVar[tuple] = SetBasicInfo.LAYOUT + (("auth", "u8"),)


@dataclass(frozen=True)
class SearchFound(Body):
    """
    SEARCH_FOUND: one result, the UIN first (IServerd and Miranda; the spec dump lacks it).
    """

    uin: int
    nick: bytes
    first: bytes
    last: bytes
    email: bytes
    auth: int = 0
    LAYOUT: ClassVar[tuple] = (("uin", "u32"),) + InfoBasic.LAYOUT


@dataclass(frozen=True)
class SearchDone(Body):
    """
    SEARCH_DONE: BYTE "more results".  The Mirabilis server sent it header only (C{None}).
    """

    more: Optional[int] = None
    LAYOUT: ClassVar[tuple] = (("more", "u8?"),)


@dataclass(frozen=True)
class HomeInfo(Body):
    """
    SET_HOME_INFO and INFO_HOME share one layout.

    The birth year is a WORD: two digits in the spec's SET_HOME_INFO, year - 1900 in
    IServerd's INFO_HOME.  Gender: 1 female, 2 male, 0 unset.
    """

    street: bytes
    city: bytes
    state: bytes
    country: int
    phone: bytes
    fax: bytes
    cellular: bytes
    zip: int
    gender: int
    age: int
    birth_day: int
    birth_month: int
    birth_year: int

    LIMITS: ClassVar[dict] = {
        "street": 64,
        "city": 32,
        "state": 32,
        "phone": 32,
        "fax": 32,
        "cellular": 32,
    }
    LAYOUT: ClassVar[tuple] = (
        ("street", "lnts"),
        ("city", "lnts"),
        ("state", "lnts"),
        ("country", "u16"),
        ("phone", "lnts"),
        ("fax", "lnts"),
        ("cellular", "lnts"),
        ("zip", "u32"),
        ("gender", "u8"),
        ("age", "u16"),
        ("birth_day", "u8"),
        ("birth_month", "u8"),
        ("birth_year", "u16"),
    )


@dataclass(frozen=True)
class WorkInfo(Body):
    """
    SET_WORK_INFO and INFO_WORK share one layout.

    The spec's SET_WORK_INFO dump has a fourth string after the pager (v3.md 21 #11).  After
    the third string: if exactly 4 bytes remain they are the ZIP; if an LNTS and a DWORD fill
    the rest exactly, the LNTS is that fourth string (kept in C{extra}); otherwise the next
    DWORD is the ZIP and the rest is ignored.
    """

    street: bytes
    city: bytes
    state: bytes
    country: int
    company: bytes
    title: bytes
    department: int
    phone: bytes
    fax: bytes
    pager: bytes
    zip: int
    extra: Optional[bytes] = None

    LIMITS: ClassVar[dict] = {
        "street": 64,
        "city": 32,
        "state": 32,
        "company": 32,
        "title": 32,
        "phone": 32,
        "fax": 32,
        "pager": 32,
    }
    LAYOUT: ClassVar[tuple] = (
        ("street", "lnts"),
        ("city", "lnts"),
        ("state", "lnts"),
        ("country", "u16"),
        ("company", "lnts"),
        ("title", "lnts"),
        ("department", "u32"),
        ("phone", "lnts"),
        ("fax", "lnts"),
        ("pager", "lnts"),
    )

    @classmethod
    def parse(cls, data):
        reader = Reader(data)
        values = cls._read_layout(reader, cls.LAYOUT)
        values["extra"] = None
        remaining = reader.remaining()
        if remaining > 4:
            (n,) = struct.unpack_from("<H", reader.data, reader.pos)
            if 2 + n + 4 == remaining:
                values["extra"] = reader.lnts("fourth string")
        values["zip"] = reader.u32("zip")
        return cls(**values)

    def build(self):
        extra = b"" if self.extra is None else _lnts(self.extra)
        return self._write_layout(self.LAYOUT) + extra + _u32(self.zip)


@dataclass(frozen=True)
class Notes(Body):
    """
    NOTES: the notes, when they last changed, the last login time and IP.
    """

    notes: bytes
    changed: int
    last_login: int
    last_ip: str
    LAYOUT: ClassVar[tuple] = (
        ("notes", "lnts"),
        ("changed", "u32"),
        ("last_login", "u32"),
        ("last_ip", "ip"),
    )


#: SEARCH_START field numbers, IServerd's numbering (v3.md 14, 21 #7).
SEARCH_FIELDS = {
    0: "uin",
    1: "nick",
    2: "first",
    3: "last",
    4: "email",
    5: "age",
    6: "work_city",
    7: "work_state",
    8: "work_country",
    9: "company",
    10: "title",
    11: "department",
    12: "home_city",
    13: "home_state",
    14: "home_country",
}

#: Fields whose value is a WORD rather than an LNTS.
SEARCH_NUMERIC_FIELDS = frozenset([8, 11, 14])

#: SEARCH_START comparison modes, with their intended (not IServerd's inverted) meaning.
SEARCH_MODES = {
    0: "contains",
    1: "does not contain",
    2: "is",
    3: "is not",
    4: "begins with",
    5: "ends with",
}


@dataclass(frozen=True)
class SearchStart(Body):
    """
    SEARCH_START: one field, one comparison, one value.

    The value is an LNTS (C{text}), except for the country and department fields
    (L{SEARCH_NUMERIC_FIELDS}), where it is a WORD (C{number}).  The bytes before the field
    and the mode (0xFF, 0x00) are not checked.
    """

    field: int
    mode: int
    text: bytes = b""
    number: Optional[int] = None

    @classmethod
    def parse(cls, data):
        reader = Reader(data)
        reader.u8("lead")
        search_field = reader.u8("field")
        reader.u8("pad")
        mode = reader.u8("mode")
        if search_field in SEARCH_NUMERIC_FIELDS:
            return cls(search_field, mode, number=reader.u16("value"))
        return cls(search_field, mode, text=reader.lnts("value"))

    def build(self):
        head = b"\xff" + _u8(self.field) + b"\x00" + _u8(self.mode)
        if self.field in SEARCH_NUMERIC_FIELDS:
            return head + _u16(self.number or 0)
        return head + _lnts(self.text)


@dataclass(frozen=True)
class Hello(Body):
    """
    HELLO, the login reply (v3.md 7.3).  Clients seen so far ignore it, but the values are
    the server's advertised settings, so send them right.
    """

    client_ip: str
    unknown: int = 0
    externals: int = 0
    dep_version: int = 1
    must_change_password: int = 0
    may_broadcast: int = 0
    constant: int = 0xFA
    ping_interval: int = 45
    resend_timeout: int = 10
    retry_timeout: int = 0x0A
    retries: int = 3
    LAYOUT: ClassVar[tuple] = (
        ("client_ip", "ip"),
        ("unknown", "u32"),
        ("externals", "u32"),
        ("dep_version", "u32"),
        ("must_change_password", "u8"),
        ("may_broadcast", "u8"),
        ("constant", "u32"),
        ("ping_interval", "u16"),
        ("resend_timeout", "u16"),
        ("retry_timeout", "u16"),
        ("retries", "u16"),
    )


@dataclass(frozen=True)
class UserOnline(Body):
    """
    USER_ONLINE (v3.md 10.4).  For subjects that are not v3 users the server zeroes the
    address fields: Groupware clients crash when other clients connect to them directly.
    """

    uin: int
    ip: str = "0.0.0.0"
    tcp_port: int = 0
    internal_ip: str = "0.0.0.0"
    dc_type: int = 0
    status: int = 0
    flags: int = 0
    tcp_version: int = 0
    unknown: int = 0
    LAYOUT: ClassVar[tuple] = (
        ("uin", "u32"),
        ("ip", "ip"),
        ("tcp_port", "u32"),
        ("internal_ip", "ip"),
        ("dc_type", "u8"),
        ("status", "u16"),
        ("flags", "u16"),
        ("tcp_version", "u16"),
        ("unknown", "u16"),
    )


@dataclass(frozen=True)
class UserStatus(Body):
    """
    USER_STATUS: a contact's new status and flags.
    """

    uin: int
    status: int
    flags: int = 0
    LAYOUT: ClassVar[tuple] = (("uin", "u32"), ("status", "u16"), ("flags", "u16"))


def _departments_tuple(departments):
    """Departments as a tuple of (code, name) tuples, so equal lists compare equal."""
    return tuple((code, name) for code, name in departments)


def _read_departments(reader):
    count = reader.u32("department count")
    # Each entry takes at least 6 bytes, so a lying count runs out of bytes quickly.
    return tuple(
        (reader.u32("department code"), reader.lnts("department name"))
        for _ in range(count)
    )


def _write_departments(departments):
    return _u32(len(departments)) + b"".join(
        _u32(code) + _lnts(name) for code, name in departments
    )


@dataclass(frozen=True)
class DepsList(Body):
    """
    DEPS_LIST (answer to GET_DEPS): list version, (code, short name) pairs, WORD 2,
    WORD 0x2A.
    """

    version: int
    departments: tuple = ()
    unknown1: int = 0x0002
    unknown2: int = 0x002A

    def __post_init__(self):
        object.__setattr__(self, "departments", _departments_tuple(self.departments))

    @classmethod
    def parse(cls, data):
        return cls._parse_from(Reader(data))

    @classmethod
    def _parse_from(cls, reader, **extra):
        version = reader.u32("department list version")
        departments = _read_departments(reader)
        return cls(
            version,
            departments,
            reader.u16("unknown1"),
            reader.u16("unknown2"),
            **extra,
        )

    def build(self):
        return (
            _u32(self.version)
            + _write_departments(self.departments)
            + _u16(self.unknown1)
            + _u16(self.unknown2)
        )


@dataclass(frozen=True)
class DepsList1(DepsList):
    """
    DEPS_LIST1 (answer to GET_DEPS1): WORD 0x3C, then exactly the DEPS_LIST data.
    """

    prefix: int = 0x003C

    @classmethod
    def parse(cls, data):
        reader = Reader(data)
        prefix = reader.u16("prefix")
        return cls._parse_from(reader, prefix=prefix)

    def build(self):
        return _u16(self.prefix) + DepsList.build(self)


@dataclass(frozen=True)
class RegisterInfo(Body):
    """
    REGISTER_INFO, only ever sent inside three fragments (v3.md 15.1; see
    L{split_register_info}).

    The form defaults at the end (four empty strings, 0xFFFFFFFF, 7, one empty string) are
    kept as fields because nobody knows what a client does with them.
    """

    notes: bytes
    enabled: int
    dep_version: int
    departments: tuple = ()
    unknown1: int = 0x0002
    unknown2: int = 0x002A
    form_strings: tuple = (b"", b"", b"", b"")
    form_dword: int = 0xFFFFFFFF
    form_word: int = 7
    form_last: bytes = b""

    def __post_init__(self):
        object.__setattr__(self, "departments", _departments_tuple(self.departments))
        object.__setattr__(self, "form_strings", tuple(self.form_strings))

    @classmethod
    def parse(cls, data):
        reader = Reader(data)
        notes = reader.lnts("notes")
        enabled = reader.u8("registration enabled")
        unknown1 = reader.u16("unknown1")
        unknown2 = reader.u16("unknown2")
        dep_version = reader.u32("department list version")
        departments = _read_departments(reader)
        form_strings = tuple(reader.lnts("form string") for _ in range(4))
        return cls(
            notes,
            enabled,
            dep_version,
            departments,
            unknown1,
            unknown2,
            form_strings,
            reader.u32("form dword"),
            reader.u16("form word"),
            reader.lnts("form string"),
        )

    def pieces(self):
        """
        The data in IServerd's three pieces: notes and flags; departments; form defaults.
        """
        if len(self.form_strings) != 4:
            raise ValueError("REGISTER_INFO has exactly four form strings")
        return [
            _lnts(self.notes) + _u8(self.enabled) + _u16(self.unknown1) + _u16(self.unknown2),
            _u32(self.dep_version) + _write_departments(self.departments),
            b"".join(_lnts(s) for s in self.form_strings)
            + _u32(self.form_dword)
            + _u16(self.form_word)
            + _lnts(self.form_last),
        ]

    def build(self):
        return b"".join(self.pieces())


@dataclass(frozen=True)
class RegNewUserInfo(Body):
    """
    REG_NEW_USER_INFO, the registration form (v3.md 15.2).

    The birth block between the home ZIP and the home page is 7 bytes in IServerd (gender
    again, WORD age, day, month, WORD year) and 8 in the spec's hand-edited dump (read here as
    day, month, WORD age, WORD year and a skipped WORD; inferred, no client shows which).
    Parsing tries the 7-byte layout, then the 8-byte one, keeping the first that makes the
    rest of the form end exactly at the end of the packet (the closing administrator LNTS may
    be missing); if neither does, it falls back to a 7-byte read that ignores trailing bytes.
    C{gender2} is C{None} after an 8-byte read; IServerd keeps the second gender byte.
    L{build} always writes IServerd's 7-byte layout.
    """

    client_version: int
    nick: bytes
    first: bytes
    last: bytes
    email: bytes
    gender: int
    home_street: bytes
    home_city: bytes
    home_state: bytes
    home_country: int
    home_phone: bytes
    home_fax: bytes
    home_cellular: bytes
    home_zip: int
    gender2: Optional[int]
    age: int
    birth_day: int
    birth_month: int
    birth_year: int
    home_page: bytes
    work_street: bytes
    work_city: bytes
    work_state: bytes
    work_country: int
    company: bytes
    title: bytes
    department: int
    work_phone: bytes
    work_fax: bytes
    work_pager: bytes
    work_zip: int
    work_page: bytes
    admin_data: bytes = b""

    LIMITS: ClassVar[dict] = {
        "nick": 32,
        "first": 32,
        "last": 32,
        "email": 64,
        "home_street": 64,
        "home_city": 32,
        "home_state": 32,
        "home_phone": 32,
        "home_fax": 32,
        "home_cellular": 32,
        "home_page": 128,
        "work_street": 64,
        "work_city": 32,
        "work_state": 32,
        "company": 32,
        "title": 32,
        "work_phone": 32,
        "work_fax": 32,
        "work_pager": 32,
        "work_page": 128,
    }

    _HEAD: ClassVar[tuple] = (
        ("client_version", "u16"),
        ("nick", "lnts"),
        ("first", "lnts"),
        ("last", "lnts"),
        ("email", "lnts"),
        ("gender", "u8"),
        ("home_street", "lnts"),
        ("home_city", "lnts"),
        ("home_state", "lnts"),
        ("home_country", "u16"),
        ("home_phone", "lnts"),
        ("home_fax", "lnts"),
        ("home_cellular", "lnts"),
        ("home_zip", "u32"),
    )
    _BIRTH7: ClassVar[tuple] = (
        ("gender2", "u8"),
        ("age", "u16"),
        ("birth_day", "u8"),
        ("birth_month", "u8"),
        ("birth_year", "u16"),
    )
    _BIRTH8: ClassVar[tuple] = (
        ("birth_day", "u8"),
        ("birth_month", "u8"),
        ("age", "u16"),
        ("birth_year", "u16"),
        ("_skipped", "u16"),
    )
    _TAIL: ClassVar[tuple] = (
        ("home_page", "lnts"),
        ("work_street", "lnts"),
        ("work_city", "lnts"),
        ("work_state", "lnts"),
        ("work_country", "u16"),
        ("company", "lnts"),
        ("title", "lnts"),
        ("department", "u32"),
        ("work_phone", "lnts"),
        ("work_fax", "lnts"),
        ("work_pager", "lnts"),
        ("work_zip", "u32"),
        ("work_page", "lnts"),
        ("admin_data", "lnts?"),
    )

    @classmethod
    def parse(cls, data):
        reader = Reader(data)
        head = cls._read_layout(reader, cls._HEAD)
        start = reader.pos
        attempts = ((cls._BIRTH7, True), (cls._BIRTH8, True), (cls._BIRTH7, False))
        for birth, exact in attempts:
            reader.pos = start
            try:
                rest = cls._read_layout(reader, birth + cls._TAIL)
            except MalformedPacket:
                if not exact:
                    raise
                continue
            if exact and reader.remaining():
                continue
            rest.setdefault("gender2", None)
            rest.pop("_skipped", None)
            return cls(**head, **rest)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def build(self):
        gender2 = self.gender if self.gender2 is None else self.gender2
        birth = (
            _u8(gender2)
            + _u16(self.age)
            + _u8(self.birth_day)
            + _u8(self.birth_month)
            + _u16(self.birth_year)
        )
        return self._write_layout(self._HEAD) + birth + self._write_layout(self._TAIL)


# ---------------------------------------------------------------------------------------------
# Fragments (v3.md 16)


@dataclass(frozen=True)
class Fragment(Body):
    """
    FRAGMENT data, either direction: two bytes, then a piece of the inner packet.

    Servers write (index, count); the spec and Miranda's disabled sender write client
    fragments as (count, index).  Since a 0-based index is always below the count, the
    larger byte is the count (v3.md 21 #6).  A count of 0, or two equal bytes above 1, cannot
    be told apart and is malformed.  L{build} writes (index, count), the order both servers
    and Miranda's reassembly use.
    """

    index: int
    count: int
    piece: bytes = b""

    @classmethod
    def parse(cls, data):
        reader = Reader(data)
        a = reader.u8("fragment byte")
        b = reader.u8("fragment byte")
        count, index = max(a, b), min(a, b)
        if count == 0:
            raise MalformedPacket("fragment count 0")
        if a == b and count > 1:
            raise MalformedPacket("fragment bytes %d, %d: index and count unclear" % (a, b))
        if count == 1:
            index = 0  # 01 01 and 00 01 both mean "the whole packet"
        return cls(index, count, reader.rest())

    def build(self):
        return _u8(self.index) + _u8(self.count) + bytes(self.piece)


def split(packet_bytes, mtu=DEFAULT_MTU, *, command=SRV_FRAGMENT, seq2=None):
    """
    Cut an encoded packet longer than C{mtu} into FRAGMENT datagrams.

    Each fragment carries MTU - 18 bytes of the inner packet (its header included).  As
    v3.md 16.1 recommends, and unlike IServerd, all fragments share one SEQ2 so Miranda can
    join them: by default the inner packet's SEQ1.  Fragment I{i} takes SEQ1 = inner SEQ1 +
    I{i} (mod 2**16), so the caller stamps the inner packet with the session's next SEQ1 and
    then advances its counter by the number of fragments; the client's extra ACK of the inner
    packet then repeats the first fragment's.

    @param command: L{SRV_FRAGMENT}, or L{CMD_FRAGMENT} for a client.
    @param seq2: the shared SEQ2, when the inner SEQ1 is not unique enough.
    @return: C{[packet_bytes]} when it fits, else the fragments in order.
    @raise ValueError: C{mtu} leaves no room for a piece, the input has no v3 header, or it
        would take more than 255 fragments.
    """
    packet_bytes = bytes(packet_bytes)
    if len(packet_bytes) <= mtu:
        return [packet_bytes]
    size = mtu - FRAGMENT_OVERHEAD
    if size < 1:
        raise ValueError("MTU %d leaves no room for a fragment's piece" % (mtu,))
    if len(packet_bytes) < HEADER_SIZE:
        raise ValueError("not a v3 packet: %d bytes" % (len(packet_bytes),))
    _, _, seq1, _, uin, _ = _HEADER.unpack_from(packet_bytes)
    pieces = [packet_bytes[i : i + size] for i in range(0, len(packet_bytes), size)]
    if len(pieces) > 0xFF:
        raise ValueError("%d bytes need %d fragments, over 255" % (len(packet_bytes), len(pieces)))
    shared = seq1 if seq2 is None else seq2
    return [
        encode(
            Packet(
                command,
                (seq1 + i) & 0xFFFF,
                shared,
                uin,
                Fragment(i, len(pieces), piece).build(),
            )
        )
        for i, piece in enumerate(pieces)
    ]


def split_register_info(info, seq2, uin=0):
    """
    The three FRAGMENT datagrams that carry REGISTER_INFO (v3.md 15.1): SEQ1 0, 1, 2, one
    SEQ2 (the REG_REQUEST_INFO's), cut at IServerd's field boundaries rather than by MTU.
    These go out unreliable.
    """
    inner = encode(Packet(SRV_REGISTER_INFO, 0, seq2, uin))
    pieces = info.pieces()
    pieces[0] = inner + pieces[0]
    return [
        encode(Packet(SRV_FRAGMENT, i, seq2, uin, Fragment(i, len(pieces), piece).build()))
        for i, piece in enumerate(pieces)
    ]


class _PendingSet:
    __slots__ = ("first_seen", "count", "pieces", "size")

    def __init__(self, first_seen, count):
        self.first_seen = first_seen
        self.count = count
        self.pieces = {}
        self.size = 0


class Reassembler:
    """
    Joins FRAGMENT packets, keyed by (UIN, SEQ2) like IServerd (v3.md 16.2).

    Memory is bounded: at most C{max_sets} incomplete sets (C{max_sets_per_uin} per UIN), each
    at most C{max_bytes} long, each dropped C{max_age} seconds after its first piece.  When a
    bound is hit the oldest set goes.  Time comes only from the C{now} arguments, so a test
    or the server's tick decides what "old" means.

    The server checks the sender's session before feeding a fragment, decodes the joined
    bytes, and calls L{forget} at every login and logoff of the UIN.

    @ivar max_age: default 10 x the 55 s `V3 ping time`, IServerd's purge age.
    """

    def __init__(self, max_sets=256, max_sets_per_uin=4, max_age=550.0, max_bytes=MAX_DATAGRAM):
        if max_sets < 1 or max_sets_per_uin < 1 or max_bytes < 1:
            raise ValueError("Reassembler bounds must be positive")
        self.max_sets = max_sets
        self.max_sets_per_uin = max_sets_per_uin
        self.max_age = max_age
        self.max_bytes = max_bytes
        self._sets = OrderedDict()  # (uin, seq2) -> _PendingSet, oldest first

    def __len__(self):
        """The number of incomplete sets held."""
        return len(self._sets)

    def pending_keys(self):
        """The (UIN, SEQ2) of every incomplete set, oldest first."""
        return tuple(self._sets)

    @property
    def pending_bytes(self):
        """The bytes held in incomplete sets."""
        return sum(pending.size for pending in self._sets.values())

    def add(self, packet, now):
        """
        Take one FRAGMENT packet.

        @return: the joined inner packet's bytes once all pieces are in, else C{None}.
        @raise MalformedPacket: the fragment bytes are unusable, or the set grew past
            C{max_bytes} (the whole set is dropped).
        """
        fragment = Fragment.parse(packet.data)
        self.expire(now)
        if fragment.count == 1:
            if len(fragment.piece) > self.max_bytes:
                raise MalformedPacket("single fragment of %d bytes" % len(fragment.piece))
            return fragment.piece
        key = (packet.uin, packet.seq2)
        pending = self._sets.get(key)
        if pending is not None and pending.count != fragment.count:
            # A new packet reusing the SEQ2 of an abandoned one.
            del self._sets[key]
            pending = None
        if pending is None:
            self._make_room(packet.uin)
            pending = self._sets[key] = _PendingSet(now, fragment.count)
        if fragment.index in pending.pieces:
            return None  # a resend; the first copy stands
        pending.size += len(fragment.piece)
        if pending.size > self.max_bytes:
            del self._sets[key]
            raise MalformedPacket(
                "fragments of UIN %d SEQ2 %d exceed %d bytes" % (key + (self.max_bytes,))
            )
        pending.pieces[fragment.index] = fragment.piece
        if len(pending.pieces) < pending.count:
            return None
        del self._sets[key]
        return b"".join(pending.pieces[i] for i in range(pending.count))

    def _make_room(self, uin):
        mine = [key for key in self._sets if key[0] == uin]
        if len(mine) >= self.max_sets_per_uin:
            del self._sets[mine[0]]
        if len(self._sets) >= self.max_sets:
            self._sets.popitem(last=False)

    def expire(self, now):
        """
        Drop the sets whose first piece came more than C{max_age} seconds before C{now}.

        @return: how many were dropped.
        """
        old = [key for key, p in self._sets.items() if now - p.first_seen > self.max_age]
        for key in old:
            del self._sets[key]
        return len(old)

    def forget(self, uin):
        """Drop every incomplete set of C{uin} (at its login and logoff)."""
        for key in [key for key in self._sets if key[0] == uin]:
            del self._sets[key]


# ---------------------------------------------------------------------------------------------
# Dispatch tables

#: Client command -> parameter class.  Commands missing here parse as L{Raw}.
CLIENT_BODIES = {
    CMD_ACK: Empty,
    CMD_THRU_SERVER: Message,
    CMD_RECONNECT: Reconnect,
    CMD_LOGON: Logon,
    CMD_GET_DEPS: GetDeps,
    CMD_CONTACT_LIST: UinList,
    CMD_PING: Empty,
    CMD_LOGOFF: Logoff,
    CMD_SYSMSG_DONE_ACK: SysmsgDoneAck,
    CMD_SYSMSG_REQ: SysmsgRequest,
    CMD_AUTHORIZE: Message,
    CMD_GET_INFO1: UinBody,
    CMD_SET_PASSWORD: SetPassword,
    CMD_GET_EXTERNALS: GetExternals,
    CMD_SET_STATUS: SetStatus,
    CMD_FIRST_LOGIN: Empty,
    CMD_SET_BASIC_INFO: SetBasicInfo,
    CMD_SET_AUTH: SetAuth,
    CMD_PING2: Empty,
    CMD_SET_STATE: SetState,
    CMD_USAGE_STATS: Raw,
    CMD_USER_ADD: UinBody,
    CMD_SET_WORK_INFO: WorkInfo,
    CMD_SET_HOME_INFO: HomeInfo,
    CMD_SET_HOME_PAGE: Text,
    CMD_SET_NOTES: Text,
    CMD_GET_NOTES: UinBody,
    CMD_SET_WORK_PAGE: Text,
    CMD_SEARCH_START: SearchStart,
    CMD_FRAGMENT: Fragment,
    CMD_REG_REQUEST_INFO: Empty,
    CMD_REG_NEW_USER_INFO: RegNewUserInfo,
    CMD_GET_DEPS1: Empty,
    CMD_GET_INFO: UinBody,
    CMD_BROADCAST_REQ: BroadcastRequest,
    CMD_BROADCAST_MSG_ALL: Broadcast,
    CMD_BROADCAST_MSG_ONLINE: Broadcast,
    CMD_WWP_MSG: WebPagerMessage,
    CMD_INVISIBLE_LIST: UinList,
    CMD_VISIBLE_LIST: UinList,
    CMD_UPDATE_LIST: UpdateList,
}

#: Server command -> parameter class.
SERVER_BODIES = {
    SRV_ACK: Empty,
    SRV_SET_OFFLINE: Text,
    SRV_DEPS_LIST: DepsList,
    SRV_HELLO: Hello,
    SRV_WRONG_PASSWD: Empty,
    SRV_USER_ONLINE: UserOnline,
    SRV_USER_OFFLINE: UinBody,
    SRV_DEPS_LIST1: DepsList1,
    SRV_SEARCH_FOUND: SearchFound,
    SRV_SEARCH_DONE: SearchDone,
    SRV_SYSMSG_OFFLINE: OfflineMessage,
    SRV_SYSMSG_DONE: Empty,
    SRV_NOT_CONNECTED: Empty,
    SRV_BUSY: Empty,
    SRV_SYSMSG_ONLINE: Message,
    SRV_INFO_SINGLE: InfoBasic,
    SRV_SET_PASSWORD_OK: Empty,
    SRV_USER_STATUS: UserStatus,
    SRV_SET_BASIC_INFO_OK: Empty,
    SRV_SET_AUTH_OK: Empty,
    SRV_LIST_DONE: Empty,
    SRV_SET_WORK_PAGE_OK: Empty,
    SRV_SET_WORK_INFO_OK: Empty,
    SRV_SET_HOME_INFO_OK: Empty,
    SRV_SET_HOME_PAGE_OK: Empty,
    SRV_SET_NOTES_OK: Empty,
    SRV_INFO_BASIC: InfoBasic,
    SRV_INVALID_UIN: UinBody,
    SRV_INFO_WORK: WorkInfo,
    SRV_INFO_WORK_PAGE: Text,
    SRV_INFO_HOME: HomeInfo,
    SRV_INFO_HOME_PAGE: Text,
    SRV_NOTES: Notes,
    SRV_FRAGMENT: Fragment,
    SRV_LOGIN_ERR: Text,
    SRV_REGISTER_INFO: RegisterInfo,
    SRV_REGISTRATION_OK: Text,
    SRV_BROADCAST_OFFLINE: OfflineMessage,
    SRV_BROADCAST_DONE: Empty,
    SRV_BROADCAST_ONLINE: Message,
}


def parse_client_body(packet):
    """
    The parameters of a client packet as their class (L{Raw} for an unknown command).

    @raise MalformedPacket: the parameters do not parse.
    """
    return CLIENT_BODIES.get(packet.command, Raw).parse(packet.data)


def parse_server_body(packet):
    """
    The parameters of a server packet as their class (L{Raw} for an unknown command).

    @raise MalformedPacket: the parameters do not parse.
    """
    return SERVER_BODIES.get(packet.command, Raw).parse(packet.data)
