# -*- test-case-name: tests.test_web_accounts -*-
"""
Form safety and logged-in visitors.

Every form carries a CSRF token that must equal the visitor's C{csrf} cookie
(random, HttpOnly, SameSite=Strict, so another site can neither read it nor
make a browser send it), and a POST whose C{Origin} (or C{Sec-Fetch-Site})
says it came from another site is refused before that.

A logged-in visitor holds a random session cookie (HttpOnly, SameSite=Strict,
Secure over HTTPS); the server keeps the UIN it belongs to for
L{SESSION_IDLE} seconds after the last use, in a table of bounded size.  A
login issues a new cookie, so a cookie planted before it is worthless.
"""

import hmac
import secrets
from collections import OrderedDict
from urllib.parse import urlsplit

CSRF_COOKIE = b"iserverd_csrf"
SESSION_COOKIE = b"iserverd_session"
SESSION_IDLE = 3600.0
SESSION_TABLE = 10000


def _cookie(request, name, value, max_age=None):
    request.addCookie(name, value, path=b"/", httpOnly=True, sameSite="strict",
                      secure=request.isSecure() or None,
                      max_age=None if max_age is None else str(max_age).encode("ascii"))


def _token():
    return secrets.token_urlsafe(24).encode("ascii")


def _plausible(value):
    return value is not None and 16 <= len(value) <= 64 and value.replace(b"-", b"").replace(b"_", b"").isalnum()


def csrf_token(request):
    """The visitor's CSRF token (set as a cookie on first use), as text."""
    token = getattr(request, "_csrf_token", None)
    if token is None:
        token = request.getCookie(CSRF_COOKIE)
        if not _plausible(token):
            token = _token()
            _cookie(request, CSRF_COOKIE, token)
        request._csrf_token = token
    return token.decode("ascii")


def hidden_token(request):
    return '<input type="hidden" name="csrf" value="%s">' % (csrf_token(request),)


def same_origin(request):
    """
    Whether a POST may come from our own pages: a browser's C{Sec-Fetch-Site}
    and C{Origin} must not name another site (clients that send neither
    still need the token).
    """
    fetch_site = request.getHeader(b"sec-fetch-site")
    if fetch_site is not None and fetch_site not in (b"same-origin", b"none"):
        return False
    origin = request.getHeader(b"origin")
    if origin is None or (origin == b"null" and fetch_site == b"same-origin"):
        return True
    host = request.getHeader(b"host") or b""
    try:
        return urlsplit(origin.decode("latin-1")).netloc.lower() == host.decode("latin-1").lower()
    except ValueError:
        return False


def csrf_ok(request):
    """Whether a POST carries the visitor's token and comes from our own site."""
    if not same_origin(request):
        return False
    cookie = request.getCookie(CSRF_COOKIE)
    field = (request.args.get(b"csrf") or [b""])[0]
    return _plausible(cookie) and hmac.compare_digest(cookie, field)


class WebSessions:
    """
    Logged-in visitors: session cookie -> UIN, forgotten after
    C{idle} seconds without use; at most C{capacity} (the oldest go first).
    """

    def __init__(self, clock, idle=SESSION_IDLE, capacity=SESSION_TABLE):
        self.clock = clock
        self.idle = idle
        self.capacity = capacity
        self._entries = OrderedDict()  # token -> (uin, last use)

    def __len__(self):
        return len(self._entries)

    def uin(self, request):
        """The logged-in UIN of this request, or L{None}."""
        token = request.getCookie(SESSION_COOKIE)
        if not _plausible(token):
            return None
        entry = self._entries.get(token)
        now = self.clock.seconds()
        if entry is None:
            return None
        if now - entry[1] >= self.idle:
            del self._entries[token]
            return None
        self._entries[token] = (entry[0], now)
        self._entries.move_to_end(token)
        return entry[0]

    def start(self, request, uin):
        """Log C{uin} in: a new cookie, and any old one of this browser forgotten."""
        self.end(request)
        token = _token()
        self._entries[token] = (uin, self.clock.seconds())
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        _cookie(request, SESSION_COOKIE, token)

    def end(self, request):
        token = request.getCookie(SESSION_COOKIE)
        if token is not None:
            self._entries.pop(token, None)
            _cookie(request, SESSION_COOKIE, b"", max_age=0)

    def end_uin(self, uin, keep=None):
        """Forget every web session of C{uin} but the C{keep} request's (after a password change)."""
        kept = keep.getCookie(SESSION_COOKIE) if keep is not None else None
        for token in [t for t, (u, _) in self._entries.items() if u == uin and t != kept]:
            del self._entries[token]
