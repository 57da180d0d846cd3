"""
Tests for L{iserverd.storage.importer} and C{iserverd-admin import-iserverd}:
a source database with IServerd's own table layout (server-model.md section
2: numbers as float8, passwords in clear, an SQL_ASCII database holding
Windows-1251 bytes), imported into a fresh iserverd database, and then the
imported users logging in over real UDP with their old passwords.
"""

import io
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone

import psycopg2
from psycopg2 import sql
from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from iserverd import config
from iserverd.admin import cli
from iserverd.codec import v5
from iserverd.services.server import ServerService
from iserverd.storage import importer
from iserverd.storage.passwords import verify_password
from iserverd.storage.sealing import PasswordSealer
from iserverd.testing.v5client import connect
from tests import support

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# IServerd's tables (database/init_db.h as described in server-model.md section 2).
ISERVERD_DDL = """
CREATE TABLE Users_Info_Ext (
    uin float8, pass text, ulock int2, llog float8, iadr float8, bcst int2, cdate float8, cpass int2,
    nick text, frst text, last text, email1 text, email2 text, email3 text, e1publ int2, gmtoffs int2,
    auth int2, sex int2, age int2, bday int2, bmon int2, byear int2,
    waddr text, wcity text, wstate text, wcountry int4, wcompany text, wtitle text, wocup int2,
    wdepart text, wphon text, wfax text, wpager text, wzip text, wweb text, notes text,
    haddr text, hcity text, hstate text, hcountry int4, hphon text, hfax text, hcell text, hzip text,
    hweb text, nnotes float8, lang1 int2, lang2 int2, lang3 int2,
    hpage_cf int2, hpage_cat int4, hpage_txt text, wdepart2 text,
    past_num int2, past_ind1 int4, past_key1 text, past_ind2 int4, past_key2 text,
    past_ind3 int4, past_key3 text,
    int_num int2, int_ind1 int4, int_key1 text, int_ind2 int4, int_key2 text,
    int_ind3 int4, int_key3 text, int_ind4 int4, int_key4 text,
    aff_num int2, aff_ind1 int4, aff_key1 text, aff_ind2 int4, aff_key2 text,
    aff_ind3 int4, aff_key3 text,
    iphide int2 DEFAULT 0, webaware int2 DEFAULT 1, martial int2 DEFAULT 0,
    wzip2 text, hzip2 text, bcountry int4, bstate text, bcity text
);
CREATE UNIQUE INDEX uinind ON Users_Info_Ext (uin);
CREATE INDEX lastind ON Users_Info_Ext (last);
CREATE INDEX frstind ON Users_Info_Ext (frst);
CREATE INDEX nickind ON Users_Info_Ext (nick);
CREATE INDEX iadrind ON Users_Info_Ext (iadr);
CREATE INDEX llogind ON Users_Info_Ext (llog);
CREATE TABLE Online_Contacts (ouin float8, tuin float8, type int2, rid float8);
CREATE TABLE Users_Messages (to_uin float8, from_uin float8, msg_date float8, msg_type int4, msgtext text);
CREATE INDEX tuinind ON Users_Messages (to_uin);
CREATE TABLE Users_Lock (luin float8, lck_text text);
CREATE UNIQUE INDEX luinind ON Users_Lock (luin);
CREATE TABLE Users_Deps (depcode float8, depmin float8, depname text);
CREATE UNIQUE INDEX depind ON Users_Deps (depcode);
"""

ALICE, BOB, LOCKED = 10001, 10002, 10003
# 127.0.0.1 as IServerd stored it: a + b*2^8 + c*2^16 + d*2^24 for a.b.c.d.
LOOPBACK_NUMBER = 127 + 1 * 2 ** 24
SENT = 1_000_000_000  # 2001-09-09 01:46:40 UTC
MOSCOW = 3 * 3600  # the old server ran at UTC+3, so msg_date is SENT - 3 h
HELLO_1251 = "Привет, Боб".encode("cp1251")
_sources = itertools.count(1)


def _user(uin, password, **fields):
    row = dict(uin=float(uin), pass_=password, ulock=0, llog=0.0, iadr=0.0, bcst=0, cdate=0.0, cpass=0,
               nick="", frst="", last="", email1="", email2="", email3="", webaware=1, iphide=0, martial=0)
    row.update(fields)
    return row


def source_database(testcase):
    """An empty SQL_ASCII database (IServerd's usual kind) with IServerd's tables; return its DSN."""
    cluster = support.cluster()
    name = "%siserverd_src_%d" % (cluster.prefix, next(_sources))
    cluster.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'SQL_ASCII' "
                            "LC_COLLATE 'C' LC_CTYPE 'C'").format(sql.Identifier(name)))
    testcase.addCleanup(cluster.drop, name)
    dsn = cluster.dsn(name)
    execute(dsn, ISERVERD_DDL)
    return dsn


def execute(dsn, statement, rows=None):
    """
    Run SQL on the source.  Text goes over as LATIN1, which an SQL_ASCII
    database stores byte for byte, so C{str.decode("latin-1")} of
    Windows-1251 bytes stores those bytes.
    """
    conn = psycopg2.connect(dsn)
    try:
        conn.set_client_encoding("LATIN1")
        with conn, conn.cursor() as cur:
            for row in rows or [None]:
                cur.execute(statement, row)
    finally:
        conn.close()


def cp1251(text):
    """How a Windows-1251 text travels to an SQL_ASCII database through a LATIN1 connection."""
    return text.encode("cp1251").decode("latin-1")


def fill(dsn):
    """The old server's data: three accounts, two unusable rows, messages, a lock, a department."""
    users = [
        _user(ALICE, "wonder", llog=float(SENT), iadr=float(LOOPBACK_NUMBER), cdate=9.5e8, bcst=1,
              nick=cp1251("Алиса"), frst="Alice", last="Liddell", email1="alice@home.example",
              email2="alice@example.org", email3="old@example.org", e1publ=1, gmtoffs=-6, auth=1, sex=1,
              age=30, bday=4, bmon=5, byear=1971, wcountry=7, wcity=cp1251("Москва"), wcompany="Wonderland",
              wocup=3, wdepart="2", wdepart2="Sales", wzip="", wzip2="10101", hcountry=7, hzip="12345",
              hweb="http://alice.example", notes="about me", lang1=12, lang2=0, lang3=0, hpage_cf=1,
              hpage_cat=103, hpage_txt="cats", past_num=1, past_ind1=300, past_key1="school",
              int_num=2, int_ind1=100, int_key1="chess", int_ind2=101, int_key2="tea", int_ind3=9,
              int_key3="ignored beyond int_num", aff_num=0, iphide=1, webaware=0, martial=2),
        _user(BOB, "builder", nick="bob", frst="Bob"),
        _user(LOCKED, "secret", ulock=1, nick="mallory"),
        _user(0, "zero"),
        _user(5e9, "too big"),
    ]
    columns = list(users[0])
    names = [c.rstrip("_") for c in columns]
    execute(dsn, "INSERT INTO Users_Info_Ext (%s) VALUES (%s)" % (", ".join(names), ", ".join(["%s"] * len(columns))),
            [tuple(u.get(c) for c in columns) for u in users])
    messages = [
        (float(BOB), float(ALICE), float(SENT - MOSCOW), 1, cp1251("Привет, Боб")),
        (float(BOB), float(ALICE), float(SENT - MOSCOW), 1, cp1251("Привет, Боб")),  # sent twice, kept twice
        (float(BOB), float(LOCKED), float(SENT - MOSCOW + 60), 4, "a link\xfehttp://example.org"),
        (99999.0, float(ALICE), float(SENT), 1, "to nobody"),
    ]
    execute(dsn, "INSERT INTO Users_Messages VALUES (%s, %s, %s, %s, %s)", messages)
    execute(dsn, "INSERT INTO Users_Lock VALUES (%s, %s)", [(float(LOCKED), "Account suspended by admin")])
    execute(dsn, "INSERT INTO Users_Deps VALUES (%s, %s, %s)", [(2.0, 10000.0, "Sales")])
    execute(dsn, "INSERT INTO Online_Contacts VALUES (%s, %s, %s, %s)", [(float(ALICE), float(BOB), 1, 1.0)])


class ImporterTests(unittest.TestCase):
    """
    The importer maps IServerd's tables onto iserverd's and is safe to re-run.
    """

    def setUp(self):
        self.source = source_database(self)
        fill(self.source)
        self.target = support.fresh_database(self)

    def run_import(self, **kw):
        kw.setdefault("utc_offset", MOSCOW)
        kw.setdefault("client_charset", "cp1251")
        return importer.Importer(self.source, self.target, **kw).run()

    def test_layout(self):
        """The source really has IServerd's 84-column Users_Info_Ext with float8 numbers."""
        rows = support.query(self.source, "SELECT count(*), count(*) FILTER (WHERE data_type = 'double precision')"
                             " FROM information_schema.columns WHERE table_name = 'users_info_ext'")
        self.assertEqual(rows, [(84, 5)])

    def test_report(self):
        """The report counts accounts, skipped rows, locks, departments and messages."""
        report = self.run_import()
        self.assertEqual(
            (report.users, report.skipped_users, report.locks, report.departments),
            (3, 2, 1, 1),
        )
        self.assertEqual((report.messages, report.already_imported, report.orphan_messages), (3, 0, 1))

    def test_account_fields(self):
        """Every mapped Users_Info_Ext column lands in its users column, text decoded from Windows-1251."""
        self.run_import()
        (row,) = support.query(self.target, """
            SELECT nick, first_name, last_name, email, email2, email3, hide_email, timezone, auth_required,
                   gender, age, birth_day, birth_month, birth_year, work_city, work_country, work_company,
                   work_occupation, work_department_code, work_department, work_zip, home_country, home_zip,
                   homepage, notes, languages, homepage_category_enabled, homepage_category,
                   homepage_description, past, interests, affiliations, hide_ip, web_aware, marital,
                   can_broadcast, locked, host(last_login_ip), last_login_at, created_at
            FROM users WHERE uin = %s""", (ALICE,))
        self.assertEqual(row[:25], (
            "Алиса", "Alice", "Liddell", "alice@home.example", "alice@example.org", "old@example.org", True, -6,
            True, 1, 30, 4, 5, 1971, "Москва", 7, "Wonderland", 3, "2", "Sales", "10101", 7, "12345",
            "http://alice.example", "about me",
        ))
        self.assertEqual(row[25:30], ([12, 0, 0], True, 103, "cats", [[300, "school"]]))
        self.assertEqual(row[30:35], ([[100, "chess"], [101, "tea"]], [], True, False, 2))
        self.assertEqual(row[35:38], (True, False, "127.0.0.1"))
        self.assertEqual(row[38], datetime.fromtimestamp(SENT, timezone.utc))
        self.assertEqual(row[39], datetime.fromtimestamp(9.5e8, timezone.utc))

    def test_passwords_hashed(self):
        """Passwords are stored as salted hashes that verify the old clear-text passwords."""
        self.run_import()
        hashes = dict(support.query(self.target, "SELECT uin, password_hash FROM users"))
        self.assertTrue(hashes[ALICE].startswith("pbkdf2_sha256$"))
        self.assertNotIn("wonder", hashes[ALICE])
        self.assertTrue(verify_password(b"wonder", hashes[ALICE]))
        self.assertTrue(verify_password(b"builder", hashes[BOB]))
        self.assertFalse(verify_password(b"builder", hashes[ALICE]))

    def test_passwords_sealed(self):
        """With a sealer, each account also gets a sealed copy of its old password."""
        sealer = PasswordSealer(bytes(range(32)))
        self.run_import(sealer=sealer)
        sealed = dict(support.query(self.target, "SELECT uin, password_sealed FROM users"))
        self.assertEqual(sealer.unseal(ALICE, sealed[ALICE]), b"wonder")
        self.assertEqual(sealer.unseal(BOB, sealed[BOB]), b"builder")
        self.run_import()
        sealed = dict(support.query(self.target, "SELECT uin, password_sealed FROM users"))
        self.assertIsNone(sealed[ALICE])

    def test_messages_utc(self):
        """Offline messages get a real UTC time (the old server's offset removed) and Windows-1251 bodies."""
        self.run_import()
        rows = support.query(self.target, "SELECT to_uin, from_uin, sent_at, msg_type, body FROM offline_messages"
                             " ORDER BY id")
        self.assertEqual([(r[0], r[1], r[2], r[3], bytes(r[4])) for r in rows], [
            (BOB, ALICE, datetime.fromtimestamp(SENT, timezone.utc), 1, HELLO_1251),
            (BOB, ALICE, datetime.fromtimestamp(SENT, timezone.utc), 1, HELLO_1251),
            (BOB, LOCKED, datetime.fromtimestamp(SENT + 60, timezone.utc), 4, b"a link\xfehttp://example.org"),
        ])

    def test_lock_and_department(self):
        """Lock texts and departments are copied; contact lists are not."""
        self.run_import()
        self.assertEqual(support.query(self.target, "SELECT locked, lock_text FROM users WHERE uin = %s", (LOCKED,)),
                         [(True, "Account suspended by admin")])
        self.assertEqual(support.query(self.target, "SELECT code, min_uin, name FROM departments"),
                         [(2, 10000, "Sales")])
        self.assertEqual(support.query(self.target, "SELECT count(*) FROM contacts"), [(0,)])

    def test_rerun_idempotent(self):
        """A second run updates accounts in place and adds no message twice, even after delivery."""
        self.run_import()
        support.query(self.target, "DELETE FROM offline_messages WHERE msg_type = 4")  # delivered meanwhile
        execute(self.source, "UPDATE Users_Info_Ext SET nick = 'bobby' WHERE uin = %s", [(float(BOB),)])
        execute(self.source, "INSERT INTO Users_Messages VALUES (%s, %s, %s, %s, %s)",
                [(float(ALICE), float(BOB), float(SENT), 1, "new since")])
        report = self.run_import()
        self.assertEqual((report.users, report.messages, report.already_imported), (3, 1, 3))
        self.assertEqual(support.query(self.target, "SELECT count(*) FROM users"), [(3,)])
        self.assertEqual(support.query(self.target, "SELECT nick FROM users WHERE uin = %s", (BOB,)), [("bobby",)])
        self.assertEqual(support.query(self.target, "SELECT to_uin, msg_type FROM offline_messages ORDER BY id"),
                         [(BOB, 1), (BOB, 1), (ALICE, 1)])

    def test_not_iserverd(self):
        """A database without IServerd's tables is a clear error and changes nothing."""
        empty = support.fresh_database(self, empty=True)
        e = self.assertRaises(importer.SourceError, importer.Importer(empty, self.target).run)
        self.assertIn("Users_Info_Ext", str(e))

    def test_utc_offset_parsing(self):
        """UTC offsets are read as +HH:MM, -H or 0, and nonsense is refused."""
        self.assertEqual([importer.parse_utc_offset(t) for t in ("+03:00", "-5", "0", "+0530")],
                         [10800, -18000, 0, 19800])
        for bad in ("3h", "+25", "+03:75", ""):
            self.assertRaises(ValueError, importer.parse_utc_offset, bad)

    def test_ip_numbers(self):
        """IServerd's IP numbers have the first octet least significant; 0 means none."""
        self.assertEqual(importer.ipv4_from_number(LOOPBACK_NUMBER), "127.0.0.1")
        self.assertEqual(importer.ipv4_from_number(192 + 168 * 256 + 1 * 65536 + 20 * 2 ** 24), "192.168.1.20")
        self.assertIsNone(importer.ipv4_from_number(0))


class ImportedLoginTests(unittest.TestCase):
    """
    Imported users log in over real UDP with their old passwords and get
    their old offline messages.
    """

    @defer.inlineCallbacks
    def setUp(self):
        source = source_database(self)
        fill(source)
        dsn = support.fresh_database(self)
        importer.Importer(source, dsn, utc_offset=MOSCOW, client_charset="cp1251").run()
        folder = tempfile.mkdtemp(prefix="isd-imp-")
        self.addCleanup(shutil.rmtree, folder, True)
        cfg = config.load(None, dict(database=dsn, port=0, interface="127.0.0.1", db_pool_size=2,
                                     client_charset="cp1251", data_dir=folder,
                                     webpager_socket=os.path.join(folder, "wwp.sock"),
                                     control_socket=os.path.join(folder, "control.sock")))
        self.server = ServerService(cfg, reactor, clock=task.Clock())
        self.server.startService()
        self.addCleanup(self.server.stopService)
        yield self.server.ready

    def client(self, uin, password):
        return connect(self, reactor, self.server.udp_port, uin, password)

    @defer.inlineCallbacks
    def test_old_passwords(self):
        """The old passwords log in; a wrong one is refused."""
        a = yield self.client(ALICE, b"wonder")
        self.assertEqual((yield a.login()).command, v5.SRV_HELLO)
        x = yield self.client(BOB, b"wonder")
        self.assertEqual((yield x.login()).command, v5.SRV_BAD_PASSWORD)

    @defer.inlineCallbacks
    def test_offline_messages_delivered(self):
        """Bob gets his imported messages with their UTC sending time and original bytes."""
        b = yield self.client(BOB, b"builder")
        self.assertEqual((yield b.login()).command, v5.SRV_HELLO)
        yield b.contact_list([])
        yield b.wait_command(v5.SRV_END_OFFLINE_MESSAGES)
        got = [v5.OfflineMessage.parse(p.data) for p in b.of(v5.SRV_OFFLINE_MESSAGE)]
        self.assertEqual([(m.sender, m.msg_type, m.text) for m in got], [
            (ALICE, 1, HELLO_1251), (ALICE, 1, HELLO_1251), (LOCKED, 4, b"a link\xfehttp://example.org"),
        ])
        self.assertEqual((got[0].year, got[0].month, got[0].day, got[0].hour, got[0].minute), (2001, 9, 9, 1, 46))

    @defer.inlineCallbacks
    def test_locked_account(self):
        """A locked account is refused with its lock text."""
        m = yield self.client(LOCKED, b"secret")
        reply = yield m.login()
        self.assertEqual(reply.command, v5.SRV_LOGIN_ERR)
        self.assertEqual(v5.LoginErr.parse(reply.data).text, b"Account suspended by admin")


class ImportCommandTests(unittest.TestCase):
    """
    C{iserverd-admin import-iserverd} runs the import and prints its report.
    """

    def setUp(self):
        self.source = source_database(self)
        fill(self.source)

    @defer.inlineCallbacks
    def test_run(self):
        """The command imports into the admin tool's database and reports the counts."""
        storage = yield support.open_storage(self)
        args = cli.build_parser().parse_args(["import-iserverd", "--from", self.source, "--utc-offset", "+03:00"])
        out = io.StringIO()
        yield cli.run(args, storage, out)
        self.assertIn("accounts imported: 3\n", out.getvalue())
        self.assertIn("offline messages imported: 3\n", out.getvalue())
        account = yield storage.get_account(ALICE)
        self.assertTrue(verify_password(b"wonder", account.password_hash))
        self.assertFalse(account.password_sealed)
        storage.sealer = PasswordSealer(bytes(range(32)))
        yield cli.run(args, storage, io.StringIO())
        self.assertEqual((yield storage.get_password(ALICE)), b"wonder")

    @defer.inlineCallbacks
    def test_bad_source(self):
        """A source that is not IServerd's is one AdminError line."""
        storage = yield support.open_storage(self)
        empty = support.fresh_database(self, empty=True)
        args = cli.build_parser().parse_args(["import-iserverd", "--from", empty])
        e = yield self.assertFailure(cli.run(args, storage, io.StringIO()), cli.AdminError)
        self.assertIn("no Users_Info_Ext table", str(e))

    def test_console_script(self):
        """The console script imports twice; the second run adds nothing and says so."""
        target = support.fresh_database(self)
        argv = [sys.executable, "-m", "iserverd.admin.cli", "--database", target,
                "--data-dir", os.path.abspath(self.mktemp()), "import-iserverd",
                "--from", self.source, "--utc-offset", "+03:00"]
        first = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=120)
        self.assertEqual((first.returncode, first.stderr), (0, ""))
        second = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=120)
        self.assertEqual(second.returncode, 0)
        self.assertIn("offline messages imported: 0\n", second.stdout)
        self.assertIn("offline messages already imported before: 3\n", second.stdout)
        self.assertEqual(support.query(target, "SELECT count(*) FROM offline_messages"), [(3,)])

    def test_bad_offset(self):
        """A bad --utc-offset is refused by the parser."""
        self.patch(sys, "stderr", io.StringIO())
        self.assertRaises(SystemExit, cli.build_parser().parse_args,
                          ["import-iserverd", "--from", "x", "--utc-offset", "east"])

