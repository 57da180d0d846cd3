"""
Sign-up, own account, who is online and the dashboard over real loopback HTTP
against a real server and database.
"""

import json
import re
from xml.dom import minidom

from twisted.internet import defer
from twisted.trial import unittest

from iserverd.codec import v5
from iserverd.web.charts import line_chart, nice_ceiling
from tests import support
from tests.test_v5_loopback import ALICE, BOB, CAROL
from tests.test_web import fetch, start_web

SIGNUP = {"nick": "newbie", "first": "New", "last": "Person", "email": "new@example.org",
          "password": "secret1", "password2": "secret1"}
XSS = "<script>alert(1)</script>"


class RegisterTests(unittest.TestCase):

    @defer.inlineCallbacks
    def start(self, **settings):
        self.server, self.clock, self.dsn, self.web, self.base = yield start_web(self, **settings)

    @defer.inlineCallbacks
    def test_closed_by_default(self):
        """Without 'Web registration enabled' the page says so and nothing is created."""
        yield self.start()
        r = yield fetch(self, self.base + "/register")
        self.assertEqual(r.code, 404)
        r = yield fetch(self, self.base + "/register", SIGNUP)
        self.assertEqual(r.code, 404)
        self.assertEqual(support.query(self.dsn, "SELECT count(*) FROM users")[0][0], 3)

    @defer.inlineCallbacks
    def test_automatic(self):
        """An automatic sign-up shows the new UIN once, with the details stored and the welcome text waiting."""
        yield self.start(web_registration=True, web_auto_registration=True,
                         post_register_text="Hello %U%!")
        r = yield fetch(self, self.base + "/register", SIGNUP)
        self.assertEqual(r.code, 200, r.text)
        uin = int(re.search(r'id="new-uin">(\d+)<', r.text).group(1))
        self.assertEqual(r.header(b"cache-control"), b"no-store")
        row = support.query(self.dsn, "SELECT nick, first_name, last_name, email FROM users WHERE uin = %s", (uin,))
        self.assertEqual(row, [("newbie", "New", "Person", "new@example.org")])
        messages = yield self.server.storage.pending_messages(uin)
        self.assertEqual([bytes(m.body) for m in messages], [b"Hello %d!" % uin])
        client = yield support.v5_online(self, self.server, uin, b"secret1")
        self.assertIsNotNone(client)

    @defer.inlineCallbacks
    def test_needs_approval(self):
        """Without automatic registration the sign-up waits for the administrator."""
        yield self.start(web_registration=True)
        r = yield fetch(self, self.base + "/register", SIGNUP)
        self.assertEqual(r.code, 200)
        self.assertIn("waiting for approval", r.text)
        requests = yield self.web.directory.registration_requests()
        self.assertEqual([(q.email, q.info["nick"]) for q in requests], [("new@example.org", "newbie")])
        uin = yield self.web.directory.approve_registration(requests[0].id)
        account = yield self.server.storage.get_account(uin)
        self.assertEqual(account.nick, "newbie")

    @defer.inlineCallbacks
    def test_refusals(self):
        """Bad input is refused with reasons (escaped); a second sign-up from one address waits."""
        yield self.start(web_registration=True, web_auto_registration=True)
        cases = [({"password2": "other"}, "differ"), ({"password": "abc", "password2": "abc"}, "4 to 20"),
                 ({"nick": ""}, "Choose a nick"), ({"email": "nope"}, "does not look right"),
                 ({"nick": XSS}, "too long")]
        for change, reason in cases:
            r = yield fetch(self, self.base + "/register", dict(SIGNUP, **change))
            self.assertEqual(r.code, 400, change)
            self.assertIn(reason, r.text)
            self.assertNotIn("<script>", r.text)
        r = yield fetch(self, self.base + "/register", SIGNUP)
        self.assertEqual(r.code, 200)
        r = yield fetch(self, self.base + "/register", dict(SIGNUP, nick="again"))
        self.assertEqual(r.code, 429)
        # The clients' once-a-minute rule, then the web's daily limit per address (3).
        for _ in range(2):
            self.clock.advance(61)
            r = yield fetch(self, self.base + "/register", dict(SIGNUP, nick="again"))
            self.assertEqual(r.code, 200)
        self.clock.advance(61)
        r = yield fetch(self, self.base + "/register", dict(SIGNUP, nick="fourth"))
        self.assertEqual(r.code, 429)
        self.assertEqual(support.query(self.dsn, "SELECT count(*) FROM users")[0][0], 6)


class AccountTests(unittest.TestCase):

    @defer.inlineCallbacks
    def setUp(self):
        self.server, self.clock, self.dsn, self.web, self.base = yield start_web(
            self, login_free_failures=2, login_lockout_failures=4)
        self.cookies = {}

    def post(self, form):
        return fetch(self, self.base + "/account", form, cookies=self.cookies)

    @defer.inlineCallbacks
    def login(self, uin=BOB, password="builder"):
        r = yield self.post({"do": "login", "uin": str(uin), "password": password})
        return r

    @defer.inlineCallbacks
    def test_login_and_status(self):
        """A right password opens the account page with the session cookie; it shows whether one is online."""
        r = yield fetch(self, self.base + "/account", cookies=self.cookies)
        self.assertIn('name="do" value="login"', r.text)
        r = yield self.login()
        self.assertEqual(r.code, 200)
        self.assertIn('id="my-uin">%d<' % BOB, r.text)
        self.assertIn("Offline", r.text)
        cookie = [c for c in r.headers.getRawHeaders(b"set-cookie") if c.startswith(b"iserverd_session=")][0]
        self.assertIn(b"HttpOnly", cookie)
        self.assertIn(b"samesite=strict", cookie.lower())
        yield support.v5_online(self, self.server, BOB, b"builder", status=0x0001)
        r = yield fetch(self, self.base + "/account", cookies=self.cookies)
        self.assertIn("Online (away)", r.text)
        r = yield self.post({"do": "logout"})
        self.assertIn("logged out", r.text)
        r = yield fetch(self, self.base + "/account", cookies=self.cookies)
        self.assertIn('name="do" value="login"', r.text)

    @defer.inlineCallbacks
    def test_wrong_password_throttled(self):
        """Wrong passwords go through the clients' login throttle: soon even the right one must wait."""
        for _ in range(4):
            r = yield self.login(password="guess")
            self.assertIn("Wrong UIN or password", r.text)
            self.clock.advance(30)
        r = yield self.login()
        self.assertEqual(r.code, 429)
        self.assertNotIn("my-uin", r.text)

    @defer.inlineCallbacks
    def test_change_password(self):
        """The account page changes the password (the current one is checked); v5 then takes the new one."""
        yield self.login()
        r = yield self.post({"do": "password", "current": "wrong", "new": "newpass", "new2": "newpass"})
        self.assertEqual(r.code, 400)
        self.assertIn("current password is not right", r.text)
        r = yield self.post({"do": "password", "current": "builder", "new": "newpass", "new2": "newpass"})
        self.assertIn("password has been changed", r.text)
        client = yield support.v5_online(self, self.server, BOB, b"newpass")
        self.assertIsNotNone(client)

    @defer.inlineCallbacks
    def test_change_details(self):
        """Nick, names, e-mail and web awareness are saved; values come back escaped."""
        yield self.login()
        r = yield self.post({"do": "info", "nick": "<b>bob</b>", "first": "Robert", "last": "B",
                             "email": "bob@example.org"})
        self.assertIn("details have been saved", r.text)
        self.assertIn('value="&lt;b&gt;bob&lt;/b&gt;"', r.text)
        self.assertNotIn("<b>bob", r.text)
        row = support.query(self.dsn, "SELECT nick, first_name, email, web_aware FROM users WHERE uin = %s", (BOB,))
        self.assertEqual(row, [("<b>bob</b>", "Robert", "bob@example.org", False)])

    @defer.inlineCallbacks
    def test_web_aware_applies_at_once(self):
        """Turning 'show my status on the web' off hides an online user from the indicator at once."""
        yield support.v5_online(self, self.server, BOB, b"builder")
        r = yield fetch(self, self.base + "/status/%d.json" % BOB)
        self.assertEqual(json.loads(r.body)["status"], "online")
        yield self.login()
        yield self.post({"do": "info", "nick": "bob", "first": "", "last": "", "email": ""})
        r = yield fetch(self, self.base + "/status/%d.json" % BOB)
        self.assertEqual(json.loads(r.body)["status"], "offline")

    @defer.inlineCallbacks
    def test_forms_need_session_and_token(self):
        """Without a session a change asks to log in; without the token it is refused."""
        r = yield self.post({"do": "password", "current": "builder", "new": "x" * 6, "new2": "x" * 6})
        self.assertIn("log in again", r.text)
        yield self.login()
        r = yield fetch(self, self.base + "/account",
                        {"do": "logout", "csrf": "A" * 32}, cookies=self.cookies)
        self.assertEqual(r.code, 403)


class OnlineAndDashboardTests(unittest.TestCase):

    @defer.inlineCallbacks
    def setUp(self):
        self.server, self.clock, self.dsn, self.web, self.base = yield start_web(self, web_online_list=True)

    @defer.inlineCallbacks
    def test_online_list(self):
        """Online users show with nick, UIN and status icon; invisible and not web-aware ones never; nicks escaped."""
        support.query(self.dsn, "UPDATE users SET nick = %s WHERE uin = %s", (XSS, ALICE))
        support.query(self.dsn, "UPDATE users SET web_aware = false WHERE uin = %s", (CAROL,))
        yield support.v5_online(self, self.server, ALICE, b"wonder", status=0x0001)
        yield support.v5_online(self, self.server, BOB, b"builder", status=0x0100)
        yield support.v5_online(self, self.server, CAROL, b"singer")
        r = yield fetch(self, self.base + "/online")
        self.assertEqual(r.code, 200)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", r.text)
        self.assertNotIn(XSS, r.text)
        self.assertIn('<td class="num">%d</td>' % ALICE, r.text)
        self.assertIn('icons/away.png', r.text)
        self.assertNotIn(str(BOB), r.text)
        self.assertNotIn(str(CAROL), r.text)
        self.assertIn('id="online-count">1<', r.text)

    @defer.inlineCallbacks
    def test_online_list_off(self):
        """Off by default: 404, and no link to it."""
        yield self.server.stopService()
        self.server, self.clock, self.dsn, self.web, self.base = yield start_web(self)
        r = yield fetch(self, self.base + "/online")
        self.assertEqual(r.code, 404)

    @defer.inlineCallbacks
    def test_dashboard(self):
        """The dashboard shows the figures and four SVG charts; samples count logins and messages."""
        bob = yield support.v5_online(self, self.server, BOB, b"builder")
        yield support.v5_online(self, self.server, ALICE, b"wonder")
        yield bob.message(ALICE, b"hi")
        self.clock.advance(60)
        r = yield fetch(self, self.base + "/server.json")
        figures = json.loads(r.body)
        self.assertEqual((figures["online"], figures["v5"], figures["v3"]), (2, 2, 0))
        self.assertEqual(figures["logins_per_minute"], 2)
        self.assertGreaterEqual(figures["messages_per_minute"], 1)
        self.assertEqual(figures["database"], "ok")
        r = yield fetch(self, self.base + "/server")
        self.assertIn('src="static/dashboard.js"', r.text)
        for name in ("online", "logins", "messages", "refused"):
            self.assertIn('src="server/%s.svg"' % (name,), r.text)
            chart = yield fetch(self, self.base + "/server/%s.svg" % (name,))
            self.assertEqual(chart.header(b"content-type"), b"image/svg+xml")
            minidom.parseString(chart.body)  # well-formed
        chart = yield fetch(self, self.base + "/server/online.svg")
        self.assertIn(b"<circle", chart.body)  # one sample so far


class ChartTests(unittest.TestCase):

    def test_axis(self):
        self.assertEqual([nice_ceiling(v) for v in (0, 1, 3, 7, 10, 11, 4500)], [1, 1, 5, 10, 10, 20, 5000])

    def test_line_and_gap(self):
        """Points within the day are drawn, older ones left out, a None breaks the line; text is escaped."""
        now = 100000.0
        points = [(now - 90000, 5), (now - 3600, 2), (now - 1800, None), (now - 600, 4), (now - 60, 8)]
        svg = line_chart([points], now, "a <b> & c").decode("utf-8")
        minidom.parseString(svg)
        self.assertIn("a &lt;b&gt; &amp; c", svg)
        self.assertEqual(svg.count("<polyline"), 1)  # the last two points; the lone one is a dot
        self.assertEqual(svg.count("<circle"), 1)
        self.assertIn(">10<", svg)  # the axis top above 8
