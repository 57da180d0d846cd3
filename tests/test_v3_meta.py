"""
ICQ v3 user info, search, registration, account changes and authorization
end to end: real UDP on loopback, a real PostgreSQL, the v3 and v5 test
clients, and a L{task.Clock} for the registration rate limit.
"""

from dataclasses import replace

from psycopg2 import sql
from twisted.internet import defer, reactor
from twisted.trial import unittest

from iserverd.codec import v3, v5
from iserverd.codec import v5_meta as meta
from iserverd.core.guards import REGISTRATION_INTERVAL
from iserverd.storage.directory import field_search_sql
from iserverd.testing.v3client import connect
from tests import support
from tests.support import ALICE, BOB, CAROL, PASSWORDS, advance, start_server

h = bytes.fromhex
INFO_REPLIES = [v3.SRV_INFO_BASIC, v3.SRV_INFO_HOME, v3.SRV_INFO_HOME_PAGE, v3.SRV_INFO_WORK,
                v3.SRV_INFO_WORK_PAGE]
HOME = v3.HomeInfo(b"1 Main St", b"Springfield", b"IL", 1, b"555-0100", b"", b"", 62701, 2, 30, 14, 3, 79)
# The spec's SET_WORK_INFO form: a fourth string before the ZIP (v3.md 21 #11).
WORK = v3.WorkInfo(b"", b"Shelbyville", b"IL", 1, b"ACME", b"Engineer", 42, b"555-0199", b"", b"pager",
                   60601, extra=b"")
FORM = v3.RegNewUserInfo(
    client_version=0x007A, nick=b"newbie", first=b"Ann", last=b"Lee", email=b"ann@example.com",
    gender=1, home_street=b"", home_city=b"Boston", home_state=b"MA", home_country=1,
    home_phone=b"", home_fax=b"", home_cellular=b"", home_zip=2101, gender2=1, age=25,
    birth_day=5, birth_month=6, birth_year=76, home_page=b"http://ann/", work_street=b"",
    work_city=b"", work_state=b"", work_country=1, company=b"ACME", title=b"", department=10,
    work_phone=b"", work_fax=b"", work_pager=b"", work_zip=0, work_page=b"", admin_data=b"",
)
NEW = 10004


class V3MetaBase(unittest.TestCase):
    """A server with Alice, Bob and Carol, and helpers for v3 and v5 clients."""

    settings = {}

    @defer.inlineCallbacks
    def setUp(self):
        self.server, self.clock, self.dsn = yield start_server(self, **self.settings)
        self.passwords = dict(PASSWORDS)

    @property
    def network(self):
        return self.server.network

    def db(self, statement, params=None):
        return support.query(self.dsn, statement, params)

    @defer.inlineCallbacks
    def client(self, uin, password=None):
        c = yield connect(self, reactor, self.server.udp_port, uin,
                          self.passwords.get(uin, b"") if password is None else password)
        return c

    def online(self, uin, contacts=(), status=0):
        """A logged-in v3 client that asked for its offline messages and sent its contact list."""
        return support.v3_online(self, self.server, uin, self.passwords.get(uin, b""), contacts, status)

    def online5(self, uin, contacts=()):
        """A logged-in v5 client that has uploaded its contact list."""
        return support.v5_online(self, self.server, uin, self.passwords[uin], contacts)

    @defer.inlineCallbacks
    def ok(self, client, command, body, reply):
        """Send an update and check its header-only C{*_OK} with the request's SEQ2."""
        (got,) = yield client.ask(command, body.build())
        self.assertEqual((got.command, got.seq2, got.uin, got.data), (reply, client.seq, client.uin, b""))

    @defer.inlineCallbacks
    def refused(self, client, command, data):
        """Send an update the server must refuse: ACKed, no reply, the session goes on."""
        yield client.send(command, data)
        yield client.ping()
        self.assertEqual([p for p in client.received if p.seq2 == client.seq - 1 and p.command != v3.SRV_ACK], [])
        self.assertIsNotNone(self.network.sessions.get(client.uin))


class InfoTests(V3MetaBase):
    """
    Reading and updating account details (v3.md section 13).
    """

    @defer.inlineCallbacks
    def test_basic_info(self):
        """SET_BASIC_INFO stores nick, names and e-mail (1 and 2); GET_INFO1 shows them with its SEQ2."""
        b = yield self.online(BOB)
        yield self.ok(b, v3.CMD_SET_BASIC_INFO, v3.SetBasicInfo(b"bob", b"Bob", b"Smith", b"bob@example.com"),
                      v3.SRV_SET_BASIC_INFO_OK)
        self.assertEqual(self.db("SELECT nick, first_name, last_name, email, email2 FROM users WHERE uin = %s",
                                 (BOB,)), [("bob", "Bob", "Smith", "bob@example.com", "bob@example.com")])
        a = yield self.online(ALICE)
        (single,) = yield a.ask(v3.CMD_GET_INFO1, v3.UinBody(BOB).build())
        self.assertEqual((single.command, single.seq2, single.uin), (v3.SRV_INFO_SINGLE, a.seq, ALICE))
        # The bytes of v3-vectors.md 5.7, with the auth byte in the SET_AUTH sense (1 = not required).
        self.assertEqual(single.data, h("04 00 62 6F 62 00 04 00 42 6F 62 00 06 00 53 6D 69 74 68 00"
                                        "10 00 62 6F 62 40 65 78 61 6D 70 6C 65 2E 63 6F 6D 00 01"))

    @defer.inlineCallbacks
    def test_full_info(self):
        """GET_INFO gets the five replies in order, with the request's SEQ2 and consecutive SEQ1s."""
        b = yield self.online(BOB)
        yield self.ok(b, v3.CMD_SET_HOME_INFO, HOME, v3.SRV_SET_HOME_INFO_OK)
        yield self.ok(b, v3.CMD_SET_WORK_INFO, WORK, v3.SRV_SET_WORK_INFO_OK)
        yield self.ok(b, v3.CMD_SET_HOME_PAGE, v3.Text(b"http://example.com/"), v3.SRV_SET_HOME_PAGE_OK)
        yield self.ok(b, v3.CMD_SET_WORK_PAGE, v3.Text(b"http://acme/"), v3.SRV_SET_WORK_PAGE_OK)
        self.assertEqual(self.db("SELECT birth_year, home_zip, work_department_code, work_pager FROM users"
                                 " WHERE uin = %s", (BOB,)), [(1979, "62701", "42", "pager")])
        a = yield self.online(ALICE)
        replies = yield a.ask(v3.CMD_GET_INFO, v3.UinBody(BOB).build(), count=5)
        self.assertEqual([r.command for r in replies], INFO_REPLIES)
        self.assertEqual({r.seq2 for r in replies}, {a.seq})
        seq1s = [r.seq1 for r in replies]
        self.assertEqual(seq1s, list(range(seq1s[0], seq1s[0] + 5)))
        basic, home, home_page, work, work_page = [v3.parse_server_body(r) for r in replies]
        self.assertEqual(home, HOME)
        self.assertEqual(work, replace(WORK, extra=None))
        self.assertEqual((home_page.text, work_page.text), (b"http://example.com/", b"http://acme/"))
        self.assertEqual((basic.nick, basic.email), (b"nick10002", b"10002@example.org"))

    @defer.inlineCallbacks
    def test_unknown_uin(self):
        """GET_INFO, GET_INFO1 and GET_NOTES about an unknown UIN get one INVALID_UIN with it."""
        a = yield self.online(ALICE)
        for command in (v3.CMD_GET_INFO, v3.CMD_GET_INFO1, v3.CMD_GET_NOTES):
            (reply,) = yield a.ask(command, v3.UinBody(4242).build())
            self.assertEqual((reply.command, reply.seq2, reply.data), (v3.SRV_INVALID_UIN, a.seq, h("92 10 00 00")))
        yield a.ping()
        self.assertEqual(len(a.of(v3.SRV_INVALID_UIN)), 3)

    @defer.inlineCallbacks
    def test_notes(self):
        """SET_NOTES then GET_NOTES: the notes, the last login time and address; long notes come in fragments."""
        b = yield self.online(BOB)
        yield self.ok(b, v3.CMD_SET_NOTES, v3.Text(b"Hi there"), v3.SRV_SET_NOTES_OK)
        a = yield self.online(ALICE)
        yield self.network.settle()
        (reply,) = yield a.ask(v3.CMD_GET_NOTES, v3.UinBody(BOB).build())
        notes = v3.Notes.parse(reply.data)
        login = self.db("SELECT extract(epoch FROM last_login_at)::bigint FROM users WHERE uin = %s", (BOB,))
        self.assertEqual(notes, v3.Notes(b"Hi there", 0, login[0][0], "127.0.0.1"))
        long_notes = b"n" * 1024
        yield self.ok(b, v3.CMD_SET_NOTES, v3.Text(long_notes), v3.SRV_SET_NOTES_OK)
        fragments = len(a.fragments)
        (reply,) = yield a.ask(v3.CMD_GET_NOTES, v3.UinBody(BOB).build())
        self.assertEqual(v3.Notes.parse(reply.data).notes, long_notes)
        self.assertGreater(len(a.fragments), fragments)

    @defer.inlineCallbacks
    def test_hidden_address(self):
        """Users who hide their address show 0.0.0.0 in NOTES to others, their own to themselves."""
        self.db("UPDATE users SET hide_ip = true WHERE uin = %s", (BOB,))
        b = yield self.online(BOB)
        yield self.network.settle()
        a = yield self.online(ALICE)
        (reply,) = yield a.ask(v3.CMD_GET_NOTES, v3.UinBody(BOB).build())
        self.assertEqual(v3.Notes.parse(reply.data).last_ip, "0.0.0.0")
        (reply,) = yield b.ask(v3.CMD_GET_NOTES, v3.UinBody(BOB).build())
        self.assertEqual(v3.Notes.parse(reply.data).last_ip, "127.0.0.1")

    @defer.inlineCallbacks
    def test_overlong_fields_refused(self):
        """A field over its limit: the request is ACKed and refused, nothing stored, the session goes on."""
        b = yield self.online(BOB)
        before = self.db("SELECT * FROM users WHERE uin = %s", (BOB,))
        yield self.refused(b, v3.CMD_SET_BASIC_INFO, v3.SetBasicInfo(b"n" * 32, b"", b"", b"").build())
        yield self.refused(b, v3.CMD_SET_HOME_INFO, replace(HOME, city=b"c" * 32).build())
        yield self.refused(b, v3.CMD_SET_WORK_INFO, replace(WORK, company=b"c" * 40).build())
        yield self.refused(b, v3.CMD_SET_HOME_PAGE, v3.Text(b"h" * 128).build())
        yield self.refused(b, v3.CMD_SET_NOTES, v3.Text(b"n" * 1025).build())
        yield self.refused(b, v3.CMD_SET_PASSWORD, v3.SetPassword(b"p" * 21).build())
        self.assertEqual(self.db("SELECT * FROM users WHERE uin = %s", (BOB,)), before)
        yield self.ok(b, v3.CMD_SET_BASIC_INFO, v3.SetBasicInfo(b"n" * 31, b"", b"", b""), v3.SRV_SET_BASIC_INFO_OK)

    @defer.inlineCallbacks
    def test_set_auth(self):
        """SET_AUTH: mode 0 (last byte) requires authorization, 1 does not; the auth byte follows."""
        b = yield self.online(BOB)
        yield self.ok(b, v3.CMD_SET_AUTH, v3.SetAuth(0, 0x1124), v3.SRV_SET_AUTH_OK)
        self.assertEqual(self.db("SELECT auth_required FROM users WHERE uin = %s", (BOB,)), [(True,)])
        (single,) = yield b.ask(v3.CMD_GET_INFO1, v3.UinBody(BOB).build())
        self.assertEqual(v3.InfoBasic.parse(single.data).auth, 0)
        yield self.ok(b, v3.CMD_SET_AUTH, v3.SetAuth(1), v3.SRV_SET_AUTH_OK)
        self.assertEqual(self.db("SELECT auth_required FROM users WHERE uin = %s", (BOB,)), [(False,)])

    @defer.inlineCallbacks
    def test_set_password(self):
        """SET_PASSWORD (LNTS at offset 0 or 4) stores a hash and clears "must change"; the next LOGON uses it."""
        self.db("UPDATE users SET must_change_password = true WHERE uin = %s", (BOB,))
        b = yield self.online(BOB)
        yield self.ok(b, v3.CMD_SET_PASSWORD, v3.SetPassword(b"n3wpass"), v3.SRV_SET_PASSWORD_OK)
        rows = self.db("SELECT must_change_password, password_hash LIKE '%%n3wpass%%' FROM users WHERE uin = %s",
                       (BOB,))
        self.assertEqual(rows, [(False, False)])
        yield self.ok(b, v3.CMD_SET_PASSWORD, v3.SetPassword(b"other", prefix=0x00150072), v3.SRV_SET_PASSWORD_OK)
        b.logoff()
        self.passwords[BOB] = b"other"
        again = yield self.client(BOB)
        self.assertEqual((yield again.login()).command, v3.SRV_HELLO)

    @defer.inlineCallbacks
    def test_only_own_account(self):
        """An update under another user's UIN from elsewhere gets NOT_CONNECTED and changes nothing."""
        yield self.online(BOB)
        a = yield self.online(ALICE)
        before = self.db("SELECT * FROM users WHERE uin = %s", (BOB,))
        a.seq += 1
        a.raw(v3.CMD_SET_BASIC_INFO, v3.SetBasicInfo(b"pwned", b"", b"", b"").build(), uin=BOB)
        a.raw(v3.CMD_SET_PASSWORD, v3.SetPassword(b"pwned").build(), uin=BOB)
        yield a.wait_for(lambda p: p.command == v3.SRV_NOT_CONNECTED and p.uin == BOB)
        yield a.wait_for(lambda p: p.command == v3.SRV_NOT_CONNECTED and p.uin == BOB)
        yield a.ping()
        self.assertEqual(self.db("SELECT * FROM users WHERE uin = %s", (BOB,)), before)

    @defer.inlineCallbacks
    def test_unregistered_account(self):
        """Once the account is deleted (unregistered), updates are refused and no row comes back."""
        b = yield self.online(BOB)
        # The query below blocks the reactor: let the server's own writes for Bob finish first.
        yield self.server.network.settle()
        self.db("DELETE FROM users WHERE uin = %s", (BOB,))
        yield self.refused(b, v3.CMD_SET_BASIC_INFO, v3.SetBasicInfo(b"back", b"", b"", b"").build())
        yield self.refused(b, v3.CMD_SET_PASSWORD, v3.SetPassword(b"back").build())
        self.assertEqual(self.db("SELECT count(*) FROM users WHERE uin = %s", (BOB,)), [(0,)])


class SearchTests(V3MetaBase):
    """
    One-field searches (v3.md section 14).
    """

    @defer.inlineCallbacks
    def setUp(self):
        yield V3MetaBase.setUp(self)
        rows = ((ALICE, "alice", "Alice", "alice@example.org", 31, 49, "Berlin", "7"),
                (BOB, "bobby", "Bob", "bob@example.org", 40, 33, "Paris", "42"),
                (CAROL, "carob", "Carol", "carol@example.org", 31, 33, "Lyon", ""))
        for uin, nick, first, email, age, country, city, dep in rows:
            self.db("UPDATE users SET nick = %s, first_name = %s, email2 = %s, age = %s, home_country = %s,"
                    " work_city = %s, work_department_code = %s WHERE uin = %s",
                    (nick, first, email, age, country, city, dep, uin))

    @defer.inlineCallbacks
    def found(self, client, field, mode, value):
        """The UINs a search finds (its replies end with SEARCH_DONE "more" 0)."""
        replies = yield client.search(field, mode, value, seq2=None)
        while replies[-1].command != v3.SRV_SEARCH_DONE:
            seq2 = replies[-1].seq2
            reply = yield client.wait_for(
                lambda p: p.command in (v3.SRV_SEARCH_FOUND, v3.SRV_SEARCH_DONE) and p.seq2 == seq2)
            replies.append(reply)
        self.assertEqual(v3.SearchDone.parse(replies[-1].data).more, 0)
        return [v3.SearchFound.parse(r.data).uin for r in replies[:-1]]

    @defer.inlineCallbacks
    def test_text_modes(self):
        """Each mode has its true meaning, case-insensitively; LIKE wildcards match literally."""
        a = yield self.online(ALICE)
        expected = [
            (0, b"OB", [BOB, CAROL]),    # contains
            (1, b"ob", [ALICE]),         # does not contain
            (2, b"BOBBY", [BOB]),        # is
            (3, b"bobby", [ALICE, CAROL]),  # is not
            (4, b"ca", [CAROL]),         # begins with (IServerd: does not begin)
            (5, b"by", [BOB]),           # ends with (IServerd: does not end)
            (0, b"%", []),
            (2, b"b_bby", []),
            (7, b"bob", []),             # no such mode
            (0, b"", []),                # nothing to look for
        ]
        for mode, value, uins in expected:
            self.assertEqual((yield self.found(a, 1, mode, value)), uins, (mode, value))

    @defer.inlineCallbacks
    def test_field_numbers(self):
        """IServerd's field numbers: 0 UIN (text), 4 e-mail, 5 age, 6 work city, 11 department, 14 home country."""
        a = yield self.online(ALICE)
        self.assertEqual((yield self.found(a, 0, 2, b"10002")), [BOB])
        self.assertEqual((yield self.found(a, 0, 2, b"bob")), [])
        self.assertEqual((yield self.found(a, 4, 2, b"CAROL@example.org")), [CAROL])
        self.assertEqual((yield self.found(a, 5, 0, b"31")), [ALICE, CAROL])
        self.assertEqual((yield self.found(a, 6, 4, b"par")), [BOB])
        self.assertEqual((yield self.found(a, 11, 0, 42)), [BOB])
        self.assertEqual((yield self.found(a, 14, 0, 33)), [BOB, CAROL])
        self.assertEqual((yield self.found(a, 15, 0, b"x")), [])

    @defer.inlineCallbacks
    def test_found_record(self):
        """SEARCH_FOUND: UIN, nick, names, public e-mail, auth byte; reliable with the request's SEQ2."""
        self.db("UPDATE users SET auth_required = true WHERE uin = %s", (BOB,))
        a = yield self.online(ALICE)
        found, done = yield a.search(1, 2, b"bobby", count=2, seq2=0x0321)
        self.assertEqual((found.command, found.seq2, done.command, done.seq2),
                         (v3.SRV_SEARCH_FOUND, 0x0321, v3.SRV_SEARCH_DONE, 0x0321))
        self.assertEqual(v3.SearchFound.parse(found.data),
                         v3.SearchFound(BOB, b"bobby", b"Bob", b"Last", b"bob@example.org", 0))
        yield a.ping()
        self.assertTrue(not self.network.sessions.get(ALICE).pending)


class SearchLimitTests(V3MetaBase):
    """
    V3 max search caps the results; SEARCH_DONE says more were found.
    """

    settings = {"v3_max_search": 2}

    @defer.inlineCallbacks
    def test_cut(self):
        """Three matches, limit 2: two SEARCH_FOUND and SEARCH_DONE with "more" 1."""
        a = yield self.online(ALICE)
        replies = yield a.search(3, 2, b"last", count=3)
        self.assertEqual([r.command for r in replies], [v3.SRV_SEARCH_FOUND] * 2 + [v3.SRV_SEARCH_DONE])
        self.assertEqual(replies[-1].data, b"\x01")


class FieldSearchSqlTests(unittest.TestCase):
    """
    L{field_search_sql} builds parameterised SQL from known columns only.
    """

    def test_parameterised(self):
        """Values are parameters (wildcards escaped); columns come from the table; unknowns find nothing."""
        text, params = field_search_sql("nick", "ends with", "50%_", 11)
        self.assertIn("lower(nick) LIKE lower(%s)", text)
        self.assertEqual(params, ["%50\\%\\_", 11])
        text, params = field_search_sql("age", "contains", 30, 5)
        self.assertIn("age = %s", text)
        self.assertEqual(params, [30, 5])
        for args in (("password_hash", "is", "x"), ("nick", "like", "x"), ("age", "is", "30"),
                     ("uin", "is", None), ("nick", "is", "")):
            self.assertIsNone(field_search_sql(*(args + (5,))), args)


class InteropTests(V3MetaBase):
    """
    v3 and v5 users find each other and read each other's details.
    """

    @defer.inlineCallbacks
    def test_find_and_read_each_other(self):
        """A v3 user finds and reads a v5 user's details, and the v5 user those of the v3 user."""
        b5 = yield self.online5(BOB)
        (reply,) = yield b5.ask(meta.SET_BASIC_ZIP_TEXT, meta.SetBasic(
            meta.SET_BASIC_ZIP_TEXT, nick=b"builder", first_name=b"Bob", last_name=b"Smith",
            email=b"private@example.org", email2=b"bob@example.org", home_city=b"Paris",
            home_zip=b"75001", hide_email=True).build())
        self.assertEqual(reply.result, meta.META_OK)
        a3 = yield self.online(ALICE)
        yield self.ok(a3, v3.CMD_SET_BASIC_INFO, v3.SetBasicInfo(b"wonder", b"Alice", b"Liddell", b"al@example.org"),
                      v3.SRV_SET_BASIC_INFO_OK)
        found, done = yield a3.search(1, 4, b"build", count=2)
        self.assertEqual(v3.SearchFound.parse(found.data),
                         v3.SearchFound(BOB, b"builder", b"Bob", b"Smith", b"bob@example.org", 1))
        replies = yield a3.ask(v3.CMD_GET_INFO, v3.UinBody(BOB).build(), count=5)
        basic, home = v3.parse_server_body(replies[0]), v3.parse_server_body(replies[1])
        self.assertEqual((basic.email, home.city, home.zip), (b"bob@example.org", b"Paris", 75001))
        (result,) = yield b5.ask(meta.SEARCH_NAME, meta.SearchName(nick=b"wonder").build())
        self.assertEqual(meta.Found.parse(result.data, last=True)[0].uin, ALICE)
        replies = yield b5.ask(meta.GET_INFO_ALL_99B, meta.UinRequest(ALICE).build(), count=7)
        general = meta.GeneralInfo.parse(replies[0].data)
        self.assertEqual((general.nick, general.last_name, general.email2), (b"wonder", b"Liddell", b"al@example.org"))


class AuthorizationTests(V3MetaBase):
    """
    "Authorization required" holds between v3 and v5 users both ways.
    """

    @defer.inlineCallbacks
    def test_v3_asks_v5(self):
        """A v3 user does not see a v5 user who requires authorization until that user grants it."""
        self.db("UPDATE users SET auth_required = true WHERE uin = %s", (BOB,))
        b5 = yield self.online5(BOB)
        yield self.online5(CAROL)
        a3 = yield self.online(ALICE, [BOB, CAROL])
        yield a3.wait_command(v3.SRV_USER_ONLINE, uin=CAROL)
        yield a3.user_add(BOB)
        yield a3.ping()
        self.assertEqual([p.uin for p in a3.parsed(v3.SRV_USER_ONLINE)], [CAROL])
        yield a3.send(v3.CMD_AUTHORIZE, v3.Message(BOB, 6, b"alice\xfe\xfe\xfe\xfe1\xfeplease").build())
        got = v5.OnlineMessage.parse((yield b5.wait_command(v5.SRV_ONLINE_MESSAGE)).data)
        self.assertEqual((got.sender, got.msg_type), (ALICE, 6))
        yield b5.send(v5.CMD_MSG_TO_NEW_USER, v5.SendMessage(ALICE, 8, b"").build())
        yield a3.wait_command(v3.SRV_USER_ONLINE, uin=BOB)
        message = yield a3.wait_command(v3.SRV_SYSMSG_ONLINE)
        self.assertEqual(v3.Message.parse(message.data).msg_type, 8)
        self.assertEqual(self.db("SELECT owner_uin, allowed_uin FROM authorizations"), [(BOB, ALICE)])

    @defer.inlineCallbacks
    def test_v5_asks_v3(self):
        """A v3 user who set SET_AUTH is hidden from a v5 user until it grants with AUTHORIZE type 8."""
        a3 = yield self.online(ALICE)
        yield self.ok(a3, v3.CMD_SET_AUTH, v3.SetAuth(0, 0x1124), v3.SRV_SET_AUTH_OK)
        b5 = yield self.online5(BOB, [ALICE])
        yield a3.status(0x0001)
        yield self.network.settle()
        yield b5.keep_alive()
        self.assertEqual(b5.of(v5.SRV_USER_ONLINE) + b5.of(v5.SRV_USER_STATUS), [])
        yield a3.send(v3.CMD_AUTHORIZE, v3.Message(BOB, 8, b"").build())
        online = v5.UserOnline.parse((yield b5.wait_command(v5.SRV_USER_ONLINE, uin=ALICE)).data)
        self.assertEqual(online.status, 0x0001)
        got = v5.OnlineMessage.parse((yield b5.wait_command(v5.SRV_ONLINE_MESSAGE)).data)
        self.assertEqual((got.sender, got.msg_type), (ALICE, 8))

    @defer.inlineCallbacks
    def test_v3_to_v3(self):
        """Between two v3 users: the contact list withholds, THRU_SERVER type 8 grants."""
        self.db("UPDATE users SET auth_required = true WHERE uin = %s", (BOB,))
        b = yield self.online(BOB)
        a = yield self.online(ALICE, [BOB])
        yield a.ping()
        self.assertEqual(a.of(v3.SRV_USER_ONLINE), [])
        yield b.message(ALICE, b"", msg_type=8)
        yield a.wait_command(v3.SRV_USER_ONLINE, uin=BOB)


class RegistrationDisabledTests(V3MetaBase):
    """
    Registration off (the default): the form says so and nothing is ever stored.
    """

    @defer.inlineCallbacks
    def test_refused(self):
        """REGISTER_INFO says disabled; REG_NEW_USER_INFO gets the ACK and a refusal text; nothing stored."""
        c = yield self.client(0)
        info = yield c.registration_info()
        parsed = v3.RegisterInfo.parse(info.data)
        self.assertEqual((parsed.notes, parsed.enabled), (b"There are no notes... :(", 0))
        self.assertEqual([f.seq1 for f in c.fragments], [0, 1, 2])
        self.assertEqual({f.seq2 for f in c.fragments}, {c.seq})
        reply = yield c.register(FORM)
        self.assertEqual((reply.seq1, reply.seq2, reply.uin), (c.seq, c.seq, 0))
        self.assertIn(b"disabled", v3.Text.parse(reply.data).text)
        self.assertEqual([p.command for p in c.received[-2:]], [v3.SRV_ACK, v3.SRV_REGISTRATION_OK])
        self.assertEqual(self.db("SELECT count(*) FROM users"), [(3,)])
        self.assertEqual(self.db("SELECT count(*) FROM register_requests"), [(0,)])


class AutoRegistrationTests(V3MetaBase):
    """
    Automatic registration: a new account with a random password, told in REGISTRATION_OK.
    """

    settings = {"v3_registration": True, "v3_auto_registration": True,
                "v3_registration_notes": "Be nice.\\nThanks", "post_register_text": "Welcome %U%!"}

    @defer.inlineCallbacks
    def test_new_account(self):
        """The form becomes an account (e-mail in all three columns); the text gives UIN and password."""
        c = yield self.client(0)
        info = yield c.registration_info()
        parsed = v3.RegisterInfo.parse(info.data)
        self.assertEqual((parsed.notes, parsed.enabled), (b"Be nice.\r\nThanks", 1))
        reply = yield c.register(FORM)
        text = v3.Text.parse(reply.data).text.decode("ascii")
        self.assertIn("Your UIN is %d and your password is " % (NEW,), text)
        self.assertTrue(text.endswith("Welcome %d!" % (NEW,)))
        password = text.split("your password is ")[1].split(".")[0]
        self.assertRegex(password, "^[0-9A-F]{8}$")
        rows = self.db("SELECT nick, first_name, email, email2, email3, home_city, birth_year, homepage,"
                       " work_company, work_department_code, must_change_password FROM users WHERE uin = %s",
                       (NEW,))
        self.assertEqual(rows, [("newbie", "Ann", "ann@example.com", "ann@example.com", "ann@example.com",
                                 "Boston", 1976, "http://ann/", "ACME", "10", True)])
        self.passwords[NEW] = password.encode("ascii")
        n = yield self.client(NEW)
        self.assertEqual((yield n.login()).command, v3.SRV_HELLO)

    @defer.inlineCallbacks
    def test_repeat_same_answer(self):
        """A resent form gets the same answer and creates no second account."""
        c = yield self.client(0)
        first = yield c.register(FORM)
        again = yield c.register(FORM, seq=c.seq)
        self.assertEqual(again.data, first.data)
        self.assertEqual(self.db("SELECT count(*) FROM users"), [(4,)])

    @defer.inlineCallbacks
    def test_rate_limited(self):
        """A second registration from the same address within a minute is refused; later it works."""
        c = yield self.client(0)
        yield c.register(FORM)
        refused = yield c.register(FORM)
        self.assertIn(b"Try again later", v3.Text.parse(refused.data).text)
        advance(self.clock, REGISTRATION_INTERVAL)
        later = yield c.register(FORM)
        self.assertIn(b"Your UIN is %d" % (NEW + 1,), v3.Text.parse(later.data).text)

    @defer.inlineCallbacks
    def test_overlong_field(self):
        """A form with a field over its limit is refused with a text; nothing is stored."""
        c = yield self.client(0)
        reply = yield c.register(replace(FORM, nick=b"n" * 40))
        self.assertIn(b"nick", v3.Text.parse(reply.data).text)
        self.assertEqual(self.db("SELECT count(*) FROM users"), [(3,)])


class ManualRegistrationTests(V3MetaBase):
    """
    Registration that waits for the administrator.
    """

    settings = {"v3_registration": True, "v3_auto_registration": False}

    @defer.inlineCallbacks
    def test_queued_then_approved(self):
        """The form is queued without a password; approving it makes the account with the form's details."""
        c = yield self.client(0)
        reply = yield c.register(FORM)
        (request_id,) = self.db("SELECT id FROM register_requests")[0]
        self.assertIn(b"(number %d)" % (request_id,), v3.Text.parse(reply.data).text)
        self.assertEqual(self.db("SELECT email, host(ip), password_hash, info->>'nick' FROM register_requests"),
                         [("ann@example.com", "127.0.0.1", None, "newbie")])
        self.assertEqual(self.db("SELECT count(*) FROM users"), [(3,)])
        uin = yield self.approve(request_id)
        self.assertEqual(uin, NEW)
        self.assertEqual(self.db("SELECT nick, email3, home_city FROM users WHERE uin = %s", (NEW,)),
                         [("newbie", "ann@example.com", "Boston")])
        self.passwords[NEW] = b"chosen"
        n = yield self.client(NEW)
        self.assertEqual((yield n.login()).command, v3.SRV_HELLO)

    def approve(self, request_id):
        from iserverd.storage.directory import PostgresDirectory

        return PostgresDirectory(self.server.storage).approve_registration(request_id, b"chosen")


class OutageTests(V3MetaBase):
    """
    Requests while PostgreSQL is away are not acknowledged, so clients resend them.
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
        """SET_NOTES is not ACKed while the database is away; its resend is, with SET_NOTES_OK."""
        b = yield self.online(BOB)
        yield self.network.settle()
        storage = self.server.storage
        self.addCleanup(self.set_allowed, True)
        self.set_allowed(False)
        yield support.pool_down(storage)
        b.seq += 1
        sent = b.raw(v3.CMD_SET_NOTES, v3.Text(b"written later").build())
        yield b.ping()
        self.assertFalse([p for p in b.of(v3.SRV_ACK) if p.seq1 == sent.seq1])
        self.set_allowed(True)
        yield support.pool_up(storage)
        b.raw(v3.CMD_SET_NOTES, sent.data, seq1=sent.seq1, seq2=sent.seq2)
        yield b.wait_for(lambda p: p.command == v3.SRV_ACK and p.seq1 == sent.seq1)
        yield b.wait_for(lambda p: p.command == v3.SRV_SET_NOTES_OK and p.seq2 == sent.seq2)
        self.assertEqual(self.db("SELECT notes FROM users WHERE uin = %s", (BOB,)), [("written later",)])
