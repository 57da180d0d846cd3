"""
The storage seam.  The server's logic sees only these interfaces; every method
returns a L{Deferred}.  L{iserverd.storage.postgres} implements them on
PostgreSQL.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from zope.interface import Attribute, Interface

# Contact-list kinds, as in IServerd's Online_Contacts.type.
LIST_CONTACT = 1
LIST_INVISIBLE = 2
LIST_VISIBLE = 3
LIST_IGNORE = 4


class StorageError(Exception):
    """
    Base of the errors a store reports on purpose (as opposed to database faults).
    """


class DuplicateUIN(StorageError):
    """The UIN is already registered."""


class NoSuchUser(StorageError):
    """No account has this UIN."""


class DatabaseUnavailable(StorageError):
    """The database cannot be reached; the caller should answer 'try again'."""


@dataclass(frozen=True)
class Account:
    """
    What login and presence need of an account; the full record is L{UserInfo}.
    """

    uin: int
    password_hash: str
    locked: bool = False
    lock_text: str = ""
    nick: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    auth_required: bool = False
    web_aware: bool = True
    hide_ip: bool = False
    last_login_ip: Optional[str] = None
    last_login_at: Optional[datetime] = None
    created_at: Optional[datetime] = None
    password_sealed: bool = False  # holds a sealed copy for OSCAR MD5 logins


@dataclass(frozen=True)
class OfflineMessage:
    id: int
    to_uin: int
    from_uin: int
    sent_at: datetime
    msg_type: int
    body: bytes


@dataclass(frozen=True)
class RelayedMessage:
    """A message on its way to an online recipient (see L{IMessageStore.log_relayed})."""

    to_uin: int
    from_uin: int
    sent_at: datetime
    msg_type: int
    body: bytes


@dataclass(frozen=True)
class OnlineRow:
    """A row of the online table: the part of a session other tools may read."""

    uin: int
    ip: str
    port: int
    protocol: int
    session_id: int = 0
    tcp_port: int = 0
    status: int = 0
    status_flags: int = 0
    client_version: int = 0


class IUserStore(Interface):
    """
    Registered accounts and their details.
    """

    def create_user(uin, password, nick="", first_name="", last_name="", email=""):
        """
        Register an account; C{uin} L{None} takes the next free UIN.

        @return: Deferred firing with the UIN; fails with L{DuplicateUIN}.
        """

    def get_account(uin):
        """@return: Deferred firing with an L{Account} or L{None}."""

    def list_accounts(limit=100, after=0):
        """@return: Deferred firing with L{Account}s with C{uin > after}, by UIN."""

    def set_password(uin, password):
        """
        Replace the password (its hash, and its sealed copy when the store has
        a sealer; without one a stale copy is cleared).  Fails with
        L{NoSuchUser}.
        """

    def get_password(uin):
        """
        The password itself, for logins that prove it over a challenge (OSCAR
        MD5), recovered from the account's sealed copy
        (L{iserverd.storage.sealing}).

        @return: Deferred firing with the password bytes, or L{None} when the
            account has no copy this store can unseal (or no such account).
        """

    def seal_password(uin, password, password_hash):
        """
        Keep a sealed copy of a password just verified against
        C{password_hash}, for accounts without one.  Nothing is written if the
        account's hash changed meanwhile (a concurrent password change) or the
        store has no sealer.

        @return: Deferred firing with whether a copy was written.
        """

    def delete_user(uin):
        """Fails with L{NoSuchUser}."""

    def record_login(uin, ip, when):
        """Remember the last login's address and time."""

    def existing_uins(uins):
        """@return: Deferred firing with the subset of C{uins} that are registered."""


class IOnlineStore(Interface):
    """
    The online table: a mirror of the server's in-memory sessions, for SQL and tools.
    """

    def clear_online():
        """Empty the online table and the contact lists (everyone starts offline)."""

    def add_online(row):
        """Insert or replace the L{OnlineRow} of a user who just logged in."""

    def remove_online(uin):
        """Delete the user's online row and its contact lists."""

    def set_status(uin, status, flags):
        """Record a status change."""

    def count_online():
        """@return: Deferred firing with the number of online rows."""

    def sync_online(rows):
        """
        Make the online table hold exactly these L{OnlineRow}s (rows of
        accounts deleted meanwhile are left out), repairing what writes
        skipped while the database was away.
        """


class IContactStore(Interface):
    """
    Per-owner contact, visible, invisible and ignore lists of online users.
    """

    def add_to_list(owner, list_type, uins):
        """Add C{uins} to the owner's list (duplicates are ignored)."""

    def remove_from_list(owner, list_type, uins):
        """Remove C{uins} from the owner's list."""

    def get_list(owner, list_type):
        """@return: Deferred firing with the sorted UINs of the list."""


class IMessageStore(Interface):
    """
    Offline messages.  A message is acknowledged to its sender only after
    L{store_message} has fired, so nothing accepted is lost.
    """

    def store_message(to_uin, from_uin, sent_at, msg_type, body):
        """@return: Deferred firing with the new message's id."""

    def pending_messages(to_uin, limit=500):
        """@return: Deferred firing with the oldest L{OfflineMessage}s for C{to_uin}."""

    def delete_messages(to_uin, ids):
        """Delete the given messages of C{to_uin} (only those); fires with the count."""

    def log_relayed(messages):
        """
        Write messages relayed to online recipients, all in one transaction,
        before their senders are acknowledged.

        @param messages: L{RelayedMessage}s.
        @return: Deferred firing with their ids, in the same order.
        """

    def forget_relayed(ids):
        """The recipients acknowledged these relayed messages: delete them; fires with the count."""

    def relayed_to_offline(ids=None):
        """
        Turn relayed messages into offline messages in one transaction: the
        given ids (recipient gone without acknowledging them) or, with
        L{None}, every one left (a crash).  Messages for accounts deleted
        meanwhile are dropped.

        @return: Deferred firing with the number of offline messages made.
        """

    def recent_messages(since):
        """
        @return: Deferred firing with the L{OfflineMessage}s sent at or after
            C{since} (a resend of one of them after a crash is recognised).
        """


class IStorage(IUserStore, IOnlineStore, IContactStore, IMessageStore):
    """
    Everything the server stores, behind one object.
    """

    schema_version = Attribute("The schema version of the connected database.")
