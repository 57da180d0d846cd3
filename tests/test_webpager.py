"""
The webpager socket end to end: a real server on a fresh PostgreSQL database,
a real UNIX datagram socket, and v5 test clients receiving the messages.
"""

import grp
import os
import shutil
import socket
import stat
import tempfile

from twisted.internet import defer, reactor, task
from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.trial import unittest

from iserverd.codec import v5, wwp
from iserverd.services.server import ServerService
from iserverd.services.webpager import WebpagerService, WebpagerSocketError
from iserverd.testing.v5client import connect
from tests import support
from tests.support import ALICE, BOB, PASSWORDS, start_server

WAIT = 5.0


def page_to(target, text=b"Hello from the web", ip="192.0.2.55", name=b"Alice", email=b"alice@example.org"):
    return wwp.WebPage(ip, target, email, name, text)


class LogWaiter:
    """
    Collects the log events that carry an C{outcome} (one per datagram the
    webpager or web pager handled) and lets a test wait for them, so no test
    sleeps.
    """

    def __init__(self, testcase):
        self.events = []
        self._waiters = []
        globalLogPublisher.addObserver(self)
        testcase.addCleanup(globalLogPublisher.removeObserver, self)

    def __call__(self, event):
        if "outcome" not in event:
            return
        self.events.append(event)
        for count, d in list(self._waiters):
            if len(self.events) >= count:
                self._waiters.remove((count, d))
                d.callback(self.outcomes())

    def outcomes(self):
        return [e["outcome"] for e in self.events]

    def wait(self, count):
        """Fire with the outcomes once C{count} have been logged in all."""
        if len(self.events) >= count:
            return defer.succeed(self.outcomes())
        d = defer.Deferred()
        self._waiters.append((count, d))
        return d.addTimeout(WAIT, reactor)


def short_tempdir(testcase):
    """A folder with a short path: a UNIX socket path is limited to about 100 bytes."""
    folder = tempfile.mkdtemp(prefix="iserverd-wwp-")
    testcase.addCleanup(shutil.rmtree, folder, True)
    return folder


def online(testcase, server, uin):
    """A v5 client logged in with an empty contact list, offline messages done."""
    return support.v5_online(testcase, server, uin, PASSWORDS[uin])


def send(path, datagram):
    """What a CGI script does: one datagram to the socket, no reply."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.sendto(datagram, path)
    finally:
        sock.close()


class WebpagerSocketTests(unittest.TestCase):
    """
    Datagrams on the socket reach users online at once, or at their next login.
    """

    @defer.inlineCallbacks
    def setUp(self):
        self.server, self.clock, self.dsn = yield start_server(self)
        self.path = os.path.join(short_tempdir(self), "wwp.sock")
        self.logs = LogWaiter(self)
        self.service = WebpagerService(self.server.network, self.server.config, reactor,
                                       clock=self.clock, path=self.path)
        self.service.setServiceParent(self.server)

    @defer.inlineCallbacks
    def test_online_delivery(self):
        """A datagram for an online user arrives at once as type 0x000D from UIN 1 with the 6.2 text."""
        bob = yield online(self, self.server, BOB)
        send(self.path, wwp.encode(page_to(BOB)))
        got = v5.OnlineMessage.parse((yield bob.wait_command(v5.SRV_ONLINE_MESSAGE, timeout=WAIT)).data)
        self.assertEqual((got.sender, got.msg_type), (1, 0x000D))
        self.assertEqual(got.text, b"Alice\xfe\xfe\xfealice@example.org\xfe3\xfe"
                                   b"Sender IP: 192.0.2.55\r\nHello from the web")
        self.assertEqual((yield self.logs.wait(1)), ["delivered"])

    @defer.inlineCallbacks
    def test_offline_delivery_at_login(self):
        """A datagram for an offline user is stored and delivered at the next login."""
        send(self.path, wwp.encode(page_to(BOB, b"while you were out")))
        self.assertEqual((yield self.logs.wait(1)), ["stored"])
        rows = support.query(self.dsn, "SELECT to_uin, from_uin, msg_type FROM offline_messages")
        self.assertEqual(rows, [(BOB, 1, 0x000D)])
        bob = yield connect(self, reactor, self.server.udp_port, BOB, PASSWORDS[BOB])
        yield bob.login()
        yield bob.contact_list([])
        got = v5.OfflineMessage.parse((yield bob.wait_command(v5.SRV_OFFLINE_MESSAGE)).data)
        self.assertEqual((got.sender, got.msg_type), (1, 0x000D))
        self.assertTrue(got.text.endswith(b"\r\nwhile you were out"))

    @defer.inlineCallbacks
    def test_bad_datagrams_dropped(self):
        """Wrong signature, short packet, over-long field, unknown target: one line each, server unharmed."""
        bob = yield online(self, self.server, BOB)
        good = wwp.encode(page_to(BOB))
        send(self.path, b"\x09\x07\x02\x02" + good[4:])  # wrong signature
        send(self.path, good[:-5])  # shorter than its fields claim
        send(self.path, good[:0x20] + b"\x40\x00" + b"n" * 63 + b"\x00" + good[0x28:])  # name of 64
        send(self.path, b"")
        send(self.path, wwp.encode(page_to(55555)))  # no such account
        send(self.path, good)
        outcomes = yield self.logs.wait(6)
        # The unknown target needs a database query, so the last one may overtake it.
        self.assertEqual(sorted(outcomes), ["delivered"] + ["malformed"] * 4 + ["no such user"])
        reasons = [e["reason"] for e in self.logs.events[:3]]
        self.assertIn("signature", reasons[0])
        self.assertIn("exceeds 32", reasons[2])
        yield bob.wait_command(v5.SRV_ONLINE_MESSAGE)
        self.assertEqual(len(bob.of(v5.SRV_ONLINE_MESSAGE)), 1)

    @defer.inlineCallbacks
    def test_rate_limited(self):
        """Past its burst, one sender address is dropped until the clock refills its bucket."""
        bob = yield online(self, self.server, BOB)
        alice = yield online(self, self.server, ALICE)
        for _ in range(6):
            send(self.path, wwp.encode(page_to(BOB)))
        send(self.path, wwp.encode(page_to(ALICE, ip="198.51.100.1")))
        yield self.logs.wait(7)
        # A delivery is logged once the message is committed, so the refusal may overtake it.
        by_target = {}
        for e in self.logs.events:
            by_target.setdefault((e["uin"], e["ip"]), []).append(e["outcome"])
        self.assertEqual(len(by_target), 2)
        self.assertEqual(sorted(by_target.pop((ALICE, "198.51.100.1"))), ["delivered"])
        self.assertEqual(sorted(by_target.popitem()[1]), ["delivered"] * 5 + ["rate limited"])
        self.clock.advance(10)
        send(self.path, wwp.encode(page_to(BOB)))
        self.assertEqual((yield self.logs.wait(8))[-1], "delivered")
        yield alice.wait_command(v5.SRV_ONLINE_MESSAGE)
        for _ in range(6):
            yield bob.wait_command(v5.SRV_ONLINE_MESSAGE)

    def test_socket_mode(self):
        """The socket has the configured mode 0660 and the server's group."""
        st = os.stat(self.path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(st.st_gid, os.getegid())

    @defer.inlineCallbacks
    def test_removed_at_stop(self):
        """Stopping the service removes the socket file."""
        yield self.service.disownServiceParent()
        self.assertFalse(os.path.lexists(self.path))


class SocketSetupTests(unittest.TestCase):
    """
    The socket file is created safely and cleaned up; problems with its path
    are one clear error.
    """

    def setUp(self):
        self.path = os.path.join(short_tempdir(self), "wwp.sock")

    def service(self, **settings):
        from iserverd import config
        cfg = config.load(None, settings)
        svc = WebpagerService(None, cfg, reactor, path=self.path)
        return svc

    def start(self, svc):
        svc.startService()
        self.addCleanup(svc.stopService)

    @defer.inlineCallbacks
    def test_mode_and_group(self):
        """A configured mode and group are applied; others never get rights, whatever the config says."""
        group = grp.getgrgid(os.getegid()).gr_name
        svc = self.service(webpager_mode=0o600, webpager_group=group)
        self.start(svc)
        st = os.stat(self.path)
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_gid), (0o600, os.getegid()))
        svc.config = svc.config.with_overrides(webpager_mode=0o666)
        yield svc.stopService()
        self.start(svc)
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o660)

    def test_no_temporary_left(self):
        """Only the socket is left in its folder (the private folder it was bound in is gone)."""
        self.start(self.service())
        self.assertEqual(os.listdir(os.path.dirname(self.path)), ["wwp.sock"])

    def test_unknown_group(self):
        """An unknown group is a one-line error and no socket."""
        e = self.assertRaises(WebpagerSocketError, self.service(webpager_group="no-such-group-x").startService)
        self.assertIn("no-such-group-x", str(e))
        self.assertFalse(os.path.lexists(self.path))

    def test_stale_socket_removed(self):
        """A socket file left by an unclean shutdown is replaced, with a warning."""
        dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        dead.bind(self.path)
        dead.close()
        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        self.start(self.service())
        self.assertTrue(any("stale" in e.get("log_format", "") for e in events))
        send(self.path, b"ping")  # something listens again

    def test_live_socket_kept(self):
        """A socket another process still listens on is not taken over."""
        live = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        live.bind(self.path)
        self.addCleanup(live.close)
        e = self.assertRaises(WebpagerSocketError, self.service().startService)
        self.assertIn("in use", str(e))
        self.assertTrue(os.path.lexists(self.path))

    def test_not_a_socket(self):
        """A regular file at the path is left alone and reported."""
        with open(self.path, "w") as f:
            f.write("keep me")
        e = self.assertRaises(WebpagerSocketError, self.service().startService)
        self.assertIn("not a socket", str(e))
        with open(self.path) as f:
            self.assertEqual(f.read(), "keep me")


class WiringTests(unittest.TestCase):
    """
    Wired into the root service, the socket lives and dies with the server,
    and a socket problem stops the start with one line.
    """

    def server(self, path):
        from iserverd import config
        cfg = config.load(None, dict(database=support.fresh_database(self), port=0, interface="127.0.0.1",
                                     db_pool_size=1, webpager_socket=path))
        return ServerService(cfg, reactor, clock=task.Clock())

    @defer.inlineCallbacks
    def test_lives_with_server(self):
        """The socket exists while the server serves and is gone after it stops."""
        path = os.path.join(short_tempdir(self), "data", "wwp.sock")
        server = self.server(path)
        server.startService()
        yield server.ready
        self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode))
        yield server.stopService()
        self.assertFalse(os.path.lexists(path))

    @defer.inlineCallbacks
    def test_bad_path_stops_start(self):
        """A path that is not a socket fails the start with one critical log line."""
        path = os.path.join(short_tempdir(self), "wwp.sock")
        open(path, "w").close()
        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        server = self.server(path)
        server.startService()
        self.addCleanup(server.stopService)
        yield self.assertFailure(server.ready, WebpagerSocketError)
        critical = [formatEvent(e) for e in events if e.get("log_level") == LogLevel.critical]
        self.assertEqual(critical, ["cannot start iserverd: webpager socket %s: the path exists and is not a socket"
                                    % (path,)])
