# -*- test-case-name: tests.test_v5_loopback,tests.test_interop -*-
"""
The v5 speaker: ICQ v5 server packets for the shared layer.
"""

import random

from zope.interface import implementer

from iserverd.codec import v5
from iserverd.core.interfaces import ISpeaker, Outgoing
from iserverd.speakers import split_text

# v3 broadcasts reach v5 users as system messages (v5.md section 14).
MSG_V3_BROADCAST = 0x0014
MSG_SYSTEM = 0x0009
HIDE_IP_FLAG = 0x0002


@implementer(ISpeaker)
class V5Speaker:
    """
    Builds v5 server packets.  The server checkcode's random choices come from
    C{rng}, so tests can make them repeatable.
    """

    version = v5.VERSION
    session_ids = True
    offline_on_request = False

    def __init__(self, config, rng=None):
        self.config = config
        self.enabled = config.v5_enabled
        self.rng = rng or random.Random()
        self.timeout = config.v5_max_timeout
        self.retries = config.v5_max_retries
        self.ping_time = config.v5_ping_time
        self.max_text = config.v5_max_msgsize

    def encode(self, session, seq1, outgoing):
        packet = v5.ServerPacket(
            session.session_id, outgoing.command, seq1, outgoing.seq2, session.uin, outgoing.data
        )
        return v5.encode_server(packet, self.rng.randrange(16), self.rng.randrange(255))

    def reliable(self, command, data=b"", seq2=0):
        """One reliable packet (v5 sends every packet whole)."""
        return [Outgoing(command, data, seq2)]

    def hello(self, session, seq2):
        data = v5.hello(self.ping_time, self.timeout, self.retries, session.addr[0])
        return [Outgoing(v5.SRV_HELLO, data, seq2)]

    def user_online(self, session, other):
        info = other.info
        hidden = other.version != v5.VERSION or other.flags & HIDE_IP_FLAG or (
            other.account is not None and other.account.hide_ip
        )
        data = v5.user_online(
            other.uin,
            "0.0.0.0" if hidden else other.addr[0],
            0 if hidden else info.tcp_port,
            "0.0.0.0" if hidden else info.internal_ip,
            0 if hidden else info.dc_type,
            other.status,
            other.flags,
            info.tcp_version,
            info.web_port,
            info.client_features,
        )
        return [Outgoing(v5.SRV_USER_ONLINE, data)]

    def user_offline(self, session, uin):
        return [Outgoing(v5.SRV_USER_OFFLINE, v5.user_offline(uin))]

    def user_status(self, session, other):
        return [Outgoing(v5.SRV_USER_STATUS, v5.user_status(other.uin, other.status, other.flags))]

    def _type(self, msg_type):
        return MSG_SYSTEM if msg_type == MSG_V3_BROADCAST else msg_type

    def message(self, session, from_uin, msg_type, text):
        msg_type = self._type(msg_type)
        return [
            Outgoing(v5.SRV_ONLINE_MESSAGE, v5.online_message(from_uin, msg_type, piece))
            for piece in split_text(text, self.max_text)
        ]

    def offline_message(self, session, message):
        msg_type = self._type(message.msg_type)
        return [
            Outgoing(v5.SRV_OFFLINE_MESSAGE, v5.offline_message(message.from_uin, message.sent_at, msg_type, piece))
            for piece in split_text(message.body, self.max_text)
        ]

    def end_offline(self, session, seq2):
        return [Outgoing(v5.SRV_END_OFFLINE_MESSAGES, b"", seq2)]

    def list_done(self, session):
        return [Outgoing(v5.SRV_CONTACT_LIST_DONE, v5.contact_list_done(session.uin))]
