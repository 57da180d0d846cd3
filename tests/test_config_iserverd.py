"""
IServerd's own configuration files load as they are: sample files written
from the settings IServerd documents (server-model.md section 9), with
[Globals], absolute Include lines and every key of its shipped samples.
"""

import os
import shutil
import tempfile

from twisted.internet import defer, reactor
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial import unittest

from iserverd import config
from iserverd.services.server import ServerService
from tests import support

ISERV_CONF = """\
# Main configuration of the ICQ server.  Change the database and info
# passwords, and the admin e-mail used in broadcasts.

[Globals]

# ---- server ----
 Bind on all interfaces  =\tNo
 Bind interface\t\t =\t0.0.0.0/32
 Listen port\t\t =\t4000
 Pid file path\t\t =\t/var/run/iserverd/iserverd.pid
 Translate path\t\t =\t/etc/iserverd/translate
 Translate table\t =\tRUSSIAN_WIN
 Var dir path\t\t =\t/var/run/iserverd
 Server mode\t\t =\tdaemon
 Min childs\t\t =\t4
 Max childs\t\t =\t100
 Shared memory size\t =\t512000
 Default ping time\t =\t120
 Depart list version\t =\t1
 Externals number\t =\t0
 Admin email\t\t =\troot@localhost
 Info Password\t\t =\tDEFAULT
 Enable actions\t\t =\tTrue
 Actions config file\t =\t/etc/iserverd/actions.conf
 Enable watchdog\t =\tTrue
 Watchdog timeout\t =\t10
 Start without RDBMS\t =\tTrue
 WWP socket filename\t =\t/tmp/wwp_sock
 Realtime online db\t =\tFalse
 Max tcp connections\t =\t512
 Restrict access to LUIP =\tFalse

# ---- database ----
 Database user\t\t =\tiserverd
 Database password\t =\tsicq
# empty address: the local PostgreSQL socket
 Database addr\t\t =\t
 Database port\t\t =\t5432
 Users db name\t\t =\tusers_db
 Vacuumdb timeout\t =\t1800
 Online db check period  =\t3600
 Defrag db check period  =\t43200

# ---- logging ----
 Maxlog size\t\t =\t500
 Log umask\t\t =\t022
 Log level\t\t =\t10
 Debug level\t\t =\t10
 Timestamp logs\t\t =\tTrue
 Append logs\t\t =\tFalse
 Log process pid\t =\tFalse

# ---- protocol modules ----
 Include\t\t =\t{etc}/v3_proto.conf
 Include\t\t =\t{etc}/v5_proto.conf
 Include\t\t =\t{etc}/v7_proto.conf
"""

V3_PROTO_CONF = """\
# v3 (Groupware) module
V3 proto enabled\t=\tYes
V3 max retries\t\t=\t3
V3 max timeout\t\t=\t10
V3 ping time\t\t=\t55
V3 max search\t\t=\t100
V3 max msgsize\t\t=\t2025
V3 packet mtu\t\t=\t500
V3 registration enabled =\tYes
V3 auto registration\t=\tNo
V3 admin notes\t\t=\t/etc/iserverd/texts/adm_notes.txt
V3 post-register info\t=\t/etc/iserverd/texts/post_reg_man.txt
"""

V5_PROTO_CONF = """\
# v5 module
V5 proto enabled\t=\tYes
V5 max retries\t\t=\t5
V5 max timeout\t\t=\t10
V5 ping time\t\t=\t120
V5 max search\t\t=\t100
V5 max msgsize\t\t=\t450
V3 msg split order\t=\tbackward
V5 registration enabled =\tNo
V5 auto registration\t=\tNo
"""

V7_PROTO_CONF = """\
# AIM/v7 module (not served by iserverd)
Enable AIM port\t\t=\t5190
V7 proto enabled\t=\tYes
V7 max contact size\t=\t600
V7 direct V3 connect\t=\tFalse
V7 direct V5 connect\t=\tTrue
V7 BOS address\t\t=\t127.0.0.1:5190
"""


def write_samples(folder):
    """Write IServerd-style iserv.conf and its three includes into C{folder}; return iserv.conf's path."""
    os.makedirs(folder, exist_ok=True)
    files = {
        "iserv.conf": ISERV_CONF.format(etc=os.path.abspath(folder)),
        "v3_proto.conf": V3_PROTO_CONF,
        "v5_proto.conf": V5_PROTO_CONF,
        "v7_proto.conf": V7_PROTO_CONF,
    }
    for name, text in files.items():
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)
    return os.path.join(folder, "iserv.conf")


class IServerdSampleTests(unittest.TestCase):
    """
    IServerd's sample configuration loads without changes.
    """

    def setUp(self):
        self.path = write_samples(self.mktemp())

    def test_values(self):
        """The keys iserverd uses take the sample files' values."""
        c = config.load(self.path)
        self.assertEqual((c.port, c.interface, c.data_dir), (4000, "0.0.0.0", "/var/run/iserverd"))
        self.assertEqual((c.client_charset, c.log_level, c.admin_email), ("cp1251", "debug", "root@localhost"))
        self.assertEqual(c.database, "postgresql://iserverd:sicq@/users_db?port=5432")
        self.assertEqual((c.v3_ping_time, c.v3_max_retries, c.v3_packet_mtu, c.v3_registration), (55, 3, 500, True))
        self.assertEqual((c.v5_ping_time, c.v5_max_search, c.v5_max_msgsize, c.v5_registration), (120, 100, 450, False))
        self.assertEqual(c.webpager_socket, "/tmp/wwp_sock")
        self.assertFalse(c.restrict_luip)

    def test_unknown_and_unused_reported_once(self):
        """IServerd keys iserverd does not use are listed once each; v7 keys are marked unknown."""
        c = config.load(self.path)
        self.assertEqual(len(c.ignored), len(set(c.ignored)))
        for key in ("Pid file path", "Info Password", "Min childs", "Debug level", "V3 msg split order",
                    "V3 admin notes", "V3 post-register info", "Vacuumdb timeout"):
            self.assertIn(key, c.ignored)
        for key in ("Enable AIM port", "V7 proto enabled", "V7 BOS address"):
            self.assertIn(key + " (unknown)", c.ignored)
        used = {"Listen port", "Translate table", "Log level", "Var dir path", "Database user", "V5 ping time"}
        self.assertFalse(used & {k.replace(" (unknown)", "") for k in c.ignored})

    def test_repeated_unknown_key_once(self):
        """The same unknown key in two included files is reported once."""
        folder = self.mktemp()
        os.makedirs(folder)
        for name in ("a.conf", "b.conf"):
            with open(os.path.join(folder, name), "w") as f:
                f.write("V7 proto enabled = Yes\nMin childs = 4\n")
        main = os.path.join(folder, "main.conf")
        with open(main, "w") as f:
            f.write("[Globals]\nInclude = a.conf\nInclude = b.conf\n")
        c = config.load(main)
        self.assertEqual(c.ignored, ("V7 proto enabled (unknown)", "Min childs"))

    def test_translate_tables(self):
        """IServerd's translation table names become the clients' character set."""
        self.assertEqual(config.parse_value("Translate table", "DEFAULT"), "latin-1")
        self.assertEqual(config.parse_value("Translate table", "RUSSIAN_WIN"), "cp1251")
        self.assertEqual(config.parse_value("Translate table", "CP437"), "CP437")
        e = self.assertRaises(config.ConfigError, config.parse_value, "Translate table", "KLINGON")
        self.assertIn("unknown character set", str(e))

    @defer.inlineCallbacks
    def test_server_starts_and_warns_once(self):
        """A server started from the samples (database overridden) serves and warns once per ignored key."""
        observer = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        dsn = support.fresh_database(self)
        # A short folder: UNIX socket paths are limited to about 100 bytes.
        data = tempfile.mkdtemp(prefix="isd-cfg-")
        self.addCleanup(shutil.rmtree, data, True)
        cfg = config.load(self.path, dict(database=dsn, port=0, interface="127.0.0.1", data_dir=data,
                                          webpager_socket=os.path.join(data, "wwp.sock"),
                                          control_socket=os.path.join(data, "control.sock"), db_pool_size=2))
        server = ServerService(cfg, reactor)
        server.startService()
        self.addCleanup(server.stopService)
        yield server.ready
        self.assertTrue(server.udp_port)
        warnings = [e["key"] for e in observer if e["log_level"] is LogLevel.warn and "key" in e]
        self.assertEqual(sorted(warnings), sorted(cfg.ignored))
        self.assertEqual(len(warnings), len(set(warnings)))
