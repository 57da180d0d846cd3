"""
The event processor: a once-a-second tick driving resends, give-ups,
keep-alive expiry and delayed offline deliveries.
"""

from twisted.application import service
from twisted.internet import task
from twisted.logger import Logger

TICK = 1.0


class EventProcessor(service.Service):
    """
    Runs C{network.tick} every second on the injected clock.  A failure in a
    tick is logged and the loop goes on (a bare L{task.LoopingCall} would stop
    for good).
    """

    log = Logger()

    def __init__(self, network, clock, interval=TICK):
        self.network = network
        self.clock = clock
        self.interval = interval
        self._loop = None
        self._done = None

    def _tick(self):
        try:
            self.network.tick()
        except Exception:
            self.log.failure("event processor tick failed")

    def startService(self):
        service.Service.startService(self)
        self._loop = task.LoopingCall(self._tick)
        self._loop.clock = self.clock
        self._done = self._loop.start(self.interval, now=False)
        self._done.addErrback(lambda f: self.log.failure("looping call died", f))

    def stopService(self):
        service.Service.stopService(self)
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        return self._done
