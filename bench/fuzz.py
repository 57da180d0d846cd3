"""
Long-run fuzz of a live server: send many random, truncated, bit-flipped and
replayed v3/v5 packets from many loopback addresses to a real server process,
then report escaped exceptions (tracebacks in its log; must be 0), its memory
before and after (must stay bounded), and whether a normal login and message
still work.

Run:  python bench/fuzz.py                 # 1,000,000 packets
      python bench/fuzz.py --packets 20000 # a quick look
"""

import argparse
import ast
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from iserverd.codec import v3, v5  # noqa: E402

ALICE, BOB = 10001, 10002


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Client:
    """A blocking v5 client, just enough to log in and exchange a message."""

    def __init__(self, port, uin, password):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.server = ("127.0.0.1", port)
        self.uin, self.password = uin, password
        self.session = random.randrange(1, 0x3FFFFFFF)
        self.seq = random.randrange(0x7FFF)

    def send(self, command, data=b"", seq1=None, seq2=None):
        if seq1 is None:
            self.seq += 1
            seq1 = seq2 = self.seq
        packet = v5.ClientPacket(self.uin, self.session, command, seq1, seq2, data)
        self.sock.sendto(v5.encode_client(packet), self.server)

    def wait(self, command, seconds=10):
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                data, _ = self.sock.recvfrom(8192)
            except socket.timeout:
                continue
            packet = v5.decode_server(data)
            if packet.version == 5 and packet.command not in (v5.SRV_ACK, v5.SRV_BUSY, v5.SRV_NOT_CONNECTED):
                self.send(v5.CMD_ACK, b"\0\0\0\0", packet.seq1, packet.seq2)
            if packet.command == command:
                return packet
        return None

    def login(self):
        for _ in range(20):
            self.send(v5.CMD_LOGIN, v5.LoginRequest(password=self.password).build(), self.seq, 1)
            if self.wait(v5.SRV_HELLO, 1.0) is not None:
                return True
        return False


def generate(rng, captured):
    kind = rng.randrange(6)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 120)))
    if kind == 1:
        packet = v5.ClientPacket(rng.choice([0, 1, ALICE, BOB, rng.randrange(1 << 32)]), rng.randrange(1 << 32),
                                 rng.choice(list(v5.CLIENT_COMMAND_NAMES)), rng.randrange(65536),
                                 rng.randrange(65536), os.urandom(rng.randrange(0, 80)))
        return v5.encode_client(packet, r1=24, r2=rng.randrange(256))
    if kind == 2:
        return v3.encode(v3.Packet(rng.choice(list(v3.CLIENT_COMMAND_NAMES)), rng.randrange(65536),
                                   rng.randrange(65536), rng.choice([0, ALICE, BOB]), os.urandom(rng.randrange(0, 80))))
    data = bytearray(rng.choice(captured))
    for _ in range(rng.randrange(0, 4)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    if kind == 4:
        data = data[: rng.randrange(len(data) + 1)]
    return bytes(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=int, default=20000, help="packets per second (paced)")
    parser.add_argument("--keep-log", help="copy the server's log to this file")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    workdir = tempfile.mkdtemp(prefix="iserverd-fuzz-")
    port = free_port()
    log_path = os.path.join(workdir, "server.log")
    env = dict(os.environ, PYTHONPATH=ROOT)
    server = subprocess.Popen(
        [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "-n", "--pidfile=",
         "--logfile", log_path, "iserverd", "--data-dir", os.path.join(workdir, "data"),
         "--port", str(port), "--interface", "127.0.0.1"],
        cwd=workdir, env=env,
    )
    try:
        for uin, password in ((ALICE, "alice"), (BOB, "bob")):
            subprocess.run([sys.executable, "-m", "iserverd.admin.cli", "--data-dir", os.path.join(workdir, "data"),
                            "useradd", "--uin", str(uin), "--password", password],
                           cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        alice = Client(port, ALICE, b"alice")
        if not alice.login():
            with open(log_path, errors="replace") as f:
                sys.exit("the server did not accept a login before fuzzing:\n" + f.read()[-3000:])
        captured = [v5.encode_client(v5.ClientPacket(ALICE, alice.session, cmd, alice.seq + i, i, os.urandom(12)))
                    for i, cmd in enumerate(v5.CLIENT_COMMAND_NAMES)]
        before = rss_kb(server.pid)
        senders = []
        for n in range(2, 34):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.%d" % n, 0))
            s.setblocking(False)
            senders.append(s)
        start = time.time()
        sent = 0
        target = ("127.0.0.1", port)
        while sent < args.packets:
            try:
                senders[sent % len(senders)].sendto(generate(rng, captured), target)
                sent += 1
            except BlockingIOError:
                time.sleep(0.001)
            if sent % 20 == 0:
                # Paced, so the run measures robustness rather than kernel buffer drops.
                ahead = sent / args.rate - (time.time() - start)
                if ahead > 0:
                    time.sleep(ahead)
        elapsed = time.time() - start
        time.sleep(2)
        after = rss_kb(server.pid)
        alice = Client(port, ALICE, b"alice")
        bob = Client(port, BOB, b"bob")
        ok = alice.login() and bob.login()
        if ok:
            alice.send(v5.CMD_SEND_MESSAGE, v5.SendMessage(BOB, 1, b"after the fuzz").build())
            got = bob.wait(v5.SRV_ONLINE_MESSAGE)
            ok = got is not None and v5.OnlineMessage.parse(got.data).text == b"after the fuzz"
        alive = server.poll() is None
    finally:
        server.terminate()
        server.wait(60)
    log = ""
    for name in sorted(os.listdir(workdir)):
        if name.startswith("server.log"):  # twistd rotates its log every megabyte
            with open(os.path.join(workdir, name), errors="replace") as f:
                log += f.read()
    tracebacks = log.count("Traceback")
    totals = re.search(r"udp totals: (\{.*\})", log)
    totals = ast.literal_eval(totals.group(1)) if totals else {}
    malformed = log.count("dropped malformed packet")
    print("packets sent            %d in %.1f s (%.0f/s) from %d addresses" % (sent, elapsed, sent / elapsed, len(senders)))
    print("server received         %s datagrams, %s malformed, %s handler errors"
          % (totals.get("in", "?"), totals.get("malformed", "?"), totals.get("errors", "?")))
    print("malformed drops logged  %d" % malformed)
    print("escaped exceptions      %d" % tracebacks)
    print("server RSS before/after %d KB / %d KB" % (before, after))
    print("server alive at end     %s" % ("yes" if alive else "NO"))
    print("login + message at end  %s" % ("ok" if ok else "FAILED"))
    if args.keep_log:
        shutil.copy(log_path, args.keep_log)
    shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if (tracebacks == 0 and ok and alive) else 1)


if __name__ == "__main__":
    main()
