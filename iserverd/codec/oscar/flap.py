"""
FLAP framing (oscar.md section 2): the 6-byte header every OSCAR frame has, and
an incremental splitter for a TCP byte stream.

The splitter checks a frame's declared length against a configured maximum as
soon as its header is in, before waiting for (or keeping) any of its data: a
peer cannot make the server buffer more than one maximum-sized frame.
"""

import struct
from dataclasses import dataclass

from iserverd.codec.errors import MalformedPacket

START = 0x2A
HEADER_SIZE = 6

CH_SIGNON = 1  # new connection: version DWORD + TLVs
CH_SNAC = 2
CH_ERROR = 3
CH_SIGNOFF = 4  # close connection: optional TLVs
CH_KEEPALIVE = 5

CHANNEL_NAMES = {
    CH_SIGNON: "SIGNON", CH_SNAC: "SNAC", CH_ERROR: "ERROR",
    CH_SIGNOFF: "SIGNOFF", CH_KEEPALIVE: "KEEPALIVE",
}

FLAP_VERSION = 1
HELLO_DATA = b"\x00\x00\x00\x01"

# What clients assume the server accepts (oscar.md 2.5).
DEFAULT_MAX_DATA = 8192
MAX_DATA = 0xFFFF

# Sequence numbers wrap from 0x7FFF to 0 (section 2.4, ambiguity 1).
SEQUENCE_MODULUS = 0x8000

_HEADER = struct.Struct(">BBHH")


@dataclass(frozen=True)
class Frame:
    channel: int
    sequence: int
    data: bytes = b""


def next_sequence(sequence):
    """The sequence number after C{sequence}, wrapping from 0x7FFF to 0."""
    return (sequence + 1) % SEQUENCE_MODULUS


def encode(frame):
    """
    Serialise a frame.

    @raise ValueError: data over 65535 bytes or a channel/sequence out of
        range; a caller bug, not bad input.
    """
    data = bytes(frame.data)
    if len(data) > MAX_DATA:
        raise ValueError("FLAP data of %d bytes" % len(data))
    if not 0 <= frame.channel <= 0xFF or not 0 <= frame.sequence <= 0xFFFF:
        raise ValueError("FLAP channel %r sequence %r" % (frame.channel, frame.sequence))
    return _HEADER.pack(START, frame.channel, frame.sequence, len(data)) + data


def decode(data):
    """
    Decode exactly one frame (for tests and vectors).

    @raise MalformedPacket: bad start byte, or a length that disagrees with
        the bytes given.
    """
    data = bytes(data)
    if len(data) < HEADER_SIZE:
        raise MalformedPacket("FLAP of %d bytes, header needs 6" % len(data))
    start, channel, sequence, length = _HEADER.unpack_from(data)
    if start != START:
        raise MalformedPacket("FLAP start byte 0x%02X, not 0x2A" % start)
    if len(data) != HEADER_SIZE + length:
        raise MalformedPacket(
            "FLAP length %d but %d data bytes" % (length, len(data) - HEADER_SIZE)
        )
    return Frame(channel, sequence, data[HEADER_SIZE:])


def hello(sequence):
    """The server's first frame on every connection (vector V1)."""
    return encode(Frame(CH_SIGNON, sequence, HELLO_DATA))


class Splitter:
    """
    Cut a TCP byte stream into frames.

    After a L{MalformedPacket} the stream cannot be resynchronised: the
    connection must be closed, and the splitter refuses further data.

    @ivar max_data: the longest frame data accepted.
    """

    def __init__(self, max_data=DEFAULT_MAX_DATA):
        if not 0 <= max_data <= MAX_DATA:
            raise ValueError("FLAP maximum %r out of 0..65535" % (max_data,))
        self.max_data = max_data
        self._buffer = bytearray()
        self._broken = None

    @property
    def pending(self):
        """How many bytes are held waiting for the rest of a frame."""
        return len(self._buffer)

    @property
    def limit(self):
        """The most bytes the splitter ever holds between calls."""
        return HEADER_SIZE + self.max_data

    def feed(self, data):
        """
        Add received bytes; return the frames they complete, in order.

        @raise MalformedPacket: a bad start byte or a frame longer than
            L{max_data}; frames completed earlier in the same call are lost
            with it, as the connection is about to close anyway.
        """
        if self._broken is not None:
            raise MalformedPacket("stream already broken: %s" % self._broken)
        frames = []
        view = memoryview(bytes(data))
        while view:
            buf = self._buffer
            if len(buf) < HEADER_SIZE:
                take = HEADER_SIZE - len(buf)
                buf += view[:take]
                view = view[take:]
                if len(buf) < HEADER_SIZE:
                    break
                self._check_header()
            _, channel, sequence, length = _HEADER.unpack_from(buf)
            want = HEADER_SIZE + length - len(buf)
            buf += view[:want]
            view = view[want:]
            if len(buf) == HEADER_SIZE + length:
                frames.append(Frame(channel, sequence, bytes(buf[HEADER_SIZE:])))
                del buf[:]
        return frames

    def _check_header(self):
        start, channel, _, length = _HEADER.unpack_from(self._buffer)
        problem = None
        if start != START:
            problem = "FLAP start byte 0x%02X, not 0x2A" % start
        elif length > self.max_data:
            problem = "FLAP of %d data bytes on channel %d exceeds the maximum %d" % (
                length, channel, self.max_data)
        if problem is not None:
            self._broken = problem
            del self._buffer[:]
            raise MalformedPacket(problem)
