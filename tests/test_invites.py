"""
Invite codes: storage against a real database, the admin commands, and a
web sign-up on an invite-only network.
"""

import io

from twisted.internet import defer
from twisted.trial import unittest

from iserverd.admin import cli
from iserverd.storage.invites import PostgresInvites, new_code, normalize
from tests import support
from tests.test_web import fetch, start_web
from tests.test_web_pages import SIGNUP


class CodeTests(unittest.TestCase):

    def test_format(self):
        code = new_code()
        self.assertRegex(code, r"^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$")
        self.assertEqual(normalize(code.lower().replace("-", " ")), code)
        self.assertIsNone(normalize("short"))


class InviteTests(unittest.TestCase):

    @defer.inlineCallbacks
    def setUp(self):
        self.server, self.clock, self.dsn, self.web, self.base = yield start_web(
            self, web_registration=True, web_auto_registration=True, web_invite_only=True)
        self.invites = PostgresInvites(self.server.storage)

    @defer.inlineCallbacks
    def test_storage(self):
        """A code is good for its uses, then not; a revoked one never."""
        code = yield self.invites.create_invite(uses=2, note="for the club")
        self.assertTrue((yield self.invites.use_invite(code.lower())))
        self.assertTrue((yield self.invites.use_invite(code)))
        self.assertFalse((yield self.invites.use_invite(code)))
        other = yield self.invites.create_invite()
        self.assertTrue((yield self.invites.revoke_invite(other)))
        self.assertFalse((yield self.invites.use_invite(other)))
        self.assertFalse((yield self.invites.revoke_invite("NOPE-NOPE-NOPE")))
        listed = {i.code: i for i in (yield self.invites.list_invites())}
        self.assertEqual((listed[code].used, listed[code].uses_left, listed[code].note), (2, 0, "for the club"))
        self.assertTrue(listed[other].revoked)

    @defer.inlineCallbacks
    def test_web_signup_needs_invite(self):
        """On an invite-only network a sign-up without a valid code is refused; with one it succeeds once."""
        r = yield fetch(self, self.base + "/register")
        self.assertIn('name="invite"', r.text)
        r = yield fetch(self, self.base + "/register", dict(SIGNUP, invite="AAAA-BBBB-CCCC"))
        self.assertEqual(r.code, 400)
        self.assertIn("invite code is not valid", r.text)
        code = yield self.invites.create_invite()
        self.clock.advance(61)
        r = yield fetch(self, self.base + "/register", dict(SIGNUP, invite=code))
        self.assertEqual(r.code, 200)
        self.assertIn('id="new-uin"', r.text)
        self.clock.advance(61)
        r = yield fetch(self, self.base + "/register", dict(SIGNUP, invite=code))
        self.assertEqual(r.code, 400)

    @defer.inlineCallbacks
    def test_admin_commands(self):
        """iserverd-admin invite create, list and revoke."""
        out = io.StringIO()
        parser = cli.build_parser()
        yield cli.run(parser.parse_args(["invite", "create", "--uses", "3", "--note", "team"]),
                      self.server.storage, out)
        code = out.getvalue().split()[-1]
        self.assertIsNotNone(normalize(code))
        out = io.StringIO()
        yield cli.run(parser.parse_args(["invite", "list"]), self.server.storage, out)
        self.assertIn(code, out.getvalue())
        self.assertIn("team", out.getvalue())
        out = io.StringIO()
        yield cli.run(parser.parse_args(["invite", "revoke", code]), self.server.storage, out)
        self.assertIn("revoked", out.getvalue())
        self.assertFalse((yield self.invites.use_invite(code)))
        yield self.assertFailure(cli.run(parser.parse_args(["invite", "revoke", code[:-1] + "Z"]),
                                         self.server.storage, io.StringIO()), cli.AdminError)
