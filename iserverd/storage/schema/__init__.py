"""
The versioned schema.

C{vN.sql} creates version N from nothing; C{upgrade-to-vN.sql} takes version
N-1 to N.  A fresh database gets the newest full file; an older one runs the
upgrade steps in order; a newer one is refused, because this code would not
know what its tables mean.
"""

import re
from importlib import resources

from twisted.internet import defer

# Serialises concurrent upgrades (a server and an admin tool starting together).
_LOCK_KEY = 0x49534552  # "ISER"


class SchemaError(Exception):
    """The database's schema cannot be used by this code."""


def _files():
    return {f.name: f for f in resources.files(__name__).iterdir() if f.name.endswith(".sql")}


def versions():
    """@return: the sorted versions that have a full C{vN.sql} file."""
    found = (re.fullmatch(r"v(\d+)\.sql", name) for name in _files())
    return sorted(int(m.group(1)) for m in found if m)


CURRENT = versions()[-1]


def full_sql(version):
    return _files()["v%d.sql" % (version,)].read_text("utf-8")


def upgrade_sql(version):
    """The step that brings version C{version - 1} to C{version}."""
    return _files()["upgrade-to-v%d.sql" % (version,)].read_text("utf-8")


@defer.inlineCallbacks
def read_version(cursor):
    """@return: the database's schema version, or 0 for an empty database."""
    yield cursor.execute("SELECT to_regclass('schema_version') IS NOT NULL")
    (exists,) = cursor.fetchone()
    if not exists:
        return 0
    yield cursor.execute("SELECT max(version) FROM schema_version")
    (version,) = cursor.fetchone()
    if version is None:
        raise SchemaError("the schema_version table is empty; the database is damaged")
    return version


@defer.inlineCallbacks
def upgrade(cursor, target=None):
    """
    Bring the database to C{target} (default L{CURRENT}) inside the caller's
    transaction.

    @return: Deferred firing with the version reached.
    @raise SchemaError: the database is newer than this code.
    """
    target = CURRENT if target is None else target
    yield cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
    version = yield read_version(cursor)
    if version > CURRENT:
        raise SchemaError(
            "database schema version %d is newer than this iserverd (%d); upgrade iserverd"
            % (version, CURRENT)
        )
    if version == 0:
        yield cursor.execute(full_sql(target))
        return target
    for step in range(version + 1, target + 1):
        yield cursor.execute(upgrade_sql(step))
    return max(version, target)
