"""
Family 0x0002, location: rights (02,02 -> 02,03) and the capability upload
(02,04) ICQ clients send (oscar.md 6.5, 6.6).
"""

from dataclasses import dataclass, field

from iserverd.codec.oscar.userinfo import split_capabilities
from iserverd.codec.oscar.wire import Tlvs, u16

FAMILY = 0x0002
RIGHTS_REQUEST = 0x0002
RIGHTS = 0x0003
SET_INFO = 0x0004

TLV_CAPABILITIES = 0x0005

# 02,03 as IServerd answers it.
RIGHTS_TLVS = Tlvs.of(
    (0x0001, u16(1024)),  # max profile length
    (0x0002, u16(0x0010)),  # max capabilities
    (0x0003, u16(0x000A)),
    (0x0004, u16(0x1000)),
    (0x0005, u16(0x0080)),
)


@dataclass(frozen=True)
class SetInfo:
    """
    02,04: TLV 0x0005 capability GUIDs (AIM clients add profile TLVs).
    Parsed leniently: Jimm sends a TLV 0x0005 longer than its data.
    """

    capabilities: tuple = None
    tlvs: Tlvs = field(default_factory=Tlvs)

    @classmethod
    def parse(cls, data):
        tlvs = Tlvs.parse(data, lenient=True)
        caps = tlvs.get(TLV_CAPABILITIES)
        return cls(None if caps is None else tuple(split_capabilities(caps)),
                   tlvs.without(TLV_CAPABILITIES))

    def build(self):
        caps = None if self.capabilities is None else b"".join(self.capabilities)
        return Tlvs.of((TLV_CAPABILITIES, caps)).build() + self.tlvs.build()
