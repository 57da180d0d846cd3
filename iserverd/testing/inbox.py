"""
What every test client does with the server packets it accepts: keep them, and
let a test wait for the one it expects.
"""

from twisted.internet import defer

WAIT = 5.0


class Inbox:
    """
    Mixed into a test client, which calls L{deliver} for each accepted packet.

    @ivar received: every accepted server packet, in order.
    """

    def init_inbox(self, reactor):
        self.reactor = reactor
        self.received = []
        self._waiters = []
        self._consumed = set()

    def deliver(self, packet):
        """Keep C{packet} and wake the oldest wait it matches."""
        self.received.append(packet)
        for predicate, d in list(self._waiters):
            if predicate(packet) and id(packet) not in self._consumed:
                self._consumed.add(id(packet))
                self._waiters.remove((predicate, d))
                d.callback(packet)
                return

    def wait_for(self, predicate, timeout=WAIT):
        """
        Fire with the first received packet (not yet claimed by another wait)
        that matches C{predicate}, now or later.
        """
        for packet in self.received:
            if id(packet) not in self._consumed and predicate(packet):
                self._consumed.add(id(packet))
                return defer.succeed(packet)

        def forget(d):
            # A wait that timed out must not swallow a later packet.
            self._waiters[:] = [(p, w) for p, w in self._waiters if w is not d]

        d = defer.Deferred(forget)
        self._waiters.append((predicate, d))
        return d.addTimeout(timeout, self.reactor)

    def of(self, command):
        """The received packets with this command."""
        return [p for p in self.received if p.command == command]
