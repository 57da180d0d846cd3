"""
The one exception a decoder may raise.
"""


class MalformedPacket(ValueError):
    """
    The bytes do not form a packet we accept: too short, a length that runs past
    the end, a bad checkcode, an unknown version.  The transport drops the datagram
    and logs this exception's message; nothing else may escape a decoder.
    """
