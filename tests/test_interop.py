"""
v3 and v5 users on one network: presence, status and messages across the two
protocols, online and offline, over real UDP with a real PostgreSQL.
"""

from twisted.internet import defer, reactor
from twisted.trial import unittest

from iserverd.codec import v3, v5
from iserverd.testing import v3client
from tests import support
from tests.support import ALICE, BOB, CAROL, PASSWORDS, start_server


class InteropTests(unittest.TestCase):
    """
    ALICE uses a v3 (Groupware) client, BOB a v5 client; CAROL either.
    """

    @defer.inlineCallbacks
    def setUp(self):
        self.server, self.clock, self.dsn = yield start_server(self)

    def v3_online(self, uin, contacts=(), status=0):
        return support.v3_online(self, self.server, uin, PASSWORDS[uin], contacts, status)

    def v5_online(self, uin, contacts=(), status=0):
        return support.v5_online(self, self.server, uin, PASSWORDS[uin], contacts, status)

    @defer.inlineCallbacks
    def test_presence_both_ways(self):
        """
        A v3 and a v5 user see each other come online, with the address fields
        zeroed across versions, and go offline.
        """
        a = yield self.v3_online(ALICE, [BOB])
        b = yield self.v5_online(BOB, [ALICE])
        about_bob = v3.UserOnline.parse((yield a.wait_command(v3.SRV_USER_ONLINE, uin=BOB)).data)
        self.assertEqual(
            (about_bob.ip, about_bob.tcp_port, about_bob.internal_ip, about_bob.dc_type, about_bob.tcp_version),
            ("0.0.0.0", 0, "0.0.0.0", 0, 6),
        )
        about_alice = v5.UserOnline.parse((yield b.wait_command(v5.SRV_USER_ONLINE, uin=ALICE)).data)
        self.assertEqual((about_alice.external_ip, about_alice.tcp_port), ("0.0.0.0", 0))
        b.logoff()
        yield a.wait_command(v3.SRV_USER_OFFLINE, uin=BOB)
        b2 = yield self.v5_online(BOB, [ALICE])
        yield b2.wait_command(v5.SRV_USER_ONLINE, uin=ALICE)
        yield a.wait_command(v3.SRV_USER_ONLINE, uin=BOB)
        a.logoff()
        yield b2.wait_command(v5.SRV_USER_OFFLINE, uin=ALICE)

    @defer.inlineCallbacks
    def test_expiry_seen_across(self):
        """A v3 user whose pings stop goes offline for its v5 watcher."""
        yield self.v3_online(ALICE)
        b = yield self.v5_online(BOB, [ALICE])
        yield b.wait_command(v5.SRV_USER_ONLINE, uin=ALICE)
        for _ in range(60):
            self.clock.advance(1)
        yield b.wait_command(v5.SRV_USER_OFFLINE, uin=ALICE)

    @defer.inlineCallbacks
    def test_messages_both_ways_online(self):
        """Online messages go v3 -> v5 and v5 -> v3 once each, the v3 recipient getting the type's low byte."""
        a = yield self.v3_online(ALICE, [BOB])
        b = yield self.v5_online(BOB, [ALICE])
        yield a.message(BOB, b"hi from v3", msg_type=4)
        got = v5.OnlineMessage.parse((yield b.wait_command(v5.SRV_ONLINE_MESSAGE)).data)
        self.assertEqual((got.sender, got.msg_type, got.text), (ALICE, 4, b"hi from v3"))
        yield b.message(ALICE, b"hi from v5", msg_type=0x8001)
        got = v3.Message.parse((yield a.wait_command(v3.SRV_SYSMSG_ONLINE)).data)
        self.assertEqual((got.uin, got.msg_type, got.text), (BOB, 1, b"hi from v5"))
        yield a.ping()
        yield b.keep_alive()
        self.assertEqual((len(a.of(v3.SRV_SYSMSG_ONLINE)), len(b.of(v5.SRV_ONLINE_MESSAGE))), (1, 1))

    @defer.inlineCallbacks
    def test_offline_v3_to_v5(self):
        """A v3 user's message to an offline v5 user is stored and delivered at the v5 login, once."""
        a = yield self.v3_online(ALICE)
        yield a.message(BOB, b"stored by v3")
        self.assertEqual(support.query(self.dsn, "SELECT count(*) FROM offline_messages"), [(1,)])
        b = yield self.v5_online(BOB)
        got = v5.OfflineMessage.parse((yield b.wait_command(v5.SRV_OFFLINE_MESSAGE)).data)
        self.assertEqual((got.sender, got.msg_type, got.text), (ALICE, 1, b"stored by v3"))
        yield b.keep_alive()
        yield self.server.network.settle()
        self.assertEqual(support.query(self.dsn, "SELECT count(*) FROM offline_messages"), [(0,)])

    @defer.inlineCallbacks
    def test_offline_v5_to_v3(self):
        """A v5 user's message to an offline v3 user is stored and handed out at the v3 SYSMSG_REQ, once."""
        b = yield self.v5_online(BOB)
        yield b.message(ALICE, b"stored by v5", msg_type=0x8004)
        a = yield v3client.connect(self, reactor, self.server.udp_port, ALICE, PASSWORDS[ALICE])
        yield a.login()
        yield a.offline_request()
        yield a.wait_command(v3.SRV_SYSMSG_DONE)
        (got,) = a.parsed(v3.SRV_SYSMSG_OFFLINE)
        self.assertEqual((got.uin, got.msg_type, got.text), (BOB, 4, b"stored by v5"))
        yield a.offline_done(got.time)
        yield self.server.network.settle()
        self.assertEqual(support.query(self.dsn, "SELECT count(*) FROM offline_messages"), [(0,)])

    @defer.inlineCallbacks
    def test_status_both_ways(self):
        """Status changes reach a watcher of the other version, flags included; invisibility hides across."""
        a = yield self.v3_online(ALICE, [BOB])
        b = yield self.v5_online(BOB, [ALICE])
        yield a.wait_command(v3.SRV_USER_ONLINE, uin=BOB)
        yield b.wait_command(v5.SRV_USER_ONLINE, uin=ALICE)
        yield b.status(0x0011, 0x0001)
        got = v3.UserStatus.parse((yield a.wait_command(v3.SRV_USER_STATUS)).data)
        self.assertEqual((got.uin, got.status, got.flags), (BOB, 0x0011, 0x0001))
        yield a.status(0x0001)
        got = v5.UserStatus.parse((yield b.wait_command(v5.SRV_USER_STATUS)).data)
        self.assertEqual((got.uin, got.status, got.flags), (ALICE, 0x0001, 0))
        yield a.status(0x0100)
        yield b.wait_command(v5.SRV_USER_OFFLINE, uin=ALICE)
        yield b.status(0x0100)
        yield a.wait_command(v3.SRV_USER_OFFLINE, uin=BOB)

    @defer.inlineCallbacks
    def test_long_v3_message_split_for_v5(self):
        """A 1,000-byte v3 message reaches a v5 user as ONLINE_MESSAGEs of 450, 450 and 100 bytes, in order."""
        a = yield self.v3_online(ALICE)
        b = yield self.v5_online(BOB)
        text = bytes(ord("a") + i % 26 for i in range(1000))
        yield a.message(BOB, text)
        yield b.wait_for(lambda p: len(b.of(v5.SRV_ONLINE_MESSAGE)) == 3)
        pieces = [v5.OnlineMessage.parse(p.data).text for p in b.of(v5.SRV_ONLINE_MESSAGE)]
        self.assertEqual([len(p) for p in pieces], [450, 450, 100])
        self.assertEqual(b"".join(pieces), text)

    @defer.inlineCallbacks
    def test_long_v3_message_offline_for_v5(self):
        """A long v3 message stored for a v5 user is split into 450-byte pieces when delivered."""
        a = yield self.v3_online(ALICE)
        yield a.message(BOB, b"z" * 700)
        b = yield self.v5_online(BOB)
        yield b.wait_for(lambda p: len(b.of(v5.SRV_OFFLINE_MESSAGE)) == 2)
        pieces = [v5.OfflineMessage.parse(p.data).text for p in b.of(v5.SRV_OFFLINE_MESSAGE)]
        self.assertEqual([len(p) for p in pieces], [450, 250])

    @defer.inlineCallbacks
    def test_login_replaces_across_versions(self):
        """A v3 login of a UIN online with v5 replaces that session; watchers see it go and come back."""
        c = yield self.v5_online(CAROL)
        a = yield self.v3_online(ALICE, [CAROL])
        yield a.wait_command(v3.SRV_USER_ONLINE, uin=CAROL)
        c3 = yield self.v3_online(CAROL)
        yield a.wait_command(v3.SRV_USER_OFFLINE, uin=CAROL)
        yield a.wait_command(v3.SRV_USER_ONLINE, uin=CAROL)
        self.assertEqual(self.server.network.sessions.get(CAROL).version, 3)
        c.raw(v5.CMD_KEEP_ALIVE, b"\x00" * 4)
        yield c.wait_command(v5.SRV_NOT_CONNECTED)
        yield c3.ping()

    @defer.inlineCallbacks
    def test_administrator_broadcast(self):
        """The administrator's broadcast reaches a v3 user as type 0x14 and a v5 user as a system message."""
        a = yield self.v3_online(ALICE)
        b = yield self.v5_online(BOB)
        yield self.server.network.broadcast("restart at 18:00", subject="Maintenance")
        got = v3.Message.parse((yield a.wait_command(v3.SRV_SYSMSG_ONLINE)).data)
        self.assertEqual((got.uin, got.msg_type), (1, 0x0014))
        self.assertTrue(got.text.endswith(b"Maintenance\xferestart at 18:00"))
        got = v5.OnlineMessage.parse((yield b.wait_command(v5.SRV_ONLINE_MESSAGE)).data)
        self.assertEqual((got.sender, got.msg_type), (1, 0x0009))
