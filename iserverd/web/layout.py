# -*- test-case-name: tests.test_web -*-
"""
The web front's one look: every HTML page is made by L{Layout.page} (a title
bar with the network's name, a navigation bar, the page, a footer) and styled
by the one stylesheet in C{static/site.css}.

Everything that comes from a visitor or an account (nicks, names, texts) is
passed through L{escape}; page bodies are markup built here and in the page
modules, never a visitor's text unescaped.
"""

import html
import json
import os

from iserverd import __version__

STATIC = os.path.join(os.path.dirname(__file__), "static")

# Pages of the navigation bar: (path, label, shown when the config says so).
NAVIGATION = (
    ("", "Home", None),
    ("pager", "Send a message", None),
    ("online", "Who's online", "web_online_list"),
    ("register", "Sign up", "web_registration"),
    ("account", "My account", None),
    ("server", "Server", None),
)

# Every response carries these: no framing by other sites, no inline script,
# no content sniffing, no referrer sent to other sites.
SECURITY_HEADERS = (
    (b"content-security-policy",
     b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
     b"form-action 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


def escape(value):
    """Text for HTML content or a quoted attribute."""
    return html.escape(str(value), quote=True)


def paragraphs(text):
    """A configured text (C{\\n} = a new paragraph) as escaped paragraphs."""
    return "\n".join("<p>%s</p>" % escape(p.strip()) for p in text.replace("\\n", "\n").split("\n") if p.strip())


def read_static(name):
    with open(os.path.join(STATIC, name), "rb") as f:
        return f.read()


def secure_headers(request):
    for name, value in SECURITY_HEADERS:
        request.setHeader(name, value)


class Layout:
    """
    Wraps page bodies in the site's frame.

    @ivar config: the server settings (the network's name, which pages are on).
    """

    def __init__(self, config):
        self.config = config

    def navigation(self, current):
        links = []
        for path, label, switch in NAVIGATION:
            if switch is not None and not getattr(self.config, switch):
                continue
            href = path or "./"
            mark = ' aria-current="page"' if path == current else ""
            links.append('<a href="%s"%s>%s</a>' % (href, mark, escape(label)))
        return "\n".join(links)

    def page(self, title, body, current=None, script=None):
        """
        A complete page as UTF-8.  C{title} is escaped; C{body} is trusted
        markup; C{script} names a script under C{static/} (never inline).
        """
        name = self.config.web_name
        scripts = '<script src="static/%s" defer></script>' % (script,) if script else ""
        return (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>%(title)s · %(name)s</title>\n"
            "<link rel=\"stylesheet\" href=\"static/site.css\">\n"
            "<link rel=\"icon\" href=\"icons/online.png\">%(scripts)s</head>\n<body>\n"
            "<header class=\"bar\"><div class=\"inner\">"
            "<a class=\"brand\" href=\"./\"><img src=\"icons/online.png\" alt=\"\">%(name)s</a>\n"
            "<nav>%(nav)s</nav></div></header>\n"
            "<main>\n<h1>%(title)s</h1>\n%(body)s\n</main>\n"
            "<footer>%(name)s · iserverd %(version)s</footer>\n"
            "</body></html>\n"
            % {"title": escape(title), "name": escape(name), "nav": self.navigation(current),
               "body": body, "scripts": scripts, "version": escape(__version__)}
        ).encode("utf-8")

    def respond(self, request, code, title, body, current=None, script=None):
        """Set the status and headers of an HTML answer and return its bytes."""
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        return self.page(title, body, current, script)


def json_body(request, value, public=False):
    """A JSON answer; C{public} ones may be read by other sites' scripts."""
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"cache-control", b"no-cache, max-age=0")
    if public:
        request.setHeader(b"access-control-allow-origin", b"*")
    return json.dumps(value).encode("ascii")
