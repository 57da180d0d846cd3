"""
What a watcher is told when its view of a user changes (v5.md section 12.5).

The rule generalises IServerd's table: compare whether the watcher could see
the user before and after the change, and send exactly the difference.  So a
status change while visible is a USER_STATUS, becoming hidden is a
USER_OFFLINE, becoming visible is a USER_ONLINE, and nothing is sent when
nothing the watcher sees has changed (IServerd sent false OFFLINEs there).
"""


def change(watcher, user, before, after, status_changed=False):
    """
    @param before: whether C{watcher} could see C{user} before the change.
    @param after: whether it can see it now.
    @return: the packets (L{iserverd.core.interfaces.Outgoing}) for C{watcher}.
    """
    speaker = watcher.speaker
    if before and after:
        return speaker.user_status(watcher, user) if status_changed else []
    if before:
        return speaker.user_offline(watcher, user.uin)
    if after:
        return speaker.user_online(watcher, user)
    return []
