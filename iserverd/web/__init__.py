"""
The web side of iserverd: the web pager, the online-status indicator and a
server status page (L{iserverd.web.resources}), and the rate limits they share
with the webpager socket (L{iserverd.web.limits}).
"""
