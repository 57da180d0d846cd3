# -*- test-case-name: tests.test_oscar_core -*-
"""
OSCAR rate classes (oscar.md 8): the limits a server advertises in 01,07 and
enforces per connection.

Each SNAC moves its class's level towards the time since the previous SNAC
of the class: C{level = ((window - 1) * level + ms) / window}, capped at the
class's maximum.  Below the alert level the client is warned, below the limit
level its SNACs are refused until the level is back above the clear level,
and below the disconnect level the connection is closed.  L{step} is pure;
L{RateLimiter} keeps one connection's levels against an injected clock.
"""

from dataclasses import dataclass

from iserverd.codec.oscar import service

CLEAR = 0
ALERT = 1
LIMITED = 2
DISCONNECT = 3


@dataclass(frozen=True)
class RateParams:
    id: int
    window: int
    clear: int
    alert: int
    limit: int
    disconnect: int
    max: int


# IServerd's defaults (oscar.md 8.3); messages (04,06) and profile
# requests (02,05) in class 3, everything else in class 1.
DEFAULT_CLASSES = (
    RateParams(1, 80, 2500, 1000, 500, 300, 8000),
    RateParams(2, 80, 3000, 1000, 500, 300, 7000),
    RateParams(3, 20, 4100, 4000, 3000, 2000, 7000),
    RateParams(4, 20, 4500, 4300, 3200, 2000, 8000),
    RateParams(5, 10, 4500, 4300, 3200, 2000, 9000),
)
DEFAULT_CLASS = 1
SPECIAL = {(0x0004, 0x0006): 3, (0x0002, 0x0005): 3}


def step(params, level, state, ms_since_last):
    """
    One SNAC of the class.

    @return: C{(level, state)} after it.
    """
    window = params.window
    level = min(params.max, ((window - 1) * level + max(0, ms_since_last)) // window)
    if level < params.disconnect:
        return level, DISCONNECT
    if level < params.limit:
        return level, LIMITED
    if state == LIMITED and level < params.clear:
        return level, LIMITED
    if level < params.alert:
        return level, ALERT
    return level, CLEAR


def rate_info(pairs, classes=DEFAULT_CLASSES, special=SPECIAL, default=DEFAULT_CLASS):
    """
    The 01,07 body's value: every class at its maximum level, and every
    (family, subtype) the server implements in its class.
    """
    groups = {p.id: [] for p in classes}
    for pair in pairs:
        groups[special.get(pair, default)].append(pair)
    return service.RateInfo(
        tuple(service.RateClass(p.id, p.window, p.clear, p.alert, p.limit, p.disconnect, p.max, p.max)
              for p in classes),
        tuple((p.id, tuple(groups[p.id])) for p in classes),
    )


class RateLimiter:
    """
    One connection's rate levels.

    @ivar changes: class id to the 01,0A code the connection should be sent
        for the last transition (L{service.RATE_WARNING}, L{service.RATE_LIMITED},
        L{service.RATE_CLEARED}); the caller pops them.
    """

    def __init__(self, clock, classes=DEFAULT_CLASSES, special=SPECIAL, default=DEFAULT_CLASS):
        self.clock = clock
        self.classes = {p.id: p for p in classes}
        self.special = dict(special)
        self.default = default
        now = clock.seconds()
        self._state = {p.id: (p.max, CLEAR, now) for p in classes}
        self.changes = {}

    def class_of(self, family, subtype):
        return self.special.get((family, subtype), self.default)

    def check(self, family, subtype):
        """
        Account one SNAC.

        @return: L{CLEAR} or L{ALERT} (handle it), L{LIMITED} (refuse it with
            xx,01 code 0x0003) or L{DISCONNECT} (close the connection).
        """
        class_id = self.class_of(family, subtype)
        params = self.classes[class_id]
        level, state, last = self._state[class_id]
        now = self.clock.seconds()
        level, new = step(params, level, state, int((now - last) * 1000))
        self._state[class_id] = (level, new, now)
        if new != state:
            code = {ALERT: service.RATE_WARNING, LIMITED: service.RATE_LIMITED}.get(new)
            if new == CLEAR:
                code = service.RATE_CLEARED
            if code is not None:
                self.changes[class_id] = code
        return new

    def level(self, class_id):
        return self._state[class_id][0]
