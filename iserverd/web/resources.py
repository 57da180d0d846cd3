"""
The web front, served with twisted.web by L{WebService}:

    /                     the network's home page
    /pager                GET: the form (C{?uin=N} fills in the UIN);
                          POST uin, name, email, msg: send a web-panel message
    /status/UIN.png       the status indicator image
    /status/UIN.json      {"uin": N, "status": "online"}
    /register             sign up for a UIN (L{iserverd.web.accounts})
    /account              log in, change password and details, log out
    /online               who is online (L{iserverd.web.online}), when enabled
    /server, /server.json the dashboard and its figures (L{iserverd.web.dashboard})
    /static/, /icons/     the stylesheet and script, the status icons

Every page has the one layout of L{iserverd.web.layout}; the connection caps,
deadlines and headers are those of L{iserverd.web.safety}.

The pager posts the same fields as IServerd's sample form and produces the
same message as the webpager socket, but calls the network directly, so it
needs no CGI script.  Everything a visitor typed is HTML-escaped on output;
the fields are limited to what one ICQ message can carry; sending is POST
only and rate-limited per address, per target and overall.  A sent message
reads the same whether it was delivered or stored, so the pager does not
tell strangers who is online behind "web aware" off.
"""

from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import resource, server

from iserverd.codec import wwp
from iserverd.config import ConfigError
from iserverd.core.network import NO_SUCH_USER, SYSTEM_UIN
from iserverd.core.ratelimit import BucketTable
from iserverd.storage.interfaces import DatabaseUnavailable
from iserverd.core.guards import RegistrationGuard
from iserverd.storage.directory import PostgresDirectory
from iserverd.storage.invites import PostgresInvites
from iserverd.web import indicator
from iserverd.web.accounts import Account, Register
from iserverd.web.dashboard import Dashboard, ServerFigures, ServerStats, duration
from iserverd.web.forms import WebSessions
from iserverd.web.online import OnlineList
from iserverd.web.forms import csrf_ok, hidden_token
from iserverd.web.layout import Layout, escape, json_body, paragraphs, read_static
from iserverd.web.limits import PagerLimits
from iserverd.web.safety import WebSite, client_address, parse_proxies

# Longest field values in bytes of the client charset (the socket's limits,
# less the NUL).
MAX_NAME = wwp.MAX_NAME - 1
MAX_EMAIL = wwp.MAX_EMAIL - 1
MAX_MESSAGE = wwp.MAX_TEXT - 1
RETRY_AFTER = 60
# Indicator lookups one address may burst before its rate applies.
INDICATOR_BURST = 60


def _json(request, value):
    return json_body(request, value, public=True)


def _field(request, name):
    values = request.args.get(name.encode("ascii"))
    return values[0].decode("utf-8", "replace") if values else ""


def _one_line(text):
    """Names and e-mails go into a line-oriented message: no control characters."""
    return "".join(c if c >= " " else " " for c in text).strip()


def _lines(text):
    """Browsers send CR LF or LF; ICQ clients expect CR LF."""
    return "\r\n".join(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip()


FORM = """<form method="post" action="pager" accept-charset="utf-8" class="card narrow">
%(csrf)s
<p><label for="uin">UIN</label><input id="uin" name="uin" value="%(uin)s" maxlength="10" inputmode="numeric" required></p>
<p><label for="name">Your name <span class="hint">(optional)</span></label><input id="name" name="name" value="%(name)s" maxlength="%(max_name)d"></p>
<p><label for="email">Your e-mail <span class="hint">(optional)</span></label><input id="email" name="email" type="email" value="%(email)s" maxlength="%(max_email)d"></p>
<p><label for="msg">Message</label><textarea id="msg" name="msg" rows="6" cols="50" maxlength="%(max_msg)d" required>%(msg)s</textarea></p>
<p><button type="submit">Send</button></p>
</form>"""

EXPIRED = ("<p class=\"notice\">This form has expired or did not come from this site. "
           "Please go back, reload the page and send it again.</p>")


def problem_list(problems):
    if not problems:
        return ""
    return '<ul class="problems">%s</ul>\n' % "".join("<li>%s</li>" % escape(p) for p in problems)


class Pager(resource.Resource):
    """
    The web pager: the form, and the POST that sends its message.
    """

    isLeaf = True
    log = Logger()

    def __init__(self, network, config, limits, layout, proxies=()):
        resource.Resource.__init__(self)
        self.network = network
        self.config = config
        self.limits = limits
        self.layout = layout
        self.proxies = proxies

    def form(self, request, uin="", name="", email="", msg="", problems=()):
        """The form's markup, filled with escaped values, after any problems."""
        intro = ("<p class=\"lead\">Send a message to an ICQ user of this network; "
                 "it is delivered at once or when they next log in.</p>\n")
        return intro + problem_list(problems) + FORM % {
            "csrf": hidden_token(request),
            "uin": escape(uin), "name": escape(name), "email": escape(email), "msg": escape(msg),
            "max_name": MAX_NAME, "max_email": MAX_EMAIL, "max_msg": MAX_MESSAGE,
        }

    def page(self, request, code, title, body):
        return self.layout.respond(request, code, title, body, current="pager")

    def render_GET(self, request):
        uin = _field(request, "uin").strip()
        return self.page(request, 200, "Send a message", self.form(request, uin if uin.isdigit() else ""))

    def render_POST(self, request):
        if not csrf_ok(request):
            return self.page(request, 403, "Send a message", EXPIRED)
        uin_text = _field(request, "uin").strip()
        name = _one_line(_field(request, "name"))
        email = _one_line(_field(request, "email"))
        msg = _lines(_field(request, "msg"))
        problems, page = self._check(uin_text, name, email, msg, client_address(request, self.proxies))
        if problems:
            return self.page(request, 400, "Send a message",
                             self.form(request, uin_text, name, email, msg, problems))
        refused = self.limits.check(page.ip, page.target)
        if refused is not None:
            self.log.info("web pager: message from {ip} to {uin} refused, {limit} rate limit",
                          ip=page.ip, uin=page.target, limit=refused)
            request.setHeader(b"retry-after", str(RETRY_AFTER).encode("ascii"))
            return self.page(request, 429, "Please wait",
                             "<p class=\"notice\">Too many messages were sent just now. "
                             "Please try again in a minute.</p>")
        d = self.network.send_message(SYSTEM_UIN, page.target, wwp.MSG_WEB_PAGER,
                                      wwp.compose(page, self.config.v5_max_msgsize))
        d.addCallbacks(self._sent, self._failed, callbackArgs=(request, page), errbackArgs=(request, page))
        d.addErrback(lambda f: self.log.failure("web pager: could not answer", f))
        return server.NOT_DONE_YET

    def _check(self, uin_text, name, email, msg, ip):
        """@return: C{(problems, page)}; the L{wwp.WebPage} when there are none."""
        problems = []
        if not (uin_text.isdigit() and wwp.MIN_UIN <= int(uin_text) <= wwp.MAX_UIN):
            problems.append("The UIN is a number of at least %d." % (wwp.MIN_UIN,))
        charset = self.config.client_charset
        fields = {}
        for what, value, limit in (("name", name, MAX_NAME), ("e-mail", email, MAX_EMAIL)):
            fields[what] = value.encode(charset, "replace")
            if len(fields[what]) > limit:
                problems.append("Your %s is too long: at most %d characters." % (what, limit))
        body = msg.encode(charset, "replace")
        if not body:
            problems.append("The message is empty.")
        if problems:
            return problems, None
        page = wwp.WebPage(ip, int(uin_text), fields["e-mail"], fields["name"], body)
        room = min(MAX_MESSAGE, self.config.v5_max_msgsize - len(wwp.header(page)))
        if len(body) > room:
            return ["The message is too long: at most %d characters fit, it has %d." % (room, len(body))], None
        return [], page

    def _sent(self, outcome, request, page):
        if outcome == NO_SUCH_USER:
            self._finish(request, 404, "No such user",
                         "<p class=\"notice\">There is no user with UIN %d.</p>" % (page.target,))
            return
        self.log.info("web pager: message from {ip} to {uin} {outcome}",
                      ip=page.ip, uin=page.target, outcome=outcome)
        self._finish(request, 200, "Message sent",
                     "<p id=\"sent\" class=\"done\">Your message to UIN %d has been sent.</p>\n"
                     "<p><a class=\"button\" href=\"pager?uin=%d\">Send another</a></p>"
                     % (page.target, page.target))

    def _failed(self, failure, request, page):
        if failure.check(DatabaseUnavailable):
            self.log.warn("web pager: message from {ip} to {uin} not sent, database unavailable",
                          ip=page.ip, uin=page.target)
        else:
            self.log.failure("web pager: message from {ip} to {uin} not sent", failure,
                             ip=page.ip, uin=page.target)
        self._finish(request, 503, "Not sent",
                     "<p class=\"notice\">The message could not be sent just now. Please try again later.</p>")

    def _finish(self, request, code, title, body):
        if request.channel is None:  # the visitor has gone
            return
        request.write(self.page(request, code, title, body))
        request.finish()


class StatusIndicator(resource.Resource):
    """
    C{/status/UIN.png} and C{/status/UIN.json}.

    Only online users are looked up (in memory): whoever is not visibly
    online to the web (offline, invisible, "web aware" off, or no such
    account at all) is "offline", so the indicator tells nobody which UINs
    exist, and costs no database query.  Each address may ask
    C{Web indicator rate} times a second (a burst of L{INDICATOR_BURST}).
    """

    def __init__(self, network, clock, rate, proxies=()):
        resource.Resource.__init__(self)
        self.network = network
        self.clock = clock
        self.proxies = proxies
        self.limits = BucketTable(rate, INDICATOR_BURST, capacity=4096)
        self.refused = 0

    def getChild(self, name, request):
        stem, dot, kind = name.decode("latin-1").partition(".")
        if dot and kind in ("png", "json") and stem.isdigit() and 0 < int(stem) <= wwp.MAX_UIN:
            return _Indicator(self, int(stem), kind)
        return resource.NoResource("Use /status/UIN.png or /status/UIN.json.")

    def allowed(self, request):
        return self.limits.allow(client_address(request, self.proxies), self.clock.seconds())

    def lookup(self, uin):
        """The public status name of C{uin}."""
        session = self.network.sessions.get(uin)
        if session is None or not session.active:
            return indicator.OFFLINE
        return indicator.public_status(session, session.account)


class _Indicator(resource.Resource):
    isLeaf = True

    def __init__(self, parent, uin, kind):
        resource.Resource.__init__(self)
        self.parent = parent
        self.uin = uin
        self.kind = kind

    def render_GET(self, request):
        if not self.parent.allowed(request):
            self.parent.refused += 1
            request.setResponseCode(429)
            request.setHeader(b"retry-after", b"10")
            request.setHeader(b"content-type", b"text/plain")
            return b"Too many requests.\n"
        status = self.parent.lookup(self.uin)
        if self.kind == "json":
            return _json(request, {"uin": self.uin, "status": status})
        request.setHeader(b"content-type", b"image/png")
        request.setHeader(b"cache-control", b"no-cache, max-age=0")
        return indicator.IMAGES[status]


class Icons(resource.Resource):
    """C{/icons/NAME.png}: the indicator's image of each status, for pages to show."""

    def getChild(self, name, request):
        stem, _, kind = name.decode("latin-1").partition(".")
        if kind == "png" and stem in indicator.IMAGES:
            return _Static(indicator.IMAGES[stem], b"image/png")
        return resource.NoResource()


class Static(resource.Resource):
    """C{/static/}: the stylesheet and the dashboard's script, read once."""

    FILES = {"site.css": b"text/css; charset=utf-8", "dashboard.js": b"text/javascript; charset=utf-8"}

    def __init__(self):
        resource.Resource.__init__(self)
        for name, kind in self.FILES.items():
            self.putChild(name.encode("ascii"), _Static(read_static(name), kind))


class _Static(resource.Resource):
    isLeaf = True

    def __init__(self, data, kind):
        resource.Resource.__init__(self)
        self.data = data
        self.kind = kind

    def render_GET(self, request):
        request.setHeader(b"content-type", self.kind)
        request.setHeader(b"cache-control", b"public, max-age=300")
        return self.data


class Index(resource.Resource):
    """The home page: the network's name and text, and what one can do here."""

    isLeaf = True

    def __init__(self, config, layout):
        resource.Resource.__init__(self)
        self.config = config
        self.layout = layout

    def render_GET(self, request):
        config = self.config
        cards = []
        if config.web_registration:
            cards.append(("Get a UIN", "Sign up for an account on this network, then log in with any "
                          "ICQ client.", "register", "Sign up"))
        cards.append(("Your account", "Change your password and the details others see.", "account", "Log in"))
        cards.append(("Send a message", "Page a user from the web, no client needed.", "pager", "Write"))
        if config.web_online_list:
            cards.append(("Who's online", "See who is around right now.", "online", "Look"))
        cards.append(("Server", "Users online, traffic and health of the last 24 hours.", "server", "Open"))
        body = ('<div class="lead">%s</div>\n<div class="grid">\n%s\n</div>\n'
                '<div class="card"><h2>Connecting a client</h2>'
                '<p>Point ICQ 99, licq, micq or a Groupware client at this server%s.</p>'
                '<p class="muted">Status indicator for your own web page: '
                '<code>&lt;img src="/status/UIN.png"&gt;</code> or <code>/status/UIN.json</code>.</p></div>'
                % (paragraphs(config.web_text),
                   "\n".join('<div class="card"><h2>%s</h2><p class="muted">%s</p>'
                             '<p><a class="button" href="%s">%s</a></p></div>'
                             % (escape(t), escape(d), href, escape(b)) for t, d, href, b in cards),
                   ", UDP port %d" % (config.port,) if config.port else ""))
        return self.layout.respond(request, 200, "Welcome to %s" % (config.web_name,), body, current="")


def trusted_proxies(config):
    """The C{Web trusted proxies} networks; a bad entry is a one-line L{ConfigError}."""
    try:
        return parse_proxies(config.web_trusted_proxies)
    except ValueError as e:
        raise ConfigError("Web trusted proxies: %s" % (e,))


class WebParts:
    """
    What the pages work with, handed in by the composition root.

    @ivar directory: the L{iserverd.storage.directory.IDirectory}.
    @ivar registrations: the guard of client registration, shared.
    @ivar stats: the dashboard's L{ServerStats}.
    """

    def __init__(self, network, storage, config, clock, directory, registrations, stats, invites=None):
        self.network = network
        self.storage = storage
        self.config = config
        self.clock = clock
        self.directory = directory
        self.registrations = registrations
        self.stats = stats
        self.invites = invites


def build_root(parts, started_at):
    """The resource tree of the web front."""
    network, config, clock = parts.network, parts.config, parts.clock
    layout = Layout(config)
    proxies = trusted_proxies(config)
    sessions = WebSessions(clock)
    root = resource.Resource()
    root.putChild(b"", Index(config, layout))
    root.putChild(b"pager", Pager(network, config, PagerLimits(clock), layout, proxies))
    root.putChild(b"status", StatusIndicator(network, clock, config.web_indicator_rate, proxies))
    root.putChild(b"register", Register(network, parts.directory, parts.storage, config, layout,
                                        parts.registrations, clock, proxies, parts.invites))
    root.putChild(b"account", Account(network, parts.directory, parts.storage, config, layout, sessions, proxies))
    root.putChild(b"online", OnlineList(network, config, layout))
    root.putChild(b"server", Dashboard(parts.stats, clock, started_at, layout))
    root.putChild(b"server.json", ServerFigures(parts.stats, started_at))
    root.putChild(b"static", Static())
    root.putChild(b"icons", Icons())
    return root


def make_site(root, config, clock):
    return WebSite(root, clock, max_connections=config.web_max_connections,
                   max_per_address=config.web_max_per_address,
                   request_timeout=config.web_request_timeout, proxies=trusted_proxies(config))


class WebService(service.Service):
    """
    Serves the web front on TCP and samples the dashboard's figures.

    @ivar clock: the L{IReactorTime} for rate limits, deadlines and uptime.
    @ivar stats: the dashboard's L{ServerStats}.
    """

    log = Logger()

    def __init__(self, network, storage, config, reactor, clock=None, port=None, interface=None,
                 directory=None, registrations=None, gate=None, invites=None):
        """
        @param port: the TCP port (default: the config's C{http_port}; 0 here
            means any free port, for tests).
        @param interface: the address to bind (default: C{http_interface}).
        @param directory: the L{IDirectory} (default: on C{storage}'s pool).
        @param registrations: the registration guard the clients' registration
            uses, so the web shares its limits (default: one of its own).
        @param gate: the busy gate, whose BUSY replies the dashboard counts.
        @param invites: the L{IInvites} (default: on C{storage}'s pool).
        """
        self.network = network
        self.storage = storage
        self.config = config
        self.reactor = reactor
        self.clock = reactor if clock is None else clock
        self.port = config.http_port if port is None else port
        self.interface = config.http_interface if interface is None else interface
        self.directory = PostgresDirectory(storage) if directory is None else directory
        self.registrations = RegistrationGuard(self.clock) if registrations is None else registrations
        probe = getattr(storage, "run_query", None)
        self.stats = ServerStats(network, self.clock, gate=gate,
                                 probe=(lambda: probe("SELECT 1")) if probe is not None else None)
        self.invites = PostgresInvites(storage) if invites is None else invites
        self.site = None
        self._listening = None

    def startService(self):
        parts = WebParts(self.network, self.storage, self.config, self.clock, self.directory,
                         self.registrations, self.stats, self.invites)
        self.site = make_site(build_root(parts, self.clock.seconds()), self.config, self.clock)
        self._listening = self.reactor.listenTCP(self.port, self.site, interface=self.interface)
        self.stats.start()
        service.Service.startService(self)
        host = self._listening.getHost()
        self.log.info("web front on http://{host}:{port}/", host=host.host, port=host.port)

    @property
    def http_port(self):
        """The bound TCP port number (useful with port 0)."""
        return self._listening.getHost().port if self._listening is not None else None

    def stopService(self):
        service.Service.stopService(self)
        self.stats.stop()
        if self._listening is None:
            return None
        listening, self._listening = self._listening, None
        return listening.stopListening()


__all__ = ["WebService", "build_root", "make_site", "client_address", "duration"]
