# -*- test-case-name: tests.test_codec_v5 -*-
"""
ICQ protocol version 5 over UDP: the pure codec.

Message flow.  A client picks a random session id and sends LOGIN (C{0x03E8}).
The server acknowledges every accepted client packet with a 21-byte ACK that
copies the client's session id, SEQ1, SEQ2 and UIN, then answers the login
with HELLO (C{0x005A}), or with BAD_PASSWORD / NEW_UIN in the older v3 header
format, or with BUSY / LOGIN_ERR.  After HELLO the client uploads its contact,
invisible and visible lists; the server replies with USER_ONLINE for each
visible contact, CONTACT_LIST_DONE, the stored offline messages and
END_OFFLINE_MESSAGES.  Later traffic is messages, status changes, META
requests and their replies, and keep-alives, until LOGOFF or a timeout.

Reliability is by acknowledgement in both directions.  "Reliable" server
packets carry a per-session SEQ1 counter that starts at 0 with HELLO and grows
by exactly one; the client ACKs each with the same SEQ1/SEQ2 and ignores a
packet that skips a number.  Replies to a request echo the request's SEQ2,
which is how clients match them up.

Client packets are obfuscated: a checkcode computed over the plaintext (from
random choices C{r1}/C{r2}) is scrambled into the header and, together with
the datagram length, keys an XOR stream over everything from offset 10 except
the checkcode field.  Server packets are never encrypted; they carry an
unscrambled checkcode that no known client checks.

This module turns datagrams into L{ClientPacket}/L{ServerPacket} values and
back, and parses or builds the parameters of individual commands.  It does no
I/O, reads no clock and draws no random numbers: every random choice is a
parameter.  Decoders raise only L{MalformedPacket}.  Text fields are bytes
(8-bit, code page left to the caller); builders also accept latin-1 C{str}.
The protocol reference is C{shared/protocol/v5.md}; section numbers below refer
to it.
"""

import struct
from dataclasses import dataclass
from datetime import datetime, timezone

from iserverd.codec.errors import MalformedPacket
from iserverd.codec.wire import Reader, ip, lnts, u16, u32

VERSION = 5
V3_VERSION = 3

CLIENT_HEADER_SIZE = 24
SERVER_HEADER_SIZE = 21
V3_HEADER_SIZE = 16
CHECKCODE_OFFSET = 0x14

# Client -> server commands (section 8.1).
CMD_ACK = 0x000A
CMD_SEND_MESSAGE = 0x010E
CMD_RECONNECT = 0x015E
CMD_LOGIN = 0x03E8
CMD_GET_DEPS = 0x03F2
CMD_REG_NEW_USER = 0x03FC
CMD_CONTACT_LIST = 0x0406
CMD_SEARCH_UIN = 0x041A
CMD_SEARCH_USER = 0x0424
CMD_KEEP_ALIVE = 0x042E
CMD_LOGOFF = 0x0438
CMD_ACK_MESSAGES = 0x0442
CMD_SYSMSG_REQ = 0x044C
CMD_MSG_TO_NEW_USER = 0x0456
CMD_INFO_REQ = 0x0460
CMD_EXT_INFO_REQ = 0x046A
CMD_CHANGE_PW = 0x049C
CMD_NEW_USER_INFO = 0x04A6
CMD_UPDATE_EXT_INFO = 0x04B0
CMD_QUERY_SERVERS = 0x04BA
CMD_QUERY_ADDONS = 0x04C4
CMD_STATUS_CHANGE = 0x04D8
CMD_FIRST_LOGIN = 0x04EC
CMD_UPDATE_INFO = 0x050A
CMD_AUTH_UPDATE = 0x0514
CMD_KEEP_ALIVE2 = 0x051E
CMD_LOGIN_2 = 0x0528
CMD_ADD_TO_LIST = 0x053C
CMD_RAND_SET = 0x0564
CMD_RAND_SEARCH = 0x056E
CMD_META_USER = 0x064A
CMD_INVIS_LIST = 0x06A4
CMD_VIS_LIST = 0x06AE
CMD_UPDATE_LIST = 0x06B8

# Server -> client commands (section 8.2).
SRV_ACK = 0x000A
SRV_LOGIN_META = 0x001E  # IServerd's reply to META 0x07D0; licq: SERVER_DOWN
SRV_GO_AWAY = 0x0028
SRV_DEPS_LIST = 0x0032  # v3 format, section 9.9
SRV_NEW_UIN = 0x0046  # v3 format
SRV_HELLO = 0x005A
SRV_BAD_PASSWORD = 0x0064  # v3 format
SRV_USER_ONLINE = 0x006E
SRV_USER_OFFLINE = 0x0078
SRV_USER_FOUND = 0x008C
SRV_END_OF_SEARCH = 0x00A0
SRV_OFFLINE_MESSAGE = 0x00DC
SRV_END_OFFLINE_MESSAGES = 0x00E6
SRV_NOT_CONNECTED = 0x00F0
SRV_BUSY = 0x00FA
SRV_ONLINE_MESSAGE = 0x0104
SRV_INFO_REPLY = 0x0118
SRV_EXT_INFO_REPLY = 0x0122
SRV_INVALID_UIN = 0x012C
SRV_REVERSE_TCP = 0x015E
SRV_USER_STATUS = 0x01A4
SRV_UPDATE_SUCCESS = 0x01E0
SRV_UPDATE_FAIL = 0x01EA
SRV_MULTI_PACKET = 0x0212
SRV_CONTACT_LIST_DONE = 0x021C
SRV_RANDOM_USER_FOUND = 0x024E
SRV_LOGIN_ERR = 0x0370
SRV_META_USER = 0x03DE

CLIENT_COMMAND_NAMES = {
    v: k[4:] for k, v in sorted(globals().items()) if k.startswith("CMD_")
}
SERVER_COMMAND_NAMES = {
    v: k[4:] for k, v in sorted(globals().items()) if k.startswith("SRV_")
}

# META reply result byte (section 15.1).
META_OK = 0x0A
META_FAIL = 0x32

# UPDATE_LIST list types and action (section 12.2; IServerd/micq reading).
LIST_CONTACT = 0
LIST_INVISIBLE = 1
LIST_VISIBLE = 2
LIST_ACTION_ADD = 1

LOGOFF_TEXT = b"B_USER_DISCONNECTED"
PASSWORD_LIMIT = 20  # longest password a LOGIN may carry, NUL excluded

# The data of the 0x001E reply to META 0x07D0 (section 15.6), meaning unknown.
LOGIN_META_REPLY = b"\xd0\x07\x00\x00\x46\x00"

# The fixed DWORD of IServerd's empty v3 department list (section 9.9).
DEPS_LIST_MAGIC = 0x8FFCACBF

# Constant fields of HELLO (section 9.3); their meaning is unknown.
HELLO_CONSTANT = 0x008C
HELLO_UNKNOWN = 0x000A
HELLO_SERVER_ID = 0x80CDC19B


TABLE = bytes.fromhex(
    "59 60 37 6B 65 62 46 48 53 61 4C 59 60 57 5B 3D"
    "5E 34 6D 36 50 3F 6F 67 53 61 4C 59 40 47 63 39"
    "50 5F 5F 3F 6F 47 43 69 48 33 31 64 35 5A 4A 42"
    "56 40 67 53 41 07 6C 49 58 3B 4D 46 68 43 69 48"
    "33 31 44 65 62 46 48 53 41 07 6C 69 48 33 51 54"
    "5D 4E 6C 49 38 4B 55 4A 62 46 48 33 51 34 6D 36"
    "50 5F 5F 5F 3F 6F 47 63 59 40 67 33 31 64 35 5A"
    "6A 52 6E 3C 51 34 6D 36 50 5F 5F 3F 4F 37 4B 35"
    "5A 4A 62 66 58 3B 4D 66 58 5B 5D 4E 6C 49 58 3B"
    "4D 66 58 3B 4D 46 48 53 61 4C 59 40 67 33 31 64"
    "55 6A 32 3E 44 45 52 6E 3C 31 64 55 6A 52 4E 6C"
    "69 48 53 61 4C 39 30 6F 47 63 59 60 57 5B 3D 3E"
    "64 35 3A 3A 5A 6A 52 4E 6C 69 48 53 61 6C 49 58"
    "3B 4D 46 68 63 39 50 5F 5F 3F 6F 67 53 41 25 41"
    "3C 51 54 3D 5E 54 5D 4E 4C 39 50 5F 5F 5F 3F 6F"
    "47 43 69 48 33 51 54 5D 6E 3C 31 64 35 5A 00 00"
)
"""The 256-byte table shared by every v5 implementation (section 5.1)."""

_MASK = 0xFFFFFFFF
_KEY_FACTOR = 0x68656C6C
_U32 = struct.Struct("<I")
# version, zero, uin, session, command, seq1, seq2, checkcode
_CLIENT_HEADER = struct.Struct("<HIIIHHHI")
# version, zero, session, command, seq1, seq2, uin, checkcode
_SERVER_HEADER = struct.Struct("<HBIHHHII")
# version, command, seq1, seq2, uin, checkcode
_V3_HEADER = struct.Struct("<HHHHII")


# --- checkcode and encryption (section 5) ---------------------------------


def scramble(cc):
    """
    Permute the bits of a checkcode the way a client stores it at 0x14.
    """
    return (
        ((cc & 0x0000001F) << 12)
        | ((cc & 0x03E003E0) << 1)
        | ((cc & 0xF8000400) >> 10)
        | ((cc & 0x0000F800) << 16)
        | ((cc & 0x041F0000) >> 15)
    )


def descramble(s):
    """
    Invert L{scramble}: recover the checkcode from the header DWORD.
    """
    return (
        ((s & 0x0001F000) >> 12)
        | ((s & 0x07C007C0) >> 1)
        | ((s & 0x003E0001) << 10)
        | ((s & 0xF8000000) >> 16)
        | ((s & 0x0000083E) << 15)
    )


def _header_a(packet):
    # Bytes 2, 4, 6 and 8 are never encrypted, so A is the same before and
    # after decryption (and, in a server packet, read from its own layout).
    return (packet[8] << 24) | (packet[4] << 16) | (packet[2] << 8) | packet[6]


def checkcode(plain, r1, r2):
    """
    Compute the checkcode of a packet (section 5.2; the same formula gives
    the server-style checkcode of section 5.7 when applied to server bytes).

    @param plain: the whole plaintext packet, checkcode field as it should be
        hashed (zero).
    @param r1: a byte position inside C{plain}; only its low 8 bits enter the
        result, as with 32-bit arithmetic.
    @param r2: a number 0..255.
    @raise ValueError: when C{r1} or C{r2} is out of range; that is a caller
        bug, not bad input.
    """
    if len(plain) < 9:
        raise ValueError("a packet of %d bytes has no checkcode" % len(plain))
    if not 0 <= r1 < len(plain):
        raise ValueError("r1 = %r is not a position in %d bytes" % (r1, len(plain)))
    if not 0 <= r2 <= 0xFF:
        raise ValueError("r2 = %r is not a byte" % (r2,))
    b = ((r1 & 0xFF) << 24) | (plain[r1] << 16) | (r2 << 8) | TABLE[r2]
    return _header_a(plain) ^ b ^ 0x00FF00FF


def checkcode_ok(plain, cc, strict=False):
    """
    Test a client checkcode (section 5.6).

    The lenient test only checks that the embedded C{r2} and C{T[r2]} agree;
    it needs no decrypted byte, so it can run before decryption.  The strict
    test also checks C{P[r1]} where that is meaningful, which clients that
    choose C{r1} differently from licq may fail.

    @param plain: the packet; only bytes 2-9 are read unless C{strict}, when it
        must be the decrypted plaintext.
    @param cc: the descrambled checkcode.
    """
    x = cc ^ _header_a(plain) ^ 0x00FF00FF
    r1, r2 = x >> 24, (x >> 8) & 0xFF
    if x & 0xFF != TABLE[r2]:
        return False
    if strict and r1 < len(plain) and not 20 <= r1 <= 23:
        return (x >> 16) & 0xFF == plain[r1]
    return True


def key(length, cc):
    """
    Derive the XOR key from the datagram length and the checkcode (5.3).
    """
    return (length * _KEY_FACTOR + cc) & _MASK


def crypt(data, key):
    """
    Apply the v5 XOR stream (section 5.4); the same call encrypts and decrypts.

    Bytes 0-9 (version, zero, UIN) and 20-23 (the checkcode field) are left
    alone; a partial last block only touches the bytes that exist.
    """
    n = len(data)
    if n <= 10:
        return bytes(data)
    stream = bytearray(10)
    for i in range(10, n, 4):
        stream += _U32.pack((key + TABLE[i & 0xFF]) & _MASK)
    del stream[n:]
    stream[20:24] = bytes(len(stream[20:24]))
    mixed = int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")
    return mixed.to_bytes(n, "little")


# --- packet headers (section 2) -------------------------------------------


@dataclass(frozen=True)
class ClientPacket:
    """
    A decrypted client packet (section 2.1).

    @ivar data: the parameters; may hold trailing filler such as licq's four
        padding bytes, which parameter parsers ignore.
    """

    uin: int
    session_id: int
    command: int
    seq1: int
    seq2: int
    data: bytes = b""


def decode_client(datagram, verify=True):
    """
    Decrypt and split a v5 client datagram.

    @param verify: apply the lenient checkcode test of section 5.6 and reject
        a packet that fails it as corrupt or forged.
    @raise MalformedPacket: too short, not version 5, non-zero ZERO field, or
        a failed checkcode.
    """
    datagram = bytes(datagram)
    n = len(datagram)
    if n < CLIENT_HEADER_SIZE:
        raise MalformedPacket("v5 client packet of %d bytes, need 24" % n)
    version, zero, uin, _, _, _, _, scrambled = _CLIENT_HEADER.unpack_from(datagram)
    if version != VERSION:
        raise MalformedPacket("version %d is not a v5 client packet" % version)
    if zero != 0:
        raise MalformedPacket("ZERO field is 0x%08X in a v5 client packet" % zero)
    cc = descramble(scrambled)
    if verify and not checkcode_ok(datagram, cc):
        raise MalformedPacket("checkcode 0x%08X fails the T[r2] test" % cc)
    plain = crypt(datagram, key(n, cc))
    _, _, _, session_id, command, seq1, seq2, _ = _CLIENT_HEADER.unpack_from(plain)
    return ClientPacket(uin, session_id, command, seq1, seq2, plain[CLIENT_HEADER_SIZE:])


def encode_client(packet, r1=None, r2=None):
    """
    Build an encrypted datagram as a client would; for test clients.

    A packet without parameters gets four zero bytes appended, as licq pads
    its 24-byte packets (with random bytes) so that C{r1} can point into data.

    @param r1: the checkcode's byte position; default 24, the first data byte.
    @param r2: the checkcode's table index; default 0.
    """
    plain = _CLIENT_HEADER.pack(
        VERSION,
        0,
        packet.uin,
        packet.session_id,
        packet.command,
        packet.seq1,
        packet.seq2,
        0,
    ) + bytes(packet.data)
    if len(plain) == CLIENT_HEADER_SIZE:
        plain += bytes(4)
    cc = checkcode(plain, CLIENT_HEADER_SIZE if r1 is None else r1, r2 or 0)
    wire = bytearray(crypt(plain, key(len(plain), cc)))
    wire[CHECKCODE_OFFSET : CHECKCODE_OFFSET + 4] = _U32.pack(scramble(cc))
    return bytes(wire)


@dataclass(frozen=True)
class ServerPacket:
    """
    A server packet (section 2.2), or a v3-format one (section 2.3).

    @ivar version: 5, or 3 for the v3-format packets (BAD_PASSWORD, NEW_UIN,
        the department list), which have no session id (read as 0).
    """

    session_id: int
    command: int
    seq1: int
    seq2: int
    uin: int
    data: bytes = b""
    version: int = VERSION


def encode_server(packet, r1=0, r2=0):
    """
    Serialise a server packet with a server-style checkcode (section 5.7).

    @param r1: the checkcode's byte position (IServerd: random 0..15).
    @param r2: the checkcode's table index (IServerd: random 0..254).
    """
    if packet.version == V3_VERSION:
        return (
            _V3_HEADER.pack(
                V3_VERSION, packet.command, packet.seq1, packet.seq2, packet.uin, 0
            )
            + bytes(packet.data)
        )
    if packet.version != VERSION:
        raise ValueError("cannot encode a version %r server packet" % (packet.version,))
    raw = bytearray(
        _SERVER_HEADER.pack(
            VERSION,
            0,
            packet.session_id,
            packet.command,
            packet.seq1,
            packet.seq2,
            packet.uin,
            0,
        )
        + bytes(packet.data)
    )
    # Hashed while the field is zero, so an r1 landing on it is still defined.
    _U32.pack_into(raw, 0x11, checkcode(raw, r1, r2))
    return bytes(raw)


def decode_server(datagram):
    """
    Split a server datagram; for test clients.  Accepts v5 and v3 headers.

    The checkcode is not verified (no client does).

    @raise MalformedPacket: too short, unknown version, non-zero ZERO byte.
    """
    datagram = bytes(datagram)
    if len(datagram) < 2:
        raise MalformedPacket("server packet of %d bytes" % len(datagram))
    (version,) = struct.unpack_from("<H", datagram)
    if version == VERSION:
        if len(datagram) < SERVER_HEADER_SIZE:
            raise MalformedPacket("v5 server packet of %d bytes" % len(datagram))
        _, zero, session_id, command, seq1, seq2, uin, _ = _SERVER_HEADER.unpack_from(
            datagram
        )
        if zero != 0:
            raise MalformedPacket("ZERO byte is 0x%02X in a v5 server packet" % zero)
        data = datagram[SERVER_HEADER_SIZE:]
        return ServerPacket(session_id, command, seq1, seq2, uin, data)
    if version == V3_VERSION:
        if len(datagram) < V3_HEADER_SIZE:
            raise MalformedPacket("v3 server packet of %d bytes" % len(datagram))
        _, command, seq1, seq2, uin, _ = _V3_HEADER.unpack_from(datagram)
        data = datagram[V3_HEADER_SIZE:]
        return ServerPacket(0, command, seq1, seq2, uin, data, version=V3_VERSION)
    raise MalformedPacket("unknown server packet version 0x%04X" % version)


def encode_v3_reply(command, seq2, uin, data=b""):
    """
    Build one of the v3-format packets a v5 server sends (section 2.3):
    SEQ1 and the checkcode DWORD are 0.
    """
    return encode_server(
        ServerPacket(0, command, 0, seq2, uin, bytes(data), version=V3_VERSION)
    )


def ack_for(packet, data=b""):
    """
    The server ACK of a client packet: session, SEQ1, SEQ2 and UIN copied.

    @param data: parameters of the ACK variants (registration, FIRST_LOGIN).
    """
    return ServerPacket(
        packet.session_id, SRV_ACK, packet.seq1, packet.seq2, packet.uin, bytes(data)
    )


def bad_password(seq2, uin):
    """
    BAD_PASSWORD in v3 format, 18 bytes (section 9.4).
    """
    return encode_v3_reply(SRV_BAD_PASSWORD, seq2, uin, b"\x00\x00")


def new_uin(seq2, uin, x2):
    """
    NEW_UIN in v3 format after an automatic registration (section 17).

    @param x2: the registration request's X2 DWORD, echoed.
    """
    return encode_v3_reply(SRV_NEW_UIN, seq2, uin, u32(x2))


def deps_list(seq2, uin):
    """
    IServerd's empty v3 department list answering GET_DEPS (section 9.9).
    """
    return encode_v3_reply(SRV_DEPS_LIST, seq2, uin, u32(DEPS_LIST_MAGIC))


def registration_ack(ok, x2):
    """
    Data of the ACK variant that answers an automatic registration (17).
    """
    return bytes((META_OK if ok else META_FAIL,)) + u32(x2)


def first_login_reply(value):
    """
    Data of the ACK variant answering FIRST_LOGIN (section 9.8).
    """
    return b"\x0a" + u32(value) + u16(1)


# --- client parameters -----------------------------------------------------


def _lnts_or_empty(reader, what):
    # A missing string reads as empty; a length that runs past the end is not.
    return reader.lnts(what) if reader.remaining() else b""


_LOGIN_TAIL = struct.Struct("<I4sBHHHHIIIIII")


@dataclass(frozen=True)
class LoginRequest:
    """
    LOGIN (C{0x03E8}) parameters (section 9.1).

    Everything after the password is read as IServerd reads it: bytes past the
    end of the packet count as zeros.  The X fields are ignored by servers and
    exist so that a test client can send what licq sends.

    @ivar password: at most L{PASSWORD_LIMIT} bytes; a longer one makes the
        packet malformed rather than being cut as IServerd cut it.
    """

    time: int = 0
    tcp_port: int = 0
    password: bytes = b""
    internal_ip: str = "0.0.0.0"
    dc_type: int = 4
    status: int = 0
    estatus: int = 0
    tcp_version: int = 6
    web_port: int = 0x50
    client_features: int = 3
    x1: int = 0x98
    x3: int = 0
    x4: int = 0x00980008
    x7: int = 0x385BFAAC
    x8: int = 0

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        time = r.u32("time")
        tcp_port = r.u32("tcp port")
        password = r.lnts("password", limit=PASSWORD_LIMIT + 1)
        tail = r.rest()[: _LOGIN_TAIL.size].ljust(_LOGIN_TAIL.size, b"\x00")
        (x1, internal, dc_type, status, estatus, tcp_version, _, x3, x4, web_port,
         features, x7, x8) = _LOGIN_TAIL.unpack(tail)
        return cls(
            time, tcp_port, password, Reader(internal).ip(), dc_type, status,
            estatus, tcp_version, web_port, features, x1, x3, x4, x7, x8,
        )

    def build(self):
        return (
            u32(self.time)
            + u32(self.tcp_port)
            + lnts(self.password)
            + _LOGIN_TAIL.pack(
                self.x1, ip(self.internal_ip), self.dc_type, self.status,
                self.estatus, self.tcp_version, 0, self.x3, self.x4,
                self.web_port, self.client_features, self.x7, self.x8,
            )
        )


@dataclass(frozen=True)
class RegisterRequest:
    """
    REG_NEW_USER (C{0x03FC}) parameters (section 17).

    licq and micq send two DWORDs where IServerd reads the e-mail; their first
    two bytes are zero, so they read as an empty e-mail and the rest is filler.
    """

    password: bytes
    x1: int = 0xA0
    x2: int = 0x2461
    email: bytes = b""

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        password = r.lnts("password")
        x1, x2 = r.u32_or(), r.u32_or()
        return cls(password, x1, x2, _lnts_or_empty(r, "e-mail"))

    def build(self):
        return lnts(self.password) + u32(self.x1) + u32(self.x2) + lnts(self.email)


@dataclass(frozen=True)
class GetDeps:
    """
    GET_DEPS (C{0x03F2}) parameters (section 9.9).
    """

    uin: int
    password: bytes
    client_version: int = 0

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        uin = r.u32("uin")
        password = r.lnts("password", limit=PASSWORD_LIMIT + 1)
        return cls(uin, password, r.u32_or())

    def build(self):
        return u32(self.uin) + lnts(self.password) + u32(self.client_version)


def _parse_message(data):
    r = Reader(data)
    return r.u32("uin"), r.u16("message type"), _lnts_or_empty(r, "message text")


@dataclass(frozen=True)
class SendMessage:
    """
    Parameters of SEND_MESSAGE (C{0x010E}) and MSG_TO_NEW_USER (C{0x0456}),
    section 13.1.  A missing text reads as empty: some clients send "you were
    added" without one.
    """

    recipient: int
    msg_type: int
    text: bytes = b""

    @classmethod
    def parse(cls, data):
        return cls(*_parse_message(data))

    def build(self):
        return u32(self.recipient) + u16(self.msg_type) + lnts(self.text)


@dataclass(frozen=True)
class UinList:
    """
    CONTACT_LIST, VIS_LIST and INVIS_LIST parameters (section 12.2): a BYTE
    count and that many UINs, which must all be present.
    """

    uins: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "uins", tuple(self.uins))

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        count = r.u8("count")
        return cls(tuple(r.u32("uin") for _ in range(count)))

    def build(self):
        if len(self.uins) > 0xFF:
            raise ValueError("%d UINs do not fit one list packet" % len(self.uins))
        return bytes((len(self.uins),)) + b"".join(u32(uin) for uin in self.uins)


@dataclass(frozen=True)
class AddToList:
    """
    ADD_TO_LIST (C{0x053C}) parameters.
    """

    uin: int

    @classmethod
    def parse(cls, data):
        return cls(Reader(data).u32("uin"))

    def build(self):
        return u32(self.uin)


@dataclass(frozen=True)
class UpdateList:
    """
    UPDATE_LIST (C{0x06B8}) parameters (section 12.2).

    @ivar list_type: L{LIST_INVISIBLE} or L{LIST_VISIBLE} as IServerd and micq
        read it; licq's v5 build uses other numbers (section 20, item 4).
    @ivar action: L{LIST_ACTION_ADD}; anything else removes.
    """

    uin: int
    list_type: int
    action: int

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        return cls(r.u32("uin"), r.u8("list type"), r.u8("action"))

    def build(self):
        return u32(self.uin) + bytes((self.list_type, self.action))


@dataclass(frozen=True)
class StatusChange:
    """
    STATUS_CHANGE (C{0x04D8}) parameters: WORD status, WORD flags (12.6).

    Read as two WORDs, not IServerd's DWORD, so the flags survive; absent flags
    read as 0.
    """

    status: int
    flags: int = 0

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        return cls(r.u16("status"), r.u16_or())

    def build(self):
        return u16(self.status) + u16(self.flags)


@dataclass(frozen=True)
class Logoff:
    """
    LOGOFF (C{0x0438}) parameters: LNTS text, WORD 5 (section 11).
    """

    text: bytes = LOGOFF_TEXT

    @property
    def ok(self):
        """Only this exact text (any case) logs a user off."""
        return self.text.lower() == LOGOFF_TEXT.lower()

    @classmethod
    def parse(cls, data):
        return cls(Reader(data).lnts("logoff text"))

    def build(self):
        return lnts(self.text) + u16(5)


@dataclass(frozen=True)
class FirstLogin:
    """
    FIRST_LOGIN (C{0x04EC}) parameters: one DWORD, echoed in the reply (9.8).
    """

    value: int

    @classmethod
    def parse(cls, data):
        return cls(Reader(data).u32("value"))

    def build(self):
        return u32(self.value)


@dataclass(frozen=True)
class MetaRequest:
    """
    META_USER (C{0x064A}) framing: WORD sub-command, then its parameters.
    """

    subcommand: int
    rest: bytes = b""

    @property
    def target_uin(self):
        """The DWORD after the sub-command, or 0 (IServerd reads it always)."""
        return Reader(self.rest).u32_or()

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        return cls(r.u16("meta sub-command"), r.rest())

    def build(self):
        return u16(self.subcommand) + bytes(self.rest)


# --- server parameters -----------------------------------------------------

_HELLO = struct.Struct("<HHHHHH4sI")


@dataclass(frozen=True)
class Hello:
    """
    HELLO (C{0x005A}) parameters, 20 bytes (section 9.3).

    @ivar keepalive: the keep-alive interval suggested to the client, which
        IServerd sets to its ping time minus 10 seconds.
    """

    keepalive: int
    timeout: int
    retries: int
    client_ip: str
    constant: int = HELLO_CONSTANT
    unknown: int = HELLO_UNKNOWN
    server_id: int = HELLO_SERVER_ID

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        constant = r.u16("hello constant")
        r.u16("hello zero")
        keepalive, timeout = r.u16("keep-alive"), r.u16("timeout")
        unknown, retries = r.u16("hello unknown"), r.u16("retries")
        client_ip, server_id = r.ip("client ip"), r.u32("server id")
        return cls(keepalive, timeout, retries, client_ip, constant, unknown, server_id)

    def build(self):
        return _HELLO.pack(
            self.constant, 0, self.keepalive, self.timeout, self.unknown,
            self.retries, ip(self.client_ip), self.server_id,
        )


def hello(ping_time, timeout, retries, client_ip):
    """
    HELLO parameters from the server settings.

    @param ping_time: the user lifetime in seconds (C{V5 ping time}); the
        client is told to ping ten seconds sooner.
    @param timeout: the resend interval (C{V5 max timeout}).
    @param retries: the resend count (C{V5 max retries}).
    @param client_ip: the source address of the LOGIN datagram.
    """
    return Hello(max(ping_time - 10, 0), timeout, retries, client_ip).build()


_USER_ONLINE = struct.Struct("<I4sI4sBHHIIIIIII")


@dataclass(frozen=True)
class UserOnline:
    """
    USER_ONLINE (C{0x006E}) parameters, 49 bytes (section 12.4).
    """

    uin: int
    external_ip: str
    tcp_port: int
    internal_ip: str
    dc_type: int
    status: int
    flags: int = 0
    tcp_version: int = 6
    dc_cookie: int = 0
    web_port: int = 0x50
    client_features: int = 3
    info_time: int = 0
    more_time: int = 0
    status_time: int = 0

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        raw = r.raw(_USER_ONLINE.size, "user online")
        (uin, ext, port, internal, *rest) = _USER_ONLINE.unpack(raw)
        return cls(uin, Reader(ext).ip(), port, Reader(internal).ip(), *rest)

    def build(self):
        return _USER_ONLINE.pack(
            self.uin, ip(self.external_ip), self.tcp_port, ip(self.internal_ip),
            self.dc_type, self.status, self.flags, self.tcp_version,
            self.dc_cookie, self.web_port, self.client_features,
            self.info_time, self.more_time, self.status_time,
        )


def user_online(
    uin,
    external_ip,
    tcp_port,
    internal_ip,
    dc_type,
    status,
    flags=0,
    tcp_version=6,
    web_port=0x50,
    client_features=3,
    dc_cookie=0,
):
    """
    USER_ONLINE parameters; the three update times are always 0 for v5.
    """
    return UserOnline(
        uin, external_ip, tcp_port, internal_ip, dc_type, status, flags,
        tcp_version, dc_cookie, web_port, client_features,
    ).build()


@dataclass(frozen=True)
class UserOffline:
    """
    USER_OFFLINE (C{0x0078}) parameters.
    """

    uin: int

    @classmethod
    def parse(cls, data):
        return cls(Reader(data).u32("uin"))

    def build(self):
        return u32(self.uin)


def user_offline(uin):
    return UserOffline(uin).build()


@dataclass(frozen=True)
class UserStatus:
    """
    USER_STATUS (C{0x01A4}) parameters.
    """

    uin: int
    status: int
    flags: int = 0

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        return cls(r.u32("uin"), r.u16("status"), r.u16("status flags"))

    def build(self):
        return u32(self.uin) + u16(self.status) + u16(self.flags)


def user_status(uin, status, flags=0):
    return UserStatus(uin, status, flags).build()


@dataclass(frozen=True)
class OnlineMessage:
    """
    ONLINE_MESSAGE (C{0x0104}) parameters: the client's send layout with the
    sender in place of the recipient (section 13.2).
    """

    sender: int
    msg_type: int
    text: bytes = b""

    @classmethod
    def parse(cls, data):
        return cls(*_parse_message(data))

    def build(self):
        return u32(self.sender) + u16(self.msg_type) + lnts(self.text)


def online_message(sender, msg_type, text):
    return OnlineMessage(sender, msg_type, text).build()


_WHEN = struct.Struct("<HBBBB")


@dataclass(frozen=True)
class OfflineMessage:
    """
    OFFLINE_MESSAGE (C{0x00DC}) parameters (section 13.3); the time fields
    are UTC calendar fields.
    """

    sender: int
    year: int
    month: int
    day: int
    hour: int
    minute: int
    msg_type: int
    text: bytes = b""

    @property
    def when(self):
        return (self.year, self.month, self.day, self.hour, self.minute)

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        sender = r.u32("sender")
        when = _WHEN.unpack(r.raw(_WHEN.size, "time"))
        return cls(sender, *when, r.u16("message type"), _lnts_or_empty(r, "text"))

    def build(self):
        return (
            u32(self.sender)
            + _WHEN.pack(*self.when)
            + u16(self.msg_type)
            + lnts(self.text)
        )


def offline_message(sender, when, msg_type, text):
    """
    OFFLINE_MESSAGE parameters.

    @param when: an aware C{datetime} (converted to UTC), a naive one (taken
        as UTC), or a C{(year, month, day, hour, minute)} tuple.
    """
    if isinstance(when, datetime):
        if when.tzinfo is not None:
            when = when.astimezone(timezone.utc)
        when = (when.year, when.month, when.day, when.hour, when.minute)
    return OfflineMessage(sender, *when, msg_type, text).build()


@dataclass(frozen=True)
class ContactListDone:
    """
    CONTACT_LIST_DONE (C{0x021C}) parameters: the user's own UIN.
    """

    uin: int

    @classmethod
    def parse(cls, data):
        return cls(Reader(data).u32("uin"))

    def build(self):
        return u32(self.uin)


def contact_list_done(uin):
    return ContactListDone(uin).build()


@dataclass(frozen=True)
class LoginErr:
    """
    LOGIN_ERR (C{0x0370}) parameters: LNTS text, DWORD 0 (section 9.6).
    """

    text: bytes

    @classmethod
    def parse(cls, data):
        return cls(Reader(data).lnts("error text"))

    def build(self):
        return lnts(self.text) + u32(0)


def login_err(text):
    return LoginErr(text).build()


@dataclass(frozen=True)
class MetaReply:
    """
    META_USER reply (C{0x03DE}) framing: WORD sub-command, BYTE result, data.
    """

    subcommand: int
    result: int = META_OK
    data: bytes = b""

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        return cls(r.u16("meta reply sub-command"), r.u8("meta result"), r.rest())

    def build(self):
        return u16(self.subcommand) + bytes((self.result,)) + bytes(self.data)


def meta_reply(subcommand, result=META_OK, data=b""):
    return MetaReply(subcommand, result, data).build()


@dataclass(frozen=True)
class MultiPacket:
    """
    MULTI_PACKET (C{0x0212}) parameters (section 18): complete server
    packets, each prefixed by its WORD length.
    """

    packets: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "packets", tuple(bytes(p) for p in self.packets))

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        count = r.u8("sub-packet count")
        return cls(tuple(r.raw(r.u16("sub-packet length"), "sub-packet")
                         for _ in range(count)))

    def build(self):
        if len(self.packets) > 0xFF:
            raise ValueError("%d sub-packets do not fit" % len(self.packets))
        parts = [bytes((len(self.packets),))]
        for packet in self.packets:
            if len(packet) > 0xFFFF:
                raise ValueError("a sub-packet of %d bytes does not fit" % len(packet))
            parts += [u16(len(packet)), packet]
        return b"".join(parts)


def multi_packet(packets):
    """
    MULTI_PACKET parameters from encoded server packets.
    """
    return MultiPacket(packets).build()
