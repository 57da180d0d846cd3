"""
Tests for L{iserverd.tap}: options, errors, and the plugin.
"""

from twisted.python import usage
from twisted.trial import unittest

from iserverd import tap
from iserverd.services.server import ServerService


class OptionsTests(unittest.TestCase):
    """
    Command-line options are checked before anything starts.
    """

    def test_defaults(self):
        """No options give the default settings."""
        o = tap.ServerOptions()
        o.parseOptions([])
        self.assertEqual((o["settings"].port, o["settings"].database), (4000, ""))

    def test_overrides(self):
        """Each option sets its setting."""
        o = tap.ServerOptions()
        o.parseOptions([
            "--port", "4100", "--interface", "127.0.0.1", "--database", "postgresql://u@h/db",
            "--data-dir", "/srv/isd", "--webpager-socket", "/run/wwp",
        ])
        s = o["settings"]
        self.assertEqual(
            (s.port, s.interface, s.database, s.data_dir, s.webpager_path),
            (4100, "127.0.0.1", "postgresql://u@h/db", "/srv/isd", "/run/wwp"),
        )

    def test_bad_values(self):
        """Bad values are usage errors with a one-line reason."""
        for argv in (["--port", "x"], ["--port", "-1"], ["--interface", "nowhere"],
                     ["--database", "mysql://x"], ["--config", "/nonexistent"], ["--bogus"]):
            e = self.assertRaises(usage.UsageError, tap.ServerOptions().parseOptions, argv)
            self.assertNotIn("\n", str(e))

    def test_twistd_exits_with_one_line(self):
        """Under twistd a bad option ends the program with one line, not the usage text."""
        e = self.assertRaises(SystemExit, tap.Options().parseOptions, ["--port", "x"])
        self.assertTrue(str(e.code).startswith("iserverd: "))
        self.assertNotIn("\n", str(e.code))

    def test_make_service(self):
        """makeService composes the server without starting anything."""
        o = tap.ServerOptions()
        o.parseOptions(["--port", "0"])
        from twisted.internet import reactor

        s = tap.makeService(o, reactor)
        self.assertIsInstance(s, ServerService)
        self.assertFalse(s.running)


class PluginTests(unittest.TestCase):
    """
    The twistd plugin is found and points at this module.
    """

    def test_plugin(self):
        """twistd's plugin discovery finds 'iserverd'."""
        from twisted.application.service import IServiceMaker
        from twisted.plugin import getPlugins

        makers = {p.tapname: p for p in getPlugins(IServiceMaker)}
        self.assertIn("iserverd", makers)
        self.assertIs(makers["iserverd"].options, tap.Options)
