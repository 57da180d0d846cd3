# -*- test-case-name: tests.test_web_accounts -*-
"""
Sign-up (C{/register}) and one's own account (C{/account}).

Sign-up follows the rules of client registration: C{Web registration
enabled} opens it, C{Web auto registration} creates the account at once (its
UIN shown once, the post-registration text stored as its first offline
message) or else queues it for the administrator.  It shares the guard of
client registration (one registration per address a minute) and adds a
daily limit per visitor address.

The account page logs in with UIN and password through the same login
throttle as the clients, so the web is no faster way to guess passwords.
"""

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import resource, server

from iserverd.codec import v3, v5
from iserverd.core.network import SYSTEM_UIN, utc
from iserverd.core.ratelimit import BucketTable
from iserverd.storage.interfaces import DatabaseUnavailable
from iserverd.web import indicator
from iserverd.web.forms import csrf_ok, hidden_token
from iserverd.web.layout import escape
from iserverd.web.safety import client_address

MSG_NORMAL = 0x0001
PASSWORD_MIN = 4
# The longest password every client's LOGIN can carry.
PASSWORD_MAX = min(v5.PASSWORD_LIMIT, v3.Logon.PASSWORD_LIMIT)
# Longest nick, names and e-mail, in characters (what the info packets hold comfortably).
MAX_NAME = 20
MAX_EMAIL = 63
DAY = 86400.0

EXPIRED = ("<p class=\"notice\">This form has expired or did not come from this site. "
           "Please reload the page and try again.</p>")


def field(request, name):
    values = request.args.get(name.encode("ascii"))
    return values[0].decode("utf-8", "replace") if values else ""


def one_line(text):
    return "".join(c if c >= " " else " " for c in text).strip()


def problem_list(problems):
    if not problems:
        return ""
    return '<ul class="problems">%s</ul>\n' % "".join("<li>%s</li>" % escape(p) for p in problems)


def check_password(password, again, charset, problems):
    """
    @return: the password in the clients' charset, or L{None} (the reason
        added to C{problems}).
    """
    if password != again:
        problems.append("The two passwords differ.")
        return None
    try:
        encoded = password.encode(charset)
    except UnicodeEncodeError:
        problems.append("The password has characters ICQ clients cannot type here; use plain letters and digits.")
        return None
    if not PASSWORD_MIN <= len(encoded) <= PASSWORD_MAX:
        problems.append("The password needs %d to %d characters." % (PASSWORD_MIN, PASSWORD_MAX))
        return None
    return encoded


def check_details(nick, first, last, email, problems, need_nick=True):
    if need_nick and not nick:
        problems.append("Choose a nick.")
    for what, value, limit in (("nick", nick, MAX_NAME), ("first name", first, MAX_NAME),
                               ("last name", last, MAX_NAME), ("e-mail", email, MAX_EMAIL)):
        if len(value) > limit:
            problems.append("The %s is too long: at most %d characters." % (what, limit))
    if email and ("@" not in email or " " in email):
        problems.append("The e-mail address does not look right.")


def _input(name, label, value="", kind="text", limit=MAX_NAME, extra="", hint=""):
    hint = ' <span class="hint">%s</span>' % (escape(hint),) if hint else ""
    return ('<p><label for="%(n)s">%(l)s%(h)s</label><input id="%(n)s" name="%(n)s" type="%(k)s" '
            'value="%(v)s" maxlength="%(m)d"%(x)s></p>'
            % {"n": name, "l": escape(label), "h": hint, "k": kind, "v": escape(value), "m": limit, "x": extra})


class Register(resource.Resource):
    """
    C{/register}: the sign-up form and what its POST creates.

    @ivar registrations: the registration guard shared with the clients'
        registration (L{iserverd.core.guards.RegistrationGuard}).
    @ivar daily: a bucket per visitor address, C{Web registrations per
        address} a day.
    """

    isLeaf = True
    log = Logger()

    def __init__(self, network, directory, accounts, config, layout, registrations, clock, proxies=(),
                 invites=None):
        resource.Resource.__init__(self)
        self.network = network
        self.directory = directory
        self.accounts = accounts
        self.config = config
        self.layout = layout
        self.registrations = registrations
        self.clock = clock
        self.proxies = proxies
        self.invites = invites
        per_day = config.web_registration_per_address
        self.daily = BucketTable(per_day / DAY, per_day, capacity=4096)
        self._posts = 0

    def page(self, request, code, title, body):
        return self.layout.respond(request, code, title, body, current="register")

    def closed(self, request):
        return self.page(request, 404, "Sign up",
                         "<p class=\"notice\">This network does not take new sign-ups on the web. "
                         "Ask its administrator for an account.</p>")

    def form(self, request, values=None, problems=()):
        values = values or {}
        approval = ("" if self.config.web_auto_registration else
                    "<p class=\"muted\">New accounts on this network are approved by its administrator.</p>")
        invite = ""
        if self.config.web_invite_only:
            invite = _input("invite", "Invite code", values.get("invite", ""), limit=40, extra=" required")
        return (
            "<p class=\"lead\">Get your own UIN on %s, then log in with any ICQ client.</p>\n%s"
            "<form method=\"post\" action=\"register\" accept-charset=\"utf-8\" class=\"card narrow\">\n%s\n"
            "%s\n<div class=\"row2\">%s%s</div>\n%s\n<div class=\"row2\">%s%s</div>\n%s%s"
            "<p><button type=\"submit\">Create my account</button></p>\n</form>"
            % (escape(self.config.web_name), problem_list(problems), hidden_token(request),
               _input("nick", "Nick", values.get("nick", ""), extra=" required autocomplete=\"nickname\""),
               _input("first", "First name", values.get("first", ""), extra=" autocomplete=\"given-name\""),
               _input("last", "Last name", values.get("last", ""), extra=" autocomplete=\"family-name\""),
               _input("email", "E-mail", values.get("email", ""), kind="email", limit=MAX_EMAIL,
                      extra=" autocomplete=\"email\"", hint="(optional)"),
               _input("password", "Password", kind="password", limit=PASSWORD_MAX,
                      extra=" required autocomplete=\"new-password\"",
                      hint="(%d to %d characters)" % (PASSWORD_MIN, PASSWORD_MAX)),
               _input("password2", "Password again", kind="password", limit=PASSWORD_MAX,
                      extra=" required autocomplete=\"new-password\""),
               invite, approval)
        )

    def render_GET(self, request):
        if not self.config.web_registration:
            return self.closed(request)
        return self.page(request, 200, "Sign up", self.form(request))

    def render_POST(self, request):
        if not self.config.web_registration:
            return self.closed(request)
        if not csrf_ok(request):
            return self.page(request, 403, "Sign up", EXPIRED)
        values = {name: one_line(field(request, name)) for name in ("nick", "first", "last", "email", "invite")}
        password, again = field(request, "password"), field(request, "password2")
        problems = []
        check_details(values["nick"], values["first"], values["last"], values["email"], problems)
        encoded = check_password(password, again, self.config.client_charset, problems)
        if problems:
            return self.page(request, 400, "Sign up", self.form(request, values, problems))
        host = client_address(request, self.proxies)
        if self.registrations.too_soon(host) or not self.daily.allow(host, self.clock.seconds()):
            self.log.info("web registration from {host} refused: rate limit", host=host)
            request.setHeader(b"retry-after", b"60")
            return self.page(request, 429, "Sign up",
                             "<p class=\"notice\">Too many sign-ups from your address just now. "
                             "Please try again later.</p>")
        self._posts += 1
        key = ("web", host, self._posts)
        self.registrations.start(key, host)
        d = self._register(request, values, encoded, host, key)
        d.addErrback(self._failed, request, key, host)
        return server.NOT_DONE_YET

    @defer.inlineCallbacks
    def _register(self, request, values, password, host, key):
        if self.invites is not None and self.config.web_invite_only:
            used = yield self.invites.use_invite(values["invite"])
            if not used:
                self.registrations.failed(key, host)
                return self._finish(request, 400, "Sign up",
                                    self.form(request, values, ["That invite code is not valid."]))
        info = {"nick": values["nick"], "first_name": values["first"], "last_name": values["last"]}
        if not self.config.web_auto_registration:
            number = yield self.directory.queue_registration(password, values["email"], host, info)
            self.registrations.answered(key, ("queued", number))
            self.log.info("web registration from {host} queued for the administrator (request {id})",
                          host=host, id=number)
            return self._finish(request, 200, "Waiting for approval",
                                "<div class=\"card narrow\"><p class=\"done\">Thank you. Your sign-up is "
                                "waiting for approval by the administrator.</p><p class=\"muted\">Once it is "
                                "approved you will get your UIN%s.</p></div>"
                                % (" by e-mail" if values["email"] else " from the administrator"))
        uin = yield self.directory.register(password, values["email"], info)
        self.registrations.answered(key, ("registered", uin))
        self.log.info("uin {uin} registered on the web from {host}", uin=uin, host=host)
        yield self._welcome(uin, password)
        return self._finish(
            request, 200, "Welcome, %s" % (values["nick"],),
            "<div class=\"card narrow\"><p>Your new UIN is</p><p class=\"uin\" id=\"new-uin\">%d</p>"
            "<p class=\"notice\">Write it down: it is shown only this once.</p>"
            "<p>Log in with it and your password from any ICQ client pointed at this server, "
            "or manage your account here.</p>"
            "<p><a class=\"button\" href=\"account\">My account</a></p></div>"
            "<p class=\"muted\">Nick: %s</p>" % (uin, escape(values["nick"])))

    def _welcome(self, uin, password):
        """The post-registration text as the first offline message (%U% the UIN, %P% the password)."""
        text = self.config.post_register_text
        if not text:
            return None
        charset = self.config.client_charset
        text = (text.replace("\\n", "\r\n").replace("%U%", str(uin))
                .replace("%P%", password.decode(charset, "replace")))
        d = self.accounts.store_message(uin, SYSTEM_UIN, utc(self.network.now()), MSG_NORMAL,
                                        text.encode(charset, "replace"))
        d.addErrback(lambda f: self.log.failure("welcome text for uin {uin} not stored", f, uin=uin))
        return d

    def _failed(self, failure, request, key, host):
        self.registrations.failed(key, host)
        if failure.check(DatabaseUnavailable):
            self.log.warn("web registration from {host} failed: database unavailable", host=host)
        else:
            self.log.failure("web registration from {host} failed", failure, host=host)
        self._finish(request, 503, "Sign up",
                     "<p class=\"notice\">Your account could not be created just now. Please try again later.</p>")

    def _finish(self, request, code, title, body):
        if request.channel is None:
            return
        request.write(self.page(request, code, title, body))
        request.finish()


class Account(resource.Resource):
    """
    C{/account}: log in, see one's status, change the password and the
    public details, log out.  Every POST names what it does in C{do}.
    """

    isLeaf = True
    log = Logger()

    def __init__(self, network, directory, accounts, config, layout, sessions, proxies=()):
        resource.Resource.__init__(self)
        self.network = network
        self.directory = directory
        self.accounts = accounts
        self.config = config
        self.layout = layout
        self.sessions = sessions
        self.proxies = proxies

    def page(self, request, code, title, body):
        return self.layout.respond(request, code, title, body, current="account")

    def login_form(self, request, uin="", problems=()):
        return (
            "<p class=\"lead\">Log in with your UIN and password to manage your account.</p>\n%s"
            "<form method=\"post\" action=\"account\" accept-charset=\"utf-8\" class=\"card narrow\">\n%s\n"
            "<input type=\"hidden\" name=\"do\" value=\"login\">\n"
            "<p><label for=\"uin\">UIN</label><input id=\"uin\" name=\"uin\" value=\"%s\" maxlength=\"10\" "
            "inputmode=\"numeric\" required autocomplete=\"username\"></p>\n"
            "<p><label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" "
            "maxlength=\"%d\" required autocomplete=\"current-password\"></p>\n"
            "<p><button type=\"submit\">Log in</button></p>\n</form>%s"
            % (problem_list(problems), hidden_token(request), escape(uin), PASSWORD_MAX,
               "<p class=\"muted\">No account yet? <a href=\"register\">Sign up</a>.</p>"
               if self.config.web_registration else "")
        )

    def render_GET(self, request):
        uin = self.sessions.uin(request)
        if uin is None:
            return self.page(request, 200, "Log in", self.login_form(request))
        d = self.directory.get_info(uin)
        d.addCallback(self._show, request, uin)
        d.addErrback(self._failed, request)
        return server.NOT_DONE_YET

    def render_POST(self, request):
        if not csrf_ok(request):
            return self.page(request, 403, "My account", EXPIRED)
        action = field(request, "do")
        if action == "login":
            d = self._login(request)
        else:
            uin = self.sessions.uin(request)
            if uin is None:
                return self.page(request, 200, "Log in", self.login_form(
                    request, problems=["Your session has ended; please log in again."]))
            if action == "logout":
                self.sessions.end(request)
                return self.page(request, 200, "Logged out",
                                 "<p class=\"done\">You are logged out.</p><p><a href=\"account\">Log in again</a></p>")
            if action == "password":
                d = self._password(request, uin)
            elif action == "info":
                d = self._info(request, uin)
            else:
                return self.page(request, 400, "My account", "<p class=\"notice\">Unknown request.</p>")
        d.addErrback(self._failed, request)
        return server.NOT_DONE_YET

    @defer.inlineCallbacks
    def _login(self, request):
        uin_text = field(request, "uin").strip()
        password = field(request, "password").encode(self.config.client_charset, "replace")
        host = client_address(request, self.proxies)
        refused = ["Wrong UIN or password."]
        if not (uin_text.isdigit() and 0 < int(uin_text) <= 0xFFFFFFFF) or not password:
            return self._finish(request, 200, "Log in", self.login_form(request, uin_text, refused))
        uin = int(uin_text)
        ok = yield self.network.verify(uin, password, host)
        if ok is None:
            request.setHeader(b"retry-after", b"60")
            return self._finish(request, 429, "Log in", self.login_form(
                request, uin_text, ["Too many attempts or the server is busy; please try again in a minute."]))
        if ok:
            account = yield self.accounts.get_account(uin)
            if account is None or account.locked:
                ok = False
        if not ok:
            self.log.info("web login of {uin} from {host} refused", uin=uin, host=host)
            return self._finish(request, 200, "Log in", self.login_form(request, uin_text, refused))
        self.sessions.start(request, uin)
        self.log.info("uin {uin} logged in on the web from {host}", uin=uin, host=host)
        info = yield self.directory.get_info(uin)
        self._show(info, request, uin)

    @defer.inlineCallbacks
    def _password(self, request, uin):
        charset = self.config.client_charset
        current = field(request, "current").encode(charset, "replace")
        problems = []
        new = check_password(field(request, "new"), field(request, "new2"), charset, problems)
        if new is not None:
            ok = yield self.network.verify(uin, current, client_address(request, self.proxies))
            if ok is None:
                problems.append("Too many attempts or the server is busy; please try again in a minute.")
            elif not ok:
                problems.append("Your current password is not right.")
        info = yield self.directory.get_info(uin)
        if problems:
            return self._show(info, request, uin, problems=problems, code=400)
        yield self.accounts.set_password(uin, new)
        self.sessions.end_uin(uin, keep=request)
        self.log.info("uin {uin} changed its password on the web", uin=uin)
        self._show(info, request, uin, done="Your password has been changed.")

    @defer.inlineCallbacks
    def _info(self, request, uin):
        values = {name: one_line(field(request, name)) for name in ("nick", "first", "last", "email")}
        problems = []
        check_details(values["nick"], values["first"], values["last"], values["email"], problems)
        if not problems:
            changes = {"nick": values["nick"], "first_name": values["first"], "last_name": values["last"],
                       "email": values["email"], "web_aware": bool(field(request, "web_aware"))}
            yield self.directory.update_info(uin, changes)
            session = self.network.sessions.get(uin)
            if session is not None:
                # The indicator and the online list read the session's copy.
                session.update_account(changes)
        info = yield self.directory.get_info(uin)
        if problems:
            return self._show(info, request, uin, problems=problems, code=400)
        self._show(info, request, uin, done="Your details have been saved.")

    def _show(self, info, request, uin, problems=(), done=None, code=200):
        if info is None:  # deleted meanwhile
            self.sessions.end(request)
            return self._finish(request, 200, "Log in", self.login_form(request))
        session = self.network.sessions.get(uin)
        if session is not None and session.active:
            name = indicator.status_name(session.status)
            if session.invisible_mode:
                name = "invisible"
            where = ("<span class=\"status\"><img src=\"icons/%s.png\" alt=\"\">Online (%s), ICQ v%s</span>"
                     % (indicator.OFFLINE if name == "invisible" else name,
                        escape(name.replace("_", " ")), escape(session.version)))
        else:
            where = "<span class=\"status\"><img src=\"icons/offline.png\" alt=\"\">Offline</span>"
        token = hidden_token(request)
        notes = problem_list(problems) + ("<p class=\"done\">%s</p>" % escape(done) if done else "")
        body = (
            "%(notes)s<div class=\"tiles\"><div class=\"tile\"><div class=\"label\">UIN</div>"
            "<div class=\"value\" id=\"my-uin\">%(uin)d</div></div>"
            "<div class=\"tile\"><div class=\"label\">Now</div><div class=\"value\" id=\"my-status\" >%(where)s</div></div></div>\n"
            "<div class=\"grid\">\n"
            "<form method=\"post\" action=\"account\" accept-charset=\"utf-8\" class=\"card\">\n%(token)s"
            "<input type=\"hidden\" name=\"do\" value=\"info\"><h2>Public details</h2>\n"
            "%(nick)s<div class=\"row2\">%(first)s%(last)s</div>%(email)s"
            "<p><label class=\"check\"><input type=\"checkbox\" name=\"web_aware\" value=\"1\"%(aware)s>"
            "Show my status on the web</label></p>\n"
            "<p><button type=\"submit\">Save details</button></p></form>\n"
            "<form method=\"post\" action=\"account\" accept-charset=\"utf-8\" class=\"card\">\n%(token)s"
            "<input type=\"hidden\" name=\"do\" value=\"password\"><h2>Change password</h2>\n"
            "%(current)s%(new)s%(new2)s"
            "<p><button type=\"submit\">Change password</button></p></form>\n</div>\n"
            "<form method=\"post\" action=\"account\" class=\"logout\">%(token)s<input type=\"hidden\" name=\"do\" value=\"logout\">"
            "<button type=\"submit\" class=\"quiet\">Log out</button></form>"
            % {"notes": notes, "uin": uin, "where": where, "token": token,
               "nick": _input("nick", "Nick", info.nick, extra=" required"),
               "first": _input("first", "First name", info.first_name),
               "last": _input("last", "Last name", info.last_name),
               "email": _input("email", "E-mail", info.email, kind="email", limit=MAX_EMAIL),
               "aware": " checked" if info.web_aware else "",
               "current": _input("current", "Current password", kind="password", limit=PASSWORD_MAX,
                                 extra=" required autocomplete=\"current-password\""),
               "new": _input("new", "New password", kind="password", limit=PASSWORD_MAX,
                             extra=" required autocomplete=\"new-password\"",
                             hint="(%d to %d characters)" % (PASSWORD_MIN, PASSWORD_MAX)),
               "new2": _input("new2", "New password again", kind="password", limit=PASSWORD_MAX,
                              extra=" required autocomplete=\"new-password\"")}
        )
        title = "Hello, %s" % (info.nick or uin,)
        return self._finish(request, code, title, body)

    def _failed(self, failure, request):
        if failure.check(DatabaseUnavailable):
            self.log.warn("web account page: database unavailable")
        else:
            self.log.failure("web account page failed", failure)
        self._finish(request, 503, "My account",
                     "<p class=\"notice\">The server cannot do this just now. Please try again later.</p>")

    def _finish(self, request, code, title, body):
        if request.channel is None or request.finished:
            return
        request.write(self.page(request, code, title, body))
        request.finish()
