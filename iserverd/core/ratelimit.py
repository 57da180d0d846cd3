# -*- test-case-name: tests.test_ratelimit -*-
"""
Token buckets: the arithmetic of "how much may this sender do now".

A bucket holds up to C{burst} tokens and gains C{rate} tokens a second; a
packet takes one.  L{allow} is pure: it takes the bucket's state and the time
and returns the verdict with the new state, so it is tested from a fixed
clock with the arithmetic written out.  L{BucketTable} keeps one bucket per
key (a source address) and stays bounded however many keys a flood invents.
"""

from collections import OrderedDict, namedtuple


class Bucket(namedtuple("Bucket", "tokens stamp")):
    """
    A bucket's state: C{tokens} left at time C{stamp}.  L{None} stands for a
    bucket never used, which is full.
    """

    __slots__ = ()


def allow(state, now, rate, burst, cost=1.0):
    """
    Take C{cost} tokens from a bucket if it has them.

    The bucket refills at C{rate} tokens a second up to C{burst}.  A refused
    request takes nothing, so a sender that stops asking gets its budget back;
    time running backwards (a clock step) refills nothing and takes nothing
    away.

    @param state: a L{Bucket}, or L{None} for a new (full) bucket.
    @param now: the current time in seconds.
    @param rate: tokens gained per second (> 0).
    @param burst: the bucket's size: how many requests may come at once.
    @return: C{(ok, new_state)}.
    """
    if state is None:
        tokens = burst
    else:
        tokens, stamp = state
        elapsed = now - stamp
        if elapsed > 0:
            tokens += elapsed * rate
            if tokens > burst:
                tokens = burst
        else:
            now = stamp
    if tokens >= cost:
        return True, Bucket(tokens - cost, now)
    return False, Bucket(tokens, now)


def refill_time(rate, burst):
    """
    Seconds an empty bucket takes to fill up again: after that long without a
    request, a bucket is the same as a new one and can be forgotten.
    """
    return burst / rate


class BucketTable:
    """
    One bucket per key, bounded two ways: an entry unused for C{ttl} seconds
    is forgotten by L{expire} (it would be full again anyway when C{ttl} is
    at least L{refill_time}), and beyond C{capacity} entries the least
    recently used is dropped at once.  So memory stays at most C{capacity} entries whatever the number
    of sources a flood spoofs; a dropped source merely starts again with a
    full bucket, while the global bucket still bounds the total.

    @ivar evicted: entries dropped because the table was full.
    """

    def __init__(self, rate, burst, capacity, ttl=None):
        if rate <= 0 or burst < 1 or capacity < 1:
            raise ValueError("rate must be > 0, burst and capacity at least 1")
        self.rate = rate
        self.burst = burst
        self.capacity = capacity
        self.ttl = refill_time(rate, burst) if ttl is None else ttl
        self.evicted = 0
        self._entries = OrderedDict()

    def __len__(self):
        return len(self._entries)

    def __contains__(self, key):
        return key in self._entries

    def allow(self, key, now):
        """
        Take a token from C{key}'s bucket.

        @return: whether the request is within its budget.
        """
        entries = self._entries
        state = entries.get(key)
        if state is not None and state.tokens + (now - state.stamp) * self.rate < 1 and now >= state.stamp:
            # Still empty (the test L{allow} makes): refused, and the entry
            # left as it is, which L{allow} would only restamp.  This is the
            # path a flood takes, so it allocates nothing.
            return False
        ok, entries[key] = allow(state, now, self.rate, self.burst)
        if state is None:
            if len(entries) > self.capacity:
                entries.popitem(last=False)
                self.evicted += 1
        else:
            entries.move_to_end(key)  # the order is least recently used first
        return ok

    def expire(self, now):
        """
        Forget the entries idle for C{ttl} seconds or more (called once a
        second by the gate's tick; the capacity holds in between).
        """
        entries = self._entries
        # The least recently used entry is the first; stop at the first one
        # still fresh.  A clock stepping back leaves entries stamped in the
        # future; they expire once the clock has passed their stamp again.
        horizon = now - self.ttl
        while entries:
            key = next(iter(entries))
            if entries[key].stamp > horizon:
                break
            del entries[key]


__all__ = ["Bucket", "BucketTable", "allow", "refill_time"]
