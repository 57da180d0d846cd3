"""
The online-status indicator: what a web page may learn of a user's status,
and the small image that shows it.

Web pages get less than contacts do: an invisible user, a user who turned
"web aware" off and a UIN nobody has are all "offline", so the indicator
cannot be used to find out which UINs exist.  "unknown" is left for a status
that cannot be determined.  The images are
16x16 coloured discs made here, so no image files need to be installed.
"""

import struct
import zlib

# Status word bits (low word of the status DWORD), as ICQ clients set them.
STATUS_AWAY = 0x0001
STATUS_DND = 0x0002
STATUS_NA = 0x0004
STATUS_OCCUPIED = 0x0010
STATUS_FREE_FOR_CHAT = 0x0020
STATUS_INVISIBLE = 0x0100

ONLINE = "online"
FREE_FOR_CHAT = "free_for_chat"
AWAY = "away"
NA = "na"
OCCUPIED = "occupied"
DND = "dnd"
OFFLINE = "offline"
UNKNOWN = "unknown"

COLOURS = {
    ONLINE: (0x22, 0xAA, 0x22),
    FREE_FOR_CHAT: (0x22, 0xBB, 0xBB),
    AWAY: (0xEE, 0xCC, 0x00),
    NA: (0xCC, 0x88, 0x00),
    OCCUPIED: (0xEE, 0x66, 0x00),
    DND: (0x88, 0x11, 0x55),
    OFFLINE: (0xCC, 0x22, 0x22),
    UNKNOWN: (0x99, 0x99, 0x99),
}

SIZE = 16


def status_name(status):
    """
    The indicator's name for an online user's status word.  The most
    restrictive bit wins, as in the clients (DND implies occupied and away).
    """
    for bit, name in ((STATUS_DND, DND), (STATUS_OCCUPIED, OCCUPIED), (STATUS_NA, NA),
                      (STATUS_AWAY, AWAY), (STATUS_FREE_FOR_CHAT, FREE_FOR_CHAT)):
        if status & bit:
            return name
    return ONLINE


def public_status(session, account):
    """
    What the web may see of a user.

    @param session: the user's active session, or L{None} when offline.
    @param account: the user's L{Account} (for C{web_aware}), or L{None} when
        there is no such user.
    @return: one of the names in L{COLOURS}.
    """
    if (session is None or account is None or not account.web_aware
            or session.status & STATUS_INVISIBLE):
        return OFFLINE
    return status_name(session.status)


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_rgba(width, height, pixels):
    """
    Encode an image as PNG.

    @param pixels: C{height} rows of C{width} C{(r, g, b, a)} tuples.
    """
    raw = b"".join(b"\x00" + bytes(v for px in row for v in px) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b""))


def _disc(colour):
    r, g, b = colour
    centre, radius = (SIZE - 1) / 2.0, SIZE / 2.0 - 1
    rows = []
    for y in range(SIZE):
        row = []
        for x in range(SIZE):
            distance = ((x - centre) ** 2 + (y - centre) ** 2) ** 0.5
            if distance <= radius - 1:
                row.append((r, g, b, 255))
            elif distance <= radius:
                row.append((r * 2 // 3, g * 2 // 3, b * 2 // 3, 255))  # a darker rim
            else:
                row.append((0, 0, 0, 0))
        rows.append(row)
    return png_rgba(SIZE, SIZE, rows)


IMAGES = {name: _disc(colour) for name, colour in COLOURS.items()}
