"""
Fast tests of L{iserverd.core.network.Network} on the in-memory stores and a
L{task.Clock}: logins, routing, resends and expiry without a database or a
socket (see L{tests.support.MemoryServer}).
"""

from datetime import datetime, timezone

from twisted.trial import unittest

from iserverd.codec import v3, v5
from iserverd.core import network as net
from iserverd.core.session import LoginRequest
from iserverd.storage.interfaces import DatabaseUnavailable
from tests.support import ALICE, BOB, CAROL, PASSWORDS, MemoryServer

ADDR_A = ("192.0.2.1", 4000)
ADDR_B = ("192.0.2.2", 4000)


class NetworkTests(unittest.TestCase):
    def setUp(self):
        self.server = MemoryServer()
        self.network = self.server.network
        for uin, password in PASSWORDS.items():
            self.successResultOf(self.server.storage.create_user(uin, password))
        self.v5 = self.server.protocol.handlers[v5.VERSION].speaker
        self.v3 = self.server.protocol.handlers[v3.VERSION].speaker

    def login(self, uin, addr, speaker=None, password=None, session_id=7):
        request = LoginRequest(uin, PASSWORDS[uin] if password is None else password, addr, session_id)
        return self.successResultOf(self.network.login(speaker or self.v5, request))

    def commands(self, addr):
        return [v5.decode_server(d).command for d, _ in self.server.sent(addr)]

    def test_login_ok(self):
        """A right password brings the user online: a HELLO, an online row, a counted outcome."""
        outcome, session = self.login(ALICE, ADDR_A)
        self.assertEqual(outcome, net.LOGIN_OK)
        self.assertIs(self.network.sessions.get(ALICE), session)
        self.assertEqual(self.commands(ADDR_A), [v5.SRV_HELLO])
        self.assertEqual(list(self.server.storage.online), [ALICE])
        self.assertEqual(dict(self.network.logins), {net.LOGIN_OK: 1})

    def test_login_refused(self):
        """A wrong password is refused and counted; nobody comes online."""
        outcome, _ = self.login(ALICE, ADDR_A, password=b"wrong")
        self.assertEqual(outcome, net.LOGIN_BAD_PASSWORD)
        self.assertIsNone(self.network.sessions.get(ALICE))
        self.assertEqual(self.network.counters["login_failures"], 1)

    def test_login_database_away(self):
        """While the database is away a login is answered 'try again'."""
        self.server.storage.unavailable = True
        self.assertEqual(self.login(ALICE, ADDR_A)[0], net.LOGIN_TRY_AGAIN)

    def test_resent_login_by_speaker_policy(self):
        """A login from the session's own address and id repeats it for v5; v3 has no session id to tell."""
        self.login(ALICE, ADDR_A)
        self.assertEqual(self.login(ALICE, ADDR_A)[0], net.LOGIN_REPEAT)
        self.login(BOB, ADDR_B, speaker=self.v3, session_id=0)
        self.assertEqual(self.login(BOB, ADDR_B, speaker=self.v3, session_id=0)[0], net.LOGIN_OK)

    def test_offline_delivery_by_speaker_policy(self):
        """Stored messages go out after a delay for v5, and only on request for v3."""
        when = datetime(2026, 1, 1, tzinfo=timezone.utc)
        for uin in (ALICE, BOB):
            self.successResultOf(self.server.storage.store_message(uin, CAROL, when, 1, b"stored"))
        self.login(ALICE, ADDR_A)
        self.login(BOB, ADDR_B, speaker=self.v3, session_id=0)
        self.server.sent()
        self.server.tick(net.OFFLINE_DELIVERY_DELAY + 1)
        self.assertIn(v5.SRV_OFFLINE_MESSAGE, self.commands(ADDR_A))
        self.assertEqual(self.server.sent(ADDR_B), [])

    def test_relay_and_store(self):
        """A message reaches an online user at once, is stored for an offline one, dropped for nobody."""
        self.login(ALICE, ADDR_A)
        self.server.sent()
        self.assertEqual(self.successResultOf(self.network.send_message(BOB, ALICE, 1, b"hi")), net.DELIVERED)
        self.assertEqual(self.commands(ADDR_A), [v5.SRV_ONLINE_MESSAGE])
        self.assertEqual(self.successResultOf(self.network.send_message(ALICE, BOB, 1, b"later")), net.STORED)
        self.assertEqual([m.body for m in self.server.storage.messages.values()], [b"later"])
        self.assertEqual(self.successResultOf(self.network.send_message(ALICE, 99, 1, b"?")), net.NO_SUCH_USER)

    def test_store_fails_while_database_away(self):
        """A message for an offline user fails while the database is away (and is not acknowledged)."""
        self.server.storage.unavailable = True
        self.failureResultOf(self.network.send_message(ALICE, BOB, 1, b"later"), DatabaseUnavailable)

    def test_unacknowledged_message_stored(self):
        """A message the client never acknowledges is resent, then stored when the session is given up."""
        _, session = self.login(ALICE, ADDR_A)
        self.network.ack(session, 0)  # the HELLO
        self.successResultOf(self.network.send_message(BOB, ALICE, 1, b"are you there?"))
        self.server.sent()
        self.server.tick(self.v5.timeout * (self.v5.retries + 1) + 1)
        resent = [c for c in self.commands(ADDR_A) if c == v5.SRV_ONLINE_MESSAGE]
        self.assertEqual(len(resent), self.v5.retries)
        self.assertIsNone(self.network.sessions.get(ALICE))
        self.assertEqual([(m.to_uin, m.body) for m in self.server.storage.messages.values()],
                         [(ALICE, b"are you there?")])

    def test_keep_alive_expiry(self):
        """Without a keep-alive a session ends after its ping time; watchers are told."""
        _, alice = self.login(ALICE, ADDR_A)
        _, bob = self.login(BOB, ADDR_B)
        self.network.contact_list(bob, [ALICE])
        for _ in range(self.v5.ping_time + 1):
            for session in (alice, bob):
                for seq1 in list(session.pending):
                    self.network.ack(session, seq1)
            self.network.keep_alive(bob)
            self.server.tick()
        self.assertIsNone(self.network.sessions.get(ALICE))
        self.assertIsNotNone(self.network.sessions.get(BOB))
        self.assertEqual(self.network.counters["expired"], 1)
        self.assertIn(v5.SRV_USER_OFFLINE, self.commands(ADDR_B))
