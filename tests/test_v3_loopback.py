"""
ICQ v3 end to end: real UDP on loopback, a real PostgreSQL, the Miranda-like
test client of L{iserverd.testing.v3client}, and a L{task.Clock} driving the
event processor.  The first ten test groups follow the ten exchanges of
v3.md section 0.
"""

import random
from datetime import datetime, timezone

from psycopg2 import sql
from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from iserverd.codec import v3, v5
from iserverd.testing import v5client
from iserverd.testing.v3client import connect
from tests import support
from tests.support import ALICE, BOB, CAROL, PASSWORDS, advance, start_server

DAVE = 10004


class V3Base(unittest.TestCase):
    """A server with three accounts and helpers for v3 clients."""

    settings = {}

    @defer.inlineCallbacks
    def setUp(self):
        self.server, self.clock, self.dsn = yield start_server(self, **self.settings)

    @property
    def network(self):
        return self.server.network

    @defer.inlineCallbacks
    def client(self, uin, password=None):
        c = yield connect(self, reactor, self.server.udp_port, uin,
                          PASSWORDS.get(uin, b"x") if password is None else password)
        return c

    def online(self, uin, contacts=(), status=0):
        """A logged-in client that asked for its offline messages and sent its contact list."""
        return support.v3_online(self, self.server, uin, PASSWORDS.get(uin, b"x"), contacts, status)

    @defer.inlineCallbacks
    def settle(self, *clients):
        """Let the server finish what is in flight: a PING round trip per client."""
        for c in clients:
            yield c.ping()

    def no_pending(self, uin):
        session = self.network.sessions.get(uin)
        return session is not None and not session.pending


class AcknowledgementTests(V3Base):
    """Exchange 1: ACKs both ways."""

    @defer.inlineCallbacks
    def test_ack_echoes_header(self):
        """The server's ACK echoes SEQ1, SEQ2 and UIN and has no data."""
        a = yield self.online(ALICE)
        a.seq = 0x1233
        ack = yield a.send(v3.CMD_PING, seq2=0x0777)
        self.assertEqual((ack.command, ack.seq1, ack.seq2, ack.uin, ack.data), (v3.SRV_ACK, 0x1234, 0x0777, ALICE, b""))

    @defer.inlineCallbacks
    def test_client_ack_clears_pending(self):
        """A client ACK clears the pending packet, so nothing is resent."""
        a = yield self.online(ALICE)
        self.assertTrue(self.no_pending(ALICE))
        hellos = len(a.of(v3.SRV_HELLO))
        advance(self.clock, 25)
        yield a.ping()
        self.assertEqual(len(a.of(v3.SRV_HELLO)), hellos)

    @defer.inlineCallbacks
    def test_unacknowledged_packet_resent_identically(self):
        """An unacknowledged reliable packet is resent with the same bytes every V3 max timeout seconds."""
        a = yield self.client(ALICE)
        a.auto_ack = False
        yield a.login()
        advance(self.clock, 10)
        yield a.wait_for(lambda p: p.command == v3.SRV_HELLO and len(a.of(v3.SRV_HELLO)) == 2)
        first, second = a.of(v3.SRV_HELLO)
        self.assertEqual(first, second)
        a.raw(v3.CMD_ACK, seq1=0, seq2=0)
        yield a.ping()
        self.assertTrue(self.no_pending(ALICE))


class LoginTests(V3Base):
    """Exchanges 2 and 3: successful and failed logins."""

    @defer.inlineCallbacks
    def test_hello(self):
        """LOGON gets the ACK, then HELLO with SEQ1 0, the LOGON's SEQ2 and the advertised settings."""
        a = yield self.client(ALICE)
        hello = yield a.login()
        self.assertEqual([p.command for p in a.received[:2]], [v3.SRV_ACK, v3.SRV_HELLO])
        ack = a.received[0]
        self.assertEqual((ack.seq1, ack.seq2, ack.uin), (1, 1, ALICE))
        self.assertEqual((hello.seq1, hello.seq2, hello.uin), (0, 1, ALICE))
        parsed = v3.Hello.parse(hello.data)
        self.assertEqual(
            (parsed.client_ip, parsed.ping_interval, parsed.resend_timeout, parsed.retries, parsed.dep_version),
            ("127.0.0.1", 45, 10, 3, 1),
        )
        yield a.ping()
        yield self.network.settle()
        rows = support.query(self.dsn, "SELECT uin, protocol, session_id, tcp_port FROM online_users")
        self.assertEqual(rows, [(ALICE, 3, 0, 1234)])

    @defer.inlineCallbacks
    def test_wrong_password_and_unknown_uin(self):
        """A wrong password and an unknown UIN both get the ACK and WRONG_PASSWD (SEQ1 0, SEQ2 copied)."""
        a = yield self.client(ALICE, password=b"nope")
        reply = yield a.login()
        self.assertEqual((reply.command, reply.seq1, reply.seq2, reply.uin), (v3.SRV_WRONG_PASSWD, 0, 1, ALICE))
        self.assertEqual(a.received[0].command, v3.SRV_ACK)
        x = yield self.client(55555, password=b"pw")
        reply = yield x.login()
        self.assertEqual(reply.command, v3.SRV_WRONG_PASSWD)
        self.assertEqual(len(self.network.sessions), 0)

    @defer.inlineCallbacks
    def test_overlong_password(self):
        """A password longer than the 20 bytes a v3 client may send is refused with WRONG_PASSWD."""
        a = yield self.client(ALICE, password=b"p" * 40)
        reply = yield a.login()
        self.assertEqual(reply.command, v3.SRV_WRONG_PASSWD)

    @defer.inlineCallbacks
    def test_locked(self):
        """A locked account gets LOGIN_ERR with its lock text, or 'Account locked...' without one."""
        support.query(self.dsn, "UPDATE users SET locked = true WHERE uin = %s", (ALICE,))
        a = yield self.client(ALICE)
        reply = yield a.login()
        self.assertEqual((reply.command, reply.seq1, reply.seq2), (v3.SRV_LOGIN_ERR, 0, 1))
        self.assertEqual(v3.Text.parse(reply.data).text, b"Account locked...")
        support.query(self.dsn, "UPDATE users SET lock_text = 'Go away' WHERE uin = %s", (ALICE,))
        reply = yield a.login()
        self.assertEqual(v3.Text.parse(reply.data).text, b"Go away")

    @defer.inlineCallbacks
    def test_relogin_replaces_by_default(self):
        """A correct LOGON from another address replaces the online session."""
        a = yield self.online(ALICE)
        old = self.network.sessions.get(ALICE)
        a2 = yield self.client(ALICE)
        hello = yield a2.login()
        self.assertEqual(hello.command, v3.SRV_HELLO)
        self.assertIsNot(self.network.sessions.get(ALICE), old)
        a.raw(v3.CMD_PING, seq1=50, seq2=0)
        yield a.wait_command(v3.SRV_NOT_CONNECTED)

    @defer.inlineCallbacks
    def test_logon_resent_before_hello_ack(self):
        """A LOGON resent before the HELLO is acknowledged is re-ACKed; the session and its HELLO stay."""
        a = yield self.client(ALICE)
        a.auto_ack = False
        yield a.login()
        session = self.network.sessions.get(ALICE)
        a.raw(v3.CMD_LOGON, v3.Logon(1234, PASSWORDS[ALICE]).build(), seq1=1, seq2=1)
        yield a.wait_for(lambda p: p.command == v3.SRV_ACK and len(a.of(v3.SRV_ACK)) == 2)
        yield a.ping()
        self.assertIs(self.network.sessions.get(ALICE), session)
        self.assertEqual(len(a.of(v3.SRV_HELLO)), 1)

    @defer.inlineCallbacks
    def test_new_logon_from_same_address(self):
        """After the HELLO was acknowledged, a LOGON from the same address is a new login with a new HELLO."""
        a = yield self.online(ALICE)
        session = self.network.sessions.get(ALICE)
        hello = yield a.login()
        self.assertEqual((hello.command, hello.seq1), (v3.SRV_HELLO, 0))
        self.assertIsNot(self.network.sessions.get(ALICE), session)


class LoginRefusalTests(V3Base):
    """Exchange 3 with IServerd's settings: no session replacement, a small table."""

    settings = {"replace_session": False, "max_online": 2}

    @defer.inlineCallbacks
    def test_already_online_and_table_full(self):
        """A second login gets 'already connected'; a login beyond Max online users gets 'table full'."""
        yield self.online(ALICE)
        a2 = yield self.client(ALICE)
        reply = yield a2.login()
        self.assertEqual(reply.command, v3.SRV_LOGIN_ERR)
        self.assertEqual(v3.Text.parse(reply.data).text, b"User 10001 already connected.\r\nTry again later.")
        yield self.online(BOB)
        c = yield self.client(CAROL)
        reply = yield c.login()
        self.assertEqual(reply.command, v3.SRV_LOGIN_ERR)
        self.assertIn(b"table full", v3.Text.parse(reply.data).text)


class DisabledTests(V3Base):
    """Exchange 3 with the v3 protocol switched off."""

    settings = {"v3_enabled": False}

    @defer.inlineCallbacks
    def test_disabled(self):
        """With V3 proto enabled = no, every LOGON gets LOGIN_ERR saying so."""
        a = yield self.client(ALICE)
        reply = yield a.login()
        self.assertEqual(reply.command, v3.SRV_LOGIN_ERR)
        self.assertEqual(
            v3.Text.parse(reply.data).text,
            b"V3 protocol disabled by administrator...\r\nTry to use another client version...",
        )


class SessionCheckTests(V3Base):
    """Exchange 4 and hostile senders: UIN, IP and port must all match the login."""

    @defer.inlineCallbacks
    def test_not_connected(self):
        """A session command from a UIN that is not logged in gets NOT_CONNECTED (SEQ1 0, SEQ2 and UIN copied)."""
        a = yield self.client(ALICE)
        a.raw(v3.CMD_PING, seq1=9, seq2=4)
        reply = yield a.wait_command(v3.SRV_NOT_CONNECTED)
        self.assertEqual((reply.seq1, reply.seq2, reply.uin), (0, 4, ALICE))

    @defer.inlineCallbacks
    def test_other_port_cannot_act(self):
        """Packets with an online UIN from another port get NOT_CONNECTED and change nothing."""
        yield self.online(ALICE)
        b = yield self.online(BOB, [ALICE])
        yield b.wait_command(v3.SRV_USER_ONLINE, uin=ALICE)
        spoof = yield self.client(ALICE)
        spoof.raw(v3.CMD_THRU_SERVER, v3.Message(BOB, 1, b"forged").build(), seq1=100, seq2=100)
        yield spoof.wait_command(v3.SRV_NOT_CONNECTED)
        spoof.raw(v3.CMD_SET_STATUS, v3.SetStatus(0x0001).build(), seq1=101, seq2=101)
        spoof.raw(v3.CMD_CONTACT_LIST, v3.UinList((BOB,)).build(), seq1=102, seq2=102)
        spoof.raw(v3.CMD_ACK, seq1=0, seq2=0)
        yield spoof.wait_for(lambda p: len(spoof.of(v3.SRV_NOT_CONNECTED)) == 3)
        spoof.logoff()
        yield b.ping()
        yield self.settle(b)
        self.assertEqual(b.of(v3.SRV_SYSMSG_ONLINE), [])
        self.assertEqual(b.of(v3.SRV_USER_STATUS), [])
        self.assertEqual(b.of(v3.SRV_USER_OFFLINE), [])
        session = self.network.sessions.get(ALICE)
        self.assertEqual((session.status, session.contacts), (0, set()))
        self.assertEqual(len(spoof.of(v3.SRV_NOT_CONNECTED)), 3)

    @defer.inlineCallbacks
    def test_foreign_ack_does_not_clear(self):
        """An ACK from another address does not clear a pending packet."""
        b = yield self.online(BOB, [ALICE])
        b.auto_ack = False
        yield self.online(ALICE)
        online = yield b.wait_command(v3.SRV_USER_ONLINE, uin=ALICE)
        spoof = yield self.client(BOB)
        spoof.raw(v3.CMD_ACK, seq1=online.seq1, seq2=0)
        yield b.ping()
        self.assertIn(online.seq1, self.network.sessions.get(BOB).pending)

    @defer.inlineCallbacks
    def test_internal_only_dropped(self):
        """WWP_MSG and broadcasts claiming UIN 1 from the network are dropped without a reply."""
        a = yield self.online(ALICE)
        page = v3.WebPagerMessage(ALICE, b"web", b"w@example.org", b"hi").build()
        a.raw(v3.CMD_WWP_MSG, page, uin=1)
        a.raw(v3.CMD_BROADCAST_MSG_ALL, v3.Broadcast(0, 0x14, b"all").build(), uin=1)
        yield a.ping()
        self.assertEqual([p.command for p in a.received if p.uin == 1], [])
        self.assertEqual(a.of(v3.SRV_SYSMSG_ONLINE), [])


class KeepAliveTests(V3Base):
    """Exchange 5: PING keeps a user online; silence takes it offline."""

    @defer.inlineCallbacks
    def test_ping_and_expiry(self):
        """A user who pings stays online; one who stops goes offline for its watchers after V3 ping time."""
        a = yield self.online(ALICE, [BOB])
        yield self.online(BOB, [ALICE])
        yield a.wait_command(v3.SRV_USER_ONLINE, uin=BOB)
        # The login's online-table row is written before the expiry removes it.
        yield self.network.settle()
        for _ in range(3):
            advance(self.clock, 40)
            yield a.ping()
        yield a.wait_command(v3.SRV_USER_OFFLINE, uin=BOB)
        self.assertIsNone(self.network.sessions.get(BOB))
        self.assertIsNotNone(self.network.sessions.get(ALICE))
        yield self.network.settle()
        self.assertEqual(support.query(self.dsn, "SELECT uin FROM online_users"), [(ALICE,)])

    @defer.inlineCallbacks
    def test_ping2(self):
        """PING2 is acknowledged like PING."""
        a = yield self.online(ALICE)
        ack = yield a.send(v3.CMD_PING2)
        self.assertEqual(ack.command, v3.SRV_ACK)


class PresenceTests(V3Base):
    """Exchanges 6 and 7: contact lists, presence and status."""

    @defer.inlineCallbacks
    def test_see_each_other(self):
        """Two v3 users who list each other see each other online, with v3 address fields, then LIST_DONE."""
        a = yield self.online(ALICE, [BOB])
        b = yield self.online(BOB, [ALICE])
        about_alice = yield b.wait_command(v3.SRV_USER_ONLINE, uin=ALICE)
        about_bob = yield a.wait_command(v3.SRV_USER_ONLINE, uin=BOB)
        parsed = v3.UserOnline.parse(about_alice.data)
        self.assertEqual(
            (parsed.ip, parsed.tcp_port, parsed.internal_ip, parsed.dc_type, parsed.tcp_version),
            ("127.0.0.1", 1234, "127.0.0.1", 4, 2),
        )
        self.assertEqual((about_alice.seq2, about_bob.seq2), (0, 0))
        online_at = b.received.index(about_alice)
        self.assertEqual(b.received[online_at + 1].command, v3.SRV_LIST_DONE)

    @defer.inlineCallbacks
    def test_user_add(self):
        """USER_ADD of an online user answers USER_ONLINE and makes the adder a watcher."""
        a = yield self.online(ALICE)
        b = yield self.online(BOB)
        yield a.user_add(BOB)
        yield a.wait_command(v3.SRV_USER_ONLINE, uin=BOB)
        b.logoff()
        yield a.wait_command(v3.SRV_USER_OFFLINE, uin=BOB)

    @defer.inlineCallbacks
    def test_contact_list_of_200(self):
        """A contact list of 200 UINs (count above 127) is stored whole."""
        uins = list(range(20001, 20201)) + [BOB]
        a = yield self.client(ALICE)
        yield a.login()
        yield a.send(v3.CMD_CONTACT_LIST, v3.UinList(tuple(uins)).build())
        yield a.wait_command(v3.SRV_LIST_DONE)
        self.assertEqual(len(self.network.sessions.get(ALICE).contacts), 201)

    @defer.inlineCallbacks
    def test_status_both_forms(self):
        """SET_STATUS with one WORD (Miranda) and with WORD status + WORD flags both reach watchers."""
        a = yield self.online(ALICE, [BOB])
        b = yield self.online(BOB)
        yield a.wait_command(v3.SRV_USER_ONLINE, uin=BOB)
        yield b.status(0x0001)
        got = v3.UserStatus.parse((yield a.wait_command(v3.SRV_USER_STATUS)).data)
        self.assertEqual((got.uin, got.status, got.flags), (BOB, 0x0001, 0))
        yield b.status(0x0011, 0x0002)
        got = v3.UserStatus.parse((yield a.wait_command(v3.SRV_USER_STATUS)).data)
        self.assertEqual((got.status, got.flags), (0x0011, 0x0002))

    @defer.inlineCallbacks
    def test_invisible(self):
        """Going invisible shows a user offline; a visible-list entry still sees it; back online shows it again."""
        a = yield self.online(ALICE, [CAROL])
        b = yield self.online(BOB, [CAROL])
        c = yield self.online(CAROL)
        yield a.wait_command(v3.SRV_USER_ONLINE, uin=CAROL)
        yield b.wait_command(v3.SRV_USER_ONLINE, uin=CAROL)
        yield c.send(v3.CMD_VISIBLE_LIST, v3.UinList((BOB,)).build())
        yield c.status(0x0100)
        yield a.wait_command(v3.SRV_USER_OFFLINE, uin=CAROL)
        got = v3.UserStatus.parse((yield b.wait_command(v3.SRV_USER_STATUS)).data)
        self.assertEqual(got.status, 0x0100)
        yield c.status(0x0000)
        yield a.wait_command(v3.SRV_USER_ONLINE, uin=CAROL)

    @defer.inlineCallbacks
    def test_invisible_list(self):
        """A user on someone's invisible list sees them go offline and is not told of their later logins."""
        a = yield self.online(ALICE, [BOB])
        b = yield self.online(BOB)
        yield a.wait_command(v3.SRV_USER_ONLINE, uin=BOB)
        yield b.send(v3.CMD_INVISIBLE_LIST, v3.UinList((ALICE,)).build())
        yield a.wait_command(v3.SRV_USER_OFFLINE, uin=BOB)

    @defer.inlineCallbacks
    def test_invisible_not_revealed_by_list(self):
        """An invisible user is not reported by a later contact list or USER_ADD (v3.md 21 #3)."""
        yield self.online(CAROL, status=0x0100)
        a = yield self.online(ALICE, [CAROL])
        yield a.user_add(CAROL)
        yield self.settle(a)
        self.assertEqual(a.of(v3.SRV_USER_ONLINE), [])


class MessageTests(V3Base):
    """Exchanges 8 and 9: online and offline messages."""

    @defer.inlineCallbacks
    def test_online_message(self):
        """A message reaches the online recipient once, as SYSMSG_ONLINE with SEQ2 0, type and text."""
        a = yield self.online(ALICE, [BOB])
        b = yield self.online(BOB, [ALICE])
        sent = a.seq + 1
        yield a.message(BOB, b"Hello")
        got = yield b.wait_command(v3.SRV_SYSMSG_ONLINE)
        self.assertEqual(got.seq2, 0)
        self.assertEqual(v3.Message.parse(got.data), v3.Message(ALICE, 1, b"Hello"))
        # The client's retransmission (same SEQ1) is re-ACKed, not delivered again.
        a.raw(v3.CMD_THRU_SERVER, v3.Message(BOB, 1, b"Hello").build(), seq1=sent, seq2=sent)
        yield a.wait_for(lambda p: p.command == v3.SRV_ACK and p.seq1 == sent and len(
            [q for q in a.of(v3.SRV_ACK) if q.seq1 == sent]) == 2)
        yield self.settle(a, b)
        self.assertEqual(len(b.of(v3.SRV_SYSMSG_ONLINE)), 1)

    @defer.inlineCallbacks
    def test_type_low_byte(self):
        """A v3 recipient gets the type's low byte, with a contact list (0x13) turned into 0x01."""
        a = yield self.online(ALICE)
        b = yield self.online(BOB)
        yield a.message(BOB, b"a", msg_type=0x8004)
        yield a.message(BOB, b"b", msg_type=0x0013)
        yield a.send(v3.CMD_AUTHORIZE, v3.Message(BOB, 8, b"").build())
        yield b.wait_for(lambda p: len(b.of(v3.SRV_SYSMSG_ONLINE)) == 3)
        self.assertEqual([(m.msg_type, m.text) for m in b.parsed(v3.SRV_SYSMSG_ONLINE)],
                         [(4, b"a"), (1, b"b"), (8, b"")])

    @defer.inlineCallbacks
    def test_lost_message_resent(self):
        """A SYSMSG_ONLINE lost on the way is resent after V3 max timeout and then acknowledged."""
        a = yield self.online(ALICE)
        b = yield self.online(BOB)
        lost = []

        def drop_once(packet):
            if packet.command == v3.SRV_SYSMSG_ONLINE and not lost:
                lost.append(packet)
                return True
            return False

        b.drop = drop_once
        yield a.message(BOB, b"again")
        yield b.ping()
        self.assertEqual(b.of(v3.SRV_SYSMSG_ONLINE), [])
        advance(self.clock, 11)
        got = yield b.wait_command(v3.SRV_SYSMSG_ONLINE)
        self.assertEqual(v3.Message.parse(got.data).text, b"again")
        self.assertEqual(got.seq1, lost[0].seq1)
        yield b.ping()
        self.assertTrue(self.no_pending(BOB))

    @defer.inlineCallbacks
    def test_unacknowledged_message_stored(self):
        """A message the recipient never acknowledges is stored; the recipient goes offline."""
        a = yield self.online(ALICE, [BOB])
        b = yield self.online(BOB)
        yield a.wait_command(v3.SRV_USER_ONLINE, uin=BOB)
        b.auto_ack = False
        yield a.message(BOB, b"are you there?")
        yield b.wait_command(v3.SRV_SYSMSG_ONLINE)
        for _ in range(45):
            self.clock.advance(1)
            yield a.ping()
        yield a.wait_command(v3.SRV_USER_OFFLINE, uin=BOB)
        yield self.network.settle()
        rows = support.query(self.dsn, "SELECT to_uin, from_uin, body FROM offline_messages")
        self.assertEqual([(r[0], r[1], bytes(r[2])) for r in rows], [(BOB, ALICE, b"are you there?")])
        self.assertEqual(len(b.of(v3.SRV_SYSMSG_ONLINE)), 4)

    @defer.inlineCallbacks
    def test_offline_message(self):
        """
        A message to an offline user is stored before the ACK, handed out only
        on SYSMSG_REQ with its UTC time, ended by SYSMSG_DONE with the
        request's SEQ2, deleted once acknowledged and never shown twice.
        """
        self.clock.advance(1000000000 - self.clock.seconds())
        a = yield self.online(ALICE)
        yield a.message(BOB, b"see you")
        self.assertEqual(support.query(self.dsn, "SELECT count(*) FROM offline_messages"), [(1,)])
        b = yield self.client(BOB)
        yield b.login()
        advance(self.clock, 10)
        yield b.ping()
        self.assertEqual(b.of(v3.SRV_SYSMSG_OFFLINE), [])
        request = yield b.offline_request()
        done = yield b.wait_command(v3.SRV_SYSMSG_DONE)
        self.assertEqual(done.seq2, request.seq2)
        (got,) = b.of(v3.SRV_SYSMSG_OFFLINE)
        self.assertEqual(got.seq2, 0)
        parsed = v3.OfflineMessage.parse(got.data)
        self.assertEqual((parsed.uin, parsed.time, parsed.msg_type, parsed.text), (ALICE, 1000000000, 1, b"see you"))
        self.assertEqual(datetime.fromtimestamp(parsed.time, timezone.utc).year, 2001)
        yield b.offline_done(parsed.time)
        yield self.network.settle()
        self.assertEqual(support.query(self.dsn, "SELECT count(*) FROM offline_messages"), [(0,)])
        b.logoff()
        b2 = yield self.online(BOB)
        self.assertEqual(b2.of(v3.SRV_SYSMSG_OFFLINE), [])

    @defer.inlineCallbacks
    def test_offline_message_unacknowledged_kept(self):
        """A SYSMSG_OFFLINE that is never acknowledged leaves the message stored for the next login."""
        a = yield self.online(ALICE)
        yield a.message(BOB, b"keep me")
        b = yield self.client(BOB)
        yield b.login()
        b.drop = lambda p: p.command == v3.SRV_SYSMSG_OFFLINE
        yield b.offline_request()
        yield b.wait_command(v3.SRV_SYSMSG_DONE)
        b.logoff()
        yield a.ping()
        yield self.network.settle()
        self.assertEqual(support.query(self.dsn, "SELECT count(*) FROM offline_messages"), [(1,)])
        b2 = yield self.online(BOB)
        self.assertEqual([m.text for m in b2.parsed(v3.SRV_SYSMSG_OFFLINE)], [b"keep me"])

    @defer.inlineCallbacks
    def test_unknown_recipient(self):
        """A message to an unknown UIN is acknowledged and dropped."""
        a = yield self.online(ALICE)
        ack = yield a.message(99999, b"nobody")
        self.assertEqual(ack.command, v3.SRV_ACK)
        self.assertEqual(support.query(self.dsn, "SELECT count(*) FROM offline_messages"), [(0,)])

    @defer.inlineCallbacks
    def test_long_message_refused(self):
        """A message over V3 max msgsize is refused with a notice; the sender stays online."""
        a = yield self.online(ALICE)
        b = yield self.online(BOB)
        yield a.message(BOB, b"x" * 2026)
        notice = yield a.wait_command(v3.SRV_SYSMSG_ONLINE)
        parsed = v3.Message.parse(notice.data)
        self.assertEqual(parsed.uin, 1)
        self.assertIn(b"2025", parsed.text)
        yield b.ping()
        self.assertEqual(b.of(v3.SRV_SYSMSG_ONLINE), [])
        self.assertIsNotNone(self.network.sessions.get(ALICE))


class LogoffTests(V3Base):
    """Exchange 10: LOGOFF."""

    @defer.inlineCallbacks
    def test_logoff(self):
        """LOGOFF gets no reply and takes the user offline for its watchers at once."""
        a = yield self.online(ALICE, [BOB])
        b = yield self.online(BOB)
        yield a.wait_command(v3.SRV_USER_ONLINE, uin=BOB)
        received = len(b.received)
        b.logoff()
        yield a.wait_command(v3.SRV_USER_OFFLINE, uin=BOB)
        self.assertEqual(len(b.received), received)
        self.assertIsNone(self.network.sessions.get(BOB))

    @defer.inlineCallbacks
    def test_stray_logoff_ignored(self):
        """A LOGOFF from a sender that is not online gets no answer at all."""
        a = yield self.client(ALICE)
        a.logoff()
        a.raw(v3.CMD_PING, seq1=3, seq2=0)
        yield a.wait_command(v3.SRV_NOT_CONNECTED)
        self.assertEqual([p.command for p in a.received], [v3.SRV_NOT_CONNECTED])

    @defer.inlineCallbacks
    def test_other_logoff_text_ignored(self):
        """A LOGOFF whose text is not B_USER_DISCONNECTED leaves the session alone."""
        a = yield self.online(ALICE)
        a.raw(v3.CMD_LOGOFF, v3.Logoff(b"B_MESSAGE_ACK").build(), seq1=0, seq2=0)
        yield a.ping()
        self.assertIsNotNone(self.network.sessions.get(ALICE))


class FragmentTests(V3Base):
    """Long packets travel as fragments, both ways (v3.md section 16)."""

    @defer.inlineCallbacks
    def test_server_fragments(self):
        """
        A 600-byte message goes out as two fragments with consecutive SEQ1s and
        one SEQ2; the client joins them, and each fragment is acknowledged.
        """
        a = yield self.online(ALICE)
        b = yield self.online(BOB)
        text = b"x" * 600
        yield a.message(BOB, text)
        got = yield b.wait_command(v3.SRV_SYSMSG_ONLINE)
        self.assertEqual(v3.Message.parse(got.data), v3.Message(ALICE, 1, text))
        first, second = b.fragments
        self.assertEqual((len(v3.encode(first)), second.seq1, first.seq2, second.seq2),
                         (500, (first.seq1 + 1) & 0xFFFF, first.seq1, first.seq1))
        self.assertEqual(got.seq1, first.seq1)
        yield b.ping()
        self.assertTrue(self.no_pending(BOB))

    @defer.inlineCallbacks
    def test_lost_fragment_resent(self):
        """A lost fragment alone is resent, and the message is then complete."""
        a = yield self.online(ALICE)
        b = yield self.online(BOB)
        lost = []

        def drop_second(packet):
            if packet.command == v3.SRV_FRAGMENT and packet.data[:1] == b"\x01" and not lost:
                lost.append(packet)
                return True
            return False

        b.drop = drop_second
        yield a.message(BOB, b"y" * 1200)
        yield b.ping()
        self.assertEqual(b.of(v3.SRV_SYSMSG_ONLINE), [])
        advance(self.clock, 11)
        got = yield b.wait_command(v3.SRV_SYSMSG_ONLINE)
        self.assertEqual(len(v3.Message.parse(got.data).text), 1200)
        # Three fragments; only the lost one came again, with its own bytes.
        self.assertEqual([f.seq1 for f in b.fragments][-1], lost[0].seq1)
        self.assertEqual(len(b.fragments), 3)
        self.assertEqual(v3.encode(b.fragments[-1]), v3.encode(lost[0]))

    @defer.inlineCallbacks
    def test_client_fragments(self):
        """A message in two client fragments, in either byte order, is joined, ACKed and delivered once."""
        a = yield self.online(ALICE)
        b = yield self.online(BOB)
        body = v3.Message(BOB, 1, b"y" * 21).build()
        yield a.send_fragmented(v3.CMD_THRU_SERVER, body)
        yield a.send_fragmented(v3.CMD_THRU_SERVER, v3.Message(BOB, 1, b"swapped").build(), pieces=3, swap=True)
        yield b.wait_for(lambda p: len(b.of(v3.SRV_SYSMSG_ONLINE)) == 2)
        self.assertEqual([m.text for m in b.parsed(v3.SRV_SYSMSG_ONLINE)], [b"y" * 21, b"swapped"])
        self.assertEqual(len(self.server.protocol.handlers[3].reassembler), 0)

    @defer.inlineCallbacks
    def test_fragment_for_another_uin(self):
        """Joined fragments that carry another UIN's packet are dropped."""
        a = yield self.online(ALICE)
        b = yield self.online(BOB)
        inner = v3.encode(v3.Packet(v3.CMD_THRU_SERVER, 5, 5, BOB, v3.Message(ALICE, 1, b"forged").build()))
        a.raw(v3.CMD_FRAGMENT, b"\x00\x02" + inner[:20], seq1=70, seq2=70)
        a.raw(v3.CMD_FRAGMENT, b"\x01\x02" + inner[20:], seq1=71, seq2=70)
        yield a.ping()
        yield self.settle(b)
        self.assertEqual(a.of(v3.SRV_SYSMSG_ONLINE), [])


class DepartmentTests(V3Base):
    """GET_DEPS before login and GET_DEPS1 in a session (v3.md section 7.8)."""

    def setUp(self):
        d = V3Base.setUp(self)

        def fill(_):
            support.query(self.dsn, "INSERT INTO departments (code, name) VALUES (20, 'Sales'), (10, 'IT')")

        return d.addCallback(fill)

    @defer.inlineCallbacks
    def test_get_deps(self):
        """GET_DEPS with the right password gets the ACK and DEPS_LIST; a wrong one WRONG_PASSWD with UIN 0."""
        x = yield self.client(0)
        x.raw(v3.CMD_GET_DEPS, v3.GetDeps(ALICE, PASSWORDS[ALICE]).build(), seq1=1, seq2=1)
        reply = yield x.wait_command(v3.SRV_DEPS_LIST)
        self.assertEqual((reply.seq1, reply.seq2, reply.uin), (0, 1, ALICE))
        self.assertEqual(v3.DepsList.parse(reply.data), v3.DepsList(1, ((10, b"IT"), (20, b"Sales"))))
        self.assertEqual(x.received[0].command, v3.SRV_ACK)
        x.raw(v3.CMD_GET_DEPS, v3.GetDeps(ALICE, b"wrong").build(), seq1=2, seq2=2)
        reply = yield x.wait_command(v3.SRV_WRONG_PASSWD)
        self.assertEqual((reply.seq2, reply.uin), (2, 0))
        self.assertEqual(len(self.network.sessions), 0)

    @defer.inlineCallbacks
    def test_get_deps_online_busy(self):
        """GET_DEPS for a UIN that is online gets BUSY."""
        yield self.online(ALICE)
        x = yield self.client(0)
        x.raw(v3.CMD_GET_DEPS, v3.GetDeps(ALICE, PASSWORDS[ALICE]).build(), seq1=1, seq2=3)
        reply = yield x.wait_command(v3.SRV_BUSY)
        self.assertEqual((reply.seq2, reply.uin), (3, 0))

    @defer.inlineCallbacks
    def test_get_deps1(self):
        """GET_DEPS1 in a session gets the ACK and a reliable DEPS_LIST1 with the request's SEQ2."""
        a = yield self.online(ALICE)
        ack = yield a.send(v3.CMD_GET_DEPS1)
        reply = yield a.wait_command(v3.SRV_DEPS_LIST1)
        self.assertEqual(reply.seq2, ack.seq2)
        self.assertEqual(v3.DepsList1.parse(reply.data).departments, ((10, b"IT"), (20, b"Sales")))
        yield a.ping()
        self.assertTrue(self.no_pending(ALICE))


class OtherCommandTests(V3Base):
    """The session-time commands that are only acknowledged (v3.md 7.9, 12)."""

    @defer.inlineCallbacks
    def test_acknowledged_only(self):
        """RECONNECT, USAGE_STATS, SET_STATE, 0x0604, SYSMSG_DONE_ACK and unknown commands get an ACK."""
        a = yield self.online(ALICE)
        for command, data in (
            (v3.CMD_RECONNECT, b""), (v3.CMD_USAGE_STATS, b"\x01\x02"), (v3.CMD_SET_STATE, b"\x01"),
            (v3.CMD_BROADCAST_REQ, b"\x00" * 8), (v3.CMD_SYSMSG_DONE_ACK, b"\x00" * 4), (0x7777, b"?"),
        ):
            ack = yield a.send(command, data)
            self.assertEqual(ack.command, v3.SRV_ACK)

    @defer.inlineCallbacks
    def test_sessionless_acknowledged(self):
        """GET_EXTERNALS and FIRST_LOGIN are acknowledged without a login."""
        x = yield self.client(0)
        ack = yield x.send(v3.CMD_GET_EXTERNALS, b"\x00\x00\x00\x04")
        self.assertEqual(ack.command, v3.SRV_ACK)
        ack = yield x.send(v3.CMD_FIRST_LOGIN)
        self.assertEqual(ack.command, v3.SRV_ACK)


class DatabaseOutageTests(V3Base):
    """The database going away while v3 users are online."""

    def set_allowed(self, allowed):
        cluster = support.cluster()
        name = support.database_name(self.dsn)
        cluster.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS " + ("true" if allowed else "false")).format(
                sql.Identifier(name)
            )
        )
        if not allowed:
            cluster.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))

    @defer.inlineCallbacks
    def test_outage(self):
        """
        While the database is away a LOGON gets BUSY without an ACK and a
        message to an offline user is not acknowledged; afterwards the resent
        message is stored and the LOGON succeeds.
        """
        a = yield self.online(ALICE)
        yield self.network.settle()
        storage = self.server.storage
        self.addCleanup(self.set_allowed, True)
        self.set_allowed(False)
        yield support.pool_down(storage)

        c = yield self.client(CAROL)
        reply = yield c.login()
        self.assertEqual((reply.command, reply.seq1, reply.seq2), (v3.SRV_BUSY, 0, 1))
        self.assertEqual(c.of(v3.SRV_ACK), [])

        a.seq += 1
        sent = a.raw(v3.CMD_THRU_SERVER, v3.Message(CAROL, 1, b"for carol").build())
        yield a.ping()
        self.assertFalse([p for p in a.of(v3.SRV_ACK) if p.seq1 == sent.seq1])

        self.set_allowed(True)
        yield support.pool_up(storage)
        a.raw(v3.CMD_THRU_SERVER, v3.Message(CAROL, 1, b"for carol").build(), seq1=sent.seq1, seq2=sent.seq2)
        yield a.wait_for(lambda p: p.command == v3.SRV_ACK and p.seq1 == sent.seq1)
        rows = support.query(self.dsn, "SELECT to_uin, body FROM offline_messages")
        self.assertEqual([(r[0], bytes(r[1])) for r in rows], [(CAROL, b"for carol")])
        reply = yield c.login()
        self.assertEqual(reply.command, v3.SRV_HELLO)


class GarbageTests(V3Base):
    """Hostile input leaves the server serving."""

    @defer.inlineCallbacks
    def test_garbage_leaves_server_serving(self):
        """1,000 random and mutated v3 datagrams leave the server serving logins and messages."""
        rng = random.Random(3)
        noise = yield self.client(CAROL)
        packet = lambda command, data, uin=ALICE: v3.encode(v3.Packet(command, 2, 2, uin, data))
        valid = [
            packet(v3.CMD_LOGON, v3.Logon(0, b"x").build()),
            packet(v3.CMD_THRU_SERVER, v3.Message(BOB, 1, b"hi").build()),
            packet(v3.CMD_CONTACT_LIST, v3.UinList((ALICE, BOB)).build(), BOB),
            packet(v3.CMD_FRAGMENT, b"\x00\x02" + packet(v3.CMD_PING, b"")),
            packet(v3.CMD_SET_STATUS, b"\x01\x00\x00\x00"),
            packet(v3.CMD_GET_DEPS, v3.GetDeps(ALICE, b"x").build(), 0),
            packet(v3.CMD_LOGOFF, v3.Logoff().build()),
        ]
        target = ("127.0.0.1", self.server.udp_port)
        for i in range(1000):
            if i % 2:
                datagram = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 80)))
                if i % 4 == 1:
                    datagram = b"\x03\x00" + datagram
            else:
                datagram = bytearray(rng.choice(valid))
                for _ in range(rng.randrange(1, 4)):
                    datagram[rng.randrange(len(datagram))] ^= 1 << rng.randrange(8)
                datagram = bytes(datagram[: rng.randrange(len(datagram) + 1)])
            noise.transport.write(datagram, target)
            if i % 100 == 0:
                yield task.deferLater(reactor, 0, lambda: None)
        a = yield self.online(ALICE)
        b = yield self.online(BOB)
        yield a.message(BOB, b"still here")
        got = yield b.wait_command(v3.SRV_SYSMSG_ONLINE)
        self.assertEqual(v3.Message.parse(got.data).text, b"still here")
        self.assertEqual(self.server.protocol.counters["errors"], 0)


class BroadcastTests(V3Base):
    """Department broadcasts from users with the broadcast right (v3.md section 12)."""

    @defer.inlineCallbacks
    def test_without_right(self):
        """A broadcast from a user without the broadcast right gets no ACK and reaches nobody."""
        a = yield self.online(ALICE)
        b = yield self.online(BOB)
        a.seq += 1
        sent = a.raw(v3.CMD_BROADCAST_MSG_ONLINE, v3.Broadcast(0, 1, b"hear me").build())
        yield a.ping()
        yield self.settle(b)
        self.assertEqual([p for p in a.of(v3.SRV_ACK) if p.seq1 == sent.seq1], [])
        self.assertEqual(b.of(v3.SRV_SYSMSG_ONLINE), [])

    @defer.inlineCallbacks
    def test_online_to_everybody(self):
        """BROADCAST_MSG_ONLINE to department 0 reaches every other online user as type 0x0014, v5 users as 0x0009."""
        support.query(self.dsn, "UPDATE users SET can_broadcast = true WHERE uin = %s", (ALICE,))
        a = yield self.online(ALICE)
        b = yield self.online(BOB)
        c = yield v5client.connect(self, reactor, self.server.udp_port, CAROL, PASSWORDS[CAROL])
        yield c.login()
        ack = yield a.send(v3.CMD_BROADCAST_MSG_ONLINE, v3.Broadcast(0, 1, b"lunch").build())
        self.assertEqual(ack.command, v3.SRV_ACK)
        got = v3.Message.parse((yield b.wait_command(v3.SRV_SYSMSG_ONLINE)).data)
        self.assertEqual((got.uin, got.msg_type, got.text), (ALICE, 0x0014, b"lunch"))
        got = v5.OnlineMessage.parse((yield c.wait_command(v5.SRV_ONLINE_MESSAGE)).data)
        self.assertEqual((got.sender, got.msg_type, got.text), (ALICE, 0x0009, b"lunch"))
        yield a.ping()
        self.assertEqual(a.of(v3.SRV_SYSMSG_ONLINE), [])
        self.assertEqual(support.query(self.dsn, "SELECT count(*) FROM offline_messages"), [(0,)])

    @defer.inlineCallbacks
    def test_all_to_department(self):
        """BROADCAST_MSG_ALL to a department reaches its online members and is stored for its offline ones only."""
        yield self.server.storage.create_user(DAVE, b"dave", "dave")
        support.query(self.dsn, "UPDATE users SET can_broadcast = true WHERE uin = %s", (ALICE,))
        support.query(self.dsn, "UPDATE users SET work_department_code = '10' WHERE uin IN (%s, %s)", (BOB, CAROL))
        a = yield self.online(ALICE)
        b = yield self.online(BOB)
        yield a.send(v3.CMD_BROADCAST_MSG_ALL, v3.Broadcast(10, 1, b"team meeting").build())
        got = v3.Message.parse((yield b.wait_command(v3.SRV_SYSMSG_ONLINE)).data)
        self.assertEqual((got.uin, got.msg_type, got.text), (ALICE, 0x0014, b"team meeting"))
        rows = support.query(self.dsn, "SELECT to_uin, from_uin, msg_type, body FROM offline_messages")
        self.assertEqual([(r[0], r[1], r[2], bytes(r[3])) for r in rows], [(CAROL, ALICE, 0x0014, b"team meeting")])
