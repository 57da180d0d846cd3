# -*- test-case-name: tests.test_directory -*-
"""
The user directory: full account details, searches, registration,
unregistration and authorization grants.

L{IDirectory} is what the protocol handlers see; L{PostgresDirectory}
implements it on the connection pool of a L{PostgresStorage}.  Text is Unicode
here; the handlers translate from and to the clients' code page.

Searches follow v5.md section 15.5 with two deliberate changes.  Text criteria
(names, city, state, company, department, position) match case-insensitively
at the start of the field, where IServerd matched anywhere inside it: a
substring match cannot use an index without the pg_trgm extension, which the
embedded PostgreSQL does not ship, and a prefix match is what a person typing
the beginning of a name expects.  E-mail criteria match the whole address
(case-insensitively): a partial match would let anyone list every address of
a domain.  The keywords of the interest, past, affiliation and homepage
criteria may appear anywhere in the entry's text, as in IServerd; the
category, which has an index, picks the rows first.  LIKE wildcards in what
clients send are matched literally.
"""

from dataclasses import dataclass, fields
from typing import Optional

from psycopg2.extras import Json
from twisted.internet import defer
from zope.interface import Interface, implementer

from iserverd.storage.passwords import hash_password, verify_password
from iserverd.storage.postgres import allocate_uin

# Keyword criteria: at most this many comma-separated keywords; shorter
# keywords are ignored (IServerd's rules).
MAX_KEYWORDS = 6
MIN_KEYWORD = 2

# The online-status bit that hides a user (v5.md section 12.1).
STATUS_INVISIBLE_BIT = 0x0100


@dataclass(frozen=True)
class UserInfo:
    """
    Everything the info replies show of an account.  Field names are the
    column names of the users table.

    @ivar interests: up to four C{(category, keywords)} pairs.
    @ivar past: up to three C{(category, keywords)} past backgrounds.
    @ivar affiliations: up to three C{(category, keywords)} pairs.
    @ivar languages: three language codes (0 = none).
    """

    uin: int
    nick: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    email2: str = ""
    email3: str = ""
    hide_email: bool = False
    timezone: int = 0
    auth_required: bool = False
    web_aware: bool = True
    hide_ip: bool = False
    gender: int = 0
    age: int = 0
    birth_day: int = 0
    birth_month: int = 0
    birth_year: int = 0
    languages: tuple = (0, 0, 0)
    home_address: str = ""
    home_city: str = ""
    home_state: str = ""
    home_country: int = 0
    home_phone: str = ""
    home_fax: str = ""
    home_cell: str = ""
    home_zip: str = ""
    homepage: str = ""
    work_address: str = ""
    work_city: str = ""
    work_state: str = ""
    work_country: int = 0
    work_company: str = ""
    work_title: str = ""
    work_occupation: int = 0
    work_department: str = ""
    work_phone: str = ""
    work_fax: str = ""
    work_zip: str = ""
    work_homepage: str = ""
    notes: str = ""
    homepage_category_enabled: bool = False
    homepage_category: int = 0
    homepage_description: str = ""
    interests: tuple = ()
    past: tuple = ()
    affiliations: tuple = ()
    work_pager: str = ""
    work_department_code: str = ""


_INFO_COLUMNS = tuple(f.name for f in fields(UserInfo))
_PAIR_COLUMNS = ("interests", "past", "affiliations")
# The columns update_info may write: every info column but the key.
UPDATABLE = frozenset(_INFO_COLUMNS) - {"uin"}


def _pairs(value):
    return tuple((int(c), str(k)) for c, k in value)


def _user_info(row):
    values = dict(zip(_INFO_COLUMNS, row))
    for name in _PAIR_COLUMNS:
        values[name] = _pairs(values[name])
    values["languages"] = tuple(values["languages"])
    return UserInfo(**values)


@dataclass(frozen=True)
class Keywords:
    """
    A category criterion of the white pages: the category code and up to six
    comma-separated keywords, any of which may appear in the entry's text.
    """

    category: int
    keywords: str = ""

    def words(self):
        parts = [w.strip() for w in self.keywords.split(",")]
        return [w for w in parts if len(w) >= MIN_KEYWORD][:MAX_KEYWORDS]


@dataclass(frozen=True)
class SearchQuery:
    """
    Search criteria; empty or zero criteria are ignored, all others must hold.

    @ivar email: the public e-mail (e-mail 2), whole address.
    @ivar any_email: e-mail 2 or e-mail 3, whole address (white pages).
    @ivar min_age: with C{max_age}, an age range; used only when both are set.
    @ivar state: the home or the work state.
    @ivar country: the home or the work country.
    @ivar online_only: only users online and not invisible.
    """

    uin: Optional[int] = None
    nick: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    any_email: str = ""
    min_age: int = 0
    max_age: int = 0
    gender: int = 0
    language: int = 0
    city: str = ""
    state: str = ""
    country: int = 0
    company: str = ""
    department: str = ""
    position: str = ""
    occupation: int = 0
    past: Optional[Keywords] = None
    interests: Optional[Keywords] = None
    affiliations: Optional[Keywords] = None
    homepage: Optional[Keywords] = None
    online_only: bool = False


@dataclass(frozen=True)
class SearchResult:
    """One found user, as search replies show it (e-mail is e-mail 2)."""

    uin: int
    nick: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    auth_required: bool = False


def _escape_like(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def prefix(text):
    """A LIKE pattern matching values that start with C{text}, wildcards literal."""
    return _escape_like(text) + "%"


def _contains(text):
    return "%" + _escape_like(text) + "%"


# Text criteria: query attribute -> the users columns any of which may match.
# Every column here has an index on lower(column) text_pattern_ops, and every
# other criterion below an index of its own (schema v3), so that no search
# reads the whole table.
_PREFIX_CRITERIA = (
    ("nick", ("nick",)),
    ("first_name", ("first_name",)),
    ("last_name", ("last_name",)),
    ("city", ("home_city",)),
    ("state", ("home_state", "work_state")),
    ("company", ("work_company",)),
    ("department", ("work_department",)),
    ("position", ("work_title",)),
)


# Keyword patterns, folded in SQL like the column they are compared with.
_LOWER_ANY = "SELECT lower(w) FROM unnest(%s::text[]) w"


def search_sql(query, limit):
    """
    The SQL of a search: its text and parameters, or L{None} when the query
    has no usable criterion (IServerd answered that with a fake record; we
    answer "none found").

    @param limit: the rows to fetch (callers ask for one more than they send,
        to know whether results were cut).
    """
    where, params = [], []
    if query.uin is not None:
        where.append("uin = %s")
        params.append(query.uin)
    for attribute, columns in _PREFIX_CRITERIA:
        value = getattr(query, attribute)
        if value:
            # lower() on the parameter too, so both sides fold case alike.
            alternatives = ["lower(%s) LIKE lower(%%s)" % (c,) for c in columns]
            where.append("(" + " OR ".join(alternatives) + ")")
            params += [prefix(value)] * len(columns)
    if query.email:
        where.append("lower(email2) = lower(%s)")
        params.append(query.email)
    if query.any_email:
        where.append("(lower(email2) = lower(%s) OR lower(email3) = lower(%s))")
        params += [query.any_email] * 2
    if query.min_age and query.max_age:
        where.append("age BETWEEN %s AND %s")
        params += [query.min_age, query.max_age]
    for attribute, column in (("gender", "gender"), ("occupation", "work_occupation")):
        value = getattr(query, attribute)
        if value:
            where.append(column + " = %s")
            params.append(value)
    if query.language:
        where.append("languages @> ARRAY[%s::smallint]")
        params.append(query.language)
    if query.country:
        where.append("(home_country = %s OR work_country = %s)")
        params += [query.country] * 2
    for column in _PAIR_COLUMNS:
        criterion = getattr(query, column)
        if criterion is not None and criterion.category:
            # The containment test can use the GIN index; the EXISTS applies
            # the keywords to the entry of that category.
            where.append(column + " @> %s")
            params.append(Json([[criterion.category]]))
            words = criterion.words()
            if words:
                where.append(
                    "EXISTS (SELECT 1 FROM jsonb_array_elements(%s) e"
                    " WHERE e->>0 = %%s AND lower(e->>1) LIKE ANY (%s))" % (column, _LOWER_ANY)
                )
                params += [str(criterion.category), [_contains(w) for w in words]]
    if query.homepage is not None and query.homepage.category:
        where.append("homepage_category_enabled AND homepage_category = %s")
        params.append(query.homepage.category)
        words = query.homepage.words()
        if words:
            where.append("lower(homepage_description) LIKE ANY (" + _LOWER_ANY + ")")
            params.append([_contains(w) for w in words])
    if query.online_only:
        where.append(
            "EXISTS (SELECT 1 FROM online_users o WHERE o.uin = users.uin"
            " AND o.status & %s = 0)"
        )
        params.append(STATUS_INVISIBLE_BIT)
    if not where:
        return None
    text = (
        "SELECT uin, nick, first_name, last_name, email2, auth_required FROM users WHERE "
        + " AND ".join(where)
        + " LIMIT %s"
    )
    return text, params + [limit]


#: v3 search fields (v3.md section 14): the users column, and whether it is
#: compared as a number (equality only) rather than as text.
FIELD_COLUMNS = {
    "uin": ("uin", True),
    "nick": ("nick", False),
    "first": ("first_name", False),
    "last": ("last_name", False),
    "email": ("email2", False),
    "age": ("age", True),
    "work_city": ("work_city", False),
    "work_state": ("work_state", False),
    "work_country": ("work_country", True),
    "company": ("work_company", False),
    "title": ("work_title", False),
    "department": ("work_department_code", False),
    "home_city": ("home_city", False),
    "home_state": ("home_state", False),
    "home_country": ("home_country", True),
}

# Comparison modes of a one-field search: the condition on lower(column)
# and how the value becomes the parameter (wildcards in it match literally).
_FIELD_MODES = {
    "contains": ("LIKE", _contains),
    "does not contain": ("NOT LIKE", _contains),
    "is": ("=", lambda text: text),
    "is not": ("<>", lambda text: text),
    "begins with": ("LIKE", prefix),
    "ends with": ("LIKE", lambda text: "%" + _escape_like(text)),
}


def field_search_sql(field, mode, value, limit):
    """
    The SQL of a v3 search: one field, one comparison, one value.  Text
    fields are compared case-insensitively with the mode's true meaning
    (IServerd inverted "begins with" and "ends with" and let LIKE wildcards
    through); numeric fields (C{value} an int) only by equality.

    @param field: a key of L{FIELD_COLUMNS}.
    @param mode: a key of C{_FIELD_MODES} ("contains", "is", ...).
    @return: C{(text, params)}, or L{None} for an unknown field or mode, an
        empty text or a number that does not fit.
    """
    known = FIELD_COLUMNS.get(field)
    if known is None:
        return None
    column, numeric = known
    head = "SELECT uin, nick, first_name, last_name, email2, auth_required FROM users WHERE "
    if numeric:
        if not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
            return None
        # Column names come from FIELD_COLUMNS, never from a client.
        return head + column + " = %s LIMIT %s", [value, limit]
    operator = _FIELD_MODES.get(mode)
    if operator is None or not value:
        return None
    comparison, parameter = operator
    return (head + "lower(%s) %s lower(%%s) LIMIT %%s" % (column, comparison),
            [parameter(value), limit])


@dataclass(frozen=True)
class RegistrationRequest:
    """
    A registration waiting for the administrator.

    @ivar has_password: whether the requester chose a password (v5); a v3
        form has none, and the approval must set one.
    @ivar info: the form's account details, users column -> value.
    """

    id: int
    email: str
    ip: Optional[str]
    requested_at: object
    has_password: bool
    info: dict


def _info_params(values):
    """Column names and parameters for writing info columns (names checked against UPDATABLE)."""
    unknown = set(values) - UPDATABLE
    if unknown:
        raise ValueError("not info columns: %s" % (", ".join(sorted(unknown)),))
    names = sorted(values)
    params = []
    for name in names:
        value = values[name]
        if name in _PAIR_COLUMNS:
            value = Json([[int(c), str(k)] for c, k in value])
        elif name == "languages":
            value = [int(v) for v in value]
        params.append(value)
    return names, params


@defer.inlineCallbacks
def _write_info(cursor, uin, values):
    if not values:
        return
    names, params = _info_params(values)
    assignments = ", ".join("%s = %%s" % (name,) for name in names)
    yield cursor.execute("UPDATE users SET " + assignments + " WHERE uin = %s", params + [uin])


class IDirectory(Interface):
    """
    Account details, search and account life cycle.  Every method returns a
    Deferred; a lost database fails it with
    L{iserverd.storage.interfaces.DatabaseUnavailable}.
    """

    def get_info(uin):
        """@return: Deferred firing with the L{UserInfo}, or L{None} for an unknown UIN."""

    def update_info(uin, values):
        """
        Change some info columns of one account (names from L{UPDATABLE}).

        @return: Deferred firing with whether the account exists.
        """

    def search(query, limit):
        """
        @return: Deferred firing with C{(results, more)}: at most C{limit}
            L{SearchResult}s, in no particular order, and whether more
            matched (which of many matches come back is not defined).
        """

    def register(password, email="", info=None):
        """
        Create an account with the next free UIN (automatic registration):
        e-mail 1 and 2 set to C{email}, "must change password" set, and the
        info columns of C{info} (a v3 registration form) written with it.

        @return: Deferred firing with the new UIN.
        """

    def queue_registration(password, email, ip, info=None):
        """
        Keep a registration for the administrator (registration without
        automatic approval); only the password's hash is stored.  A v3 form
        has no password (C{None}) and brings its account details in C{info}.

        @return: Deferred firing with the request's id.
        """

    def pending_registrations():
        """@return: Deferred firing with C{(id, email, ip, requested_at)} tuples, oldest first."""

    def approve_registration(request_id, password=None):
        """
        Turn a queued registration into an account, as L{register} would.
        A request without a password (v3) gets C{password}, which must then
        be given.

        @return: Deferred firing with the new UIN, or L{None} for an unknown id.
        """

    def unregister(uin, password):
        """
        Delete the account C{uin} (with its messages, lists and grants) if
        C{password} is its password, compared exactly.

        @return: Deferred firing with whether it was deleted.
        """

    def search_field(field, mode, value, limit):
        """
        A v3 search on one field (see L{field_search_sql}).

        @return: Deferred firing with C{(results, more)} as L{search}.
        """

    def registration_requests():
        """@return: Deferred firing with the L{RegistrationRequest}s, oldest first."""

    def reject_registration(request_id):
        """
        Forget a queued registration.

        @return: Deferred firing with whether it existed.
        """

    def withheld_contacts(owner, uins):
        """
        @return: Deferred firing with the set of C{uins} that require
            authorization and have not authorized C{owner}.
        """

    def grant_authorization(owner, allowed):
        """
        Record that C{owner} lets C{allowed} add it to a contact list.

        @return: Deferred firing with whether both accounts exist.
        """


@implementer(IDirectory)
class PostgresDirectory:
    """
    L{IDirectory} on the connection pool of a L{PostgresStorage}.
    """

    def __init__(self, storage):
        self.storage = storage
        self._query = storage.run_query
        self._interaction = storage.run_interaction

    def get_info(self, uin):
        d = self._query("SELECT " + ", ".join(_INFO_COLUMNS) + " FROM users WHERE uin = %s", (uin,))
        return d.addCallback(lambda rows: _user_info(rows[0]) if rows else None)

    def update_info(self, uin, values):
        if not values:
            return self._query("SELECT uin FROM users WHERE uin = %s", (uin,)).addCallback(bool)
        names, params = _info_params(values)
        # Column names come from UPDATABLE, never from a client.
        assignments = ", ".join("%s = %%s" % (name,) for name in names)
        d = self._query("UPDATE users SET " + assignments + " WHERE uin = %s RETURNING uin",
                        params + [uin])
        return d.addCallback(bool)

    def search(self, query, limit):
        built = search_sql(query, limit + 1)
        if built is None:
            return defer.succeed(([], False))
        d = self._query(*built)

        def cut(rows):
            results = [SearchResult(*row) for row in rows[:limit]]
            return results, len(rows) > limit

        return d.addCallback(cut)

    def search_field(self, field, mode, value, limit):
        built = field_search_sql(field, mode, value, limit + 1)
        if built is None:
            return defer.succeed(([], False))
        d = self._query(*built)

        def cut(rows):
            results = [SearchResult(*row) for row in rows[:limit]]
            return results, len(rows) > limit

        return d.addCallback(cut)

    @defer.inlineCallbacks
    def _create(self, cursor, password_hash, email, info=None, password=None):
        uin = yield allocate_uin(cursor)
        sealed = None if password is None else self.storage.sealed(uin, password)
        yield cursor.execute(
            "INSERT INTO users (uin, password_hash, password_sealed, email, email2, must_change_password)"
            " VALUES (%s, %s, %s, %s, %s, true)",
            (uin, password_hash, sealed, email, email),
        )
        yield _write_info(cursor, uin, info or {})
        return uin

    def register(self, password, email="", info=None):
        if info:
            _info_params(info)  # unknown columns fail here, not in the transaction
        return self._interaction(self._create, hash_password(password), email, info, password)

    def queue_registration(self, password, email, ip, info=None):
        info = dict(info or {})
        _info_params(info)
        d = self._query(
            "INSERT INTO register_requests (password_hash, email, ip, info) VALUES (%s, %s, %s, %s)"
            " RETURNING id",
            (None if password is None else hash_password(password), email, ip, Json(info)),
        )
        return d.addCallback(lambda rows: rows[0][0])

    def registration_requests(self):
        d = self._query(
            "SELECT id, email, host(ip), requested_at, password_hash IS NOT NULL, info"
            " FROM register_requests ORDER BY id"
        )
        return d.addCallback(lambda rows: [RegistrationRequest(*row) for row in rows])

    def reject_registration(self, request_id):
        d = self._query("DELETE FROM register_requests WHERE id = %s RETURNING id", (request_id,))
        return d.addCallback(bool)

    def pending_registrations(self):
        d = self._query(
            "SELECT id, email, host(ip), requested_at FROM register_requests ORDER BY id"
        )
        return d.addCallback(lambda rows: [tuple(r) for r in rows])

    def approve_registration(self, request_id, password=None):
        given = None if password is None else hash_password(password)

        @defer.inlineCallbacks
        def approve(cursor):
            yield cursor.execute(
                "DELETE FROM register_requests WHERE id = %s RETURNING password_hash, email, info",
                (request_id,),
            )
            row = cursor.fetchone()
            if row is None:
                return None
            password_hash, email, info = row
            plain = None
            if password_hash is None:
                if given is None:
                    raise ValueError("registration request %d needs a password" % (request_id,))
                password_hash, plain = given, password
            uin = yield self._create(cursor, password_hash, email, dict(info) or None, plain)
            return uin

        return self._interaction(approve)

    def unregister(self, uin, password):
        @defer.inlineCallbacks
        def delete(cursor):
            yield cursor.execute("SELECT password_hash FROM users WHERE uin = %s FOR UPDATE", (uin,))
            row = cursor.fetchone()
            if row is None or not verify_password(password, row[0]):
                return False
            yield cursor.execute("DELETE FROM users WHERE uin = %s", (uin,))
            return True

        return self._interaction(delete)

    def withheld_contacts(self, owner, uins):
        uins = sorted(set(uins))
        if not uins:
            return defer.succeed(set())
        d = self._query(
            "SELECT uin FROM users WHERE uin = ANY (%s::bigint[]) AND auth_required"
            " AND NOT EXISTS (SELECT 1 FROM authorizations a"
            " WHERE a.owner_uin = users.uin AND a.allowed_uin = %s)",
            (uins, owner),
        )
        return d.addCallback(lambda rows: {r[0] for r in rows})

    def grant_authorization(self, owner, allowed):
        d = self._query(
            "INSERT INTO authorizations (owner_uin, allowed_uin)"
            " SELECT o.uin, a.uin FROM users o, users a WHERE o.uin = %s AND a.uin = %s"
            " ON CONFLICT DO NOTHING RETURNING owner_uin",
            (owner, allowed),
        )

        def existed(rows):
            if rows:
                return True
            # Already granted, or one of the accounts is missing.
            check = self._query(
                "SELECT count(*) FROM users WHERE uin IN (%s, %s)", (owner, allowed)
            )
            return check.addCallback(lambda r: r[0][0] == len({owner, allowed}))

        return d.addCallback(existed)
