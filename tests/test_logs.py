"""
Tests for L{iserverd.services.logs}: the configured level and the JSON-lines file.
"""

import io

from twisted.logger import LogLevel, LogPublisher, Logger, eventsFromJSONLogFile
from twisted.trial import unittest

from iserverd import config
from iserverd.services import logs
from iserverd.transport import ICQProtocol


class LogSetupTests(unittest.TestCase):
    """
    install() filters the observers already present by level, adds the JSON
    file behind the same filter, and uninstall() restores everything.
    """

    def setUp(self):
        self.publisher = LogPublisher()
        self.events = []
        self.observer = self.events.append
        self.publisher.addObserver(self.observer)
        self.log = Logger(namespace="iserverd.test", observer=self.publisher)

    def install(self, **settings):
        setup = logs.install(config.load(None, settings), self.publisher)
        self.addCleanup(setup.uninstall)
        return setup

    def test_level_filters_existing_observers(self):
        """With level warn, info and debug events no longer reach the observers already there."""
        self.install(log_level="warn")
        self.log.debug("debug")
        self.log.info("info")
        self.log.warn("warn")
        self.log.error("error")
        self.assertEqual([e["log_format"] for e in self.events], ["warn", "error"])

    def test_default_level_info(self):
        """The default level lets info through and holds debug back."""
        self.install()
        self.log.debug("debug")
        self.log.info("info")
        self.assertEqual([e["log_format"] for e in self.events], ["info"])

    def test_iserverd_numeric_level(self):
        """IServerd's numeric Log level (10 in its sample file) means debug; 0 means warn."""
        self.assertEqual(config.load(None, {"log_level": config.parse_value("log_level", "10")}).log_level, "debug")
        self.assertEqual(config.parse_value("Log level", "0"), "warn")
        self.assertEqual(config.parse_value("Log level", "5"), "info")

    def test_uninstall_restores(self):
        """After uninstall the original observer sees every level again."""
        setup = self.install(log_level="error")
        setup.uninstall()
        self.log.debug("debug")
        self.assertEqual([e["log_format"] for e in self.events], ["debug"])
        self.assertEqual(self.publisher._observers, [self.observer])

    def test_remove_while_filtered(self):
        """Removing the original observer while it is filtered removes it for good."""
        setup = self.install(log_level="warn")
        self.publisher.removeObserver(self.observer)
        setup.uninstall()
        self.log.error("error")
        self.assertEqual(self.events, [])
        self.assertEqual(self.publisher._observers, [])

    def test_json_file(self):
        """With a JSON log file, events at or above the level are written one JSON object per line."""
        path = self.mktemp()
        setup = self.install(log_level="info", log_json_file=path)
        self.log.debug("hidden")
        self.log.info("uin {uin} online", uin=10001)
        setup.uninstall()
        with io.open(path, encoding="utf-8") as f:
            events = list(eventsFromJSONLogFile(f))
        self.assertEqual([(e["log_format"], e["uin"]) for e in events], [("uin {uin} online", 10001)])
        self.assertEqual(events[0]["log_level"], LogLevel.info)
        with io.open(path, encoding="utf-8") as f:
            self.assertEqual(f.read().count("\n"), 1)

    def test_bad_packet_one_event_no_traceback(self):
        """A malformed datagram is one info event without a traceback, and the JSON file gets one line."""
        path = self.mktemp()
        self.install(log_json_file=path)
        protocol = ICQProtocol()
        protocol.log = Logger(namespace="iserverd.transport", observer=self.publisher)
        protocol.datagramReceived(b"\x07\x00garbage", ("192.0.2.1", 4000))
        self.assertEqual(len(self.events), 1)
        self.assertEqual(self.events[0]["log_level"], LogLevel.info)
        self.assertNotIn("log_failure", self.events[0])
        with io.open(path, encoding="utf-8") as f:
            self.assertEqual(f.read().count("\n"), 1)

    def test_json_file_unwritable(self):
        """A JSON log path that cannot be opened is a one-line error at install and changes nothing."""
        e = self.assertRaises(logs.LogSetupError, logs.install,
                              config.load(None, {"log_json_file": "/nonexistent/dir/log.json"}), self.publisher)
        self.assertEqual(str(e), "cannot open the JSON log file /nonexistent/dir/log.json: No such file or directory")
        self.assertEqual(self.publisher._observers, [self.observer])
