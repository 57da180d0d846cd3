"""
The web front over real loopback HTTP against a real server and database:
the web pager, the status indicator, the server status page.
"""

import json
import re
import struct
import zlib
from io import BytesIO
from urllib.parse import urlencode

from twisted.internet import defer, protocol, reactor
from twisted.internet.address import IPv4Address
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.trial import unittest
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers
from twisted.web.test.requesthelper import DummyRequest

from iserverd.codec import v5
from iserverd.web import indicator
from iserverd.web.resources import WebService, duration
from iserverd.web.safety import client_address, parse_proxies
from tests import support
from tests.support import ALICE, BOB, CAROL, start_server
from tests.test_webpager import online

FORM = {"uin": "10002", "name": "Alice", "email": "alice@example.org", "msg": "Hi\r\nthere"}


@defer.inlineCallbacks
def start_web(testcase, **settings):
    """
    A server with the web front on a free loopback port.

    @return: Deferred firing with C{(server, clock, dsn, web service, base url)}.
    """
    server, clock, dsn = yield start_server(testcase, **settings)
    web = WebService(server.network, server.storage, server.config, reactor, clock=clock,
                     port=0, interface="127.0.0.1", gate=server.protocol.gate)
    web.setServiceParent(server)
    return server, clock, dsn, web, "http://127.0.0.1:%d" % (web.http_port,)


class Response:
    def __init__(self, code, headers, body):
        self.code = code
        self.headers = headers
        self.body = body

    def header(self, name):
        values = self.headers.getRawHeaders(name)
        return values[0] if values else None

    @property
    def text(self):
        return self.body.decode("utf-8")


TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


@defer.inlineCallbacks
def fetch(testcase, url, form=None, method=None, headers=None, cookies=None):
    """
    One request over a fresh connection; a C{form} is POSTed url-encoded.
    A form without a C{csrf} field gets the token (and its cookie) of the
    page at the same URL first, as a browser would have them.

    @param cookies: a dict of cookies to send, updated with those set.
    """
    cookies = {} if cookies is None else cookies
    if form is not None and "csrf" not in form:
        page = yield fetch(testcase, url, cookies=cookies)
        found = TOKEN.search(page.text)
        if found:
            form = dict(form, csrf=found.group(1))
    pool = HTTPConnectionPool(reactor, persistent=False)
    agent = Agent(reactor, pool=pool)
    all_headers = Headers(headers or {})
    if cookies:
        all_headers.setRawHeaders(b"cookie", ["; ".join("%s=%s" % kv for kv in cookies.items()).encode("ascii")])
    body = None
    if form is not None:
        all_headers.setRawHeaders(b"content-type", [b"application/x-www-form-urlencoded"])
        body = FileBodyProducer(BytesIO(urlencode(form).encode("utf-8")))
    method = method or (b"POST" if form is not None else b"GET")
    response = yield agent.request(method, url.encode("ascii"), all_headers, body)
    data = yield readBody(response)
    for line in response.headers.getRawHeaders(b"set-cookie") or ():
        name, _, rest = line.decode("ascii").partition("=")
        value = rest.split(";", 1)[0]
        if value:
            cookies[name] = value
        else:
            cookies.pop(name, None)
    return Response(response.code, response.headers, data)


class _Raw(protocol.Protocol):
    """Sends bytes and collects the answer until the server closes."""

    def __init__(self, request):
        self.request = request
        self.data = b""
        self.closed = defer.Deferred()

    def connectionMade(self):
        self.transport.write(self.request)

    def dataReceived(self, data):
        self.data += data

    def connectionLost(self, reason):
        self.closed.callback(self.data)


class PagerTests(unittest.TestCase):
    """
    The web pager form sends web-panel messages like the webpager socket does.
    """

    @defer.inlineCallbacks
    def setUp(self):
        self.server, self.clock, self.dsn, _, self.base = yield start_web(self)

    def offline_messages(self):
        rows = support.query(self.dsn, "SELECT to_uin, from_uin, msg_type, body FROM offline_messages ORDER BY id")
        return [(r[0], r[1], r[2], bytes(r[3])) for r in rows]

    @defer.inlineCallbacks
    def test_form(self):
        """GET shows the form, POSTing to itself, with a numeric ?uin= filled in and anything else not."""
        r = yield fetch(self, self.base + "/pager?uin=10002")
        self.assertEqual(r.code, 200)
        self.assertEqual(r.header(b"content-type"), b"text/html; charset=utf-8")
        self.assertIn('<form method="post" action="pager"', r.text)
        self.assertIn('name="uin" value="10002"', r.text)
        for field in ("name", "email", "msg"):
            self.assertIn('name="%s"' % field, r.text)
        r = yield fetch(self, self.base + "/pager?uin=%22%3E%3Cscript%3E")
        self.assertIn('name="uin" value=""', r.text)

    @defer.inlineCallbacks
    def test_delivered_online(self):
        """A POST reaches the online user as type 0x000D from UIN 1 with the sender's details."""
        bob = yield online(self, self.server, BOB)
        r = yield fetch(self, self.base + "/pager", FORM)
        self.assertEqual(r.code, 200)
        self.assertIn("has been sent", r.text)
        got = v5.OnlineMessage.parse((yield bob.wait_command(v5.SRV_ONLINE_MESSAGE)).data)
        self.assertEqual((got.sender, got.msg_type), (1, 0x000D))
        self.assertEqual(got.text, b"Alice\xfe\xfe\xfealice@example.org\xfe3\xfe"
                                   b"Sender IP: 127.0.0.1\r\nHi\r\nthere")

    @defer.inlineCallbacks
    def test_stored_reads_the_same(self):
        """For an offline user the message is stored, and the page says the same as for an online one."""
        r = yield fetch(self, self.base + "/pager", dict(FORM, msg="later"))
        self.assertEqual(r.code, 200)
        self.assertIn("has been sent", r.text)
        self.assertEqual(self.offline_messages(),
                         [(BOB, 1, 0x000D, b"Alice\xfe\xfe\xfealice@example.org\xfe3\xfe"
                                           b"Sender IP: 127.0.0.1\r\nlater")])

    @defer.inlineCallbacks
    def test_unknown_uin(self):
        """A UIN without an account is a 404 page and nothing is stored."""
        r = yield fetch(self, self.base + "/pager", dict(FORM, uin="55555"))
        self.assertEqual(r.code, 404)
        self.assertIn("55555", r.text)
        self.assertEqual(self.offline_messages(), [])

    @defer.inlineCallbacks
    def test_post_only(self):
        """A GET with the fields sends nothing; other methods are refused."""
        yield fetch(self, self.base + "/pager?" + urlencode(FORM))
        r = yield fetch(self, self.base + "/pager", method=b"PUT")
        self.assertEqual(r.code, 501)  # twisted.web: a method no page of the site serves
        r = yield fetch(self, self.base + "/server", FORM)
        self.assertEqual(r.code, 405)
        self.assertEqual(self.offline_messages(), [])

    @defer.inlineCallbacks
    def test_escaped(self):
        """What a visitor typed comes back HTML-escaped in the refusal page."""
        r = yield fetch(self, self.base + "/pager",
                        {"uin": "<b>1</b>", "name": "<script>x</script>", "email": "\"'&", "msg": "</textarea><i>"})
        self.assertEqual(r.code, 400)
        self.assertNotIn("<script>", r.text)
        self.assertNotIn("<i>", r.text)
        self.assertNotIn("<b>1", r.text)
        self.assertIn("&lt;script&gt;x&lt;/script&gt;", r.text)
        self.assertIn("&quot;&#x27;&amp;", r.text)
        self.assertIn("&lt;/textarea&gt;&lt;i&gt;", r.text)

    @defer.inlineCallbacks
    def test_limits(self):
        """Over-long name, e-mail and message, an empty message and a bad UIN are refused with reasons."""
        cases = [
            ({"name": "n" * 32}, "name is too long"),
            ({"email": "e" * 64}, "e-mail is too long"),
            ({"msg": "m" * 450}, "message is too long"),
            ({"msg": "  "}, "message is empty"),
            ({"uin": "1000"}, "at least 1001"),
            ({"uin": "99999999999"}, "at least 1001"),
        ]
        for change, reason in cases:
            r = yield fetch(self, self.base + "/pager", dict(FORM, **change))
            self.assertEqual(r.code, 400, change)
            self.assertIn(reason, r.text)
        # The longest message that fits one packet with this header goes through.
        room = 450 - len(b"Alice\xfe\xfe\xfealice@example.org\xfe3\xfeSender IP: 127.0.0.1\r\n")
        r = yield fetch(self, self.base + "/pager", dict(FORM, msg="m" * room))
        self.assertEqual(r.code, 200)
        self.assertEqual(len(self.offline_messages()[0][3]), 450)

    @defer.inlineCallbacks
    def test_charset(self):
        """UTF-8 from the browser is sent in the client charset; what it lacks becomes '?'."""
        yield fetch(self, self.base + "/pager", dict(FORM, name="Zoë", msg="café ☕"))
        body = self.offline_messages()[0][3]
        self.assertTrue(body.startswith(b"Zo\xeb\xfe"))
        self.assertTrue(body.endswith(b"caf\xe9 ?"))

    @defer.inlineCallbacks
    def test_rate_limit(self):
        """One address gets 5 messages at once, then 429 until the clock refills its bucket."""
        yield self.server.stopService()
        self.server, self.clock, self.dsn, _, self.base = yield start_web(
            self, web_trusted_proxies="127.0.0.1")
        for _ in range(5):
            r = yield fetch(self, self.base + "/pager", FORM)
            self.assertEqual(r.code, 200)
        r = yield fetch(self, self.base + "/pager", dict(FORM, uin=str(CAROL)))
        self.assertEqual(r.code, 429)
        self.assertEqual(r.header(b"retry-after"), b"60")
        # Behind a trusted reverse proxy the visitor is the last X-Forwarded-For entry.
        r = yield fetch(self, self.base + "/pager", dict(FORM, uin=str(CAROL)),
                        headers={b"x-forwarded-for": [b"203.0.113.1, 198.51.100.7"]})
        self.assertEqual(r.code, 200)
        self.clock.advance(10)
        r = yield fetch(self, self.base + "/pager", dict(FORM, uin=str(ALICE)))
        self.assertEqual(r.code, 200)
        self.assertIn(b"Sender IP: 198.51.100.7\r\n", self.offline_messages()[5][3])
        self.assertEqual(len(self.offline_messages()), 7)

    @defer.inlineCallbacks
    def test_large_body_refused(self):
        """A request body larger than 16 KiB gets 413 and is not read."""
        request = (b"POST /pager HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                   b"Content-Length: 20000\r\n\r\nuin=10002&msg=" + b"m" * 100)
        port = int(self.base.rsplit(":", 1)[1])
        raw = _Raw(request)
        yield connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), raw)
        answer = yield raw.closed
        self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), answer)
        self.assertEqual(self.offline_messages(), [])


class StatusTests(unittest.TestCase):
    """
    The status indicator and the server status page.
    """

    @defer.inlineCallbacks
    def setUp(self):
        self.server, self.clock, self.dsn, _, self.base = yield start_web(self)

    @defer.inlineCallbacks
    def status(self, uin):
        r = yield fetch(self, self.base + "/status/%d.json" % uin)
        self.assertEqual(r.code, 200)
        self.assertEqual(r.header(b"content-type"), b"application/json")
        value = json.loads(r.body)
        self.assertEqual(value["uin"], uin)
        return value["status"]

    @defer.inlineCallbacks
    def test_statuses(self):
        """Online, away, invisible, offline and unknown UINs show as such."""
        bob = yield online(self, self.server, BOB)
        self.assertEqual((yield self.status(BOB)), "online")
        yield bob.status(0x0001)
        self.assertEqual((yield self.status(BOB)), "away")
        yield bob.status(0x0013)
        self.assertEqual((yield self.status(BOB)), "dnd")
        yield bob.status(0x0100)
        self.assertEqual((yield self.status(BOB)), "offline")
        self.assertEqual((yield self.status(ALICE)), "offline")
        # A UIN nobody has looks like an offline one: no account enumeration.
        self.assertEqual((yield self.status(55555)), "offline")

    @defer.inlineCallbacks
    def test_web_aware_off(self):
        """A user who turned web aware off is offline to the web, online or not."""
        support.query(self.dsn, "UPDATE users SET web_aware = false WHERE uin = %s", (CAROL,))
        self.assertEqual((yield self.status(CAROL)), "offline")
        yield online(self, self.server, CAROL)
        self.assertEqual((yield self.status(CAROL)), "offline")

    @defer.inlineCallbacks
    def test_image(self):
        """The .png form is the status's image, marked not to be cached; a bad name is 404."""
        yield online(self, self.server, BOB)
        r = yield fetch(self, self.base + "/status/%d.png" % BOB)
        self.assertEqual((r.code, r.header(b"content-type")), (200, b"image/png"))
        self.assertEqual(r.body, indicator.IMAGES["online"])
        self.assertIn(b"no-cache", r.header(b"cache-control"))
        r = yield fetch(self, self.base + "/status/%d.png" % ALICE)
        self.assertEqual(r.body, indicator.IMAGES["offline"])
        for bad in ("abc.png", "10002.gif", "10002", "0.png"):
            r = yield fetch(self, self.base + "/status/" + bad)
            self.assertEqual(r.code, 404, bad)

    @defer.inlineCallbacks
    def test_server_status(self):
        """The status page counts online users and shows the uptime from the injected clock."""
        yield online(self, self.server, BOB)
        yield online(self, self.server, ALICE)
        r = yield fetch(self, self.base + "/server.json")
        figures = json.loads(r.body)
        self.assertEqual((figures["online"], figures["uptime"]), (2, 0))
        self.clock.advance(3725)
        r = yield fetch(self, self.base + "/server")
        self.assertEqual(r.code, 200)
        self.assertIn('id="uptime">01:02:05<', r.text)

    @defer.inlineCallbacks
    def test_index(self):
        """The front page links to the pager and the status page."""
        r = yield fetch(self, self.base + "/")
        self.assertEqual(r.code, 200)
        self.assertIn('href="pager"', r.text)
        self.assertIn('href="server"', r.text)


class UnitTests(unittest.TestCase):
    """
    The pure parts: images, durations, the visitor's address.
    """

    def test_png(self):
        """Each image is a valid 16x16 RGBA PNG with correct CRCs and its colour in the middle."""
        for name, colour in indicator.COLOURS.items():
            data = indicator.IMAGES[name]
            self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
            pos, chunks = 8, {}
            while pos < len(data):
                (length,) = struct.unpack(">I", data[pos:pos + 4])
                kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
                (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
                self.assertEqual(crc, zlib.crc32(kind + body))
                chunks[kind] = body
                pos += 12 + length
            self.assertEqual(struct.unpack(">IIBBBBB", chunks[b"IHDR"]), (16, 16, 8, 6, 0, 0, 0))
            raw = zlib.decompress(chunks[b"IDAT"])
            self.assertEqual(len(raw), 16 * (1 + 16 * 4))
            row = raw[8 * 65:9 * 65]
            self.assertEqual(tuple(row[1 + 8 * 4:1 + 8 * 4 + 4]), colour + (255,))
            self.assertEqual(tuple(row[1:5]), (0, 0, 0, 0))

    def test_status_bits(self):
        """The most restrictive status bit wins."""
        self.assertEqual(indicator.status_name(0x0000), "online")
        self.assertEqual(indicator.status_name(0x0020), "free_for_chat")
        self.assertEqual(indicator.status_name(0x0005), "na")
        self.assertEqual(indicator.status_name(0x0011), "occupied")
        self.assertEqual(indicator.status_name(0x0013), "dnd")

    def test_duration(self):
        """Uptimes read as days and a clock."""
        self.assertEqual(duration(59), "00:00:59")
        self.assertEqual(duration(90061), "1 day, 01:01:01")
        self.assertEqual(duration(3 * 86400), "3 days, 00:00:00")

    def test_client_address(self):
        """X-Forwarded-For counts only from a trusted proxy, read from the right past trusted entries."""
        def address(peer, forwarded=None, proxies=""):
            request = DummyRequest([b""])
            request.client = IPv4Address("TCP", peer, 5000)
            if forwarded is not None:
                request.requestHeaders.setRawHeaders(b"x-forwarded-for", [forwarded])
            return client_address(request, parse_proxies(proxies))

        self.assertEqual(address("192.0.2.1"), "192.0.2.1")
        self.assertEqual(address("192.0.2.1", b"198.51.100.7"), "192.0.2.1")
        # No proxy is trusted by default, not even one on loopback.
        self.assertEqual(address("127.0.0.1", b"10.0.0.1, 198.51.100.7"), "127.0.0.1")
        self.assertEqual(address("127.0.0.1", b"10.0.0.1, 198.51.100.7", "127.0.0.1"), "198.51.100.7")
        self.assertEqual(address("127.0.0.1", b"unknown", "127.0.0.1"), "127.0.0.1")
        # A chain of trusted proxies: the first untrusted entry from the right.
        self.assertEqual(address("10.0.0.2", b"6.6.6.6, 198.51.100.7, 10.0.0.9", "127.0.0.1, 10.0.0.0/8"),
                         "198.51.100.7")
        self.assertEqual(address("192.0.2.1", b"198.51.100.7", "127.0.0.1"), "192.0.2.1")


class SettingsTests(unittest.TestCase):
    """
    The web front's settings: off by default, on with --http-port or the config file.
    """

    def test_defaults(self):
        """By default the web front is off and would bind loopback only."""
        from iserverd import config
        settings = config.load()
        self.assertEqual((settings.http_port, settings.http_interface), (0, "127.0.0.1"))

    def test_command_line_and_file(self):
        """--http-port and the 'HTTP port' / 'HTTP interface' keys set it; a bad port is one line."""
        from twisted.python import usage

        from iserverd import tap
        options = tap.ServerOptions()
        options.parseOptions(["--http-port", "8080"])
        self.assertEqual(options["settings"].http_port, 8080)
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("HTTP port = 8081\nHTTP interface = 0.0.0.0\n")
        options = tap.ServerOptions()
        options.parseOptions(["--config", path])
        self.assertEqual((options["settings"].http_port, options["settings"].http_interface), (8081, "0.0.0.0"))
        e = self.assertRaises(usage.UsageError, tap.ServerOptions().parseOptions, ["--http-port", "http"])
        self.assertIn("HTTP port", str(e))

    def test_trusted_proxies(self):
        """'Web trusted proxies' takes addresses and networks; anything else is one line at start."""
        from iserverd import config
        settings = config.load(None, {"web_trusted_proxies": "127.0.0.1, 10.0.0.0/8"})
        self.assertEqual(parse_proxies(settings.web_trusted_proxies)[1].num_addresses, 2 ** 24)
        self.assertEqual(config.load().web_trusted_proxies, "")
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("Web trusted proxies = 127.0.0.1, proxy.example\n")
        e = self.assertRaises(config.ConfigError, config.load, path)
        self.assertIn("Web trusted proxies", str(e))
        self.assertEqual(len(str(e).splitlines()), 1)
