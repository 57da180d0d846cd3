"""
Tests for L{iserverd.core.ratelimit}: the token-bucket arithmetic from a fixed
time, and the per-source table's bounds.
"""

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial import unittest

from iserverd.core.ratelimit import Bucket, BucketTable, allow, refill_time

T = 1_000_000.0  # a fixed "now"; every case is relative to it


class AllowTests(unittest.TestCase):
    """
    The bucket's verdicts, rate 8 tokens/s and burst 5 unless a row says
    otherwise.  Times are multiples of 1/64 s, so the float arithmetic is exact.
    """

    # (name, state, now, rate, burst, cost, want_ok, want_state)
    cases = [
        ("a new bucket is full: 5 - 1 = 4 left",
         None, T, 8, 5, 1, True, Bucket(4, T)),
        ("one token left, taken: 1 - 1 = 0",
         Bucket(1, T), T, 8, 5, 1, True, Bucket(0, T)),
        ("empty at the same instant: 0 < 1, refused, nothing taken",
         Bucket(0, T), T, 8, 5, 1, False, Bucket(0, T)),
        ("empty 1/16 s ago: 0 + 0.0625 * 8 = 0.5 < 1, refused, the 0.5 kept",
         Bucket(0, T - 0.0625), T, 8, 5, 1, False, Bucket(0.5, T)),
        ("empty 1/8 s ago: 0 + 0.125 * 8 = 1, taken: 1 - 1 = 0",
         Bucket(0, T - 0.125), T, 8, 5, 1, True, Bucket(0, T)),
        ("empty 1/4 s ago: 0 + 0.25 * 8 = 2, taken: 1",
         Bucket(0, T - 0.25), T, 8, 5, 1, True, Bucket(1, T)),
        ("1.5 left 1/64 s ago: 1.5 + 0.015625 * 8 = 1.625, taken: 0.625",
         Bucket(1.5, T - 0.015625), T, 8, 5, 1, True, Bucket(0.625, T)),
        ("idle 1 hour: 3 + 3600 * 8 capped at the burst 5, taken: 4",
         Bucket(3, T - 3600), T, 8, 5, 1, True, Bucket(4, T)),
        ("clock stepped back 10 s: no refill, stamp kept, 2 - 1 = 1",
         Bucket(2, T), T - 10, 8, 5, 1, True, Bucket(1, T)),
        ("clock stepped back, empty: refused, the stamp stays in the future",
         Bucket(0, T), T - 10, 8, 5, 1, False, Bucket(0, T)),
        ("slow rate 0.5/s, empty 1 s ago: 0 + 1 * 0.5 = 0.5, refused",
         Bucket(0, T - 1), T, 0.5, 5, 1, False, Bucket(0.5, T)),
        ("slow rate 0.5/s, empty 2 s ago: 0 + 2 * 0.5 = 1, taken: 0",
         Bucket(0, T - 2), T, 0.5, 5, 1, True, Bucket(0, T)),
        ("cost 3 from 4 tokens: 4 - 3 = 1",
         Bucket(4, T), T, 8, 5, 3, True, Bucket(1, T)),
        ("cost 3 from 2 tokens: refused, 2 kept",
         Bucket(2, T), T, 8, 5, 3, False, Bucket(2, T)),
        ("burst 1: a new bucket takes one request: 1 - 1 = 0",
         None, T, 8, 1, 1, True, Bucket(0, T)),
    ]

    def test_table(self):
        """Each row's verdict and new state follow the arithmetic in its name."""
        for name, state, now, rate, burst, cost, want_ok, want_state in self.cases:
            ok, new = allow(state, now, rate, burst, cost)
            self.assertEqual(ok, want_ok, name)
            self.assertEqual(new.stamp, want_state.stamp, name)
            self.assertEqual(new.tokens, want_state.tokens, name)

    def test_sustained_rate(self):
        """Requests every 1/8 s at rate 8/s are all allowed; every 1/16 s, half are."""
        state = None
        results = []
        for i in range(100):
            ok, state = allow(state, T + i * 0.125, 8, 1)
            results.append(ok)
        self.assertTrue(all(results))
        state = Bucket(0, T)
        allowed = 0
        for i in range(1, 161):
            ok, state = allow(state, T + i * 0.0625, 8, 1)
            allowed += ok
        # 160 requests over 10 s at 8 tokens/s: 80 allowed.
        self.assertEqual(allowed, 80)

    def test_refill_time(self):
        """An empty bucket of 50 at 10/s is full again after 50 / 10 = 5 s."""
        self.assertEqual(refill_time(10, 50), 5.0)


class BucketTableTests(unittest.TestCase):
    """
    The per-source table: one bucket per key, bounded by TTL and by capacity.
    """

    def test_per_key(self):
        """Each key has its own bucket: one exhausted source does not limit another."""
        table = BucketTable(rate=1, burst=2, capacity=10)
        self.assertEqual([table.allow("a", T) for _ in range(3)], [True, True, False])
        self.assertTrue(table.allow("b", T))

    def test_ttl(self):
        """An entry idle for the refill time (burst / rate = 2 s) is forgotten."""
        table = BucketTable(rate=1, burst=2, capacity=10)
        table.allow("a", T)
        table.allow("b", T + 1.5)
        self.assertEqual(len(table), 2)
        table.expire(T + 2)
        self.assertNotIn("a", table)
        self.assertIn("b", table)
        table.expire(T + 3.5)
        self.assertEqual(len(table), 0)

    def test_capacity_evicts_least_recently_used(self):
        """Beyond the capacity the least recently used entry goes first."""
        table = BucketTable(rate=1, burst=100, capacity=3)
        for key in "abc":
            table.allow(key, T)
        table.allow("a", T)
        table.allow("d", T)
        self.assertEqual(sorted(table._entries), ["a", "c", "d"])
        self.assertEqual(table.evicted, 1)

    @given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.floats(0, 100)), max_size=2000))
    def test_bounded_under_random_sources(self, requests):
        """However many sources a flood invents, the table never holds more than its capacity."""
        table = BucketTable(rate=5, burst=10, capacity=64)
        now = T
        for source, step in requests:
            now += step / 1000.0
            table.allow(source, now)
            self.assertLessEqual(len(table), 64)

    @given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=500))
    def test_expiry_drops_everything_idle(self, sources):
        """After the TTL with no traffic every entry has expired."""
        table = BucketTable(rate=5, burst=10, capacity=1000)
        for i, source in enumerate(sources):
            table.allow(source, T + i * 0.001)
        table.expire(T + len(sources) * 0.001 + table.ttl)
        self.assertEqual(len(table), 0)

    @given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 64)), max_size=400))
    def test_same_verdicts_as_allow(self, requests):
        """The table (with its shortcut for empty buckets) answers exactly as allow() on one state per key."""
        table = BucketTable(rate=8, burst=3, capacity=100, ttl=10**9)
        states = {}
        now = T
        for key, step in requests:
            now += step / 64.0  # multiples of 1/64 s: exact arithmetic
            ok, states[key] = allow(states.get(key), now, 8, 3)
            self.assertEqual(table.allow(key, now), ok)

    def test_bad_parameters(self):
        """A zero rate or an empty table is a programming error, reported at once."""
        self.assertRaises(ValueError, BucketTable, 0, 1, 1)
        self.assertRaises(ValueError, BucketTable, 1, 1, 0)
