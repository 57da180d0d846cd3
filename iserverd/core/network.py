"""
The semantic layer shared by v3 and v5: logins, presence, message routing,
offline storage and the periodic work of the event processor.

Handlers decode a packet, check its session and call one method here; this
module decides what happens and asks each recipient's speaker (its protocol
version's packet builder) for the packets to send.  So a v3 user and a v5 user
are routed by the same code, and only the bytes differ.
"""

import collections
import heapq
import itertools
from collections import deque
from datetime import datetime, timezone

from twisted.internet import defer
from twisted.logger import Logger

from iserverd.core import presence
from iserverd.core.groupcommit import GroupCommit
from iserverd.core.reliable import ReliableQueue
from iserverd.core.session import Session, SessionTable, visible_to
from iserverd.storage.interfaces import (
    LIST_CONTACT,
    LIST_VISIBLE,
    DatabaseUnavailable,
    OnlineRow,
    RelayedMessage,
)
from iserverd.storage.passwords import verify_password

# Login outcomes.
LOGIN_OK = "ok"
LOGIN_BAD_PASSWORD = "bad password"
LOGIN_BUSY = "busy"
LOGIN_TRY_AGAIN = "try again"
LOGIN_LOCKED = "locked"
LOGIN_TABLE_FULL = "table full"
LOGIN_DISABLED = "disabled"
LOGIN_REPEAT = "repeat"

TEXT_LOCKED = "Account locked..."
TEXT_TABLE_FULL = "Server users table full...Try again later"
TEXT_DISABLED = "V%d protocol disabled by administrator...\r\nTry to use another client version..."

# Message outcomes, for the sender's handler.
DELIVERED = "delivered"
STORED = "stored"
NO_SUCH_USER = "no such user"

MSG_YOU_WERE_ADDED = 0x000C
SYSTEM_UIN = 1

# Offline messages are delivered once per session: on the first contact-list
# packet that ends the list, on an explicit request, or this long after login,
# whichever comes first (licq sends no list when it is empty).
OFFLINE_DELIVERY_DELAY = 5.0
OFFLINE_BATCH = 500

# A message the server acknowledged may be sent again by its client after a
# crash (the ACK was lost, or never left).  For this long after a start, a
# message equal to one stored in this window before it (same sender,
# recipient, type and text) is taken for that resend: acknowledged, not
# delivered twice.  It covers the clients' resend horizon (v5: 10 s x 5
# resends) and a restart.
RESEND_WINDOW = 120.0

# Relayed-message batches written at the same time: one, so that every
# message arriving during a commit joins the next (fewer, larger commits).
RELAY_COMMITS = 1

# Seconds the removals of delivered relayed messages gather before they are
# written.  Nothing waits for them; a crash in this window only makes the
# messages acknowledged in it offline messages again (see the README).
REMOVAL_DELAY = 0.02


class Carried(collections.namedtuple("Carried", "from_uin msg_type text sent_at relayed_id")):
    """
    A message in a reliable packet: stored offline if the recipient never
    acknowledges it.  C{relayed_id} is its row in the relayed messages
    (L{None} when it was not written, C{Message durability = memory}).
    """

    __slots__ = ()

    def __new__(cls, from_uin, msg_type, text, sent_at, relayed_id=None):
        return super().__new__(cls, from_uin, msg_type, text, sent_at, relayed_id)


def online_row(session):
    """The part of a session the database's online table mirrors."""
    return OnlineRow(
        session.uin, session.addr[0], session.addr[1], session.version, session.session_id,
        session.info.tcp_port, session.status, session.flags, session.info.tcp_version,
    )


def utc(seconds):
    return datetime.fromtimestamp(seconds, timezone.utc)


class Network:
    """
    @ivar sessions: the L{SessionTable} (the online cache).
    @ivar queue: the L{ReliableQueue} of unacknowledged packets.
    @ivar send: C{send(datagram, addr)}, the transport's output.
    @ivar counters: event counts for status and metrics.
    @ivar logins: login outcome (L{LOGIN_OK}, L{LOGIN_BAD_PASSWORD}...) to
        the number of login attempts that had it, for metrics.
    @ivar throttle: the L{iserverd.core.throttle.LoginThrottle}, or L{None}.
    """

    log = Logger()

    def __init__(self, storage, clock, config, send, check_password=None, throttle=None):
        """
        @param check_password: C{check_password(password, stored_hash)} returning
            a Deferred firing with a bool; the server runs the key derivation in
            a thread so that a login storm keeps the reactor responsive and uses
            both cores.  By default it runs in line.
        @param throttle: the login throttle, which slows down and locks out
            repeated failed logins; L{None} for none.
        """
        self.storage = storage
        self.check_password = check_password or (lambda p, h: defer.succeed(verify_password(p, h)))
        self.clock = clock
        self.config = config
        self.send = send
        self.sessions = SessionTable()
        self.queue = ReliableQueue()
        self._login_ids = itertools.count(1)
        self._expiry = []
        self._offline_due = deque()
        self._writes = set()
        self._mirror_locks = {}
        self._next_mirror_check = clock.seconds() + config.online_check_period
        self.throttle = throttle
        self.logins = collections.Counter()
        delay = config.message_commit_delay / 1000.0
        # With durability "commit", a message to an online user is written
        # (in a group commit) before its sender is acknowledged, and deleted
        # (in batches) when the recipient acknowledges it.
        self.relay_log = None
        if config.message_durability == "commit":
            self.relay_log = GroupCommit(clock, storage.log_relayed, delay, concurrency=RELAY_COMMITS)
        self.relay_done = GroupCommit(clock, storage.forget_relayed, max(delay, REMOVAL_DELAY))
        self.relay_offline = GroupCommit(clock, storage.relayed_to_offline, delay)
        self._resent = collections.Counter()
        self._resent_until = 0.0
        self.counters = {
            "logins": 0, "login_failures": 0, "expired": 0, "relayed": 0,
            "stored": 0, "dropped_messages": 0, "resends": 0, "resent_after_crash": 0,
        }

    def now(self):
        return self.clock.seconds()

    # --- sending ------------------------------------------------------------

    def send_reliable(self, session, packets, on_ack=None, message=None):
        """
        Number, send and queue packets the client must acknowledge.

        The packets of one call take consecutive SEQ1s, with nothing sent to
        the session in between: a v3 speaker relies on it to give the
        fragments of a long packet their SEQ1s (v3.md section 16.1).

        @param on_ack: called when the last of C{packets} is acknowledged.
        @param message: the L{Carried} message these packets carry, stored
            offline if they are never acknowledged.
        """
        if not session.active:
            if message is not None:
                self._keep_undelivered(session.uin, [message])
            return
        speaker = session.speaker
        now = self.now()
        last = len(packets) - 1
        for i, outgoing in enumerate(packets):
            seq1 = session.take_seq()
            datagram = speaker.encode(session, seq1, outgoing)
            self.send(datagram, session.addr)
            queued = self.queue.add(
                session, seq1, datagram, now, speaker.timeout, speaker.retries,
                on_ack if i == last else None, message,
            )
            if not queued:
                self.log.warn("uin {uin}: too many unacknowledged packets, ending its session", uin=session.uin)
                if message is not None:
                    self._keep_undelivered(session.uin, [message])
                self.end_session(session, "unacknowledged packets")
                return

    def ack(self, session, seq1):
        """The client acknowledged our packet C{seq1}."""
        entry = self.queue.ack(session, seq1)
        if entry is not None and entry.on_ack is not None:
            try:
                entry.on_ack()
            except Exception:
                self.log.failure("ack callback of uin {uin} failed", uin=session.uin)

    # --- login and logoff ---------------------------------------------------

    def login(self, speaker, request, on_accept=None):
        """
        Check a login and, when it succeeds, bring the user online.

        The protocol's own rules come with its speaker: whether it is served
        at all (C{speaker.enabled}), whether a LOGIN from
        the online session's own address and session id is a resend of it
        (C{speaker.session_ids}: v3 has no session id to tell a new login
        from a resent one, and its handler spots resends itself), and whether
        offline messages wait for the client to ask for them
        (C{speaker.offline_on_request}, v3's SYSMSG_REQ) rather than going
        out after the contact list or a delay.

        @param request: the L{LoginRequest}.
        @param on_accept: called with the new L{Session} just before its HELLO
            is sent (v3 acknowledges a LOGON only once it is accepted, so that
            a refused one can be answered BUSY and retried).
        @return: Deferred firing with C{(outcome, detail)}: for L{LOGIN_OK} the
            new L{Session} (its HELLO already sent), for L{LOGIN_LOCKED} and
            the other refusals with a text, the text to show.
        """
        d = self._login(speaker, request, on_accept)

        def count(result):
            self.logins[result[0]] += 1
            return result

        return d.addCallback(count)

    @defer.inlineCallbacks
    def _login(self, speaker, request, on_accept):
        uin, password, addr, session_id = request.uin, request.password, request.addr, request.session_id
        if not speaker.enabled:
            return LOGIN_DISABLED, TEXT_DISABLED % (speaker.version,)
        existing = self.sessions.get(uin)
        if (speaker.session_ids and existing is not None and existing.matches(addr, session_id)
                and existing.version == speaker.version):
            # A retransmitted LOGIN of a login that already succeeded.
            return LOGIN_REPEAT, existing
        try:
            account = yield self.storage.get_account(uin)
        except DatabaseUnavailable as e:
            self.log.warn("login of {uin} deferred, database unavailable: {reason}", uin=uin, reason=str(e))
            return LOGIN_TRY_AGAIN, None
        throttle = self.throttle
        if throttle is not None:
            trusted = account is not None and account.last_login_ip == addr[0]
            if throttle.check(self.now(), addr[0], uin, trusted):
                return LOGIN_TRY_AGAIN, None
        ok = account is not None and (yield self.check_password(password, account.password_hash))
        if not ok:
            if throttle is not None:
                throttle.failed(self.now(), addr[0], uin)
            self.counters["login_failures"] += 1
            self.log.info("login of {uin} from {host} refused: bad password or unknown UIN", uin=uin, host=addr[0])
            return LOGIN_BAD_PASSWORD, None
        if throttle is not None:
            throttle.succeeded(self.now(), addr[0], uin)
        if self.config.restrict_luip and account.last_login_ip and account.last_login_ip != addr[0]:
            return LOGIN_LOCKED, TEXT_LOCKED
        if account.locked:
            return LOGIN_LOCKED, account.lock_text or TEXT_LOCKED
        existing = self.sessions.get(uin)
        if existing is not None:
            if not self.config.replace_session:
                return LOGIN_BUSY, None
            self.log.info("uin {uin}: a new login replaces the session from {host}", uin=uin, host=existing.addr[0])
            self.end_session(existing, "replaced by a new login")
        if len(self.sessions) >= self.config.max_online:
            return LOGIN_TABLE_FULL, TEXT_TABLE_FULL
        now = self.now()
        session = Session(
            uin=uin, version=speaker.version, addr=addr, session_id=session_id,
            login_id=next(self._login_ids), speaker=speaker, ping_time=speaker.ping_time,
            status=request.status, flags=request.flags, info=request.info, account=account, login_at=now,
        )
        self.sessions.add(session)
        self._arm_expiry(session, now)
        if not speaker.offline_on_request:
            self._offline_due.append((now + OFFLINE_DELIVERY_DELAY, session))
        self.counters["logins"] += 1
        if on_accept is not None:
            on_accept(session)
        self.send_reliable(session, speaker.hello(session, request.seq2))
        self._announce(session)
        self._mirror(uin, self.storage.add_online, online_row(session))
        self._record(self.storage.record_login(uin, addr[0], utc(now)))
        self.log.info("uin {uin} online (v{version}) from {host}:{port}",
                      uin=uin, version=speaker.version, host=addr[0], port=addr[1])
        return LOGIN_OK, session

    def verify(self, uin, password, host):
        """
        Check a password without logging in (the Groupware GET_DEPS).  It goes
        through the login throttle like a login, so it is no faster way to
        guess passwords.

        @return: Deferred firing with whether the password is right, or L{None}
            for "try again" (throttled, or the database is unavailable).
        """
        throttle = self.throttle
        if throttle is not None and throttle.check(self.now(), host, uin):
            return defer.succeed(None)
        d = self.storage.get_account(uin)

        def check(account):
            if account is None:
                return False
            return self.check_password(password, account.password_hash)

        def record(ok):
            if throttle is not None:
                (throttle.succeeded if ok else throttle.failed)(self.now(), host, uin)
            return ok

        def unavailable(failure):
            failure.trap(DatabaseUnavailable)
            return None

        return d.addCallback(check).addCallbacks(record, unavailable)

    def _announce(self, user):
        for watcher in self.sessions.watchers(user.uin):
            if visible_to(user, watcher.uin):
                self.send_reliable(watcher, watcher.speaker.user_online(watcher, user))

    def end_session(self, session, reason):
        """
        Move a user offline: forget the session, store the messages it never
        acknowledged, tell its watchers.  Nothing is sent to the user.
        """
        if not session.active:
            return
        session.active = False
        self.sessions.remove(session)
        undelivered = []
        seen = set()
        for entry in self.queue.forget(session):
            if entry.message is not None and id(entry.message) not in seen:
                seen.add(id(entry.message))
                undelivered.append(entry.message)
        self._keep_undelivered(session.uin, undelivered)
        if self.sessions.get(session.uin) is None:
            for watcher in self.sessions.watchers(session.uin):
                self.send_reliable(watcher, watcher.speaker.user_offline(watcher, session.uin))
            self._mirror(session.uin, self.storage.remove_online, session.uin)
        self.log.info("uin {uin} offline: {reason}", uin=session.uin, reason=reason)

    def logoff(self, session):
        self.end_session(session, "logged off")

    def disconnect(self, uin, reason="disconnected by the administrator"):
        session = self.sessions.get(uin)
        if session is None:
            return False
        self.end_session(session, reason)
        return True

    def _keep_undelivered(self, to_uin, messages):
        """
        Messages the recipient never acknowledged become offline messages: a
        written one is moved (in a batch), another one is stored.
        """
        relayed = [m.relayed_id for m in messages if m.relayed_id is not None]
        for m in messages:
            if m.relayed_id is None:
                self._store_undelivered(to_uin, m.from_uin, m.msg_type, m.text, m.sent_at)
        for relayed_id in relayed:
            # Already durable: the move only makes it an offline message.
            self.counters["stored"] += 1
            d = self.relay_offline.add(relayed_id)
            self._record(d.addCallback(lambda _: self._offline_arrived(to_uin)))
        if relayed:
            self.log.info("{count} messages to {uin} were not acknowledged; stored offline",
                          count=len(relayed), uin=to_uin)

    def _offline_arrived(self, to_uin):
        """A message was stored for C{to_uin}, who may have logged in while it was written."""
        target = self.sessions.get(to_uin)
        if target is not None and target.active and target.offline_delivery == "done":
            target.offline_delivery = "due"
            self._offline_due.append((self.now(), target))

    def _store_undelivered(self, to_uin, from_uin, msg_type, text, sent_at):
        d = self.storage.store_message(to_uin, from_uin, sent_at, msg_type, text)

        def stored(_):
            self.counters["stored"] += 1
            self.log.info("message from {sender} to {uin} was not acknowledged; stored offline",
                          sender=from_uin, uin=to_uin)

        d.addCallback(stored)
        self._record(d)

    def _record(self, d):
        """Let a database write run on its own; a failure is logged, never raised."""
        self._writes.add(d)

        def done(result):
            self._writes.discard(d)
            return result

        d.addErrback(self._write_failed)
        d.addBoth(done)
        return d

    def _mirror(self, uin, write, *args):
        """
        Write to the database's mirror of one user's online state.  The pool
        runs queries on several connections, so one user's writes (login row,
        lists, status, logoff) are queued behind each other to keep their order.
        """
        lock = self._mirror_locks.get(uin)
        if lock is None:
            lock = self._mirror_locks[uin] = defer.DeferredLock()

        def release(result):
            if not lock.locked and not lock.waiting and self._mirror_locks.get(uin) is lock:
                del self._mirror_locks[uin]
            return result

        return self._record(lock.run(write, *args).addBoth(release))

    def _write_failed(self, failure):
        if failure.check(DatabaseUnavailable):
            self.log.warn("database write skipped, database unavailable: {reason}",
                          reason=failure.getErrorMessage())
        else:
            self.log.failure("database write failed", failure)

    # --- keep-alive ---------------------------------------------------------

    def _arm_expiry(self, session, now):
        session.expires_at = now + session.ping_time
        heapq.heappush(self._expiry, (session.expires_at, session.login_id, session))

    def keep_alive(self, session):
        """Any authenticated packet proves the client is alive."""
        session.expires_at = self.now() + session.ping_time

    # --- presence -----------------------------------------------------------

    def set_status(self, session, status, flags):
        old = session.status
        session.status = status & 0xFFFF
        session.flags = flags & 0xFFFF
        for watcher in self.sessions.watchers(session.uin):
            before = visible_to(session, watcher.uin, old)
            after = visible_to(session, watcher.uin)
            packets = presence.change(watcher, session, before, after, status_changed=True)
            if packets:
                self.send_reliable(watcher, packets)
        self._mirror(session.uin, self.storage.set_status, session.uin, session.status, session.flags)

    def contact_list(self, session, uins, final=True):
        """
        A contact-list upload: remember it, say who of these is online, end
        with LIST_DONE, and deliver offline messages once the list is complete.
        """
        uins = [u for u in dict.fromkeys(uins) if u != session.uin]
        self.sessions.add_contacts(session, uins)
        self._tell_online(session, uins)
        self.send_reliable(session, session.speaker.list_done(session))
        self._mirror(session.uin, self.storage.add_to_list, session.uin, LIST_CONTACT, uins)
        if final:
            return self.deliver_offline(session)
        return defer.succeed(None)

    def add_contact(self, session, uin):
        if uin == session.uin:
            return
        self.sessions.add_contacts(session, [uin])
        self._tell_online(session, [uin])
        self._mirror(session.uin, self.storage.add_to_list, session.uin, LIST_CONTACT, [uin])

    def _tell_online(self, session, uins):
        for uin in uins:
            other = self.sessions.get(uin)
            if other is not None and other.active and visible_to(other, session.uin):
                self.send_reliable(session, session.speaker.user_online(session, other))

    def change_list(self, session, list_type, add=(), remove=()):
        """
        Edit the visible or invisible list; watchers whose view of the user
        changes are told at once.
        """
        target = session.visible if list_type == LIST_VISIBLE else session.invisible
        affected = (set(add) - target) | (set(remove) & target)
        affected.discard(session.uin)
        watchers = {w.uin: w for w in self.sessions.watchers(session.uin) if w.uin in affected}
        before = {uin: visible_to(session, uin) for uin in watchers}
        target |= set(add) - {session.uin}
        target -= set(remove)
        for uin, watcher in watchers.items():
            packets = presence.change(watcher, session, before[uin], visible_to(session, uin))
            if packets:
                self.send_reliable(watcher, packets)
        if add:
            self._mirror(session.uin, self.storage.add_to_list, session.uin, list_type, list(add))
        if remove:
            self._mirror(session.uin, self.storage.remove_from_list, session.uin, list_type, list(remove))

    # --- messages -----------------------------------------------------------

    @defer.inlineCallbacks
    def send_message(self, from_uin, to_uin, msg_type, text, sender=None):
        """
        Route a message: to the recipient's session if it is online, else into
        offline storage.  The returned Deferred fires only once the message is
        committed to the database (to the relayed messages for an online
        recipient, with C{Message durability = commit}; else to the offline
        messages), so the caller acknowledges the sender afterwards and
        nothing acknowledged is lost, not even to a crash.  With
        C{Message durability = memory} a message for an online recipient is
        acknowledged once it is in the recipient's resend queue.

        A message equal to one stored just before the last start is taken for
        its resend (see L{RESEND_WINDOW}): acknowledged, not delivered again.

        @param sender: the sender's L{Session}, if any (fills an empty "you
            were added" from its account).
        @return: Deferred firing with L{DELIVERED}, L{STORED} or L{NO_SUCH_USER};
            fails with L{DatabaseUnavailable} when it could not be stored.
        """
        if (msg_type & 0xFF) == MSG_YOU_WERE_ADDED and not text.strip(b"\x00"):
            text = self._you_were_added(sender)
        now = self.now()
        if self._resent and self._resent_after_crash(now, from_uin, to_uin, msg_type, text):
            return DELIVERED
        target = self.sessions.get(to_uin)
        if target is not None and target.active:
            sent_at = utc(now)
            relayed_id = None
            if self.relay_log is not None:
                relayed_id = yield self.relay_log.add(RelayedMessage(to_uin, from_uin, sent_at, msg_type, text))
                target = self.sessions.get(to_uin)
            message = Carried(from_uin, msg_type, text, sent_at, relayed_id)
            if target is None or not target.active:
                # Gone while the message was written.
                self._keep_undelivered(to_uin, [message])
                return STORED
            on_ack = None if relayed_id is None else (lambda: self._record(self.relay_done.add(relayed_id)))
            self.send_reliable(target, target.speaker.message(target, from_uin, msg_type, text),
                               on_ack=on_ack, message=message)
            self.counters["relayed"] += 1
            return DELIVERED
        existing = yield self.storage.existing_uins([to_uin])
        if to_uin not in existing:
            self.counters["dropped_messages"] += 1
            self.log.info("message from {sender} to unknown uin {uin} dropped", sender=from_uin, uin=to_uin)
            return NO_SUCH_USER
        yield self.storage.store_message(to_uin, from_uin, utc(now), msg_type, text)
        self.counters["stored"] += 1
        # The recipient may have logged in while the row was being written.
        self._offline_arrived(to_uin)
        return STORED

    def _resent_after_crash(self, now, from_uin, to_uin, msg_type, text):
        if now >= self._resent_until:
            self._resent.clear()
            return False
        key = (from_uin, to_uin, msg_type, bytes(text))
        if self._resent[key] <= 0:
            return False
        self._resent[key] -= 1
        self.counters["resent_after_crash"] += 1
        self.log.info("message from {sender} to {uin} is a resend of one stored before the restart;"
                      " acknowledged, not delivered again", sender=from_uin, uin=to_uin)
        return True

    @defer.inlineCallbacks
    def recover(self):
        """
        At start: the messages that were relayed but not acknowledged when the
        server last stopped (a crash) become offline messages, delivered at
        their recipients' next login; the messages stored shortly before are
        remembered to recognise a client's resend of one (L{RESEND_WINDOW}).

        @return: Deferred firing with the number of messages recovered.
        """
        moved = yield self.storage.relayed_to_offline(None)
        if moved:
            self.log.warn("{count} messages in flight when the server stopped are now offline messages",
                          count=moved)
        now = self.now()
        recent = yield self.storage.recent_messages(utc(now - RESEND_WINDOW))
        for m in recent:
            self._resent[(m.from_uin, m.to_uin, m.msg_type, bytes(m.body))] += 1
        self._resent_until = now + RESEND_WINDOW
        return moved

    def _you_were_added(self, sender):
        account = getattr(sender, "account", None)
        if account is None:
            return b"-\xfe-\xfe-\xfe-\xfe1"
        charset = self.config.client_charset
        fields = [account.nick, account.first_name, account.last_name, account.email]
        return b"\xfe".join(f.encode(charset, "replace") for f in fields) + b"\xfe1"

    def deliver_offline(self, session, seq2=0):
        """
        Send the stored messages (each deleted when the client acknowledges it),
        then END_OFFLINE.  A second request while one runs only adds the END.
        """
        if session.offline_delivery == "running":
            return defer.succeed(None)
        session.offline_delivery = "running"
        d = self.storage.pending_messages(session.uin, OFFLINE_BATCH)

        def send(messages):
            if not session.active:
                return
            for message in messages:
                if message.id in session.delivering:
                    continue
                session.delivering.add(message.id)
                self.send_reliable(
                    session, session.speaker.offline_message(session, message),
                    on_ack=lambda m=message: self._delivered(session, m),
                )
            self.send_reliable(session, session.speaker.end_offline(session, seq2))
            session.offline_delivery = "done"

        def failed(failure):
            session.offline_delivery = "due"
            self._offline_due.append((self.now() + OFFLINE_DELIVERY_DELAY, session))
            self.log.warn("offline messages for {uin} postponed: {reason}",
                          uin=session.uin, reason=failure.getErrorMessage())

        return d.addCallbacks(send, failed)

    def _delivered(self, session, message):
        d = self.storage.delete_messages(session.uin, [message.id])
        d.addBoth(lambda r: session.delivering.discard(message.id) or r)
        self._record(d)

    # --- the event processor's tick ----------------------------------------

    def tick(self):
        """
        The once-a-second work: resends, give-ups, keep-alive expiry, due
        offline deliveries.  Each step is guarded, so one failure cannot stop
        the others or the loop.
        """
        now = self.now()
        for step in (self._resend, self._expire, self._offline_timers, self._check_mirror):
            try:
                step(now)
            except Exception:
                self.log.failure("event processor step {step} failed", step=step.__name__)

    def _check_mirror(self, now):
        """IServerd's "online db check": rewrite the online table from the sessions."""
        if now < self._next_mirror_check:
            return
        self._next_mirror_check = now + self.config.online_check_period
        self._record(self.storage.sync_online([online_row(s) for s in self.sessions if s.active]))

    def _resend(self, now):
        resend, dead = self.queue.due(now, lambda s: s.speaker.timeout)
        for session, datagram in resend:
            self.send(datagram, session.addr)
        self.counters["resends"] += len(resend)
        for session in dead:
            self.end_session(session, "client stopped acknowledging")

    def _expire(self, now):
        heap = self._expiry
        while heap and heap[0][0] <= now:
            expires_at, _, session = heapq.heappop(heap)
            if not session.active:
                continue
            if session.expires_at > now:
                heapq.heappush(heap, (session.expires_at, session.login_id, session))
                continue
            self.counters["expired"] += 1
            self.end_session(session, "keep-alive timeout")

    def _offline_timers(self, now):
        due = self._offline_due
        while due and due[0][0] <= now:
            _, session = due.popleft()
            if session.active and session.offline_delivery == "due":
                self.deliver_offline(session)

    def settle(self):
        """
        @return: Deferred firing when the database writes in flight are done
            (batched writes waiting for their delay are started now).
        """
        for batcher in (self.relay_log, self.relay_done, self.relay_offline):
            if batcher is not None:
                batcher.flush()
        return defer.DeferredList(list(self._writes))

    def shutdown(self):
        """
        End every session, storing what they never acknowledged.

        @return: Deferred firing when the database writes in flight are done.
        """
        for session in self.sessions:
            self.end_session(session, "server shutting down")
        return self.settle()

    # --- administration -----------------------------------------------------

    @defer.inlineCallbacks
    def broadcast(self, body, subject="", store_offline=False, page=1000):
        """
        The administrator's broadcast (v5.md section 14): a system message
        from UIN 1 to every online user and, with C{store_offline}, stored
        for every account that is not online.

        The text has IServerd's layout, C{"ICQ Admin" FE FE FE <admin email>
        FE "3" FE <subject> FE <body>}, and the v3 broadcast type 0x0014;
        each recipient's speaker turns that into what its version shows
        (0x0009 for v5).  An online copy that is never acknowledged is stored
        like any other message.

        @param body: the text (Unicode), encoded in the clients' charset.
        @param page: accounts read per query when storing.
        @return: Deferred firing with C{(online, stored)}: the number of
            online users it was sent to and of accounts it was stored for.
        """
        msg_type = 0x0014
        charset = self.config.client_charset
        fields = ("ICQ Admin", "", "", self.config.admin_email, "3", subject, body)
        text = b"\xfe".join(f.encode(charset, "replace") for f in fields)
        sent_at = utc(self.now())
        reached = set()
        for session in self.sessions:
            if session.active:
                reached.add(session.uin)
                self.send_reliable(
                    session, session.speaker.message(session, SYSTEM_UIN, msg_type, text),
                    message=Carried(SYSTEM_UIN, msg_type, text, sent_at),
                )
        self.counters["relayed"] += len(reached)
        stored = 0
        after = 0
        while store_offline:
            accounts = yield self.storage.list_accounts(page, after)
            if not accounts:
                break
            after = accounts[-1].uin
            targets = [a.uin for a in accounts if a.uin not in reached and a.uin != SYSTEM_UIN]
            yield defer.gatherResults(
                [self.storage.store_message(uin, SYSTEM_UIN, sent_at, msg_type, text) for uin in targets],
                consumeErrors=True,
            )
            stored += len(targets)
            self.counters["stored"] += len(targets)
            for uin in targets:
                # Logged in while the rows were being written: deliver them now.
                self._offline_arrived(uin)
            if len(accounts) < page:
                break
        self.log.info("broadcast sent to {online} online users, stored for {stored} accounts",
                      online=len(reached), stored=stored)
        return len(reached), stored
