"""
Tests for L{iserverd.storage.postgres} against a real PostgreSQL, and the
same contract for the in-memory store of the fast tests
(L{iserverd.testing.memory.MemoryStorage}).
"""

from datetime import datetime, timezone

from twisted.internet import defer
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from iserverd.storage.interfaces import (
    LIST_CONTACT,
    LIST_INVISIBLE,
    DatabaseUnavailable,
    DuplicateUIN,
    IStorage,
    NoSuchUser,
    OnlineRow,
    RelayedMessage,
)
from iserverd.storage.passwords import verify_password
from iserverd.storage.postgres import FIRST_FREE_UIN
from iserverd.storage.sealing import PasswordSealer
from iserverd.testing.memory import MemoryStorage
from tests import support


class StorageContract:
    """
    What every L{IStorage} does: keep accounts, sessions, lists and messages.
    A test case mixing it in sets C{self.store} in C{setUp}.
    """

    def test_provides(self):
        """The store provides the whole storage interface."""
        self.assertTrue(verifyObject(IStorage, self.store))

    @defer.inlineCallbacks
    def test_create_and_get(self):
        """A created account reads back with a hashed, verifiable password."""
        uin = yield self.store.create_user(123456, b"secret", "nick", "First", "Last", "a@b.c")
        self.assertEqual(uin, 123456)
        account = yield self.store.get_account(123456)
        self.assertEqual((account.nick, account.first_name, account.email), ("nick", "First", "a@b.c"))
        self.assertNotIn("secret", account.password_hash)
        self.assertTrue(verify_password(b"secret", account.password_hash))
        self.assertFalse(verify_password(b"Secret", account.password_hash))

    @defer.inlineCallbacks
    def test_next_free_uin(self):
        """Without a UIN the next free one at or above the first free number is used."""
        first = yield self.store.create_user(None, b"pw")
        second = yield self.store.create_user(None, b"pw")
        self.assertEqual((first, second), (FIRST_FREE_UIN, FIRST_FREE_UIN + 1))

    @defer.inlineCallbacks
    def test_duplicate(self):
        """Registering a taken UIN fails with DuplicateUIN and changes nothing."""
        yield self.store.create_user(5000, b"pw", "one")
        yield self.assertFailure(self.store.create_user(5000, b"other", "two"), DuplicateUIN)
        account = yield self.store.get_account(5000)
        self.assertEqual(account.nick, "one")

    @defer.inlineCallbacks
    def test_password_and_delete(self):
        """A password change takes effect; deleting removes the account; missing UINs fail."""
        yield self.store.create_user(5000, b"old")
        yield self.store.set_password(5000, b"new")
        account = yield self.store.get_account(5000)
        self.assertTrue(verify_password(b"new", account.password_hash))
        yield self.store.delete_user(5000)
        self.assertIsNone((yield self.store.get_account(5000)))
        yield self.assertFailure(self.store.delete_user(5000), NoSuchUser)
        yield self.assertFailure(self.store.set_password(5000, b"x"), NoSuchUser)

    @defer.inlineCallbacks
    def test_sealed_password(self):
        """With a sealer, new and changed passwords get a sealed copy that reads back."""
        self.store.sealer = PasswordSealer(bytes(range(32)))
        yield self.store.create_user(5000, b"old")
        account = yield self.store.get_account(5000)
        self.assertTrue(account.password_sealed)
        self.assertEqual((yield self.store.get_password(5000)), b"old")
        yield self.store.set_password(5000, b"new")
        self.assertEqual((yield self.store.get_password(5000)), b"new")
        self.assertIsNone((yield self.store.get_password(4999)))

    @defer.inlineCallbacks
    def test_sealed_password_gained(self):
        """An account without a copy gains one for the password verified against its hash."""
        yield self.store.create_user(5000, b"pw")
        account = yield self.store.get_account(5000)
        self.assertFalse(account.password_sealed)
        self.assertFalse((yield self.store.seal_password(5000, b"pw", account.password_hash)))
        self.store.sealer = PasswordSealer(bytes(range(32)))
        self.assertIsNone((yield self.store.get_password(5000)))
        self.assertTrue((yield self.store.seal_password(5000, b"pw", account.password_hash)))
        self.assertTrue((yield self.store.get_account(5000)).password_sealed)
        self.assertEqual((yield self.store.get_password(5000)), b"pw")
        self.assertFalse((yield self.store.seal_password(4999, b"pw", account.password_hash)))

    @defer.inlineCallbacks
    def test_sealed_password_race(self):
        """A copy for a password changed meanwhile is not written."""
        self.store.sealer = PasswordSealer(bytes(range(32)))
        yield self.store.create_user(5000, b"old")
        before = yield self.store.get_account(5000)
        yield self.store.set_password(5000, b"new")
        self.assertFalse((yield self.store.seal_password(5000, b"old", before.password_hash)))
        self.assertEqual((yield self.store.get_password(5000)), b"new")

    @defer.inlineCallbacks
    def test_password_change_without_sealer_clears_copy(self):
        """Changing a password with no sealer drops the stale copy instead of keeping it."""
        sealer = PasswordSealer(bytes(range(32)))
        self.store.sealer = sealer
        yield self.store.create_user(5000, b"old")
        self.store.sealer = None
        yield self.store.set_password(5000, b"new")
        self.assertFalse((yield self.store.get_account(5000)).password_sealed)
        self.store.sealer = sealer
        self.assertIsNone((yield self.store.get_password(5000)))

    @defer.inlineCallbacks
    def test_list_and_login(self):
        """Accounts list in UIN order; a login's address and time are recorded."""
        for uin in (3000, 1001, 2000):
            yield self.store.create_user(uin, b"pw")
        accounts = yield self.store.list_accounts(limit=2)
        self.assertEqual([a.uin for a in accounts], [1001, 2000])
        when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
        yield self.store.record_login(2000, "192.0.2.7", when)
        account = yield self.store.get_account(2000)
        self.assertEqual((account.last_login_ip, account.last_login_at), ("192.0.2.7", when))
        existing = yield self.store.existing_uins([1001, 9999, 3000])
        self.assertEqual(existing, {1001, 3000})

    @defer.inlineCallbacks
    def test_online_and_lists(self):
        """Online rows and lists are stored, replaced on a new login, and cleared."""
        yield self.store.create_user(1001, b"pw")
        yield self.store.add_online(OnlineRow(1001, "127.0.0.1", 5000, 5, session_id=7))
        yield self.store.add_to_list(1001, LIST_CONTACT, [2002, 2001, 2002])
        yield self.store.add_to_list(1001, LIST_INVISIBLE, [3003])
        self.assertEqual((yield self.store.get_list(1001, LIST_CONTACT)), [2001, 2002])
        yield self.store.remove_from_list(1001, LIST_CONTACT, [2001])
        self.assertEqual((yield self.store.get_list(1001, LIST_CONTACT)), [2002])
        self.assertEqual((yield self.store.count_online()), 1)
        yield self.store.add_online(OnlineRow(1001, "127.0.0.1", 5001, 5, session_id=8))
        self.assertEqual((yield self.store.count_online()), 1)
        self.assertEqual((yield self.store.get_list(1001, LIST_CONTACT)), [])
        yield self.store.add_to_list(1001, LIST_CONTACT, [2002])
        yield self.store.clear_online()
        self.assertEqual((yield self.store.count_online()), 0)
        self.assertEqual((yield self.store.get_list(1001, LIST_CONTACT)), [])

    @defer.inlineCallbacks
    def test_messages(self):
        """Offline messages come back in order, bytes intact, and only given ids are deleted."""
        yield self.store.create_user(1001, b"pw")
        when = datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc)
        first = yield self.store.store_message(1001, 1002, when, 1, b"caf\xe9\xfe\x00x")
        second = yield self.store.store_message(1001, 1003, when, 4, b"url")
        pending = yield self.store.pending_messages(1001)
        self.assertEqual([m.id for m in pending], [first, second])
        self.assertEqual(pending[0].body, b"caf\xe9\xfe\x00x")
        self.assertEqual(pending[0].sent_at, when)
        deleted = yield self.store.delete_messages(1001, [first])
        self.assertEqual(deleted, 1)
        deleted = yield self.store.delete_messages(1002, [second])
        self.assertEqual(deleted, 0)
        pending = yield self.store.pending_messages(1001)
        self.assertEqual([m.id for m in pending], [second])

    @defer.inlineCallbacks
    def test_relayed_messages(self):
        """Relayed messages get ids in order; forgotten ones go, the others become offline messages."""
        yield self.store.create_user(1001, b"pw")
        when = datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc)
        batch = [RelayedMessage(1001, 1002, when, 1, b"one"), RelayedMessage(4242, 1002, when, 1, b"nobody"),
                 RelayedMessage(1001, 1003, when, 4, b"caf\xe9\x00")]
        ids = yield self.store.log_relayed(batch)
        self.assertEqual(len(ids), 3)
        self.assertEqual(sorted(ids), ids)
        self.assertEqual((yield self.store.log_relayed([])), [])
        self.assertEqual((yield self.store.forget_relayed([ids[0], 999999])), 1)
        # The deleted account's message is dropped, the other one moved.
        self.assertEqual((yield self.store.relayed_to_offline([ids[1], ids[2]])), 1)
        self.assertEqual((yield self.store.relayed_to_offline([ids[2]])), 0)
        pending = yield self.store.pending_messages(1001)
        self.assertEqual([(m.from_uin, m.sent_at, m.msg_type, m.body) for m in pending],
                         [(1003, when, 4, b"caf\xe9\x00")])
        yield self.store.log_relayed([RelayedMessage(1001, 1002, when, 1, b"left")])
        self.assertEqual((yield self.store.relayed_to_offline()), 1)
        recent = yield self.store.recent_messages(when)
        self.assertEqual([m.body for m in recent], [b"caf\xe9\x00", b"left"])
        self.assertEqual((yield self.store.recent_messages(datetime(2026, 1, 3, tzinfo=timezone.utc))), [])

    @defer.inlineCallbacks
    def test_sync_online_rows(self):
        """sync_online keeps the given rows of existing accounts only; an empty list clears the table."""
        for uin in (1001, 1002):
            yield self.store.create_user(uin, b"pw")
        yield self.store.add_online(OnlineRow(1001, "127.0.0.1", 5000, 5))
        yield self.store.sync_online([OnlineRow(1002, "127.0.0.2", 6000, 3, status=1), OnlineRow(4242, "127.0.0.3", 1, 5)])
        self.assertEqual((yield self.store.count_online()), 1)
        yield self.store.sync_online([])
        self.assertEqual((yield self.store.count_online()), 0)

    @defer.inlineCallbacks
    def test_deleted_account_leaves_nothing(self):
        """Deleting an account deletes its online row, lists and messages; no row is added for it after."""
        yield self.store.create_user(1001, b"pw")
        yield self.store.add_online(OnlineRow(1001, "127.0.0.1", 5000, 5))
        yield self.store.add_to_list(1001, LIST_CONTACT, [2002])
        yield self.store.store_message(1001, 2002, datetime(2026, 1, 2, tzinfo=timezone.utc), 1, b"x")
        yield self.store.delete_user(1001)
        self.assertEqual((yield self.store.count_online()), 0)
        self.assertEqual((yield self.store.get_list(1001, LIST_CONTACT)), [])
        self.assertEqual((yield self.store.pending_messages(1001)), [])
        yield self.store.add_online(OnlineRow(1001, "127.0.0.1", 5000, 5))
        yield self.store.add_to_list(1001, LIST_CONTACT, [2002])
        self.assertEqual((yield self.store.count_online()), 0)
        self.assertEqual((yield self.store.get_list(1001, LIST_CONTACT)), [])


class StorageTests(StorageContract, unittest.TestCase):
    """
    The PostgreSQL store keeps accounts, sessions, lists and messages.
    """

    @defer.inlineCallbacks
    def setUp(self):
        self.store = yield support.open_storage(self)

    @defer.inlineCallbacks
    def test_sync_online(self):
        """sync_online leaves exactly the given rows, skipping deleted accounts; an empty list clears it."""
        for uin in (1001, 1002):
            yield self.store.create_user(uin, b"pw")
        yield self.store.add_online(OnlineRow(1001, "127.0.0.1", 5000, 5))
        yield self.store.sync_online([OnlineRow(1002, "127.0.0.2", 6000, 3, status=1), OnlineRow(4242, "127.0.0.3", 1, 5)])
        self.assertEqual(support.query(self.store.dsn, "SELECT uin, host(ip), port, protocol, status FROM online_users"),
                         [(1002, "127.0.0.2", 6000, 3, 1)])
        yield self.store.sync_online([])
        self.assertEqual((yield self.store.count_online()), 0)


class MemoryStorageTests(StorageContract, unittest.TestCase):
    """
    The in-memory store of the fast tests keeps the same contract.
    """

    def setUp(self):
        self.store = MemoryStorage()

    def test_unavailable(self):
        """Switched off, every call fails with DatabaseUnavailable and changes nothing."""
        self.store.unavailable = True
        self.failureResultOf(self.store.create_user(1001, b"pw"), DatabaseUnavailable)
        self.store.unavailable = False
        self.assertIsNone(self.successResultOf(self.store.get_account(1001)))
