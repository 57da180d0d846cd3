"""
The root service: opens the database, then serves UDP and runs the event processor.

Connecting and upgrading are asynchronous, so they happen in L{startService}
(not in C{makeService}); a failure there is one log line and a clean stop.
"""

import socket

from twisted.application import service
from twisted.internet import defer, threads
from twisted.logger import Logger

from iserverd.codec import v3, v5
from iserverd.config import one_line
from iserverd.core.authorization import Authorization
from iserverd.core.network import Network
from iserverd.core.throttle import LoginThrottle
from iserverd.handlers.v3 import V3Handler
from iserverd.handlers.v5 import V5Handler
from iserverd.services import logs
from iserverd.services.busy import BusyGate
from iserverd.services.control import ControlService
from iserverd.services.database import Database
from iserverd.services.events import EventProcessor
from iserverd.services.metrics import MetricsService
from iserverd.services.webpager import WebpagerService
from iserverd.speakers.v3 import V3Speaker
from iserverd.speakers.v5 import V5Speaker
from iserverd.storage.departments import PostgresDepartments
from iserverd.storage.directory import PostgresDirectory
from iserverd.storage.passwords import verify_password
from iserverd.transport import ICQProtocol
from iserverd.web.resources import WebService


def enlarge_buffers(sock, size):
    """
    Give the UDP socket room for bursts: the kernel default holds only a few
    hundred small datagrams.  As root the system maximum is overridden.
    """
    for force, plain in ((getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF),
                         (getattr(socket, "SO_SNDBUFFORCE", None), socket.SO_SNDBUF)):
        for option in (force, plain):
            if option is None:
                continue
            try:
                sock.setsockopt(socket.SOL_SOCKET, option, size)
                break
            except OSError:
                continue


def protocol_handlers(network, send, config, accounts, directory, departments, clock):
    """
    The handler of each protocol version on one network, with its speaker and
    the authorization check they share.

    @param accounts: the L{iserverd.storage.interfaces.IStorage}.
    @return: protocol version to handler, for L{ICQProtocol.handlers}.
    """
    authorization = Authorization(network, directory)
    return {
        v5.VERSION: V5Handler(network, send, config, V5Speaker(config), directory, authorization, accounts),
        v3.VERSION: V3Handler(network, send, config, V3Speaker(config), departments, directory, authorization,
                              accounts, clock=clock),
    }


class ServerService(service.MultiService):
    """
    @ivar ready: a Deferred that fires with C{self} once the server is serving,
        or fails with the start-up error (after it has been logged).
    @ivar storage: the opened storage.
    @ivar protocol: the L{ICQProtocol} bound to the UDP port.
    @ivar on_fatal: called after a start-up failure has been logged (the
        plugin stops the reactor; tests leave it L{None}).
    @ivar clock: the L{IReactorTime} that drives timers (tests pass a
        L{task.Clock}).
    @ivar network: the shared L{Network} once serving.
    """

    log = Logger()

    def __init__(self, config, reactor, on_fatal=None, clock=None):
        service.MultiService.__init__(self)
        self.config = config
        self.reactor = reactor
        self.clock = reactor if clock is None else clock
        self.network = None
        self.on_fatal = on_fatal
        self.database = Database(config, reactor)
        self.storage = None
        self.protocol = ICQProtocol()
        self.port = None
        self.ready = None
        self._logs = None

    def startService(self):
        service.MultiService.startService(self)
        try:
            self._logs = logs.install(self.config)
        except logs.LogSetupError as e:
            self.ready = defer.fail(e)
            self.ready.addErrback(self._failed)
            return
        for key in self.config.ignored:
            self.log.warn("config: ignoring key {key}", key=key)
        self.ready = self._start()
        self.ready.addErrback(self._failed)

    @defer.inlineCallbacks
    def _start(self):
        self.storage = yield self.database.open()
        yield self.storage.clear_online()
        self._build()
        yield self.network.recover()
        self.port = self.reactor.listenUDP(
            self.config.port, self.protocol, interface=self.config.interface
        )
        enlarge_buffers(self.port.socket, self.config.udp_buffer)
        host = self.port.getHost()
        self.log.info(
            "iserverd serving ICQ v3/v5 on udp {host}:{port} (database schema v{version})",
            host=host.host, port=host.port, version=self.storage.schema_version,
        )
        return self

    def _build(self):
        """
        The composition root: every long-lived object of the server is made
        here and handed to the objects that use it.
        """
        config, clock, send = self.config, self.clock, self.protocol.send
        self.network = Network(self.storage, clock, config, send, self._check_password,
                               throttle=LoginThrottle.from_config(config))
        gate = BusyGate(config, clock, self.network.sessions.get, send)
        gate.setServiceParent(self)
        self.protocol.gate = gate
        self.protocol.handlers.update(protocol_handlers(
            self.network, send, config, self.storage, PostgresDirectory(self.storage),
            PostgresDepartments(self.storage), clock,
        ))
        EventProcessor(self.network, clock).setServiceParent(self)
        WebpagerService(self.network, config, self.reactor, clock=clock).setServiceParent(self)
        if config.http_port:
            WebService(self.network, self.storage, config, self.reactor, clock=clock,
                       gate=gate).setServiceParent(self)
        ControlService(self).setServiceParent(self)
        if config.metrics_port:
            MetricsService(self).setServiceParent(self)

    def _check_password(self, password, stored):
        return threads.deferToThreadPool(
            self.reactor, self.reactor.getThreadPool(), verify_password, password, stored
        )

    def _failed(self, failure):
        self.log.critical("cannot start iserverd: {reason}", reason=one_line(failure.value))
        if self.on_fatal is not None:
            self.on_fatal()
        return failure

    @property
    def udp_port(self):
        """The bound UDP port number (useful with port 0)."""
        return self.port.getHost().port if self.port is not None else None

    @defer.inlineCallbacks
    def stopService(self):
        if self.ready is not None and not self.ready.called:
            self.ready.cancel()
        if self.port is not None:
            port, self.port = self.port, None
            yield port.stopListening()
            self.log.info("udp totals: {counters}", counters=dict(self.protocol.counters))
        if self.network is not None:
            yield self.network.shutdown()
        yield service.MultiService.stopService(self)
        if self.storage is not None:
            try:
                yield self.storage.clear_online()
            except Exception as e:
                self.log.warn("could not clear the online table at shutdown: {reason}", reason=one_line(e))
        yield self.database.close()
        if self._logs is not None:
            self._logs.uninstall()
            self._logs = None
