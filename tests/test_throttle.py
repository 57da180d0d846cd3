"""
Tests for L{iserverd.core.throttle}: failed logins slow down and then lock out
their source address and UIN, and nobody else.
"""

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import defer, reactor
from twisted.trial import unittest

from iserverd import config
from iserverd.codec import v5
from iserverd.core.throttle import LoginThrottle, Policy, Record, failed, wait
from iserverd.testing.v5client import V5Client

T = 1_000_000.0
# 3 free failures, then 2, 4, 8, ... s; the 6th failure locks out for 60 s;
# forgiven 100 s after the last failure.
POLICY = Policy(free_failures=3, slow_delay=2, lockout_failures=6, lockout_time=60, failure_memory=100)


class RuleTests(unittest.TestCase):
    """
    The pure rules: a record's next state after a failure, and how long an
    attempt must wait.
    """

    # (name, record before, time of the failure, record after)
    cases = [
        ("first failure: free", None, T, Record(1, T, T)),
        ("third failure: still free", Record(2, T, T), T + 1, Record(3, T + 1, T + 1)),
        ("fourth: wait 2 * 2**0 = 2 s", Record(3, T, T), T + 1, Record(4, T + 1, T + 3)),
        ("fifth: wait 2 * 2**1 = 4 s", Record(4, T, T + 2), T + 5, Record(5, T + 5, T + 9)),
        ("sixth: locked out for 60 s", Record(5, T, T + 4), T + 5, Record(6, T + 5, T + 65)),
        ("a failure 100 s after the last starts afresh", Record(5, T, T + 4), T + 100, Record(1, T + 100, T + 100)),
        ("a failure 99 s after the last still counts", Record(3, T, T), T + 99, Record(4, T + 99, T + 101)),
    ]

    def test_failed(self):
        """Each failure moves the record as its row's name says."""
        for name, before, now, after in self.cases:
            self.assertEqual(failed(before, now, POLICY), after, name)

    def test_slow_delay_capped_by_lockout(self):
        """A doubled delay never exceeds the lockout time: 2 * 2**10 s is cut to 60 s."""
        policy = Policy(free_failures=0, slow_delay=2, lockout_failures=100, lockout_time=60, failure_memory=100)
        self.assertEqual(failed(Record(10, T, T), T, policy), Record(11, T, T + 60))

    def test_wait(self):
        """An attempt waits until the record's blocked-until time, and not at all without a record."""
        self.assertEqual(wait(None, T), 0)
        self.assertEqual(wait(Record(4, T, T + 3), T + 1), 2)
        self.assertEqual(wait(Record(4, T, T + 3), T + 3), 0)


class LoginThrottleTests(unittest.TestCase):
    """
    The throttle as the login path uses it: check, then failed or succeeded.
    """

    def setUp(self):
        self.throttle = LoginThrottle(POLICY, capacity=1000)

    def fail(self, n, now, host="10.0.0.1", uin=10001):
        for _ in range(n):
            self.throttle.failed(now, host, uin)

    def test_free_failures(self):
        """Three wrong passwords cost nothing: the fourth attempt is checked at once."""
        self.fail(3, T)
        self.assertEqual(self.throttle.check(T, "10.0.0.1", 10001), 0)

    def test_slowed_then_locked(self):
        """After the free failures attempts wait; after the sixth they are refused for the lockout time."""
        self.fail(4, T)
        self.assertEqual(self.throttle.check(T + 1, "10.0.0.1", 10001), 1)
        self.assertEqual(self.throttle.check(T + 2, "10.0.0.1", 10001), 0)
        self.fail(2, T + 2)
        self.assertEqual(self.throttle.check(T + 2, "10.0.0.1", 10001), 60)
        self.assertEqual(self.throttle.check(T + 61, "10.0.0.1", 10001), 1)
        self.assertEqual(self.throttle.check(T + 62, "10.0.0.1", 10001), 0)
        self.assertEqual(self.throttle.refused, 3)

    def test_uin_from_many_sources(self):
        """Guesses at one UIN from many addresses lock that UIN for new addresses."""
        for i in range(6):
            self.throttle.failed(T, "10.0.1.%d" % i, 10001)
        self.assertEqual(self.throttle.check(T, "10.0.2.1", 10001), 60)

    def test_many_uins_from_one_source(self):
        """Guesses at many UINs from one address lock that address for every UIN."""
        for i in range(6):
            self.throttle.failed(T, "10.0.0.1", 20000 + i)
        self.assertEqual(self.throttle.check(T, "10.0.0.1", 30000), 60)

    def test_others_never_delayed(self):
        """Failures on other UINs from other addresses never delay a login."""
        self.fail(50, T, host="10.0.0.1", uin=10001)
        self.fail(50, T, host="10.0.0.2", uin=10002)
        self.assertEqual(self.throttle.check(T, "10.0.0.3", 10003), 0)

    def test_trusted_address_of_attacked_uin(self):
        """The owner gets in from the address of its last good login while others lock its UIN."""
        for i in range(10):
            self.throttle.failed(T, "10.0.1.%d" % i, 10001)
        self.assertEqual(self.throttle.check(T, "192.168.1.5", 10001, trusted=True), 0)
        self.assertEqual(self.throttle.check(T, "192.168.1.6", 10001, trusted=False), 60)

    def test_success_clears_the_uin_not_the_source(self):
        """A good login forgives its UIN; the address keeps its count."""
        self.fail(5, T)
        self.throttle.succeeded(T + 10, "10.0.0.1", 10001)
        self.assertNotIn(10001, self.throttle.uins.entries)
        self.throttle.failed(T + 10, "10.0.0.1", 10009)
        self.assertEqual(self.throttle.check(T + 10, "10.0.0.1", 10005), 60)

    def test_forgotten_after_memory(self):
        """A record is dropped once its last failure is older than the memory and the lockout."""
        self.fail(1, T)
        self.throttle.failed(T + 100, "10.0.0.9", 10009)
        self.assertNotIn("10.0.0.1", self.throttle.sources.entries)
        self.assertNotIn(10001, self.throttle.uins.entries)

    @given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(1, 2**32 - 1)), max_size=1500))
    def test_bounded(self, attempts):
        """However many addresses and UINs fail, each table holds at most its capacity."""
        throttle = LoginThrottle(POLICY, capacity=50)
        for i, (host, uin) in enumerate(attempts):
            throttle.failed(T + i * 0.01, host, uin)
            self.assertLessEqual(len(throttle.sources), 50)
            self.assertLessEqual(len(throttle.uins), 50)

    def test_from_config(self):
        """The policy is read from the login_* settings."""
        cfg = config.load(None, dict(login_free_failures=1, login_slow_delay=5, login_lockout_failures=4,
                                     login_lockout_time=30, login_failure_memory=40, login_throttle_table=99))
        throttle = LoginThrottle.from_config(cfg)
        self.assertEqual(throttle.policy, Policy(1, 5, 4, 30, 40))
        self.assertEqual(throttle.sources.capacity, 99)


class LoopbackTests(unittest.TestCase):
    """
    The throttle in a real server's login path, with a real PostgreSQL.
    """

    @defer.inlineCallbacks
    def setUp(self):
        from tests.support import PASSWORDS, start_server

        self.passwords = PASSWORDS
        self.server, self.clock, self.dsn = yield start_server(
            self, login_free_failures=2, login_lockout_failures=3, login_lockout_time=60,
        )

    @defer.inlineCallbacks
    def client(self, uin, password, host="127.0.0.1"):
        c = V5Client(reactor, ("127.0.0.1", self.server.udp_port), uin, password)
        port = reactor.listenUDP(0, c, interface=host)
        self.addCleanup(port.stopListening)
        yield None
        return c

    @defer.inlineCallbacks
    def test_guessing_locked_out_others_served(self):
        """Guesses at Alice get 'try again' after the lockout count; Bob, and Alice from her usual address, get in."""
        alice = yield self.client(10001, self.passwords[10001])
        hello = yield alice.login()
        self.assertEqual(hello.command, v5.SRV_HELLO)
        alice.logoff()
        yield self.server.network.settle()

        attacker = yield self.client(10001, b"guess", host="127.0.0.2")
        for _ in range(3):
            reply = yield attacker.login()
            self.assertEqual(reply.command, v5.SRV_BAD_PASSWORD)
        attacker.password = self.passwords[10001]
        reply = yield attacker.login()
        self.assertEqual(reply.command, v5.SRV_BUSY)

        bob = yield self.client(10002, self.passwords[10002])
        hello = yield bob.login()
        self.assertEqual(hello.command, v5.SRV_HELLO)
        again = yield self.client(10001, self.passwords[10001])
        hello = yield again.login()
        self.assertEqual(hello.command, v5.SRV_HELLO)
        self.assertEqual(self.server.network.throttle.refused, 1)

    @defer.inlineCallbacks
    def test_get_deps_throttled(self):
        """GET_DEPS checks a password too, so it counts as a guess and is refused like a login."""
        attacker = yield self.client(10001, b"guess", host="127.0.0.3")
        answers = []
        for _ in range(4):
            attacker.raw(v5.CMD_GET_DEPS, v5.GetDeps(10001, b"guess").build(), uin=0)
            reply = yield attacker.wait_for(lambda p: p.command in (v5.SRV_BAD_PASSWORD, v5.SRV_BUSY))
            answers.append(reply.command)
        self.assertEqual(answers, [v5.SRV_BAD_PASSWORD] * 3 + [v5.SRV_BUSY])
