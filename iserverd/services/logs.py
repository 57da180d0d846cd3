# -*- test-case-name: tests.test_logs -*-
"""
The server's log: a level from the configuration and an optional JSON-lines file.

iserverd logs through L{twisted.logger}.  Whoever started the process (twistd,
a test runner) has already put its observers on the global publisher; this
module puts a level filter in front of each of them, so that C{Log level}
applies to whatever they write, and adds a C{jsonFileLogObserver} behind the
same filter when C{Log json file} is set.  L{install} returns a handle whose
C{uninstall} puts everything back, so a stopped server leaves the process's
logging as it found it.

Client errors are one event each (a malformed packet is one C{info} event in
L{iserverd.transport}); only failures of the server's own code carry a
traceback.
"""

import io

from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogPublisher,
    jsonFileLogObserver,
)

LEVELS = {
    "debug": LogLevel.debug,
    "info": LogLevel.info,
    "warn": LogLevel.warn,
    "error": LogLevel.error,
    "critical": LogLevel.critical,
}


class LogSetupError(Exception):
    """The JSON log file cannot be opened; one line for the operator."""


class _Filtered(FilteringLogObserver):
    """
    A level filter standing in for an observer already on a publisher.

    It compares equal to the observer it wraps, so that code which later
    removes that observer from the publisher (as test helpers do) removes the
    filter in its place.
    """

    def __init__(self, observer, predicate):
        FilteringLogObserver.__init__(self, observer, [predicate])
        self.wrapped = observer
        self.predicate = predicate

    def __eq__(self, other):
        return other is self or other is self.wrapped

    def __hash__(self):
        return hash(self.wrapped)


class LogSetup:
    """
    What L{install} did, so that it can be undone.

    @ivar predicate: the L{LogLevelFilterPredicate} every filtered observer
        shares (its level can be changed while the server runs).
    @ivar json_file: the open JSON log file, or L{None}.
    """

    def __init__(self, publisher, predicate, json_file):
        self.publisher = publisher
        self.predicate = predicate
        self.json_file = json_file
        self._json_observer = None

    def uninstall(self):
        """Remove the filters and the JSON observer, and close the file."""
        observers = getattr(self.publisher, "_observers", None)
        if observers is not None:
            for i, observer in enumerate(observers):
                if isinstance(observer, _Filtered) and observer.predicate is self.predicate:
                    observers[i] = observer.wrapped
        if self._json_observer is not None:
            self.publisher.removeObserver(self._json_observer)
            self._json_observer = None
        if self.json_file is not None:
            self.json_file.close()
            self.json_file = None


def level_of(name):
    """The L{LogLevel} for a configured level name (C{debug} … C{critical})."""
    return LEVELS[name]


def install(config, publisher=None):
    """
    Apply C{config.log_level} to the publisher's observers and, when
    C{config.log_json_file} is set, add a JSON-lines observer behind the same
    level filter.

    @param publisher: the L{twisted.logger.LogPublisher} (the global one when
        L{None}).
    @return: a L{LogSetup}; call its C{uninstall} when the server stops.
    @raise LogSetupError: the JSON log file cannot be opened.
    """
    publisher = globalLogPublisher if publisher is None else publisher
    predicate = LogLevelFilterPredicate(defaultLogLevel=level_of(config.log_level))
    json_file = None
    if config.log_json_file:
        try:
            json_file = io.open(config.log_json_file, "a", encoding="utf-8")
        except OSError as e:
            raise LogSetupError("cannot open the JSON log file %s: %s" % (config.log_json_file, e.strerror or e))
    setup = LogSetup(publisher, predicate, json_file)
    # LogPublisher keeps its observers in a list and offers no public way to
    # wrap them; the list is replaced element by element so that observers
    # added later (by anyone) are left alone.
    observers = getattr(publisher, "_observers", None)
    if observers is not None:
        for i, observer in enumerate(observers):
            if not isinstance(observer, _Filtered):
                observers[i] = _Filtered(observer, predicate)
    if json_file is not None:
        setup._json_observer = _Filtered(jsonFileLogObserver(json_file), predicate)
        publisher.addObserver(setup._json_observer)
    return setup
