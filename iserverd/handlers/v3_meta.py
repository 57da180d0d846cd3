# -*- test-case-name: tests.test_v3_meta -*-
"""
ICQ v3 user information, notes, search and registration: the handler behind
the GET_INFO, SET_*, SEARCH_START and REG_* commands.

L{iserverd.handlers.v3.V3Handler} owns the socket side: it checks the session
and hands these packets to L{V3Meta}, as the v5 handler does with
L{iserverd.handlers.v5_meta.V5Meta}.

Info requests, updates, notes, the password and the authorization flag work
on the L{iserverd.storage.directory.IDirectory} that v5 uses, so both see the
same accounts.  Each is one Deferred chain: the database work, then the ACK,
then the replies, reliable and carrying the request's SEQ2.  While the
database is away nothing is acknowledged, so the client sends the request
again.  A field over its limit is refused with the ACK and no C{*_OK} (the
client's request times out); the session goes on (IServerd disconnected the
user, v3.md section 21 #13).  The header UIN is always the one changed, and
the session check ties it to the sender's address, so nobody changes another
user's account.

The auth byte of INFO_BASIC, INFO_SINGLE and SEARCH_FOUND is in the SET_AUTH
sense: 1 = no authorization needed, 0 = needed (v3.md section 21 #9).
Contact lists, USER_ADD and type 8 messages go through the authorization
check shared with v5 (L{iserverd.core.authorization}).

A search compares one field: text case-insensitively with the mode's true
meaning (IServerd inverted "begins with" and "ends with"), numbers (UIN, age,
countries, department) by equality; at most C{V3 max search} results, and
SEARCH_DONE says whether there were more (v3.md section 14).

Registration needs no login.  REG_REQUEST_INFO gets the form's texts and the
department list in three unreliable fragments; REG_NEW_USER_INFO creates the
account with a random password (C{V3 auto registration}) or queues the form
for the administrator (C{iserverd-admin requests}, C{approve}, C{reject}),
and REGISTRATION_OK tells the user which.  When C{V3 registration enabled} is
off nothing is stored and REGISTRATION_OK carries the refusal (IServerd
registered anyway, v3.md section 21 #18).  One source address registers at
most once a minute, as in v5.
"""

from twisted.internet import defer
from twisted.logger import Logger

from iserverd.codec import v3
from iserverd.core.guards import RegistrationGuard, PENDING, reply_when_done
from iserverd.core.reliable import SEARCH_PACKETS_MAX
from iserverd.speakers.v3 import DEPARTMENT_LIST_VERSION, encode_departments
from iserverd.storage.departments import MAX_DEPARTMENTS
from iserverd.storage.interfaces import DatabaseUnavailable, NoSuchUser
from iserverd.storage.passwords import new_password

# Longest notes (v3.md 13.4, inferred) and home pages (IServerd, NUL included).
NOTES_LIMIT = 1024
PAGE_LIMIT = 128
# A new password must fit a LOGON (v3.md 7.1).
PASSWORD_LIMIT = v3.Logon.PASSWORD_LIMIT
# REGISTER_INFO notes and REGISTRATION_OK texts, NUL included (v3.md 15).
NOTES_TEXT_LIMIT = 512
REGISTRATION_TEXT_LIMIT = 512

TEXT_REGISTERED = ("Registration complete.\r\nYour UIN is %U% and your password is %P%.\r\n"
                   "Please change the password once you are logged in.")
TEXT_QUEUED = ("Your registration request (number %d) was sent to the administrator.\r\n"
               "You will get your UIN and password by e-mail.")
TEXT_REGISTRATION_DISABLED = "Registration is disabled on this server.\r\nAsk the administrator (%s) for an account."
TEXT_REGISTRATION_TOO_SOON = ("Only one registration a minute is accepted from your address.\r\n"
                              "Try again later.")
TEXT_REGISTRATION_TOO_LONG = "Registration refused: the %s field is too long."

# Values clients send for "none" in ZIP and department DWORDs.
_NONE_NUMBERS = (0, 0xFFFF, 0xFFFFFFFF)

def _fit(value, limit):
    """C{value} if it fits 0..C{limit}, else 0 (a field the reply cannot carry is shown empty)."""
    return value if isinstance(value, int) and 0 <= value <= limit else 0


def _number_text(value):
    """A ZIP or department DWORD as stored text; 0, 0xFFFF and 0xFFFFFFFF mean none."""
    return "" if value in _NONE_NUMBERS else str(value)


def _text_number(text):
    """Stored ZIP or department text as a DWORD; anything else is 0 (shown empty)."""
    text = text.strip()
    if text.isascii() and text.isdigit() and int(text) <= 0xFFFFFFFF:
        return int(text)
    return 0


def _year_in(value):
    """
    A birth-year WORD as a full year: IServerd sends year - 1900, the spec's
    dump two digits (79); both are below 200.  A full year is kept.
    """
    if 1 <= value < 200:
        return 1900 + value
    if 1000 <= value <= 9999:
        return value
    return 0


def _year_out(year):
    """A stored year as INFO_HOME's WORD, year - 1900 (IServerd)."""
    return _fit(year - 1900, 0xFFFF) if year else 0


def _age_in(value):
    return value if value <= 150 else 0


def _auth_byte(auth_required):
    """The auth byte of info and search replies, in the SET_AUTH sense (v3.md 21 #9)."""
    return 0 if auth_required else 1



class V3Meta:
    """
    @ivar table: command code to a method taking C{(packet, addr)}, for the
        commands that need no session (registration).
    @ivar session_commands: command code to a method taking C{(session,
        request)} that returns (or fires with) the replies as C{(server
        command, data)} pairs; L{handle} serves them once the session is
        checked.
    """

    log = Logger()

    def __init__(self, handler, directory, departments, accounts):
        """
        @param directory: the L{iserverd.storage.directory.IDirectory}.
        @param departments: the L{iserverd.storage.departments.IDepartmentStore}.
        @param accounts: the L{iserverd.storage.interfaces.IUserStore}
            (passwords, last logins).
        """
        self.handler = handler
        self.network = handler.network
        self.config = handler.config
        self.directory = directory
        self.departments = departments
        self.accounts = accounts
        self.charset = self.config.client_charset
        self.registrations = RegistrationGuard(self.network.clock)
        self.table = {
            v3.CMD_REG_REQUEST_INFO: self.registration_info,
            v3.CMD_REG_NEW_USER_INFO: self.register,
        }
        self.session_commands = {
            v3.CMD_GET_INFO: self.get_info,
            v3.CMD_GET_INFO1: self.get_info1,
            v3.CMD_GET_NOTES: self.get_notes,
            v3.CMD_SET_NOTES: self.set_notes,
            v3.CMD_SET_BASIC_INFO: self.set_basic_info,
            v3.CMD_SET_HOME_INFO: self.set_home_info,
            v3.CMD_SET_HOME_PAGE: self.set_home_page,
            v3.CMD_SET_WORK_INFO: self.set_work_info,
            v3.CMD_SET_WORK_PAGE: self.set_work_page,
            v3.CMD_SET_AUTH: self.set_auth,
            v3.CMD_SET_PASSWORD: self.set_password,
            v3.CMD_SEARCH_START: self.search,
        }

    def handle(self, session, packet, addr, request):
        """
        One of L{session_commands} from a checked session.

        @return: Deferred firing when the replies are sent.
        """
        d = defer.maybeDeferred(self.session_commands[packet.command], session, request)
        return reply_when_done(self.handler, session, packet, addr, d)

    # --- text -------------------------------------------------------------------

    def text(self, value):
        """Client bytes to stored Unicode, up to the first NUL (PostgreSQL text holds none)."""
        return value.split(b"\x00", 1)[0].decode(self.charset, "replace")

    def wire(self, value):
        """Stored Unicode to client bytes."""
        return value.encode(self.charset, "replace")

    # --- user information (v3.md section 13) ------------------------------------

    def _basic(self, info):
        """INFO_BASIC / INFO_SINGLE; the e-mail is the public one (e-mail 2, v3.md 13.1)."""
        return v3.InfoBasic(self.wire(info.nick), self.wire(info.first_name), self.wire(info.last_name),
                            self.wire(info.email2), _auth_byte(info.auth_required))

    def _home(self, info):
        return v3.HomeInfo(
            street=self.wire(info.home_address), city=self.wire(info.home_city),
            state=self.wire(info.home_state), country=_fit(info.home_country, 0xFFFF),
            phone=self.wire(info.home_phone), fax=self.wire(info.home_fax),
            cellular=self.wire(info.home_cell), zip=_text_number(info.home_zip),
            gender=_fit(info.gender, 0xFF), age=_fit(info.age, 0xFFFF),
            birth_day=_fit(info.birth_day, 0xFF), birth_month=_fit(info.birth_month, 0xFF),
            birth_year=_year_out(info.birth_year),
        )

    def _work(self, info):
        return v3.WorkInfo(
            street=self.wire(info.work_address), city=self.wire(info.work_city),
            state=self.wire(info.work_state), country=_fit(info.work_country, 0xFFFF),
            company=self.wire(info.work_company), title=self.wire(info.work_title),
            department=_text_number(info.work_department_code), phone=self.wire(info.work_phone),
            fax=self.wire(info.work_fax), pager=self.wire(info.work_pager),
            zip=_text_number(info.work_zip),
        )

    @staticmethod
    def _invalid(uin):
        return [(v3.SRV_INVALID_UIN, v3.UinBody(uin).build())]

    @defer.inlineCallbacks
    def get_info(self, session, request):
        """GET_INFO: INFO_BASIC, INFO_HOME, INFO_HOME_PAGE, INFO_WORK, INFO_WORK_PAGE, or INVALID_UIN."""
        info = yield self.directory.get_info(request.uin)
        if info is None:
            return self._invalid(request.uin)
        return [
            (v3.SRV_INFO_BASIC, self._basic(info).build()),
            (v3.SRV_INFO_HOME, self._home(info).build()),
            (v3.SRV_INFO_HOME_PAGE, v3.Text(self.wire(info.homepage)).build()),
            (v3.SRV_INFO_WORK, self._work(info).build()),
            (v3.SRV_INFO_WORK_PAGE, v3.Text(self.wire(info.work_homepage)).build()),
        ]

    @defer.inlineCallbacks
    def get_info1(self, session, request):
        """GET_INFO1: INFO_SINGLE (the INFO_BASIC layout), or INVALID_UIN."""
        info = yield self.directory.get_info(request.uin)
        if info is None:
            return self._invalid(request.uin)
        return [(v3.SRV_INFO_SINGLE, self._basic(info).build())]

    @defer.inlineCallbacks
    def get_notes(self, session, request):
        """
        GET_NOTES: NOTES with the notes, the last login time and address, or
        INVALID_UIN.  The address is 0.0.0.0 for users who hide it; when the
        notes changed is not kept, so that time is 0.
        """
        info = yield self.directory.get_info(request.uin)
        if info is None:
            return self._invalid(request.uin)
        account = yield self.accounts.get_account(request.uin)
        last_login, ip = 0, "0.0.0.0"
        if account is not None:
            if account.last_login_at is not None:
                last_login = _fit(int(account.last_login_at.timestamp()), 0xFFFFFFFF)
            shown = request.uin == session.uin or not info.hide_ip
            if shown and account.last_login_ip and "." in account.last_login_ip:
                ip = account.last_login_ip
        return [(v3.SRV_NOTES, v3.Notes(self.wire(info.notes), 0, last_login, ip).build())]

    def _refused(self, session, what, reason):
        self.log.info("uin {uin}: {what} refused: {reason}", uin=session.uin, what=what, reason=reason)
        return []

    def _oversized(self, session, what, request):
        names = request.oversized()
        if names:
            return self._refused(session, what, "over-long " + ", ".join(names))
        return None

    @defer.inlineCallbacks
    def _update(self, session, what, values, ok):
        """Store info columns of the sender's own account; C{ok} is the reply."""
        found = yield self.directory.update_info(session.uin, values)
        if not found:
            return self._refused(session, what, "no such account")
        session.update_account(values)
        return [(ok, b"")]

    def set_basic_info(self, session, request):
        """SET_BASIC_INFO: nick, names and the e-mail, stored as e-mail 1 and 2; SET_BASIC_INFO_OK."""
        refused = self._oversized(session, "basic info", request)
        if refused is not None:
            return refused
        email = self.text(request.email)
        values = dict(nick=self.text(request.nick), first_name=self.text(request.first),
                      last_name=self.text(request.last), email=email, email2=email)
        return self._update(session, "basic info", values, v3.SRV_SET_BASIC_INFO_OK)

    def set_home_info(self, session, request):
        """SET_HOME_INFO: address, phones, ZIP, gender, age and birthday; SET_HOME_INFO_OK."""
        refused = self._oversized(session, "home info", request)
        if refused is not None:
            return refused
        t = self.text
        values = dict(
            home_address=t(request.street), home_city=t(request.city), home_state=t(request.state),
            home_country=request.country, home_phone=t(request.phone), home_fax=t(request.fax),
            home_cell=t(request.cellular), home_zip=_number_text(request.zip), gender=request.gender,
            age=_age_in(request.age), birth_day=request.birth_day, birth_month=request.birth_month,
            birth_year=_year_in(request.birth_year),
        )
        return self._update(session, "home info", values, v3.SRV_SET_HOME_INFO_OK)

    def set_work_info(self, session, request):
        """SET_WORK_INFO (with or without the spec's fourth string): SET_WORK_INFO_OK."""
        refused = self._oversized(session, "work info", request)
        if refused is not None:
            return refused
        t = self.text
        values = dict(
            work_address=t(request.street), work_city=t(request.city), work_state=t(request.state),
            work_country=request.country, work_company=t(request.company), work_title=t(request.title),
            work_department_code=_number_text(request.department), work_phone=t(request.phone),
            work_fax=t(request.fax), work_pager=t(request.pager), work_zip=_number_text(request.zip),
        )
        return self._update(session, "work info", values, v3.SRV_SET_WORK_INFO_OK)

    def _set_text(self, session, request, what, column, limit, ok):
        if len(request.text) + 1 > limit:
            return self._refused(session, what, "%d bytes" % (len(request.text),))
        return self._update(session, what, {column: self.text(request.text)}, ok)

    def set_home_page(self, session, request):
        """SET_HOME_PAGE: SET_HOME_PAGE_OK."""
        return self._set_text(session, request, "home page", "homepage", PAGE_LIMIT, v3.SRV_SET_HOME_PAGE_OK)

    def set_work_page(self, session, request):
        """SET_WORK_PAGE: SET_WORK_PAGE_OK."""
        return self._set_text(session, request, "work page", "work_homepage", PAGE_LIMIT,
                              v3.SRV_SET_WORK_PAGE_OK)

    def set_notes(self, session, request):
        """SET_NOTES: up to 1024 bytes (longer ones are refused); SET_NOTES_OK."""
        return self._set_text(session, request, "notes", "notes", NOTES_LIMIT + 1, v3.SRV_SET_NOTES_OK)

    def set_auth(self, session, request):
        """SET_AUTH: the last data byte, 0 = authorization required (v3.md 21 #9); SET_AUTH_OK."""
        return self._update(session, "authorization flag", {"auth_required": request.auth_required},
                            v3.SRV_SET_AUTH_OK)

    @defer.inlineCallbacks
    def set_password(self, session, request):
        """
        SET_PASSWORD (LNTS at offset 0 or 4, v3.md 21 #10): stored as a
        salted hash, "must change password" cleared, then SET_PASSWORD_OK.
        A password a LOGON could not carry (empty, over 20 bytes) is refused.
        """
        password = request.password
        if not 1 <= len(password) <= PASSWORD_LIMIT or b"\x00" in password:
            return self._refused(session, "password change", "a password of %d bytes" % (len(password),))
        try:
            yield self.accounts.set_password(session.uin, password)
        except NoSuchUser:
            return self._refused(session, "password change", "no such account")
        self.log.info("uin {uin} changed its password", uin=session.uin)
        return [(v3.SRV_SET_PASSWORD_OK, b"")]

    # --- search (v3.md section 14) ----------------------------------------------

    @property
    def max_results(self):
        return min(self.config.v3_max_search, SEARCH_PACKETS_MAX)

    def _search_criterion(self, request):
        """The directory's field, mode and value for a SEARCH_START (None parts find nothing)."""
        field = v3.SEARCH_FIELDS.get(request.field)
        mode = v3.SEARCH_MODES.get(request.mode)
        if field == "department":
            # A WORD compared with the stored department code.
            return field, "is", _number_text(request.number or 0)
        if request.field in v3.SEARCH_NUMERIC_FIELDS:
            return field, mode, request.number
        if field in ("uin", "age"):
            text = self.text(request.text).strip()
            return field, mode, int(text) if text.isascii() and text.isdigit() else None
        return field, mode, self.text(request.text)

    @defer.inlineCallbacks
    def search(self, session, request):
        """
        SEARCH_START: one SEARCH_FOUND per result (by UIN), then SEARCH_DONE
        with "more" set when results were cut.  An unknown field or mode, or
        an empty text, finds nothing.
        """
        field, mode, value = self._search_criterion(request)
        results, more = yield self.directory.search_field(field, mode, value, self.max_results)
        w = self.wire
        replies = [
            (v3.SRV_SEARCH_FOUND, v3.SearchFound(r.uin, w(r.nick), w(r.first_name), w(r.last_name),
                                                 w(r.email), _auth_byte(r.auth_required)).build())
            for r in sorted(results, key=lambda r: r.uin)
        ]
        return replies + [(v3.SRV_SEARCH_DONE, v3.SearchDone(int(more)).build())]

    # --- registration (v3.md section 15) ----------------------------------------

    def registration_info(self, packet, addr):
        """
        REG_REQUEST_INFO, before any login: the ACK, then REGISTER_INFO in
        three unreliable fragments with the administrator's notes, whether
        registration is enabled, and the department list.
        """
        d = self.departments.departments(MAX_DEPARTMENTS)

        def send(departments):
            self.handler.ack(packet, addr)
            notes = self.wire(self.config.v3_registration_notes.replace("\\n", "\r\n"))
            info = v3.RegisterInfo(
                notes[: NOTES_TEXT_LIMIT - 1], int(bool(self.config.v3_registration)),
                DEPARTMENT_LIST_VERSION, encode_departments(departments, self.charset),
            )
            for datagram in v3.split_register_info(info, packet.seq2, packet.uin):
                self.handler.send(datagram, addr)

        def unavailable(failure):
            failure.trap(DatabaseUnavailable)
            self.log.warn("registration form for {host} not sent, database unavailable", host=addr[0])

        return d.addCallbacks(send, unavailable)

    def _form(self, request):
        """The account details of a registration form, as users columns."""
        t = self.text
        return dict(
            nick=t(request.nick), first_name=t(request.first), last_name=t(request.last),
            email3=t(request.email), gender=request.gender,
            home_address=t(request.home_street), home_city=t(request.home_city),
            home_state=t(request.home_state), home_country=request.home_country,
            home_phone=t(request.home_phone), home_fax=t(request.home_fax),
            home_cell=t(request.home_cellular), home_zip=_number_text(request.home_zip),
            age=_age_in(request.age), birth_day=request.birth_day, birth_month=request.birth_month,
            birth_year=_year_in(request.birth_year), homepage=t(request.home_page),
            work_address=t(request.work_street), work_city=t(request.work_city),
            work_state=t(request.work_state), work_country=request.work_country,
            work_company=t(request.company), work_title=t(request.title),
            work_department_code=_number_text(request.department), work_phone=t(request.work_phone),
            work_fax=t(request.work_fax), work_pager=t(request.work_pager),
            work_zip=_number_text(request.work_zip), work_homepage=t(request.work_page),
        )

    def register(self, packet, addr):
        """
        REG_NEW_USER_INFO, before any login: the ACK once the account or the
        request is stored, then REGISTRATION_OK with the text to show: the
        new UIN and password (automatic), the request's number (manual) or
        why nothing was stored (registration disabled, a field over its
        limit, another registration from this address less than a minute
        ago).  A resend of a request already answered gets the same answer.
        """
        request = v3.RegNewUserInfo.parse(packet.data)
        host = addr[0]
        key = (host, addr[1], packet.seq1, packet.seq2)
        answer = self.registrations.recall(key)
        if answer is not None:
            if answer is not PENDING:
                self._answer_registration(packet, addr, answer)
            return None
        refusal = None
        oversized = request.oversized()
        if not self.config.v3_registration:
            refusal, text = "registration is disabled", TEXT_REGISTRATION_DISABLED % (self.config.admin_email,)
        elif oversized:
            refusal, text = "over-long " + ", ".join(oversized), TEXT_REGISTRATION_TOO_LONG % (oversized[0],)
        elif self.registrations.too_soon(host):
            refusal = "another registration from this address less than %d s ago" % (
                self.registrations.interval,)
            text = TEXT_REGISTRATION_TOO_SOON
        if refusal is not None:
            self.log.info("v3 registration from {host} refused: {reason}", host=host, reason=refusal)
            self.registrations.answered(key, text)
            return self._answer_registration(packet, addr, text)
        self.registrations.start(key, host)
        info = self._form(request)
        email = info["email3"]
        auto = self.config.v3_auto_registration
        password = new_password() if auto else None
        if auto:
            d = self.directory.register(password, email, info)
        else:
            # The form has no password: the administrator's approval sets one.
            d = self.directory.queue_registration(None, email, host, info)

        def done(number):
            if auto:
                self.log.info("uin {uin} registered from {host} (v3)", uin=number, host=host)
                text = self._registered_text(number, password)
            else:
                self.log.info("v3 registration from {host} queued for the administrator (request {id})",
                              host=host, id=number)
                text = TEXT_QUEUED % (number,)
            self.registrations.answered(key, text)
            self._answer_registration(packet, addr, text)

        def unavailable(failure):
            failure.trap(DatabaseUnavailable)
            self.registrations.failed(key, host)
            self.log.warn("v3 registration from {host} not answered, database unavailable", host=host)

        return d.addCallbacks(done, unavailable)

    def _registered_text(self, uin, password):
        """TEXT_REGISTERED, then the post-registration text; %U% the UIN, %P% the password."""
        text = TEXT_REGISTERED
        if self.config.post_register_text:
            text += "\r\n" + self.config.post_register_text.replace("\\n", "\r\n")
        return text.replace("%U%", str(uin)).replace("%P%", password.decode("ascii"))

    def _answer_registration(self, packet, addr, text):
        """The ACK, then REGISTRATION_OK: SEQ1 and SEQ2 the request's, unreliable (v3.md 15)."""
        self.handler.ack(packet, addr)
        data = v3.Text(self.wire(text)[: REGISTRATION_TEXT_LIMIT - 1]).build()
        self.handler.send(v3.encode(v3.reply_to(packet, v3.SRV_REGISTRATION_OK, data, seq1=packet.seq1)), addr)
