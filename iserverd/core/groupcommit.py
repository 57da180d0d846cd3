"""
Group commit: many small writes made as a few batched ones.

Each message relayed through the server must be committed before its sender
is acknowledged.  One transaction per message would cost a round trip and a
WAL flush each; instead the items that arrive while a batch is being written
(or within a short delay) wait and go together in the next one, so under load
one commit carries many messages and when idle a message is written at once.
"""

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure


class GroupCommit:
    """
    Collects items and hands them to C{write} in batches.

    @ivar batches: batches written so far (for metrics and benchmarks).
    @ivar written: items written so far.
    """

    log = Logger()

    def __init__(self, clock, write, delay=0.0, limit=1000, concurrency=1):
        """
        @param clock: the L{IReactorTime} of the delay timer.
        @param write: C{write(items)} returning a Deferred firing with one
            result per item (a list as long as C{items}) or with one result
            for all of them.
        @param delay: seconds an idle batcher waits for more items before it
            writes; 0 writes at once.  Items that arrive while C{concurrency}
            writes are running always wait for the next batch.
        @param limit: most items in one batch.
        @param concurrency: batches written at the same time at most.
        """
        self.clock = clock
        self.write = write
        self.delay = delay
        self.limit = limit
        self.concurrency = concurrency
        self.batches = 0
        self.written = 0
        self._waiting = []  # (item, Deferred)
        self._timer = None
        self._running = 0

    def __len__(self):
        """Items waiting for a batch."""
        return len(self._waiting)

    def add(self, item):
        """
        @return: a Deferred firing with the item's result once its batch is
            written, or failing with the batch's failure.
        """
        d = defer.Deferred()
        self._waiting.append((item, d))
        if len(self._waiting) >= self.limit or self.delay <= 0:
            self._flush()
        elif self._timer is None:
            self._timer = self.clock.callLater(self.delay, self._flush)
        return d

    def flush(self):
        """Write what is waiting now, without the delay (shutdown)."""
        self._flush()

    def _flush(self):
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None
        while self._waiting and self._running < self.concurrency:
            batch, self._waiting = self._waiting[:self.limit], self._waiting[self.limit:]
            self._running += 1
            self.batches += 1
            d = defer.maybeDeferred(self.write, [item for item, _ in batch])
            d.addBoth(self._written, batch)

    def _written(self, result, batch):
        self._running -= 1
        if isinstance(result, Failure):
            for _, d in batch:
                d.errback(result)
        else:
            self.written += len(batch)
            each = result if isinstance(result, list) and len(result) == len(batch) else [result] * len(batch)
            for (_, d), value in zip(batch, each):
                d.callback(value)
        # What arrived during this write has waited long enough.
        if self._waiting:
            self._flush()
