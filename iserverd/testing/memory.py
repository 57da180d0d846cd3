# -*- test-case-name: tests.test_storage,tests.test_directory,tests.test_fast -*-
"""
In-memory stores for fast tests: L{MemoryStorage} (L{IStorage}),
L{MemoryDirectory} (L{IDirectory}) and L{MemoryDepartments}
(L{IDepartmentStore}), sharing one set of tables as the PostgreSQL stores
share one database.

They are held to the PostgreSQL stores' contract by the same tests
(C{tests.test_storage}, C{tests.test_directory}), so a handler or network
test that runs on them in milliseconds means what it would on PostgreSQL.
Every method answers with an already-fired Deferred, except while
L{MemoryStorage.unavailable} is set: then every call fails with
L{DatabaseUnavailable}, as a lost database does.
"""

import itertools
from dataclasses import fields, replace
from datetime import datetime, timezone

from twisted.internet import defer
from zope.interface import implementer

from iserverd.storage.departments import MAX_DEPARTMENTS, IDepartmentStore
from iserverd.storage.directory import (
    FIELD_COLUMNS,
    STATUS_INVISIBLE_BIT,
    UPDATABLE,
    IDirectory,
    RegistrationRequest,
    SearchResult,
    UserInfo,
)
from iserverd.storage.interfaces import (
    Account,
    DatabaseUnavailable,
    DuplicateUIN,
    IStorage,
    NoSuchUser,
    OfflineMessage,
)
from iserverd.storage.passwords import hash_password, verify_password
from iserverd.storage.postgres import FIRST_FREE_UIN
from iserverd.storage.schema import CURRENT

_ACCOUNT_FIELDS = tuple(f.name for f in fields(Account))
_INFO_DEFAULTS = {f.name: f.default for f in fields(UserInfo) if f.name != "uin"}


def _now():
    return datetime.now(timezone.utc)


def _new_user(uin, password_hash, **values):
    """A users row with the schema's defaults."""
    row = dict(_INFO_DEFAULTS, uin=uin, password_hash=password_hash, locked=False, lock_text="",
               must_change_password=False, can_broadcast=False, created_at=_now(),
               last_login_ip=None, last_login_at=None, password_sealed=None)
    row.update(values)
    return row


@implementer(IStorage)
class MemoryStorage:
    """
    @ivar users: UIN to its row (a dict of users columns).
    @ivar online: UIN to its L{iserverd.storage.interfaces.OnlineRow}.
    @ivar unavailable: while true, every call fails with L{DatabaseUnavailable}.
    """

    schema_version = CURRENT

    def __init__(self, sealer=None):
        self.sealer = sealer
        self.users = {}
        self.online = {}
        self.contacts = set()  # (owner, list type, target)
        self.messages = {}  # id -> OfflineMessage
        self.relayed = {}  # id -> RelayedMessage
        self.grants = set()  # (owner, allowed)
        self.requests = {}  # id -> (password hash, email, ip, requested_at, info)
        self.departments = {}  # code -> name
        self.unavailable = False
        self._message_ids = itertools.count(1)
        self._relayed_ids = itertools.count(1)
        self._request_ids = itertools.count(1)

    def _call(self, fn, *args):
        """Run C{fn} as one transaction: all of it or, while unavailable, nothing."""
        if self.unavailable:
            return defer.fail(DatabaseUnavailable("the in-memory database is switched off"))
        return defer.maybeDeferred(fn, *args)

    def _next_uin(self):
        return max([FIRST_FREE_UIN - 1] + list(self.users)) + 1

    def _delete_user(self, uin):
        del self.users[uin]
        self.online.pop(uin, None)
        self.contacts = {c for c in self.contacts if c[0] != uin}
        self.messages = {i: m for i, m in self.messages.items() if m.to_uin != uin}
        self.grants = {g for g in self.grants if uin not in g}

    # IUserStore

    def create_user(self, uin, password, nick="", first_name="", last_name="", email=""):
        def create():
            number = self._next_uin() if uin is None else uin
            if number in self.users:
                raise DuplicateUIN(number)
            self.users[number] = _new_user(number, hash_password(password), nick=nick, first_name=first_name,
                                           last_name=last_name, email=email, email2=email,
                                           password_sealed=self.sealed(number, password))
            return number

        return self._call(create)

    def _account(self, uin):
        row = self.users.get(uin)
        if row is None:
            return None
        values = {name: row[name] for name in _ACCOUNT_FIELDS}
        values["password_sealed"] = row["password_sealed"] is not None
        return Account(**values)

    def get_account(self, uin):
        return self._call(self._account, uin)

    def list_accounts(self, limit=100, after=0):
        return self._call(lambda: [self._account(u) for u in sorted(self.users) if u > after][:limit])

    def set_password(self, uin, password):
        def change():
            if uin not in self.users:
                raise NoSuchUser(uin)
            self.users[uin].update(password_hash=hash_password(password), must_change_password=False,
                                   password_sealed=self.sealed(uin, password))

        return self._call(change)

    def sealed(self, uin, password):
        return None if self.sealer is None else self.sealer.seal(uin, password)

    def get_password(self, uin):
        def get():
            row = self.users.get(uin)
            if row is None or self.sealer is None:
                return None
            return self.sealer.unseal(uin, row["password_sealed"])

        return self._call(get)

    def seal_password(self, uin, password, password_hash):
        def seal():
            row = self.users.get(uin)
            if self.sealer is None or row is None or row["password_hash"] != password_hash:
                return False
            row["password_sealed"] = self.sealer.seal(uin, password)
            return True

        return self._call(seal)

    def delete_user(self, uin):
        def delete():
            if uin not in self.users:
                raise NoSuchUser(uin)
            self._delete_user(uin)

        return self._call(delete)

    def record_login(self, uin, ip, when):
        def record():
            if uin in self.users:
                self.users[uin].update(last_login_ip=ip, last_login_at=when)

        return self._call(record)

    def existing_uins(self, uins):
        return self._call(lambda: {u for u in uins if u in self.users})

    # IOnlineStore

    def clear_online(self):
        def clear():
            self.online.clear()
            self.contacts.clear()

        return self._call(clear)

    def add_online(self, row):
        def add():
            self.contacts = {c for c in self.contacts if c[0] != row.uin}
            if row.uin in self.users:
                self.online[row.uin] = row

        return self._call(add)

    def remove_online(self, uin):
        def remove():
            self.contacts = {c for c in self.contacts if c[0] != uin}
            self.online.pop(uin, None)

        return self._call(remove)

    def set_status(self, uin, status, flags):
        def change():
            if uin in self.online:
                self.online[uin] = replace(self.online[uin], status=status, status_flags=flags)

        return self._call(change)

    def count_online(self):
        return self._call(lambda: len(self.online))

    def sync_online(self, rows):
        def sync():
            self.online = {r.uin: r for r in rows if r.uin in self.users}

        return self._call(sync)

    # IContactStore

    def add_to_list(self, owner, list_type, uins):
        def add():
            if owner in self.users:
                self.contacts |= {(owner, list_type, u) for u in uins}

        return self._call(add)

    def remove_from_list(self, owner, list_type, uins):
        def remove():
            self.contacts -= {(owner, list_type, u) for u in uins}

        return self._call(remove)

    def get_list(self, owner, list_type):
        return self._call(lambda: sorted(t for o, k, t in self.contacts if o == owner and k == list_type))

    # IMessageStore

    def store_message(self, to_uin, from_uin, sent_at, msg_type, body):
        def store():
            if to_uin not in self.users:
                raise NoSuchUser(to_uin)
            message = OfflineMessage(next(self._message_ids), to_uin, from_uin, sent_at, msg_type, bytes(body))
            self.messages[message.id] = message
            return message.id

        return self._call(store)

    def pending_messages(self, to_uin, limit=500):
        return self._call(lambda: [m for _, m in sorted(self.messages.items()) if m.to_uin == to_uin][:limit])

    def delete_messages(self, to_uin, ids):
        def delete():
            gone = [i for i in set(ids) if i in self.messages and self.messages[i].to_uin == to_uin]
            for i in gone:
                del self.messages[i]
            return len(gone)

        return self._call(delete)


    def log_relayed(self, messages):
        def log():
            ids = []
            for m in messages:
                ids.append(next(self._relayed_ids))
                self.relayed[ids[-1]] = m
            return ids

        return self._call(log)

    def forget_relayed(self, ids):
        return self._call(lambda: len([i for i in set(ids) if self.relayed.pop(i, None) is not None]))

    def relayed_to_offline(self, ids=None):
        def move():
            chosen = sorted(self.relayed) if ids is None else sorted(set(ids) & set(self.relayed))
            made = 0
            for i in chosen:
                m = self.relayed.pop(i)
                if m.to_uin in self.users:
                    new = OfflineMessage(next(self._message_ids), m.to_uin, m.from_uin, m.sent_at, m.msg_type,
                                         bytes(m.body))
                    self.messages[new.id] = new
                    made += 1
            return made

        return self._call(move)

    def recent_messages(self, since):
        return self._call(lambda: [m for _, m in sorted(self.messages.items()) if m.sent_at >= since])


def _fold(text):
    return text.lower()


def _keywords_match(entries, criterion):
    """A (category, keywords) criterion against a column of (category, text) pairs."""
    texts = [text for category, text in entries if category == criterion.category]
    if not texts:
        return False
    words = [_fold(w) for w in criterion.words()]
    return not words or any(w in _fold(text) for text in texts for w in words)


def _matches(row, query, online):
    """Whether a users row meets every criterion of a L{SearchQuery} (see search_sql)."""
    checks = []
    if query.uin is not None:
        checks.append(row["uin"] == query.uin)
    prefixes = (("nick", ("nick",)), ("first_name", ("first_name",)), ("last_name", ("last_name",)),
                ("city", ("home_city",)), ("state", ("home_state", "work_state")),
                ("company", ("work_company",)), ("department", ("work_department",)),
                ("position", ("work_title",)))
    for attribute, columns in prefixes:
        value = getattr(query, attribute)
        if value:
            checks.append(any(_fold(row[c]).startswith(_fold(value)) for c in columns))
    if query.email:
        checks.append(_fold(row["email2"]) == _fold(query.email))
    if query.any_email:
        checks.append(_fold(query.any_email) in (_fold(row["email2"]), _fold(row["email3"])))
    if query.min_age and query.max_age:
        checks.append(query.min_age <= row["age"] <= query.max_age)
    if query.gender:
        checks.append(row["gender"] == query.gender)
    if query.occupation:
        checks.append(row["work_occupation"] == query.occupation)
    if query.language:
        checks.append(query.language in row["languages"])
    if query.country:
        checks.append(query.country in (row["home_country"], row["work_country"]))
    for column in ("interests", "past", "affiliations"):
        criterion = getattr(query, column)
        if criterion is not None and criterion.category:
            checks.append(_keywords_match(row[column], criterion))
    if query.homepage is not None and query.homepage.category:
        checks.append(row["homepage_category_enabled"] and _keywords_match(
            [(row["homepage_category"], row["homepage_description"])], query.homepage))
    if query.online_only:
        other = online.get(row["uin"])
        checks.append(other is not None and not other.status & STATUS_INVISIBLE_BIT)
    return bool(checks) and all(checks)


_FIELD_TESTS = {
    "contains": lambda column, value: value in column,
    "does not contain": lambda column, value: value not in column,
    "is": lambda column, value: column == value,
    "is not": lambda column, value: column != value,
    "begins with": lambda column, value: column.startswith(value),
    "ends with": lambda column, value: column.endswith(value),
}


def _result(row):
    return SearchResult(row["uin"], row["nick"], row["first_name"], row["last_name"], row["email2"],
                        row["auth_required"])


@implementer(IDirectory)
class MemoryDirectory:
    """L{IDirectory} on the tables of a L{MemoryStorage}."""

    def __init__(self, storage):
        self.storage = storage

    @property
    def _users(self):
        return self.storage.users

    def _call(self, fn, *args):
        return self.storage._call(fn, *args)

    @staticmethod
    def _check(values):
        unknown = set(values) - UPDATABLE
        if unknown:
            raise ValueError("not info columns: %s" % (", ".join(sorted(unknown)),))

    def get_info(self, uin):
        def get():
            row = self._users.get(uin)
            return None if row is None else UserInfo(uin, **{k: row[k] for k in _INFO_DEFAULTS})

        return self._call(get)

    def update_info(self, uin, values):
        self._check(values)

        def update():
            row = self._users.get(uin)
            if row is None:
                return False
            for name, value in values.items():
                if name in ("interests", "past", "affiliations"):
                    value = tuple((int(c), str(k)) for c, k in value)
                elif name == "languages":
                    value = tuple(int(v) for v in value)
                row[name] = value
            return True

        return self._call(update)

    def _cut(self, rows, limit):
        results = [_result(row) for row in rows]
        return results[:limit], len(results) > limit

    def search(self, query, limit):
        return self._call(lambda: self._cut(
            [row for _, row in sorted(self._users.items()) if _matches(row, query, self.storage.online)], limit))

    def search_field(self, field, mode, value, limit):
        known = FIELD_COLUMNS.get(field)
        if known is None:
            return defer.succeed(([], False))
        column, numeric = known
        if numeric:
            if not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
                return defer.succeed(([], False))
            test = lambda row: row[column] == value  # noqa: E731
        else:
            compare = _FIELD_TESTS.get(mode)
            if compare is None or not value:
                return defer.succeed(([], False))
            test = lambda row: compare(_fold(row[column]), _fold(value))  # noqa: E731
        return self._call(lambda: self._cut([row for _, row in sorted(self._users.items()) if test(row)], limit))

    def _create(self, password_hash, email, info=None, password=None):
        uin = self.storage._next_uin()
        sealed = None if password is None else self.storage.sealed(uin, password)
        self._users[uin] = _new_user(uin, password_hash, email=email, email2=email, must_change_password=True,
                                     password_sealed=sealed)
        self._users[uin].update(info or {})
        return uin

    def register(self, password, email="", info=None):
        self._check(info or {})
        return self._call(self._create, hash_password(password), email, info, password)

    def queue_registration(self, password, email, ip, info=None):
        info = dict(info or {})
        self._check(info)

        def queue():
            number = next(self.storage._request_ids)
            password_hash = None if password is None else hash_password(password)
            self.storage.requests[number] = (password_hash, email, ip, _now(), info)
            return number

        return self._call(queue)

    def registration_requests(self):
        return self._call(lambda: [
            RegistrationRequest(number, email, ip, when, password_hash is not None, info)
            for number, (password_hash, email, ip, when, info) in sorted(self.storage.requests.items())
        ])

    def reject_registration(self, request_id):
        return self._call(lambda: self.storage.requests.pop(request_id, None) is not None)

    def pending_registrations(self):
        return self._call(lambda: [(number, email, ip, when) for number, (_, email, ip, when, _)
                                   in sorted(self.storage.requests.items())])

    def approve_registration(self, request_id, password=None):
        given = None if password is None else hash_password(password)

        def approve():
            request = self.storage.requests.get(request_id)
            if request is None:
                return None
            password_hash, email, _, _, info = request
            plain = None
            if password_hash is None:
                if given is None:
                    raise ValueError("registration request %d needs a password" % (request_id,))
                password_hash, plain = given, password
            del self.storage.requests[request_id]
            return self._create(password_hash, email, dict(info) or None, plain)

        return self._call(approve)

    def unregister(self, uin, password):
        def delete():
            row = self._users.get(uin)
            if row is None or not verify_password(password, row["password_hash"]):
                return False
            self.storage._delete_user(uin)
            return True

        return self._call(delete)

    def withheld_contacts(self, owner, uins):
        return self._call(lambda: {
            u for u in set(uins)
            if u in self._users and self._users[u]["auth_required"] and (u, owner) not in self.storage.grants
        })

    def grant_authorization(self, owner, allowed):
        def grant():
            if owner not in self._users or allowed not in self._users:
                return False
            self.storage.grants.add((owner, allowed))
            return True

        return self._call(grant)


@implementer(IDepartmentStore)
class MemoryDepartments:
    """L{IDepartmentStore} on the tables of a L{MemoryStorage}."""

    def __init__(self, storage):
        self.storage = storage

    def departments(self, limit=MAX_DEPARTMENTS):
        return self.storage._call(lambda: sorted(self.storage.departments.items())[:limit])

    def may_broadcast(self, uin):
        return self.storage._call(lambda: bool(self.storage.users.get(uin, {}).get("can_broadcast")))

    def members(self, code):
        return self.storage._call(lambda: {
            u for u, row in self.storage.users.items() if row["work_department_code"] == str(code)})

    def store_broadcast(self, from_uin, sent_at, msg_type, body, code, skip):
        def store():
            targets = [u for u, row in sorted(self.storage.users.items())
                       if u not in skip and (code == 0 or row["work_department_code"] == str(code))]
            for uin in targets:
                number = next(self.storage._message_ids)
                self.storage.messages[number] = OfflineMessage(number, uin, from_uin, sent_at, msg_type,
                                                               bytes(body))
            return len(targets)

        return self.storage._call(store)


def memory_stores():
    """@return: C{(storage, directory, departments)} sharing one set of tables."""
    storage = MemoryStorage()
    return storage, MemoryDirectory(storage), MemoryDepartments(storage)
