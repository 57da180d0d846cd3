"""
The C{twistd iserverd} plugin.
"""

from twisted.application.service import ServiceMaker

iserverd = ServiceMaker(
    "iserverd",
    "iserverd.tap",
    "An ICQ v3/v5 compatible instant-messaging server.",
    "iserverd",
)
