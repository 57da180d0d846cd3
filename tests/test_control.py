"""
Tests for L{iserverd.services.control} and the live commands of
C{iserverd-admin}: a real server on a real PostgreSQL, v5 clients on loopback,
and the control socket spoken to by the blocking client in a thread (as the
command-line tool does), plus one run of the console script itself.
"""

import grp
import io
import json
import os
import shutil
import socket
import stat
import sys
import tempfile

from twisted.internet import defer, threads, utils
from twisted.trial import unittest

from iserverd.admin import cli
from iserverd.codec import v5
from iserverd.services import control
from iserverd.services.control import ControlError, ControlService
from tests import support
from tests.support import ALICE, BOB, CAROL, PASSWORDS, start_server

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def short_folder(testcase):
    """A folder with a short path (UNIX socket paths are limited to about 100 bytes)."""
    folder = tempfile.mkdtemp(prefix="isd-ctl-")
    testcase.addCleanup(shutil.rmtree, folder, True)
    return folder


class _Gate:
    """A busy gate that admits everything and claims to have sent BUSY replies."""

    def __init__(self, busy):
        self.counters = {"busy": busy}

    def admit(self, datagram, addr):
        return True


class ControlTests(unittest.TestCase):
    """
    Each control command acts on the running server and answers in JSON.
    """

    @defer.inlineCallbacks
    def setUp(self):
        # The folder goes after the server stops (cleanups run last-in, first-out).
        self.path = os.path.join(short_folder(self), "control.sock")
        self.server, self.clock, self.dsn = yield start_server(self)
        self.control = ControlService(self.server, path=self.path)
        self.control.setServiceParent(self.server)

    def ask(self, message):
        return threads.deferToThread(control.request, self.path, message)

    def online(self, uin, contacts=()):
        return support.v5_online(self, self.server, uin, PASSWORDS[uin], contacts)

    @defer.inlineCallbacks
    def admin(self, *argv):
        """Run an iserverd-admin live command in a thread; return its output."""
        args = cli.build_parser().parse_args(list(argv) + ["--socket", self.path])
        out = io.StringIO()
        yield threads.deferToThread(cli.live, args, self.server.config, out)
        return out.getvalue()

    def test_socket_private(self):
        """Without a control group the socket is a socket with mode 0600."""
        st = os.stat(self.path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)

    @defer.inlineCallbacks
    def test_status(self):
        """status reports uptime, users online, packet totals and rates, queue, busy replies and the pool."""
        self.server.protocol.gate = _Gate(busy=7)
        yield self.online(ALICE)
        yield self.online(BOB, [ALICE])
        packets_in = self.server.protocol.counters["in"]
        self.clock.advance(1)
        self.clock.advance(1)
        s = yield self.ask({"command": "status"})
        self.assertEqual((s["online"], s["online_by_protocol"]), (2, {"5": 2}))
        self.assertEqual(s["uptime"], 2)
        self.assertEqual(s["packets_in"], packets_in)
        self.assertEqual(s["packets_in_per_second"], round(packets_in / 2, 2))
        self.assertGreater(s["packets_out_per_second"], 0)
        self.assertEqual(s["busy_replies"], 7)
        self.assertEqual(s["logins"], 2)
        self.assertEqual((s["unacked_packets"], s["unacked_sessions"]), (0, 0))
        self.assertEqual(s["database"]["connections"], 2)
        self.assertEqual(s["database"]["waiting"], 0)
        self.assertEqual(s["database"]["idle"] + s["database"]["in_use"], 2)

    @defer.inlineCallbacks
    def test_status_rates_window(self):
        """Packet rates cover the last ten seconds only, so an idle server drops back to zero."""
        yield self.online(ALICE)
        for _ in range(11):
            self.clock.advance(1)
        before = self.server.protocol.counters["in"]
        s = yield self.ask({"command": "status"})
        self.assertEqual(s["packets_in"], before)
        self.assertEqual(s["packets_in_per_second"], 0)

    @defer.inlineCallbacks
    def test_online(self):
        """online lists each user with protocol, status, address and login time."""
        yield self.online(BOB)
        a = yield self.online(ALICE)
        yield a.status(0x0001)
        result = yield self.ask({"command": "online"})
        self.assertEqual(result["count"], 2)
        self.assertEqual([u["uin"] for u in result["users"]], [ALICE, BOB])
        alice = result["users"][0]
        self.assertEqual((alice["protocol"], alice["status"]), (5, 0x0001))
        self.assertTrue(alice["address"].startswith("127.0.0.1:"))
        self.assertTrue(alice["since"].endswith("+00:00"))

    @defer.inlineCallbacks
    def test_disconnect(self):
        """disconnect moves a user offline (its watchers see it); an offline UIN is an error."""
        a = yield self.online(ALICE, [BOB])
        yield self.online(BOB)
        yield a.wait_command(v5.SRV_USER_ONLINE, uin=BOB)
        result = yield self.ask({"command": "disconnect", "uin": BOB})
        self.assertEqual(result, {"uin": BOB, "disconnected": True})
        self.assertIsNone(self.server.network.sessions.get(BOB))
        yield a.wait_command(v5.SRV_USER_OFFLINE, uin=BOB)
        e = yield self.assertFailure(self.ask({"command": "disconnect", "uin": BOB}), ControlError)
        self.assertEqual(str(e), "UIN %d is not online" % (BOB,))

    @defer.inlineCallbacks
    def test_broadcast_online(self):
        """broadcast reaches every online v5 user as a type 0x0009 message from UIN 1 in IServerd's layout."""
        a = yield self.online(ALICE)
        b = yield self.online(BOB)
        result = yield self.ask({"command": "broadcast", "text": "Back at 5", "subject": "Maintenance"})
        self.assertEqual(result, {"online": 2, "stored": 0})
        for client in (a, b):
            got = v5.OnlineMessage.parse((yield client.wait_command(v5.SRV_ONLINE_MESSAGE)).data)
            self.assertEqual((got.sender, got.msg_type), (1, 0x0009))
            self.assertEqual(got.text, b"ICQ Admin\xfe\xfe\xferoot@localhost\xfe3\xfeMaintenance\xfeBack at 5")
        yield self.server.network.settle()
        self.assertEqual(support.query(self.dsn, "SELECT count(*) FROM offline_messages"), [(0,)])

    @defer.inlineCallbacks
    def test_broadcast_store_offline(self):
        """With store_offline, accounts not online get the broadcast at their next login."""
        yield self.online(ALICE)
        result = yield self.ask({"command": "broadcast", "text": "Upgrade tonight", "store_offline": True})
        self.assertEqual(result, {"online": 1, "stored": 2})
        rows = support.query(self.dsn, "SELECT to_uin, from_uin, msg_type FROM offline_messages ORDER BY to_uin")
        self.assertEqual(rows, [(BOB, 1, 0x0014), (CAROL, 1, 0x0014)])
        c = yield self.online(CAROL)
        got = v5.OfflineMessage.parse((yield c.wait_command(v5.SRV_OFFLINE_MESSAGE)).data)
        self.assertEqual((got.sender, got.msg_type), (1, 0x0009))
        self.assertTrue(got.text.endswith(b"\xfe\xfeUpgrade tonight"))

    @defer.inlineCallbacks
    def test_bad_requests(self):
        """Bad JSON, unknown commands and bad parameters are one-line errors; answers keep their order."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(sock.close)
        sock.settimeout(5)
        yield threads.deferToThread(sock.connect, self.path)
        requests = [b"{not json", b'{"command": "reboot"}', b'{"command": "disconnect", "uin": "x"}',
                    b'{"command": "broadcast", "text": ""}', b'["status"]', b'{"command": "online"}']
        sock.sendall(b"\n".join(requests) + b"\n")
        data = b""
        while data.count(b"\n") < len(requests):
            data += yield threads.deferToThread(sock.recv, 65536)
        answers = [json.loads(line) for line in data.splitlines()]
        self.assertEqual([a["ok"] for a in answers], [False] * 5 + [True])
        self.assertEqual(answers[0]["error"], "a request is one line of JSON")
        self.assertEqual(answers[1]["error"], "unknown command 'reboot'")
        self.assertIn("UIN", answers[2]["error"])
        self.assertEqual(answers[3]["error"], "broadcast needs a text")
        self.assertEqual(answers[5]["result"], {"count": 0, "users": []})

    @defer.inlineCallbacks
    def test_broadcast_too_long(self):
        """An over-long broadcast is refused before anything is sent."""
        e = yield self.assertFailure(self.ask({"command": "broadcast", "text": "x" * 2000}), ControlError)
        self.assertIn("at most", str(e))

    @defer.inlineCallbacks
    def test_second_server_refused(self):
        """A second control service on a socket a live server answers on is refused with one line."""
        other = ControlService(self.server, path=self.path)
        e = self.assertRaises(ControlError, other.startService)
        self.assertIn("another server answers", str(e))
        s = yield self.ask({"command": "status"})
        self.assertEqual(s["online"], 0)

    @defer.inlineCallbacks
    def test_cli_commands(self):
        """The iserverd-admin live commands print readable results and fail with AdminError."""
        a = yield self.online(ALICE)
        out = yield self.admin("status")
        self.assertIn("Online:", out)
        self.assertIn("Database pool:", out)
        out = yield self.admin("online")
        self.assertIn("%d" % ALICE, out)
        self.assertTrue(out.endswith("1 online\n"))
        out = yield self.admin("broadcast", "hello all", "--store-offline")
        self.assertEqual(out, "sent to 1 online users, stored for 2 accounts\n")
        yield a.wait_command(v5.SRV_ONLINE_MESSAGE)
        out = yield self.admin("disconnect", str(ALICE))
        self.assertEqual(out, "disconnected UIN %d\n" % ALICE)
        e = yield self.assertFailure(self.admin("disconnect", str(ALICE)), cli.AdminError)
        self.assertEqual(str(e), "UIN %d is not online" % ALICE)
        out = yield self.admin("status", "--json")
        self.assertEqual(json.loads(out)["logins"], 1)

    @defer.inlineCallbacks
    def test_console_script(self):
        """The console script's status command answers from the socket, without a database."""
        out, err, code = yield utils.getProcessOutputAndValue(
            sys.executable, ["-m", "iserverd.admin.cli", "--database", "postgresql://nobody@127.0.0.1:1/x",
                             "status", "--socket", self.path],
            env=dict(os.environ), path=ROOT,
        )
        self.assertEqual((code, err), (0, b""))
        self.assertIn(b"Uptime:", out)


class ControlSocketTests(unittest.TestCase):
    """
    Socket creation: permissions, groups, stale files and unreachable servers.
    """

    @defer.inlineCallbacks
    def setUp(self):
        self.folder = short_folder(self)
        self.server, self.clock, self.dsn = yield start_server(self)

    def start(self, **kw):
        service = ControlService(self.server, **kw)
        service.startService()
        self.addCleanup(service.stopService)
        return service

    def test_group_mode(self):
        """With a control group the socket has mode 0660 and belongs to that group."""
        name = grp.getgrgid(os.getgid()).gr_name
        path = os.path.join(self.folder, "control.sock")
        self.start(path=path, group=name)
        st = os.stat(path)
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_gid), (0o660, os.getgid()))

    def test_unknown_group(self):
        """An unknown control group stops the start with one line."""
        e = self.assertRaises(ControlError, ControlService(self.server, path=os.path.join(self.folder, "c"),
                                                           group="no-such-group-x").startService)
        self.assertIn("no group named", str(e))

    def test_stale_socket_replaced(self):
        """A socket file left by a server that is gone is replaced; a regular file is not."""
        path = os.path.join(self.folder, "control.sock")
        dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        dead.bind(path)
        dead.close()
        service = self.start(path=path)
        self.assertIsNotNone(service.port)
        plain = os.path.join(self.folder, "plain")
        open(plain, "w").close()
        e = self.assertRaises(ControlError, ControlService(self.server, path=plain).startService)
        self.assertIn("not a socket", str(e))

    def test_default_path_and_folder(self):
        """Without a path the socket is control.sock in the data dir, which is created if missing."""
        data = os.path.join(self.folder, "data")
        self.server.config = self.server.config.with_overrides(data_dir=data, control_socket="")
        service = self.start()
        self.assertEqual(service.path, os.path.join(data, "control.sock"))
        self.assertTrue(stat.S_ISSOCK(os.stat(service.path).st_mode))
        self.assertEqual(stat.S_IMODE(os.stat(data).st_mode), 0o700)

    @defer.inlineCallbacks
    def test_stop_removes_socket(self):
        """Stopping the service removes the socket file; the client then says no server answers."""
        path = os.path.join(self.folder, "control.sock")
        service = ControlService(self.server, path=path)
        service.startService()
        yield service.stopService()
        self.assertFalse(os.path.exists(path))
        e = self.assertRaises(ControlError, control.request, path, {"command": "status"})
        self.assertIn("no server answers", str(e))

    def test_peer_allowed(self):
        """Root, the server's user and, with a group, its members may connect; others may not."""
        self.assertTrue(control.peer_allowed(0, 0, 1000))
        self.assertTrue(control.peer_allowed(1000, 1000, 1000))
        self.assertFalse(control.peer_allowed(1001, 1001, 1000))
        self.assertFalse(control.peer_allowed(1001, 50, 1000, group_gid=None))
        self.assertTrue(control.peer_allowed(1001, 50, 1000, group_gid=50))
        self.assertFalse(control.peer_allowed(1001, 51, 1000, group_gid=50))
