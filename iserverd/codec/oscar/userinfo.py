"""
The user-info block (oscar.md 3.5), the status DWORD (7.1), DC info (7.2) and
the capability GUIDs clients look at (7.3).
"""

import struct
import uuid
from dataclasses import dataclass

from iserverd.codec import wire as lewire
from iserverd.codec.errors import MalformedPacket
from iserverd.codec.oscar.wire import Reader, Tlvs, bstr, u16, u32

# User-info TLVs.
UI_CLASS = 0x0001
UI_SIGNON = 0x0003
UI_IDLE = 0x0004  # minutes
UI_MEMBER_SINCE = 0x0005
UI_STATUS = 0x0006
UI_EXTERNAL_IP = 0x000A
UI_DC_INFO = 0x000C
UI_CAPABILITIES = 0x000D
UI_ONLINE_TIME = 0x000F  # seconds since sign-on (ambiguity 2)

# User class bits (3.6).
CLASS_UNCONFIRMED = 0x0001
CLASS_ADMIN = 0x0002
CLASS_FREE = 0x0010
CLASS_AWAY = 0x0020
CLASS_ICQ = 0x0040
CLASS_ICQ_USER = CLASS_ICQ | CLASS_FREE

# Status (low WORD) and the bits receivers test (7.1).
STATUS_ONLINE = 0x0000
STATUS_AWAY = 0x0001
STATUS_DND = 0x0002
STATUS_NA = 0x0004
STATUS_OCCUPIED = 0x0010
STATUS_FREE_FOR_CHAT = 0x0020
STATUS_INVISIBLE = 0x0100

FLAG_WEB_AWARE = 0x0001


def split_status(dword):
    """@return: C{(status, flags)} of a status DWORD (flags in the high WORD)."""
    return dword & 0xFFFF, (dword >> 16) & 0xFFFF


def join_status(status, flags=0):
    """The status DWORD from v3/v5's status and flags words: the mapping is
    the identity."""
    return ((flags & 0xFFFF) << 16) | (status & 0xFFFF)


def is_invisible(status):
    return bool(status & STATUS_INVISIBLE)


_AWAY_BITS = STATUS_AWAY | STATUS_DND | STATUS_NA | STATUS_OCCUPIED


def user_class(status):
    """
    The class word for an ICQ user: ICQ + free, plus away for the away-like
    statuses (free for chat and invisible count as online, as in vector V5).
    """
    away = CLASS_AWAY if status & _AWAY_BITS else 0
    return CLASS_ICQ_USER | away


def _guid(text):
    return uuid.UUID(text).bytes


CAP_SRV_RELAY = _guid("09461349-4C7F-11D1-8222-444553540000")
CAP_UTF8 = _guid("0946134E-4C7F-11D1-8222-444553540000")
CAP_RTF = _guid("97B12751-243C-4334-AD22-D6ABF73F1492")
CAP_ICQ_DIRECT = _guid("09461344-4C7F-11D1-8222-444553540000")
CAP_AIM_INTEROP = _guid("0946134D-4C7F-11D1-8222-444553540000")
CAP_TYPING = _guid("563FC809-0B6F-41BD-9F79-422609DFA2F3")

CAPABILITY_SIZE = 16


def split_capabilities(data):
    """The 16-byte GUIDs of a capability list; a ragged tail is dropped."""
    return [data[i:i + 16] for i in range(0, len(data) - len(data) % 16, 16)]


DC_INFO_SIZE = 37
_DC_INFO = struct.Struct(">4sIBHIIIIIIH")


@dataclass(frozen=True)
class DcInfo:
    """
    TLV 0x000C: the direct-connection info of 01,1E and 03,0B.  Bytes past a
    short value read as zeros (clients differ in how much they send).
    """

    internal_ip: str = "0.0.0.0"
    port: int = 0
    dc_type: int = 0
    version: int = 0
    cookie: int = 0
    web_port: int = 0x50
    features: int = 3
    info_time: int = 0
    ext_info_time: int = 0
    ext_status_time: int = 0
    unknown: int = 0

    @classmethod
    def parse(cls, data):
        data = bytes(data)[:DC_INFO_SIZE].ljust(DC_INFO_SIZE, b"\x00")
        ip, *rest = _DC_INFO.unpack(data)
        return cls(lewire.Reader(ip).ip(), *rest)

    def build(self):
        return _DC_INFO.pack(
            lewire.ip(self.internal_ip), self.port & 0xFFFFFFFF, self.dc_type & 0xFF,
            self.version & 0xFFFF, self.cookie & 0xFFFFFFFF, self.web_port & 0xFFFFFFFF,
            self.features & 0xFFFFFFFF, self.info_time & 0xFFFFFFFF,
            self.ext_info_time & 0xFFFFFFFF, self.ext_status_time & 0xFFFFFFFF,
            self.unknown & 0xFFFF,
        )


@dataclass(frozen=True)
class UserInfo:
    """
    BUIN screen name, WORD warning level, TLV block.
    """

    screen_name: bytes
    tlvs: Tlvs = Tlvs()
    warning: int = 0

    @classmethod
    def read(cls, reader):
        name = reader.bstr("screen name")
        warning = reader.u16("warning level")
        return cls(name, Tlvs.read_block(reader), warning)

    @classmethod
    def parse(cls, data):
        """Exactly one block (trailing bytes are ignored, as clients do)."""
        return cls.read(Reader(data))

    def build(self):
        return bstr(self.screen_name) + u16(self.warning) + self.tlvs.build_block()

    @property
    def status(self):
        """The status DWORD, or L{None} when absent."""
        return self.tlvs.dword(UI_STATUS)

    @property
    def user_class(self):
        return self.tlvs.word(UI_CLASS)

    @property
    def dc_info(self):
        v = self.tlvs.get(UI_DC_INFO)
        return None if v is None else DcInfo.parse(v)

    @property
    def capabilities(self):
        return split_capabilities(self.tlvs.get(UI_CAPABILITIES, b""))


def icq_user(name, status=0, flags=0, signon=None, online_seconds=None,
             member_since=None, dc_info=None, external_ip=None,
             capabilities=None, idle_minutes=None):
    """
    The user info the server sends about an ICQ user (03,0B, 01,0F, 04,07),
    in the TLV order of vector V5: class, DC info, external IP, status,
    capabilities, online time, sign-on time, member since, idle.

    @param external_ip: dotted text, or L{None} to leave TLV 0x000A out.
    @param capabilities: a list of GUIDs, or L{None} to leave TLV 0x000D out
        (v3/v5 users, section 15.2).
    """
    pairs = [
        (UI_CLASS, u16(user_class(status))),
        (UI_DC_INFO, None if dc_info is None else dc_info.build()),
        (UI_EXTERNAL_IP, None if external_ip is None else lewire.ip(external_ip)),
        (UI_STATUS, u32(join_status(status, flags))),
        (UI_CAPABILITIES, None if capabilities is None else b"".join(capabilities)),
        (UI_ONLINE_TIME, None if online_seconds is None else u32(online_seconds)),
        (UI_SIGNON, None if signon is None else u32(signon)),
        (UI_MEMBER_SINCE, None if member_since is None else u32(member_since)),
        (UI_IDLE, None if not idle_minutes else u16(min(idle_minutes, 0xFFFF))),
    ]
    return UserInfo(name, Tlvs.of(*pairs))


def departed(name, status=0):
    """The user info of 03,0C: the class TLV alone."""
    return UserInfo(name, Tlvs.of((UI_CLASS, u16(user_class(status)))))


def read_user_infos(data):
    """User-info blocks back to back (03,0B may carry several)."""
    r = Reader(data)
    infos = []
    while r.remaining():
        infos.append(UserInfo.read(r))
    if not infos:
        raise MalformedPacket("no user info block")
    return infos
