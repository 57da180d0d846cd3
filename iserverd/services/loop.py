# -*- test-case-name: tests.test_loop -*-
"""
The periodic work of the services (event processor, busy gate, control
socket's sampler) runs in a L{GuardedLoop}: a bare L{task.LoopingCall} stops
for good at the first exception, which would leave resends, keep-alive expiry
or the overload log silently dead.
"""

from twisted.internet import task
from twisted.logger import Logger


class GuardedLoop:
    """
    Calls C{step()} every C{interval} seconds of the injected clock (first
    after one interval).  A failing step is logged and the loop goes on.

    @ivar what: names the work in the log ("event processor tick").
    """

    log = Logger()

    def __init__(self, clock, interval, step, what):
        self.clock = clock
        self.interval = interval
        self.step = step
        self.what = what
        self._loop = None
        self._done = None

    def _run(self):
        try:
            self.step()
        except Exception:
            self.log.failure("{what} failed", what=self.what)

    @property
    def running(self):
        return self._loop is not None and self._loop.running

    def start(self):
        self._loop = task.LoopingCall(self._run)
        self._loop.clock = self.clock
        self._done = self._loop.start(self.interval, now=False)
        self._done.addErrback(lambda f: self.log.failure("{what} loop died", f, what=self.what))

    def stop(self):
        """@return: a Deferred firing when the loop has stopped (L{None} if it never started)."""
        if self.running:
            self._loop.stop()
        return self._done
