"""
Test support: one real PostgreSQL per test run, a fresh database per test.

The cluster is the same embedded PostgreSQL the server uses by default, started
once in a temporary folder (or, with C{ISERVERD_TEST_DSN} set, an external
server that lets that DSN create databases).  A template database gets the
current schema once; each test clones it, which takes milliseconds.  If no
database can be had the tests fail: they never skip.
"""

import itertools
import os
import shutil
import tempfile
import warnings

import psycopg2
from psycopg2 import sql
from twisted.internet import defer

from iserverd.storage import schema
from iserverd.storage.postgres import PostgresStorage

TEMPLATE = "iserverd_template"

_cluster = None
_counter = itertools.count(1)


class _Cluster:
    def __init__(self):
        external = os.environ.get("ISERVERD_TEST_DSN")
        if external:
            self._server = None
            self._admin_dsn = external
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import pgserver

            folder = tempfile.mkdtemp(prefix="iserverd-tests-")
            self._server = pgserver.get_server(os.path.join(folder, "pg"), cleanup_mode="delete")
            self._admin_dsn = self._server.get_uri("postgres")
        self.prefix = "iserverd_t%d_" % (os.getpid(),)
        self.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(TEMPLATE)))
        self.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
        conn = psycopg2.connect(self.dsn(TEMPLATE))
        try:
            with conn, conn.cursor() as cur:
                cur.execute(schema.full_sql(schema.CURRENT))
        finally:
            conn.close()

    def dsn(self, database):
        """A DSN for C{database} on this cluster."""
        if self._server is not None:
            return self._server.get_uri(database)
        params = psycopg2.extensions.parse_dsn(self._admin_dsn)
        params["dbname"] = database
        return psycopg2.extensions.make_dsn(**params)

    def execute(self, statement, params=None):
        conn = psycopg2.connect(self._admin_dsn)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def create(self, template=TEMPLATE):
        """Create a new database (a clone of C{template}, or empty) and return its name."""
        name = "%s%d" % (self.prefix, next(_counter))
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        else:
            statement += sql.SQL(" TEMPLATE template0")
        self.execute(statement)
        return name

    def drop(self, name):
        self.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def cluster():
    """The run's PostgreSQL, started on first use."""
    global _cluster
    if _cluster is None:
        _cluster = _Cluster()
    return _cluster


def fresh_database(testcase, empty=False):
    """
    A new database for one test, dropped when the test ends.

    @param empty: start with no schema at all instead of the current one.
    @return: its DSN.
    """
    c = cluster()
    name = c.create(None if empty else TEMPLATE)
    testcase.addCleanup(c.drop, name)
    return c.dsn(name)


def socket_path(testcase, name):
    """
    A path for a UNIX socket in a private temporary folder, removed after the
    test (trial's own temporary paths can exceed the 107-byte socket limit).
    """
    folder = tempfile.mkdtemp(prefix="isd-")
    testcase.addCleanup(shutil.rmtree, folder, True)
    return os.path.join(folder, name)


def query(dsn, statement, params=None):
    """Run one statement synchronously (for checking what the server stored)."""
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


@defer.inlineCallbacks
def open_storage(testcase, reactor=None, dsn=None, pool_size=2):
    """
    A L{PostgresStorage} on a fresh database, closed when the test ends.
    """
    if reactor is None:
        from twisted.internet import reactor
    dsn = dsn or fresh_database(testcase)
    storage = PostgresStorage(reactor, dsn, pool_size)
    yield storage.open()
    testcase.addCleanup(storage.close)
    return storage
