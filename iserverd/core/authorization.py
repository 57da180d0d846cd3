# -*- test-case-name: tests.test_v5_meta,tests.test_v3_meta -*-
"""
"Authorization required", enforced by the server for v3 and v5 alike.

ICQ leaves the flag to the clients: the adding client is expected to ask
(message type 6) and wait for the answer (type 8 granted, type 7 refused),
and the server only relays those messages.  Nothing stops a client that
skips the question, and IServerd revealed the user's presence to anyone who
listed it.  Here the server enforces the flag: a contact that requires
authorization and has not granted it to the owner of the list is left out of
that owner's contact list (v5.md section 12.3), so the owner gets no
USER_ONLINE, USER_STATUS or USER_OFFLINE about it; the upload itself is
acknowledged and answered as usual (with CONTACT_LIST_DONE or LIST_DONE),
since neither version has a "refused" answer for a list entry.  An
"authorization granted" message (type 8, in v5 through C{0x010E} or
C{0x0456}, in v3 through THRU_SERVER or AUTHORIZE) from the contact records
the grant for good and, if the requester is online, adds the contact to its
list at once, with a USER_ONLINE if the contact is visible.  A grant is
never withdrawn (neither version has a message for it); it goes with either
account.

Both handlers use this class (it keeps no state of its own: the grants are
in the database), so a v3 user and a v5 user authorize
each other the same way.  It needs of a handler only its C{ack(packet,
addr)}, and of a packet its SEQ1 and command (to forget a repeat when the
database is away).
"""

from twisted.internet import defer
from twisted.logger import Logger

from iserverd.core.session import unacknowledged

MSG_AUTH_REQUEST = 0x0006
MSG_AUTH_GRANTED = 0x0008


class Authorization:
    """
    @ivar network: the shared L{iserverd.core.network.Network}.
    @ivar directory: the L{iserverd.storage.directory.IDirectory} that keeps
        the flag and the grants.
    """

    log = Logger()

    def __init__(self, network, directory):
        self.network = network
        self.directory = directory

    def contacts(self, handler, session, packet, addr, uins, proceed):
        """
        Acknowledge a contact-list change and apply it without the contacts
        that require authorization and have not granted it to this user.

        @param handler: the version's handler (its C{ack(packet, addr)}).
        @param proceed: called with the UINs that may be added.
        @return: Deferred firing when done; while the database is away the
            packet is not acknowledged, so the client sends it again.
        """
        d = self.directory.withheld_contacts(session.uin, [u for u in uins if u != session.uin])

        def apply(withheld):
            handler.ack(packet, addr)
            if not session.active:
                return None
            if withheld:
                self.log.info("uin {uin}: contacts {withheld} await authorization",
                              uin=session.uin, withheld=sorted(withheld))
            return proceed([u for u in uins if u not in withheld])

        unavailable = unacknowledged(session, packet)

        return d.addCallbacks(apply, unavailable)

    def add_contact(self, handler, session, packet, addr, uin):
        """One contact added (v5 ADD_TO_LIST or UPDATE_LIST, v3 USER_ADD): checked like a list."""

        def add(uins):
            for allowed in uins:
                self.network.add_contact(session, allowed)

        return self.contacts(handler, session, packet, addr, [uin], add)

    def message_sent(self, session, recipient, msg_type):
        """
        Note a message a user sends: "authorization granted" (type 8) lets
        the recipient add the sender from now on.

        @return: Deferred firing when the grant is recorded; it fails with
            L{DatabaseUnavailable} when it cannot be, and then the message
            is not acknowledged either, so the client sends both again.
        """
        if msg_type & 0xFF != MSG_AUTH_GRANTED or recipient == session.uin:
            return defer.succeed(None)
        d = self.directory.grant_authorization(session.uin, recipient)

        def granted(exists):
            if not exists:
                return
            self.log.info("uin {uin} authorized uin {other}", uin=session.uin, other=recipient)
            requester = self.network.sessions.get(recipient)
            if requester is not None and requester.active and session.uin not in requester.contacts:
                self.network.add_contact(requester, session.uin)

        return d.addCallback(granted)

    def send_message(self, session, recipient, msg_type, text):
        """
        Route a message from an online user: its grant (if it is one) is
        recorded first, then the network delivers or stores it.

        @return: the Deferred of L{iserverd.core.network.Network.send_message};
            the caller acknowledges the packet when it fires.
        """
        d = self.message_sent(session, recipient, msg_type)
        return d.addCallback(
            lambda _: self.network.send_message(session.uin, recipient, msg_type, text, session)
        )
