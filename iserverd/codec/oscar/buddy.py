"""
Family 0x0003, the client-side buddy list (oscar.md 6.5, 7.2, 7.4): rights,
03,04/03,05 list edits, and the presence SNACs 03,0B/03,0C.
"""

from iserverd.codec.oscar.userinfo import read_user_infos
from iserverd.codec.oscar.wire import Tlvs, buin_list, pack_buins, u16

FAMILY = 0x0003
RIGHTS_REQUEST = 0x0002
RIGHTS = 0x0003
ADD = 0x0004
REMOVE = 0x0005
REJECTED = 0x000A
ARRIVED = 0x000B
DEPARTED = 0x000C


def rights(max_buddies=600, max_watchers=750, max_notifications=0x200):
    """03,03 body."""
    return Tlvs.of(
        (0x0001, u16(max_buddies)),
        (0x0002, u16(max_watchers)),
        (0x0003, u16(max_notifications)),
    ).build()


parse_names = buin_list
"""03,04 / 03,05 body: BUIN screen names back to back."""

build_names = pack_buins


def build_presence(infos):
    """03,0B / 03,0C body: user-info blocks back to back."""
    return b"".join(info.build() for info in infos)


parse_presence = read_user_infos
