"""
Fast tests of message durability: the group commit on a L{task.Clock}, the
relayed messages written before the sender's ACK and removed after the
recipient's, recovery at start, resends recognised after a crash, and a
repeat acknowledged only once its first copy is stored.
"""

from datetime import timedelta

from twisted.internet import defer, task
from twisted.trial import unittest

from iserverd.codec import v5
from iserverd.core import network as net
from iserverd.core.groupcommit import GroupCommit
from iserverd.core.session import LoginRequest
from iserverd.storage.interfaces import DatabaseUnavailable, RelayedMessage
from tests.support import ALICE, BOB, CAROL, PASSWORDS, MemoryServer, MemoryV5Client

ADDR_A = ("192.0.2.1", 4000)
ADDR_B = ("192.0.2.2", 4000)


class GroupCommitTests(unittest.TestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.batches = []
        self.pending = []

    def write(self, items):
        self.batches.append(list(items))
        d = defer.Deferred()
        self.pending.append((d, items))
        return d

    def finish(self, index=0):
        d, items = self.pending.pop(index)
        d.callback([item * 10 for item in items])

    def test_idle_writes_at_once_busy_collects(self):
        """An idle batcher writes at once; what arrives during a write goes in one next batch."""
        batcher = GroupCommit(self.clock, self.write)
        first = batcher.add(1)
        self.assertEqual(self.batches, [[1]])
        later = [batcher.add(n) for n in (2, 3, 4)]
        self.assertEqual(len(self.batches), 1)
        self.finish()
        self.assertEqual(self.successResultOf(first), 10)
        self.assertEqual(self.batches, [[1], [2, 3, 4]])
        self.finish()
        self.assertEqual([self.successResultOf(d) for d in later], [20, 30, 40])
        self.assertEqual((batcher.batches, batcher.written), (2, 4))

    def test_delay_on_the_clock(self):
        """With a delay, items gather for that long on the injected clock; the limit writes early."""
        batcher = GroupCommit(self.clock, self.write, delay=0.005, limit=3)
        batcher.add(1)
        batcher.add(2)
        self.assertEqual(self.batches, [])
        self.clock.advance(0.005)
        self.assertEqual(self.batches, [[1, 2]])
        self.finish()
        for n in (3, 4, 5):
            batcher.add(n)
        self.assertEqual(self.batches, [[1, 2], [3, 4, 5]])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_concurrency_and_failure(self):
        """Up to C{concurrency} batches run together; a failed batch fails each of its items."""
        batcher = GroupCommit(self.clock, self.write, concurrency=2)
        a = batcher.add(1)
        b = batcher.add(2)
        c = batcher.add(3)
        self.assertEqual(self.batches, [[1], [2]])
        self.pending[0][0].errback(DatabaseUnavailable("gone"))
        self.pending.pop(0)
        self.failureResultOf(a, DatabaseUnavailable)
        self.assertEqual(self.batches, [[1], [2], [3]])
        self.finish()
        self.finish()
        self.assertEqual((self.successResultOf(b), self.successResultOf(c)), (20, 30))

    def test_one_result_for_all(self):
        """A write that answers once (a count) gives every item that answer."""
        batcher = GroupCommit(self.clock, lambda items: defer.succeed(len(items)), delay=0.001)
        ds = [batcher.add(n) for n in range(3)]
        self.clock.advance(0.001)
        self.assertEqual([self.successResultOf(d) for d in ds], [3, 3, 3])


class DurableRelayTests(unittest.TestCase):
    durability = "commit"

    def setUp(self):
        self.server = MemoryServer(message_durability=self.durability)
        self.network = self.server.network
        self.storage = self.server.storage
        for uin, password in PASSWORDS.items():
            self.successResultOf(self.storage.create_user(uin, password))
        self.v5 = self.server.protocol.handlers[v5.VERSION].speaker

    def login(self, uin, addr):
        _, session = self.successResultOf(self.network.login(self.v5, LoginRequest(uin, PASSWORDS[uin], addr, 7)))
        self.network.ack(session, 0)
        self.server.sent()
        return session

    def message_seq1s(self, addr):
        packets = [v5.decode_server(d) for d, _ in self.server.sent(addr)]
        return [p.seq1 for p in packets if p.command == v5.SRV_ONLINE_MESSAGE]

    def test_written_before_ack_removed_after(self):
        """The message is a relayed row when the sender may be acknowledged, and gone once delivered."""
        alice = self.login(ALICE, ADDR_A)
        self.assertEqual(self.successResultOf(self.network.send_message(BOB, ALICE, 1, b"hi")), net.DELIVERED)
        self.assertEqual([m.body for m in self.storage.relayed.values()], [b"hi"])
        (seq1,) = self.message_seq1s(ADDR_A)
        self.network.ack(alice, seq1)
        self.server.clock.advance(net.REMOVAL_DELAY)
        self.assertEqual(self.storage.relayed, {})
        self.assertEqual(self.storage.messages, {})

    def test_not_acknowledged_while_database_away(self):
        """Without a commit there is no ACK: the send fails and nothing reaches the recipient."""
        self.login(ALICE, ADDR_A)
        self.storage.unavailable = True
        self.failureResultOf(self.network.send_message(BOB, ALICE, 1, b"hi"), DatabaseUnavailable)
        self.assertEqual(self.message_seq1s(ADDR_A), [])

    def test_unacknowledged_moved_offline(self):
        """A relayed message the recipient never acknowledges becomes an offline message, once."""
        self.login(ALICE, ADDR_A)
        self.successResultOf(self.network.send_message(BOB, ALICE, 1, b"are you there?"))
        self.server.tick(self.v5.timeout * (self.v5.retries + 1) + 1)
        self.assertIsNone(self.network.sessions.get(ALICE))
        self.assertEqual(self.storage.relayed, {})
        self.assertEqual([(m.to_uin, m.body) for m in self.storage.messages.values()],
                         [(ALICE, b"are you there?")])

    def test_recipient_gone_while_writing(self):
        """A recipient who logs off while the message is written gets it as an offline message."""
        alice = self.login(ALICE, ADDR_A)
        gate = defer.Deferred()
        write = self.network.relay_log.write
        self.patch(self.network.relay_log, "write", lambda ms: gate.addCallback(lambda _: write(ms)))
        d = self.network.send_message(BOB, ALICE, 1, b"hi")
        self.network.logoff(alice)
        gate.callback(None)
        self.assertEqual(self.successResultOf(d), net.STORED)
        self.assertEqual(self.storage.relayed, {})
        self.assertEqual([m.body for m in self.storage.messages.values()], [b"hi"])

    def test_recover_and_recognise_resend(self):
        """At start left relayed rows become offline messages and one equal resend is not stored again."""
        when = net.utc(self.server.clock.seconds())
        self.successResultOf(self.storage.log_relayed([RelayedMessage(ALICE, BOB, when, 1, b"in flight")]))
        self.successResultOf(self.storage.store_message(CAROL, BOB, when - timedelta(seconds=10), 1, b"stored"))
        self.successResultOf(self.storage.store_message(CAROL, BOB, when - timedelta(hours=1), 1, b"old"))
        self.assertEqual(self.successResultOf(self.network.recover()), 1)
        self.assertEqual(self.storage.relayed, {})
        bodies = lambda: sorted(m.body for m in self.storage.messages.values())  # noqa: E731
        self.assertEqual(bodies(), [b"in flight", b"old", b"stored"])
        for text, to in ((b"in flight", ALICE), (b"stored", CAROL), (b"in flight", ALICE), (b"old", CAROL)):
            self.successResultOf(self.network.send_message(BOB, to, 1, text))
        # The first resend of each recent message is recognised; a second equal one is a new message.
        self.assertEqual(bodies(), [b"in flight", b"in flight", b"old", b"old", b"stored"])
        self.assertEqual(self.network.counters["resent_after_crash"], 2)
        self.server.clock.advance(net.RESEND_WINDOW)
        self.successResultOf(self.network.send_message(BOB, CAROL, 1, b"stored"))
        self.assertEqual(bodies().count(b"stored"), 2)


class MemoryRelayTests(DurableRelayTests):
    durability = "memory"

    def test_written_before_ack_removed_after(self):
        """With durability memory nothing is written for an online recipient."""
        alice = self.login(ALICE, ADDR_A)
        self.successResultOf(self.network.send_message(BOB, ALICE, 1, b"hi"))
        self.assertEqual(self.storage.relayed, {})
        (seq1,) = self.message_seq1s(ADDR_A)
        self.network.ack(alice, seq1)
        self.assertEqual(self.storage.messages, {})

    def test_not_acknowledged_while_database_away(self):
        """With durability memory an online recipient's message needs no database."""
        self.login(ALICE, ADDR_A)
        self.storage.unavailable = True
        self.assertEqual(self.successResultOf(self.network.send_message(BOB, ALICE, 1, b"hi")), net.DELIVERED)

    def test_recipient_gone_while_writing(self):
        """With durability memory a message is stored only when its recipient leaves without acknowledging it."""
        alice = self.login(ALICE, ADDR_A)
        self.successResultOf(self.network.send_message(BOB, ALICE, 1, b"hi"))
        self.assertEqual(self.storage.messages, {})
        self.network.logoff(alice)
        self.assertEqual([m.body for m in self.storage.messages.values()], [b"hi"])


class RepeatTests(unittest.TestCase):
    """A client's resend of a message still being stored waits for the first copy (item 3)."""

    def setUp(self):
        self.server = MemoryServer()
        for uin, password in PASSWORDS.items():
            self.successResultOf(self.server.storage.create_user(uin, password))
        self.alice = MemoryV5Client(self.server, ALICE, ADDR_A)
        self.alice.login(PASSWORDS[ALICE])
        self.alice.received()
        self.stores = []
        self.patch(self.server.storage, "store_message", self.stalled_store)

    def stalled_store(self, *args):
        d = defer.Deferred()
        self.stores.append((d, args))
        return d

    def acks(self, seq1):
        return [p for p in self.alice.received() if p.command == v5.SRV_ACK and p.seq1 == seq1]

    def send(self):
        packet = self.alice.send(v5.CMD_SEND_MESSAGE, v5.SendMessage(BOB, 1, b"for bob").build())
        return packet.seq1

    def resend(self, seq1):
        self.alice.send(v5.CMD_SEND_MESSAGE, v5.SendMessage(BOB, 1, b"for bob").build(), seq1=seq1)

    def test_repeat_acknowledged_after_commit(self):
        """A resend while the first copy is being stored gets its ACK only after the commit."""
        seq1 = self.send()
        self.resend(seq1)
        self.assertEqual(self.acks(seq1), [])
        self.assertEqual(len(self.stores), 1)
        self.stores[0][0].callback(1)
        self.assertEqual(len(self.acks(seq1)), 2)

    def test_repeat_not_acknowledged_when_store_fails(self):
        """A failed store acknowledges neither copy; the next resend is stored as new."""
        seq1 = self.send()
        self.resend(seq1)
        self.stores[0][0].errback(DatabaseUnavailable("killed"))
        self.assertEqual(self.acks(seq1), [])
        self.resend(seq1)
        self.assertEqual(len(self.stores), 2)
        self.stores[1][0].callback(2)
        self.assertEqual(len(self.acks(seq1)), 1)
