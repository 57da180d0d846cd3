"""
Tests for L{iserverd.handlers.v3}, L{iserverd.speakers.v3} and L{iserverd.storage.departments}.

The speaker's packets are compared byte for byte with the server packets of
C{shared/protocol/v3-vectors.md} section 5 (the annotated constants of
L{tests.test_codec_v3}), numbered the way the network numbers them.  The
handler tests run a real L{Network} on a real PostgreSQL with a
L{task.Clock}, and collect what would be sent instead of using a socket.
"""

from datetime import datetime, timezone

from twisted.internet import defer, task
from twisted.trial import unittest

from iserverd import config
from iserverd.codec import v3
from iserverd.codec.errors import MalformedPacket
from iserverd.core.authorization import Authorization
from iserverd.core.network import Network
from iserverd.core.session import ClientInfo, Session
from iserverd.handlers.v3 import V3Handler
from iserverd.speakers.v3 import Piece, V3Speaker
from iserverd.storage.departments import PostgresDepartments
from iserverd.storage.directory import PostgresDirectory
from iserverd.storage.interfaces import OfflineMessage
from tests import support
from tests.test_codec_v3 import (
    X1_HELLO,
    X1_LIST_DONE,
    X1_SYSMSG_DONE,
    X1_SYSMSG_OFFLINE,
    X1_USER_ONLINE_A_TO_B,
    X1_USER_ONLINE_B,
    X1_USER_ONLINE_C,
    X5_USER_OFFLINE,
    X5_USER_STATUS,
    X12_SERVER_FRAGMENT_0,
    X12_SERVER_FRAGMENT_1,
    X12_SERVER_INNER,
    X14_DEPS_LIST1,
    X15_ADMIN_BROADCAST,
    X15_SYSMSG_ONLINE_FROM_V5,
)

A, B, C = 1001, 1002, 1003


def settings(**overrides):
    return config.load(None, overrides)


def session(uin, version, addr, **kw):
    return Session(uin=uin, version=version, addr=addr, session_id=0, login_id=uin,
                   speaker=None, ping_time=55, **kw)


# The users of v3-vectors.md section 5: A and B are v3 users, C a v5 user (away).
USER_A = session(A, 3, ("192.0.2.7", 4000),
                 info=ClientInfo(tcp_port=1234, internal_ip="192.168.0.10", dc_type=4, tcp_version=2))
USER_B = session(B, 3, ("198.51.100.9", 4000),
                 info=ClientInfo(tcp_port=2345, internal_ip="10.0.0.5", dc_type=4, tcp_version=2))
USER_C = session(C, 5, ("203.0.113.5", 4000), status=0x0001,
                 info=ClientInfo(tcp_port=5555, internal_ip="10.1.1.1", dc_type=4, tcp_version=6))


def numbered(speaker, to, first_seq1, packets):
    """Encode C{packets} with consecutive SEQ1s from C{first_seq1}, as the network does."""
    return [speaker.encode(to, (first_seq1 + i) & 0xFFFF, p) for i, p in enumerate(packets)]


class SpeakerVectorTests(unittest.TestCase):
    """
    L{V3Speaker} builds the server packets of v3-vectors.md section 5.
    """

    def setUp(self):
        self.speaker = V3Speaker(settings())

    def test_hello(self):
        """HELLO: SEQ1 0, the LOGON's SEQ2, ping time - 10, resend timeout, retries (section 5.1)."""
        self.assertEqual(numbered(self.speaker, USER_A, 0, self.speaker.hello(USER_A, 1)), [X1_HELLO])

    def test_user_online_v3(self):
        """USER_ONLINE about a v3 user carries its addresses (section 5.1)."""
        self.assertEqual(numbered(self.speaker, USER_B, 7, self.speaker.user_online(USER_B, USER_A)),
                         [X1_USER_ONLINE_A_TO_B])
        self.assertEqual(numbered(self.speaker, USER_A, 3, self.speaker.user_online(USER_A, USER_B)),
                         [X1_USER_ONLINE_B])

    def test_user_online_v5(self):
        """USER_ONLINE about a v5 user has its address fields zeroed (section 5.1)."""
        self.assertEqual(numbered(self.speaker, USER_A, 4, self.speaker.user_online(USER_A, USER_C)),
                         [X1_USER_ONLINE_C])

    def test_list_done_offline_status(self):
        """LIST_DONE, USER_OFFLINE and USER_STATUS have SEQ2 0 (sections 5.1, 5.5)."""
        self.assertEqual(numbered(self.speaker, USER_A, 5, self.speaker.list_done(USER_A)), [X1_LIST_DONE])
        self.assertEqual(numbered(self.speaker, USER_B, 10, self.speaker.user_offline(USER_B, A)), [X5_USER_OFFLINE])
        away = session(A, 3, USER_A.addr, status=0x0001)
        self.assertEqual(numbered(self.speaker, USER_B, 9, self.speaker.user_status(USER_B, away)), [X5_USER_STATUS])

    def test_offline_messages(self):
        """SYSMSG_OFFLINE carries the true UTC time; SYSMSG_DONE the request's SEQ2 (section 5.1)."""
        stored = OfflineMessage(1, A, B, datetime(2001, 4, 23, 12, 0, tzinfo=timezone.utc), 1, b"see you")
        self.assertEqual(numbered(self.speaker, USER_A, 1, self.speaker.offline_message(USER_A, stored)),
                         [X1_SYSMSG_OFFLINE])
        self.assertEqual(numbered(self.speaker, USER_A, 2, self.speaker.end_offline(USER_A, 2)), [X1_SYSMSG_DONE])

    def test_message_type_low_byte(self):
        """A v5 type 0x8001 reaches a v3 user as 0x0001, with SEQ2 0 (section 5.15)."""
        packets = self.speaker.message(USER_A, C, 0x8001, b"hi from v5")
        self.assertEqual(numbered(self.speaker, USER_A, 20, packets), [X15_SYSMSG_ONLINE_FROM_V5])

    def test_contact_list_type(self):
        """Type 0x13 (contact list) becomes 0x01 online, and keeps its low byte offline."""
        online = v3.decode(self.speaker.encode(USER_A, 0, self.speaker.message(USER_A, B, 0x0113, b"x")[0]))
        self.assertEqual(v3.Message.parse(online.data).msg_type, 0x0001)
        stored = OfflineMessage(1, A, B, datetime(2001, 1, 1, tzinfo=timezone.utc), 0x0113, b"x")
        offline = v3.decode(self.speaker.encode(USER_A, 0, self.speaker.offline_message(USER_A, stored)[0]))
        self.assertEqual(v3.OfflineMessage.parse(offline.data).msg_type, 0x0013)

    def test_broadcast(self):
        """The administrator's broadcast keeps type 0x0014 for v3 users (section 5.15)."""
        text = v3.Message.parse(v3.decode(X15_ADMIN_BROADCAST).data).text
        packets = self.speaker.message(USER_A, 1, 0x0014, text)
        self.assertEqual(numbered(self.speaker, USER_A, 21, packets), [X15_ADMIN_BROADCAST])

    def test_fragments(self):
        """
        A 625-byte SYSMSG_ONLINE becomes two pieces: SEQ1 30 and 31, one SEQ2
        30, 482 inner bytes each at most, the inner SEQ1 the first piece's
        (section 5.12).

        The vector's inner packet also has SEQ2 30; ours keeps the packet's
        own SEQ2 (0 for SYSMSG_ONLINE, v3.md 21 #23), so that a fragmented
        reply still carries its request's SEQ2 once joined.  That is the
        only difference: bytes 0x18-0x19 of the first fragment.
        """
        packets = self.speaker.message(USER_A, B, 1, b"x" * 600)
        self.assertEqual([(type(p), p.index, p.count) for p in packets], [(Piece, 0, 2), (Piece, 1, 2)])
        first = X12_SERVER_FRAGMENT_0[:0x18] + b"\x00\x00" + X12_SERVER_FRAGMENT_0[0x1A:]
        self.assertEqual(numbered(self.speaker, USER_A, 30, packets), [first, X12_SERVER_FRAGMENT_1])
        joined = b"".join(v3.Fragment.parse(v3.decode(f).data).piece
                          for f in numbered(self.speaker, USER_A, 30, packets))
        self.assertEqual(joined, X12_SERVER_INNER[:6] + b"\x00\x00" + X12_SERVER_INNER[8:])

    def test_fragments_wrap(self):
        """Fragment SEQ1s wrap at 16 bits, and the shared SEQ2 is the first piece's SEQ1."""
        packets = self.speaker.message(USER_A, B, 1, b"x" * 1500)
        datagrams = [v3.decode(d) for d in numbered(self.speaker, USER_A, 0xFFFE, packets)]
        self.assertEqual([(d.seq1, d.seq2) for d in datagrams],
                         [(0xFFFE, 0xFFFE), (0xFFFF, 0xFFFE), (0, 0xFFFE), (1, 0xFFFE)])
        joined = b"".join(v3.Fragment.parse(d.data).piece for d in datagrams)
        inner = v3.decode(joined)
        self.assertEqual((inner.command, inner.seq1), (v3.SRV_SYSMSG_ONLINE, 0xFFFE))

    def test_mtu_setting(self):
        """V3 packet mtu sets the fragment size; packets up to it go whole."""
        speaker = V3Speaker(settings(v3_packet_mtu=200))
        datagrams = numbered(speaker, USER_A, 0, speaker.message(USER_A, B, 1, b"x" * 300))
        # 325 inner bytes: 182 in the first fragment, 143 in the second.
        self.assertEqual([len(d) for d in datagrams], [200, 161])
        # 25 bytes of header and fields around the text: 475 text bytes fit 500.
        self.assertEqual(len(self.speaker.message(USER_A, B, 1, b"x" * 475)), 1)
        self.assertEqual(len(self.speaker.message(USER_A, B, 1, b"x" * 476)), 2)

    def test_long_text_split(self):
        """A text over V3 max msgsize goes as several SYSMSG_ONLINE packets."""
        speaker = V3Speaker(settings(v3_max_msgsize=100, v3_packet_mtu=8000))
        packets = speaker.message(USER_A, B, 1, b"y" * 250)
        texts = [v3.Message.parse(p.data).text for p in packets]
        self.assertEqual([len(t) for t in texts], [100, 100, 50])

    def test_deps_list1(self):
        """DEPS_LIST1 answers GET_DEPS1 with its SEQ2 (section 5.14)."""
        packets = self.speaker.deps_list1(USER_A, 21, ((10, b"IT"), (20, b"Sales")))
        self.assertEqual(numbered(self.speaker, USER_A, 22, packets), [X14_DEPS_LIST1])


class HandlerTests(unittest.TestCase):
    """
    L{V3Handler} on a real L{Network} and PostgreSQL, without a socket.
    """

    @defer.inlineCallbacks
    def setUp(self):
        self.storage = yield support.open_storage(self)
        yield self.storage.create_user(A, b"secret", "a")
        yield self.storage.create_user(B, b"secret", "b")
        self.clock = task.Clock()
        self.sent = []
        self.config = settings()
        self.network = Network(self.storage, self.clock, self.config, self.send)
        directory = PostgresDirectory(self.storage)
        self.handler = V3Handler(
            self.network, self.send, self.config, V3Speaker(self.config), PostgresDepartments(self.storage),
            directory, Authorization(self.network, directory), self.storage,
        )
        self.addCleanup(self.network.settle)

    def send(self, datagram, addr):
        self.sent.append((v3.decode(datagram), addr))

    def receive(self, command, data=b"", uin=A, seq1=1, seq2=1, addr=("192.0.2.7", 5000)):
        packet = v3.Packet(command, seq1, seq2, uin, data)
        return self.handler.dispatch(v3.decode(v3.encode(packet)), addr)

    def commands(self):
        return [p.command for p, _ in self.sent]

    @defer.inlineCallbacks
    def login(self, uin=A, addr=("192.0.2.7", 5000)):
        yield self.receive(v3.CMD_LOGON, v3.Logon(1234, b"secret").build(), uin=uin, addr=addr)
        hello = [p for p, _ in self.sent if p.command == v3.SRV_HELLO and p.uin == uin][-1]
        self.receive(v3.CMD_ACK, uin=uin, seq1=hello.seq1, seq2=0, addr=addr)
        del self.sent[:]
        return self.network.sessions.get(uin)

    @defer.inlineCallbacks
    def test_ack_before_hello(self):
        """The LOGON's ACK goes out before the HELLO, both to the LOGON's address."""
        yield self.receive(v3.CMD_LOGON, v3.Logon(1234, b"secret").build())
        self.assertEqual(self.commands(), [v3.SRV_ACK, v3.SRV_HELLO])
        self.assertEqual({addr for _, addr in self.sent}, {("192.0.2.7", 5000)})

    @defer.inlineCallbacks
    def test_hello_flags_from_account(self):
        """HELLO's must-change-password and may-broadcast bytes are 0 for an ordinary account."""
        yield self.receive(v3.CMD_LOGON, v3.Logon(1234, b"secret").build())
        hello = v3.Hello.parse(self.sent[1][0].data)
        self.assertEqual((hello.must_change_password, hello.may_broadcast), (0, 0))

    @defer.inlineCallbacks
    def test_no_offline_timer(self):
        """Offline messages wait for SYSMSG_REQ: nothing is sent unasked after login."""
        yield self.storage.store_message(A, B, datetime.now(timezone.utc), 1, b"waiting")
        yield self.login()
        for _ in range(30):
            self.clock.advance(1)
            self.network.tick()
        yield self.network.settle()
        self.assertEqual([c for c in self.commands() if c != v3.SRV_ACK], [])
        yield self.receive(v3.CMD_SYSMSG_REQ, seq1=2, seq2=2)
        self.assertIn(v3.SRV_SYSMSG_OFFLINE, self.commands())

    @defer.inlineCallbacks
    def test_reassembler_bounded(self):
        """Unfinished fragment sets of one user are capped and age out after ten ping times."""
        yield self.login()
        for seq in range(100):
            self.receive(v3.CMD_FRAGMENT, b"\x00\x03" + b"z" * 50, seq1=100 + seq, seq2=100 + seq)
        self.assertEqual(len(self.handler.reassembler), self.handler.reassembler.max_sets_per_uin)
        self.clock.advance(551)
        self.handler.reassembler.expire(self.clock.seconds())
        self.assertEqual(len(self.handler.reassembler), 0)

    @defer.inlineCallbacks
    def test_fragment_in_fragment(self):
        """A FRAGMENT joined from FRAGMENTs is refused as malformed."""
        yield self.login()
        inner = v3.encode(v3.Packet(v3.CMD_FRAGMENT, 9, 9, A, b"\x00\x01" + b"x"))
        self.assertRaises(MalformedPacket, self.receive, v3.CMD_FRAGMENT, b"\x00\x01" + inner, seq1=9, seq2=9)

    @defer.inlineCallbacks
    def test_fragments_forgotten_at_logoff(self):
        """A user's unfinished fragments are dropped when it logs off."""
        yield self.login()
        self.receive(v3.CMD_FRAGMENT, b"\x00\x02" + b"z" * 10, seq1=5, seq2=5)
        self.assertEqual(len(self.handler.reassembler), 1)
        self.receive(v3.CMD_LOGOFF, v3.Logoff().build(), seq1=0, seq2=0)
        self.assertEqual(len(self.handler.reassembler), 0)
        self.assertIsNone(self.network.sessions.get(A))

    @defer.inlineCallbacks
    def test_repeat_not_processed_twice(self):
        """A repeated status change is acknowledged again but reaches the watcher once."""
        yield self.login(B, ("198.51.100.9", 6000))
        yield self.receive(v3.CMD_CONTACT_LIST, v3.UinList((A,)).build(), uin=B, seq1=2, seq2=2,
                           addr=("198.51.100.9", 6000))
        yield self.login()
        self.receive(v3.CMD_SET_STATUS, b"\x01\x00", seq1=7, seq2=7)
        self.receive(v3.CMD_SET_STATUS, b"\x01\x00", seq1=7, seq2=7)
        self.assertEqual([p.command for p, addr in self.sent if addr[1] == 5000], [v3.SRV_ACK, v3.SRV_ACK])
        self.assertEqual([p.command for p, addr in self.sent if addr[1] == 6000], [v3.SRV_USER_STATUS])

    @defer.inlineCallbacks
    def test_malformed_not_remembered(self):
        """A malformed command is not remembered as handled, so its corrected resend is acted on."""
        yield self.login()
        self.assertRaises(MalformedPacket, self.receive, v3.CMD_USER_ADD, b"\x01", seq1=8, seq2=8)
        yield self.receive(v3.CMD_USER_ADD, v3.UinBody(B).build(), seq1=8, seq2=8)
        self.assertEqual(self.network.sessions.get(A).contacts, {B})


class DepartmentStoreTests(unittest.TestCase):
    """L{PostgresDepartments} reads the departments table."""

    @defer.inlineCallbacks
    def setUp(self):
        self.storage = yield support.open_storage(self)
        self.departments = PostgresDepartments(self.storage)

    @defer.inlineCallbacks
    def test_empty(self):
        """A new database has no departments."""
        self.assertEqual((yield self.departments.departments()), [])

    @defer.inlineCallbacks
    def test_ordered_and_limited(self):
        """Departments come ordered by code, at most C{limit} of them."""
        support.query(self.storage.dsn,
                      "INSERT INTO departments (code, name) VALUES (30, 'Ops'), (10, 'IT'), (20, 'Sales')")
        self.assertEqual((yield self.departments.departments()), [(10, "IT"), (20, "Sales"), (30, "Ops")])
        self.assertEqual((yield self.departments.departments(2)), [(10, "IT"), (20, "Sales")])

    @defer.inlineCallbacks
    def test_broadcast_right_and_members(self):
        """The broadcast right and department membership come from the account."""
        for uin in (A, B, C):
            yield self.storage.create_user(uin, b"pw")
        support.query(self.storage.dsn, "UPDATE users SET can_broadcast = true WHERE uin = %s", (A,))
        support.query(self.storage.dsn, "UPDATE users SET work_department_code = '7' WHERE uin <> %s", (A,))
        rights = []
        for uin in (A, B, 99):
            rights.append((yield self.departments.may_broadcast(uin)))
        self.assertEqual(rights, [True, False, False])
        self.assertEqual((yield self.departments.members(7)), {B, C})
        self.assertEqual((yield self.departments.members(8)), set())

    @defer.inlineCallbacks
    def test_store_broadcast(self):
        """A broadcast is stored in one statement for the department's accounts, skipping the given UINs."""
        for uin in (A, B, C):
            yield self.storage.create_user(uin, b"pw")
        support.query(self.storage.dsn, "UPDATE users SET work_department_code = '7' WHERE uin <> %s", (A,))
        when = datetime(2001, 1, 1, tzinfo=timezone.utc)
        self.assertEqual((yield self.departments.store_broadcast(A, when, 0x14, b"dept", 7, {A, B})), 1)
        self.assertEqual((yield self.departments.store_broadcast(A, when, 0x14, b"all", 0, {A})), 2)
        rows = support.query(self.storage.dsn, "SELECT to_uin, body FROM offline_messages ORDER BY id")
        self.assertEqual([(r[0], bytes(r[1])) for r in rows], [(C, b"dept"), (B, b"all"), (C, b"all")])

