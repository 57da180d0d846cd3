"""
The event processor: a once-a-second tick driving resends, give-ups,
keep-alive expiry and delayed offline deliveries.
"""

from twisted.application import service

from iserverd.services.loop import GuardedLoop

TICK = 1.0


class EventProcessor(service.Service):
    """
    Runs C{network.tick} every second on the injected clock, in a
    L{GuardedLoop}.
    """

    def __init__(self, network, clock, interval=TICK):
        self.network = network
        self.clock = clock
        self.interval = interval
        self._loop = GuardedLoop(clock, interval, network.tick, "event processor tick")

    def startService(self):
        service.Service.startService(self)
        self._loop.start()

    def stopService(self):
        service.Service.stopService(self)
        return self._loop.stop()
