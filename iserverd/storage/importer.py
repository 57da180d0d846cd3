# -*- test-case-name: tests.test_import -*-
"""
Importing an IServerd database (C{iserverd-admin import-iserverd}).

IServerd kept its accounts in C{Users_Info_Ext} (84 columns, numbers as
C{float8}, the password in clear), offline messages in C{Users_Messages}, lock
texts in C{Users_Lock} and v3 departments in C{Users_Deps}.  This module copies
them into iserverd's schema:

  - accounts are upserted by UIN, their passwords hashed on the way
    (L{iserverd.storage.passwords.hash_password}), so logins keep working with
    the old passwords, and sealed when a sealer is given
    (L{iserverd.storage.sealing}), so OSCAR MD5 logins work at once too;
  - lock texts go into C{users.lock_text};
  - departments are upserted by code;
  - offline messages are copied once: each gets a key (its recipient, sender,
    date, type, text and its rank among identical rows) recorded in
    C{imported_iserverd_messages}, so a second run adds only messages that
    are new since the first, and none that was delivered in between;
  - C{msg_date} held "UTC calendar time read as local time" (Unix time plus
    the old server's offset west of UTC); the offset is given as the old
    server's UTC offset (C{+03:00}) and removed, so C{sent_at} is real UTC.

C{Online_Contacts} is not copied: IServerd kept contact lists only while their
owner was online and emptied the table at every start.

Text columns are read as bytes and decoded with the source database's encoding
(or, for IServerd's usual C{SQL_ASCII} databases, the clients' code page);
message bodies are stored in the clients' code page, as the server relays them.

The import is one transaction on the target: it either completes or changes
nothing.  It blocks; C{iserverd-admin} runs it in a thread.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from iserverd.storage.passwords import hash_password

MAX_UIN = 0xFFFFFFFF
BATCH = 500

# The Users_Info_Ext columns the import reads, in this order.
_SOURCE_COLUMNS = (
    "uin", "pass", "ulock", "llog", "iadr", "bcst", "cdate", "cpass",
    "nick", "frst", "last", "email1", "email2", "email3", "e1publ", "gmtoffs", "auth",
    "sex", "age", "bday", "bmon", "byear",
    "waddr", "wcity", "wstate", "wcountry", "wcompany", "wtitle", "wocup", "wdepart",
    "wphon", "wfax", "wpager", "wzip", "wweb", "notes",
    "haddr", "hcity", "hstate", "hcountry", "hphon", "hfax", "hcell", "hzip", "hweb",
    "lang1", "lang2", "lang3", "hpage_cf", "hpage_cat", "hpage_txt", "wdepart2",
    "past_num", "past_ind1", "past_key1", "past_ind2", "past_key2", "past_ind3", "past_key3",
    "int_num", "int_ind1", "int_key1", "int_ind2", "int_key2", "int_ind3", "int_key3", "int_ind4", "int_key4",
    "aff_num", "aff_ind1", "aff_key1", "aff_ind2", "aff_key2", "aff_ind3", "aff_key3",
    "iphide", "webaware", "martial", "wzip2", "hzip2",
)

# The users columns the import writes, in the order of L{_user_row}.
_TARGET_COLUMNS = (
    "uin", "password_hash", "password_sealed", "locked", "can_broadcast", "must_change_password",
    "last_login_at", "last_login_ip", "created_at",
    "nick", "first_name", "last_name", "email", "email2", "email3", "hide_email", "timezone",
    "auth_required", "gender", "age", "birth_day", "birth_month", "birth_year",
    "work_address", "work_city", "work_state", "work_country", "work_company", "work_title",
    "work_occupation", "work_department_code", "work_phone", "work_fax", "work_pager", "work_zip",
    "work_homepage", "notes",
    "home_address", "home_city", "home_state", "home_country", "home_phone", "home_fax", "home_cell",
    "home_zip", "homepage",
    "languages", "homepage_category_enabled", "homepage_category", "homepage_description",
    "work_department", "past", "interests", "affiliations", "hide_ip", "web_aware", "marital",
)

_UPSERT_USERS = (
    "INSERT INTO users (" + ", ".join(_TARGET_COLUMNS) + ") VALUES %s"
    " ON CONFLICT (uin) DO UPDATE SET "
    + ", ".join("%s = EXCLUDED.%s" % (c, c) for c in _TARGET_COLUMNS[1:])
)
# created_at falls back to now() for accounts IServerd gave no creation time;
# languages and the jsonb lists need their casts.
_USERS_TEMPLATE = "(" + ", ".join(
    {"created_at": "coalesce(%s, now())", "languages": "%s::smallint[]",
     "past": "%s::jsonb", "interests": "%s::jsonb", "affiliations": "%s::jsonb"}.get(c, "%s")
    for c in _TARGET_COLUMNS
) + ")"

_KEYS_TABLE = (
    "CREATE TABLE IF NOT EXISTS imported_iserverd_messages ("
    " key text PRIMARY KEY,"
    " imported_at timestamptz NOT NULL DEFAULT now())"
)


class SourceError(Exception):
    """The source is not an IServerd database, or cannot be read; one line."""


@dataclass
class ImportReport:
    """What an import did."""

    users: int = 0
    skipped_users: int = 0
    locks: int = 0
    departments: int = 0
    messages: int = 0
    already_imported: int = 0
    orphan_messages: int = 0

    def lines(self):
        return [
            "accounts imported: %d" % self.users,
            "accounts skipped (UIN out of range): %d" % self.skipped_users,
            "lock texts: %d" % self.locks,
            "departments: %d" % self.departments,
            "offline messages imported: %d" % self.messages,
            "offline messages already imported before: %d" % self.already_imported,
            "offline messages to unknown accounts (skipped): %d" % self.orphan_messages,
        ]


def parse_utc_offset(text):
    """
    The old server's UTC offset as C{+03:00}, C{-5}, C{+0530} or C{0}.

    @return: seconds east of UTC.
    @raise ValueError: not an offset.
    """
    match = re.fullmatch(r"\s*([+-]?)(\d{1,2})(?::?(\d{2}))?\s*", text)
    if match is None:
        raise ValueError("expected a UTC offset such as +03:00 or -5, got %r" % (text,))
    sign, hours, minutes = match.groups()
    seconds = int(hours) * 3600 + int(minutes or 0) * 60
    if seconds > 14 * 3600 or int(minutes or 0) >= 60:
        raise ValueError("a UTC offset is at most 14 hours, got %r" % (text,))
    return -seconds if sign == "-" else seconds


def ipv4_from_number(number):
    """IServerd's IP number (first octet least significant); 0 = none."""
    value = int(number or 0)
    if value <= 0 or value > 0xFFFFFFFF:
        return None
    return ".".join(str((value >> shift) & 0xFF) for shift in (0, 8, 16, 24))


def _time(seconds):
    if not seconds or seconds <= 0:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc)


def _uin(number):
    try:
        value = int(number)
    except (TypeError, ValueError, OverflowError):
        return None
    if value != number:
        return None
    return value if 1 <= value <= MAX_UIN else None


class _Text:
    """Decodes source text bytes and encodes message bodies for the clients."""

    def __init__(self, source_charset, client_charset):
        self.source = source_charset
        self.client = client_charset

    def __call__(self, raw):
        if raw is None:
            return ""
        return bytes(raw).decode(self.source, "replace").replace("\x00", "")

    def client_bytes(self, raw):
        return self(raw).encode(self.client, "replace")


def _pairs(row, prefix, most):
    number = max(0, min(int(row[prefix + "_num"] or 0), most))
    return [
        [int(row["%s_ind%d" % (prefix, i)] or 0), row["%s_key%d" % (prefix, i)] or ""]
        for i in range(1, number + 1)
    ]


def _small(value):
    value = int(value or 0)
    return max(-32768, min(32767, value))


def _user_row(source, text, sealer=None):
    """One users row from one Users_Info_Ext row (a dict of raw values)."""
    uin = _uin(source["uin"])
    password = text(source["pass"]).encode(text.client, "replace")
    row = dict(source)
    for name, value in source.items():
        if isinstance(value, (bytes, memoryview)):
            row[name] = text(value)
    flag = lambda name: bool(row[name]) and int(row[name]) == 1  # noqa: E731
    web_aware = row["webaware"]
    return (
        uin,
        hash_password(password),
        None if sealer is None else sealer.seal(uin, password),
        flag("ulock"), flag("bcst"), flag("cpass"),
        _time(row["llog"]), ipv4_from_number(row["iadr"]), _time(row["cdate"]),
        row["nick"] or "", row["frst"] or "", row["last"] or "",
        row["email1"] or "", row["email2"] or "", row["email3"] or "",
        flag("e1publ"), _small(row["gmtoffs"]), flag("auth"),
        _small(row["sex"]), _small(row["age"]), _small(row["bday"]), _small(row["bmon"]), _small(row["byear"]),
        row["waddr"] or "", row["wcity"] or "", row["wstate"] or "", int(row["wcountry"] or 0),
        row["wcompany"] or "", row["wtitle"] or "", _small(row["wocup"]), row["wdepart"] or "",
        row["wphon"] or "", row["wfax"] or "", row["wpager"] or "", row["wzip"] or row["wzip2"] or "",
        row["wweb"] or "", row["notes"] or "",
        row["haddr"] or "", row["hcity"] or "", row["hstate"] or "", int(row["hcountry"] or 0),
        row["hphon"] or "", row["hfax"] or "", row["hcell"] or "", row["hzip"] or row["hzip2"] or "",
        row["hweb"] or "",
        [_small(row["lang1"]), _small(row["lang2"]), _small(row["lang3"])],
        flag("hpage_cf"), int(row["hpage_cat"] or 0), row["hpage_txt"] or "",
        row["wdepart2"] or "",
        json.dumps(_pairs(row, "past", 3)),
        json.dumps(_pairs(row, "int", 4)),
        json.dumps(_pairs(row, "aff", 3)),
        flag("iphide"), True if web_aware is None else int(web_aware) == 1, _small(row["martial"]),
    )


def message_key(to_uin, from_uin, msg_date, msg_type, body, rank):
    """The key that recognises one Users_Messages row in a later run."""
    digest = hashlib.sha256()
    digest.update(("%d|%d|%r|%d|%d|" % (to_uin, from_uin, float(msg_date), msg_type, rank)).encode("ascii"))
    digest.update(bytes(body or b""))
    return digest.hexdigest()


def _source_charset(conn, client_charset):
    with conn.cursor() as cur:
        cur.execute("SHOW server_encoding")
        (encoding,) = cur.fetchone()
    if encoding.upper() == "SQL_ASCII":
        # IServerd's usual setup: bytes in whatever code page the clients used.
        return client_charset
    name = encoding.upper()
    known = psycopg2.extensions.encodings
    return known.get(name) or known.get(name.replace("_", "").replace("-", ""), "utf-8")


def _exists(cur, table):
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
    return cur.fetchone()[0]


class Importer:
    """
    Copies one IServerd database into iserverd's schema.

    @ivar utc_offset: the old server's offset east of UTC, in seconds.
    """

    def __init__(self, source_dsn, target_dsn, utc_offset=0, client_charset="latin-1",
                 source_charset=None, batch=BATCH, sealer=None):
        """
        @param sealer: a L{iserverd.storage.sealing.PasswordSealer} to keep
            sealed password copies, or L{None} (accounts then gain theirs at
            their next login).
        """
        self.sealer = sealer
        self.source_dsn = source_dsn
        self.target_dsn = target_dsn
        self.utc_offset = utc_offset
        self.client_charset = client_charset
        self.source_charset = source_charset
        self.batch = batch

    def run(self):
        """
        @return: an L{ImportReport}.
        @raise SourceError: the source lacks IServerd's tables.
        @raise psycopg2.Error: a database failed (nothing was changed).
        """
        source = psycopg2.connect(self.source_dsn)
        try:
            source.set_session(readonly=True)
            charset = self.source_charset or _source_charset(source, self.client_charset)
            psycopg2.extensions.register_type(psycopg2.extensions.BYTES, source)
            text = _Text(charset, self.client_charset)
            target = psycopg2.connect(self.target_dsn)
            try:
                with target:
                    with target.cursor() as out:
                        report = self._copy(source, out, text)
                return report
            finally:
                target.close()
        finally:
            source.close()

    def _copy(self, source, out, text):
        report = ImportReport()
        with source.cursor() as cur:
            if not _exists(cur, "users_info_ext"):
                raise SourceError("the source database has no Users_Info_Ext table (not an IServerd database?)")
            has_messages = _exists(cur, "users_messages")
            has_locks = _exists(cur, "users_lock")
            has_deps = _exists(cur, "users_deps")
        self._users(source, out, text, report)
        if has_locks:
            self._locks(source, out, text, report)
        if has_deps:
            self._departments(source, out, text, report)
        if has_messages:
            self._messages(source, out, text, report)
        return report

    def _read(self, source, name, sql):
        """Rows of a query, in batches, through a server-side cursor."""
        with source.cursor(name=name, cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.itersize = self.batch
            cur.execute(sql)
            while True:
                rows = cur.fetchmany(self.batch)
                if not rows:
                    return
                yield rows

    def _users(self, source, out, text, report):
        sql = "SELECT " + ", ".join(_SOURCE_COLUMNS) + " FROM users_info_ext ORDER BY uin"
        for rows in self._read(source, "iserverd_users", sql):
            batch = {}
            for row in rows:
                if _uin(row["uin"]) is None:
                    report.skipped_users += 1
                    continue
                values = _user_row(row, text, self.sealer)
                batch[values[0]] = values  # a duplicated UIN: the last row wins
            if batch:
                psycopg2.extras.execute_values(
                    out, _UPSERT_USERS, list(batch.values()), template=_USERS_TEMPLATE, page_size=self.batch
                )
                report.users += len(batch)

    def _locks(self, source, out, text, report):
        for rows in self._read(source, "iserverd_locks", "SELECT luin, lck_text FROM users_lock"):
            for row in rows:
                uin = _uin(row["luin"])
                if uin is None:
                    continue
                out.execute("UPDATE users SET lock_text = %s WHERE uin = %s RETURNING uin", (text(row["lck_text"]), uin))
                report.locks += len(out.fetchall())

    def _departments(self, source, out, text, report):
        sql = "SELECT depcode, depmin, depname FROM users_deps"
        for rows in self._read(source, "iserverd_deps", sql):
            for row in rows:
                if row["depcode"] is None:
                    continue
                out.execute(
                    "INSERT INTO departments (code, min_uin, name) VALUES (%s, %s, %s)"
                    " ON CONFLICT (code) DO UPDATE SET min_uin = EXCLUDED.min_uin, name = EXCLUDED.name",
                    (int(row["depcode"]), int(row["depmin"] or 0), text(row["depname"])),
                )
                report.departments += 1

    def _messages(self, source, out, text, report):
        out.execute(_KEYS_TABLE)
        out.execute("SELECT uin FROM users")
        accounts = {r[0] for r in out.fetchall()}
        sql = (
            "SELECT to_uin, from_uin, msg_date, msg_type, msgtext, row_number() OVER"
            " (PARTITION BY to_uin, from_uin, msg_date, msg_type, msgtext ORDER BY ctid) AS rank"
            " FROM users_messages ORDER BY to_uin, msg_date"
        )
        for rows in self._read(source, "iserverd_messages", sql):
            candidates = {}
            for row in rows:
                to_uin, from_uin = _uin(row["to_uin"]), _uin(row["from_uin"])
                if to_uin is None or to_uin not in accounts:
                    report.orphan_messages += 1
                    continue
                msg_date = float(row["msg_date"] or 0)
                msg_type = int(row["msg_type"] or 0)
                key = message_key(to_uin, from_uin or 0, msg_date, msg_type, row["msgtext"], row["rank"])
                candidates[key] = (
                    to_uin, from_uin or 0,
                    datetime.fromtimestamp(msg_date + self.utc_offset, timezone.utc),
                    msg_type, psycopg2.Binary(text.client_bytes(row["msgtext"])),
                )
            if not candidates:
                continue
            out.execute(
                "INSERT INTO imported_iserverd_messages (key) SELECT unnest(%s::text[])"
                " ON CONFLICT DO NOTHING RETURNING key",
                (list(candidates),),
            )
            new = [candidates[r[0]] for r in out.fetchall()]
            report.already_imported += len(candidates) - len(new)
            if new:
                psycopg2.extras.execute_values(
                    out,
                    "INSERT INTO offline_messages (to_uin, from_uin, sent_at, msg_type, body) VALUES %s",
                    new, page_size=self.batch,
                )
                report.messages += len(new)
