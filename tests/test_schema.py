"""
Tests for L{iserverd.storage.schema}: creation, upgrades, refusal of newer schemas.
"""

from twisted.internet import defer
from twisted.trial import unittest

from iserverd.storage import schema
from iserverd.storage.postgres import PostgresStorage
from tests import support

# What makes two schemas equal: columns with types, defaults and nullability,
# indexes, and constraints.
_SHAPE = [
    "SELECT table_name, column_name, data_type, column_default, is_nullable"
    " FROM information_schema.columns WHERE table_schema = 'public'"
    " ORDER BY table_name, column_name",
    "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    " ORDER BY tablename, indexname",
    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
    " WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
    "SELECT version FROM schema_version",
]


def shape(dsn):
    return [support.query(dsn, q) for q in _SHAPE]


class SchemaTests(unittest.TestCase):
    """
    The schema is created fresh, upgraded step by step, and never downgraded.
    """

    @defer.inlineCallbacks
    def _open(self, dsn):
        from twisted.internet import reactor

        storage = PostgresStorage(reactor, dsn, 1)
        yield storage.open()
        storage.close()
        return storage.schema_version

    @defer.inlineCallbacks
    def test_fresh(self):
        """An empty database gets the current schema."""
        dsn = support.fresh_database(self, empty=True)
        version = yield self._open(dsn)
        self.assertEqual(version, schema.CURRENT)
        self.assertEqual(support.query(dsn, "SELECT version FROM schema_version"), [(schema.CURRENT,)])

    @defer.inlineCallbacks
    def test_upgraded_equals_fresh(self):
        """Every older full schema, upgraded, equals a fresh current schema."""
        fresh = support.fresh_database(self, empty=True)
        yield self._open(fresh)
        expected = shape(fresh)
        older = [v for v in schema.versions() if v < schema.CURRENT]
        self.assertTrue(older, "no older schema to upgrade from")
        for version in older:
            dsn = support.fresh_database(self, empty=True)
            support.query(dsn, schema.full_sql(version))
            reached = yield self._open(dsn)
            self.assertEqual(reached, schema.CURRENT)
            self.assertEqual(shape(dsn), expected, "upgrade from v%d differs" % (version,))

    @defer.inlineCallbacks
    def test_reopen(self):
        """Opening a current database again changes nothing."""
        dsn = support.fresh_database(self)
        before = shape(dsn)
        yield self._open(dsn)
        self.assertEqual(shape(dsn), before)

    @defer.inlineCallbacks
    def test_newer_refused(self):
        """A database newer than the code is refused with a clear error."""
        dsn = support.fresh_database(self)
        support.query(dsn, "UPDATE schema_version SET version = 999")
        error = yield self.assertFailure(self._open(dsn), schema.SchemaError)
        self.assertIn("999", str(error))
        self.assertIn("newer", str(error))

    @defer.inlineCallbacks
    def test_damaged_refused(self):
        """An empty version table is reported as damage, not silently recreated."""
        dsn = support.fresh_database(self)
        support.query(dsn, "DELETE FROM schema_version")
        yield self.assertFailure(self._open(dsn), schema.SchemaError)
