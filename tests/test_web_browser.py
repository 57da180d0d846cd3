"""
The web pager in a real headless browser: Chromium loads a helper page that
opens the real pager form in a frame, fills it in and submits it, as a person
would; the target's v5 test client must receive the message.

No WebDriver is needed: C{--dump-dom} prints the page once its scripts are
done, and C{--virtual-time-budget} makes Chromium wait for the frame's form
submission before printing.  Chromium must be installed (Debian: the
C{chromium} package); without it this test fails rather than skips, so CI
cannot pass without running it.
"""

import os
import re
import shutil
import tempfile

from twisted.internet import defer, protocol, reactor
from twisted.trial import unittest
from twisted.web.resource import Resource
from twisted.web.static import Data

from iserverd.codec import v5
from tests import support
from tests.support import ALICE, BOB, CAROL
from tests.test_web import start_web
from tests.test_webpager import online

BROWSER_TIMEOUT = 90

# Fills the framed form the way a visitor would and, once the frame shows the
# answer, copies its text out where --dump-dom prints it.  The script is a
# file of its own: the site's Content-Security-Policy allows no inline script.
HELPER = b"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>pager test</title>
<link rel="stylesheet" href="/t/helper.css"></head><body>
<pre id="result">waiting</pre>
<script src="/autopager.js"></script>
</body></html>
"""

HELPER_SCRIPT = b"""
var loads = 0;
var frame = document.createElement("iframe");
frame.src = "/pager?uin=10002";
frame.addEventListener("load", function () {
  try { step(this.contentDocument); } catch (e) {
    document.getElementById("result").textContent = "error: " + e;
  }
});
function step(doc) {
  loads += 1;
  if (loads === 1) {
    var form = doc.querySelector("form");
    form.elements.name.value = "Browser Tester";
    form.elements.email.value = "tester@example.org";
    form.elements.msg.value = "Typed in Chromium\\nsecond line";
    form.querySelector("button[type=submit]").click();
  } else {
    document.getElementById("result").textContent = "answer: " + doc.body.textContent;
  }
}
document.body.appendChild(frame);
"""


def find_chromium():
    """The browser to drive: C{$CHROMIUM}, else the first Chromium on the PATH."""
    candidates = [os.environ.get("CHROMIUM")] + ["chromium", "chromium-browser", "google-chrome"]
    for name in candidates:
        if name and shutil.which(name):
            return shutil.which(name)
    return None


class _Output(protocol.ProcessProtocol):
    def __init__(self):
        self.out = []
        self.err = []
        self.ended = defer.Deferred()

    def outReceived(self, data):
        self.out.append(data)

    def errReceived(self, data):
        self.err.append(data)

    def processEnded(self, reason):
        self.ended.callback((b"".join(self.out), b"".join(self.err), reason.value.exitCode))


def dump_dom(testcase, browser, url, screenshot=None, size=(1100, 1000), dark=False):
    """
    Load C{url} in headless Chromium without blocking the reactor (it serves
    the page); fire with the printed DOM.  A browser that hangs is killed.

    @param screenshot: also save the final page as this PNG file name (see
        L{save_screenshot}).
    """
    home = tempfile.mkdtemp(prefix="iserverd-chromium-")
    testcase.addCleanup(shutil.rmtree, home, True)
    args = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--user-data-dir=" + os.path.join(home, "profile"),
        "--virtual-time-budget=15000", "--hide-scrollbars", "--window-size=%d,%d" % size,
    ]
    if dark:
        args.append("--force-dark-mode")
    if screenshot is not None:
        args.append("--screenshot=" + os.path.join(home, "shot.png"))
    args += ["--dump-dom", url]
    output = _Output()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home}
    process = reactor.spawnProcess(output, browser, args, env=env)

    def hung(failure):
        failure.trap(defer.TimeoutError)
        try:
            process.signalProcess("KILL")
        except Exception:
            pass
        return failure

    def shot(result):
        if screenshot is not None:
            save_screenshot(testcase, os.path.join(home, "shot.png"), screenshot)
        return result

    return output.ended.addTimeout(BROWSER_TIMEOUT, reactor).addErrback(hung).addCallback(shot)


def save_screenshot(testcase, path, name):
    """
    Check that Chromium wrote a PNG; with C{ISERVERD_SCREENSHOTS} set to a
    folder (the README's pictures: C{docs/screenshots}), keep it there as C{name}.
    """
    with open(path, "rb") as f:
        data = f.read()
    testcase.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
    folder = os.environ.get("ISERVERD_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        shutil.copyfile(path, os.path.join(folder, name))


# The frame fills the window, so a screenshot of the helper shows the page.
HELPER_CSS = b"""html, body { margin: 0; height: 100%; }
iframe { border: 0; width: 100%; height: 100%; display: block; }
#result { display: none; }
"""

# Runs the test's STEPS, one per page the frame loads, then copies the last
# page's text (and the test's own RESULT(doc), when it has one) out.
DRIVER = b"""
var frame = document.createElement("iframe");
var step = 0;
function report(text) { document.getElementById("result").textContent = text; }
frame.src = document.body.getAttribute("data-start");
frame.addEventListener("load", function () {
  try {
    var doc = frame.contentDocument;
    if (step < STEPS.length) { STEPS[step++](doc); return; }
    var extra = typeof RESULT === "function" ? RESULT(doc) : "";
    report("answer: " + doc.body.textContent + " | " + extra);
  } catch (e) { report("error: " + e); }
});
document.body.appendChild(frame);
"""


def helpers(web):
    root = web.site.resource
    if b"t" not in root.children:
        folder = Resource()
        folder.putChild(b"helper.css", Data(HELPER_CSS, "text/css"))
        folder.putChild(b"driver.js", Data(DRIVER, "text/javascript"))
        root.putChild(b"t", folder)
    return root.children[b"t"]


def driven(web, name, start, steps):
    """
    C{/t/NAME.html}: the page at C{start} in a frame, driven by C{steps}
    (JavaScript defining C{STEPS}, a list of functions each given the frame's
    document after a load, and optionally C{RESULT(doc)}).
    """
    folder = helpers(web)
    page = (b'<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/t/helper.css">'
            b'</head><body data-start="' + start.encode("ascii") + b'"><pre id="result">waiting</pre>'
            b'<script src="/t/' + name.encode("ascii") + b'.js"></script><script src="/t/driver.js"></script>'
            b'</body></html>')
    folder.putChild(name.encode("ascii") + b".html", Data(page, "text/html; charset=utf-8"))
    folder.putChild(name.encode("ascii") + b".js", Data(steps.encode("utf-8"), "text/javascript"))
    return "/t/%s.html" % (name,)


def answer(testcase, dom, err, code):
    """The text the driver copied out of the frame's last page."""
    testcase.assertEqual(code, 0, err[-2000:])
    text = dom.decode("utf-8")
    testcase.assertIn("answer: ", text, text[-2000:])
    return text


class BrowserTests(unittest.TestCase):
    """
    A visitor using a real browser pages an online user.
    """

    @defer.inlineCallbacks
    def test_browser_fills_form(self):
        """Chromium fills and submits the pager form; the online target receives the message."""
        browser = find_chromium()
        if browser is None:
            self.fail("Chromium is not installed (apt-get install chromium); this test needs it")
        server, _, _, web, base = yield start_web(self)
        web.site.resource.putChild(b"autopager", Data(HELPER, "text/html; charset=utf-8"))
        web.site.resource.putChild(b"autopager.js", Data(HELPER_SCRIPT, "text/javascript"))
        helpers(web)
        bob = yield online(self, server, BOB)
        dom, err, code = yield dump_dom(self, browser, base + "/autopager", screenshot="pager-sent.png", size=(900, 500))
        self.assertEqual(code, 0, err[-2000:])
        self.assertIn(b"answer: ", dom)
        self.assertIn(b"\nMessage sent\n", dom)  # the page's heading, after the navigation bar
        self.assertIn(b"Your message to UIN 10002 has been sent.", dom)
        got = v5.OnlineMessage.parse((yield bob.wait_command(v5.SRV_ONLINE_MESSAGE)).data)
        self.assertEqual((got.sender, got.msg_type), (1, 0x000D))
        self.assertEqual(got.text, b"Browser Tester\xfe\xfe\xfetester@example.org\xfe3\xfe"
                                   b"Sender IP: 127.0.0.1\r\nTyped in Chromium\r\nsecond line")


SIGNUP_STEPS = """
var STEPS = [function (doc) {
  var form = doc.querySelector("form");
  form.elements.nick.value = "Chromie";
  form.elements.first.value = "Chrome";
  form.elements.last.value = "Headless";
  form.elements.email.value = "chromie@example.org";
  form.elements.password.value = "browse1";
  form.elements.password2.value = "browse1";
  form.querySelector("button[type=submit]").click();
}];
function RESULT(doc) { var uin = doc.getElementById("new-uin"); return "uin=" + (uin ? uin.textContent : "none"); }
"""

ACCOUNT_STEPS = """
var STEPS = [function (doc) {
  var form = doc.querySelector("form");
  form.elements.uin.value = "10002";
  form.elements.password.value = "builder";
  form.querySelector("button[type=submit]").click();
}, function (doc) {
  var form = doc.querySelector("input[name=do][value=password]").form;
  form.elements.current.value = "builder";
  form.elements["new"].value = "clicked9";
  form.elements.new2.value = "clicked9";
  form.querySelector("button[type=submit]").click();
}];
"""

DASHBOARD_STEPS = """
var STEPS = [];
function RESULT(doc) {
  var charts = doc.querySelectorAll("img[data-chart]"), drawn = 0;
  for (var i = 0; i < charts.length; i++) { if (charts[i].complete && charts[i].naturalWidth > 0) drawn++; }
  return "charts=" + charts.length + " drawn=" + drawn;
}
"""


def fill_day(stats, now):
    """A plausible day of samples, so the charts have something to show."""
    import math

    from iserverd.web.dashboard import Sample
    stats.samples.clear()
    for minute in range(24 * 60):
        at = now - (24 * 60 - minute) * 60
        wave = (1 - math.cos(2 * math.pi * minute / 1440.0)) / 2  # quiet at night, busy in the evening
        online = int(20 + 180 * wave + 15 * math.sin(minute / 17.0))
        stats.samples.append(Sample(
            at=at, online=online, v3=online // 6, v5=online - online // 6, oscar=0,
            logins=int(2 + 10 * wave + 3 * math.sin(minute / 40.0) ** 2),
            messages=int(5 + 60 * wave + 20 * math.sin(minute / 55.0) ** 2),
            busy=int(40 * math.exp(-((minute - 900) / 20.0) ** 2)),
            throttled=int(6 * math.exp(-((minute - 400) / 10.0) ** 2)), db_ms=1.5))


class PageTests(unittest.TestCase):
    """
    The sign-up, account, online and dashboard pages in a real browser, with
    a screenshot of each.
    """

    @defer.inlineCallbacks
    def setUp(self):
        self.browser = find_chromium()
        if self.browser is None:
            self.fail("Chromium is not installed (tests/prepare installs it); this test needs it")
        self.server, self.clock, _, self.web, self.base = yield start_web(
            self, web_registration=True, web_auto_registration=True, web_online_list=True,
            web_name="RetroNet", web_text="Our own ICQ network, since 1999.")

    @defer.inlineCallbacks
    def test_signup_then_v5_login(self):
        """A visitor signs up in Chromium; the UIN shown logs in over v5 with the chosen password."""
        url = driven(self.web, "signup", "/register", SIGNUP_STEPS)
        text = answer(self, *(yield dump_dom(self, self.browser, self.base + url, screenshot="register.png",
                                             size=(900, 760))))
        uin = int(re.search(r"uin=(\d+)", text).group(1))
        self.assertIn("Your new UIN is", text)
        client = yield support.v5_online(self, self.server, uin, b"browse1")
        self.assertIsNotNone(client)

    @defer.inlineCallbacks
    def test_account_changes_password(self):
        """A user logs in on the account page and changes the password; v5 then accepts the new one."""
        url = driven(self.web, "account", "/account", ACCOUNT_STEPS)
        text = answer(self, *(yield dump_dom(self, self.browser, self.base + url, screenshot="account.png",
                                             size=(1000, 900))))
        self.assertIn("Your password has been changed.", text)
        client = yield support.v5_online(self, self.server, BOB, b"clicked9")
        self.assertIsNotNone(client)

    @defer.inlineCallbacks
    def test_online_list_escapes_and_hides(self):
        """The online list shows a logged-in client (its script-like nick as text) and hides an invisible one."""
        yield self.server.storage.run_operation("UPDATE users SET nick = %s WHERE uin = %s",
                                                ("<img src=x onerror=alert(1)>", ALICE))
        yield self.server.storage.run_operation("UPDATE users SET nick = %s WHERE uin = %s", ("Bob", BOB))
        yield support.v5_online(self, self.server, ALICE, b"wonder", status=0x0001)
        yield support.v5_online(self, self.server, BOB, b"builder")
        yield support.v5_online(self, self.server, CAROL, b"singer", status=0x0100)
        dom, err, code = yield dump_dom(self, self.browser, self.base + "/online", screenshot="online.png",
                                        size=(900, 520))
        self.assertEqual(code, 0, err[-2000:])
        self.assertIn(b"&lt;img src=x onerror=alert(1)&gt;", dom)  # shown as text, not made an element
        self.assertNotIn(b"<img src=\"x\"", dom)
        self.assertIn(b">10001<", dom)
        self.assertIn(b">Bob<", dom)
        self.assertNotIn(b">10003<", dom)

    @defer.inlineCallbacks
    def test_dashboard_draws_charts(self):
        """The dashboard's four SVG charts load and draw in Chromium (and the home page renders)."""
        fill_day(self.web.stats, self.clock.seconds())
        yield support.v5_online(self, self.server, BOB, b"builder")
        yield support.v3_online(self, self.server, CAROL, b"singer")
        url = driven(self.web, "dashboard", "/server", DASHBOARD_STEPS)
        text = answer(self, *(yield dump_dom(self, self.browser, self.base + url, screenshot="server.png",
                                             size=(1100, 1250))))
        self.assertIn("charts=4 drawn=4", text)
        self.assertIn("Users online", text)
        self.assertIn("ICQ v3", text)
        dom, err, code = yield dump_dom(self, self.browser, self.base + url, screenshot="server-dark.png",
                                        size=(1100, 1250), dark=True)
        self.assertIn(b"drawn=4", dom)
        dom, err, code = yield dump_dom(self, self.browser, self.base + "/", screenshot="home.png",
                                        size=(1000, 760))
        self.assertIn(b"Our own ICQ network, since 1999.", dom)
        # The pager form on a phone's screen.
        dom, err, code = yield dump_dom(self, self.browser, self.base + "/pager?uin=10002", screenshot="pager-phone.png",
                                        size=(390, 760))
        self.assertIn(b'name="msg"', dom)
