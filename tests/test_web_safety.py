"""
The web front's defences over real loopback HTTP: headers, CSRF, connection
caps and deadlines, the indicator's rate limit, the shared stylesheet.
"""

import json

from twisted.internet import defer, protocol, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.trial import unittest

from tests.test_v5_loopback import BOB
from tests.test_web import FORM, fetch, start_web


class _Idle(protocol.Protocol):
    """A client that connects, maybe sends a little, and waits."""

    def __init__(self, data=b""):
        self.data = data
        self.closed = defer.Deferred()
        self.received = b""

    def connectionMade(self):
        if self.data:
            self.transport.write(self.data)

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.closed.callback(self.received)


class SafetyTests(unittest.TestCase):

    @defer.inlineCallbacks
    def start(self, **settings):
        self.server, self.clock, self.dsn, self.web, self.base = yield start_web(self, **settings)
        self.port = self.web.http_port

    @defer.inlineCallbacks
    def connect(self, data=b""):
        client = _Idle(data)
        yield connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", self.port), client)
        self.addCleanup(lambda: client.transport.abortConnection())
        return client

    @defer.inlineCallbacks
    def test_headers(self):
        """Every page and file carries the CSP (no inline script), framing and sniffing headers."""
        yield self.start()
        for path in ("/", "/pager", "/server", "/static/site.css", "/status/10002.png"):
            r = yield fetch(self, self.base + path)
            self.assertEqual(r.code, 200, path)
            csp = r.header(b"content-security-policy")
            self.assertIn(b"script-src 'self'", csp)
            self.assertNotIn(b"unsafe-inline", csp)
            self.assertIn(b"frame-ancestors 'self'", csp)
            self.assertEqual(r.header(b"x-frame-options"), b"SAMEORIGIN")
            self.assertEqual(r.header(b"x-content-type-options"), b"nosniff")
            self.assertEqual(r.header(b"referrer-policy"), b"same-origin")
        r = yield fetch(self, self.base + "/static/site.css")
        self.assertEqual(r.header(b"content-type"), b"text/css; charset=utf-8")
        self.assertIn(b"prefers-color-scheme: dark", r.body)

    @defer.inlineCallbacks
    def test_layout(self):
        """Pages share the layout: the network's name from the config, the stylesheet, the navigation."""
        yield self.start(web_name="Retro <Net>", web_text="Old friends.\\nNew server.")
        r = yield fetch(self, self.base + "/")
        self.assertIn('<link rel="stylesheet" href="static/site.css">', r.text)
        self.assertIn("Retro &lt;Net&gt;", r.text)
        self.assertNotIn("Retro <Net>", r.text)
        self.assertIn("<p>Old friends.</p>\n<p>New server.</p>", r.text)
        for href in ("pager", "account", "server"):
            self.assertIn('href="%s"' % (href,), r.text)
        self.assertNotIn('href="online"', r.text)  # off by default
        self.assertNotIn('href="register"', r.text)
        r = yield fetch(self, self.base + "/pager")
        self.assertIn('<a href="pager" aria-current="page">', r.text)

    @defer.inlineCallbacks
    def test_csrf(self):
        """A post without the visitor's token, or from another site, is refused and sends nothing."""
        yield self.start()
        r = yield fetch(self, self.base + "/pager", dict(FORM, csrf="x" * 32))
        self.assertEqual(r.code, 403)
        cookies = {}
        page = yield fetch(self, self.base + "/pager", cookies=cookies)
        token = cookies["iserverd_csrf"]
        self.assertIn('value="%s"' % (token,), page.text)
        r = yield fetch(self, self.base + "/pager", dict(FORM, csrf=token), cookies=dict(cookies),
                        headers={b"origin": [b"http://evil.example"]})
        self.assertEqual(r.code, 403)
        r = yield fetch(self, self.base + "/pager", dict(FORM, csrf=token), cookies=dict(cookies),
                        headers={b"sec-fetch-site": [b"cross-site"]})
        self.assertEqual(r.code, 403)
        rows = yield self.server.storage.pending_messages(BOB)
        self.assertEqual(rows, [])
        r = yield fetch(self, self.base + "/pager", dict(FORM, csrf=token), cookies=dict(cookies),
                        headers={b"origin": [self.base.encode("ascii")]})
        self.assertEqual(r.code, 200)

    @defer.inlineCallbacks
    def test_connection_caps(self):
        """Connections beyond the per-address cap are closed at once; the web still answers after they go."""
        yield self.start(web_max_per_address=3, web_max_connections=10)
        idle = []
        for _ in range(3):
            idle.append((yield self.connect()))
        extra = yield self.connect()
        yield extra.closed
        self.assertEqual(self.web.site.refused, 1)
        for client in idle:
            client.transport.abortConnection()
            yield client.closed
        r = yield fetch(self, self.base + "/server.json")
        self.assertEqual(r.code, 200)
        self.assertEqual(self.web.site.open, 0)

    @defer.inlineCallbacks
    def test_total_cap(self):
        """The total cap holds whatever the addresses."""
        yield self.start(web_max_per_address=100, web_max_connections=2)
        yield self.connect()
        yield self.connect()
        extra = yield self.connect()
        yield extra.closed
        self.assertEqual(self.web.site.refused, 1)

    @defer.inlineCallbacks
    def test_slow_request_cut_off(self):
        """A client that trickles its headers is cut off at the request deadline."""
        yield self.start(web_request_timeout=5)
        slow = yield self.connect(b"GET /server.json HTTP/1.1\r\nHost: x\r\n")
        self.clock.advance(4)
        slow.transport.write(b"X-Slow: 1\r\n")
        self.assertFalse(slow.closed.called)
        self.clock.advance(1.5)
        yield slow.closed
        self.assertEqual(self.web.site.timed_out, 1)
        # A prompt request on a kept-alive connection is answered and gets a new deadline.
        fast = yield self.connect(b"GET /server.json HTTP/1.1\r\nHost: x\r\n\r\n")
        while b"uptime" not in fast.received:
            yield deferLater(0.01)
        self.assertTrue(fast.received.startswith(b"HTTP/1.1 200 "))
        self.clock.advance(6)
        yield fast.closed

    @defer.inlineCallbacks
    def test_indicator_rate_limit(self):
        """One address gets a burst of 60 indicator lookups, then 429 until its bucket refills."""
        yield self.start(web_indicator_rate=1)
        for _ in range(60):
            r = yield fetch(self, self.base + "/status/%d.json" % BOB)
            self.assertEqual(r.code, 200)
            self.assertEqual(json.loads(r.body)["status"], "offline")
        r = yield fetch(self, self.base + "/status/%d.json" % BOB)
        self.assertEqual(r.code, 429)
        self.clock.advance(2)
        r = yield fetch(self, self.base + "/status/%d.png" % BOB)
        self.assertEqual(r.code, 200)


def deferLater(seconds):
    from twisted.internet import task
    return task.deferLater(reactor, seconds, lambda: None)


class UnitTests(unittest.TestCase):
    """Caps and web sessions without a network."""

    def test_trusted_proxy_counts_only_towards_the_total(self):
        from twisted.internet.address import IPv4Address
        from twisted.internet.task import Clock
        from twisted.web.resource import Resource

        from iserverd.web.safety import WebSite, parse_proxies
        site = WebSite(Resource(), Clock(), max_connections=3, max_per_address=1,
                       proxies=parse_proxies("127.0.0.1"))
        proxy = IPv4Address("TCP", "127.0.0.1", 1000)
        visitor = IPv4Address("TCP", "192.0.2.1", 1000)
        self.assertIsNotNone(site.buildProtocol(proxy))
        self.assertIsNotNone(site.buildProtocol(proxy))
        self.assertIsNotNone(site.buildProtocol(visitor))
        self.assertIsNone(site.buildProtocol(proxy))  # the total
        self.assertEqual((site.open, site.refused), (3, 1))

    def test_sessions_expire_and_rotate(self):
        from twisted.internet.task import Clock

        from iserverd.web.forms import SESSION_COOKIE, WebSessions
        clock = Clock()
        sessions = WebSessions(clock, idle=100, capacity=2)

        class Request:
            def __init__(self, cookie):
                self.received = {SESSION_COOKIE: cookie} if cookie is not None else {}
                self.set = {}

            def getCookie(self, name):
                return self.received.get(name)

            def addCookie(self, name, value, **attributes):
                self.set[name] = (value, attributes)

            def isSecure(self):
                return False

        def request(cookie=None):
            return Request(cookie)

        def issued(r):
            value, attributes = r.set[SESSION_COOKIE]
            self.assertTrue(attributes["httpOnly"])
            self.assertEqual(attributes["sameSite"], "strict")
            return value

        first = request()
        sessions.start(first, 10001)
        token = issued(first)
        self.assertEqual(sessions.uin(request(token)), 10001)
        clock.advance(99)
        self.assertEqual(sessions.uin(request(token)), 10001)  # use renews it
        clock.advance(100)
        self.assertIsNone(sessions.uin(request(token)))
        # A login issues a new cookie and forgets the one it came with.
        again = request()
        sessions.start(again, 10001)
        old = issued(again)
        relogin = request(old)
        sessions.start(relogin, 10001)
        self.assertIsNone(sessions.uin(request(old)))
        self.assertEqual(sessions.uin(request(issued(relogin))), 10001)
        self.assertIsNone(sessions.uin(request(b"x" * 32)))
