"""
Tests for L{iserverd.services.server}: start-up, shutdown, and start-up failures.
"""

import socket

from twisted.internet import defer, reactor
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial import unittest

from iserverd import config
from iserverd.services.server import ServerService
from iserverd.storage.interfaces import DatabaseUnavailable
from iserverd.storage.schema import SchemaError
from tests import support


def settings(dsn, testcase, **extra):
    values = dict(database=dsn, port=0, interface="127.0.0.1",
                  webpager_socket=support.socket_path(testcase, "wwp.sock"),
                  control_socket=support.socket_path(testcase, "control.sock"))
    values.update(extra)
    return config.load(None, values)


class ServerServiceTests(unittest.TestCase):
    """
    The root service opens the database before it serves, and stops cleanly.
    """

    @defer.inlineCallbacks
    def test_start_and_stop(self):
        """The service serves UDP once ready, clears stale online rows, and stops."""
        dsn = support.fresh_database(self)
        support.query(dsn, "INSERT INTO users (uin, password_hash) VALUES (1001, 'x')")
        support.query(dsn, "INSERT INTO online_users (uin, ip, port, protocol) VALUES (1001, '127.0.0.1', 1, 5)")
        s = ServerService(settings(dsn, self), reactor)
        s.startService()
        yield s.ready
        self.assertTrue(s.udp_port)
        self.assertEqual(support.query(dsn, "SELECT count(*) FROM online_users"), [(0,)])
        yield s.stopService()
        self.assertIsNone(s.udp_port)

    @defer.inlineCallbacks
    def _failing_start(self, cfg):
        observer = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        fatal = []
        s = ServerService(cfg, reactor, on_fatal=lambda: fatal.append(True))
        s.startService()
        failure = None
        try:
            yield s.ready
        except Exception as e:
            failure = e
        yield s.stopService()
        critical = [e for e in observer if e["log_level"] is LogLevel.critical]
        self.assertEqual(len(critical), 1)
        self.assertEqual(fatal, [True])
        return failure, critical[0]

    @defer.inlineCallbacks
    def test_unreachable_database(self):
        """An unreachable database is one critical log line and a call to stop."""
        dsn = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"
        failure, event = yield self._failing_start(settings(dsn, self))
        self.assertIsInstance(failure, DatabaseUnavailable)
        self.assertIn("cannot start iserverd", event["log_format"])
        self.assertNotIn("\n", event["reason"])

    @defer.inlineCallbacks
    def test_newer_schema(self):
        """A database newer than the code stops the start with one line."""
        dsn = support.fresh_database(self)
        support.query(dsn, "UPDATE schema_version SET version = 999")
        failure, event = yield self._failing_start(settings(dsn, self))
        self.assertIsInstance(failure, SchemaError)

    @defer.inlineCallbacks
    def test_port_in_use(self):
        """A UDP port already taken is one log line, not a traceback."""
        taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        taken.bind(("127.0.0.1", 0))
        self.addCleanup(taken.close)
        dsn = support.fresh_database(self)
        cfg = settings(dsn, self, port=taken.getsockname()[1])
        failure, event = yield self._failing_start(cfg)
        self.assertIn("Couldn't listen", event["reason"])
