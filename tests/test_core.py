"""
Unit tests for the shared layer's pure parts: visibility, the session table,
duplicate detection and the reliable-delivery bookkeeping.
"""

from twisted.trial import unittest

from iserverd.core import presence
from iserverd.core.interfaces import Outgoing
from iserverd.core.reliable import MAX_PENDING, ReliableQueue
from iserverd.core.session import DEDUP_WINDOW, Session, SessionTable, visible_to


class _Speaker:
    version = 5
    timeout = 10
    retries = 5
    ping_time = 120

    def user_online(self, session, other):
        return [Outgoing(0x6E, b"on")]

    def user_offline(self, session, uin):
        return [Outgoing(0x78, b"off")]

    def user_status(self, session, other):
        return [Outgoing(0x1A4, b"st")]


def session(uin, status=0, **kw):
    return Session(uin=uin, version=5, addr=("127.0.0.1", uin), session_id=uin, login_id=uin,
                   speaker=_Speaker(), ping_time=120, status=status, **kw)


class VisibilityTests(unittest.TestCase):
    """
    Who may see whom (v5.md section 12.5).
    """

    def test_visible_user(self):
        """A visible user is seen by everyone not on its invisible list."""
        u = session(1, invisible={3})
        self.assertTrue(visible_to(u, 2))
        self.assertFalse(visible_to(u, 3))

    def test_invisible_user(self):
        """An invisible user is seen only by those on its visible list; the bit counts, not equality."""
        u = session(1, status=0x0101, visible={2})
        self.assertTrue(visible_to(u, 2))
        self.assertFalse(visible_to(u, 3))
        self.assertTrue(visible_to(u, 3, status=0x0001))

    def test_change(self):
        """A watcher is told only what changed in its view."""
        w, u = session(2), session(1)
        self.assertEqual(presence.change(w, u, True, True, status_changed=True), [Outgoing(0x1A4, b"st")])
        self.assertEqual(presence.change(w, u, True, True), [])
        self.assertEqual(presence.change(w, u, True, False), [Outgoing(0x78, b"off")])
        self.assertEqual(presence.change(w, u, False, True), [Outgoing(0x6E, b"on")])
        self.assertEqual(presence.change(w, u, False, False, status_changed=True), [])


class SessionTableTests(unittest.TestCase):
    """
    The online cache and its reverse contact index.
    """

    def test_watchers(self):
        """Watchers are the active sessions listing a UIN; removal updates the index."""
        table = SessionTable()
        a, b = session(1), session(2)
        table.add(a)
        table.add(b)
        self.assertEqual(table.add_contacts(a, [2, 3]), {2, 3})
        self.assertEqual(table.add_contacts(a, [2]), set())
        self.assertEqual(table.watchers(2), [a])
        b.active = False
        table.remove(a)
        self.assertEqual(table.watchers(2), [])
        self.assertEqual(table._watchers, {})

    def test_repeat_window(self):
        """Recent packets are repeats; so are ones older than the window; new ones are not."""
        s = session(1)
        self.assertFalse(s.is_repeat(100, 0x10E))
        self.assertTrue(s.is_repeat(100, 0x10E))
        self.assertFalse(s.is_repeat(100, 0x42E))
        for seq in range(101, 101 + DEDUP_WINDOW + 5):
            self.assertFalse(s.is_repeat(seq, 0x42E))
        self.assertTrue(s.is_repeat(100, 0x10E))
        s.forget_repeat(137, 0x42E)
        self.assertFalse(s.is_repeat(137, 0x42E))

    def test_sequence_wraps(self):
        """SEQ1 numbering wraps at 16 bits; replay detection follows the wrap."""
        s = session(1)
        s.next_seq = 0xFFFF
        self.assertEqual((s.take_seq(), s.take_seq()), (0xFFFF, 0))
        self.assertFalse(s.is_repeat(0xFFFE, 1))
        self.assertFalse(s.is_repeat(0x0003, 1))
        self.assertTrue(s.is_repeat(0xFFFE, 1))


class ReliableQueueTests(unittest.TestCase):
    """
    Resends with identical bytes, then give-up; bounded per session.
    """

    def test_resend_then_give_up(self):
        """A packet is resent every timeout, retries times, then its session is reported dead."""
        q, s = ReliableQueue(), session(1)
        q.add(s, 0, b"bytes", now=0, timeout=10, retries=2)
        self.assertEqual(q.due(9, lambda s: 10), ([], []))
        self.assertEqual(q.due(10, lambda s: 10), ([(s, b"bytes")], []))
        self.assertEqual(q.due(20, lambda s: 10), ([(s, b"bytes")], []))
        self.assertEqual(q.due(30, lambda s: 10), ([], [s]))
        self.assertEqual((q.resends, q.expired), (2, 1))

    def test_ack(self):
        """An ACK removes exactly its packet; an unknown SEQ1 is ignored."""
        q, s = ReliableQueue(), session(1)
        q.add(s, 0, b"a", 0, 10, 5)
        q.add(s, 1, b"b", 0, 10, 5)
        self.assertEqual(q.ack(s, 1).datagram, b"b")
        self.assertIsNone(q.ack(s, 1))
        self.assertIn(s, q.busy)
        q.ack(s, 0)
        self.assertNotIn(s, q.busy)

    def test_bounded(self):
        """A client that never acknowledges cannot queue more than MAX_PENDING packets."""
        q, s = ReliableQueue(), session(1)
        for seq in range(MAX_PENDING):
            self.assertTrue(q.add(s, seq, b"x", 0, 10, 5))
        self.assertFalse(q.add(s, MAX_PENDING, b"x", 0, 10, 5))
        self.assertEqual(len(q.forget(s)), MAX_PENDING)
        self.assertEqual(s.pending, {})
