"""
The rate limits in front of the ways strangers can page users: the web form
and the webpager socket.  A person types slower than these allow; a script
flooding one user, or flooding from one address, does not get through.
"""

from iserverd.core.ratelimit import BucketTable

# (tokens per second, burst)
PER_SOURCE = (1 / 10.0, 5)
PER_TARGET = (1 / 5.0, 5)
OVERALL = (5.0, 20)
# Sources and targets remembered at most; the global bucket bounds the rest.
TABLE_SIZE = 4096


class PagerLimits:
    """
    Per sender address, per target UIN and overall token buckets.

    @ivar clock: an L{IReactorTime}.
    """

    def __init__(self, clock, per_source=PER_SOURCE, per_target=PER_TARGET, overall=OVERALL,
                 table_size=TABLE_SIZE):
        self.clock = clock
        self.per_source = BucketTable(*per_source, capacity=table_size)
        self.per_target = BucketTable(*per_target, capacity=table_size)
        self.overall = BucketTable(*overall, capacity=1)

    def check(self, source, target):
        """
        Count one message from C{source} to C{target}.

        @return: L{None} when it may go, else the name of the limit it hit.
        """
        now = self.clock.seconds()
        if not self.per_source.allow(source, now):
            return "sender address"
        if not self.per_target.allow(target, now):
            return "target uin"
        if not self.overall.allow(None, now):
            return "overall"
        return None
