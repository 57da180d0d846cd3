"""
C{twistd iserverd}: command-line options and the service they make.
"""

import atexit
import os
import sys

from twisted.python import usage

from iserverd import __version__, config as configuration


class ServerOptions(usage.Options):
    """
    Options of C{twistd iserverd}.  The command line beats the config file,
    which beats the defaults.
    """

    synopsis = "[options]"
    longdesc = (
        "An ICQ v3/v5 server. With no --database it runs a private PostgreSQL "
        "in the data folder."
    )
    optParameters = [
        ["config", "c", None, "INI-like configuration file (IServerd key names are understood)."],
        ["interface", "i", None, "IPv4 address to bind (default 0.0.0.0)."],
        ["port", "p", None, "UDP port (default 4000)."],
        ["database", "d", None, "PostgreSQL DSN; without it an embedded server runs in --data-dir."],
        ["data-dir", None, None, "Data folder (default ./iserverd-data)."],
        ["webpager-socket", None, None, "Webpager UNIX socket path (default DATA-DIR/wwp.sock)."],
        ["http-port", None, None, "TCP port of the web front (default 0 = off)."],
        ["metrics-port", None, None, "TCP port of the Prometheus metrics endpoint on 127.0.0.1 (default 0 = off)."],
    ]

    _overrides = {
        "interface": "interface",
        "port": "port",
        "database": "database",
        "data-dir": "data_dir",
        "webpager-socket": "webpager_socket",
        "http-port": "http_port",
        "metrics-port": "metrics_port",
    }

    def opt_version(self):
        """Print the iserverd version and exit."""
        print("iserverd", __version__)
        sys.exit(0)

    def postOptions(self):
        try:
            overrides = {
                name: configuration.parse_value(name, self[option])
                for option, name in self._overrides.items()
                if self[option] is not None
            }
            self["settings"] = configuration.load(self["config"], overrides)
        except configuration.ConfigError as e:
            raise usage.UsageError(str(e))


class Options(ServerOptions):
    """
    The options as twistd uses them: a bad option or config ends the program
    with one line on stderr, not the whole usage text.
    """

    def parseOptions(self, options=None):
        try:
            ServerOptions.parseOptions(self, options)
        except usage.UsageError as e:
            raise SystemExit("iserverd: %s" % (e,))


def makeService(options, reactor=None):
    """
    Compose the server from parsed L{ServerOptions} (or a L{configuration.Config}).
    """
    if reactor is None:
        from twisted.internet import reactor
    from iserverd.services.server import ServerService

    settings = options["settings"] if isinstance(options, usage.Options) else options

    def fatal():
        # twistd always exits 0 after reactor.stop(); a failed start must not look
        # like success to a service manager, so end the process with status 1.
        atexit.register(_exit_failed)
        if reactor.running:
            reactor.stop()

    return ServerService(settings, reactor, on_fatal=fatal)


def _exit_failed():
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)
