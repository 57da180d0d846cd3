"""
The web front, served by twisted.web in the server's process: the page
resources (L{iserverd.web.resources}: home, pager, status indicator),
sign-up and own account (L{iserverd.web.accounts}), who is online
(L{iserverd.web.online}), the dashboard and its SVG charts
(L{iserverd.web.dashboard}, L{iserverd.web.charts}), the shared look
(L{iserverd.web.layout}, C{static/}), form and login safety
(L{iserverd.web.forms}), connection caps and deadlines
(L{iserverd.web.safety}), and the pager's rate limits (L{iserverd.web.limits}).
"""
