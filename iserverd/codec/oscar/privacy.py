"""
Family 0x0009, BOS privacy: rights and the session visible/invisible lists of
clients without SSI (oscar.md 6.5, 7.4).
"""

from iserverd.codec.oscar.wire import Tlvs, buin_list, pack_buins, u16

FAMILY = 0x0009
RIGHTS_REQUEST = 0x0002
RIGHTS = 0x0003
SET_GROUP_PERMIT = 0x0004
ADD_VISIBLE = 0x0005
REMOVE_VISIBLE = 0x0006
ADD_INVISIBLE = 0x0007
REMOVE_INVISIBLE = 0x0008


def rights(max_visible=200, max_invisible=200):
    """09,03 body."""
    return Tlvs.of((0x0001, u16(max_visible)), (0x0002, u16(max_invisible))).build()


parse_names = buin_list
build_names = pack_buins
