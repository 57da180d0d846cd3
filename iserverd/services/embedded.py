"""
A private PostgreSQL cluster in the data folder, run with the C{pgserver} package.

This is the zero-set-up default: no PostgreSQL needs to be installed or
configured.  Every call here blocks (it runs C{initdb} and C{pg_ctl}); callers
run it in a thread.
"""

import os
import warnings

import psycopg2
from psycopg2 import errors, sql

DATABASE = "iserverd"


class EmbeddedError(Exception):
    """The embedded PostgreSQL could not be started."""


class EmbeddedPostgres:
    """
    @ivar data_dir: the server's data folder; the cluster lives in its
        C{postgres} sub-folder.
    """

    def __init__(self, data_dir, database=DATABASE):
        self.data_dir = os.path.abspath(data_dir)
        self.database = database
        self._server = None

    @property
    def cluster_dir(self):
        return os.path.join(self.data_dir, "postgres")

    def start(self):
        """
        Start (initialising on first use) the cluster and make sure the
        database exists.

        @return: the DSN of the database.
        @raise EmbeddedError: with a one-line reason.
        """
        try:
            with warnings.catch_warnings():
                # platformdirs warns when XDG_RUNTIME_DIR is unset (services, root); harmless here.
                warnings.simplefilter("ignore")
                import pgserver
        except ImportError:
            raise EmbeddedError("the pgserver package is not installed; install it or pass --database")
        try:
            os.makedirs(self.data_dir, exist_ok=True)
            self._server = pgserver.get_server(self.cluster_dir, cleanup_mode="stop")
        except Exception as e:
            raise EmbeddedError(
                "cannot start the embedded PostgreSQL in %s: %s (see %s)"
                % (self.cluster_dir, str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__,
                   os.path.join(self.cluster_dir, "log"))
            )
        self.create_database(self.database)
        return self.dsn(self.database)

    def dsn(self, database):
        return self._server.get_uri(database)

    def create_database(self, name, template=None):
        """Create database C{name} unless it exists."""
        conn = psycopg2.connect(self.dsn("postgres"))
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cur.fetchone() is None:
                    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
                    if template is not None:
                        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
                    try:
                        cur.execute(statement)
                    except (errors.DuplicateDatabase, errors.UniqueViolation):
                        pass  # created meanwhile by another process (a server and an admin tool)
        finally:
            conn.close()

    def stop(self):
        """Stop the cluster unless another process (an admin tool, a server) still uses it."""
        if self._server is not None:
            server, self._server = self._server, None
            server.cleanup()
