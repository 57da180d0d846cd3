"""
Tests for L{iserverd.admin.cli}.
"""

import io
import os
import stat
import subprocess
import sys

from twisted.internet import defer
from twisted.trial import unittest

from iserverd.admin import cli
from iserverd.storage.sealing import PasswordSealer, load_key
from tests import support

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _Stdin(io.StringIO):
    def isatty(self):
        return False


class AdminCommandTests(unittest.TestCase):
    """
    Each admin command acts on the store and reports clearly.
    """

    @defer.inlineCallbacks
    def setUp(self):
        self.store = yield support.open_storage(self)

    @defer.inlineCallbacks
    def admin(self, *argv):
        args = cli.build_parser().parse_args(list(argv))
        out = io.StringIO()
        yield cli.run(args, self.store, out)
        return out.getvalue()

    @defer.inlineCallbacks
    def test_useradd_show_list(self):
        """useradd creates the account that show and list then print."""
        out = yield self.admin("useradd", "--uin", "12345", "--nick", "alice", "--first", "Alice",
                               "--last", "Liddell", "--email", "a@example.org", "--password", "pw")
        self.assertEqual(out, "created UIN 12345\n")
        out = yield self.admin("show", "12345")
        self.assertIn("alice", out)
        self.assertIn("a@example.org", out)
        out = yield self.admin("list")
        self.assertIn("12345", out)
        self.assertIn("Alice Liddell", out)

    @defer.inlineCallbacks
    def test_errors(self):
        """A duplicate UIN and a missing user are clear errors."""
        yield self.admin("useradd", "--uin", "12345", "--password", "pw")
        e = yield self.assertFailure(self.admin("useradd", "--uin", "12345", "--password", "pw"), cli.AdminError)
        self.assertEqual(str(e), "UIN 12345 is already registered")
        for argv in (("show", "999"), ("userdel", "999"), ("passwd", "999", "--password", "x")):
            e = yield self.assertFailure(self.admin(*argv), cli.AdminError)
            self.assertEqual(str(e), "no account with UIN 999")

    def test_bad_input(self):
        """Bad UINs and over-long fields are refused by the parser."""
        parser = cli.build_parser()
        for argv in (["show", "abc"], ["show", "0"], ["show", "99999999999"],
                     ["useradd", "--nick", "x" * 21]):
            self.assertRaises(SystemExit, parser.parse_args, argv)

    def test_read_password(self):
        """A password comes from the option or one line of stdin; empty and long ones are refused."""
        self.assertEqual(cli.read_password("pw"), b"pw")
        self.assertEqual(cli.read_password(None, _Stdin("secret\nrest\n")), b"secret")
        self.assertRaises(cli.AdminError, cli.read_password, "")
        self.assertRaises(cli.AdminError, cli.read_password, "x" * 21)


class AdminProgramTests(unittest.TestCase):
    """
    The console script runs end to end on a real database.
    """

    def setUp(self):
        self.data = os.path.abspath(self.mktemp())

    def run_admin(self, dsn, *argv, stdin=""):
        return subprocess.run(
            [sys.executable, "-m", "iserverd.admin.cli", "--database", dsn, "--data-dir", self.data]
            + list(argv),
            input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=60,
        )

    def test_round_trip(self):
        """useradd then show round-trips a user; errors are one line with a non-zero exit."""
        dsn = support.fresh_database(self)
        r = self.run_admin(dsn, "useradd", "--nick", "bob", stdin="hunter2\n")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "created UIN 10001\n", ""))
        r = self.run_admin(dsn, "show", "10001")
        self.assertEqual(r.returncode, 0)
        self.assertIn("bob", r.stdout)
        r = self.run_admin(dsn, "show", "4242")
        self.assertEqual((r.returncode, r.stderr), (1, "iserverd-admin: no account with UIN 4242\n"))

    def test_sealed_passwords(self):
        """useradd and passwd create the key file (0600) and keep sealed copies that unseal to the password."""
        dsn = support.fresh_database(self)
        self.assertEqual(self.run_admin(dsn, "useradd", "--uin", "20002", "--password", "first").returncode, 0)
        key_path = os.path.join(self.data, "oscar.key")
        self.assertEqual(stat.S_IMODE(os.stat(key_path).st_mode), 0o600)
        sealer = PasswordSealer(load_key(key_path, create=False))
        ((sealed,),) = support.query(dsn, "SELECT password_sealed FROM users WHERE uin = 20002")
        self.assertEqual(sealer.unseal(20002, sealed), b"first")
        self.assertEqual(self.run_admin(dsn, "passwd", "20002", "--password", "second").returncode, 0)
        ((sealed,),) = support.query(dsn, "SELECT password_sealed FROM users WHERE uin = 20002")
        self.assertEqual(sealer.unseal(20002, sealed), b"second")

    def test_bad_key_file(self):
        """A key file open to others stops the tool with one line."""
        os.makedirs(self.data)
        key_path = os.path.join(self.data, "oscar.key")
        load_key(key_path)
        os.chmod(key_path, 0o644)
        r = self.run_admin(support.fresh_database(self), "list")
        self.assertEqual(r.returncode, 1)
        self.assertIn("chmod 600", r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1)

    def test_unreachable(self):
        """An unreachable database is one line and exit status 1."""
        r = self.run_admin("postgresql://nobody@127.0.0.1:1/x?connect_timeout=2", "list")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("iserverd-admin: cannot open the database"))
        self.assertEqual(r.stderr.count("\n"), 1)
