"""
The benchmark suite: one command, a table at the end.

    python bench/run.py            # the full run (about 6 minutes on 2 cores)
    python bench/run.py --quick    # a smoke run with small numbers (about 1 minute)
    python bench/run.py --dsn postgresql://user:pw@host/db   # an external database
    python bench/run.py --only echo,relay --out table.md

It starts a private PostgreSQL (pgserver, in a temporary folder) unless
--dsn is given, creates the accounts in bulk with COPY (one password hash,
reused), and then, for each measurement, a fresh server process
(bench/server.py) and load-generator processes (bench/loadgen.py) that
talk real v5 over loopback:

  echo     the ceiling: datagrams/s a bare Twisted DatagramProtocol echoes
  storm    N users log in at once (N = 1,000 and 10,000): time until all are online
  relay    messages/s from senders to online recipients with all acks,
           then p50/p99 latency at half that rate
  durability  the relay with Message durability = commit and = memory, one
           after the other: messages/s, p50/p99 at half the rate, server and
           PostgreSQL CPU per message, and the ratio commit / memory
  memory   server RSS per online user at 10,000 and 100,000 sessions
  flood    garbage and LOGIN packets as fast as one process sends them (then at
           half that rate), while 100 online users exchange messages: their
           delivered share and p99
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

PASSWORD = b"benchpw"
FIRST_UIN = 100000
PYTHON = sys.executable

FULL = dict(echo_seconds=5, storms=(1000, 10000), relay_pairs=100, relay_seconds=5,
            memory=(10000, 100000), flood_seconds=10, flood_pairs=50, flood_rate=500)
QUICK = dict(echo_seconds=2, storms=(200, 1000), relay_pairs=20, relay_seconds=2,
             memory=(1000, 3000), flood_seconds=3, flood_pairs=50, flood_rate=200)


# --- the database ------------------------------------------------------------


class Database:
    """A private pgserver cluster in a temporary folder, or an external DSN."""

    def __init__(self, dsn=None):
        self.folder = None
        self.server = None
        if dsn:
            self.dsn = dsn
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import pgserver
            self.folder = tempfile.mkdtemp(prefix="iserverd-bench-")
            self.server = pgserver.get_server(os.path.join(self.folder, "pg"), cleanup_mode="delete")
            self.server.psql("CREATE DATABASE iserverd_bench;")
            self.dsn = self.server.get_uri("iserverd_bench")

    def prepare(self, users):
        """Create the schema and C{users} accounts, all with the same password."""
        import io

        import psycopg2

        from iserverd.storage import schema
        from iserverd.storage.passwords import hash_password

        conn = psycopg2.connect(self.dsn)
        try:
            with conn, conn.cursor() as cur:
                cur.execute("SELECT to_regclass('users')")
                if cur.fetchone()[0] is None:
                    cur.execute(schema.full_sql(schema.CURRENT))
                cur.execute("DELETE FROM users WHERE uin >= %s", (FIRST_UIN,))
                hashed = hash_password(PASSWORD)  # once: 100,000 hashes would take a minute
                rows = io.StringIO("".join(
                    "%d\t%s\tbench%d\n" % (uin, hashed, uin) for uin in range(FIRST_UIN, FIRST_UIN + users)
                ))
                cur.copy_expert("COPY users (uin, password_hash, nick) FROM STDIN", rows)
                cur.execute("ANALYZE users")
                cur.execute("SELECT version()")
                self.version = cur.fetchone()[0].split(",")[0]
        finally:
            conn.close()

    def cpu_seconds(self):
        """
        User + system CPU time of the private cluster's processes (postmaster
        and backends) so far; L{None} for an external database.
        """
        if self.folder is None:
            return None
        with open(os.path.join(self.folder, "pg", "postmaster.pid")) as f:
            postmaster = int(f.readline())
        total = 0.0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(pid) == postmaster or int(fields[1]) == postmaster:
                total += int(fields[11]) + int(fields[12])
        return total / float(os.sysconf("SC_CLK_TCK"))

    def close(self):
        if self.server is not None:
            self.server.cleanup()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


# --- processes -----------------------------------------------------------------


class Server:
    """A server process from bench/server.py; its stderr goes to a log file."""

    profile_dir = None  # set by --profile: py-spy records each server
    settings = ()  # set by --set: server settings for every run

    def __init__(self, mode, dsn=None, settings=(), logdir=None):
        cmd = [PYTHON, os.path.join(HERE, "server.py"), mode]
        if dsn:
            cmd += ["--dsn", dsn]
        # Sessions must outlive the longest run without keep-alives.
        for s in ("v5_ping_time=3600",) + tuple(settings) + tuple(self.settings):
            cmd += ["--set", s]
        self.log = open(os.path.join(logdir, "server-%s-%d.log" % (mode, time.time() * 1000)), "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            self.proc.kill()
            raise RuntimeError("server did not start (see %s)" % self.log.name)
        self.port = int(line.split()[1])
        self.profiler = None
        if self.profile_dir:
            name = os.path.join(self.profile_dir, "%s-%d.txt" % (mode, self.proc.pid))
            self.profiler = subprocess.Popen(
                ["py-spy", "record", "--pid", str(self.proc.pid), "--format", "raw", "--rate", "200",
                 "--output", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return None

    def cpu_seconds(self):
        """User + system CPU time the server has used so far (robust to other load)."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))

    def stop(self):
        if self.profiler is not None:
            self.profiler.send_signal(2)
            self.profiler.wait(timeout=60)
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=120)
        self.log.close()
        lines = [l for l in out.splitlines() if l.startswith("{")]
        return json.loads(lines[-1]) if lines else {}


def loadgen(*args, **popen):
    return subprocess.Popen([PYTHON, os.path.join(HERE, "loadgen.py")] + [str(a) for a in args],
                            stdout=subprocess.PIPE, text=True, **popen)


def result_of(proc, timeout=900):
    out, _ = proc.communicate(timeout=timeout)
    lines = [l for l in out.splitlines() if l.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError("load generator failed (exit %s): %s" % (proc.returncode, out[-500:]))
    return json.loads(lines[-1])


def read_json_line(proc):
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("load generator ended early")
        if line.startswith("{"):
            return json.loads(line)


def wait_line(proc, word):
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("load generator ended before %s" % word)
        if line.strip() == word:
            return


# --- the measurements ----------------------------------------------------------


def run_echo(ctx, p):
    server = Server("echo", logdir=ctx.logdir)
    try:
        cpu = server.cpu_seconds()
        r = result_of(loadgen("echo", "--port", server.port, "--seconds", p["echo_seconds"],
                              "--sockets", 16, "--window", 256))
        cpu = server.cpu_seconds() - cpu
    finally:
        stats = server.stop()
    ctx.figures["echo_per_s"] = r["echo_per_s"]
    ctx.figures["echo"] = dict(r, server_cpu_us_per_datagram=cpu * 1e6 / max(1, stats.get("echoed", 1)))
    return [("echo ceiling (bare Twisted DatagramProtocol)",
             "%.0f datagrams/s (server CPU %.1f µs per datagram)"
             % (r["echo_per_s"], ctx.figures["echo"]["server_cpu_us_per_datagram"]), "")]


def run_storm(ctx, p):
    rows = []
    for n in p["storms"]:
        server = Server("iserverd", ctx.db.dsn, logdir=ctx.logdir)
        try:
            cpu = server.cpu_seconds()
            r = result_of(loadgen("login", "--port", server.port, "--first", FIRST_UIN, "--count", n,
                                  "--window", 0, "--per-socket", 10))
            r["server_cpu_ms_per_login"] = (server.cpu_seconds() - cpu) * 1000.0 / n
            r["server_rss_kb"] = server.rss_kb()
            time.sleep(1)
        finally:
            stats = server.stop()
        target = ("< 10 s: %s" % ("met" if r["seconds"] < 10 else "MISSED")) if n >= 10000 else ""
        rows.append((
            "login storm: %s users at once, all online" % format(n, ","),
            "%.2f s (%.0f logins/s)" % (r["seconds"], n / r["seconds"]),
            target,
        ))
        rows.append(("  ... LOGIN resends / BUSY answers / server CPU per login",
                     "%d / %d / %.2f ms" % (r["login_resends"], r["busy"], r["server_cpu_ms_per_login"]), ""))
        ctx.figures["storm_%d" % n] = dict(r, server=stats)
    return rows


def run_relay(ctx, p):
    pairs = p["relay_pairs"]
    server = Server("iserverd", ctx.db.dsn, logdir=ctx.logdir)
    try:
        cpu = server.cpu_seconds()
        top = result_of(loadgen("relay", "--port", server.port, "--first", FIRST_UIN, "--pairs", pairs,
                                "--window", 8, "--seconds", p["relay_seconds"]))
        top["server_cpu_us_per_message"] = (server.cpu_seconds() - cpu) * 1e6 / top["delivered"]
        rate = top["relay_per_s"] / 2
        half = result_of(loadgen("relay", "--port", server.port, "--first", FIRST_UIN + 2 * pairs,
                                 "--pairs", pairs, "--rate", "%.0f" % rate, "--seconds", p["relay_seconds"]))
    finally:
        server.stop()
    ctx.figures["relay"] = top
    ctx.figures["relay_half"] = half
    echo = ctx.figures.get("echo_per_s")
    target = ""
    if echo:
        goal = 0.4 * echo / 4
        target = ">= %.0f/s (40%% of echo / 4): %s" % (goal, "met" if top["relay_per_s"] >= goal else "MISSED")
    return [
        ("message relay, %d senders -> %d recipients, all acked" % (pairs, pairs),
         "%.0f messages/s (server CPU %.0f µs per message)" % (top["relay_per_s"], top["server_cpu_us_per_message"]),
         target),
        ("  latency at half that rate (%.0f/s): p50 / p99" % rate,
         "%.1f ms / %.1f ms (%.1f%% delivered)" % (half["p50_ms"], half["p99_ms"], 100 * half["delivered_share"]),
         ""),
    ]


def relay_with(ctx, p, durability, first):
    """The relay at full speed, then at half that rate, with one Message durability."""
    pairs = p["relay_pairs"]
    server = Server("iserverd", ctx.db.dsn, settings=("message_durability=" + durability,), logdir=ctx.logdir)
    try:
        cpu, pg = server.cpu_seconds(), ctx.db.cpu_seconds()
        top = result_of(loadgen("relay", "--port", server.port, "--first", first, "--pairs", pairs,
                                "--window", 8, "--seconds", p["relay_seconds"]))
        top["server_cpu_us_per_message"] = (server.cpu_seconds() - cpu) * 1e6 / top["delivered"]
        if pg is not None:
            top["postgres_cpu_us_per_message"] = (ctx.db.cpu_seconds() - pg) * 1e6 / top["delivered"]
        rate = top["relay_per_s"] / 2
        half = result_of(loadgen("relay", "--port", server.port, "--first", first + 2 * pairs,
                                 "--pairs", pairs, "--rate", "%.0f" % rate, "--seconds", p["relay_seconds"]))
    finally:
        stats = server.stop()
    return top, half, stats


def run_durability(ctx, p):
    rows = []
    found = {}
    for durability in ("commit", "memory"):
        top, half, stats = relay_with(ctx, p, durability, FIRST_UIN)
        found[durability] = top, half
        ctx.figures["durability_" + durability] = dict(top=top, half=half, server=stats)
        commits = stats.get("commits", {}).get("log")
        if commits:
            print("  %s: %d messages in %d commits" % (durability, commits["items"], commits["batches"]), flush=True)
        pg = top.get("postgres_cpu_us_per_message")
        rows += [
            ("relay with Message durability = %s, all acked" % durability,
             "%.0f messages/s (CPU per message: server %.0f µs, PostgreSQL %s)" % (
                 top["relay_per_s"], top["server_cpu_us_per_message"],
                 "%.0f µs" % pg if pg is not None else "not measured"), ""),
            ("  ... latency at half that rate (%.0f/s): p50 / p99" % half["rate"],
             "%.1f ms / %.1f ms (%.1f%% delivered)" % (half["p50_ms"], half["p99_ms"],
                                                       100 * half["delivered_share"]),
             "p99 < 20 ms: %s" % ("met" if half["p99_ms"] < 20 else "MISSED") if durability == "commit" else ""),
        ]
    ratio = found["commit"][0]["relay_per_s"] / found["memory"][0]["relay_per_s"]
    ctx.figures["durability_ratio"] = ratio
    rows.append(("  ... throughput commit / memory", "%.0f%%" % (100 * ratio),
                 ">= 70%%: %s" % ("met" if ratio >= 0.7 else "MISSED")))
    return rows


def run_memory(ctx, p):
    rows = []
    server = Server("iserverd", ctx.db.dsn, settings=("max_online=1000000",), logdir=ctx.logdir)
    held = []
    try:
        time.sleep(2)
        base = server.rss_kb()
        first = FIRST_UIN
        online = 0
        previous = None
        for n in p["memory"]:
            count = n - online
            # 500 logins in flight at a time: the figure is the sessions' own
            # memory, not the high-water mark of a login storm's in-flight work.
            g = loadgen("login", "--port", server.port, "--first", first, "--count", count,
                        "--window", 500, "--per-socket", 10, "--hold", stdin=subprocess.PIPE)
            held.append(g)
            r = read_json_line(g)
            first += count
            online = n
            time.sleep(8)  # the offline-message check runs 5 s after each login
            rss = server.rss_kb()
            per_user = (rss - base) * 1024.0 / n
            ctx.figures["memory_%d" % n] = dict(rss_kb=rss, base_kb=base, per_user_bytes=per_user,
                                                login_seconds=r["seconds"])
            rows.append(("server RSS with %s sessions online" % format(n, ","),
                         "%.0f MB, %.2f KB per session" % (rss / 1024.0, per_user / 1024.0),
                         "< 5 KB: %s" % ("met" if per_user < 5 * 1024 else "MISSED")))
            if previous is not None:
                extra = (rss - previous[1]) * 1024.0 / (n - previous[0])
                rows.append(("  ... each session from %s to %s" % (format(previous[0], ","), format(n, ",")),
                             "%.2f KB" % (extra / 1024.0), ""))
            previous = (n, rss)
    finally:
        for g in held:
            g.stdin.close()
        for g in held:
            g.wait(timeout=60)
        stats = server.stop()
    ctx.figures["memory_server"] = stats
    rows.insert(0, ("server RSS, no session", "%.0f MB" % (base / 1024.0), ""))
    return rows


def flood_once(ctx, p, rate):
    """100 online users exchange messages while a flood runs at C{rate} (0: flat out)."""
    server = Server("iserverd", ctx.db.dsn, logdir=ctx.logdir)
    try:
        legit = loadgen("relay", "--port", server.port, "--first", FIRST_UIN, "--pairs", p["flood_pairs"],
                        "--rate", p["flood_rate"], "--seconds", p["flood_seconds"], "--wait-go", "--net", 2,
                        stdin=subprocess.PIPE)
        wait_line(legit, "ONLINE")
        flood = loadgen("flood", "--port", server.port, "--seconds", p["flood_seconds"] + 2, "--rate", rate,
                        "--sockets", 256, "--wait-go", stdin=subprocess.PIPE)
        wait_line(flood, "READY")
        cpu = server.cpu_seconds()
        flood.stdin.write("go\n")
        flood.stdin.flush()
        time.sleep(1)
        legit.stdin.write("go\n")
        legit.stdin.flush()
        r = result_of(legit)
        f = result_of(flood)
        f["server_cpu_seconds"] = server.cpu_seconds() - cpu
    finally:
        stats = server.stop()
    return r, f, stats


def run_flood(ctx, p):
    rows = []
    top = None
    for label, rate in (("flat out", 0), ("at half that rate", None)):
        if rate is None:
            rate = int(top / 2)
        r, f, stats = flood_once(ctx, p, rate)
        if top is None:
            top = f["flood_per_s"]
        ctx.figures["flood_%s" % ("max" if not rate else rate)] = dict(legit=r, flood=f, server=stats)
        gate = stats.get("gate", {})
        transport = stats.get("transport", {})
        rows += [
            ("flood %s: garbage + LOGINs from 256 addresses" % label,
             "%.0f packets/s sent, %.0f%% read by the server" % (
                 f["flood_per_s"], 100.0 * transport.get("in", 0) / max(1, f["flood_sent"])), ""),
            ("  ... 100 online users, %d messages/s: delivered" % p["flood_rate"],
             "%.2f%% (%d of %d, %d resends)" % (100 * r["delivered_share"], r["delivered"], r["sent"],
                                               r["resends"]),
             "100%%: %s" % ("met" if r["delivered"] == r["sent"] else "MISSED")),
            ("  ... their latency p50 / p99", "%.1f ms / %.1f ms" % (r["p50_ms"], r["p99_ms"]),
             "p99 < 50 ms: %s" % ("met" if r["p99_ms"] < 50 else "MISSED")),
            ("  ... server: refused / answered BUSY / served from sessions / CPU per datagram read",
             "%d / %d / %d / %.1f µs" % (gate.get("refused", 0), gate.get("busy", 0), gate.get("sessions", 0),
                                         f["server_cpu_seconds"] * 1e6 / max(1, transport.get("in", 1))), ""),
        ]
    return rows


SCENARIOS = [("echo", run_echo), ("storm", run_storm), ("relay", run_relay), ("durability", run_durability),
             ("memory", run_memory), ("flood", run_flood)]


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    return "%d CPUs (%s), %.1f GB memory, Python %s, %s" % (
        os.cpu_count(), model, mem_kb / 1024.0 / 1024.0, platform.python_version(), platform.platform(terse=True))


class Context:
    pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small numbers: a smoke run")
    parser.add_argument("--dsn", help="an external PostgreSQL database to use (its bench accounts are replaced)")
    parser.add_argument("--only", help="comma-separated: " + ",".join(n for n, _ in SCENARIOS))
    parser.add_argument("--out", help="also write the table (Markdown) to this file")
    parser.add_argument("--json", help="also write every figure (JSON) to this file")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a server setting for every run, e.g. overload_rate=2000")
    parser.add_argument("--profile", metavar="DIR",
                        help="record each server with py-spy (collapsed stacks) into DIR")
    args = parser.parse_args()
    p = QUICK if args.quick else FULL
    only = set(args.only.split(",")) if args.only else None

    ctx = Context()
    ctx.figures = {}
    ctx.logdir = tempfile.mkdtemp(prefix="iserverd-bench-logs-")
    Server.settings = tuple(args.set)
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
        Server.profile_dir = args.profile
    users = max(max(p["memory"]), max(p["storms"]), 4 * p["relay_pairs"], 2 * p["flood_pairs"])
    print("preparing %d accounts ..." % users, flush=True)
    ctx.db = Database(args.dsn)
    rows = []
    loads = []
    try:
        ctx.db.prepare(users)
        for name, fn in SCENARIOS:
            if only is not None and name not in only:
                continue
            print("running %s ..." % name, flush=True)
            started = time.monotonic()
            loads.append("%s %.1f" % (name, os.getloadavg()[0]))
            rows.extend(fn(ctx, p))
            print("  done in %.0f s" % (time.monotonic() - started), flush=True)
    finally:
        ctx.db.close()
    lines = ["| Measurement | Result | Target |", "|---|---|---|"]
    lines += ["| %s | %s | %s |" % row for row in rows]
    header = "Machine: %s; %s.%s" % (machine(), ctx.db.version, " (quick run)" if args.quick else "")
    text = (header + "\n\n" + "\n".join(lines) + "\n\n"
            + "1-minute load average when each measurement started (other work on the machine "
            "skews the figures): " + ", ".join(loads) + ".\n")
    print()
    print(text)
    print("server logs: %s" % ctx.logdir)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(ctx.figures, f, indent=2)


if __name__ == "__main__":
    main()
