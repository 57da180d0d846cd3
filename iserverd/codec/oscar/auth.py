"""
Logging in (oscar.md 5, 6.1, 13.3): the client's channel-1 sign-on frame, the
server's channel-4 replies, and family 0x17 (the MD5 exchange).

The first client frame on a connection says what it wants: TLV 0x0006 (a
cookie) is a BOS login, TLV 0x0001 a roasted-password login, and a bare
version (perhaps with TLV 0x8003) a hello before family-0x17 SNACs.
"""

from dataclasses import dataclass

from iserverd.codec import wire as lewire
from iserverd.codec.errors import MalformedPacket
from iserverd.codec.oscar.flap import FLAP_VERSION
from iserverd.codec.oscar.wire import Reader, Tlvs, text, u16, u32, wstr

FAMILY = 0x0017
AUTH_ERROR = 0x0001
AUTH_LOGIN = 0x0002  # C->S MD5 login
AUTH_REPLY = 0x0003  # S->C cookie or error
AUTH_REGISTER = 0x0004
AUTH_NEW_UIN = 0x0005
AUTH_KEY_REQUEST = 0x0006
AUTH_KEY_REPLY = 0x0007

# Login TLVs.
TLV_SCREEN_NAME = 0x0001
TLV_ROASTED_PASSWORD = 0x0002
TLV_CLIENT_ID = 0x0003
TLV_ERROR_URL = 0x0004
TLV_BOS_ADDRESS = 0x0005
TLV_COOKIE = 0x0006
TLV_ERROR = 0x0008
TLV_DISCONNECT_REASON = 0x0009
TLV_DISCONNECT_TEXT = 0x000B
TLV_COUNTRY = 0x000E
TLV_LANGUAGE = 0x000F
TLV_DISTRIBUTION = 0x0014
TLV_CLIENT_NUMBER = 0x0016
TLV_VERSION_MAJOR = 0x0017
TLV_VERSION_MINOR = 0x0018
TLV_VERSION_LESSER = 0x0019
TLV_VERSION_BUILD = 0x001A
TLV_DIGEST = 0x0025
TLV_MULTI_LOGIN = 0x004A
TLV_NEW_HASH = 0x004C

# Login error codes (5.5).
LOGIN_INVALID = 0x0001  # invalid UIN or password; unknown UIN
LOGIN_UNAVAILABLE = 0x0002  # service temporarily unavailable
LOGIN_BAD_PASSWORD = 0x0005  # mismatch UIN or password
LOGIN_INVALID_ACCOUNT = 0x0007
LOGIN_DELETED = 0x0008  # deleted account; unknown UIN on the MD5 path
LOGIN_BAD_DB_FIELDS = 0x000C  # hash variant not verifiable
LOGIN_SUSPENDED = 0x0011  # locked account
LOGIN_RESERVATION = 0x0014
LOGIN_TOO_MANY_FROM_IP = 0x0016
LOGIN_RATE = 0x0018  # per-UIN login rate
LOGIN_IP_RATE = 0x001D  # per-IP login rate
LOGIN_CANNOT_REGISTER = 0x001E

# Channel-4 disconnect reasons (13.3).
DISCONNECT_OTHER_LOGIN = 0x0001
DISCONNECT_DELETED = 0x0002

SIGNON_HELLO = "hello"
SIGNON_ROASTED = "roasted"
SIGNON_COOKIE = "cookie"


@dataclass(frozen=True)
class SignOn:
    """
    A channel-1 frame: DWORD version and a TLV chain.
    """

    tlvs: Tlvs = Tlvs()
    version: int = FLAP_VERSION

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        version = r.u32("FLAP version")
        return cls(Tlvs.parse(r.rest()), version)

    def build(self):
        return u32(self.version) + self.tlvs.build()

    @property
    def kind(self):
        if TLV_COOKIE in self.tlvs:
            return SIGNON_COOKIE
        if TLV_SCREEN_NAME in self.tlvs:
            return SIGNON_ROASTED
        return SIGNON_HELLO

    @property
    def screen_name(self):
        return self.tlvs.get(TLV_SCREEN_NAME)

    @property
    def roasted_password(self):
        """L{None} when absent: old clients without a saved password."""
        return self.tlvs.get(TLV_ROASTED_PASSWORD)

    @property
    def cookie(self):
        return self.tlvs.get(TLV_COOKIE)

    @property
    def client_id(self):
        return self.tlvs.get(TLV_CLIENT_ID)


# licq's identification (vector V2.2), what the test client sends.
LICQ_CLIENT = (
    (TLV_CLIENT_ID, b"ICQBasic"),
    (TLV_CLIENT_NUMBER, u16(0x010A)),
    (TLV_VERSION_MAJOR, u16(20)),
    (TLV_VERSION_MINOR, u16(34)),
    (TLV_VERSION_LESSER, u16(0)),
    (TLV_VERSION_BUILD, u16(3000)),
    (TLV_DISTRIBUTION, u32(0x043D)),
    (TLV_LANGUAGE, b"en"),
    (TLV_COUNTRY, b"us"),
)


def roasted_signon(name, roasted, client=LICQ_CLIENT):
    """CLI_IDENT: screen name, roasted password, client identification."""
    return SignOn(Tlvs.of((TLV_SCREEN_NAME, name), (TLV_ROASTED_PASSWORD, roasted), *client))


def cookie_signon(cookie):
    """CLI_COOKIE: the BOS login."""
    return SignOn(Tlvs.of((TLV_COOKIE, cookie)))


@dataclass(frozen=True)
class AuthResult:
    """
    The answer to a login: the TLVs of the roasted path's channel-4 frame and
    of 17,03 alike.  Success carries the BOS address and the cookie, failure
    an error code.
    """

    screen_name: bytes = None
    bos_address: bytes = None
    cookie: bytes = None
    error: int = None
    error_url: bytes = None

    @classmethod
    def parse(cls, data):
        tlvs = Tlvs.parse(data)
        return cls(
            tlvs.get(TLV_SCREEN_NAME), tlvs.get(TLV_BOS_ADDRESS), tlvs.get(TLV_COOKIE),
            tlvs.word(TLV_ERROR), tlvs.get(TLV_ERROR_URL),
        )

    def build(self):
        return Tlvs.of(
            (TLV_SCREEN_NAME, self.screen_name),
            (TLV_BOS_ADDRESS, self.bos_address),
            (TLV_COOKIE, self.cookie),
            (TLV_ERROR, None if self.error is None else u16(self.error)),
            (TLV_ERROR_URL, self.error_url),
        ).build()

    @property
    def ok(self):
        return self.error is None and self.cookie is not None


@dataclass(frozen=True)
class Disconnect:
    """
    A channel-4 frame from the server closing a session: TLV 0x0009 reason as
    a WORD (what Miranda and Pidgin read), optional TLV 0x000B text.
    """

    reason: int = None
    text: bytes = None

    @classmethod
    def parse(cls, data):
        tlvs = Tlvs.parse(data)
        return cls(tlvs.word(TLV_DISCONNECT_REASON), tlvs.get(TLV_DISCONNECT_TEXT))

    def build(self):
        return Tlvs.of(
            (TLV_DISCONNECT_REASON, None if self.reason is None else u16(self.reason)),
            (TLV_DISCONNECT_TEXT, self.text),
        ).build()


@dataclass(frozen=True)
class KeyRequest:
    """17,06: TLV 0x0001 screen name (Pidgin adds empty 0x004B, 0x005A)."""

    screen_name: bytes
    tlvs: Tlvs = Tlvs()

    @classmethod
    def parse(cls, data):
        tlvs = Tlvs.parse(data)
        name = tlvs.get(TLV_SCREEN_NAME)
        if name is None:
            raise MalformedPacket("key request without a screen name")
        return cls(name, tlvs.without(TLV_SCREEN_NAME))

    def build(self):
        return Tlvs.of((TLV_SCREEN_NAME, self.screen_name)).build() + self.tlvs.build()


@dataclass(frozen=True)
class KeyReply:
    """17,07: WORD key length + key (ambiguity 13: a WORD); TLVs may follow."""

    key: bytes

    @classmethod
    def parse(cls, data):
        return cls(Reader(data).wstr("MD5 key"))

    def build(self):
        return wstr(self.key)


@dataclass(frozen=True)
class Md5Login:
    """
    17,02: screen name, 16-byte digest, and TLV 0x004C when the digest is the
    "new" hash over MD5(password).

    @ivar tlvs: the other TLVs (identification, 0x004A ...).
    """

    screen_name: bytes
    digest: bytes
    new_hash: bool = False
    tlvs: Tlvs = Tlvs()

    @classmethod
    def parse(cls, data):
        tlvs = Tlvs.parse(data)
        name = tlvs.get(TLV_SCREEN_NAME)
        digest = tlvs.get(TLV_DIGEST)
        if name is None:
            raise MalformedPacket("MD5 login without a screen name")
        if digest is None or len(digest) != 16:
            raise MalformedPacket("MD5 login without a 16-byte digest")
        return cls(name, digest, TLV_NEW_HASH in tlvs,
                   tlvs.without(TLV_SCREEN_NAME, TLV_DIGEST, TLV_NEW_HASH))

    def build(self):
        head = Tlvs.of(
            (TLV_SCREEN_NAME, self.screen_name),
            (TLV_DIGEST, self.digest),
            (TLV_NEW_HASH, b"" if self.new_hash else None),
        )
        return head.build() + self.tlvs.without(
            TLV_SCREEN_NAME, TLV_DIGEST, TLV_NEW_HASH).build()


def md5_login(name, digest, new_hash, client=LICQ_CLIENT):
    return Md5Login(text(name), digest, new_hash, Tlvs.of(*client))


# --- registration (oscar.md 12) ------------------------------------------------

REGISTER_REQUEST = 0x0028
REGISTER_REPLY = 0x002D
_PASSWORD_OFFSET = 40
_NEW_UIN_OFFSET = 42


@dataclass(frozen=True)
class RegisterRequest:
    """
    17,04: TLV 0x0001 holding a little-endian block whose LNTS password
    starts at offset 40; the rest (sequence, cookies) is kept for the reply.
    """

    password: bytes
    sequence: int = 0
    cookie: int = 0

    @classmethod
    def parse(cls, data):
        block = Tlvs.parse(data).get(TLV_SCREEN_NAME)
        if block is None:
            raise MalformedPacket("registration request without TLV 0x0001")
        r = lewire.Reader(block)
        r.u32("registration zero")
        r.u16("registration subcommand")
        sequence = r.u16("registration sequence")
        r.raw(8, "registration zeros")
        cookie = r.u32("registration cookie")
        r.raw(_PASSWORD_OFFSET - r.pos, "registration header")
        return cls(r.lnts("registration password", limit=256), sequence, cookie)

    def build(self):
        block = (lewire.u32(0) + lewire.u16(REGISTER_REQUEST) + lewire.u16(self.sequence)
                 + bytes(8) + lewire.u32(self.cookie) * 2 + bytes(16)
                 + lewire.lnts(text(self.password)) + lewire.u32(self.cookie) + bytes(4) + bytes(2))
        return Tlvs.of((TLV_SCREEN_NAME, block)).build()


@dataclass(frozen=True)
class NewUin:
    """17,05: the new UIN at offset 42 of TLV 0x0001 (licq reads it there)."""

    uin: int
    sequence: int = 0
    cookie: int = 0
    port: int = 0
    ip: str = "0.0.0.0"

    @classmethod
    def parse(cls, data):
        block = Tlvs.parse(data).get(TLV_SCREEN_NAME)
        if block is None or len(block) < _NEW_UIN_OFFSET + 4:
            raise MalformedPacket("new-UIN reply without a UIN at offset 42")
        r = lewire.Reader(block, 8)
        sequence = r.u16("sequence")
        port = r.u32("port")
        ip = r.ip("ip")
        r.u32("constant")
        cookie = r.u32("cookie")
        return cls(lewire.Reader(block, _NEW_UIN_OFFSET).u32("new UIN"), sequence, cookie, port, ip)

    def build(self):
        rest = (lewire.u32(0) + lewire.u16(REGISTER_REPLY) + lewire.u16(self.sequence)
                + lewire.u32(self.port) + lewire.ip(self.ip)
                # Written as the bytes 00 00 00 04 (SH's dump; ambiguity 19); unused.
                + u32(4) + lewire.u32(self.cookie) + bytes(16)
                + lewire.u32(self.uin) + lewire.u32(self.cookie))
        return Tlvs.of((TLV_SCREEN_NAME, lewire.u16(len(rest)) + rest)).build()


def register_refused(code=5):
    """17,01: WORD error code (IServerd sends 5)."""
    return u16(code)
