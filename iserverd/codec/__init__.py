"""
Pure packet codecs: bytes in, typed packets out, and back. No I/O, no clock.
"""

from iserverd.codec.errors import MalformedPacket

__all__ = ["MalformedPacket"]
