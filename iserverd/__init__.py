"""
iserverd: an ICQ v3/v5 compatible instant-messaging server on Twisted and PostgreSQL.

The package is laid out along the path a datagram takes: C{transport} receives it,
C{codec} decodes it, C{handlers} act on it through C{core} (sessions, presence,
messages) and C{storage}, and C{services} wire the long-running parts together.
"""

__version__ = "0.1.0"
