"""
The web front: a web pager, the online-status indicator and a server status
page, served with twisted.web by L{WebService}.

    /                     links to the pages below
    /pager                GET: the form (C{?uin=N} fills in the UIN);
                          POST uin, name, email, msg: send a web-panel message
    /status/UIN.png       the status indicator image
    /status/UIN.json      {"uin": N, "status": "online"}
    /server, /server.json online users and uptime

The pager posts the same fields as IServerd's sample form and produces the
same message as the webpager socket, but calls the network directly, so it
needs no CGI script.  Everything a visitor typed is HTML-escaped on output;
the fields are limited to what one ICQ message can carry; sending is POST
only and rate-limited per address, per target and overall.  A sent message
reads the same whether it was delivered or stored, so the pager does not
tell strangers who is online behind "web aware" off.
"""

import html
import io
import json

from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import resource, server

from iserverd import __version__
from iserverd.codec import wwp
from iserverd.core.network import NO_SUCH_USER, SYSTEM_UIN
from iserverd.storage.interfaces import DatabaseUnavailable
from iserverd.web import indicator
from iserverd.web.limits import PagerLimits

# Longest field values in bytes of the client charset (the socket's limits,
# less the NUL).
MAX_NAME = wwp.MAX_NAME - 1
MAX_EMAIL = wwp.MAX_EMAIL - 1
MAX_MESSAGE = wwp.MAX_TEXT - 1
# A form post is a few hundred bytes; a larger body is refused unread.
MAX_BODY = 16 * 1024
RETRY_AFTER = 60
LOOPBACK = ("127.0.0.1", "::1")


def escape(value):
    return html.escape(str(value), quote=True)


def html_page(title, body):
    """A complete HTML page; C{title} is escaped, C{body} is trusted markup."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width\">"
        "<title>%s</title></head>\n<body><h1>%s</h1>\n%s\n</body></html>\n"
        % (escape(title), escape(title), body)
    ).encode("utf-8")


def _html(request, code, title, body):
    request.setResponseCode(code)
    request.setHeader(b"content-type", b"text/html; charset=utf-8")
    request.setHeader(b"cache-control", b"no-store")
    return html_page(title, body)


def _json(request, value):
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"cache-control", b"no-cache, max-age=0")
    request.setHeader(b"access-control-allow-origin", b"*")
    return json.dumps(value).encode("ascii")


def _is_ipv4(text):
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) <= 255 for p in parts)


def client_address(request):
    """
    The visitor's IPv4 address.  Behind a reverse proxy on this host every
    visitor comes from loopback, so then the proxy's C{X-Forwarded-For} (its
    last entry, the one the proxy added) names the visitor; from anywhere
    else the header could be forged and is ignored.
    """
    host = getattr(request.getClientAddress(), "host", "0.0.0.0")
    if host in LOOPBACK:
        forwarded = request.getHeader(b"x-forwarded-for")
        if forwarded:
            last = forwarded.decode("latin-1").split(",")[-1].strip()
            if _is_ipv4(last):
                return last
    return host if _is_ipv4(host) else "0.0.0.0"


def _field(request, name):
    values = request.args.get(name.encode("ascii"))
    return values[0].decode("utf-8", "replace") if values else ""


def _one_line(text):
    """Names and e-mails go into a line-oriented message: no control characters."""
    return "".join(c if c >= " " else " " for c in text).strip()


def _lines(text):
    """Browsers send CR LF or LF; ICQ clients expect CR LF."""
    return "\r\n".join(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip()


FORM = """<form method="post" action="pager" accept-charset="utf-8">
<p><label>UIN<br><input name="uin" value="%(uin)s" maxlength="10" inputmode="numeric" required></label></p>
<p><label>Your name<br><input name="name" value="%(name)s" maxlength="%(max_name)d"></label></p>
<p><label>Your e-mail<br><input name="email" value="%(email)s" maxlength="%(max_email)d"></label></p>
<p><label>Message<br><textarea name="msg" rows="6" cols="50" maxlength="%(max_msg)d" required>%(msg)s</textarea>
</label></p>
<p><button type="submit">Send</button></p>
</form>"""


class Pager(resource.Resource):
    """
    The web pager: the form, and the POST that sends its message.
    """

    isLeaf = True
    log = Logger()

    def __init__(self, network, config, limits):
        resource.Resource.__init__(self)
        self.network = network
        self.config = config
        self.limits = limits

    def form(self, uin="", name="", email="", msg="", problems=()):
        """The form's markup, filled with escaped values, after any problems."""
        notes = ""
        if problems:
            notes = '<ul class="problems">%s</ul>\n' % "".join("<li>%s</li>" % escape(p) for p in problems)
        return notes + FORM % {
            "uin": escape(uin), "name": escape(name), "email": escape(email), "msg": escape(msg),
            "max_name": MAX_NAME, "max_email": MAX_EMAIL, "max_msg": MAX_MESSAGE,
        }

    def render_GET(self, request):
        uin = _field(request, "uin").strip()
        return _html(request, 200, "Send a message", self.form(uin if uin.isdigit() else ""))

    def render_POST(self, request):
        uin_text = _field(request, "uin").strip()
        name = _one_line(_field(request, "name"))
        email = _one_line(_field(request, "email"))
        msg = _lines(_field(request, "msg"))
        problems, page = self._check(uin_text, name, email, msg, client_address(request))
        if problems:
            return _html(request, 400, "Send a message", self.form(uin_text, name, email, msg, problems))
        refused = self.limits.check(page.ip, page.target)
        if refused is not None:
            self.log.info("web pager: message from {ip} to {uin} refused, {limit} rate limit",
                          ip=page.ip, uin=page.target, limit=refused)
            request.setHeader(b"retry-after", str(RETRY_AFTER).encode("ascii"))
            return _html(request, 429, "Please wait",
                         "<p>Too many messages were sent just now. Please try again in a minute.</p>")
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
                         "<p>There is no user with UIN %d.</p>" % (page.target,))
            return
        self.log.info("web pager: message from {ip} to {uin} {outcome}",
                      ip=page.ip, uin=page.target, outcome=outcome)
        self._finish(request, 200, "Message sent",
                     "<p id=\"sent\">Your message to UIN %d has been sent.</p>\n"
                     "<p><a href=\"pager?uin=%d\">Send another</a></p>" % (page.target, page.target))

    def _failed(self, failure, request, page):
        if failure.check(DatabaseUnavailable):
            self.log.warn("web pager: message from {ip} to {uin} not sent, database unavailable",
                          ip=page.ip, uin=page.target)
        else:
            self.log.failure("web pager: message from {ip} to {uin} not sent", failure,
                             ip=page.ip, uin=page.target)
        self._finish(request, 503, "Not sent",
                     "<p>The message could not be sent just now. Please try again later.</p>")

    def _finish(self, request, code, title, body):
        if request.channel is None:  # the visitor has gone
            return
        request.write(_html(request, code, title, body))
        request.finish()


class StatusIndicator(resource.Resource):
    """
    C{/status/UIN.png} and C{/status/UIN.json}.
    """

    def __init__(self, network, storage):
        resource.Resource.__init__(self)
        self.network = network
        self.storage = storage

    def getChild(self, name, request):
        stem, dot, kind = name.decode("latin-1").partition(".")
        if dot and kind in ("png", "json") and stem.isdigit() and 0 < int(stem) <= wwp.MAX_UIN:
            return _Indicator(self, int(stem), kind)
        return resource.NoResource("Use /status/UIN.png or /status/UIN.json.")

    @defer.inlineCallbacks
    def lookup(self, uin):
        """@return: Deferred firing with the public status name of C{uin}."""
        session = self.network.sessions.get(uin)
        if session is not None and not session.active:
            session = None
        account = session.account if session is not None else None
        if account is None:
            try:
                account = yield self.storage.get_account(uin)
            except DatabaseUnavailable:
                return indicator.UNKNOWN
        return indicator.public_status(session, account)


class _Indicator(resource.Resource):
    isLeaf = True
    log = Logger()

    def __init__(self, parent, uin, kind):
        resource.Resource.__init__(self)
        self.parent = parent
        self.uin = uin
        self.kind = kind

    def render_GET(self, request):
        d = self.parent.lookup(self.uin)
        d.addCallback(self._answer, request)
        d.addErrback(self._failed, request)
        return server.NOT_DONE_YET

    def _answer(self, status, request):
        if request.channel is None:  # the visitor has gone
            return
        if self.kind == "json":
            body = _json(request, {"uin": self.uin, "status": status})
        else:
            request.setHeader(b"content-type", b"image/png")
            request.setHeader(b"cache-control", b"no-cache, max-age=0")
            body = indicator.IMAGES[status]
        request.write(body)
        request.finish()

    def _failed(self, failure, request):
        self.log.failure("status of {uin} could not be looked up", failure, uin=self.uin)
        self._answer(indicator.UNKNOWN, request)


class ServerStatus(resource.Resource):
    """
    How many users are online and how long the server has been up, as HTML
    (C{as_json} false) or JSON.
    """

    isLeaf = True

    def __init__(self, network, clock, started_at, as_json=False):
        resource.Resource.__init__(self)
        self.network = network
        self.clock = clock
        self.started_at = started_at
        self.as_json = as_json

    def figures(self):
        return {
            "online": len(self.network.sessions),
            "uptime": int(self.clock.seconds() - self.started_at),
            "version": __version__,
        }

    def render_GET(self, request):
        figures = self.figures()
        if self.as_json:
            return _json(request, figures)
        body = ("<dl>\n<dt>Users online</dt><dd id=\"online\">%d</dd>\n"
                "<dt>Up for</dt><dd id=\"uptime\">%s</dd>\n"
                "<dt>Version</dt><dd>iserverd %s</dd>\n</dl>"
                % (figures["online"], duration(figures["uptime"]), escape(figures["version"])))
        return _html(request, 200, "Server status", body)


def duration(seconds):
    """C{90061} -> C{"1 day, 01:01:01"}."""
    days, rest = divmod(int(seconds), 86400)
    clock = "%02d:%02d:%02d" % (rest // 3600, rest // 60 % 60, rest % 60)
    if days:
        return "%d day%s, %s" % (days, "" if days == 1 else "s", clock)
    return clock


class Index(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        body = ("<ul>\n<li><a href=\"pager\">Send a message to an ICQ user</a></li>\n"
                "<li><a href=\"server\">Server status</a></li>\n</ul>\n"
                "<p>Status indicator: <code>&lt;img src=\"/status/UIN.png\"&gt;</code>, "
                "or <code>/status/UIN.json</code>.</p>")
        return _html(request, 200, "iserverd", body)


def build_root(network, storage, config, clock, started_at):
    """The resource tree of the web front."""
    root = resource.Resource()
    root.putChild(b"", Index())
    root.putChild(b"pager", Pager(network, config, PagerLimits(clock)))
    root.putChild(b"status", StatusIndicator(network, storage))
    root.putChild(b"server", ServerStatus(network, clock, started_at))
    root.putChild(b"server.json", ServerStatus(network, clock, started_at, as_json=True))
    return root


class LimitedRequest(server.Request):
    """
    A request whose body may not exceed L{MAX_BODY}: a larger one gets 413
    and the connection is closed, before the body is stored anywhere.
    """

    _too_large = False
    _body_size = 0

    def gotLength(self, length):
        if length is not None and length > MAX_BODY:
            self._refuse()
            self.content = io.BytesIO()
            return
        server.Request.gotLength(self, length)

    def handleContentChunk(self, data):
        if self._too_large:
            return
        self._body_size += len(data)
        if self._body_size > MAX_BODY:
            self._refuse()
            return
        server.Request.handleContentChunk(self, data)

    def _refuse(self):
        self._too_large = True
        transport = self.channel.transport
        transport.write(b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        transport.loseConnection()

    def process(self):
        if not self._too_large:
            server.Request.process(self)


def make_site(root):
    site = server.Site(root, requestFactory=LimitedRequest)
    site.displayTracebacks = False
    return site


class WebService(service.Service):
    """
    Serves the web front on TCP.

    @ivar clock: the L{IReactorTime} for rate limits and uptime.
    """

    log = Logger()

    def __init__(self, network, storage, config, reactor, clock=None, port=None, interface=None):
        """
        @param port: the TCP port (default: the config's C{http_port}; 0 here
            means any free port, for tests).
        @param interface: the address to bind (default: C{http_interface}).
        """
        self.network = network
        self.storage = storage
        self.config = config
        self.reactor = reactor
        self.clock = reactor if clock is None else clock
        self.port = config.http_port if port is None else port
        self.interface = config.http_interface if interface is None else interface
        self.site = None
        self._listening = None

    def startService(self):
        self.site = make_site(build_root(self.network, self.storage, self.config, self.clock,
                                         self.clock.seconds()))
        self.site.noisy = False
        self._listening = self.reactor.listenTCP(self.port, self.site, interface=self.interface)
        service.Service.startService(self)
        host = self._listening.getHost()
        self.log.info("web front on http://{host}:{port}/", host=host.host, port=host.port)

    @property
    def http_port(self):
        """The bound TCP port number (useful with port 0)."""
        return self._listening.getHost().port if self._listening is not None else None

    def stopService(self):
        service.Service.stopService(self)
        if self._listening is None:
            return None
        listening, self._listening = self._listening, None
        return listening.stopListening()


__all__ = ["WebService", "build_root", "make_site", "client_address"]
