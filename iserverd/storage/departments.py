# -*- test-case-name: tests.test_handlers_v3 -*-
"""
v3 Groupware departments: the department list (IServerd's Users_Deps, the
C{departments} table since schema version 2) and the department broadcasts.

ICQ Corp clients fetch the list with GET_DEPS before logging in and with
GET_DEPS1 afterwards (v3.md section 7.8).  Only the code and the short name
travel; the table is maintained with SQL by the administrator.  A user's own
department is the C{work_department_code} of its account, and only accounts
with C{can_broadcast} may send department broadcasts (v3.md section 12).
"""

import psycopg2
from zope.interface import Interface, implementer


# IServerd sends at most this many departments in one list.
MAX_DEPARTMENTS = 250


class IDepartmentStore(Interface):
    """
    Read access to the department list.
    """

    def departments(limit=MAX_DEPARTMENTS):
        """
        @return: Deferred firing with a list of C{(code, name)} pairs ordered
            by code, C{name} as text; fails with
            L{iserverd.storage.interfaces.DatabaseUnavailable}.
        """

    def may_broadcast(uin):
        """@return: Deferred firing with whether the account may send broadcasts."""

    def members(code):
        """@return: Deferred firing with the set of UINs whose department is C{code}."""

    def store_broadcast(from_uin, sent_at, msg_type, body, code, skip):
        """
        Store a broadcast as an offline message for every account (of
        department C{code}, or all for 0) whose UIN is not in C{skip}, in one
        statement.

        @return: Deferred firing with the number of accounts it was stored for.
        """


@implementer(IDepartmentStore)
class PostgresDepartments:
    """
    L{IDepartmentStore} on the server's PostgreSQL pool.

    @param storage: the opened L{iserverd.storage.postgres.PostgresStorage}
        whose pool is used.
    """

    def __init__(self, storage):
        self.storage = storage

    def departments(self, limit=MAX_DEPARTMENTS):
        d = self.storage.run_query(
            "SELECT code, name FROM departments ORDER BY code LIMIT %s", (limit,)
        )
        return d.addCallback(lambda rows: [(code, name) for code, name in rows])

    def may_broadcast(self, uin):
        d = self.storage.run_query("SELECT can_broadcast FROM users WHERE uin = %s", (uin,))
        return d.addCallback(lambda rows: bool(rows and rows[0][0]))

    def members(self, code):
        d = self.storage.run_query(
            "SELECT uin FROM users WHERE work_department_code = %s", (str(code),)
        )
        return d.addCallback(lambda rows: {row[0] for row in rows})

    def store_broadcast(self, from_uin, sent_at, msg_type, body, code, skip):
        d = self.storage.run_query(
            "WITH stored AS (INSERT INTO offline_messages (to_uin, from_uin, sent_at, msg_type, body)"
            " SELECT uin, %s, %s, %s, %s FROM users"
            " WHERE NOT (uin = ANY(%s::bigint[])) AND (%s OR work_department_code = %s)"
            " RETURNING 1) SELECT count(*) FROM stored",
            (from_uin, sent_at, msg_type, psycopg2.Binary(bytes(body)), sorted(skip), code == 0, str(code)),
        )
        return d.addCallback(lambda rows: rows[0][0])
