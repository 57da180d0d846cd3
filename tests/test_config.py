"""
Tests for L{iserverd.config}.
"""

import os

from twisted.trial import unittest

from iserverd import config


class ConfigTests(unittest.TestCase):
    """
    The config file understands IServerd's keys; command line beats file beats default.
    """

    def write(self, text):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_defaults(self):
        """Without a file the documented defaults apply."""
        c = config.load()
        self.assertEqual((c.port, c.interface, c.v5_ping_time, c.v5_max_retries), (4000, "0.0.0.0", 120, 5))
        self.assertEqual((c.v5_max_timeout, c.v5_max_msgsize, c.v5_max_search), (10, 450, 100))
        self.assertEqual(c.webpager_path, os.path.join("iserverd-data", "wwp.sock"))

    def test_iserverd_keys(self):
        """IServerd's key names are matched ignoring case and white space."""
        path = self.write(
            "[Globals]\n# comment\nListen port = 4001\nBind interface = 127.0.0.1/32\n"
            "v5maxretries = 7\nV5  Ping   Time = 90\nV5 registration enabled = Yes\n"
            "WWP socket filename = /tmp/x.sock\nV3 max msgsize = 1000\n"
        )
        c = config.load(path)
        self.assertEqual((c.port, c.interface, c.v5_max_retries, c.v5_ping_time), (4001, "127.0.0.1", 7, 90))
        self.assertTrue(c.v5_registration)
        self.assertEqual((c.webpager_path, c.v3_max_msgsize), ("/tmp/x.sock", 1000))

    def test_include_and_unknown(self):
        """Include pulls in another file; unknown keys are collected, not fatal."""
        outer = self.write("Include = v5_proto.conf\nPid file path = /x\n")
        with open(os.path.join(os.path.dirname(outer), "v5_proto.conf"), "w") as f:
            f.write("V5 max timeout = 3\nFrobnicate = 1\n")
        c = config.load(outer)
        self.assertEqual(c.v5_max_timeout, 3)
        self.assertIn("Frobnicate (unknown)", c.ignored)
        self.assertIn("Pid file path", c.ignored)

    def test_legacy_database_keys(self):
        """IServerd's database keys become a DSN."""
        c = config.load(self.write(
            "Database user = isd\nDatabase password = p w\nDatabase addr = db.local\n"
            "Database port = 5433\nUsers db name = users_db\n"
        ))
        self.assertEqual(c.database, "postgresql://isd:p%20w@db.local:5433/users_db")

    def test_precedence(self):
        """Command-line values beat the file, which beats the defaults."""
        c = config.load(self.write("Listen port = 4001\nV5 ping time = 60\n"), {"port": 4002})
        self.assertEqual((c.port, c.v5_ping_time), (4002, 60))

    def test_bad_values(self):
        """A bad value names the file, the line and the key, in one line."""
        for text, fragment in [
            ("Listen port = many\n", "whole number"),
            ("Listen port = 70000\n", "at most 65535"),
            ("V5 registration enabled = perhaps\n", "yes/no"),
            ("Bind interface = example\n", "IPv4"),
            ("just words\n", "Key = value"),
            ("WWP socket mode = 0666\n", "others"),
            ("Message durability = fast\n", "commit or memory"),
        ]:
            path = self.write(text)
            e = self.assertRaises(config.ConfigError, config.load, path)
            self.assertIn(fragment, str(e))
            self.assertIn(path, str(e))
            self.assertNotIn("\n", str(e))

    def test_missing_file(self):
        """A missing file is a one-line error."""
        e = self.assertRaises(config.ConfigError, config.load, "/nonexistent/iserv.conf")
        self.assertIn("cannot read config file", str(e))

    def test_include_loop(self):
        """A file that includes itself is reported, not followed forever."""
        path = self.write("")
        with open(path, "w") as f:
            f.write("Include = %s\n" % (path,))
        self.assertRaises(config.ConfigError, config.load, path)

    def test_reference_lists_every_key(self):
        """The generated reference documents every setting with its default."""
        text = config.reference()
        for setting in config.SETTINGS:
            self.assertIn("`%s`" % (setting.keys[0],), text)
