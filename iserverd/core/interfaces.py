"""
The seam between the shared semantic layer and the per-version protocol code.
"""

from dataclasses import dataclass

from zope.interface import Attribute, Interface


@dataclass(frozen=True)
class Outgoing:
    """
    A server packet before it has a SEQ1: its command, parameters and SEQ2.
    """

    command: int
    data: bytes = b""
    seq2: int = 0


class ISpeaker(Interface):
    """
    Builds one protocol version's server packets for the events the shared
    layer produces.  Builders return lists of L{Outgoing}, because one event
    may take several packets (a long message is split).
    """

    version = Attribute("The protocol version, 3 or 5.")
    timeout = Attribute("Seconds between resends of a reliable packet.")
    retries = Attribute("Resends before a reliable packet is given up.")
    ping_time = Attribute("Seconds a client stays online without a keep-alive.")
    enabled = Attribute("Whether the administrator lets clients of this protocol log in.")
    session_ids = Attribute(
        "Whether the protocol's logins carry a session id, so that a login from the online session's"
        " own address and session id is a resend of it (the network answers it as a repeat)."
    )
    offline_on_request = Attribute(
        "Whether offline messages wait until the client asks for them, instead of going out after"
        " the contact list or a short delay."
    )

    def encode(session, seq1, outgoing):
        """@return: the datagram for C{outgoing} with SEQ1 C{seq1}, for C{session}."""

    def reliable(command, data=b"", seq2=0):
        """
        One reliable packet with its parameters, as the L{Outgoing}s it takes
        (more than one where the protocol cuts long packets into fragments).
        """

    def hello(session, seq2):
        """The login reply."""

    def user_online(session, other):
        """Tell C{session} that session C{other} is online."""

    def user_offline(session, uin):
        """Tell C{session} that C{uin} went offline."""

    def user_status(session, other):
        """Tell C{session} the new status of session C{other}."""

    def message(session, from_uin, msg_type, text):
        """An online message to C{session}."""

    def offline_message(session, message):
        """A stored L{iserverd.storage.interfaces.OfflineMessage}."""

    def end_offline(session, seq2):
        """The end of the stored messages."""

    def list_done(session):
        """The contact list has been processed."""
