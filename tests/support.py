"""
Test support: one real PostgreSQL per test run, a fresh database per test;
a server on loopback with three accounts; and the fast tier's server on
in-memory stores.

The cluster is the same embedded PostgreSQL the server uses by default, started
once in a temporary folder (or, with C{ISERVERD_TEST_DSN} set, an external
server that lets that DSN create databases).  A template database gets the
current schema once; each test clones it, which takes milliseconds.  If no
database can be had the tests fail: they never skip.

L{MemoryServer} is the packet path without sockets or database: the
transport on a L{FakeDatagramTransport}, the network and both handlers on the
in-memory stores of L{iserverd.testing.memory}, all on a L{task.Clock}.  Tests
on it take milliseconds; the stores are held to PostgreSQL's contract by
C{tests.test_storage} and C{tests.test_directory}.
"""

import itertools
import os
import shutil
import tempfile
import warnings

import psycopg2
from psycopg2 import sql
from twisted.internet import defer, task
from twisted.internet.testing import FakeDatagramTransport

from iserverd import config
from iserverd.codec import v3, v5
from iserverd.core.network import Network
from iserverd.services.server import ServerService, protocol_handlers
from iserverd.storage import schema
from iserverd.storage.postgres import PostgresStorage
from iserverd.testing import v3client, v5client
from iserverd.testing.memory import memory_stores
from iserverd.transport import ICQProtocol

# The accounts every loopback server starts with.
ALICE, BOB, CAROL = 10001, 10002, 10003
PASSWORDS = {ALICE: b"wonder", BOB: b"builder", CAROL: b"singer"}
# Seconds a wait for the database pool may take before the test fails.
POOL_WAIT = 20.0

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


def database_name(dsn):
    """The database a DSN names."""
    return psycopg2.extensions.parse_dsn(dsn)["dbname"]


@defer.inlineCallbacks
def until(condition, timeout=20.0, step=0.1):
    """
    Wait (on the real reactor) until C{condition()} holds; fail after
    C{timeout} s.  Only for what sends no event: another process's database
    writes.  The server's own pool is waited for with L{pool_down} and
    L{pool_up}.
    """
    from twisted.internet import reactor

    waited = 0.0
    while not condition():
        if waited >= timeout:
            raise AssertionError("condition not met within %s s" % (timeout,))
        yield task.deferLater(reactor, step, lambda: None)
        waited += step


def pool_down(storage):
    """A Deferred firing once every pooled connection of C{storage} is found dead."""
    from twisted.internet import reactor

    return storage.when_pool(lambda size, dead: dead == size).addTimeout(POOL_WAIT, reactor)


def pool_up(storage):
    """A Deferred firing once every pooled connection of C{storage} is back."""
    from twisted.internet import reactor

    return storage.when_pool(lambda size, dead: dead == 0).addTimeout(POOL_WAIT, reactor)


def advance(clock, seconds):
    """Advance the event processor's clock one tick at a time."""
    for _ in range(int(seconds)):
        clock.advance(1)


@defer.inlineCallbacks
def start_server(testcase, **settings):
    """A server on loopback and a fresh database with three accounts, stopped after the test."""
    from twisted.internet import reactor

    dsn = fresh_database(testcase)
    defaults = dict(database=dsn, port=0, interface="127.0.0.1", db_pool_size=2,
                    webpager_socket=socket_path(testcase, "wwp.sock"),
                    control_socket=socket_path(testcase, "control.sock"),
                    # The test clock does not move, so the busy gate's buckets never refill
                    # and the login throttle never forgives; every test client is on
                    # 127.0.0.1, so budgets are generous unless a test sets its own.
                    overload_burst=10**6, overload_source_burst=10**6,
                    login_free_failures=10**6, login_lockout_failures=10**6)
    cfg = config.load(None, dict(defaults, **settings))
    clock = task.Clock()
    server = ServerService(cfg, reactor, clock=clock)
    server.startService()
    testcase.addCleanup(server.stopService)
    yield server.ready
    for uin, password in PASSWORDS.items():
        yield server.storage.create_user(uin, password, "nick%d" % uin, "First", "Last", "%d@example.org" % uin)
    return server, clock, dsn


@defer.inlineCallbacks
def v5_online(testcase, server, uin, password, contacts=(), status=0, **kw):
    """A v5 client logged in to C{server} that has uploaded its contact list and had its offline messages."""
    from twisted.internet import reactor

    c = yield v5client.connect(testcase, reactor, server.udp_port, uin, password, **kw)
    hello = yield c.login(status=status)
    testcase.assertEqual(hello.command, v5.SRV_HELLO)
    yield c.contact_list(contacts)
    yield c.wait_command(v5.SRV_CONTACT_LIST_DONE)
    yield c.wait_command(v5.SRV_END_OFFLINE_MESSAGES)
    yield c.keep_alive()
    return c


@defer.inlineCallbacks
def v3_online(testcase, server, uin, password, contacts=(), status=0):
    """A v3 client logged in to C{server} that asked for its offline messages and sent its contact list."""
    from twisted.internet import reactor

    c = yield v3client.connect(testcase, reactor, server.udp_port, uin, password)
    hello = yield c.login(status=status)
    testcase.assertEqual(hello.command, v3.SRV_HELLO)
    yield c.offline_request()
    yield c.wait_command(v3.SRV_SYSMSG_DONE)
    yield c.contact_list(contacts)
    yield c.wait_command(v3.SRV_LIST_DONE)
    yield c.ping()
    return c


class MemoryServer:
    """
    The server's packet path on in-memory stores, without sockets: what a
    test hands to L{receive} goes through the transport, the handlers and the
    network as a datagram would; what the server sends is in L{sent}.

    @ivar clock: the L{task.Clock} of every timer.
    @ivar storage: the L{iserverd.testing.memory.MemoryStorage}
        (C{storage.unavailable = True} is a database outage).
    """

    def __init__(self, **settings):
        self.config = config.load(None, settings)
        self.clock = task.Clock()
        self.storage, self.directory, self.departments = memory_stores()
        self.transport = FakeDatagramTransport()
        self.protocol = ICQProtocol()
        self.protocol.makeConnection(self.transport)
        self.network = Network(self.storage, self.clock, self.config, self.protocol.send)
        self.protocol.handlers.update(protocol_handlers(
            self.network, self.protocol.send, self.config, self.storage, self.directory, self.departments,
            self.clock,
        ))

    def receive(self, datagram, addr):
        self.protocol.datagramReceived(datagram, addr)

    def sent(self, addr=None):
        """Take the datagrams sent so far (to C{addr} only, if given), oldest first."""
        taken = [(d, a) for d, a in self.transport.written if addr is None or a == addr]
        self.transport.written[:] = [(d, a) for d, a in self.transport.written if (d, a) not in taken]
        return taken

    def tick(self, seconds=1):
        """Let C{seconds} of the event processor's once-a-second work happen."""
        for _ in range(int(seconds)):
            self.clock.advance(1)
            self.network.tick()


class MemoryV5Client:
    """A v5 client of a L{MemoryServer}: encodes its packets and decodes the server's to it."""

    def __init__(self, server, uin, addr, session_id=0x1234):
        self.server = server
        self.uin = uin
        self.addr = addr
        self.session_id = session_id
        self.seq1 = 0
        self.seq2 = 0

    def send(self, command, data=b"", seq1=None):
        if seq1 is None:
            self.seq1 = (self.seq1 + 1) & 0xFFFF
            self.seq2 = (self.seq2 + 1) & 0xFFFF
            seq1 = self.seq1
        packet = v5.ClientPacket(self.uin, self.session_id, command, seq1, self.seq2, data)
        self.server.receive(v5.encode_client(packet, r1=24, r2=0x10), self.addr)
        return packet

    def login(self, password, status=0):
        return self.send(v5.CMD_LOGIN, v5.LoginRequest(password=password, status=status).build())

    def received(self, ack=True):
        """The server's packets to this client since the last call; reliable ones acknowledged."""
        packets = [v5.decode_server(d) for d, _ in self.server.sent(self.addr)]
        if ack:
            for p in packets:
                if p.command not in v5client.UNRELIABLE:
                    self.server.receive(v5.encode_client(v5.ClientPacket(
                        self.uin, self.session_id, v5.CMD_ACK, p.seq1, p.seq2), r1=24, r2=0x10), self.addr)
        return packets


class MemoryV3Client:
    """A v3 client of a L{MemoryServer}."""

    def __init__(self, server, uin, addr):
        self.server = server
        self.uin = uin
        self.addr = addr
        self.seq = 0

    def send(self, command, data=b"", seq=None):
        if seq is None:
            self.seq = (self.seq + 1) & 0xFFFF
            seq = self.seq
        packet = v3.Packet(command, seq, seq, self.uin, data)
        self.server.receive(v3.encode(packet), self.addr)
        return packet

    def login(self, password, status=0):
        return self.send(v3.CMD_LOGON, v3.Logon(1234, password, status=status).build())

    def received(self, ack=True):
        """The server's packets to this client since the last call; reliable ones acknowledged."""
        packets = [v3.decode(d) for d, _ in self.server.sent(self.addr)]
        if ack:
            for p in packets:
                if p.command not in v3client.UNRELIABLE:
                    self.server.receive(v3.encode(v3.Packet(v3.CMD_ACK, p.seq1, 0, self.uin)), self.addr)
        return packets
