"""
The load generator: plain non-blocking UDP sockets and a selector, no Twisted,
so that it costs the machine as little as possible per packet.  bench/run.py
runs it in its own processes; each scenario prints its result as one line of
JSON on stdout.

Many simulated users share one socket (the server tells them apart by UIN and
session id); each socket is bound to its own loopback address (127.x.y.z), so
the server sees many source addresses, as it would on a real network.  Packets
are encoded and decoded with iserverd.codec.v5.

A simulated client acknowledges every reliable server packet, resends a
request that got no answer (a LOGIN the server did not acknowledge after
--login-timeout, one it did after 30 s; a message after --resend seconds, with
the same SEQ1 so the server recognises the repeat) and retries a login that
got BUSY after a second.

    python bench/loadgen.py echo    --port P --seconds S
    python bench/loadgen.py login   --port P --first UIN --count N [--window W] [--hold]
    python bench/loadgen.py relay   --port P --first UIN --pairs M --seconds S [--rate R] [--wait-go]
    python bench/loadgen.py flood   --port P --seconds S
"""

import argparse
import json
import os
import random
import selectors
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from iserverd.codec import v5  # noqa: E402

# version, zero, session, command, seq1, seq2, uin, checkcode
_SERVER = struct.Struct("<HBIHHHII")
# version, command, seq1, seq2, uin, reserved
_V3 = struct.Struct("<HHHHII")
UNRELIABLE = {v5.SRV_ACK, v5.SRV_NOT_CONNECTED, v5.SRV_BUSY, v5.SRV_LOGIN_ERR}
ACK_DATA = b"\x00\x00\x00\x00"
RCVBUF = 4 * 1024 * 1024
# A LOGIN the server acknowledged is not sent again before this (seconds).
ACKED_LOGIN_TIMEOUT = 30.0


def source_address(index, net=1):
    """A distinct loopback address per socket: 127.net.x.y, y in 1..250."""
    return "127.%d.%d.%d" % (net, index // 250 % 250, index % 250 + 1)


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


class User:
    __slots__ = (
        "uin", "password", "session_id", "seq1", "seq2", "sock", "online", "login_sent",
        "login_seq2", "login_acked", "attempts", "outstanding", "peer", "seen",
    )

    def __init__(self, uin, password, sock, rng):
        self.uin = uin
        self.password = password
        self.sock = sock
        self.session_id = rng.randrange(1, 0x3FFFFFFF)
        self.seq1 = rng.randrange(0x7FFF)
        self.seq2 = 0
        self.online = False
        self.login_sent = 0.0
        self.login_seq2 = 0
        self.login_acked = False
        self.attempts = 0
        self.outstanding = {}  # seq1 -> [datagram, first_sent, last_sent, message id]
        self.peer = None
        self.seen = set()  # server SEQ1 values already handled (repeats are only re-ACKed)


class Engine:
    """
    The simulated clients: sockets, users by UIN, and the receive loop.
    Scenario code sets the C{on_*} callbacks it needs.
    """

    def __init__(self, server, sockets, net=1, seed=1):
        self.server = server
        self.rng = random.Random(seed)
        self.selector = selectors.DefaultSelector()
        self.socks = []
        for i in range(sockets):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            s.bind((source_address(i, net), 0))
            s.setblocking(False)
            self.selector.register(s, selectors.EVENT_READ)
            self.socks.append(s)
        self.users = {}
        self.counters = {"datagrams_sent": 0, "datagrams_received": 0, "busy": 0, "bad_password": 0,
                         "login_resends": 0, "resends": 0, "not_connected": 0, "login_err": 0}
        self.on_hello = None
        self.on_ack = None
        self.on_message = None
        self.busy_at = {}  # UIN -> when its LOGIN was answered BUSY

    def add_users(self, first, count, password):
        for i in range(count):
            sock = self.socks[i % len(self.socks)]
            user = User(first + i, password, sock, self.rng)
            self.users[user.uin] = user
        return [self.users[first + i] for i in range(count)]

    # --- sending ------------------------------------------------------------

    def raw(self, user, command, data, seq1, seq2):
        datagram = v5.encode_client(v5.ClientPacket(user.uin, user.session_id, command, seq1, seq2, data))
        self.sendto(user.sock, datagram)
        return datagram

    def sendto(self, sock, datagram):
        try:
            sock.sendto(datagram, self.server)
            self.counters["datagrams_sent"] += 1
        except (BlockingIOError, InterruptedError):
            pass

    def request(self, user, command, data, message=None, now=None):
        """Send a command with the next sequence numbers and remember it until its ACK."""
        user.seq1 = (user.seq1 + 1) & 0xFFFF
        user.seq2 = (user.seq2 + 1) & 0xFFFF
        datagram = self.raw(user, command, data, user.seq1, user.seq2)
        now = time.monotonic() if now is None else now
        user.outstanding[user.seq1] = [datagram, now, now, message]
        return user.seq1

    def login(self, user, now):
        user.seq2 = 1
        user.seen = set()
        user.online = False
        user.login_seq2 = 1
        user.login_acked = False
        user.login_sent = now
        user.attempts += 1
        request = v5.LoginRequest(tcp_port=0, password=user.password, internal_ip="127.0.0.1")
        self.raw(user, v5.CMD_LOGIN, request.build(), user.seq1, 1)

    def resend_due(self, now, after):
        """Resend every request unanswered for C{after} seconds."""
        for user in self.users.values():
            for entry in user.outstanding.values():
                if now - entry[2] >= after:
                    entry[2] = now
                    self.sendto(user.sock, entry[0])
                    self.counters["resends"] += 1

    # --- receiving ----------------------------------------------------------

    def poll(self, timeout):
        for key, _ in self.selector.select(timeout):
            sock = key.fileobj
            while True:
                try:
                    datagram = sock.recv(4096)
                except (BlockingIOError, InterruptedError):
                    break
                self.handle(datagram)

    def handle(self, datagram):
        self.counters["datagrams_received"] += 1
        if datagram[0] == 3:
            _, command, _, seq2, uin, _ = _V3.unpack_from(datagram)
            if command == v5.SRV_BAD_PASSWORD:
                self.counters["bad_password"] += 1
            return
        _, _, session_id, command, seq1, seq2, uin, _ = _SERVER.unpack_from(datagram)
        user = self.users.get(uin)
        if user is None or session_id != user.session_id:
            return
        if command not in UNRELIABLE:
            self.raw(user, v5.CMD_ACK, ACK_DATA, seq1, seq2)
            if seq1 in user.seen:
                return
            user.seen.add(seq1)
        if command == v5.SRV_ACK:
            if not user.online and seq1 == user.seq1:
                # The server took the LOGIN: like licq, wait for the answer
                # rather than resend it.
                user.login_acked = True
            entry = user.outstanding.pop(seq1, None)
            if entry is not None and self.on_ack is not None:
                self.on_ack(user, entry)
        elif command == v5.SRV_ONLINE_MESSAGE:
            if self.on_message is not None:
                self.on_message(user, datagram[21:])
        elif command == v5.SRV_HELLO:
            if not user.online:
                user.online = True
                if self.on_hello is not None:
                    self.on_hello(user)
        elif command == v5.SRV_BUSY:
            self.counters["busy"] += 1
            if not user.online and seq2 == user.login_seq2:
                # Retried a second later by log_in, not by its timeout.
                user.login_sent = -1.0
                user.login_seq2 = -1
                self.busy_at[uin] = time.monotonic()
        elif command == v5.SRV_NOT_CONNECTED:
            self.counters["not_connected"] += 1
        elif command == v5.SRV_LOGIN_ERR:
            self.counters["login_err"] += 1

    # --- scenarios' building blocks -------------------------------------------

    def log_in(self, users, window=0, timeout=2.0, deadline=600.0):
        """
        Log users in, at most C{window} LOGINs unanswered at a time (0: all at
        once), resending after C{timeout} s and retrying a second after BUSY.

        @return: seconds from the first LOGIN to the last HELLO.
        """
        self.busy_at = {}
        waiting = list(reversed(users))
        in_flight = {}
        done = [0]

        def hello(user):
            if in_flight.pop(user.uin, None) is not None:
                done[0] += 1

        self.on_hello = hello
        start = time.monotonic()
        next_check = start
        limit = len(users) if window <= 0 else window
        while done[0] < len(users):
            now = time.monotonic()
            if now - start > deadline:
                raise RuntimeError("login of %d users did not finish in %d s (%d online)"
                                   % (len(users), deadline, done[0]))
            while waiting and len(in_flight) < limit:
                user = waiting.pop()
                in_flight[user.uin] = user
                self.login(user, now)
            if now >= next_check:
                next_check = now + 0.1
                for uin, at in list(self.busy_at.items()):
                    if now - at >= 1.0:
                        del self.busy_at[uin]
                        if uin in in_flight:
                            self.login(in_flight[uin], now)
                for user in in_flight.values():
                    wait = ACKED_LOGIN_TIMEOUT if user.login_acked else timeout
                    if user.login_sent > 0 and now - user.login_sent >= wait:
                        self.counters["login_resends"] += 1
                        self.login(user, now)
            self.poll(0.01)
        elapsed = time.monotonic() - start
        self.on_hello = None
        return elapsed

    def serve(self, seconds):
        """Keep acknowledging for a while."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.poll(0.05)


def emit(result):
    print(json.dumps(result), flush=True)


# --- scenarios ---------------------------------------------------------------


def scenario_echo(args):
    """Closed loop against the echo server: --window datagrams in flight, spread over sockets."""
    server = ("127.0.0.1", args.port)
    socks = []
    sel = selectors.DefaultSelector()
    for i in range(args.sockets):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        s.bind((source_address(i, 9), 0))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
    payload = b"\x05\x00" + bytes(26)  # the size of a small v5 client packet
    per_sock = max(1, args.window // len(socks))
    for s in socks:
        for _ in range(per_sock):
            s.sendto(payload, server)
    received = 0
    start = time.monotonic()
    counted_from = start + 1.0  # a second of warm-up
    counted = 0
    last_activity = start
    while True:
        now = time.monotonic()
        if now - start >= args.seconds + 1.0:
            break
        events = sel.select(0.2)
        if not events and now - last_activity > 0.5:
            # Something got lost: top the window up again.
            for s in socks:
                s.sendto(payload, server)
        for key, _ in events:
            s = key.fileobj
            while True:
                try:
                    s.recv(2048)
                except BlockingIOError:
                    break
                received += 1
                if now >= counted_from:
                    counted += 1
                s.sendto(payload, server)
            last_activity = now
    emit({"echo_per_s": counted / args.seconds, "received": received})


def scenario_login(args):
    engine = Engine(("127.0.0.1", args.port), args.sockets or max(1, args.count // args.per_socket))
    users = engine.add_users(args.first, args.count, args.password.encode())
    elapsed = engine.log_in(users, window=args.window, timeout=args.login_timeout)
    emit(dict(engine.counters, seconds=elapsed, users=len(users)))
    if args.hold:
        # Keep the sessions answered (their HELLO, offline-message END and so on)
        # until stdin closes.
        sel_stdin = selectors.DefaultSelector()
        sel_stdin.register(sys.stdin, selectors.EVENT_READ)
        while not sel_stdin.select(0):
            engine.poll(0.05)


def scenario_relay(args):
    """
    Pairs of users; each sender sends to its own recipient.  Closed loop
    (--window messages unacknowledged per sender) for the throughput, then,
    with --rate, an open loop at that many messages/s for the latency.
    """
    engine = Engine(("127.0.0.1", args.port), args.sockets or max(2, args.pairs // 5), net=args.net)
    users = engine.add_users(args.first, 2 * args.pairs, args.password.encode())
    senders, recipients = users[0::2], users[1::2]
    for s, r in zip(senders, recipients):
        s.peer = r
    engine.log_in(users, window=args.login_window, timeout=args.login_timeout)
    engine.serve(0.5)
    sent_at = {}
    latencies = []
    delivered = [0]
    ids = iter(range(1, 1 << 62))

    def on_message(user, data):
        message = v5.OnlineMessage.parse(data)
        mid = int(message.text[1:])
        first = sent_at.pop(mid, None)
        if first is not None:
            delivered[0] += 1
            latencies.append(time.monotonic() - first)

    engine.on_message = on_message

    def send(sender, now):
        mid = next(ids)
        sent_at[mid] = now
        engine.request(sender, v5.CMD_SEND_MESSAGE,
                       v5.SendMessage(sender.peer.uin, 1, b"m%d" % mid).build(), mid, now)

    result = {"pairs": args.pairs}
    if args.wait_go:
        print("ONLINE", flush=True)
        sys.stdin.readline()
    if not args.rate:
        # Closed loop: keep --window messages outstanding per sender.
        def acked(user, entry):
            send(user, time.monotonic())

        engine.on_ack = acked
        start = time.monotonic()
        for sender in senders:
            for _ in range(args.window):
                send(sender, start)
        warm = start + 1.0
        base = None
        while True:
            now = time.monotonic()
            if base is None and now >= warm:
                base = delivered[0]
                t0 = now
            if base is not None and now - t0 >= args.seconds:
                break
            engine.poll(0.01)
            if now - start > 2:
                engine.resend_due(now, args.resend)
        result["relay_per_s"] = (delivered[0] - base) / (now - t0)
        result["delivered"] = delivered[0]
        engine.on_ack = None
        engine.serve(1.0)
    else:
        # Open loop at --rate messages/s, round robin over the senders.
        start = time.monotonic()
        total = int(args.rate * args.seconds)
        count = 0
        while count < total:
            now = time.monotonic()
            due = min(total, int((now - start) * args.rate) + 1)
            while count < due:
                send(senders[count % len(senders)], now)
                count += 1
            engine.poll(0.001)
            engine.resend_due(now, args.resend)
        sent = count
        end = time.monotonic() + args.grace
        while sent_at and time.monotonic() < end:
            engine.poll(0.01)
            engine.resend_due(time.monotonic(), args.resend)
        result.update(
            rate=args.rate, sent=sent, delivered=delivered[0],
            delivered_share=delivered[0] / sent if sent else None,
            achieved_rate=sent / (now - start) if now > start else None,
        )
    result.update(
        p50_ms=(percentile(latencies, 50) or 0) * 1000,
        p99_ms=(percentile(latencies, 99) or 0) * 1000,
        max_ms=(max(latencies) if latencies else 0) * 1000,
        **engine.counters,
    )
    emit(result)


def scenario_flood(args):
    """
    Garbage and LOGIN packets, as fast as this process can send them (or at
    --rate packets/s), from --sockets source addresses, until --seconds have
    passed.
    """
    rng = random.Random(7)
    server = ("127.0.0.1", args.port)
    socks = []
    for i in range(args.sockets):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the BUSY replies are not read
        s.bind((source_address(i, 3), 0))
        s.setblocking(False)
        socks.append(s)
    packets = []
    for i in range(512):
        kind = i % 4
        if kind == 0:  # random bytes
            packets.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60))))
        elif kind == 1:  # v5-looking, checkcode wrong
            packets.append(b"\x05\x00\x00\x00\x00\x00" + bytes(rng.randrange(256) for _ in range(30)))
        else:  # well-formed LOGINs for random UINs with wrong passwords
            packet = v5.ClientPacket(rng.randrange(10001, 4000000), rng.randrange(1, 0x3FFFFFFF),
                                     v5.CMD_LOGIN, rng.randrange(0xFFFF), 1,
                                     v5.LoginRequest(password=b"x%d" % rng.randrange(10**6)).build())
            packets.append(v5.encode_client(packet))
    if args.wait_go:
        print("READY", flush=True)
        sys.stdin.readline()
    sent = 0
    n_socks = len(socks)
    n_packets = len(packets)
    start = time.monotonic()
    end = start + args.seconds
    i = 0
    while True:
        # Check the clock once per 256 packets.
        for _ in range(256):
            try:
                socks[i % n_socks].sendto(packets[i % n_packets], server)
                sent += 1
            except OSError:
                pass
            i += 1
        now = time.monotonic()
        if now >= end:
            break
        if args.rate:
            ahead = sent / args.rate - (now - start)
            if ahead > 0:
                time.sleep(ahead)
    elapsed = time.monotonic() - start
    emit({"flood_sent": sent, "flood_per_s": sent / elapsed})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["echo", "login", "relay", "flood"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--first", type=int, default=100000)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--password", default="benchpw")
    parser.add_argument("--sockets", type=int, default=0)
    parser.add_argument("--per-socket", type=int, default=10)
    parser.add_argument("--net", type=int, default=1)
    parser.add_argument("--window", type=int, default=0)
    parser.add_argument("--login-window", type=int, default=500)
    parser.add_argument("--login-timeout", type=float, default=2.0)
    parser.add_argument("--hold", action="store_true")
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--resend", type=float, default=1.0)
    parser.add_argument("--grace", type=float, default=5.0)
    parser.add_argument("--wait-go", action="store_true")
    args = parser.parse_args()
    {"echo": scenario_echo, "login": scenario_login, "relay": scenario_relay,
     "flood": scenario_flood}[args.scenario](args)


if __name__ == "__main__":
    main()
