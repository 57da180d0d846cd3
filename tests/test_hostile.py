"""
Hostile clients: a logged-in user trying to act as someone else.
"""

from twisted.internet import defer, reactor
from twisted.trial import unittest

from iserverd.codec import v5
from iserverd.testing.v5client import connect
from tests import support
from tests.support import ALICE, BOB, CAROL
from tests.test_v5_loopback import LoopbackMixin


class HostileClientTests(LoopbackMixin, unittest.TestCase):
    """
    A logged-in user cannot use its own login to act for another user.
    """

    @defer.inlineCallbacks
    def test_cannot_read_others_offline_messages(self):
        """Asking for or acknowledging another user's offline messages is refused; they stay stored."""
        a = yield self.online(ALICE, [])
        yield a.message(BOB, b"for bob only")
        mallory = yield self.online(CAROL, [])
        for command in (v5.CMD_SYSMSG_REQ, v5.CMD_ACK_MESSAGES, v5.CMD_CONTACT_LIST):
            mallory.raw(command, b"\x00\x00\x00\x00", uin=BOB)
            yield mallory.wait_command(v5.SRV_NOT_CONNECTED)
        yield self.server.network.settle()
        self.assertEqual(support.query(self.dsn, "SELECT count(*) FROM offline_messages WHERE to_uin = %s", (BOB,)),
                         [(1,)])
        self.assertEqual(mallory.of(v5.SRV_OFFLINE_MESSAGE), [])

    @defer.inlineCallbacks
    def test_cannot_act_for_online_user(self):
        """With the victim online, its UIN and even its session id from another socket do nothing."""
        b = yield self.online(BOB, [ALICE])
        yield self.online(ALICE, [])
        yield b.wait_command(v5.SRV_USER_ONLINE, uin=ALICE)
        victim = self.server.network.sessions.get(ALICE)
        mallory = yield connect(self, reactor, self.server.udp_port, ALICE, b"", session_id=victim.session_id)
        for command, data in (
            (v5.CMD_STATUS_CHANGE, v5.StatusChange(0x0100).build()),
            (v5.CMD_SEND_MESSAGE, v5.SendMessage(BOB, 1, b"forged").build()),
            (v5.CMD_INVIS_LIST, v5.UinList((BOB,)).build()),
        ):
            mallory.raw(command, data, seq1=victim.next_seq + 500)
            yield mallory.wait_command(v5.SRV_NOT_CONNECTED)
        mallory.raw(v5.CMD_LOGOFF, v5.Logoff().build())
        yield b.keep_alive()
        self.assertIs(self.server.network.sessions.get(ALICE), victim)
        self.assertEqual((victim.status, victim.invisible), (0, set()))
        self.assertEqual(b.of(v5.SRV_ONLINE_MESSAGE), [])
        self.assertEqual(b.of(v5.SRV_USER_OFFLINE), [])

    @defer.inlineCallbacks
    def test_acks_from_elsewhere_ignored(self):
        """An ACK for another user's pending packet from another address does not clear it."""
        a = yield self.online(ALICE, [])
        b = yield self.online(BOB, [])
        b.auto_ack = False
        yield a.message(BOB, b"must arrive")
        packet = yield b.wait_command(v5.SRV_ONLINE_MESSAGE)
        mallory = yield connect(self, reactor, self.server.udp_port, BOB, b"",
                                session_id=self.server.network.sessions.get(BOB).session_id)
        mallory.raw(v5.CMD_ACK, b"\x00" * 4, seq1=packet.seq1, seq2=packet.seq2)
        yield a.keep_alive()
        self.assertIn(packet.seq1, self.server.network.sessions.get(BOB).pending)

    @defer.inlineCallbacks
    def test_wrong_password_never_replaces(self):
        """A login with the wrong password never disturbs the online session."""
        yield self.online(ALICE, [])
        victim = self.server.network.sessions.get(ALICE)
        mallory = yield connect(self, reactor, self.server.udp_port, ALICE, b"guess", seed=5)
        reply = yield mallory.login()
        self.assertEqual(reply.command, v5.SRV_BAD_PASSWORD)
        self.assertIs(self.server.network.sessions.get(ALICE), victim)
