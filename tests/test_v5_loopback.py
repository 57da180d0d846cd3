"""
ICQ v5 end to end: real UDP on loopback, a real PostgreSQL, the test client of
L{tests.v5client}, and a L{task.Clock} driving the event processor.
"""

import random

from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from iserverd.codec import v5
from tests import support
from tests.support import ALICE, BOB, CAROL, PASSWORDS, advance, start_server  # noqa: F401
from iserverd.testing.v5client import connect

class LoopbackMixin:
    """
    A running server on a fresh database, and helpers that log clients in.
    """

    @defer.inlineCallbacks
    def setUp(self):
        self.server, self.clock, self.dsn = yield start_server(self)

    @defer.inlineCallbacks
    def client(self, uin, password=None, **kw):
        c = yield connect(self, reactor, self.server.udp_port, uin,
                          PASSWORDS[uin] if password is None else password, **kw)
        return c

    def online(self, uin, contacts=(), status=0):
        """A logged-in client that has uploaded its contact list."""
        return support.v5_online(self, self.server, uin, PASSWORDS[uin], contacts, status)


class V5Tests(LoopbackMixin, unittest.TestCase):
    """
    Two or three v5 clients log in, see each other and talk through the server.
    """

    @defer.inlineCallbacks
    def test_login_hello(self):
        """A correct login is acknowledged and answered with HELLO, SEQ1 0, the LOGIN's SEQ2."""
        a = yield self.client(ALICE)
        hello = yield a.login()
        self.assertEqual((hello.command, hello.seq1, hello.seq2, hello.uin), (v5.SRV_HELLO, 0, 1, ALICE))
        parsed = v5.Hello.parse(hello.data)
        self.assertEqual((parsed.keepalive, parsed.timeout, parsed.retries, parsed.client_ip),
                         (110, 10, 5, "127.0.0.1"))
        self.assertTrue(a.of(v5.SRV_ACK))
        yield self.server.network.settle()
        rows = support.query(self.dsn, "SELECT uin, protocol FROM online_users")
        self.assertEqual(rows, [(ALICE, 5)])

    @defer.inlineCallbacks
    def test_wrong_password(self):
        """A wrong password or an unknown UIN gets the v3-format BAD_PASSWORD."""
        a = yield self.client(ALICE, password=b"nope")
        reply = yield a.login()
        self.assertEqual((reply.version, reply.command), (3, v5.SRV_BAD_PASSWORD))
        x = yield connect(self, reactor, self.server.udp_port, 55555, b"pw")
        reply = yield x.login()
        self.assertEqual((reply.version, reply.command), (3, v5.SRV_BAD_PASSWORD))
        self.assertEqual(len(self.server.network.sessions), 0)

    @defer.inlineCallbacks
    def test_see_each_other(self):
        """Two users who list each other each see the other come online."""
        a = yield self.online(ALICE, [BOB])
        b = yield self.online(BOB, [ALICE])
        about_alice = yield b.wait_command(v5.SRV_USER_ONLINE, uin=ALICE)
        about_bob = yield a.wait_command(v5.SRV_USER_ONLINE, uin=BOB)
        self.assertEqual(v5.UserOnline.parse(about_bob.data).external_ip, "127.0.0.1")
        self.assertEqual(about_alice.seq2, 0)

    @defer.inlineCallbacks
    def test_messages_both_ways(self):
        """Messages go both ways, each received exactly once with its type and text."""
        a = yield self.online(ALICE, [BOB])
        b = yield self.online(BOB, [ALICE])
        yield a.message(BOB, b"hello bob")
        yield b.message(ALICE, b"hi alice\xfe", msg_type=4)
        got = v5.OnlineMessage.parse((yield b.wait_command(v5.SRV_ONLINE_MESSAGE)).data)
        self.assertEqual((got.sender, got.msg_type, got.text), (ALICE, 1, b"hello bob"))
        got = v5.OnlineMessage.parse((yield a.wait_command(v5.SRV_ONLINE_MESSAGE)).data)
        self.assertEqual((got.sender, got.msg_type, got.text), (BOB, 4, b"hi alice\xfe"))
        # A retransmission of the same packet (same SEQ1) is re-ACKed, not delivered again.
        a.raw(v5.CMD_SEND_MESSAGE, v5.SendMessage(BOB, 1, b"hello bob").build())
        yield a.keep_alive()
        yield b.keep_alive()
        self.assertEqual(len(b.of(v5.SRV_ONLINE_MESSAGE)), 1)

    @defer.inlineCallbacks
    def test_status_change(self):
        """A status change reaches watchers with both the status and its flags."""
        a = yield self.online(ALICE, [BOB])
        b = yield self.online(BOB, [ALICE])
        yield a.wait_command(v5.SRV_USER_ONLINE, uin=BOB)
        yield b.status(0x0011, 0x0001)
        got = v5.UserStatus.parse((yield a.wait_command(v5.SRV_USER_STATUS)).data)
        self.assertEqual((got.uin, got.status, got.flags), (BOB, 0x0011, 0x0001))

    @defer.inlineCallbacks
    def test_invisible(self):
        """An invisible user is not shown online; going visible shows it; going invisible hides it."""
        a = yield self.online(ALICE, [CAROL, BOB])
        c = yield self.online(CAROL, [], status=0x0100)
        yield self.online(BOB, [])
        yield a.wait_command(v5.SRV_USER_ONLINE, uin=BOB)
        self.assertEqual([v5.UserOnline.parse(p.data).uin for p in a.of(v5.SRV_USER_ONLINE)], [BOB])
        yield c.status(0x0000)
        yield a.wait_command(v5.SRV_USER_ONLINE, uin=CAROL)
        yield c.status(0x0100)
        yield a.wait_command(v5.SRV_USER_OFFLINE, uin=CAROL)

    @defer.inlineCallbacks
    def test_invisible_list(self):
        """A user on someone's invisible list never sees them, even after a late list upload."""
        a = yield self.online(ALICE, [BOB])
        b = yield self.online(BOB, [])
        yield a.wait_command(v5.SRV_USER_ONLINE, uin=BOB)
        yield b.send(v5.CMD_INVIS_LIST, v5.UinList((ALICE,)).build())
        yield a.wait_command(v5.SRV_USER_OFFLINE, uin=BOB)

    @defer.inlineCallbacks
    def test_keepalive_expiry(self):
        """A user whose keep-alives stop goes offline for its watchers; one who pings stays."""
        a = yield self.online(ALICE, [BOB])
        yield self.online(BOB, [ALICE])
        yield a.wait_command(v5.SRV_USER_ONLINE, uin=BOB)
        yield a.keep_alive()
        advance(self.clock, 60)
        yield a.keep_alive()
        advance(self.clock, 65)
        yield a.wait_command(v5.SRV_USER_OFFLINE, uin=BOB)
        self.assertIsNone(self.server.network.sessions.get(BOB))
        self.assertIsNotNone(self.server.network.sessions.get(ALICE))
        yield self.server.network.settle()
        self.assertEqual(support.query(self.dsn, "SELECT uin FROM online_users"), [(ALICE,)])

    @defer.inlineCallbacks
    def test_offline_message_once(self):
        """A message to an offline user is stored, delivered at the next login, and only once."""
        a = yield self.online(ALICE, [])
        yield a.message(BOB, b"while you were out")
        self.assertEqual(support.query(self.dsn, "SELECT count(*) FROM offline_messages"), [(1,)])
        b = yield self.online(BOB, [])
        got = v5.OfflineMessage.parse((yield b.wait_command(v5.SRV_OFFLINE_MESSAGE)).data)
        self.assertEqual((got.sender, got.text), (ALICE, b"while you were out"))
        yield b.send(v5.CMD_ACK_MESSAGES, b"\x00\x00\x00\x00")
        yield self.server.network.settle()
        self.assertEqual(support.query(self.dsn, "SELECT count(*) FROM offline_messages"), [(0,)])
        b.logoff()
        yield a.keep_alive()
        b2 = yield self.online(BOB, [])
        self.assertEqual(b2.of(v5.SRV_OFFLINE_MESSAGE), [])

    @defer.inlineCallbacks
    def test_offline_delivery_without_list(self):
        """A client that sends no contact list still gets its messages shortly after login."""
        a = yield self.online(ALICE, [])
        yield a.message(BOB, b"ping")
        b = yield self.client(BOB)
        yield b.login()
        advance(self.clock, 6)
        got = v5.OfflineMessage.parse((yield b.wait_command(v5.SRV_OFFLINE_MESSAGE)).data)
        self.assertEqual(got.text, b"ping")

    @defer.inlineCallbacks
    def test_unacknowledged_message_stored(self):
        """A message the recipient never acknowledges ends up stored; the recipient goes offline."""
        a = yield self.online(ALICE, [BOB])
        b = yield self.online(BOB, [])
        yield a.wait_command(v5.SRV_USER_ONLINE, uin=BOB)
        b.auto_ack = False
        yield a.message(BOB, b"are you there?")
        yield b.wait_command(v5.SRV_ONLINE_MESSAGE)
        for _ in range(62):
            self.clock.advance(1)
            yield a.keep_alive()
        yield a.wait_command(v5.SRV_USER_OFFLINE, uin=BOB)
        yield self.server.network.shutdown()
        rows = support.query(self.dsn, "SELECT to_uin, from_uin, body FROM offline_messages")
        self.assertEqual([(r[0], r[1], bytes(r[2])) for r in rows], [(BOB, ALICE, b"are you there?")])
        self.assertGreaterEqual(len(b.of(v5.SRV_ONLINE_MESSAGE)), 5)

    @defer.inlineCallbacks
    def test_session_checks(self):
        """Packets from another address or with another session id never act for a user."""
        yield self.online(ALICE, [])
        b = yield self.online(BOB, [ALICE])
        spoof = yield self.client(ALICE)
        spoof.session_id = self.server.network.sessions.get(ALICE).session_id
        spoof.raw(v5.CMD_SEND_MESSAGE, v5.SendMessage(BOB, 1, b"forged").build())
        yield spoof.wait_command(v5.SRV_NOT_CONNECTED)
        same_port = self.server.network.sessions.get(ALICE)
        forged = v5.ClientPacket(ALICE, same_port.session_id ^ 1, v5.CMD_STATUS_CHANGE, 9, 9, b"\x01\x00\x00\x00")
        spoof.transport.write(v5.encode_client(forged), ("127.0.0.1", self.server.udp_port))
        yield spoof.wait_command(v5.SRV_NOT_CONNECTED)
        yield b.keep_alive()
        self.assertEqual(b.of(v5.SRV_ONLINE_MESSAGE), [])
        self.assertEqual(b.of(v5.SRV_USER_STATUS), [])
        self.assertEqual(self.server.network.sessions.get(ALICE).status, 0)

    @defer.inlineCallbacks
    def test_not_connected(self):
        """A session command without a login gets NOT_CONNECTED."""
        a = yield self.client(ALICE)
        a.raw(v5.CMD_KEEP_ALIVE, b"\x00" * 4)
        yield a.wait_command(v5.SRV_NOT_CONNECTED)

    @defer.inlineCallbacks
    def test_relogin_replaces(self):
        """A new correct login replaces a still-online session at once."""
        a = yield self.online(ALICE, [BOB])
        old = self.server.network.sessions.get(ALICE)
        a2 = yield self.client(ALICE, seed=99)
        hello = yield a2.login()
        self.assertEqual(hello.command, v5.SRV_HELLO)
        self.assertIsNot(self.server.network.sessions.get(ALICE), old)
        a.raw(v5.CMD_KEEP_ALIVE, b"\x00" * 4)
        yield a.wait_command(v5.SRV_NOT_CONNECTED)

    @defer.inlineCallbacks
    def test_long_message_refused(self):
        """An over-long message is refused with a notice; the sender stays online."""
        a = yield self.online(ALICE, [])
        b = yield self.online(BOB, [])
        yield a.message(BOB, b"x" * 451)
        notice = v5.OnlineMessage.parse((yield a.wait_command(v5.SRV_ONLINE_MESSAGE)).data)
        self.assertEqual(notice.sender, 1)
        self.assertIn(b"450", notice.text)
        yield a.message(BOB, b"x" * 450)
        got = v5.OnlineMessage.parse((yield b.wait_command(v5.SRV_ONLINE_MESSAGE)).data)
        self.assertEqual(len(got.text), 450)

    @defer.inlineCallbacks
    def test_logoff(self):
        """LOGOFF takes the user offline for its watchers at once."""
        a = yield self.online(ALICE, [BOB])
        b = yield self.online(BOB, [])
        yield a.wait_command(v5.SRV_USER_ONLINE, uin=BOB)
        b.logoff()
        yield a.wait_command(v5.SRV_USER_OFFLINE, uin=BOB)

    @defer.inlineCallbacks
    def test_garbage_leaves_server_serving(self):
        """1,000 random and mutated datagrams leave the server serving logins and messages."""
        rng = random.Random(1234)
        noise = yield self.client(CAROL)
        valid = [
            v5.encode_client(v5.ClientPacket(ALICE, 7, v5.CMD_LOGIN, 1, 1, v5.LoginRequest(password=b"x").build())),
            v5.encode_client(v5.ClientPacket(ALICE, 7, v5.CMD_SEND_MESSAGE, 2, 2, v5.SendMessage(BOB, 1, b"hi").build())),
            v5.encode_client(v5.ClientPacket(BOB, 8, v5.CMD_CONTACT_LIST, 3, 3, v5.UinList((ALICE,)).build())),
        ]
        target = ("127.0.0.1", self.server.udp_port)
        for i in range(1000):
            if i % 2:
                datagram = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 80)))
                if i % 4 == 1:
                    datagram = b"\x05\x00" + datagram
            else:
                datagram = bytearray(rng.choice(valid))
                for _ in range(rng.randrange(1, 4)):
                    datagram[rng.randrange(len(datagram))] ^= 1 << rng.randrange(8)
                datagram = bytes(datagram[: rng.randrange(len(datagram) + 1)])
            noise.transport.write(datagram, target)
            if i % 100 == 0:
                yield task.deferLater(reactor, 0, lambda: None)
        a = yield self.online(ALICE, [])
        b = yield self.online(BOB, [])
        yield a.message(BOB, b"still here")
        got = v5.OnlineMessage.parse((yield b.wait_command(v5.SRV_ONLINE_MESSAGE)).data)
        self.assertEqual(got.text, b"still here")


class V5LoginRefusalTests(unittest.TestCase):
    """
    Every documented refusal of a login, each with its own reply.
    """

    @defer.inlineCallbacks
    def refused(self, uin=ALICE, **settings):
        server, clock, dsn = yield start_server(self, **settings)
        self.dsn = dsn
        return server

    @defer.inlineCallbacks
    def login(self, server, uin):
        c = yield connect(self, reactor, server.udp_port, uin, PASSWORDS[uin])
        reply = yield c.login()
        return reply

    @defer.inlineCallbacks
    def test_protocol_disabled(self):
        """With v5 disabled a login gets LOGIN_ERR telling the user to use another client version."""
        server = yield self.refused(v5_enabled=False)
        reply = yield self.login(server, ALICE)
        self.assertEqual(reply.command, v5.SRV_LOGIN_ERR)
        self.assertIn(b"another client version", v5.LoginErr.parse(reply.data).text)

    @defer.inlineCallbacks
    def test_locked(self):
        """A locked account gets LOGIN_ERR with the administrator's lock text."""
        server = yield self.refused()
        support.query(self.dsn, "UPDATE users SET locked = true, lock_text = 'Ask the admin' WHERE uin = %s", (ALICE,))
        reply = yield self.login(server, ALICE)
        self.assertEqual((reply.command, v5.LoginErr.parse(reply.data).text), (v5.SRV_LOGIN_ERR, b"Ask the admin"))

    @defer.inlineCallbacks
    def test_table_full(self):
        """Beyond the maximum online users a login gets LOGIN_ERR 'table full'."""
        server = yield self.refused(max_online=1)
        self.assertEqual((yield self.login(server, ALICE)).command, v5.SRV_HELLO)
        reply = yield self.login(server, BOB)
        self.assertEqual(reply.command, v5.SRV_LOGIN_ERR)
        self.assertIn(b"table full", v5.LoginErr.parse(reply.data).text)

    @defer.inlineCallbacks
    def test_busy_without_replacement(self):
        """With session replacement off, a second login for an online UIN gets BUSY."""
        server = yield self.refused(replace_session=False)
        self.assertEqual((yield self.login(server, ALICE)).command, v5.SRV_HELLO)
        c = yield connect(self, reactor, server.udp_port, ALICE, PASSWORDS[ALICE], seed=7)
        reply = yield c.login()
        self.assertEqual(reply.command, v5.SRV_BUSY)


class V5MessageTypeTests(LoopbackMixin, unittest.TestCase):
    """
    Every message type passes through unchanged.
    """

    @defer.inlineCallbacks
    def test_all_types(self):
        """Normal, URL, authorization request/granted, 'you were added', contacts and multi-recipient types relay verbatim."""
        a = yield self.online(ALICE, [])
        b = yield self.online(BOB, [])
        samples = [
            (0x0001, b"plain"), (0x0004, b"a site\xfehttp://example.org"),
            (0x0006, b"nick\xfefirst\xfelast\xfee@x\xfe1\xfeplease"), (0x0008, b""),
            (0x000C, b"n\xfef\xfel\xfee\xfe1"), (0x0013, b"1\xfe10003\xfecarol\xfe"), (0x8001, b"to many"),
        ]
        for msg_type, text in samples:
            yield a.message(BOB, text, msg_type=msg_type)
        for msg_type, text in samples:
            got = v5.OnlineMessage.parse((yield b.wait_command(v5.SRV_ONLINE_MESSAGE, msg_type=msg_type)).data)
            self.assertEqual((got.sender, got.text), (ALICE, text))

    @defer.inlineCallbacks
    def test_empty_you_were_added(self):
        """An empty 'you were added' is filled in from the sender's account."""
        a = yield self.online(ALICE, [])
        b = yield self.online(BOB, [])
        yield a.message(BOB, b"", msg_type=0x000C)
        got = v5.OnlineMessage.parse((yield b.wait_command(v5.SRV_ONLINE_MESSAGE)).data)
        self.assertEqual(got.text, b"nick10001\xfeFirst\xfeLast\xfe10001@example.org\xfe1")

    @defer.inlineCallbacks
    def test_unknown_recipient(self):
        """A message to a UIN nobody has is acknowledged and dropped, not stored."""
        a = yield self.online(ALICE, [])
        yield a.message(99999, b"into the void")
        self.assertEqual(support.query(self.dsn, "SELECT count(*) FROM offline_messages"), [(0,)])
