# -*- test-case-name: tests.test_web_pages -*-
"""
C{/online}: who is online, for networks that want to show it (C{Web online
list = yes}; off by default).  Users who chose invisible, or turned "web
aware" off, are never listed; the others show with nick, UIN and the status
icon of the indicator.
"""

from twisted.web import resource

from iserverd.web import indicator
from iserverd.web.layout import escape

# Rows shown at most; the rest is counted.
MAX_ROWS = 500

LABELS = {
    indicator.ONLINE: "Online", indicator.FREE_FOR_CHAT: "Free for chat", indicator.AWAY: "Away",
    indicator.NA: "N/A", indicator.OCCUPIED: "Occupied", indicator.DND: "Do not disturb",
}


def visible_users(sessions):
    """C{(nick, uin, status name)} of the users the web may see online, by nick."""
    users = []
    for session in sessions:
        account = session.account
        if not session.active or session.invisible_mode or account is None or not account.web_aware:
            continue
        users.append((account.nick or "", session.uin, indicator.status_name(session.status)))
    users.sort(key=lambda u: (u[0].lower(), u[1]))
    return users


class OnlineList(resource.Resource):
    isLeaf = True

    def __init__(self, network, config, layout):
        resource.Resource.__init__(self)
        self.network = network
        self.config = config
        self.layout = layout

    def render_GET(self, request):
        if not self.config.web_online_list:
            return self.layout.respond(request, 404, "Who's online",
                                       "<p class=\"notice\">This network does not publish who is online.</p>")
        users = visible_users(self.network.sessions)
        rows = "\n".join(
            "<tr><td>%s</td><td class=\"num\">%d</td><td><span class=\"status\">"
            "<img src=\"icons/%s.png\" alt=\"\">%s</span></td></tr>"
            % (escape(nick) or "<span class=\"muted\">(no nick)</span>", uin, name, escape(LABELS[name]))
            for nick, uin, name in users[:MAX_ROWS])
        more = ""
        if len(users) > MAX_ROWS:
            more = "<p class=\"muted\">… and %d more.</p>" % (len(users) - MAX_ROWS,)
        if users:
            table = ("<table id=\"online-users\"><thead><tr><th>Nick</th><th>UIN</th><th>Status</th></tr></thead>"
                     "<tbody>\n%s\n</tbody></table>%s" % (rows, more))
        else:
            table = "<p class=\"muted\" id=\"online-users\">Nobody is online just now.</p>"
        body = ("<p class=\"lead\"><span id=\"online-count\">%d</span> %s online. "
                "<a href=\"pager\">Send a message</a> to anyone, online or not.</p>\n"
                "<div class=\"card\">%s</div>"
                % (len(users), "user is" if len(users) == 1 else "users are", table))
        return self.layout.respond(request, 200, "Who's online", body, current="online")
