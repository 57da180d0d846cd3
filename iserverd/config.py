"""
Server configuration: defaults, the INI-like file, and command-line overrides.

The file format is IServerd's own (C{iserv.conf}, C{v5_proto.conf}): C{Key = value}
lines under any C{[Section]}, C{#} or C{;} comments, C{Include = file}.  Keys are
compared ignoring case and white space, so C{V5 max retries} and C{v5maxretries}
are the same key.  Precedence: command line, then file, then the defaults below.

Every setting is declared once in L{SETTINGS}; the README's configuration
reference is written from that table.
"""

import os
from dataclasses import dataclass, field, make_dataclass, replace
from urllib.parse import quote


class ConfigError(Exception):
    """
    A configuration problem, phrased as one line an operator can act on.
    """


def _int(low=None, high=None):
    def parse(text):
        try:
            value = int(text.strip(), 0)
        except ValueError:
            raise ValueError("expected a whole number, got %r" % (text,))
        if low is not None and value < low:
            raise ValueError("must be at least %d, got %d" % (low, value))
        if high is not None and value > high:
            raise ValueError("must be at most %d, got %d" % (high, value))
        return value

    return parse


_TRUE = {"yes", "true", "1", "on"}
_FALSE = {"no", "false", "0", "off"}


def _bool(text):
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("expected yes/no, got %r" % (text,))


def _str(text):
    return text.strip()


def _address(text):
    """
    An IPv4 address to bind; IServerd wrote C{0.0.0.0/32}, so a C{/32} is dropped.
    """
    value = text.strip()
    if value.endswith("/32"):
        value = value[:-3]
    parts = value.split(".")
    if value in ("", "*"):
        return "0.0.0.0"
    if len(parts) != 4 or not all(p.isdigit() and 0 <= int(p) <= 255 for p in parts):
        raise ValueError("expected an IPv4 address, got %r" % (text,))
    return value


def _networks(text):
    """Comma-separated IP addresses or networks (C{10.0.0.0/8}); checked, kept as text."""
    import ipaddress
    for part in text.replace(";", ",").split(","):
        if part.strip():
            try:
                ipaddress.ip_network(part.strip(), strict=False)
            except ValueError:
                raise ValueError("not an IP address or network: %r" % (part.strip(),))
    return text.strip()


def _dsn(text):
    value = text.strip()
    if value and not (
        value.startswith("postgresql://")
        or value.startswith("postgres://")
        or "=" in value
    ):
        raise ValueError(
            "expected postgresql://user:password@host:port/dbname or key=value pairs, got %r"
            % (text,)
        )
    return value


def _mode(text):
    try:
        value = int(text.strip(), 8)
    except ValueError:
        raise ValueError("expected an octal file mode such as 0660, got %r" % (text,))
    if value & 0o007:
        raise ValueError("must not grant rights to others (%s)" % (oct(value),))
    return value


# IServerd's "Translate table" names the client code page by its table file.
_ISERVERD_TABLES = {"default": "latin-1", "russian_win": "cp1251"}


def _codec(text):
    import codecs

    value = text.strip()
    value = _ISERVERD_TABLES.get(value.lower(), value)
    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError("unknown character set %r" % (value,))
    return value


def _durability(text):
    value = text.strip().lower()
    if value not in ("commit", "memory"):
        raise ValueError("expected commit or memory, got %r" % (text,))
    return value


def _level(text):
    value = text.strip().lower()
    if value.isdigit():
        # IServerd's numeric verbosity (its sample file says 10): 0 is quiet, 10 and more is everything.
        number = int(value)
        value = "warn" if number == 0 else "info" if number < 10 else "debug"
    if value not in ("debug", "info", "warn", "error", "critical"):
        raise ValueError("expected debug, info, warn, error or critical, got %r" % (text,))
    return value


@dataclass(frozen=True)
class Setting:
    """
    One configuration key: its attribute name, the file keys that set it, its
    default, its parser and a line of documentation.
    """

    name: str
    keys: tuple
    default: object
    parse: object
    doc: str


SETTINGS = (
    # Server
    Setting("port", ("Listen port",), 4000, _int(0, 65535),
            "UDP port for v3 and v5 clients."),
    Setting("interface", ("Bind interface",), "0.0.0.0", _address,
            "IPv4 address to bind (0.0.0.0 = all interfaces)."),
    Setting("data_dir", ("Data dir", "Var dir path"), "iserverd-data", _str,
            "Folder of the embedded PostgreSQL cluster and the default webpager socket."),
    Setting("database", ("Database DSN",), "", _dsn,
            "External PostgreSQL DSN; empty = the embedded server in the data dir."),
    Setting("udp_buffer", ("UDP buffer size",), 4 * 1024 * 1024, _int(65536, 256 * 1024 * 1024),
            "Socket receive/send buffer (bytes) so bursts are queued, not dropped."),
    Setting("db_pool_size", ("Database pool size",), 4, _int(1, 64),
            "Connections kept open to PostgreSQL."),
    Setting("max_online", ("Max online users",), 100000, _int(1),
            "Logins beyond this many online users are refused with 'table full'."),
    Setting("default_ping_time", ("Default ping time",), 120, _int(10, 3600),
            "Keep-alive lifetime (s) for protocols without their own setting."),
    Setting("admin_email", ("Admin email",), "root@localhost", _str,
            "Shown in broadcasts and some error texts."),
    Setting("client_charset", ("Client charset", "Translate table"), "latin-1", _codec,
            "Code page of the clients' 8-bit text; account fields are stored as Unicode."),
    Setting("restrict_luip", ("Restrict access to LUIP",), False, _bool,
            "Only allow a login from the account's last login address."),
    Setting("replace_session", ("Replace online session",), True, _bool,
            "A correct login for a UIN already online replaces the old session "
            "(no = answer busy until it times out, as IServerd did)."),
    Setting("online_check_period", ("Online db check period",), 600, _int(10, 86400),
            "Seconds between rewrites of the database's online table from the server's own "
            "(repairs it after a database outage)."),
    Setting("message_durability", ("Message durability",), "commit", _durability,
            "commit: a message to an online user is written to the database before its sender is "
            "acknowledged, so no acknowledged message is lost even to a crash; memory: it is written "
            "only if the recipient never acknowledges it (faster; messages in flight die with the process)."),
    Setting("message_commit_delay", ("Message commit delay",), 0, _int(0, 100),
            "Milliseconds an idle server waits to gather more messages into one commit (0: at once; "
            "messages arriving while a commit runs always share the next one)."),
    Setting("log_level", ("Log level",), "info", _level,
            "debug, info, warn, error or critical."),
    # Operations
    Setting("control_socket", ("Control socket",), "", _str,
            "UNIX socket of iserverd-admin's live commands; empty = control.sock in the data dir."),
    Setting("control_group", ("Control group",), "", _str,
            "Group that may use the control socket too (mode 0660); empty = only the server's user (0600)."),
    Setting("metrics_port", ("Metrics port",), 0, _int(0, 65535),
            "TCP port of the Prometheus metrics endpoint; 0 = off."),
    Setting("metrics_interface", ("Metrics interface",), "127.0.0.1", _address,
            "Address the metrics endpoint binds to."),
    Setting("log_json_file", ("Log json file",), "", _str,
            "Also write the log as JSON lines to this file; empty = off."),
    # Webpager
    Setting("webpager_socket", ("WWP socket filename",), "", _str,
            "Webpager UNIX socket; empty = wwp.sock in the data dir."),
    Setting("webpager_group", ("WWP socket group",), "", _str,
            "Group owning the webpager socket (empty = the server's group)."),
    Setting("webpager_mode", ("WWP socket mode",), 0o660, _mode,
            "Mode of the webpager socket; never world-writable."),
    # v5
    Setting("v5_enabled", ("V5 proto enabled",), True, _bool,
            "Serve ICQ v5 clients (ICQ 99a/99b, licq, micq)."),
    Setting("v5_max_retries", ("V5 max retries",), 5, _int(0, 50),
            "Resends of an unacknowledged packet to a v5 client."),
    Setting("v5_max_timeout", ("V5 max timeout",), 10, _int(1, 300),
            "Seconds between resends to a v5 client."),
    Setting("v5_ping_time", ("V5 ping time",), 120, _int(20, 3600),
            "Seconds a v5 client stays online without a keep-alive."),
    Setting("v5_max_msgsize", ("V5 max msgsize",), 450, _int(16, 8000),
            "Longest message text (bytes) accepted from or sent in one packet to v5 clients."),
    Setting("v5_max_search", ("V5 max search",), 100, _int(1, 10000),
            "Search results per request for v5 clients."),
    Setting("v5_registration", ("V5 registration enabled",), False, _bool,
            "Let v5 clients register new UINs."),
    Setting("v5_auto_registration", ("V5 auto registration",), False, _bool,
            "Register v5 clients automatically, without the administrator."),
    Setting("post_register_text", ("Post register text",),
            "Welcome! Your new UIN is %U%. Please keep your password safe.", _str,
            "First offline message of an automatically registered user; %U% = the UIN, "
            "%P% = the password, \\n = a line break; empty = none."),
    # v3
    Setting("v3_enabled", ("V3 proto enabled",), True, _bool,
            "Serve ICQ v3 Groupware clients (ICQ Corp, Miranda ICQCorp)."),
    Setting("v3_max_retries", ("V3 max retries",), 3, _int(0, 50),
            "Resends of an unacknowledged packet to a v3 client."),
    Setting("v3_max_timeout", ("V3 max timeout",), 10, _int(1, 300),
            "Seconds between resends to a v3 client."),
    Setting("v3_ping_time", ("V3 ping time",), 55, _int(20, 3600),
            "Seconds a v3 client stays online without a ping."),
    Setting("v3_max_msgsize", ("V3 max msgsize",), 2025, _int(16, 8000),
            "Longest message text (bytes) accepted from v3 clients."),
    Setting("v3_max_search", ("V3 max search",), 100, _int(1, 10000),
            "Search results per request for v3 clients."),
    Setting("v3_registration", ("V3 registration enabled",), False, _bool,
            "Let v3 clients register new UINs."),
    Setting("v3_auto_registration", ("V3 auto registration",), False, _bool,
            "Register v3 clients automatically."),
    Setting("v3_registration_notes", ("V3 registration notes",), "There are no notes... :(", _str,
            "The administrator's notes v3 clients show on their registration form; \\n = a line break "
            "(IServerd's V3 admin notes named a file, so it is not read)."),
    Setting("v3_packet_mtu", ("V3 packet mtu",), 500, _int(100, 8000),
            "Longer packets to v3 clients are sent in fragments."),
    # Overload
    Setting("overload_rate", ("Overload packet rate",), 1000, _int(1),
            "Packets per second taken from senders without a session (logins, registrations, "
            "strays), all addresses together; beyond it they are answered BUSY. "
            "Logged-in users' packets are never limited."),
    Setting("overload_burst", ("Overload packet burst",), 10000, _int(1),
            "Packets without a session taken at once above that rate."),
    Setting("overload_source_rate", ("Overload source rate",), 20, _int(1),
            "Packets per second without a session taken from one source address."),
    Setting("overload_source_burst", ("Overload source burst",), 100, _int(1),
            "Packets without a session taken at once from one source address above its rate."),
    Setting("overload_source_table", ("Overload source table",), 65536, _int(16),
            "Source addresses tracked at most; the least recently seen is forgotten first."),
    Setting("overload_busy_rate", ("Overload busy replies",), 5000, _int(0),
            "BUSY replies sent per second at most; packets beyond it are dropped silently."),
    Setting("login_free_failures", ("Login free failures",), 3, _int(0),
            "Failed logins per source address or UIN before further attempts are slowed."),
    Setting("login_slow_delay", ("Login slow delay",), 2, _int(1, 3600),
            "Seconds to wait after the first slowed failure; doubles with each further failure."),
    Setting("login_lockout_failures", ("Login lockout failures",), 10, _int(1),
            "Failed logins per source address or UIN that refuse further attempts for the lockout time."),
    Setting("login_lockout_time", ("Login lockout time",), 300, _int(1, 86400),
            "Seconds a locked-out source address or UIN is answered 'try again'."),
    Setting("login_failure_memory", ("Login failure memory",), 900, _int(1, 86400),
            "Seconds after its last failure that a source address or UIN is forgiven."),
    Setting("login_throttle_table", ("Login throttle table",), 65536, _int(16),
            "Source addresses and UINs with failed logins tracked at most (each)."),
    # OSCAR
    Setting("oscar_key_file", ("OSCAR key file",), "", _str,
            "Key sealing the password copies that OSCAR MD5 logins need; created at first start "
            "(mode 0600); empty = oscar.key in the data dir. Keep it out of database backups."),
    # Web
    Setting("http_port", ("HTTP port",), 0, _int(0, 65535),
            "TCP port of the web front (web pager, status indicator, server status); 0 = off."),
    Setting("http_interface", ("HTTP interface",), "127.0.0.1", _address,
            "Address the web front binds to (put a reverse proxy in front for the public)."),
    Setting("web_name", ("Web network name",), "iserverd", _str,
            "The network's name, shown in the web front's title bar and pages."),
    Setting("web_text", ("Web welcome text",),
            "A private ICQ network. Sign up, find who is online, or send a message.", _str,
            "Short text on the web front's home page; \\n = a new paragraph."),
    Setting("web_trusted_proxies", ("Web trusted proxies",), "", _networks,
            "Addresses of reverse proxies whose X-Forwarded-For names the visitor (comma separated); "
            "empty = none, the connection's own address counts."),
    Setting("web_max_connections", ("Web max connections",), 256, _int(1, 60000),
            "Open HTTP connections at most, all addresses together; more are closed at once."),
    Setting("web_max_per_address", ("Web max connections per address",), 16, _int(1, 60000),
            "Open HTTP connections at most from one address (a trusted proxy counts only towards the total)."),
    Setting("web_request_timeout", ("Web request timeout",), 10, _int(1, 600),
            "Seconds a client has to send a request's headers and body; an idle connection is closed after this."),
    Setting("web_registration", ("Web registration enabled",), False, _bool,
            "Let visitors sign up for a UIN at /register."),
    Setting("web_auto_registration", ("Web auto registration",), False, _bool,
            "Create web sign-ups at once; no = they wait for the administrator (iserverd-admin approve)."),
    Setting("web_registration_per_address", ("Web registrations per address",), 3, _int(1),
            "Sign-ups from one visitor address per day at most (besides the once-a-minute limit of client registration)."),
    Setting("web_invite_only", ("Web invite only",), False, _bool,
            "Web sign-up needs an invite code (iserverd-admin invite create)."),
    Setting("web_online_list", ("Web online list",), False, _bool,
            "Show who is online at /online (nick, UIN, status; never invisible users or those not web aware)."),
    Setting("web_indicator_rate", ("Web indicator rate",), 5, _int(1),
            "Status indicator requests per second from one address (a burst of 60 is allowed)."),
)

# IServerd's database keys, folded into one DSN when no "Database DSN" is given.
_LEGACY_DB_KEYS = {
    "databaseuser": "user",
    "databasepassword": "password",
    "databaseaddr": "host",
    "databaseport": "port",
    "usersdbname": "dbname",
}

# IServerd keys we understand but do not act on; reported as ignored, not as unknown.
_KNOWN_UNUSED = {
    "servermode", "pidfilepath", "minchilds", "maxchilds", "sharedmemorysize",
    "maxtcpconnections", "bindonallinterfaces", "departlistversion", "externalsnumber",
    "infopassword", "realtimeonlinedb", "translatepath", "enableactions",
    "actionsconfigfile", "enablewatchdog", "watchdogtimeout", "startwithoutrdbms",
    "vacuumdbtimeout", "defragdbcheckperiod",
    "validate-cachetimeout", "validatecachetimeout", "maxlogsize", "logumask",
    "debuglevel", "timestamplogs", "appendlogs", "logprocesspid", "v3msgsplitorder",
    "v3adminnotes", "v3post-registerinfo", "v3postregisterinfo",
}


def normalize_key(key):
    """IServerd compares keys ignoring case and all white space."""
    return "".join(key.split()).lower()


_BY_KEY = {}
for _s in SETTINGS:
    for _k in _s.keys + (_s.name,):
        _BY_KEY[normalize_key(_k)] = _s
        _BY_KEY[normalize_key(_k.replace("_", ""))] = _s


class _ConfigMethods:
    """
    The resolved settings.  Attribute names are those of L{SETTINGS}.

    @ivar ignored: file keys that were not understood, for one warning each.
    """

    def with_overrides(self, **values):
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    @property
    def oscar_key_path(self):
        return self.oscar_key_file or os.path.join(self.data_dir, "oscar.key")

    @property
    def webpager_path(self):
        return self.webpager_socket or os.path.join(self.data_dir, "wwp.sock")


Config = make_dataclass(
    "Config",
    [(s.name, type(s.default), field(default=s.default)) for s in SETTINGS]
    + [("ignored", tuple, field(default=()))],
    bases=(_ConfigMethods,),
    frozen=True,
    namespace={"__module__": __name__},
)
Config.__doc__ = _ConfigMethods.__doc__


def parse_value(name, text):
    """
    Parse C{text} for the setting called C{name} (as on the command line).

    @raise ConfigError: the value is not acceptable.
    """
    setting = _BY_KEY[normalize_key(name)]
    try:
        return setting.parse(text)
    except ValueError as e:
        raise ConfigError("%s: %s" % (setting.keys[0], e))


def _read_lines(path, seen):
    real = os.path.realpath(path)
    if real in seen:
        raise ConfigError("%s: included twice (include loop)" % (path,))
    seen.add(real)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ConfigError("cannot read config file %s: %s" % (path, e.strerror or e))
    text = raw.decode("utf-8", "replace")
    base = os.path.dirname(path)
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;" or (stripped[0] == "[" and stripped[-1] == "]"):
            continue
        if "=" not in stripped:
            raise ConfigError("%s:%d: expected 'Key = value', got %r" % (path, number, stripped))
        key, value = stripped.split("=", 1)
        if normalize_key(key) == "include":
            target = value.strip()
            if not os.path.isabs(target):
                target = os.path.join(base, target)
            yield from _read_lines(target, seen)
            continue
        yield path, number, key.strip(), value.strip()


def load(path=None, overrides=None):
    """
    Build a L{Config} from the defaults, an optional file and overrides.

    @param path: a config file, or L{None}.
    @param overrides: setting name to already-parsed value (command line); L{None}
        values are skipped.
    @raise ConfigError: the file or a value is bad.
    """
    values = {}
    ignored = []
    legacy_db = {}
    if path is not None:
        for where, number, key, text in _read_lines(path, set()):
            norm = normalize_key(key)
            if norm in _LEGACY_DB_KEYS:
                legacy_db[_LEGACY_DB_KEYS[norm]] = text
                continue
            setting = _BY_KEY.get(norm)
            if setting is None:
                ignored.append(key if norm in _KNOWN_UNUSED else key + " (unknown)")
                continue
            try:
                values[setting.name] = setting.parse(text)
            except ValueError as e:
                raise ConfigError("%s:%d: %s: %s" % (where, number, key, e))
    if legacy_db and not values.get("database"):
        values["database"] = legacy_dsn(legacy_db)
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
    return Config(ignored=tuple(dict.fromkeys(ignored)), **values)


def legacy_dsn(parts):
    """
    Turn IServerd's separate database keys into a C{postgresql://} DSN.
    """
    user = quote(parts.get("user", "iserverd"), safe="")
    password = parts.get("password", "")
    auth = user + (":" + quote(password, safe="") if password else "")
    host = parts.get("host", "")
    port = parts.get("port", "")
    dbname = quote(parts.get("dbname", "iserverd"), safe="")
    netloc = host + (":" + port if port and host else "")
    dsn = "postgresql://%s@%s/%s" % (auth, netloc, dbname)
    if port and not host:
        dsn += "?port=" + quote(port, safe="")
    return dsn


def reference():
    """
    The configuration reference as Markdown table rows, for the README.
    """
    rows = ["| Key | Default | Meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = s.default
        if isinstance(default, bool):
            default = "yes" if default else "no"
        elif s.name == "webpager_mode":
            default = "0660"
        rows.append("| `%s` | %s | %s |" % (s.keys[0], default if default != "" else "(empty)", s.doc))
    return "\n".join(rows)


__all__ = ["Config", "ConfigError", "SETTINGS", "load", "parse_value", "reference"]


def one_line(error):
    """The first line of an error's text, for an operator's log."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
