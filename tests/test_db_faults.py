"""
Database faults and restarts: the server stays up while PostgreSQL is away,
loses nothing it acknowledged, reconnects by itself, and survives being killed.
"""

import os
import signal
import socket
import subprocess
import sys

from psycopg2 import sql
from twisted.internet import defer, reactor
from twisted.trial import unittest

from iserverd.codec import v5
from iserverd.storage.passwords import hash_password
from iserverd.testing.v5client import connect
from tests import support
from tests.support import ALICE, BOB, CAROL, PASSWORDS, start_server

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class DatabaseOutageTests(unittest.TestCase):
    """
    PostgreSQL going away and coming back while clients are logged in.
    """

    @defer.inlineCallbacks
    def setUp(self):
        self.server, self.clock, self.dsn = yield start_server(self)
        self.name = support.database_name(self.dsn)
        self.addCleanup(self.set_allowed, True)

    def set_allowed(self, allowed):
        cluster = support.cluster()
        cluster.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS " + ("true" if allowed else "false")).format(
                sql.Identifier(self.name)
            )
        )
        if not allowed:
            cluster.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (self.name,),
            )

    def online(self, uin, contacts=()):
        return support.v5_online(self, self.server, uin, PASSWORDS[uin], contacts)

    @defer.inlineCallbacks
    def test_outage_and_recovery(self):
        """
        While the database is away: logins get BUSY ("try again"), messages to
        online users still flow, messages to offline users are not acknowledged;
        when it returns the pool reconnects and the resent message is stored.
        """
        a = yield self.online(ALICE, [BOB])
        b = yield self.online(BOB, [ALICE])
        storage = self.server.storage
        self.set_allowed(False)
        yield support.pool_down(storage)

        c = yield connect(self, reactor, self.server.udp_port, CAROL, PASSWORDS[CAROL])
        reply = yield c.login()
        self.assertEqual(reply.command, v5.SRV_BUSY)

        yield a.message(BOB, b"online still works")
        got = yield b.wait_command(v5.SRV_ONLINE_MESSAGE)
        self.assertEqual(v5.OnlineMessage.parse(got.data).text, b"online still works")

        a.seq1 += 1
        a.seq2 += 1
        stored_later = a.raw(v5.CMD_SEND_MESSAGE, v5.SendMessage(CAROL, 1, b"for carol").build())
        yield a.keep_alive()
        self.assertFalse(
            [p for p in a.of(v5.SRV_ACK) if p.seq1 == stored_later.seq1],
            "a message that could not be stored was acknowledged",
        )

        self.set_allowed(True)
        yield support.pool_up(storage)
        # The client's retransmission (same SEQ1) is handled as new and stored.
        a.raw(v5.CMD_SEND_MESSAGE, v5.SendMessage(CAROL, 1, b"for carol").build(),
              seq1=stored_later.seq1, seq2=stored_later.seq2)
        yield a.wait_for(lambda p: p.command == v5.SRV_ACK and p.seq1 == stored_later.seq1)
        rows = support.query(self.dsn, "SELECT to_uin, body FROM offline_messages")
        self.assertEqual([(r[0], bytes(r[1])) for r in rows], [(CAROL, b"for carol")])

        reply = yield c.login()
        self.assertEqual(reply.command, v5.SRV_HELLO)


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class RestartTests(unittest.TestCase):
    """
    The real program (twistd iserverd) stopped cleanly and killed outright.
    """

    def start(self, dsn, port):
        process = subprocess.Popen(
            [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
             "-n", "--pidfile=", "--logfile=-", "iserverd",
             "--database", dsn, "--port", str(port), "--interface", "127.0.0.1"],
            cwd=os.path.dirname(support.socket_path(self, "")), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONPATH=ROOT),
        )
        self.addCleanup(self.stop, process, signal.SIGKILL)
        return process

    def stop(self, process, sig):
        if process.poll() is None:
            process.send_signal(sig)
            process.wait(30)
        if process.stdout is not None:
            process.stdout.close()

    @defer.inlineCallbacks
    def wait_ready(self, port, uin, process):
        """Log in once the process answers (it needs a moment to start)."""
        c = yield connect(self, reactor, port, uin, PASSWORDS[uin])
        for _ in range(60):
            try:
                reply = yield c.login(timeout=0.5)
            except defer.TimeoutError:
                continue
            return c, reply
        process.kill()
        output = process.stdout.read().decode("utf-8", "replace")
        raise AssertionError("the server did not answer:\n" + output)

    @defer.inlineCallbacks
    def test_sigterm_then_kill(self):
        """
        SIGTERM stops cleanly with the online table cleared; after kill -9 and a
        restart every stored offline message is still there and delivered once,
        and the online table starts empty.
        """
        dsn = support.fresh_database(self)
        for uin in (ALICE, BOB):
            support.query(dsn, "INSERT INTO users (uin, password_hash) VALUES (%s, %s)",
                          (uin, hash_password(PASSWORDS[uin])))
        port = free_udp_port()
        first = self.start(dsn, port)
        a, reply = yield self.wait_ready(port, ALICE, first)
        self.assertEqual(reply.command, v5.SRV_HELLO)
        yield a.message(BOB, b"kept across restarts")
        yield support.until(lambda: support.query(dsn, "SELECT count(*) FROM online_users") == [(1,)])
        first.send_signal(signal.SIGTERM)
        # twistd ends by re-raising the signal it stopped for.
        self.assertIn(first.wait(30), (0, -signal.SIGTERM))
        self.assertEqual(support.query(dsn, "SELECT count(*) FROM online_users"), [(0,)])

        second = self.start(dsn, port)
        a, reply = yield self.wait_ready(port, ALICE, second)
        self.assertEqual(reply.command, v5.SRV_HELLO)
        yield support.until(lambda: support.query(dsn, "SELECT count(*) FROM online_users") == [(1,)])
        second.send_signal(signal.SIGKILL)
        second.wait(30)
        self.assertEqual(support.query(dsn, "SELECT count(*) FROM online_users"), [(1,)])

        third = self.start(dsn, port)
        b, reply = yield self.wait_ready(port, BOB, third)
        self.assertEqual(reply.command, v5.SRV_HELLO)
        yield support.until(lambda: support.query(dsn, "SELECT uin FROM online_users") == [(BOB,)])
        yield b.contact_list([])
        got = yield b.wait_command(v5.SRV_OFFLINE_MESSAGE)
        self.assertEqual(v5.OfflineMessage.parse(got.data).text, b"kept across restarts")
        yield b.wait_command(v5.SRV_END_OFFLINE_MESSAGES)
        yield b.keep_alive()
        yield support.until(lambda: support.query(dsn, "SELECT count(*) FROM offline_messages") == [(0,)])


class MirrorRepairTests(unittest.TestCase):
    """
    The online table is rewritten from the server's sessions now and then, so
    rows lost or left over while the database was away are repaired.
    """

    @defer.inlineCallbacks
    def test_online_table_repaired(self):
        """A missing row comes back and a stale one goes after the online check period."""
        server, clock, dsn = yield start_server(self, online_check_period=60)
        c = yield connect(self, reactor, server.udp_port, ALICE, PASSWORDS[ALICE])
        yield c.login()
        yield c.keep_alive()
        yield server.network.settle()
        support.query(dsn, "DELETE FROM online_users")
        support.query(dsn, "INSERT INTO online_users (uin, ip, port, protocol) VALUES (%s, '127.0.0.9', 1, 5)", (BOB,))
        clock.advance(61)
        yield server.network.settle()
        self.assertEqual(support.query(dsn, "SELECT uin, port FROM online_users"),
                         [(ALICE, c.transport.getHost().port)])
