"""
Database faults and restarts: the server stays up while PostgreSQL is away,
loses nothing it acknowledged, reconnects by itself, and survives being killed.
"""

import os
import signal
import socket
import subprocess
import sys
import time

import psycopg2
from psycopg2 import sql
from twisted.internet import defer, reactor, task
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
        While the database is away: logins get BUSY ("try again"), messages
        (to online users too, with durability commit) are not acknowledged;
        when it returns the pool reconnects and the resent messages are
        stored or relayed.
        """
        yield self.outage_and_recovery(online_flows=False)

    @defer.inlineCallbacks
    def test_outage_and_recovery_memory(self):
        """
        With durability memory, messages to online users still flow while
        the database is away; the rest is as with commit.
        """
        self.server.network.relay_log = None
        yield self.outage_and_recovery(online_flows=True)

    @defer.inlineCallbacks
    def test_resend_while_store_stalls(self):
        """
        A message resent while its first copy waits for a stalled database is
        not acknowledged; when that store then fails, neither copy was; the
        next resend is stored and acknowledged, once.
        """
        a = yield self.online(ALICE)
        blocker = psycopg2.connect(self.dsn)
        self.addCleanup(blocker.close)
        cursor = blocker.cursor()
        cursor.execute("LOCK TABLE offline_messages IN ACCESS EXCLUSIVE MODE")
        a.seq1 += 1
        a.seq2 += 1
        first = a.raw(v5.CMD_SEND_MESSAGE, v5.SendMessage(CAROL, 1, b"for carol").build())
        yield support.until(lambda: support.query(
            self.dsn, "SELECT count(*) FROM pg_locks WHERE NOT granted") != [(0,)])

        def resend():
            a.raw(v5.CMD_SEND_MESSAGE, v5.SendMessage(CAROL, 1, b"for carol").build(),
                  seq1=first.seq1, seq2=first.seq2)

        def acks():
            return [p for p in a.of(v5.SRV_ACK) if p.seq1 == first.seq1]

        resend()
        yield a.keep_alive()
        self.assertEqual(acks(), [], "a repeat was acknowledged before its first copy was stored")
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                       " WHERE datname = %s AND pid <> pg_backend_pid()", (self.name,))
        blocker.rollback()
        yield support.pool_up(self.server.storage)
        yield a.keep_alive()
        self.assertEqual(acks(), [], "a message whose store failed was acknowledged")
        self.assertEqual(support.query(self.dsn, "SELECT count(*) FROM offline_messages"), [(0,)])
        # The client resends until it is acknowledged.
        for _ in range(40):
            resend()
            yield sleep(0.25)
            if acks():
                break
        self.assertTrue(acks())
        rows = support.query(self.dsn, "SELECT to_uin, body FROM offline_messages")
        self.assertEqual([(r[0], bytes(r[1])) for r in rows], [(CAROL, b"for carol")])

    @defer.inlineCallbacks
    def outage_and_recovery(self, online_flows):
        a = yield self.online(ALICE, [BOB])
        b = yield self.online(BOB, [ALICE])
        storage = self.server.storage
        self.set_allowed(False)
        yield support.pool_down(storage)

        c = yield connect(self, reactor, self.server.udp_port, CAROL, PASSWORDS[CAROL])
        reply = yield c.login()
        self.assertEqual(reply.command, v5.SRV_BUSY)

        if online_flows:
            yield a.message(BOB, b"online still works")
            got = yield b.wait_command(v5.SRV_ONLINE_MESSAGE)
            self.assertEqual(v5.OnlineMessage.parse(got.data).text, b"online still works")
        else:
            a.seq1 += 1
            a.seq2 += 1
            to_bob = a.raw(v5.CMD_SEND_MESSAGE, v5.SendMessage(BOB, 1, b"for bob").build())
            yield a.keep_alive()
            self.assertFalse([p for p in a.of(v5.SRV_ACK) if p.seq1 == to_bob.seq1],
                             "a message that could not be written was acknowledged")
            self.assertFalse(b.of(v5.SRV_ONLINE_MESSAGE), "a message not written was relayed")

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
        if not online_flows:
            a.raw(v5.CMD_SEND_MESSAGE, v5.SendMessage(BOB, 1, b"for bob").build(),
                  seq1=to_bob.seq1, seq2=to_bob.seq2)
            yield a.wait_for(lambda p: p.command == v5.SRV_ACK and p.seq1 == to_bob.seq1)
            got = yield b.wait_command(v5.SRV_ONLINE_MESSAGE)
            self.assertEqual(v5.OnlineMessage.parse(got.data).text, b"for bob")

        reply = yield c.login()
        self.assertEqual(reply.command, v5.SRV_HELLO)


def sleep(seconds):
    return task.deferLater(reactor, seconds, lambda: None)


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


class KillInFlightTests(unittest.TestCase):
    """
    kill -9 while a sender sends at a steady rate to an online recipient that
    does not acknowledge (so the messages sit in flight): after a restart
    every message the server acknowledged reaches the recipient exactly once.
    """

    RATE = 0.01  # seconds between messages
    COUNT = 120

    start = RestartTests.start
    stop = RestartTests.stop
    wait_ready = RestartTests.wait_ready

    def set_allowed(self, dsn, allowed):
        """Stop (or restart) PostgreSQL for this database: refuse connections, end every backend."""
        name = support.database_name(dsn)
        DatabaseOutageTests.set_allowed(type("Outage", (), {"name": name})(), allowed)
        while not allowed and support.cluster().execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)) != [(0,)]:
            time.sleep(0.01)

    @defer.inlineCallbacks
    def run_and_kill(self, stop_database=False):
        """
        @return: Deferred firing with C{(dsn, port, acknowledged texts, texts
            sent after the database was stopped, every text sent)}.
        """
        dsn = support.fresh_database(self)
        for uin in (ALICE, BOB):
            support.query(dsn, "INSERT INTO users (uin, password_hash) VALUES (%s, %s)",
                          (uin, hash_password(PASSWORDS[uin])))
        port = free_udp_port()
        process = self.start(dsn, port)
        b, reply = yield self.wait_ready(port, BOB, process)
        self.assertEqual(reply.command, v5.SRV_HELLO)
        b.auto_ack = False
        a, reply = yield self.wait_ready(port, ALICE, process)
        self.assertEqual(reply.command, v5.SRV_HELLO)
        sent = {}
        after_stop = set()
        stopped = False
        for n in range(self.COUNT):
            if n == self.COUNT // 2:
                if stop_database:
                    self.addCleanup(self.set_allowed, dsn, True)
                    self.set_allowed(dsn, False)
                    stopped = True
                else:
                    process.send_signal(signal.SIGKILL)
            a.seq1 = (a.seq1 + 1) & 0xFFFF
            a.seq2 = (a.seq2 + 1) & 0xFFFF
            text = b"message %d" % (n,)
            packet = a.raw(v5.CMD_SEND_MESSAGE, v5.SendMessage(BOB, 1, text).build())
            sent[packet.seq1] = text
            if stopped:
                after_stop.add(text)
            yield sleep(self.RATE)
        yield sleep(0.5)
        if stop_database:
            process.send_signal(signal.SIGKILL)
        process.wait(30)
        acknowledged = {sent[p.seq1] for p in a.of(v5.SRV_ACK) if p.seq1 in sent}
        online = [v5.OnlineMessage.parse(p.data).text for p in b.of(v5.SRV_ONLINE_MESSAGE)]
        self.assertTrue(online, "the recipient saw no message in flight")
        if stop_database:
            self.set_allowed(dsn, True)
        return dsn, port, a, acknowledged, after_stop, list(sent.values())

    @defer.inlineCallbacks
    def delivered_after_restart(self, dsn, port, alice, resend):
        """
        Restart; the sender logs in again and resends what it was never
        acknowledged for (as a client does) and the texts C{resend}; the
        recipient logs in and takes its offline messages.

        @return: Deferred firing with the texts the recipient was given.
        """
        process = self.start(dsn, port)
        a, reply = yield self.wait_ready(port, ALICE, process)
        self.assertEqual(reply.command, v5.SRV_HELLO)
        for text in resend:
            yield a.message(BOB, text)
        b, reply = yield self.wait_ready(port, BOB, process)
        self.assertEqual(reply.command, v5.SRV_HELLO)
        yield b.contact_list([])
        yield b.wait_command(v5.SRV_END_OFFLINE_MESSAGES)
        yield b.keep_alive()
        yield support.until(lambda: support.query(dsn, "SELECT count(*) FROM offline_messages") == [(0,)])
        self.assertEqual(support.query(dsn, "SELECT count(*) FROM relayed_messages"), [(0,)])
        return [v5.OfflineMessage.parse(p.data).text for p in b.of(v5.SRV_OFFLINE_MESSAGE)]

    @defer.inlineCallbacks
    def test_kill_with_messages_in_flight(self):
        """
        Every acknowledged message is delivered once after the restart, also
        when the sender resends, after logging in again, messages it had been
        acknowledged for (the ACK lost) and those it had not.
        """
        dsn, port, alice, acknowledged, _, sent = yield self.run_and_kill()
        self.assertTrue(acknowledged, "nothing was acknowledged before the kill")
        unacknowledged = [t for t in sent if t not in acknowledged]
        self.assertTrue(unacknowledged, "the kill came after the last message")
        resend = unacknowledged + sorted(acknowledged)[-3:]
        delivered = yield self.delivered_after_restart(dsn, port, alice, resend)
        self.assertEqual(sorted(delivered), sorted(set(delivered)), "a message was delivered twice")
        self.assertEqual(set(delivered), set(sent))

    @defer.inlineCallbacks
    def test_database_stopped_then_kill(self):
        """
        With the database stopped mid-run nothing sent afterwards is
        acknowledged; after kill -9 and a restart every acknowledged message
        is delivered once.
        """
        dsn, port, alice, acknowledged, after_stop, sent = yield self.run_and_kill(stop_database=True)
        self.assertTrue(acknowledged, "nothing was acknowledged before the database stopped")
        self.assertEqual(acknowledged & after_stop, set(), "acknowledged without a database")
        delivered = yield self.delivered_after_restart(dsn, port, alice, ())
        self.assertEqual(sorted(delivered), sorted(set(delivered)), "a message was delivered twice")
        self.assertLessEqual(acknowledged, set(delivered))


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
