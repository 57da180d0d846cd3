"""
The webpager ("wwp") datagram and the web-panel message made from it.

A web form's CGI script (or C{iserverd-webpager}) sends one datagram per
message to the server's UNIX socket; the server turns it into a message of
type 0x000D from UIN 1 (webpager.md sections 4 and 5).  The datagram, all
integers little-endian::

    DWORD  signature 0x01020709
    4      sender IP, octets in dotted order
    DWORD  target UIN
    LNTS   sender e-mail   (e-mail before name, unlike the final text)
    LNTS   sender name
    LNTS   message text, CR LF line breaks

This module does no I/O.  L{decode} raises only L{MalformedPacket}; it applies
the recommended limits rather than IServerd's off-by-one buffers.
"""

from dataclasses import dataclass

from iserverd.codec import wire
from iserverd.codec.errors import MalformedPacket

SIGNATURE = 0x01020709
MSG_WEB_PAGER = 0x000D
MIN_UIN = 1001
MAX_UIN = 0xFFFFFFFF

# Longest LNTS lengths accepted, the NUL included.
MAX_EMAIL = 64
MAX_NAME = 32
MAX_TEXT = 450
# The server reads at most this much of one datagram.
MAX_DATAGRAM = 8192


@dataclass(frozen=True)
class WebPage:
    """
    One webpager message.

    @ivar ip: the sender's address as dotted text (as the web server saw it).
    @ivar target: the UIN to page.
    @ivar email: the sender's e-mail, bytes without NUL.
    @ivar name: the sender's name, bytes without NUL.
    @ivar text: the message, bytes without NUL, CR LF line breaks.
    """

    ip: str
    target: int
    email: bytes
    name: bytes
    text: bytes


def _cut(value):
    """A string may carry a NUL before its end; what follows it is not text."""
    return value.split(b"\x00", 1)[0]


def decode(datagram):
    """
    Parse one socket datagram.  Bytes after the message are ignored.

    @raise MalformedPacket: a wrong signature, a target below 1001, a field
        longer than its limit, or a datagram shorter than its fields claim.
    """
    r = wire.Reader(datagram)
    signature = r.u32("signature")
    if signature != SIGNATURE:
        raise MalformedPacket("wrong signature 0x%08X" % (signature,))
    ip = r.ip("sender ip")
    target = r.u32("target uin")
    if target < MIN_UIN:
        raise MalformedPacket("target uin %d is below %d" % (target, MIN_UIN))
    email = _cut(r.lnts("e-mail", MAX_EMAIL))
    name = _cut(r.lnts("name", MAX_NAME))
    text = _cut(r.lnts("message", MAX_TEXT))
    return WebPage(ip, target, email, name, text)


def encode(page):
    """
    Build the socket datagram for C{page} (the C{iserverd-webpager} side).

    @raise ValueError: a field is too long for the server to accept.
    """
    for what, value, limit in (("e-mail", page.email, MAX_EMAIL), ("name", page.name, MAX_NAME),
                               ("message", page.text, MAX_TEXT)):
        if len(value) + 1 > limit:
            raise ValueError("%s is %d bytes, at most %d allowed" % (what, len(value), limit - 1))
    if not MIN_UIN <= page.target <= MAX_UIN:
        raise ValueError("target uin %d is not between %d and %d" % (page.target, MIN_UIN, MAX_UIN))
    return (
        wire.u32(SIGNATURE)
        + wire.ip(page.ip)
        + wire.u32(page.target)
        + wire.lnts(page.email)
        + wire.lnts(page.name)
        + wire.lnts(page.text)
    )


def _field(value):
    # 0xFE separates the fields of the final text; one inside the name or the
    # e-mail would shift them in the client (inferred: IServerd did not check).
    return value.replace(b"\xfe", b"?")


def header(page):
    """
    The part of the message text before the body: name, two empty fields,
    e-mail, the digit 3, and the line naming the sender's address.
    """
    fields = [_field(page.name), b"", b"", _field(page.email), b"3",
              b"Sender IP: " + page.ip.encode("ascii") + b"\r\n"]
    return b"\xfe".join(fields)


def compose(page, limit=None):
    """
    The text of the type 0x000D message (webpager.md section 5.2).

    @param limit: the longest text in bytes; the body is cut so the whole text
        fits one message, since clients parse only the first piece of a split
        web-panel message.
    """
    head = header(page)
    body = page.text
    if limit is not None:
        body = body[: max(0, limit - len(head))]
    return head + body
