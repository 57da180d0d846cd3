"""
Tests for L{iserverd.storage.directory} against a real PostgreSQL, and the
same contract for the in-memory directory of the fast tests
(L{iserverd.testing.memory.MemoryDirectory}).
"""

from twisted.internet import defer
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from iserverd.storage.directory import (
    IDirectory,
    Keywords,
    PostgresDirectory,
    SearchQuery,
    UserInfo,
    search_sql,
)
from iserverd.storage.interfaces import OnlineRow
from iserverd.storage.passwords import verify_password
from iserverd.storage.postgres import FIRST_FREE_UIN
from iserverd.storage.sealing import PasswordSealer
from iserverd.testing.memory import MemoryDirectory, MemoryStorage
from tests import support


class DirectoryContract:
    """
    What every L{IDirectory} does: account details, searches, registration,
    unregistration and grants.  A test case mixing it in provides
    C{open_stores()}, a Deferred firing with C{(storage, directory)} on one
    empty database.
    """

    @defer.inlineCallbacks
    def setUp(self):
        self.store, self.directory = yield self.open_stores()
        people = [
            (20001, "alice", "Alice", "Liddell", "alice@example.org"),
            (20002, "bob", "Robert", "Smith", "Bob@Example.org"),
            (20003, "bobby", "Bobby", "Smithers", "bobby@example.org"),
            (20004, "carol_1", "Carol", "Smith", "carol@example.org"),
            (20005, "carol%", "Caroline", "Jones", "caroline@example.org"),
        ]
        for uin, nick, first, last, email in people:
            yield self.store.create_user(uin, b"pw%d" % uin, nick, first, last, email)

    def uins(self, results):
        return sorted(r.uin for r in results)

    @defer.inlineCallbacks
    def find(self, limit=100, **criteria):
        results, more = yield self.directory.search(SearchQuery(**criteria), limit)
        return self.uins(results), more

    def test_provides(self):
        """The directory provides the whole interface."""
        self.assertTrue(verifyObject(IDirectory, self.directory))

    @defer.inlineCallbacks
    def test_info_round_trip(self):
        """Every info column written by update_info reads back through get_info."""
        values = dict(
            nick="Bobbé", home_city="Paris", home_country=33, timezone=-2, hide_email=True,
            birth_year=1971, languages=(12, 3, 0), interests=((100, "Chess"), (101, "Go")),
            past=((1, "school"),), affiliations=((2, "club"),), work_company="ACME",
            homepage_category_enabled=True, homepage_category=7, homepage_description="garden",
            auth_required=True, web_aware=False, hide_ip=True, notes="Hi\r\nthere",
        )
        found = yield self.directory.update_info(20002, values)
        self.assertTrue(found)
        info = yield self.directory.get_info(20002)
        for name, value in values.items():
            self.assertEqual(getattr(info, name), value, name)
        self.assertEqual((info.first_name, info.email, info.email2), ("Robert", "Bob@Example.org", "Bob@Example.org"))

    @defer.inlineCallbacks
    def test_info_unknown(self):
        """An unknown UIN has no info, and updating it reports that."""
        self.assertIsNone((yield self.directory.get_info(99999)))
        self.assertFalse((yield self.directory.update_info(99999, {"nick": "x"})))
        self.assertFalse((yield self.directory.update_info(99999, {})))
        self.assertTrue((yield self.directory.update_info(20001, {})))

    def test_update_columns_checked(self):
        """update_info refuses anything but info columns (no password, no key)."""
        self.assertRaises(ValueError, self.directory.update_info, 20001, {"password_hash": "x"})
        self.assertRaises(ValueError, self.directory.update_info, 20001, {"uin": 1})

    @defer.inlineCallbacks
    def test_defaults(self):
        """A fresh account's info has the schema defaults."""
        info = yield self.directory.get_info(20001)
        self.assertEqual(info, UserInfo(20001, "alice", "Alice", "Liddell", "alice@example.org",
                                        "alice@example.org"))

    @defer.inlineCallbacks
    def test_search_prefix_case(self):
        """Names match case-insensitively at their start, not inside."""
        self.assertEqual((yield self.find(nick="BOB")), ([20002, 20003], False))
        self.assertEqual((yield self.find(last_name="smith")), ([20002, 20003, 20004], False))
        self.assertEqual((yield self.find(last_name="mith")), ([], False))
        self.assertEqual((yield self.find(first_name="rob", last_name="SMITH")), ([20002], False))

    @defer.inlineCallbacks
    def test_search_wildcards_literal(self):
        """LIKE wildcards in a criterion match only themselves."""
        self.assertEqual((yield self.find(nick="carol_")), ([20004], False))
        self.assertEqual((yield self.find(nick="carol%")), ([20005], False))
        self.assertEqual((yield self.find(nick="%")), ([], False))
        self.assertEqual((yield self.find(nick="_")), ([], False))

    @defer.inlineCallbacks
    def test_search_email_whole(self):
        """E-mail matches the whole public address, ignoring case."""
        self.assertEqual((yield self.find(email="bob@example.ORG")), ([20002], False))
        self.assertEqual((yield self.find(email="bob")), ([], False))
        self.assertEqual((yield self.find(email="example.org")), ([], False))

    @defer.inlineCallbacks
    def test_search_uin(self):
        """A UIN search finds the account or nothing."""
        self.assertEqual((yield self.find(uin=20003)), ([20003], False))
        self.assertEqual((yield self.find(uin=12)), ([], False))

    @defer.inlineCallbacks
    def test_search_cut(self):
        """More matches than the limit: the limit is returned and 'more' is set."""
        results, more = yield self.directory.search(SearchQuery(last_name="Smith"), 2)
        self.assertEqual((len(results), more), (2, True))
        results, more = yield self.directory.search(SearchQuery(last_name="Smith"), 3)
        self.assertEqual((len(results), more), (3, False))

    @defer.inlineCallbacks
    def test_search_result_fields(self):
        """A result carries the public e-mail (e-mail 2) and the authorization flag."""
        yield self.directory.update_info(20001, {"email2": "public@example.org", "auth_required": True})
        results, _ = yield self.directory.search(SearchQuery(uin=20001), 10)
        r = results[0]
        self.assertEqual((r.nick, r.first_name, r.last_name, r.email, r.auth_required),
                         ("alice", "Alice", "Liddell", "public@example.org", True))

    @defer.inlineCallbacks
    def test_search_nothing(self):
        """A query without any criterion finds nothing (IServerd sent a fake record)."""
        self.assertIsNone(search_sql(SearchQuery(), 10))
        self.assertEqual((yield self.find()), ([], False))
        self.assertEqual((yield self.find(min_age=20)), ([], False))

    @defer.inlineCallbacks
    def test_white_pages(self):
        """Each white-pages criterion narrows the result."""
        yield self.directory.update_info(20001, dict(
            age=25, gender=1, languages=(12, 0, 0), home_city="Paris", work_state="Ohio",
            work_country=1, work_company="ACME", work_department="R&D", work_title="Engineer",
            work_occupation=4, email3="old@example.org",
            interests=((100, "Chess, go"),), past=((3, "Oxford"),), affiliations=((5, "Rotary"),),
            homepage_category_enabled=True, homepage_category=7, homepage_description="My garden",
        ))
        yield self.directory.update_info(20002, dict(age=40, gender=2, home_state="Ohio",
                                                     interests=((100, "cooking"),)))
        cases = [
            (dict(min_age=20, max_age=30), [20001]),
            (dict(min_age=20, max_age=45, gender=2), [20002]),
            (dict(language=12), [20001]),
            (dict(city="par"), [20001]),
            (dict(state="OHIO"), [20001, 20002]),
            (dict(country=1), [20001]),
            (dict(company="acme", department="r&", position="eng"), [20001]),
            (dict(occupation=4), [20001]),
            (dict(any_email="OLD@example.org"), [20001]),
            (dict(any_email="bob@example.org"), [20002]),
            (dict(interests=Keywords(100)), [20001, 20002]),
            (dict(interests=Keywords(100, "x, GO")), [20001]),
            (dict(interests=Keywords(100, "c")), [20001, 20002]),  # one-letter keywords are ignored
            (dict(interests=Keywords(101)), []),
            (dict(past=Keywords(3, "ford")), [20001]),
            (dict(affiliations=Keywords(5, "rot")), [20001]),
            (dict(homepage=Keywords(7, "garden")), [20001]),
            (dict(homepage=Keywords(7, "kitchen")), []),
            (dict(first_name="a", min_age=20, max_age=30, gender=1), [20001]),
        ]
        for criteria, expected in cases:
            self.assertEqual((yield self.find(**criteria)), (expected, False), criteria)

    @defer.inlineCallbacks
    def test_online_only(self):
        """'Online only' keeps users with an online row that are not invisible."""
        yield self.store.add_online(OnlineRow(20002, "127.0.0.1", 4000, 5, status=0))
        yield self.store.add_online(OnlineRow(20003, "127.0.0.1", 4001, 5, status=0x0100))
        self.assertEqual((yield self.find(last_name="smith", online_only=True)), ([20002], False))
        self.assertEqual((yield self.find(online_only=True)), ([20002], False))

    @defer.inlineCallbacks
    def test_unregister_exact_password(self):
        """Unregister needs the exact password; a LIKE pattern or another case does not match."""
        for wrong in (b"%", b"pw%", b"PW20001", b"pw2000_", b""):
            self.assertFalse((yield self.directory.unregister(20001, wrong)), wrong)
        self.assertIsNotNone((yield self.store.get_account(20001)))
        self.assertTrue((yield self.directory.unregister(20001, b"pw20001")))
        self.assertIsNone((yield self.store.get_account(20001)))
        self.assertFalse((yield self.directory.unregister(20001, b"pw20001")))

    @defer.inlineCallbacks
    def test_authorization(self):
        """Contacts requiring authorization are withheld until they grant it, per owner."""
        yield self.directory.update_info(20002, {"auth_required": True})
        yield self.directory.update_info(20003, {"auth_required": True})
        withheld = yield self.directory.withheld_contacts(20001, [20002, 20003, 20004, 99999])
        self.assertEqual(withheld, {20002, 20003})
        self.assertTrue((yield self.directory.grant_authorization(20002, 20001)))
        self.assertTrue((yield self.directory.grant_authorization(20002, 20001)))  # again: no change
        self.assertEqual((yield self.directory.withheld_contacts(20001, [20002, 20003])), {20003})
        self.assertEqual((yield self.directory.withheld_contacts(20004, [20002])), {20002})
        self.assertEqual((yield self.directory.withheld_contacts(20001, [])), set())

    @defer.inlineCallbacks
    def test_register_contract(self):
        """Registration takes the next free UIN and makes a login with the password possible."""
        uin = yield self.directory.register(b"secret", "new@example.org")
        self.assertEqual(uin, 20006)
        account = yield self.store.get_account(uin)
        self.assertTrue(verify_password(b"secret", account.password_hash))
        info = yield self.directory.get_info(uin)
        self.assertEqual((info.email, info.email2), ("new@example.org", "new@example.org"))

    @defer.inlineCallbacks
    def test_register_sealed(self):
        """With a sealer, a registration and an approval with a given password keep sealed copies;
        a queued request's hash alone cannot give one."""
        self.store.sealer = PasswordSealer(bytes(range(32)))
        uin = yield self.directory.register(b"secret", "new@example.org")
        self.assertEqual((yield self.store.get_password(uin)), b"secret")
        hashed = yield self.directory.queue_registration(b"queued", "q@example.org", "192.0.2.7")
        formed = yield self.directory.queue_registration(None, "v3@example.org", "192.0.2.8")
        first = yield self.directory.approve_registration(hashed)
        self.assertIsNone((yield self.store.get_password(first)))
        second = yield self.directory.approve_registration(formed, b"given")
        self.assertEqual((yield self.store.get_password(second)), b"given")

    @defer.inlineCallbacks
    def test_queue_approve_reject(self):
        """Queued registrations are listed until approved (once) or rejected."""
        first = yield self.directory.queue_registration(b"secret", "q@example.org", "192.0.2.7")
        second = yield self.directory.queue_registration(None, "v3@example.org", "192.0.2.8", {"nick": "form"})
        requests = yield self.directory.registration_requests()
        self.assertEqual([(r.id, r.email, r.ip, r.has_password, r.info) for r in requests],
                         [(first, "q@example.org", "192.0.2.7", True, {}),
                          (second, "v3@example.org", "192.0.2.8", False, {"nick": "form"})])
        uin = yield self.directory.approve_registration(first)
        self.assertTrue(verify_password(b"secret", (yield self.store.get_account(uin)).password_hash))
        self.assertIsNone((yield self.directory.approve_registration(first)))
        self.assertTrue((yield self.directory.reject_registration(second)))
        self.assertFalse((yield self.directory.reject_registration(second)))
        self.assertEqual((yield self.directory.pending_registrations()), [])

    @defer.inlineCallbacks
    def test_grants_unknown_and_deleted(self):
        """A grant needs both accounts; a deleted account's grants are gone with it."""
        self.assertFalse((yield self.directory.grant_authorization(20002, 99999)))
        yield self.directory.update_info(20001, {"auth_required": True})
        yield self.directory.grant_authorization(20001, 20002)
        yield self.store.delete_user(20002)
        yield self.store.create_user(20002, b"pw")
        self.assertEqual((yield self.directory.withheld_contacts(20002, [20001])), {20001})

    @defer.inlineCallbacks
    def test_search_field(self):
        """A v3 search compares one field, text without case and with the mode's true meaning."""
        cases = [
            (("nick", "begins with", "BOB"), [20002, 20003]),
            (("last", "ends with", "SMITH"), [20002, 20004]),
            (("last", "contains", "mith"), [20002, 20003, 20004]),
            (("nick", "is", "carol%"), [20005]),
            (("nick", "contains", "_"), [20004]),
            (("uin", "is", 20003), [20003]),
            (("uin", "is", "20003"), []),
            (("nick", "sounds like", "bob"), []),
            (("nick", "is", ""), []),
        ]
        for (field, mode, value), expected in cases:
            results, more = yield self.directory.search_field(field, mode, value, 10)
            self.assertEqual((self.uins(results), more), (expected, False), (field, mode, value))


class DirectoryTests(DirectoryContract, unittest.TestCase):
    """
    The PostgreSQL directory; what SQL alone can show is checked here.
    """

    @defer.inlineCallbacks
    def open_stores(self):
        store = yield support.open_storage(self)
        self.dsn = store.dsn
        return store, PostgresDirectory(store)

    @defer.inlineCallbacks
    def test_register(self):
        """Registration takes the next free UIN, sets both e-mails and 'must change password'."""
        uin = yield self.directory.register(b"secret", "new@example.org")
        self.assertEqual(uin, 20006)
        account = yield self.store.get_account(uin)
        self.assertTrue(verify_password(b"secret", account.password_hash))
        rows = support.query(self.dsn, "SELECT email, email2, must_change_password FROM users WHERE uin = %s", (uin,))
        self.assertEqual(rows, [("new@example.org", "new@example.org", True)])

    @defer.inlineCallbacks
    def test_register_first(self):
        """The first registration on an empty table takes the first free UIN."""
        store = yield support.open_storage(self)
        uin = yield PostgresDirectory(store).register(b"pw")
        self.assertEqual(uin, FIRST_FREE_UIN)

    @defer.inlineCallbacks
    def test_queue_and_approve(self):
        """A queued registration keeps only a hash until approved; approval creates the account once."""
        request = yield self.directory.queue_registration(b"secret", "q@example.org", "192.0.2.7")
        pending = yield self.directory.pending_registrations()
        self.assertEqual([(p[0], p[1], p[2]) for p in pending], [(request, "q@example.org", "192.0.2.7")])
        stored = support.query(self.dsn, "SELECT password_hash FROM register_requests")
        self.assertNotIn("secret", stored[0][0])
        uin = yield self.directory.approve_registration(request)
        account = yield self.store.get_account(uin)
        self.assertTrue(verify_password(b"secret", account.password_hash))
        self.assertEqual(account.email, "q@example.org")
        self.assertIsNone((yield self.directory.approve_registration(request)))
        self.assertEqual((yield self.directory.pending_registrations()), [])

    @defer.inlineCallbacks
    def test_grant_unknown(self):
        """A grant to or from an unknown UIN is not recorded."""
        self.assertFalse((yield self.directory.grant_authorization(20002, 99999)))
        self.assertFalse((yield self.directory.grant_authorization(99999, 20002)))
        self.assertEqual(support.query(self.dsn, "SELECT count(*) FROM authorizations"), [(0,)])

    @defer.inlineCallbacks
    def test_grants_go_with_accounts(self):
        """Deleting either account deletes its grants."""
        yield self.directory.grant_authorization(20002, 20001)
        yield self.directory.grant_authorization(20003, 20002)
        yield self.store.delete_user(20002)
        self.assertEqual(support.query(self.dsn, "SELECT count(*) FROM authorizations"), [(0,)])


class MemoryDirectoryTests(DirectoryContract, unittest.TestCase):
    """
    The in-memory directory of the fast tests keeps the same contract.
    """

    def open_stores(self):
        storage = MemoryStorage()
        return defer.succeed((storage, MemoryDirectory(storage)))
