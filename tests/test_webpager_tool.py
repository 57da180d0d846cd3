"""
Tests for C{iserverd-webpager} (L{iserverd.admin.webpager}): the data-file
checks, and the tool run as a process against a real server's socket.
"""

import os
import sys

from twisted.internet import defer, protocol, reactor
from twisted.trial import unittest

from iserverd.admin import webpager
from iserverd.codec import v5, wwp
from tests.support import BOB, start_server
from tests.test_webpager import LogWaiter, online, short_tempdir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOOD = b"10002\nalice@example.org\nAlice\n192.0.2.55\nHello from the web\n"


class _Collect(protocol.ProcessProtocol):
    def __init__(self, stdin):
        self.stdin = stdin
        self.out = []
        self.err = []
        self.done = defer.Deferred()

    def connectionMade(self):
        self.transport.write(self.stdin)
        self.transport.closeStdin()

    def outReceived(self, data):
        self.out.append(data)

    def errReceived(self, data):
        self.err.append(data)

    def processEnded(self, reason):
        self.done.callback((b"".join(self.out), b"".join(self.err), reason.value.exitCode))


def run_tool(*args, stdin=b""):
    """
    Run C{python -m iserverd.admin.webpager} without blocking the reactor (the
    server under test runs in it).

    @return: Deferred firing with C{(stdout, stderr, exit status)}.
    """
    collect = _Collect(stdin)
    env = dict(os.environ, PYTHONPATH=ROOT)
    reactor.spawnProcess(collect, sys.executable, [sys.executable, "-m", "iserverd.admin.webpager"] + list(args),
                         env=env, path=ROOT)
    return collect.done.addTimeout(30, reactor)


class DataFileTests(unittest.TestCase):
    """
    The data file (webpager.md section 2) is checked against what the server
    accepts, and every refusal says which line is wrong.
    """

    def parse(self, data, resolve=lambda host: "203.0.113.9"):
        return webpager.parse_data_file(data, resolve)

    def test_good(self):
        """A good file gives the page; body lines get CR LF and trailing blank lines go."""
        page = self.parse(b"10002\nalice@example.org\nAlice\n192.0.2.55\nline one\r\nline two\n\n")
        self.assertEqual(page, wwp.WebPage("192.0.2.55", 10002, b"alice@example.org", b"Alice",
                                           b"line one\r\nline two"))

    def test_host_name(self):
        """A host name is resolved; no address at all is 0.0.0.0."""
        self.assertEqual(self.parse(b"10002\n\n\nwww.example.org\nhi").ip, "203.0.113.9")
        self.assertEqual(self.parse(b"10002\n\n\n\nhi").ip, "0.0.0.0")

    def test_refusals(self):
        """Each bad field, a short or over-long file and an empty message are refused by line."""
        cases = [
            (b"", "needs 5 lines"),
            (b"10002\na\nb\n1.2.3.4", "needs 5 lines"),
            (b"alice\na\nb\n1.2.3.4\nhi", "line 1"),
            (b"1000\na\nb\n1.2.3.4\nhi", "line 1: UIN 1000"),
            (b"1" * 32 + b"\na\nb\n1.2.3.4\nhi", "line 1"),
            (b"10002\n" + b"e" * 64 + b"\nb\n1.2.3.4\nhi", "line 2: the e-mail is 64 bytes, at most 63"),
            (b"10002\na\n" + b"n" * 32 + b"\n1.2.3.4\nhi", "line 3: the name is 32 bytes, at most 31"),
            (b"10002\na\nb\n" + b"h" * 32 + b"\nhi", "line 4"),
            (b"10002\na\nb\n1.2.3.4\n\n\n", "empty"),
            (b"10002\na\nb\n1.2.3.4\n" + b"m" * 450, "450 bytes, at most 449"),
            (b"10002\na\nb\n1.2.3.4\n" + b"m" * 2040, "longer than 2048"),
        ]
        for data, expected in cases:
            e = self.assertRaises(webpager.DataFileError, self.parse, data)
            self.assertIn(expected, str(e), data[:40])

    def test_longest_accepted(self):
        """Fields at their limits are accepted and encode to a datagram the server decodes."""
        data = b"10002\n" + b"e" * 63 + b"\n" + b"n" * 31 + b"\n1.2.3.4\n" + b"m" * 449
        page = self.parse(data)
        self.assertEqual(wwp.decode(wwp.encode(page)), page)


class ToolTests(unittest.TestCase):
    """
    The tool, run as a process, sends to a running server's socket and fails
    clearly otherwise.
    """

    @defer.inlineCallbacks
    def setUp(self):
        self.folder = short_tempdir(self)
        self.path = os.path.join(self.folder, "wwp.sock")
        self.server, self.clock, _ = yield start_server(self, webpager_socket=self.path)
        self.logs = LogWaiter(self)

    def data_file(self, data=GOOD):
        path = os.path.join(self.folder, "message.txt")
        with open(path, "wb") as f:
            f.write(data)
        return path

    @defer.inlineCallbacks
    def test_file_to_online_user(self):
        """A data file sent with --socket reaches the online user; the tool prints 'sent'."""
        bob = yield online(self, self.server, BOB)
        out, err, code = yield run_tool("--socket", self.path, self.data_file())
        self.assertEqual((out, err, code), (b"sent\n", b"", 0))
        got = v5.OnlineMessage.parse((yield bob.wait_command(v5.SRV_ONLINE_MESSAGE)).data)
        self.assertEqual((got.sender, got.msg_type), (1, 0x000D))
        self.assertTrue(got.text.endswith(b"Sender IP: 192.0.2.55\r\nHello from the web"))

    @defer.inlineCallbacks
    def test_stdin_and_config(self):
        """Standard input works, and the socket path is found from the server's config file."""
        conf = os.path.join(self.folder, "iserv.conf")
        with open(conf, "w") as f:
            f.write("[Webpager]\nWWP socket filename = %s\n" % (self.path,))
        out, err, code = yield run_tool("--config", conf, stdin=GOOD)
        self.assertEqual((out, err, code), (b"sent\n", b"", 0))
        self.assertEqual((yield self.logs.wait(1)), ["stored"])

    @defer.inlineCallbacks
    def test_remove(self):
        """--remove deletes the data file, as IServerd's utility did."""
        path = self.data_file()
        out, err, code = yield run_tool("--socket", self.path, "--remove", path)
        self.assertEqual(code, 0)
        self.assertFalse(os.path.exists(path))
        self.assertEqual((yield self.logs.wait(1)), ["stored"])

    @defer.inlineCallbacks
    def test_bad_file(self):
        """A bad data file is one line on stderr, exit status 1, and nothing sent."""
        out, err, code = yield run_tool("--socket", self.path, self.data_file(b"10002\na\nb\n1.2.3.4\n"))
        self.assertEqual((out, code), (b"", 1))
        self.assertEqual(err, b"iserverd-webpager: the message (line 5 on) is empty\n")
        out, err, code = yield run_tool("--socket", self.path, os.path.join(self.folder, "missing"))
        self.assertEqual(code, 1)
        self.assertEqual(err.count(b"\n"), 1)
        self.assertIn(b"cannot read", err)

    @defer.inlineCallbacks
    def test_no_socket(self):
        """No socket at the path is one line and exit status 3."""
        missing = os.path.join(self.folder, "nothing.sock")
        out, err, code = yield run_tool("--socket", missing, self.data_file())
        self.assertEqual((out, code), (b"", 3))
        self.assertEqual(err, ("iserverd-webpager: no webpager socket at %s (is iserverd running?)\n"
                               % (missing,)).encode())

    @defer.inlineCallbacks
    def test_bad_config(self):
        """An unreadable config file is one line and exit status 2."""
        out, err, code = yield run_tool("--config", os.path.join(self.folder, "none.conf"), self.data_file())
        self.assertEqual(code, 2)
        self.assertEqual(err.count(b"\n"), 1)
