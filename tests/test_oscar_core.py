"""
Tests for the OSCAR pieces of the shared layer that need no handler:
L{iserverd.core.cookies} and L{iserverd.core.rateclass}, on a L{task.Clock}.
"""

import itertools

from twisted.internet.task import Clock
from twisted.trial import unittest

from iserverd.codec.oscar import service
from iserverd.core import rateclass
from iserverd.core.cookies import CookieJar, Ticket
from iserverd.core.rateclass import ALERT, CLEAR, DISCONNECT, LIMITED, RateLimiter, RateParams, step


def counter_random():
    numbers = itertools.count(1)
    return lambda n: next(numbers).to_bytes(n, "big")


class CookieJarTests(unittest.TestCase):
    """
    A cookie is bound to its UIN, accepted once, within its lifetime, and the
    jar stays bounded.
    """

    def setUp(self):
        self.clock = Clock()
        self.jar = CookieJar(self.clock, lifetime=60, limit=3, random=counter_random())

    def test_once(self):
        """A cookie gives its ticket once; a second use and an unknown cookie give nothing."""
        cookie = self.jar.issue(1001, b"ICQBasic")
        self.assertEqual(len(cookie), 16)
        self.assertEqual(self.jar.take(cookie), Ticket(1001, 0, b"ICQBasic"))
        self.assertIsNone(self.jar.take(cookie))
        self.assertIsNone(self.jar.take(b"x" * 16))

    def test_expires(self):
        """A cookie older than its lifetime is refused."""
        fresh = self.jar.issue(1001)
        stale = self.jar.issue(1002)
        self.clock.advance(59.9)
        self.assertEqual(self.jar.take(fresh).uin, 1001)
        self.clock.advance(0.1)
        self.assertIsNone(self.jar.take(stale))

    def test_bounded(self):
        """Past its limit the jar drops the oldest cookies, and expired ones on each issue."""
        cookies = [self.jar.issue(uin) for uin in (1, 2, 3, 4)]
        self.assertEqual(len(self.jar), 3)
        self.assertIsNone(self.jar.take(cookies[0]))
        self.clock.advance(61)
        self.jar.issue(5)
        self.assertEqual(len(self.jar), 1)

    def test_forget(self):
        """forget drops every cookie of one UIN."""
        a, b, c = self.jar.issue(1), self.jar.issue(2), self.jar.issue(1)
        self.jar.forget(1)
        self.assertEqual((self.jar.take(a), self.jar.take(c)), (None, None))
        self.assertEqual(self.jar.take(b).uin, 2)

    def test_no_duplicates(self):
        """A random draw that repeats a live cookie is drawn again."""
        draws = iter([b"A" * 16, b"A" * 16, b"B" * 16])
        jar = CookieJar(self.clock, random=lambda n: next(draws))
        self.assertEqual((jar.issue(1), jar.issue(2)), (b"A" * 16, b"B" * 16))


class StepTests(unittest.TestCase):
    """
    The level arithmetic of oscar.md 8.2, written out on the real ICQ example
    class (window 80, clear 2500, alert 2000, limit 1500, disconnect 800, max 6000).
    """

    params = RateParams(1, 80, 2500, 2000, 1500, 800, 6000)

    def test_capped(self):
        """A slow sender stays at the maximum: (79 * 6000 + 10000) // 80 = 6050, capped to 6000."""
        self.assertEqual(step(self.params, 6000, CLEAR, 10000), (6000, CLEAR))

    def test_burst(self):
        """Back-to-back SNACs lose 1/80 each: 6000 -> 5925 -> 5850 ..."""
        self.assertEqual(step(self.params, 6000, CLEAR, 0), (5925, CLEAR))
        self.assertEqual(step(self.params, 5925, CLEAR, 0), (5850, CLEAR))

    def test_states(self):
        """Alert below 2000, limited below 1500, disconnect below 800."""
        self.assertEqual(step(self.params, 2020, CLEAR, 0), (1994, ALERT))
        self.assertEqual(step(self.params, 1510, ALERT, 0), (1491, LIMITED))
        self.assertEqual(step(self.params, 805, LIMITED, 0), (794, DISCONNECT))

    def test_limitedUntilClear(self):
        """A limited class stays limited until the level is back above the clear level."""
        self.assertEqual(step(self.params, 2400, LIMITED, 2400), (2400, LIMITED))
        self.assertEqual(step(self.params, 2500, LIMITED, 2500), (2500, CLEAR))

    def test_clockBackwards(self):
        """A negative interval counts as zero."""
        self.assertEqual(step(self.params, 6000, CLEAR, -5000), (5925, CLEAR))


class RateLimiterTests(unittest.TestCase):
    """
    One connection's classes: a flood of messages is warned, refused and cut
    off, while other SNACs keep their own class.
    """

    def setUp(self):
        self.clock = Clock()
        self.limiter = RateLimiter(self.clock)

    def test_flood(self):
        """04,06 back to back goes alert, then limited, then disconnect; 01,0A codes are recorded."""
        states = [self.limiter.check(4, 6) for _ in range(60)]
        self.assertEqual(states[0], CLEAR)
        first_alert = states.index(ALERT)
        first_limit = states.index(LIMITED)
        self.assertLess(first_alert, first_limit)
        self.assertIn(DISCONNECT, states)
        self.assertEqual(self.limiter.changes, {3: service.RATE_LIMITED})
        self.assertEqual(self.limiter.check(1, 0x1E), CLEAR)

    def test_recovers(self):
        """After a pause above the clear level the class is clear again, with code 4."""
        while self.limiter.check(4, 6) != LIMITED:
            pass
        self.limiter.changes.clear()
        self.clock.advance(30)
        self.assertEqual(self.limiter.check(4, 6), CLEAR)
        self.assertEqual(self.limiter.changes, {3: service.RATE_CLEARED})

    def test_rateInfo(self):
        """01,07 lists every class at its maximum and every pair in its class."""
        info = rateclass.rate_info([(1, 2), (4, 6), (2, 5), (0x13, 8)])
        self.assertEqual([c.id for c in info.classes], [1, 2, 3, 4, 5])
        self.assertTrue(all(c.current == c.max for c in info.classes))
        self.assertEqual(info.class_of(4, 6), 3)
        self.assertEqual(info.class_of(0x13, 8), 1)
        self.assertEqual(service.RateInfo.parse(info.build()), info)
