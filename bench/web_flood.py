"""
Idle-connection flood against the web front of a real server process: open
many HTTP connections that never send a request (from many loopback
addresses), then check that the server's descriptors stay bounded, that the
control socket and a v5 login still work meanwhile, and that the deadline
frees the web front again.

Run:  python bench/web_flood.py                   # 20,000 connections
      python bench/web_flood.py --connections 3000
"""

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.fuzz import Client, free_port  # noqa: E402

ALICE = 10001


def tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def control_status(sock_path):
    started = time.perf_counter()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sock_path)
    s.sendall(b'{"command": "status"}\n')
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return json.loads(data)["ok"], (time.perf_counter() - started) * 1000


def http_get(port, path, source="127.0.0.200"):
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    s.sendall(b"GET " + path + b" HTTP/1.0\r\nHost: x\r\n\r\n")
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    s.close()
    return data.split(b" ", 2)[1] if data.startswith(b"HTTP/") else b"closed"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=20000)
    parser.add_argument("--timeout", type=int, default=5, help="the server's 'Web request timeout'")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and args.connections > hard - 500:
        args.connections = hard - 500
        print("(this process may open %d descriptors: %d connections)" % (hard, args.connections))
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    workdir = tempfile.mkdtemp(prefix="iserverd-webflood-")
    udp, http = free_port(), tcp_port()
    control = os.path.join(workdir, "control.sock")
    conf = os.path.join(workdir, "iserv.conf")
    with open(conf, "w") as f:
        f.write("Web request timeout = %d\nControl socket = %s\n" % (args.timeout, control))
    env = dict(os.environ, PYTHONPATH=ROOT)
    log_path = os.path.join(workdir, "server.log")
    server = subprocess.Popen(
        [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "-n", "--pidfile=",
         "--logfile", log_path, "iserverd", "--config", conf, "--data-dir", os.path.join(workdir, "data"),
         "--port", str(udp), "--interface", "127.0.0.1", "--http-port", str(http)],
        cwd=workdir, env=env,
    )
    sockets = []
    try:
        subprocess.run([sys.executable, "-m", "iserverd.admin.cli", "--data-dir", os.path.join(workdir, "data"),
                        "useradd", "--uin", str(ALICE), "--password", "alice"],
                       cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(control):
                break
            time.sleep(0.2)
        baseline = fds(server.pid)
        print("server descriptors before: %d" % baseline)
        started = time.perf_counter()
        failed = 0
        for n in range(args.connections):
            s = socket.socket()
            s.setblocking(False)
            s.bind(("127.0.%d.%d" % (1 + n // 250 % 250, 1 + n % 250), 0))
            try:
                s.connect(("127.0.0.1", http))
            except BlockingIOError:
                pass
            except OSError:
                failed += 1
            sockets.append(s)
        opened = time.perf_counter() - started
        time.sleep(1.0)
        during = fds(server.pid)
        print("idle connections attempted: %d in %.1f s (%d failed at once)" % (args.connections, opened, failed))
        print("server descriptors during the flood: %d (cap: 256 web connections)" % during)
        ok, ms = control_status(control)
        print("control socket 'status' during the flood: %s in %.1f ms" % ("answered" if ok else "FAILED", ms))
        alice = Client(udp, ALICE, b"alice")
        print("v5 login during the flood: %s" % ("accepted" if alice.login() else "FAILED"))
        print("web page from another address during the flood: HTTP %s" % http_get(http, b"/server.json").decode())
        time.sleep(args.timeout + 2)
        after = fds(server.pid)
        print("server descriptors %d s later (deadline passed): %d" % (args.timeout + 2, after))
        print("web page after the deadline: HTTP %s" % http_get(http, b"/server.json").decode())
    finally:
        for s in sockets:
            s.close()
        server.terminate()
        server.wait()
        shutil.rmtree(workdir, True)


if __name__ == "__main__":
    main()
