# -*- test-case-name: tests.test_v5_meta -*-
"""
ICQ v5 user information, search, registration and account changes: the
handler behind META_USER (C{0x064A}), the older info and search commands and
REG_NEW_USER (C{0x03FC}).

L{iserverd.handlers.v5.V5Handler} owns the socket side: it checks the session
and hands these packets to L{V5Meta}.  Each request is answered in one
Deferred chain: the database work, then the ACK, then the replies, which are
reliable packets carrying the request's SEQ2.  While the database is away
nothing is acknowledged, so the client sends the request again (as with
messages).  Requests the server refuses (a field over its limit, someone
else's UIN) get the failure reply and the session goes on (IServerd
disconnected the user, v5.md section 20 #15).

Authorization ("authorization required" on contact lists, grants by type 8
messages) is shared with v3 and lives in L{iserverd.core.authorization}; the
v5 handler reaches it through L{V5Meta.authorization}.
"""

from dataclasses import fields

from twisted.internet import defer
from twisted.logger import Logger

from iserverd.codec import v5
from iserverd.codec import v5_meta as meta
from iserverd.codec.errors import MalformedPacket
from iserverd.core.guards import END_SESSION, PENDING, RegistrationGuard, reply_when_done
from iserverd.core.network import SYSTEM_UIN, utc
from iserverd.core.reliable import SEARCH_PACKETS_MAX
from iserverd.core.session import visible_to
from iserverd.storage.directory import Keywords, SearchQuery
from iserverd.storage.interfaces import DatabaseUnavailable, NoSuchUser

MSG_NORMAL = 0x0001

REGISTERED, QUEUED, REFUSED = "registered", "queued", "refused"


def _keywords(category, text):
    return Keywords(category, text) if category else None


class V5Meta:
    """
    @ivar table: command code to a method taking C{(packet, addr)}, for the
        commands that need no session (registration).
    @ivar session_commands: the command codes L{handle} serves once the
        session is checked.
    @ivar subcommands: META sub-command to a method taking C{(session,
        subcommand, parameters)}.

    The methods behind L{handle} return (or fire with) the replies as
    C{(server command, data)} pairs; an L{END_SESSION} pair ends the
    session once the replies are sent.
    """

    log = Logger()

    def __init__(self, handler, directory, accounts):
        """
        @param directory: the L{iserverd.storage.directory.IDirectory}.
        @param accounts: the L{iserverd.storage.interfaces.IUserStore} and
            L{iserverd.storage.interfaces.IMessageStore}.
        """
        self.handler = handler
        self.network = handler.network
        self.config = handler.config
        self.directory = directory
        self.accounts = accounts
        self.registrations = RegistrationGuard(self.network.clock)
        self.charset = self.config.client_charset
        self.table = {v5.CMD_REG_NEW_USER: self.register}
        # The pre-META commands: their parameter parser and method.
        self._old = {
            v5.CMD_INFO_REQ: (meta.UinRequest, self.old_info),
            v5.CMD_EXT_INFO_REQ: (meta.UinRequest, self.old_ext_info),
            v5.CMD_SEARCH_UIN: (meta.UinRequest, self.old_search_uin),
            v5.CMD_SEARCH_USER: (meta.OldSearch, self.old_search),
        }
        self.session_commands = frozenset(self._old) | {v5.CMD_META_USER}
        self.subcommands = dict.fromkeys(meta.SET_REQUESTS, self.set_info)
        self.subcommands.update(dict.fromkeys(meta.INFO_99A + meta.INFO_99B, self.full_info))
        self.subcommands.update({
            meta.SET_PASSWORD: self.set_password,
            meta.UNREGISTER: self.unregister,
            meta.GET_SHORT_INFO: self.short_info,
            meta.SEARCH_UIN: self.search_uin,
            meta.SEARCH_UIN_LW: self.search_uin,
            meta.SEARCH_NAME: self.search_name,
            meta.SEARCH_NAME_LW: self.search_name,
            meta.SEARCH_EMAIL: self.search_email,
            meta.SEARCH_EMAIL_LW: self.search_email,
            meta.WHITE_PAGES_99A: self.white_pages,
            meta.WHITE_PAGES_99B: self.white_pages,
            meta.LOGIN_META: self.login_meta,
            meta.USAGE_STATS: self.usage_stats,
        })

    # --- text -----------------------------------------------------------------

    def text(self, value):
        """Client bytes to stored Unicode."""
        return value.decode(self.charset, "replace")

    def wire(self, value):
        """Stored Unicode to client bytes."""
        return value.encode(self.charset, "replace")

    def _stored(self, value):
        if isinstance(value, bytes):
            return self.text(value)
        if isinstance(value, tuple) and value and isinstance(value[0], tuple):
            return tuple((c, self.text(k)) for c, k in value)
        return value

    def _sent(self, value):
        if isinstance(value, str):
            return self.wire(value)
        if isinstance(value, tuple) and value and isinstance(value[0], tuple):
            return tuple((c, self.wire(k)) for c, k in value)
        return value

    def _reply(self, cls, info, **given):
        """A reply of type C{cls} from the L{UserInfo} fields of the same names."""
        values = {f.name: self._sent(getattr(info, f.name))
                  for f in fields(cls) if f.name not in given and hasattr(info, f.name)}
        values.update({k: self._sent(v) for k, v in given.items()})
        return cls(**values)

    # --- dispatch -------------------------------------------------------------

    def handle(self, session, packet, addr, request=None):
        """
        One of L{session_commands} from a checked session.

        @return: Deferred firing when the replies are sent (or L{None}).
        """
        if packet.command == v5.CMD_META_USER:
            request = v5.MetaRequest.parse(packet.data)
            method = self.subcommands.get(request.subcommand)
            if method is None:
                self.handler.ack(packet, addr)
                self.log.info("uin {uin}: unknown META sub-command 0x{sub:04x} acknowledged only",
                              uin=session.uin, sub=request.subcommand)
                return None
            d = defer.maybeDeferred(method, session, request.subcommand, request.rest)
        else:
            parser, method = self._old[packet.command]
            argument = parser.parse(packet.data)  # malformed: dropped unacknowledged, like any packet
            d = defer.maybeDeferred(method, session, argument)

        return reply_when_done(self.handler, session, packet, addr, d)

    @staticmethod
    def _meta(*datas):
        return [(v5.SRV_META_USER, data) for data in datas]

    def _failed(self, session, what, error, reply):
        self.log.info("uin {uin}: {what} refused: {reason}", uin=session.uin, what=what, reason=str(error))
        return self._meta(meta.meta_reply(reply, meta.META_FAIL))

    # --- set requests (v5.md section 15.3) -------------------------------------

    @defer.inlineCallbacks
    def set_info(self, session, subcommand, rest):
        """Basic, work, more, about, interests, affiliations, security, homepage category."""
        cls = meta.SET_REQUESTS[subcommand]
        try:
            request = cls.parse(subcommand, rest)
        except MalformedPacket as e:
            return self._failed(session, "META 0x%04x" % (subcommand,), e, cls.reply)
        values = {name: self._stored(value) for name, value in request.columns().items()}
        found = yield self.directory.update_info(session.uin, values)
        if not found:
            return self._meta(meta.meta_reply(cls.reply, meta.META_FAIL))
        session.update_account(values)
        return self._meta(meta.meta_reply(cls.reply))

    @defer.inlineCallbacks
    def set_password(self, session, subcommand, rest):
        """Set password: the own account only; clears "must change password"."""
        try:
            request = meta.SetPassword.parse(subcommand, rest)
        except MalformedPacket as e:
            return self._failed(session, "password change", e, meta.REPLY_PASSWORD_SET)
        try:
            yield self.accounts.set_password(session.uin, request.password)
        except NoSuchUser:
            return self._meta(meta.meta_reply(meta.REPLY_PASSWORD_SET, meta.META_FAIL))
        self.log.info("uin {uin} changed its password", uin=session.uin)
        return self._meta(meta.meta_reply(meta.REPLY_PASSWORD_SET))

    @defer.inlineCallbacks
    def unregister(self, session, subcommand, rest):
        """
        Unregister: deletes the requester's own account, and only with its
        password compared exactly.  IServerd deleted whichever UIN the packet
        named whose password matched an SQL LIKE (section 20, #14), so anyone
        logged in could delete any account.  The session ends after the reply.
        """
        try:
            request = meta.Unregister.parse(subcommand, rest)
        except MalformedPacket as e:
            return self._failed(session, "unregister", e, meta.REPLY_UNREGISTER)
        if request.uin != session.uin:
            self.log.warn("uin {uin} tried to unregister uin {target}; refused",
                          uin=session.uin, target=request.uin)
            return self._meta(meta.meta_reply(meta.REPLY_UNREGISTER, meta.META_FAIL))
        deleted = yield self.directory.unregister(session.uin, request.password)
        if not deleted:
            self.log.info("uin {uin}: unregister refused, wrong password", uin=session.uin)
            return self._meta(meta.meta_reply(meta.REPLY_UNREGISTER, meta.META_FAIL))
        self.log.info("uin {uin} unregistered its account", uin=session.uin)
        return self._meta(meta.meta_reply(meta.REPLY_UNREGISTER)) + [(END_SESSION, "unregistered")]

    # --- info requests (v5.md sections 15.4, 16) --------------------------------

    @defer.inlineCallbacks
    def _about(self, session, rest, reply, answer):
        """
        Look up the account an info request names; C{answer(target, info)}
        gives the replies, or one C{reply} with result 0x32 when it is unknown.
        """
        try:
            target = meta.UinRequest.parse(rest).uin
        except MalformedPacket as e:
            return self._failed(session, "info request", e, reply)
        info = yield self.directory.get_info(target)
        if info is None:
            return self._meta(meta.meta_reply(reply, meta.META_FAIL))
        return answer(target, info)

    def full_info(self, session, subcommand, rest):
        """The seven info replies, in the 99a or 99b forms; e-mail 1 only if not hidden."""
        b99 = subcommand in meta.INFO_99B

        def answer(target, info):
            email = info.email if target == session.uin or not info.hide_email else ""
            return self._meta(*meta.info_replies(
                self._reply(meta.GeneralInfo, info, email=email, b99=b99),
                self._reply(meta.MoreInfo, info, b99=b99),
                meta.HomepageCategory(info.homepage_category_enabled, info.homepage_category,
                                      self.wire(info.homepage_description)),
                self._reply(meta.WorkInfo, info, b99=b99),
                self._reply(meta.About, info),
                self._reply(meta.Interests, info),
                self._reply(meta.Affiliations, info),
            ))

        return self._about(session, rest, meta.REPLY_GENERAL, answer)

    def short_info(self, session, subcommand, rest):
        """Nick, names, the public e-mail (e-mail 2), auth flag and gender."""

        def answer(target, info):
            reply = self._reply(meta.ShortInfo, info, email=info.email2)
            return self._meta(meta.meta_reply(meta.REPLY_SHORT, meta.META_OK, reply.build()))

        return self._about(session, rest, meta.REPLY_SHORT, answer)

    @defer.inlineCallbacks
    def old_info(self, session, request):
        """0x0460: INFO_REPLY, or INVALID_UIN (with the request's SEQ2, section 20 #17)."""
        info = yield self.directory.get_info(request.uin)
        if info is None:
            return [(v5.SRV_INVALID_UIN, meta.invalid_uin(request.uin))]
        return [(v5.SRV_INFO_REPLY, self._reply(meta.OldInfo, info, email=info.email2).build())]

    @defer.inlineCallbacks
    def old_ext_info(self, session, request):
        """0x046A: EXT_INFO_REPLY, or INVALID_UIN."""
        info = yield self.directory.get_info(request.uin)
        if info is None:
            return [(v5.SRV_INVALID_UIN, meta.invalid_uin(request.uin))]
        return [(v5.SRV_EXT_INFO_REPLY, self._reply(meta.OldExtInfo, info).build())]

    # --- searches (v5.md sections 15.5, 16) -----------------------------------

    @property
    def max_results(self):
        return min(self.config.v5_max_search, SEARCH_PACKETS_MAX)

    @defer.inlineCallbacks
    def _search(self, session, query):
        """@return: Deferred firing with C{(found, more)}, L{meta.Found} records by UIN."""
        results, more = yield self.directory.search(query, self.max_results)
        found = []
        for r in sorted(results, key=lambda r: r.uin):
            other = self.network.sessions.get(r.uin)
            online = other is not None and other.active and visible_to(other, session.uin)
            found.append(meta.Found(r.uin, self.wire(r.nick), self.wire(r.first_name),
                                    self.wire(r.last_name), self.wire(r.email), r.auth_required,
                                    online))
        return found, more

    @defer.inlineCallbacks
    def _meta_search(self, session, subcommand, rest, build):
        try:
            query = build(rest)
        except MalformedPacket as e:
            self.log.info("uin {uin}: search 0x{sub:04x} answered 'none found': {reason}",
                          uin=session.uin, sub=subcommand, reason=str(e))
            query = None
        found, more = ([], False) if query is None else (yield self._search(session, query))
        return self._meta(*meta.search_replies(found, subcommand, more))

    def search_uin(self, session, subcommand, rest):
        return self._meta_search(session, subcommand, rest,
                                 lambda data: SearchQuery(uin=meta.UinRequest.parse(data).uin))

    def search_name(self, session, subcommand, rest):
        def build(data):
            request = meta.SearchName.parse(data)
            return SearchQuery(nick=self.text(request.nick), first_name=self.text(request.first_name),
                               last_name=self.text(request.last_name))

        return self._meta_search(session, subcommand, rest, build)

    def search_email(self, session, subcommand, rest):
        return self._meta_search(session, subcommand, rest,
                                 lambda data: SearchQuery(email=self.text(meta.SearchEmail.parse(data).email)))

    def white_pages(self, session, subcommand, rest):
        def build(data):
            r = meta.WhitePages.parse(subcommand, data)
            t = self.text
            return SearchQuery(
                first_name=t(r.first_name), last_name=t(r.last_name), nick=t(r.nick),
                any_email=t(r.email), min_age=r.min_age, max_age=r.max_age, gender=r.gender,
                language=r.language, city=t(r.city), state=t(r.state), country=r.country,
                company=t(r.company), department=t(r.department), position=t(r.position),
                occupation=r.occupation,
                past=_keywords(r.past_category, t(r.past_keywords)),
                interests=_keywords(r.interests_category, t(r.interests_keywords)),
                affiliations=_keywords(r.affiliations_category, t(r.affiliations_keywords)),
                homepage=_keywords(r.homepage_category, t(r.homepage_keywords)),
                online_only=r.online_only,
            )

        return self._meta_search(session, subcommand, rest, build)

    @defer.inlineCallbacks
    def old_search_uin(self, session, request):
        """0x041A: USER_FOUND if the UIN exists, then END_OF_SEARCH."""
        found, more = yield self._search(session, SearchQuery(uin=request.uin))
        return self._old_results(found, more)

    @defer.inlineCallbacks
    def old_search(self, session, request):
        """0x0424: USER_FOUND per result, then END_OF_SEARCH with "more"."""
        query = SearchQuery(nick=self.text(request.nick), first_name=self.text(request.first_name),
                            last_name=self.text(request.last_name), email=self.text(request.email))
        found, more = yield self._search(session, query)
        return self._old_results(found, more)

    @staticmethod
    def _old_results(found, more):
        replies = [(v5.SRV_USER_FOUND, meta.old_found(f)) for f in found]
        return replies + [(v5.SRV_END_OF_SEARCH, meta.end_of_search(more))]

    # --- the rest of META -------------------------------------------------------

    def login_meta(self, session, subcommand, rest):
        """0x07D0: IServerd's fixed answer, server command 0x001E (section 15.6)."""
        return [(v5.SRV_LOGIN_META, v5.LOGIN_META_REPLY)]

    def usage_stats(self, session, subcommand, rest):
        """0x06B8: statistics the client reports; logged, not answered."""
        self.log.debug("uin {uin} sent usage statistics ({size} bytes)", uin=session.uin, size=len(rest))
        return []

    # --- registration (v5.md section 17) ----------------------------------------

    def register(self, packet, addr):
        """
        REG_NEW_USER, before any login.  Disabled: the ACK variant with
        result 0x32 (IServerd sent nothing, leaving the client to time out).
        Automatic: a new account, the ACK variant with 0x0A and NEW_UIN; the
        post-registration text is stored as the new user's first offline
        message.  Manual: the request waits for the administrator and gets a
        plain ACK.  A source address registers at most once a minute; a
        password the LOGIN could not carry (empty, over 20 bytes) is refused.
        """
        request = v5.RegisterRequest.parse(packet.data)
        host = addr[0]
        key = (host, packet.session_id, packet.seq1)
        answer = self.registrations.recall(key)
        if answer is not None:
            if answer is not PENDING:  # else the answer is on its way
                self._answer_registration(packet, addr, request, *answer)
            return None
        refusal = None
        if not self.config.v5_registration:
            refusal = "registration is disabled"
        elif not 1 <= len(request.password) <= meta.PASSWORD_LIMIT:
            refusal = "a password of %d bytes" % (len(request.password),)
        elif len(request.email) > 63:
            refusal = "an e-mail address of %d bytes" % (len(request.email),)
        elif self.registrations.too_soon(host):
            refusal = "another registration from this address less than %d s ago" % (
                self.registrations.interval,)
        if refusal is not None:
            self.log.info("registration from {host} refused: {reason}", host=host, reason=refusal)
            return self._answer_registration(packet, addr, request, REFUSED, 0, key)
        email = self.text(request.email.split(b"\x00", 1)[0])
        self.registrations.start(key, host)
        if self.config.v5_auto_registration:
            d = self.directory.register(request.password, email)
        else:
            d = self.directory.queue_registration(request.password, email, host)

        def done(number):
            if not self.config.v5_auto_registration:
                self.log.info("registration from {host} queued for the administrator (request {id})",
                              host=host, id=number)
                return self._answer_registration(packet, addr, request, QUEUED, 0, key)
            self.log.info("uin {uin} registered from {host}", uin=number, host=host)
            self._answer_registration(packet, addr, request, REGISTERED, number, key)
            return self._welcome(number, request.password)

        def unavailable(failure):
            failure.trap(DatabaseUnavailable)
            self.registrations.failed(key, host)
            self.log.warn("registration from {host} not answered, database unavailable", host=host)

        return d.addCallbacks(done, unavailable)

    def _answer_registration(self, packet, addr, request, outcome, uin, key=None):
        if key is not None:
            self.registrations.answered(key, (outcome, uin))
        if outcome == QUEUED:
            self.handler.ack(packet, addr)
            return
        self.handler.ack(packet, addr, v5.registration_ack(outcome == REGISTERED, request.x2))
        if outcome == REGISTERED:
            self.handler.send(v5.new_uin(packet.seq2, uin, request.x2), addr)

    def _welcome(self, uin, password):
        """Store the post-registration text (%U% the UIN, %P% the password) for the first login."""
        text = self.config.post_register_text
        if not text:
            return None
        text = text.replace("\\n", "\r\n").replace("%U%", str(uin)).replace("%P%", self.text(password))
        sent_at = utc(self.network.now())
        d = self.accounts.store_message(uin, SYSTEM_UIN, sent_at, MSG_NORMAL, self.wire(text))
        d.addErrback(lambda f: self.log.failure("welcome text for uin {uin} not stored", f, uin=uin))
        return d
