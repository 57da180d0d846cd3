"""
Tests for the registration commands of L{iserverd.admin.cli}: C{requests},
C{approve} and C{reject}, on a real database.
"""

import io
import os
import subprocess
import sys

from twisted.internet import defer
from twisted.trial import unittest

from iserverd.admin import cli
from iserverd.storage.directory import PostgresDirectory
from iserverd.storage.passwords import verify_password
from tests import support
from tests.test_admin import ROOT

FORM = {"nick": "newbie", "first_name": "Ann", "last_name": "Lee", "email3": "ann@example.com",
        "home_city": "Boston"}


class RegistrationCommandTests(unittest.TestCase):
    """
    The administrator lists, approves and rejects queued registrations.
    """

    @defer.inlineCallbacks
    def setUp(self):
        self.store = yield support.open_storage(self)
        self.directory = PostgresDirectory(self.store)
        self.v5 = yield self.directory.queue_registration(b"chosen", "five@example.org", "192.0.2.5")
        self.v3 = yield self.directory.queue_registration(None, "ann@example.com", "192.0.2.3", FORM)

    @defer.inlineCallbacks
    def admin(self, *argv):
        args = cli.build_parser().parse_args(list(argv))
        out = io.StringIO()
        yield cli.run(args, self.store, out)
        return out.getvalue()

    @defer.inlineCallbacks
    def test_requests(self):
        """requests lists each request with its id, address, e-mail, nick and name."""
        out = yield self.admin("requests")
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["ID", "REQUESTED", "ADDRESS", "E-MAIL", "NICK", "NAME"])
        self.assertEqual(lines[1].split()[0::2], [str(self.v5), "192.0.2.5", "-"])
        self.assertEqual(lines[2].split()[2:], ["192.0.2.3", "ann@example.com", "newbie", "Ann", "Lee"])
        self.assertEqual(lines[-1], "2 pending")

    @defer.inlineCallbacks
    def test_approve_v3(self):
        """Approving a v3 form creates the account with its details and prints a new random password."""
        out = yield self.admin("approve", str(self.v3))
        prefix = "approved request %d: UIN 10001, password " % (self.v3,)
        self.assertTrue(out.startswith(prefix), out)
        password = out[len(prefix):].strip().encode("ascii")
        self.assertRegex(password.decode("ascii"), "^[0-9A-F]{8}$")
        account = yield self.store.get_account(10001)
        self.assertTrue(verify_password(password, account.password_hash))
        rows = support.query(self.store.dsn, "SELECT nick, email, email3, home_city, must_change_password"
                             " FROM users WHERE uin = 10001")
        self.assertEqual(rows, [("newbie", "ann@example.com", "ann@example.com", "Boston", True)])
        self.assertEqual((yield self.admin("requests")).splitlines()[-1], "1 pending")

    @defer.inlineCallbacks
    def test_approve_given_password(self):
        """--password sets the password of a v3 request instead of a random one."""
        out = yield self.admin("approve", str(self.v3), "--password", "letmein")
        self.assertEqual(out, "approved request %d: UIN 10001, password letmein\n" % (self.v3,))
        account = yield self.store.get_account(10001)
        self.assertTrue(verify_password(b"letmein", account.password_hash))

    @defer.inlineCallbacks
    def test_approve_v5(self):
        """A v5 request keeps the password its user chose; none is printed."""
        out = yield self.admin("approve", str(self.v5))
        self.assertEqual(out, "approved request %d: UIN 10001 (with the password its user chose)\n" % (self.v5,))
        account = yield self.store.get_account(10001)
        self.assertTrue(verify_password(b"chosen", account.password_hash))

    @defer.inlineCallbacks
    def test_reject(self):
        """reject deletes the request and creates nothing."""
        out = yield self.admin("reject", str(self.v5))
        self.assertEqual(out, "rejected request %d\n" % (self.v5,))
        self.assertEqual(support.query(self.store.dsn, "SELECT count(*) FROM users"), [(0,)])
        self.assertEqual([r.id for r in (yield self.directory.registration_requests())], [self.v3])

    @defer.inlineCallbacks
    def test_unknown(self):
        """An unknown id is a clear error for approve and reject; a bad one is refused by the parser."""
        for command in ("approve", "reject"):
            e = yield self.assertFailure(self.admin(command, "999"), cli.AdminError)
            self.assertEqual(str(e), "no registration request 999")
        for argv in (["approve", "x"], ["reject", "0"]):
            self.assertRaises(SystemExit, cli.build_parser().parse_args, argv)


class RegistrationProgramTests(unittest.TestCase):
    """
    The console script's registration commands run end to end.
    """

    def test_approve(self):
        """requests then approve through iserverd-admin; an unknown id is one line and exit status 1."""
        dsn = support.fresh_database(self)
        support.query(dsn, "INSERT INTO register_requests (email, ip, info) VALUES"
                           " ('ann@example.com', '192.0.2.3', '{\"nick\": \"newbie\"}')")

        data = os.path.abspath(self.mktemp())

        def admin(*argv):
            return subprocess.run([sys.executable, "-m", "iserverd.admin.cli", "--database", dsn,
                                   "--data-dir", data] + list(argv),
                                  capture_output=True, text=True, cwd=ROOT, timeout=60)

        r = admin("requests")
        self.assertEqual((r.returncode, r.stdout.splitlines()[-1]), (0, "1 pending"))
        r = admin("approve", "1", "--password", "pw")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "approved request 1: UIN 10001, password pw\n", ""))
        r = admin("reject", "1")
        self.assertEqual((r.returncode, r.stderr), (1, "iserverd-admin: no registration request 1\n"))
