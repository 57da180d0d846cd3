# -*- test-case-name: tests.test_throttle -*-
"""
Login throttling: failed logins slow down, then lock out, their source address
and their UIN, so that a password cannot be guessed at wire speed.

The rules, per source address and per UIN separately:

 - the first C{free_failures} failures cost nothing;
 - each further failure makes the next attempt wait, C{slow_delay} seconds
   after the first such failure, twice as long after each one after that
   (never longer than the lockout);
 - the C{lockout_failures}-th failure refuses attempts for C{lockout_time}
   seconds;
 - C{failure_memory} seconds after its last failure, a key starts afresh.

An attempt made while it must wait is answered "try again" without looking at
the password, so it neither succeeds nor counts as a failure.  Failures on one
UIN or from one address never slow another: a user logging in to another UIN
from another address is never delayed.  The owner of a UIN under attack still
gets in from the address of the account's last good login (C{trusted}): the
UIN's count does not apply there, only that address's own.

The rules are pure functions of a record and C{now}; L{LoginThrottle} keeps
the records in two tables bounded by size and by age.
"""

from collections import OrderedDict, namedtuple
from dataclasses import dataclass


class Record(namedtuple("Record", "failures last blocked_until")):
    """
    Failed logins of one key: how many in a row, the time of the last one,
    and the time before which attempts are refused.
    """

    __slots__ = ()


@dataclass(frozen=True)
class Policy:
    free_failures: int = 3
    slow_delay: float = 2.0
    lockout_failures: int = 10
    lockout_time: float = 300.0
    failure_memory: float = 900.0

    @property
    def ttl(self):
        """After this long without a failure a record changes nothing and can go."""
        return max(self.failure_memory, self.lockout_time)


def wait(record, now):
    """
    @return: seconds until an attempt for this key is allowed (0: now).
    """
    if record is None or record.blocked_until <= now:
        return 0.0
    return record.blocked_until - now


def failed(record, now, policy):
    """
    @return: the record after one more failure at C{now}.
    """
    if record is None or now - record.last >= policy.failure_memory:
        failures = 1
    else:
        failures = record.failures + 1
    if failures >= policy.lockout_failures:
        until = now + policy.lockout_time
    elif failures > policy.free_failures:
        delay = policy.slow_delay * 2 ** (failures - policy.free_failures - 1)
        until = now + min(delay, policy.lockout_time)
    else:
        until = now
    return Record(failures, now, until)


class _Table:
    """Records by key, oldest failure first; bounded by age and by C{capacity}."""

    def __init__(self, capacity, ttl):
        self.capacity = capacity
        self.ttl = ttl
        self.entries = OrderedDict()
        self.evicted = 0

    def get(self, key):
        return self.entries.get(key)

    def put(self, key, record, now):
        entries = self.entries
        entries.pop(key, None)
        entries[key] = record
        horizon = now - self.ttl
        while entries:
            first = next(iter(entries))
            if entries[first].last > horizon:
                break
            del entries[first]
        while len(entries) > self.capacity:
            entries.popitem(last=False)
            self.evicted += 1

    def discard(self, key):
        self.entries.pop(key, None)

    def __len__(self):
        return len(self.entries)


class LoginThrottle:
    """
    @ivar sources: records by source address.
    @ivar uins: records by UIN.
    @ivar refused: attempts answered "try again".
    """

    def __init__(self, policy=None, capacity=65536):
        self.policy = policy or Policy()
        self.sources = _Table(capacity, self.policy.ttl)
        self.uins = _Table(capacity, self.policy.ttl)
        self.refused = 0

    @classmethod
    def from_config(cls, config):
        policy = Policy(
            free_failures=config.login_free_failures,
            slow_delay=config.login_slow_delay,
            lockout_failures=config.login_lockout_failures,
            lockout_time=config.login_lockout_time,
            failure_memory=config.login_failure_memory,
        )
        return cls(policy, config.login_throttle_table)

    def check(self, now, host, uin, trusted=False):
        """
        @param trusted: C{host} is where the account last logged in from, so
            failures on the UIN (by someone elsewhere) do not hold it back.
        @return: seconds the attempt must wait; 0 means check the password.
        """
        delay = wait(self.sources.get(host), now)
        if not trusted:
            delay = max(delay, wait(self.uins.get(uin), now))
        if delay:
            self.refused += 1
        return delay

    def failed(self, now, host, uin):
        """A wrong password (or an unknown UIN) from C{host}."""
        policy = self.policy
        self.sources.put(host, failed(self.sources.get(host), now, policy), now)
        self.uins.put(uin, failed(self.uins.get(uin), now, policy), now)

    def succeeded(self, now, host, uin):
        """
        The right password: the UIN starts afresh.  The address keeps its
        count, so one good account cannot launder guesses at others.
        """
        self.uins.discard(uin)


__all__ = ["LoginThrottle", "Policy", "Record", "failed", "wait"]
