"""
Fast tests of both protocol handlers and the guards they share
(L{iserverd.core.guards}), through the transport on a
L{FakeDatagramTransport}, with the in-memory stores and a L{task.Clock}
(see L{tests.support.MemoryServer}).
"""

from twisted.trial import unittest

from iserverd.codec import v3, v5
from iserverd.core.guards import REGISTRATION_INTERVAL
from tests.support import ALICE, BOB, CAROL, PASSWORDS, MemoryServer, MemoryV3Client, MemoryV5Client


def commands(packets):
    return [p.command for p in packets]


class HandlerTestCase(unittest.TestCase):
    settings = {}

    def setUp(self):
        self.server = MemoryServer(**self.settings)
        for uin, password in PASSWORDS.items():
            self.successResultOf(self.server.storage.create_user(uin, password, "nick%d" % uin))

    def v5_online(self, uin, addr, contacts=()):
        c = MemoryV5Client(self.server, uin, addr)
        c.login(PASSWORDS[uin])
        self.assertIn(v5.SRV_HELLO, commands(c.received()))
        c.send(v5.CMD_CONTACT_LIST, v5.UinList(tuple(contacts)).build())
        c.received()
        return c

    def v3_online(self, uin, addr, contacts=()):
        c = MemoryV3Client(self.server, uin, addr)
        c.login(PASSWORDS[uin])
        self.assertEqual(commands(c.received()), [v3.SRV_ACK, v3.SRV_HELLO])
        c.send(v3.CMD_CONTACT_LIST, v3.UinList(tuple(contacts)).build())
        c.received()
        return c


class V5HandlerTests(HandlerTestCase):
    def test_login_and_message(self):
        """Two v5 users log in, see each other and talk; the sender's ACK follows the relay."""
        a = self.v5_online(ALICE, ("192.0.2.1", 4000), [BOB])
        b = self.v5_online(BOB, ("192.0.2.2", 4000), [ALICE])
        self.assertIn(v5.SRV_USER_ONLINE, commands(a.received()))
        sent = a.send(v5.CMD_SEND_MESSAGE, v5.SendMessage(BOB, 1, b"hi").build())
        (ack,) = a.received()
        self.assertEqual((ack.command, ack.seq1), (v5.SRV_ACK, sent.seq1))
        (message,) = [p for p in b.received() if p.command == v5.SRV_ONLINE_MESSAGE]
        self.assertEqual(v5.OnlineMessage.parse(message.data).text, b"hi")

    def test_wrong_address_not_connected(self):
        """A session command from another address is answered NOT_CONNECTED and not acted on."""
        self.v5_online(ALICE, ("192.0.2.1", 4000))
        intruder = MemoryV5Client(self.server, ALICE, ("198.51.100.1", 4000))
        intruder.send(v5.CMD_STATUS_CHANGE, v5.StatusChange(1, 0).build())
        self.assertEqual(commands(intruder.received()), [v5.SRV_NOT_CONNECTED])
        self.assertEqual(self.server.network.sessions.get(ALICE).status, 0)

    def test_repeat_acknowledged_once_acted(self):
        """A resent command is acknowledged again but acted on once."""
        a = self.v5_online(ALICE, ("192.0.2.1", 4000))
        b = self.v5_online(BOB, ("192.0.2.2", 4000), [ALICE])
        b.received()
        first = a.send(v5.CMD_STATUS_CHANGE, v5.StatusChange(1, 0).build())
        a.send(v5.CMD_STATUS_CHANGE, v5.StatusChange(1, 0).build(), seq1=first.seq1)
        self.assertEqual(commands(a.received()), [v5.SRV_ACK, v5.SRV_ACK])
        self.assertEqual(commands(b.received()), [v5.SRV_USER_STATUS])

    def test_long_message_refused(self):
        """A message over V5 max msgsize is acknowledged, not delivered, and the sender told why."""
        a = self.v5_online(ALICE, ("192.0.2.1", 4000))
        b = self.v5_online(BOB, ("192.0.2.2", 4000))
        a.send(v5.CMD_SEND_MESSAGE, v5.SendMessage(BOB, 1, b"x" * 451).build())
        notice = [p for p in a.received() if p.command == v5.SRV_ONLINE_MESSAGE]
        self.assertIn(b"longer than 450 bytes", v5.OnlineMessage.parse(notice[0].data).text)
        self.assertEqual(b.received(), [])

    def test_message_unacknowledged_while_database_away(self):
        """A message for an offline user is not acknowledged while it cannot be stored."""
        a = self.v5_online(ALICE, ("192.0.2.1", 4000))
        self.server.storage.unavailable = True
        sent = a.send(v5.CMD_SEND_MESSAGE, v5.SendMessage(CAROL, 1, b"later").build())
        self.assertEqual(a.received(), [])
        self.server.storage.unavailable = False
        a.send(v5.CMD_SEND_MESSAGE, v5.SendMessage(CAROL, 1, b"later").build(), seq1=sent.seq1)
        self.assertEqual(commands(a.received()), [v5.SRV_ACK])
        self.assertEqual([m.body for m in self.server.storage.messages.values()], [b"later"])


class RegistrationGuardTests(HandlerTestCase):
    settings = dict(v5_registration=True, v5_auto_registration=True)

    def register(self, client):
        client.send(v5.CMD_REG_NEW_USER, v5.RegisterRequest(password=b"newpass", email=b"n@example.org").build())
        return client.received()

    def test_one_a_minute_per_address(self):
        """A second registration from one address within the interval is refused; later it is taken."""
        first = MemoryV5Client(self.server, 0, ("192.0.2.9", 4000), session_id=1)
        self.assertIn(v5.SRV_NEW_UIN, commands(self.register(first)))
        second = MemoryV5Client(self.server, 0, ("192.0.2.9", 4001), session_id=2)
        self.assertNotIn(v5.SRV_NEW_UIN, commands(self.register(second)))
        self.server.clock.advance(REGISTRATION_INTERVAL)
        third = MemoryV5Client(self.server, 0, ("192.0.2.9", 4002), session_id=3)
        self.assertIn(v5.SRV_NEW_UIN, commands(self.register(third)))
        self.assertEqual(len(self.server.storage.users), len(PASSWORDS) + 2)

    def test_resend_gets_same_answer(self):
        """A resent registration is answered again, and registers nobody twice."""
        client = MemoryV5Client(self.server, 0, ("192.0.2.9", 4000), session_id=1)
        first = self.register(client)
        client.send(v5.CMD_REG_NEW_USER, v5.RegisterRequest(password=b"newpass", email=b"n@example.org").build(),
                    seq1=client.seq1)
        again = client.received()
        self.assertEqual([(p.command, p.data) for p in again], [(p.command, p.data) for p in first])
        self.assertEqual(len(self.server.storage.users), len(PASSWORDS) + 1)


class V3HandlerTests(HandlerTestCase):
    def test_interop_message(self):
        """A v3 user and a v5 user see each other and talk through one network."""
        a = self.v3_online(ALICE, ("192.0.2.1", 4000), [BOB])
        b = self.v5_online(BOB, ("192.0.2.2", 4000), [ALICE])
        self.assertIn(v3.SRV_USER_ONLINE, commands(a.received()))
        a.send(v3.CMD_THRU_SERVER, v3.Message(BOB, 1, b"from v3").build())
        self.assertEqual(commands(a.received()), [v3.SRV_ACK])
        (message,) = [p for p in b.received() if p.command == v5.SRV_ONLINE_MESSAGE]
        self.assertEqual(v5.OnlineMessage.parse(message.data).text, b"from v3")

    def test_long_message_refused(self):
        """A message over V3 max msgsize is acknowledged and answered with a notice, as in v5."""
        a = self.v3_online(ALICE, ("192.0.2.1", 4000))
        a.send(v3.CMD_THRU_SERVER, v3.Message(BOB, 1, b"x" * 2026).build())
        packets = a.received()
        self.assertEqual(commands(packets), [v3.SRV_ACK, v3.SRV_SYSMSG_ONLINE])
        self.assertIn(b"longer than 2025 bytes", v3.Message.parse(packets[1].data).text)

    def test_offline_only_on_request(self):
        """Stored messages wait for SYSMSG_REQ, however long the client stays."""
        self.successResultOf(self.server.network.send_message(BOB, ALICE, 1, b"stored"))
        a = self.v3_online(ALICE, ("192.0.2.1", 4000))
        for _ in range(10):
            self.server.tick()
            a.send(v3.CMD_PING)
            self.assertEqual(commands(a.received()), [v3.SRV_ACK])
        a.send(v3.CMD_SYSMSG_REQ)
        self.assertEqual(commands(a.received()), [v3.SRV_ACK, v3.SRV_SYSMSG_OFFLINE, v3.SRV_SYSMSG_DONE])

    def test_info_and_update(self):
        """Info requests and updates go through the directory the v5 handler uses."""
        a = self.v3_online(ALICE, ("192.0.2.1", 4000))
        a.send(v3.CMD_SET_NOTES, v3.Text(b"hello notes").build())
        self.assertEqual(commands(a.received()), [v3.SRV_ACK, v3.SRV_SET_NOTES_OK])
        info = self.successResultOf(self.server.directory.get_info(ALICE))
        self.assertEqual(info.notes, "hello notes")
        a.send(v3.CMD_GET_INFO1, v3.UinBody(BOB).build())
        packets = a.received()
        self.assertEqual(commands(packets), [v3.SRV_ACK, v3.SRV_INFO_SINGLE])
        self.assertEqual(v3.InfoBasic.parse(packets[1].data).nick, b"nick%d" % BOB)
