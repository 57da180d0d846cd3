# -*- test-case-name: tests.test_handlers_v3 -*-
"""
The v3 speaker: ICQ v3 ("Groupware") server packets for the shared layer.

Long packets
============

A reliable packet longer than C{V3 packet mtu} goes out as FRAGMENTs
(v3.md section 16.1).  The speaker turns it into one L{Piece} per fragment;
the network numbers the pieces of one packet with consecutive SEQ1s, and
L{V3Speaker.encode} rebuilds the inner packet with the first piece's SEQ1 and
cuts out its own piece with L{iserverd.codec.v3.split}.  So each fragment is
queued, resent and acknowledged on its own, all share one SEQ2, and the
client's extra ACK of the joined packet repeats the first fragment's.
"""

from dataclasses import dataclass

from zope.interface import implementer

from iserverd.codec import v3
from iserverd.core.interfaces import ISpeaker, Outgoing
from iserverd.speakers import split_text

MSG_PLAIN = 0x0001
MSG_CONTACTS = 0x0013

# HELLO values that IServerd takes from its global configuration (v3.md 7.3).
DEPARTMENT_LIST_VERSION = 1
EXTERNALS = 0


def encode_departments(departments, charset):
    """C{(code, name)} pairs as the DWORDs and bytes of a department list."""
    return tuple((code & 0xFFFFFFFF, name.encode(charset, "replace")) for code, name in departments)


@dataclass(frozen=True)
class Piece(Outgoing):
    """
    Fragment C{index} of C{count} of a reliable packet too long for one
    datagram.  C{command}, C{data} and C{seq2} are the inner packet's.
    """

    index: int = 0
    count: int = 1


@implementer(ISpeaker)
class V3Speaker:
    """
    Builds v3 server packets (v3.md sections 7.3, 10.4, 11).
    """

    version = v3.VERSION
    # No session id: the handler spots a resent LOGON itself (v3.md 7.1).
    session_ids = False
    # Offline messages go out only on SYSMSG_REQ (v3.md 10.3).
    offline_on_request = True

    def __init__(self, config):
        self.config = config
        self.enabled = config.v3_enabled
        self.timeout = config.v3_max_timeout
        self.retries = config.v3_max_retries
        self.ping_time = config.v3_ping_time
        self.mtu = config.v3_packet_mtu
        self.max_text = config.v3_max_msgsize

    def encode(self, session, seq1, outgoing):
        if isinstance(outgoing, Piece):
            # The pieces of one packet took consecutive SEQ1s, so the inner
            # packet's SEQ1 is the first piece's (v3.md 16.1).
            inner_seq1 = (seq1 - outgoing.index) & 0xFFFF
            inner = v3.encode(v3.Packet(outgoing.command, inner_seq1, outgoing.seq2, session.uin, outgoing.data))
            return v3.split(inner, self.mtu)[outgoing.index]
        return v3.encode(v3.Packet(outgoing.command, seq1, outgoing.seq2, session.uin, outgoing.data))

    def reliable(self, command, data=b"", seq2=0):
        """
        One reliable packet, as one L{Outgoing} or, when it is longer than the
        MTU, as one L{Piece} per fragment.
        """
        probe = v3.encode(v3.Packet(command, 0, seq2, 0, data))
        count = len(v3.split(probe, self.mtu))
        if count == 1:
            return [Outgoing(command, data, seq2)]
        return [Piece(command, data, seq2, index, count) for index in range(count)]

    def hello(self, session, seq2):
        account = session.account
        data = v3.Hello(
            client_ip=session.addr[0],
            externals=EXTERNALS,
            dep_version=DEPARTMENT_LIST_VERSION,
            must_change_password=int(bool(getattr(account, "must_change_password", False))),
            may_broadcast=int(bool(getattr(account, "can_broadcast", False))),
            # Clients ping this often; the server waits the full ping time.
            ping_interval=max(self.ping_time - 10, 1),
            resend_timeout=self.timeout,
            retries=self.retries,
        ).build()
        return self.reliable(v3.SRV_HELLO, data, seq2)

    def user_online(self, session, other):
        """
        Address fields only for v3 subjects: Groupware clients crash when a
        client of another version connects to them directly (v3.md 10.4).
        """
        info = other.info
        direct = other.version == v3.VERSION and not (other.account is not None and other.account.hide_ip)
        data = v3.UserOnline(
            uin=other.uin,
            ip=other.addr[0] if direct else "0.0.0.0",
            tcp_port=(info.tcp_port & 0xFFFFFFFF) if direct else 0,
            internal_ip=info.internal_ip if direct else "0.0.0.0",
            dc_type=(info.dc_type & 0xFF) if direct else 0,
            status=other.status & 0xFFFF,
            flags=other.flags & 0xFFFF,
            tcp_version=info.tcp_version & 0xFFFF,
        ).build()
        return self.reliable(v3.SRV_USER_ONLINE, data)

    def user_offline(self, session, uin):
        return self.reliable(v3.SRV_USER_OFFLINE, v3.UinBody(uin).build())

    def user_status(self, session, other):
        data = v3.UserStatus(other.uin, other.status & 0xFFFF, other.flags & 0xFFFF).build()
        return self.reliable(v3.SRV_USER_STATUS, data)

    def message(self, session, from_uin, msg_type, text):
        """
        SYSMSG_ONLINE, SEQ2 0 (v3.md 21 #23); v3 clients get the type's low
        byte only, and a contact list (0x13) as a plain message (v3.md 11.2).
        """
        msg_type &= 0xFF
        if msg_type == MSG_CONTACTS:
            msg_type = MSG_PLAIN
        packets = []
        for piece in split_text(text, self.max_text):
            packets += self.reliable(v3.SRV_SYSMSG_ONLINE, v3.Message(from_uin, msg_type, piece).build())
        return packets

    def offline_message(self, session, message):
        """SYSMSG_OFFLINE with the true UTC time (v3.md 21 #14) and the type's low byte."""
        sent_at = int(message.sent_at.timestamp()) & 0xFFFFFFFF
        packets = []
        for piece in split_text(message.body, self.max_text):
            body = v3.OfflineMessage(message.from_uin, sent_at, message.msg_type & 0xFF, piece)
            packets += self.reliable(v3.SRV_SYSMSG_OFFLINE, body.build())
        return packets

    def end_offline(self, session, seq2):
        return self.reliable(v3.SRV_SYSMSG_DONE, b"", seq2)

    def list_done(self, session):
        return self.reliable(v3.SRV_LIST_DONE)

    def deps_list1(self, session, seq2, departments):
        """DEPS_LIST1, the answer to GET_DEPS1 (v3.md 7.8)."""
        return self.reliable(v3.SRV_DEPS_LIST1, v3.DepsList1(DEPARTMENT_LIST_VERSION, departments).build(), seq2)
