"""
ICQ v5 user info, search, registration, account changes and authorization end
to end: real UDP on loopback, a real PostgreSQL, the v5 test client.
"""

from psycopg2 import sql
from twisted.internet import defer, reactor
from twisted.trial import unittest

from iserverd.codec import v5
from iserverd.codec import v5_meta as meta
from iserverd.codec.wire import lnts
from iserverd.core.guards import REGISTRATION_INTERVAL
from iserverd.testing.v5client import connect
from tests import support
from tests.support import ALICE, BOB, CAROL, PASSWORDS, advance, start_server

h = bytes.fromhex
MALLORY = 10004
FULL_INFO = [meta.REPLY_GENERAL, meta.REPLY_MORE, meta.REPLY_HOMEPAGE_CATEGORY, meta.REPLY_WORK,
             meta.REPLY_ABOUT, meta.REPLY_INTERESTS, meta.REPLY_AFFILIATIONS]


def basic(subcommand=meta.SET_BASIC_ZIP_TEXT, **changes):
    values = dict(nick=b"Bob", first_name=b"Robert", last_name=b"Smith", email=b"private@example.org",
                  email2=b"bob@example.org", home_city=b"Paris", home_zip=b"75001",
                  home_country=33, timezone=-2, hide_email=True)
    values.update(changes)
    return meta.SetBasic(subcommand, **values)


class MetaTestCase(unittest.TestCase):
    """
    A server with Alice, Bob and Carol, and helpers to bring clients online.
    """

    settings = {}

    @defer.inlineCallbacks
    def setUp(self):
        self.server, self.clock, self.dsn = yield start_server(self, **self.settings)
        self.passwords = dict(PASSWORDS)

    @defer.inlineCallbacks
    def client(self, uin, password=None, **kw):
        c = yield connect(self, reactor, self.server.udp_port, uin,
                          self.passwords.get(uin) if password is None else password, **kw)
        return c

    def online(self, uin, contacts=(), status=0, **kw):
        """A logged-in client that has uploaded its contact list."""
        return support.v5_online(self, self.server, uin, self.passwords.get(uin), contacts, status, **kw)

    def db(self, statement, params=None):
        return support.query(self.dsn, statement, params)

    @defer.inlineCallbacks
    def set_ok(self, client, request):
        """Send a set request and check its success reply."""
        (reply,) = yield client.ask(request.subcommand, request.build())
        self.assertEqual((reply.subcommand, reply.result, reply.data), (request.reply, meta.META_OK, b""))

    @defer.inlineCallbacks
    def register(self, password=b"secret", seed=None, **kw):
        """A fresh client that sends REG_NEW_USER; fire with it and the server's ACK."""
        c = yield self.client(0, password=password, seed=seed)
        ack = yield c.register(password, **kw)
        return c, ack

    @defer.inlineCallbacks
    def settled(self, *clients):
        """Let everything the server sent so far arrive (a keep-alive round trip each)."""
        for c in clients:
            yield c.keep_alive()
        yield self.server.network.settle()


class InfoTests(MetaTestCase):
    """
    Setting and reading account details.
    """

    @defer.inlineCallbacks
    def test_full_info_99b(self):
        """0x04CF gets seven replies in order, with the request's SEQ2, e-mail 1 hidden from others."""
        b = yield self.online(BOB)
        yield self.set_ok(b, basic())
        a = yield self.online(ALICE)
        replies = yield a.ask(meta.GET_INFO_ALL_99B, meta.UinRequest(BOB).build(), count=7)
        self.assertEqual([r.subcommand for r in replies], FULL_INFO)
        self.assertEqual({r.result for r in replies}, {meta.META_OK})
        general = meta.GeneralInfo.parse(replies[0].data)
        self.assertEqual(general, meta.GeneralInfo(
            b"Bob", b"Robert", b"Smith", b"", b"bob@example.org", b"", b"Paris", home_zip=b"75001",
            home_country=33, timezone=-2, hide_email=True,
        ))
        own = yield b.ask(meta.GET_INFO_ALL_99B, meta.UinRequest(BOB).build(), count=7)
        self.assertEqual(meta.GeneralInfo.parse(own[0].data).email, b"private@example.org")
        seqs = [p.seq1 for p in a.of(v5.SRV_META_USER)]
        self.assertEqual(seqs, sorted(seqs))

    @defer.inlineCallbacks
    def test_full_info_99a(self):
        """0x04B0 and 0x04CE get the 99a forms: DWORD ZIP, BYTE birth year."""
        b = yield self.online(BOB)
        yield self.set_ok(b, basic())
        yield self.set_ok(b, meta.SetMore(meta.SET_MORE_YEAR_WORD, 30, 2, b"http://bob/", 1971, 5, 17, (12,)))
        for sub in (meta.GET_INFO_99A, meta.GET_OWN_INFO_99A):
            replies = yield b.ask(sub, meta.UinRequest(BOB).build(), count=7)
            self.assertEqual([r.subcommand for r in replies], FULL_INFO)
            general = meta.GeneralInfo.parse(replies[0].data, b99=False)
            self.assertEqual((general.home_zip, general.timezone), (b"75001", -2))
            self.assertEqual(replies[1].data[-6], 71)  # 1971 as years since 1900
            self.assertEqual(meta.MoreInfo.parse(replies[1].data, b99=False).birth_year, 1971)

    @defer.inlineCallbacks
    def test_info_unknown(self):
        """Info about an unknown UIN: one general-info reply with result 0x32."""
        a = yield self.online(ALICE)
        (reply,) = yield a.ask(meta.GET_INFO_ALL_99B, meta.UinRequest(55555).build())
        self.assertEqual((reply.subcommand, reply.result), (meta.REPLY_GENERAL, meta.META_FAIL))
        (reply,) = yield a.ask(meta.GET_SHORT_INFO, meta.UinRequest(55555).build())
        self.assertEqual((reply.subcommand, reply.result), (meta.REPLY_SHORT, meta.META_FAIL))
        yield self.settled(a)
        self.assertEqual(len(a.of(v5.SRV_META_USER)), 2)

    @defer.inlineCallbacks
    def test_short_info(self):
        """0x04BA: nick, names, the public e-mail, auth flag and gender."""
        b = yield self.online(BOB)
        yield self.set_ok(b, basic())
        yield self.set_ok(b, meta.SetSecurity(meta.SET_SECURITY, True, True, False))
        yield self.set_ok(b, meta.SetMore(meta.SET_MORE, gender=2))
        a = yield self.online(ALICE)
        (reply,) = yield a.ask(meta.GET_SHORT_INFO, meta.UinRequest(BOB).build())
        self.assertEqual(meta.ShortInfo.parse(reply.data),
                         meta.ShortInfo(b"Bob", b"Robert", b"Smith", b"bob@example.org", True, 2))

    @defer.inlineCallbacks
    def test_set_basic_zip_forms(self):
        """Basic info is stored from the DWORD-ZIP, string-ZIP and micq forms alike."""
        b = yield self.online(BOB)
        yield self.set_ok(b, basic(meta.SET_BASIC, home_zip=b"12345", hide_email=False))
        self.assertEqual(self.db("SELECT home_zip, hide_email, timezone FROM users WHERE uin = %s", (BOB,)),
                         [("12345", False, -2)])
        yield self.set_ok(b, basic(meta.SET_BASIC_ZIP_TEXT, home_zip=b"75001", hide_email=True))
        self.assertEqual(self.db("SELECT home_zip, hide_email FROM users WHERE uin = %s", (BOB,)),
                         [("75001", True)])
        texts = b"".join(lnts(v) for v in (b"micq", b"", b"", b"", b"", b"", b"", b"", b"", b"", b"", b""))
        micq = texts + h("39 30 00 00 31 00 04 00 01 00")  # ZIP DWORD, country, tz, auth, web, hide IP
        (reply,) = yield b.ask(meta.SET_BASIC_ZIP_TEXT, micq)
        self.assertEqual((reply.subcommand, reply.result), (meta.REPLY_BASIC_SET, meta.META_OK))
        self.assertEqual(self.db("SELECT nick, home_zip, home_country, timezone, hide_email"
                                 " FROM users WHERE uin = %s", (BOB,)),
                         [("micq", "12345", 49, 4, True)])

    @defer.inlineCallbacks
    def test_set_each_group(self):
        """Work, more, about, interests, affiliations and homepage category are stored and read back."""
        b = yield self.online(BOB)
        for request in [
            meta.SetWork(meta.SET_WORK, b"Lyon", work_zip=b"69000", work_country=33, work_company=b"ACME"),
            meta.SetWork(meta.SET_WORK_ZIP_TEXT, b"Lyon", work_zip=b"69000", work_country=33,
                         work_company=b"ACME", work_department=b"R&D", work_title=b"Engineer",
                         work_occupation=4, work_homepage=b"http://acme/"),
            meta.SetMore(meta.SET_MORE, 30, 2, b"http://bob/", 1971, 5, 17, (12, 3)),
            meta.SetAbout(meta.SET_ABOUT, b"Hi\r\nthere"),
            meta.SetInterests(meta.SET_INTERESTS, ((100, b"Chess"), (101, b"Go"))),
            meta.SetAffiliations(meta.SET_AFFILIATIONS, ((1, b"school"),), ((2, b"club"),)),
            meta.SetHomepageCategory(meta.SET_HOMEPAGE_CATEGORY, True, 7, b"garden"),
        ]:
            yield self.set_ok(b, request)
        replies = yield b.ask(meta.GET_INFO_ALL_99B, meta.UinRequest(BOB).build(), count=7)
        more, homepage, work, about, interests, affiliations = replies[1:]
        self.assertEqual(meta.MoreInfo.parse(more.data),
                         meta.MoreInfo(30, 2, b"http://bob/", 1971, 5, 17, (12, 3, 0)))
        self.assertEqual(meta.HomepageCategory.parse(homepage.data), meta.HomepageCategory(True, 7, b"garden"))
        self.assertEqual(meta.WorkInfo.parse(work.data), meta.WorkInfo(
            b"Lyon", work_zip=b"69000", work_country=33, work_company=b"ACME", work_department=b"R&D",
            work_title=b"Engineer", work_occupation=4, work_homepage=b"http://acme/"))
        self.assertEqual(meta.About.parse(about.data).notes, b"Hi\r\nthere")
        self.assertEqual(meta.Interests.parse(interests.data).interests, ((100, b"Chess"), (101, b"Go")))
        self.assertEqual(meta.Affiliations.parse(affiliations.data),
                         meta.Affiliations(((1, b"school"),), ((2, b"club"),)))

    @defer.inlineCallbacks
    def test_security_order_and_hide_ip(self):
        """Security bytes in IServerd's order; hide-IP takes effect for watchers at once."""
        b = yield self.online(BOB)
        yield self.set_ok(b, meta.SetSecurity(meta.SET_SECURITY, False, False, True))
        self.assertEqual(self.db("SELECT auth_required, web_aware, hide_ip FROM users WHERE uin = %s", (BOB,)),
                         [(False, False, True)])
        a = yield self.online(ALICE, [BOB])
        about_bob = v5.UserOnline.parse((yield a.wait_command(v5.SRV_USER_ONLINE, uin=BOB)).data)
        self.assertEqual((about_bob.external_ip, about_bob.tcp_port), ("0.0.0.0", 0))

    @defer.inlineCallbacks
    def test_overlong_field(self):
        """A field over its limit gets the failure reply, stores nothing and keeps the session."""
        b = yield self.online(BOB)
        cases = [
            basic(nick=b"n" * 32),
            meta.SetWork(meta.SET_WORK, work_homepage=b"h" * 128),
            meta.SetMore(meta.SET_MORE, homepage=b"h" * 128),
            meta.SetAbout(meta.SET_ABOUT, b"a" * 1025),
            meta.SetInterests(meta.SET_INTERESTS, ((1, b"k" * 64),)),
            meta.SetAffiliations(meta.SET_AFFILIATIONS, ((1, b"k" * 64),)),
            meta.SetHomepageCategory(meta.SET_HOMEPAGE_CATEGORY, True, 1, b"d" * 128),
            meta.SetPassword(meta.SET_PASSWORD, b"p" * 21),
        ]
        for request in cases:
            (reply,) = yield b.ask(request.subcommand, request.build())
            self.assertEqual((reply.subcommand, reply.result), (request.reply, meta.META_FAIL))
        yield b.keep_alive()
        self.assertIsNotNone(self.server.network.sessions.get(BOB))
        self.assertEqual(self.db("SELECT nick, homepage, notes, interests::text FROM users WHERE uin = %s", (BOB,)),
                         [("nick%d" % BOB, "", "", "[]")])
        login = yield (yield self.client(BOB, seed=5)).login()
        self.assertEqual(login.command, v5.SRV_HELLO)

    @defer.inlineCallbacks
    def test_malformed_set(self):
        """A set request cut short gets the failure reply; an unknown sub-command only the ACK."""
        b = yield self.online(BOB)
        (reply,) = yield b.ask(meta.SET_WORK, h("05 00 4C 79"))
        self.assertEqual((reply.subcommand, reply.result), (meta.REPLY_WORK_SET, meta.META_FAIL))
        ack = yield b.meta(0x1234, b"")
        self.assertEqual(ack.command, v5.SRV_ACK)
        yield self.settled(b)
        self.assertEqual(len(b.of(v5.SRV_META_USER)), 1)

    @defer.inlineCallbacks
    def test_set_password(self):
        """0x042E changes the password: the new one logs in, the old one no longer does."""
        b = yield self.online(BOB)
        yield self.set_ok(b, meta.SetPassword(meta.SET_PASSWORD, b"newpass"))
        old = yield (yield self.client(BOB, seed=2)).login()
        self.assertEqual(old.command, v5.SRV_BAD_PASSWORD)
        new = yield (yield self.client(BOB, password=b"newpass", seed=3)).login()
        self.assertEqual(new.command, v5.SRV_HELLO)

    @defer.inlineCallbacks
    def test_old_info(self):
        """0x0460 and 0x046A answer with INFO_REPLY / EXT_INFO_REPLY, or INVALID_UIN, echoing SEQ2."""
        b = yield self.online(BOB)
        yield self.set_ok(b, basic())
        yield self.set_ok(b, meta.SetMore(meta.SET_MORE, 30, 2, b"http://bob/"))
        a = yield self.online(ALICE)
        yield a.send(v5.CMD_INFO_REQ, meta.UinRequest(BOB).build())
        (info,) = yield a.replies(a.seq2, command=v5.SRV_INFO_REPLY)
        self.assertEqual(meta.OldInfo.parse(info.data),
                         meta.OldInfo(BOB, b"Bob", b"Robert", b"Smith", b"bob@example.org", False))
        yield a.send(v5.CMD_EXT_INFO_REQ, meta.UinRequest(BOB).build())
        (ext,) = yield a.replies(a.seq2, command=v5.SRV_EXT_INFO_REPLY)
        self.assertEqual(meta.OldExtInfo.parse(ext.data), meta.OldExtInfo(
            BOB, b"Paris", 33, -2, b"", 30, 2, b"", b"http://bob/", b"", b"75001"))
        for command in (v5.CMD_INFO_REQ, v5.CMD_EXT_INFO_REQ):
            yield a.send(command, meta.UinRequest(55555).build())
            (invalid,) = yield a.replies(a.seq2, command=v5.SRV_INVALID_UIN)
            self.assertEqual(invalid.data, meta.invalid_uin(55555))

    @defer.inlineCallbacks
    def test_login_meta(self):
        """0x07D0 is answered with server command 0x001E and IServerd's bytes."""
        a = yield self.online(ALICE)
        yield a.meta(meta.LOGIN_META, bytes(4))
        (reply,) = yield a.replies(a.seq2, command=v5.SRV_LOGIN_META)
        self.assertEqual(reply.data, v5.LOGIN_META_REPLY)


class CharsetTests(MetaTestCase):
    """
    Account text and the client code page.
    """

    settings = {"client_charset": "cp1251"}

    @defer.inlineCallbacks
    def test_charset(self):
        """Text is decoded with the client charset, stored as Unicode and encoded back."""
        b = yield self.online(BOB)
        name = "Борис".encode("cp1251")
        yield self.set_ok(b, basic(nick=name))
        self.assertEqual(self.db("SELECT nick FROM users WHERE uin = %s", (BOB,)), [("Борис",)])
        (reply,) = yield b.ask(meta.GET_SHORT_INFO, meta.UinRequest(BOB).build())
        self.assertEqual(meta.ShortInfo.parse(reply.data).nick, name)
        replies = yield b.ask(meta.SEARCH_NAME, meta.SearchName(b"", b"", "бор".encode("cp1251")).build())
        self.assertEqual(meta.Found.parse(replies[0].data, last=True)[0].nick, name)


class SearchTests(MetaTestCase):
    """
    Searches by UIN, name, e-mail and the white pages.
    """

    settings = {"v5_max_search": 2}

    @defer.inlineCallbacks
    def setUp(self):
        yield MetaTestCase.setUp(self)
        for uin, nick, first, last in [(20001, "smithy", "John", "Smith"), (20002, "js", "Jane", "Smithson"),
                                       (20003, "jo", "Joe", "Smith")]:
            yield self.server.storage.create_user(uin, b"pw", nick, first, last, "%s@example.org" % (nick,))

    @staticmethod
    def found(replies, length_word=False):
        records = [meta.Found.parse(r.data, length_word, i == len(replies) - 1)
                   for i, r in enumerate(replies)]
        return [f.uin for f, _ in records], records[-1][1]

    @defer.inlineCallbacks
    def test_by_uin(self):
        """Search by UIN (length-word form): one record, status byte 1 for a visible online user."""
        yield self.online(BOB)
        a = yield self.online(ALICE)
        (reply,) = yield a.ask(meta.SEARCH_UIN_LW, meta.UinRequest(BOB).build())
        self.assertEqual((reply.subcommand, reply.result), (meta.REPLY_LAST_FOUND, meta.META_OK))
        found, more = meta.Found.parse(reply.data, length_word=True, last=True)
        self.assertEqual(found, meta.Found(BOB, b"nick%d" % BOB, b"First", b"Last", b"%d@example.org" % BOB,
                                           False, True))
        self.assertEqual(more, 0)
        (reply,) = yield a.ask(meta.SEARCH_UIN, meta.UinRequest(CAROL).build())
        self.assertFalse(meta.Found.parse(reply.data, last=True)[0].online)
        (reply,) = yield a.ask(meta.SEARCH_UIN_LW, meta.UinRequest(55555).build())
        self.assertEqual((reply.subcommand, reply.result, reply.data), (meta.REPLY_LAST_FOUND, meta.META_FAIL, b""))

    @defer.inlineCallbacks
    def test_invisible_not_online(self):
        """An invisible user shows as not online in results."""
        yield self.online(BOB, status=0x0100)
        a = yield self.online(ALICE)
        (reply,) = yield a.ask(meta.SEARCH_UIN_LW, meta.UinRequest(BOB).build())
        self.assertFalse(meta.Found.parse(reply.data, True, True)[0].online)

    @defer.inlineCallbacks
    def test_by_name_cut(self):
        """Name search is capped by V5 max search; the last record says more exist."""
        a = yield self.online(ALICE)
        replies = yield a.ask(meta.SEARCH_NAME, meta.SearchName(b"", b"smith", b"").build(), count=2)
        self.assertEqual([r.subcommand for r in replies], [meta.REPLY_FOUND, meta.REPLY_LAST_FOUND])
        uins, more = self.found(replies)
        self.assertEqual((len(uins), more), (2, 1))
        replies = yield a.ask(meta.SEARCH_NAME_LW, meta.SearchName(b"jo", b"SMITH", b"").build(), count=2)
        self.assertEqual(self.found(replies, length_word=True), ([20001, 20003], 0))
        yield self.settled(a)
        self.assertEqual(len(a.of(v5.SRV_META_USER)), 4)

    @defer.inlineCallbacks
    def test_by_name_none(self):
        """No match: the last-record sub-command with 0x32 and the DWORD 0."""
        a = yield self.online(ALICE)
        (reply,) = yield a.ask(meta.SEARCH_NAME, meta.SearchName(b"", b"", b"zzz").build())
        self.assertEqual((reply.subcommand, reply.result, reply.data),
                         (meta.REPLY_LAST_FOUND, meta.META_FAIL, bytes(4)))
        (reply,) = yield a.ask(meta.SEARCH_NAME, meta.SearchName(b"x" * 40).build())
        self.assertEqual((reply.subcommand, reply.result), (meta.REPLY_LAST_FOUND, meta.META_FAIL))

    @defer.inlineCallbacks
    def test_by_email(self):
        """E-mail search matches the whole public address, ignoring case."""
        a = yield self.online(ALICE)
        (reply,) = yield a.ask(meta.SEARCH_EMAIL_LW, meta.SearchEmail(b"JS@Example.ORG").build())
        self.assertEqual(meta.Found.parse(reply.data, True, True)[0].uin, 20002)
        (reply,) = yield a.ask(meta.SEARCH_EMAIL, meta.SearchEmail(b"example.org").build())
        self.assertEqual(reply.result, meta.META_FAIL)

    @defer.inlineCallbacks
    def test_white_pages(self):
        """White pages (licq's 0x0533 and 99a's 0x0532) use their own reply sub-commands."""
        b = yield self.online(BOB)
        yield self.set_ok(b, meta.SetMore(meta.SET_MORE, 25, 1, b"", 0, 0, 0, (12,)))
        yield self.set_ok(b, basic(first_name=b"Roberta", home_city=b"Paris"))
        a = yield self.online(ALICE)
        request = meta.WhitePages(meta.WHITE_PAGES_99B, first_name=b"rob", min_age=23, max_age=29,
                                  gender=1, language=12, city=b"PAR")
        (reply,) = yield a.ask(meta.WHITE_PAGES_99B, request.build())
        self.assertEqual((reply.subcommand, reply.result), (meta.REPLY_WP_LAST_FOUND, meta.META_OK))
        found, more = meta.Found.parse(reply.data, length_word=True, last=True)
        self.assertEqual((found.uin, found.online, more), (BOB, True, 0))
        request = meta.WhitePages(meta.WHITE_PAGES_99A, last_name=b"smith")
        replies = yield a.ask(meta.WHITE_PAGES_99A, request.build(), count=2)
        self.assertEqual([r.subcommand for r in replies], [meta.REPLY_WP_FOUND, meta.REPLY_WP_LAST_FOUND])
        self.assertEqual(self.found(replies)[1], 1)
        (reply,) = yield a.ask(meta.WHITE_PAGES_99B, meta.WhitePages(meta.WHITE_PAGES_99B).build())
        self.assertEqual((reply.subcommand, reply.result, reply.data), (meta.REPLY_WP_LAST_FOUND, meta.META_FAIL, b""))

    @defer.inlineCallbacks
    def test_old_searches(self):
        """0x041A and 0x0424: USER_FOUND records, then END_OF_SEARCH with the "more" byte."""
        a = yield self.online(ALICE)
        yield a.send(v5.CMD_SEARCH_UIN, meta.UinRequest(20002).build())
        (found,) = yield a.replies(a.seq2, command=v5.SRV_USER_FOUND)
        self.assertEqual(meta.Found.parse(found.data)[0].nick, b"js")
        (end,) = yield a.replies(a.seq2, command=v5.SRV_END_OF_SEARCH)
        self.assertEqual(end.data, b"\x00")
        yield a.send(v5.CMD_SEARCH_USER, meta.OldSearch(b"", b"", b"Smith", b"").build())
        records = yield a.replies(a.seq2, count=2, command=v5.SRV_USER_FOUND)
        self.assertEqual(len(records), 2)
        (end,) = yield a.replies(a.seq2, command=v5.SRV_END_OF_SEARCH)
        self.assertEqual(end.data, b"\x01")
        yield a.send(v5.CMD_SEARCH_UIN, meta.UinRequest(55555).build())
        (end,) = yield a.replies(a.seq2, command=v5.SRV_END_OF_SEARCH)
        self.assertEqual(end.data, b"\x00")


class AccountTests(MetaTestCase):
    """
    Unregistering: only one's own account, only with its password.
    """

    @defer.inlineCallbacks
    def setUp(self):
        yield MetaTestCase.setUp(self)
        self.passwords[MALLORY] = b"mallory"
        yield self.server.storage.create_user(MALLORY, b"mallory", "mallory")

    @defer.inlineCallbacks
    def unregister(self, client, uin, password):
        request = meta.Unregister(meta.UNREGISTER, uin, password)
        (reply,) = yield client.ask(meta.UNREGISTER, request.build())
        self.assertEqual(reply.subcommand, meta.REPLY_UNREGISTER)
        return reply.result

    @defer.inlineCallbacks
    def test_cannot_delete_another(self):
        """Another logged-in user cannot delete a victim, with the victim's password or a wrong one."""
        yield self.online(BOB)
        m = yield self.online(MALLORY)
        for password in (PASSWORDS[BOB], b"wrong", b"%"):
            self.assertEqual((yield self.unregister(m, BOB, password)), meta.META_FAIL)
        self.assertEqual(self.db("SELECT count(*) FROM users WHERE uin IN (%s, %s)", (BOB, MALLORY)), [(2,)])
        self.assertIsNotNone(self.server.network.sessions.get(BOB))
        self.assertIsNotNone(self.server.network.sessions.get(MALLORY))

    @defer.inlineCallbacks
    def test_wrong_password(self):
        """One's own UIN with a wrong (or LIKE-pattern) password deletes nothing."""
        b = yield self.online(BOB)
        for password in (b"wrong", b"%", PASSWORDS[BOB].upper()):
            self.assertEqual((yield self.unregister(b, BOB, password)), meta.META_FAIL)
        self.assertEqual(self.db("SELECT count(*) FROM users WHERE uin = %s", (BOB,)), [(1,)])
        yield b.keep_alive()

    @defer.inlineCallbacks
    def test_unregister_own(self):
        """One's own UIN with its password: deleted, the session ends, watchers see it go."""
        a = yield self.online(ALICE, [BOB])
        b = yield self.online(BOB)
        yield a.wait_command(v5.SRV_USER_ONLINE, uin=BOB)
        yield b.message(ALICE, b"bye")
        self.assertEqual((yield self.unregister(b, BOB, PASSWORDS[BOB])), meta.META_OK)
        yield a.wait_command(v5.SRV_USER_OFFLINE, uin=BOB)
        self.assertIsNone(self.server.network.sessions.get(BOB))
        self.assertEqual(self.db("SELECT count(*) FROM users WHERE uin = %s", (BOB,)), [(0,)])
        b.raw(v5.CMD_KEEP_ALIVE, bytes(4))
        yield b.wait_command(v5.SRV_NOT_CONNECTED)
        login = yield (yield self.client(BOB, seed=4)).login()
        self.assertEqual(login.command, v5.SRV_BAD_PASSWORD)


class RegistrationTests(MetaTestCase):
    """
    REG_NEW_USER while registration is off (the default).
    """

    @defer.inlineCallbacks
    def test_disabled(self):
        """Registration off (the default): the ACK variant with 0x32, no account."""
        c, ack = yield self.register()
        self.assertEqual(ack.data, v5.registration_ack(False, 0x2461))
        self.assertEqual(ack.uin, 0)
        self.assertEqual(self.db("SELECT count(*) FROM users"), [(3,)])
        c.raw(v5.CMD_KEEP_ALIVE, bytes(4))
        yield c.wait_command(v5.SRV_NOT_CONNECTED)
        self.assertEqual(c.of(v5.SRV_NEW_UIN), [])


class AutoRegistrationTests(MetaTestCase):
    """
    Automatic registration (v5-vectors.md section 3.9).
    """

    settings = {"v5_registration": True, "v5_auto_registration": True,
                "post_register_text": "Your UIN is %U%, your password %P%."}

    @defer.inlineCallbacks
    def test_new_uin(self):
        """The ACK variant with 0x0A and X2, then NEW_UIN in v3 format; the new UIN logs in."""
        c, ack = yield self.register(x2=0x1234)
        self.assertEqual((ack.command, ack.seq2, ack.data), (v5.SRV_ACK, 1, v5.registration_ack(True, 0x1234)))
        new = yield c.wait_command(v5.SRV_NEW_UIN)
        self.assertEqual((new.version, new.seq2, new.uin, new.data), (3, 1, 10004, h("34 12 00 00")))
        self.assertEqual(self.db("SELECT must_change_password FROM users WHERE uin = 10004"), [(True,)])
        self.passwords[10004] = b"secret"
        n = yield self.client(10004)
        hello = yield n.login()
        self.assertEqual(hello.command, v5.SRV_HELLO)
        advance(self.clock, 6)
        welcome = v5.OfflineMessage.parse((yield n.wait_command(v5.SRV_OFFLINE_MESSAGE)).data)
        self.assertEqual((welcome.sender, welcome.msg_type, welcome.text),
                         (1, 1, b"Your UIN is 10004, your password secret."))

    @defer.inlineCallbacks
    def test_email(self):
        """An e-mail in the request goes into e-mail 1 and 2."""
        yield self.register(email=b"new@example.org")
        self.assertEqual(self.db("SELECT email, email2 FROM users WHERE uin = 10004"),
                         [("new@example.org", "new@example.org")])

    @defer.inlineCallbacks
    def test_repeat_same_answer(self):
        """A resent request gets the same answer and creates no second account."""
        c, ack = yield self.register()
        yield c.wait_command(v5.SRV_NEW_UIN)
        again = yield c.register(b"secret")
        self.assertEqual(again.data, v5.registration_ack(True, 0x2461))
        second = yield c.wait_command(v5.SRV_NEW_UIN)
        self.assertEqual(second.uin, 10004)
        self.assertEqual(self.db("SELECT count(*) FROM users"), [(4,)])

    @defer.inlineCallbacks
    def test_rate_limited(self):
        """A second registration from the same address within a minute is refused; later it works."""
        yield self.register(seed=1)
        c, ack = yield self.register(seed=2)
        self.assertEqual(ack.data, v5.registration_ack(False, 0x2461))
        advance(self.clock, REGISTRATION_INTERVAL)
        c, ack = yield self.register(seed=3)
        self.assertEqual(ack.data, v5.registration_ack(True, 0x2461))
        self.assertEqual((yield c.wait_command(v5.SRV_NEW_UIN)).uin, 10005)

    @defer.inlineCallbacks
    def test_bad_password(self):
        """A password a LOGIN could not carry (empty, over 20 bytes) is refused."""
        for seed, password in ((1, b""), (2, b"p" * 21)):
            c, ack = yield self.register(password=password, seed=seed)
            self.assertEqual(ack.data, v5.registration_ack(False, 0x2461))
        self.assertEqual(self.db("SELECT count(*) FROM users"), [(3,)])


class ManualRegistrationTests(MetaTestCase):
    """
    Registration that waits for the administrator.
    """

    settings = {"v5_registration": True, "v5_auto_registration": False}

    @defer.inlineCallbacks
    def test_queued(self):
        """The request is queued (hash only) and acknowledged plainly; no account, no NEW_UIN."""
        c = yield self.client(0, password=b"secret")
        ack = yield c.register(b"secret", email=b"q@example.org")
        self.assertEqual(ack.data, b"")
        rows = self.db("SELECT email, host(ip), password_hash <> 'secret' FROM register_requests")
        self.assertEqual(rows, [("q@example.org", "127.0.0.1", True)])
        self.assertEqual(self.db("SELECT count(*) FROM users"), [(3,)])
        c.raw(v5.CMD_KEEP_ALIVE, bytes(4))
        yield c.wait_command(v5.SRV_NOT_CONNECTED)
        self.assertEqual(c.of(v5.SRV_NEW_UIN), [])


class AuthorizationTests(MetaTestCase):
    """
    A user who requires authorization is not shown to those it has not authorized.
    """

    @defer.inlineCallbacks
    def setUp(self):
        yield MetaTestCase.setUp(self)
        self.db("UPDATE users SET auth_required = true WHERE uin = %s", (BOB,))

    @defer.inlineCallbacks
    def test_withheld_until_granted(self):
        """No USER_ONLINE for Bob until he grants it (type 8); then at once, and at later logins."""
        b = yield self.online(BOB)
        yield self.online(CAROL)
        a = yield self.online(ALICE, [BOB, CAROL])
        yield a.wait_command(v5.SRV_USER_ONLINE, uin=CAROL)
        yield b.status(0x0001)
        yield self.settled(a, b)
        self.assertEqual([v5.UserOnline.parse(p.data).uin for p in a.of(v5.SRV_USER_ONLINE)], [CAROL])
        self.assertEqual(a.of(v5.SRV_USER_STATUS), [])
        request = b"alice\xfeAlice\xfe\xfea@x\xfe1\xfeplease"
        yield a.send(v5.CMD_MSG_TO_NEW_USER, v5.SendMessage(BOB, 6, request).build())
        got = v5.OnlineMessage.parse((yield b.wait_command(v5.SRV_ONLINE_MESSAGE)).data)
        self.assertEqual((got.sender, got.msg_type, got.text), (ALICE, 6, request))
        yield b.send(v5.CMD_MSG_TO_NEW_USER, v5.SendMessage(ALICE, 8, b"").build())
        got = v5.OnlineMessage.parse((yield a.wait_command(v5.SRV_ONLINE_MESSAGE)).data)
        self.assertEqual((got.sender, got.msg_type), (BOB, 8))
        online = v5.UserOnline.parse((yield a.wait_command(v5.SRV_USER_ONLINE, uin=BOB)).data)
        self.assertEqual(online.status, 0x0001)
        a.logoff()
        a2 = yield self.online(ALICE, [BOB], seed=7)
        yield a2.wait_command(v5.SRV_USER_ONLINE, uin=BOB)

    @defer.inlineCallbacks
    def test_add_to_list(self):
        """ADD_TO_LIST and UPDATE_LIST do not reveal a user who requires authorization either."""
        yield self.online(BOB)
        a = yield self.online(ALICE)
        yield a.send(v5.CMD_ADD_TO_LIST, v5.AddToList(BOB).build())
        yield a.send(v5.CMD_UPDATE_LIST, v5.UpdateList(BOB, v5.LIST_CONTACT, v5.LIST_ACTION_ADD).build())
        yield a.send(v5.CMD_ADD_TO_LIST, v5.AddToList(CAROL).build())
        c = yield self.online(CAROL)
        yield a.wait_command(v5.SRV_USER_ONLINE, uin=CAROL)
        yield self.settled(a, c)
        self.assertEqual([v5.UserOnline.parse(p.data).uin for p in a.of(v5.SRV_USER_ONLINE)], [CAROL])

    @defer.inlineCallbacks
    def test_offline_flow(self):
        """Request and grant are stored for offline users; the grant shows Bob at Alice's next login."""
        a = yield self.online(ALICE, [BOB])
        yield a.send(v5.CMD_MSG_TO_NEW_USER, v5.SendMessage(BOB, 6, b"a\xfe\xfe\xfe\xfe1\xfeplease").build())
        a.logoff()
        yield self.settled()
        b = yield self.client(BOB)
        yield b.login()
        yield b.contact_list([])
        got = v5.OfflineMessage.parse((yield b.wait_command(v5.SRV_OFFLINE_MESSAGE)).data)
        self.assertEqual((got.sender, got.msg_type), (ALICE, 6))
        yield b.send(v5.CMD_MSG_TO_NEW_USER, v5.SendMessage(ALICE, 8, b"").build())
        yield self.server.network.settle()
        a2 = yield self.client(ALICE, seed=9)
        yield a2.login()
        yield a2.contact_list([BOB])
        yield a2.wait_command(v5.SRV_USER_ONLINE, uin=BOB)
        got = v5.OfflineMessage.parse((yield a2.wait_command(v5.SRV_OFFLINE_MESSAGE)).data)
        self.assertEqual((got.sender, got.msg_type), (BOB, 8))
        self.assertEqual(self.db("SELECT owner_uin, allowed_uin FROM authorizations"), [(BOB, ALICE)])

    @defer.inlineCallbacks
    def test_grant_only_by_owner(self):
        """A type 8 message grants only the sender's own authorization."""
        b = yield self.online(BOB)
        yield self.online(ALICE)
        c = yield self.online(CAROL)
        yield c.message(ALICE, b"", msg_type=8)
        yield b.keep_alive()
        yield self.server.network.settle()
        self.assertEqual(self.db("SELECT owner_uin, allowed_uin FROM authorizations"), [(CAROL, ALICE)])
        self.assertEqual(self.db("SELECT count(*) FROM authorizations WHERE owner_uin = %s", (BOB,)), [(0,)])


class OutageTests(MetaTestCase):
    """
    META requests while PostgreSQL is away.
    """

    def set_allowed(self, allowed):
        name = support.database_name(self.dsn)
        cluster = support.cluster()
        cluster.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS " + ("true" if allowed else "false"))
                        .format(sql.Identifier(name)))
        if not allowed:
            cluster.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))

    @defer.inlineCallbacks
    def test_not_acknowledged_until_stored(self):
        """A set request is not acknowledged while the database is away; its resend is, once stored."""
        b = yield self.online(BOB)
        yield self.server.network.settle()  # the login's own writes, before the cut
        storage = self.server.storage
        self.addCleanup(self.set_allowed, True)
        self.set_allowed(False)
        yield support.pool_down(storage)
        request = meta.SetAbout(meta.SET_ABOUT, b"written later")
        b.seq1 += 1
        b.seq2 += 1
        sent = b.raw(v5.CMD_META_USER, v5.MetaRequest(meta.SET_ABOUT, request.build()).build())
        yield b.keep_alive()
        self.assertFalse([p for p in b.of(v5.SRV_ACK) if p.seq1 == sent.seq1])
        self.assertEqual(b.of(v5.SRV_META_USER), [])
        self.set_allowed(True)
        yield support.pool_up(storage)
        b.raw(v5.CMD_META_USER, v5.MetaRequest(meta.SET_ABOUT, request.build()).build(),
              seq1=sent.seq1, seq2=sent.seq2)
        yield b.wait_for(lambda p: p.command == v5.SRV_ACK and p.seq1 == sent.seq1)
        (reply,) = yield b.replies(sent.seq2)
        self.assertEqual((reply.subcommand, reply.result), (meta.REPLY_ABOUT_SET, meta.META_OK))
        self.assertEqual(self.db("SELECT notes FROM users WHERE uin = %s", (BOB,)), [("written later",)])
