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
import shutil
import tempfile

from twisted.internet import defer, protocol, reactor
from twisted.trial import unittest
from twisted.web.static import Data

from iserverd.codec import v5
from tests.support import BOB
from tests.test_web import start_web
from tests.test_webpager import online

BROWSER_TIMEOUT = 90

# Fills the framed form the way a visitor would and, once the frame shows the
# answer, copies its text out where --dump-dom prints it.  The script is a
# file of its own: the site's Content-Security-Policy allows no inline script.
HELPER = b"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>pager test</title></head><body>
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


def dump_dom(testcase, browser, url):
    """
    Load C{url} in headless Chromium without blocking the reactor (it serves
    the page); fire with the printed DOM.  A browser that hangs is killed.
    """
    home = tempfile.mkdtemp(prefix="iserverd-chromium-")
    testcase.addCleanup(shutil.rmtree, home, True)
    args = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--user-data-dir=" + os.path.join(home, "profile"),
        "--virtual-time-budget=15000", "--dump-dom", url,
    ]
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

    return output.ended.addTimeout(BROWSER_TIMEOUT, reactor).addErrback(hung)


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
        bob = yield online(self, server, BOB)
        dom, err, code = yield dump_dom(self, browser, base + "/autopager")
        self.assertEqual(code, 0, err[-2000:])
        self.assertIn(b"answer: ", dom)
        self.assertIn(b"\nMessage sent\n", dom)  # the page's heading, after the navigation bar
        self.assertIn(b"Your message to UIN 10002 has been sent.", dom)
        got = v5.OnlineMessage.parse((yield bob.wait_command(v5.SRV_ONLINE_MESSAGE)).data)
        self.assertEqual((got.sender, got.msg_type), (1, 0x000D))
        self.assertEqual(got.text, b"Browser Tester\xfe\xfe\xfetester@example.org\xfe3\xfe"
                                   b"Sender IP: 127.0.0.1\r\nTyped in Chromium\r\nsecond line")
