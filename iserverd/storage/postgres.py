"""
L{IStorage} on PostgreSQL through txpostgres.

All statements are parameterised.  Work that touches several rows that must
change together runs in one C{runInteraction} transaction.
"""

import psycopg2

from twisted.internet import defer
from twisted.logger import Logger
from txpostgres import reconnection, retrying, txpostgres
from zope.interface import implementer

from iserverd.storage import schema
from iserverd.storage.interfaces import (
    Account,
    DatabaseUnavailable,
    DuplicateUIN,
    IStorage,
    NoSuchUser,
    OfflineMessage,
)
from iserverd.storage.passwords import hash_password

# The lowest UIN handed out when none is given; below it are reserved numbers.
FIRST_FREE_UIN = 10001

_ACCOUNT_COLUMNS = (
    "uin, password_hash, locked, lock_text, nick, first_name, last_name, email, "
    "auth_required, web_aware, hide_ip, host(last_login_ip), last_login_at, created_at, "
    "password_sealed IS NOT NULL"
)


def _account(row):
    return Account(*row)


class _Reconnector(reconnection.DeadConnectionDetector):
    """
    Reconnects one pooled connection after PostgreSQL went away, retrying with
    a capped back-off for as long as it takes, until the pool is closed.
    While it is dead, queries on it fail at once with C{ConnectionDead}.
    """

    log = Logger()

    def __init__(self, reactor, changed=lambda: None):
        """@param changed: called whenever the connection is found dead or is back."""
        self.changed = changed
        reconnection.DeadConnectionDetector.__init__(
            self,
            reconnectionIterator=lambda: retrying.simpleBackoffIterator(
                initialDelay=0.5, maxDelay=5.0, maxRetries=0, now=True
            ),
            reactor=reactor,
        )
        self._attempt = None
        self.stopped = False

    def startReconnecting(self, f):
        if self.stopped:
            return
        self.log.warn("database connection lost ({reason}); reconnecting", reason=_first_line(f.value))
        call = retrying.RetryingCall(self.reconnect)
        call.reactor = self.reactor
        self._attempt = call.start(self.reconnectionIterator())
        self._attempt.addCallbacks(self._recovered, lambda f: None)
        self.changed()

    def _recovered(self, _):
        self._attempt = None
        self.log.info("database connection restored")
        d = self.connectionRecovered()
        self.changed()
        return d

    def stop(self):
        self.stopped = True
        if self._attempt is not None:
            self._attempt.cancel()


class _Connection(txpostgres.Connection):
    """
    A pooled connection that reports a connection closed by the server as lost
    (so its detector reconnects) instead of raising into the reactor, which
    would log a traceback for an idle connection that PostgreSQL dropped.
    """

    def doRead(self):
        try:
            return txpostgres.Connection.doRead(self)
        except psycopg2.Error as e:
            return e

    def doWrite(self):
        try:
            return txpostgres.Connection.doWrite(self)
        except psycopg2.Error as e:
            return e

    def _runInteraction(self, interaction, *args, **kwargs):
        # txpostgres's own version logs a failed ROLLBACK as an error with a
        # traceback; on a connection PostgreSQL just dropped that is expected,
        # so it is only reported (as RollbackFailed, which starts reconnecting).
        cursor = self.cursor()
        d = cursor.execute("begin")
        d.addCallback(interaction, *args, **kwargs)

        def commit(result):
            return cursor.execute("commit").addCallback(lambda _: result)

        def rollback(failure):
            undo = defer.maybeDeferred(cursor.execute, "rollback")
            undo.addErrback(lambda _: defer.fail(txpostgres.RollbackFailed(self, failure)))
            return undo.addCallback(lambda _: failure)

        d.addCallback(commit)
        d.addErrback(rollback)
        return d


class _Pool(txpostgres.ConnectionPool):
    def __init__(self, reactor, dsn, size):
        self.reactor = reactor
        self.detectors = []
        self.watchers = []  # (condition, Deferred) pairs of when_pool calls
        txpostgres.ConnectionPool.__init__(self, None, dsn, min=size)

    def changed(self):
        waiting, self.watchers = self.watchers, []
        for condition, d in waiting:
            if condition():
                d.callback(None)
            else:
                self.watchers.append((condition, d))

    def connectionFactory(self, reactor, cooperator):
        detector = _Reconnector(reactor, self.changed)
        self.detectors.append(detector)
        return _Connection(reactor, cooperator, detector=detector)

    def close(self):
        for detector in self.detectors:
            detector.stop()
        txpostgres.ConnectionPool.close(self)


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def translate_errors(failure):
    """Turn a lost, dead or refused connection into L{DatabaseUnavailable}."""
    failure.trap(
        psycopg2.OperationalError, psycopg2.InterfaceError,
        reconnection.ConnectionDead, txpostgres.RollbackFailed,
    )
    raise DatabaseUnavailable(_first_line(failure.value))


@defer.inlineCallbacks
def allocate_uin(cursor):
    """
    The next free UIN (at least L{FIRST_FREE_UIN}) inside the caller's
    transaction, which then inserts it.  The table lock serialises
    allocations, so two concurrent registrations never pick the same UIN.
    """
    yield cursor.execute("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
    yield cursor.execute(
        "SELECT greatest(coalesce(max(uin) + 1, %s), %s) FROM users",
        (FIRST_FREE_UIN, FIRST_FREE_UIN),
    )
    (number,) = cursor.fetchone()
    return number


@implementer(IStorage)
class PostgresStorage:
    """
    @ivar pool: the txpostgres connection pool.
    @ivar meter: L{None}, or C{meter(kind)} called as a database call starts
        (C{kind} is "query", "operation" or "interaction"); it returns a
        callable given the call's result (or failure) when it ends, which
        returns it (metrics time calls with it).
    """

    meter = None

    log = Logger()

    def __init__(self, reactor, dsn, pool_size=4, sealer=None):
        """
        @param sealer: a L{iserverd.storage.sealing.PasswordSealer}, or L{None}
            to keep no sealed password copies (OSCAR MD5 logins then fail).
        """
        self.reactor = reactor
        self.dsn = dsn
        self.sealer = sealer
        self.pool = _Pool(reactor, dsn, pool_size)
        self.schema_version = None

    @defer.inlineCallbacks
    def open(self):
        """
        Connect the pool and bring the schema up to date.

        @return: Deferred firing with C{self}; fails with L{DatabaseUnavailable}
            or L{schema.SchemaError}.
        """
        try:
            yield self.pool.start()
        except defer.FirstError as e:
            self.pool.close()
            raise DatabaseUnavailable(_first_line(e.subFailure.value))
        try:
            self.schema_version = yield self.pool.runInteraction(schema.upgrade)
        except Exception:
            self.pool.close()
            raise
        return self

    def close(self):
        self.pool.close()

    def pool_state(self):
        """@return: C{(connections, dead)}: the pool's size and how many are reconnecting."""
        dead = sum(1 for d in self.pool.detectors if d.connectionIsDead)
        return len(self.pool.detectors), dead

    def when_pool(self, condition):
        """
        @param condition: C{condition(connections, dead)}, of L{pool_state}.
        @return: a Deferred firing as soon as the condition holds: at once,
            or when a connection is found dead or is back.
        """
        test = lambda: condition(*self.pool_state())  # noqa: E731
        if test():
            return defer.succeed(None)
        d = defer.Deferred()
        self.pool.watchers.append((test, d))
        return d

    # The three ways into the pool, for this module and the other stores
    # (directory, departments) that share the connections; a lost
    # connection fails them with DatabaseUnavailable.

    def run_query(self, sql, params=()):
        return self._run("query", self.pool.runQuery, sql, params)

    def run_operation(self, sql, params=()):
        return self._run("operation", self.pool.runOperation, sql, params)

    def run_interaction(self, fn, *args):
        return self._run("interaction", self.pool.runInteraction, fn, *args)

    def _run(self, kind, call, *args):
        meter = self.meter
        done = None if meter is None else meter(kind)
        d = call(*args)
        if done is not None:
            d.addBoth(done)
        return d.addErrback(translate_errors)

    # IUserStore

    def sealed(self, uin, password):
        """The C{password_sealed} value for a new password: L{None} without a sealer."""
        return None if self.sealer is None else self.sealer.seal(uin, password)

    def create_user(self, uin, password, nick="", first_name="", last_name="", email=""):
        password_hash = hash_password(password)

        @defer.inlineCallbacks
        def create(cursor):
            number = uin
            if number is None:
                number = yield allocate_uin(cursor)
            yield cursor.execute(
                "INSERT INTO users (uin, password_hash, password_sealed, nick, first_name, last_name,"
                " email, email2) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (uin) DO NOTHING RETURNING uin",
                (number, password_hash, self.sealed(number, password), nick, first_name,
                 last_name, email, email),
            )
            if cursor.fetchone() is None:
                raise DuplicateUIN(number)
            return number

        return self.run_interaction(create)

    def get_account(self, uin):
        d = self.run_query("SELECT " + _ACCOUNT_COLUMNS + " FROM users WHERE uin = %s", (uin,))
        return d.addCallback(lambda rows: _account(rows[0]) if rows else None)

    def list_accounts(self, limit=100, after=0):
        d = self.run_query(
            "SELECT " + _ACCOUNT_COLUMNS + " FROM users WHERE uin > %s ORDER BY uin LIMIT %s",
            (after, limit),
        )
        return d.addCallback(lambda rows: [_account(r) for r in rows])

    def _one_row_changed(self, sql, params, uin):
        def check(rows):
            if not rows:
                raise NoSuchUser(uin)

        return self.run_query(sql + " RETURNING uin", params).addCallback(check)

    def set_password(self, uin, password):
        return self._one_row_changed(
            "UPDATE users SET password_hash = %s, password_sealed = %s, must_change_password = false"
            " WHERE uin = %s",
            (hash_password(password), self.sealed(uin, password), uin),
            uin,
        )

    def get_password(self, uin):
        if self.sealer is None:
            return defer.succeed(None)
        d = self.run_query("SELECT password_sealed FROM users WHERE uin = %s", (uin,))
        return d.addCallback(lambda rows: self.sealer.unseal(uin, rows[0][0]) if rows else None)

    def seal_password(self, uin, password, password_hash):
        if self.sealer is None:
            return defer.succeed(False)
        d = self.run_query(
            "UPDATE users SET password_sealed = %s WHERE uin = %s AND password_hash = %s"
            " RETURNING uin",
            (self.sealer.seal(uin, password), uin, password_hash),
        )
        return d.addCallback(bool)

    def delete_user(self, uin):
        return self._one_row_changed("DELETE FROM users WHERE uin = %s", (uin,), uin)

    def record_login(self, uin, ip, when):
        return self.run_operation(
            "UPDATE users SET last_login_ip = %s, last_login_at = %s WHERE uin = %s",
            (ip, when, uin),
        )

    def existing_uins(self, uins):
        uins = list(uins)
        if not uins:
            return defer.succeed(set())
        d = self.run_query("SELECT uin FROM users WHERE uin = ANY(%s)", (uins,))
        return d.addCallback(lambda rows: {r[0] for r in rows})

    # IOnlineStore

    def clear_online(self):
        @defer.inlineCallbacks
        def clear(cursor):
            yield cursor.execute("DELETE FROM contacts")
            yield cursor.execute("DELETE FROM online_users")

        return self.run_interaction(clear)

    def add_online(self, row):
        @defer.inlineCallbacks
        def add(cursor):
            yield cursor.execute("DELETE FROM contacts WHERE owner_uin = %s", (row.uin,))
            yield cursor.execute(
                # Nothing is written for an account deleted meanwhile (unregister, userdel).
                "INSERT INTO online_users (uin, ip, port, tcp_port, protocol, session_id,"
                " status, status_flags, client_version)"
                " SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s WHERE EXISTS (SELECT 1 FROM users WHERE uin = %s)"
                " ON CONFLICT (uin) DO UPDATE SET ip = EXCLUDED.ip, port = EXCLUDED.port,"
                " tcp_port = EXCLUDED.tcp_port, protocol = EXCLUDED.protocol,"
                " session_id = EXCLUDED.session_id, status = EXCLUDED.status,"
                " status_flags = EXCLUDED.status_flags, client_version = EXCLUDED.client_version,"
                " login_at = now()",
                (row.uin, row.ip, row.port, row.tcp_port, row.protocol, row.session_id,
                 row.status, row.status_flags, row.client_version, row.uin),
            )

        return self.run_interaction(add)

    def remove_online(self, uin):
        @defer.inlineCallbacks
        def remove(cursor):
            yield cursor.execute("DELETE FROM contacts WHERE owner_uin = %s", (uin,))
            yield cursor.execute("DELETE FROM online_users WHERE uin = %s", (uin,))

        return self.run_interaction(remove)

    def set_status(self, uin, status, flags):
        return self.run_operation(
            "UPDATE online_users SET status = %s, status_flags = %s WHERE uin = %s",
            (status, flags, uin),
        )

    def count_online(self):
        return self.run_query("SELECT count(*) FROM online_users").addCallback(lambda r: r[0][0])

    def sync_online(self, rows):
        rows = list(rows)
        columns = list(zip(*[
            (r.uin, r.ip, r.port, r.protocol, r.session_id, r.tcp_port, r.status, r.status_flags,
             r.client_version) for r in rows
        ])) or [[]] * 9

        @defer.inlineCallbacks
        def sync(cursor):
            yield cursor.execute("DELETE FROM online_users WHERE uin <> ALL(%s::bigint[])", (list(columns[0]),))
            yield cursor.execute(
                "INSERT INTO online_users (uin, ip, port, protocol, session_id, tcp_port, status,"
                " status_flags, client_version)"
                " SELECT o.* FROM unnest(%s::bigint[], %s::inet[], %s::integer[], %s::smallint[],"
                " %s::bigint[], %s::integer[], %s::integer[], %s::integer[], %s::integer[])"
                " AS o(uin, ip, port, protocol, session_id, tcp_port, status, status_flags, client_version)"
                " WHERE EXISTS (SELECT 1 FROM users WHERE users.uin = o.uin)"
                " ON CONFLICT (uin) DO UPDATE SET ip = EXCLUDED.ip, port = EXCLUDED.port,"
                " protocol = EXCLUDED.protocol, session_id = EXCLUDED.session_id,"
                " tcp_port = EXCLUDED.tcp_port, status = EXCLUDED.status,"
                " status_flags = EXCLUDED.status_flags, client_version = EXCLUDED.client_version",
                [list(c) for c in columns],
            )

        return self.run_interaction(sync)

    # IContactStore

    def add_to_list(self, owner, list_type, uins):
        uins = sorted(set(uins))
        if not uins:
            return defer.succeed(None)
        return self.run_operation(
            "INSERT INTO contacts (owner_uin, list_type, target_uin)"
            " SELECT %s, %s, unnest(%s::bigint[]) WHERE EXISTS (SELECT 1 FROM users WHERE uin = %s)"
            " ON CONFLICT DO NOTHING",
            (owner, list_type, uins, owner),
        )

    def remove_from_list(self, owner, list_type, uins):
        return self.run_operation(
            "DELETE FROM contacts WHERE owner_uin = %s AND list_type = %s"
            " AND target_uin = ANY(%s::bigint[])",
            (owner, list_type, list(uins)),
        )

    def get_list(self, owner, list_type):
        d = self.run_query(
            "SELECT target_uin FROM contacts WHERE owner_uin = %s AND list_type = %s"
            " ORDER BY target_uin",
            (owner, list_type),
        )
        return d.addCallback(lambda rows: [r[0] for r in rows])

    # IMessageStore

    def store_message(self, to_uin, from_uin, sent_at, msg_type, body):
        d = self.run_query(
            "INSERT INTO offline_messages (to_uin, from_uin, sent_at, msg_type, body)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (to_uin, from_uin, sent_at, msg_type, psycopg2.Binary(bytes(body))),
        )
        return d.addCallback(lambda rows: rows[0][0])

    def pending_messages(self, to_uin, limit=500):
        d = self.run_query(
            "SELECT id, to_uin, from_uin, sent_at, msg_type, body FROM offline_messages"
            " WHERE to_uin = %s ORDER BY id LIMIT %s",
            (to_uin, limit),
        )
        return d.addCallback(
            lambda rows: [OfflineMessage(r[0], r[1], r[2], r[3], r[4], bytes(r[5])) for r in rows]
        )

    def delete_messages(self, to_uin, ids):
        ids = list(ids)
        if not ids:
            return defer.succeed(0)
        d = self.run_query(
            "DELETE FROM offline_messages WHERE to_uin = %s AND id = ANY(%s::bigint[]) RETURNING id",
            (to_uin, ids),
        )
        return d.addCallback(len)



    def log_relayed(self, messages):
        messages = list(messages)
        if not messages:
            return defer.succeed([])
        columns = [list(c) for c in zip(*[
            (m.to_uin, m.from_uin, m.sent_at, m.msg_type, psycopg2.Binary(bytes(m.body))) for m in messages
        ])]
        # One statement for the whole batch: the ids come from the sequence in
        # the order of the ordinality, so sorted they match the input.
        d = self.run_query(
            "INSERT INTO relayed_messages (to_uin, from_uin, sent_at, msg_type, body)"
            " SELECT t, f, s, m, b FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[],"
            " %s::integer[], %s::bytea[]) WITH ORDINALITY AS r(t, f, s, m, b, n) ORDER BY n RETURNING id",
            columns,
        )
        return d.addCallback(lambda rows: sorted(r[0] for r in rows))

    def forget_relayed(self, ids):
        ids = list(ids)
        if not ids:
            return defer.succeed(0)
        d = self.run_query("DELETE FROM relayed_messages WHERE id = ANY(%s::bigint[]) RETURNING id", (ids,))
        return d.addCallback(len)

    def relayed_to_offline(self, ids=None):
        where = "" if ids is None else " WHERE id = ANY(%s::bigint[])"
        params = () if ids is None else (list(ids),)
        d = self.run_query(
            "WITH moved AS (DELETE FROM relayed_messages" + where +
            " RETURNING id, to_uin, from_uin, sent_at, msg_type, body)"
            " INSERT INTO offline_messages (to_uin, from_uin, sent_at, msg_type, body)"
            " SELECT to_uin, from_uin, sent_at, msg_type, body FROM moved"
            " WHERE EXISTS (SELECT 1 FROM users WHERE users.uin = moved.to_uin) ORDER BY id RETURNING id",
            params,
        )
        return d.addCallback(len)

    def recent_messages(self, since):
        d = self.run_query(
            "SELECT id, to_uin, from_uin, sent_at, msg_type, body FROM offline_messages"
            " WHERE sent_at >= %s ORDER BY id",
            (since,),
        )
        return d.addCallback(
            lambda rows: [OfflineMessage(r[0], r[1], r[2], r[3], r[4], bytes(r[5])) for r in rows]
        )
