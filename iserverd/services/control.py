# -*- test-case-name: tests.test_control -*-
"""
Live control of a running server through a local UNIX socket.

C{iserverd-admin online|status|disconnect|broadcast} talk to the server here.
There is no network port and no password: the socket is a file (by default
C{<data dir>/control.sock}) with mode 0600, or 0660 with C{Control group} set,
so only the server's own user (and root), or members of that group, can
connect.  On Linux the peer's credentials are checked as well.

The protocol is one JSON object per line each way.  A request names a
C{command} and its parameters; the answer is C{{"ok": true, "result": ...}}
or C{{"ok": false, "error": "one line"}}.  Requests on one connection are
answered in order.

    {"command": "online"}
    {"command": "status"}
    {"command": "disconnect", "uin": 10001}
    {"command": "broadcast", "text": "...", "subject": "", "store_offline": false}

Disconnects and broadcasts are logged with the caller's uid (an audit trail).
"""

import collections
import errno
import grp
import json
import os
import pwd
import socket
import stat
import struct
from datetime import datetime, timezone

from twisted.application import service
from twisted.internet import defer
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.protocols.basic import LineOnlyReceiver

from iserverd import __version__
from iserverd.services.loop import GuardedLoop

MAX_UIN = 0xFFFFFFFF
# Longest subject plus text of a broadcast, in bytes (a v3 message's limit,
# less room for IServerd's "ICQ Admin" header fields).
MAX_BROADCAST = 1900
# Packet rates in "status" are measured over this many seconds.
RATE_WINDOW = 10
# Seconds the command-line client waits for an answer (IServerd's tools: about 7).
CLIENT_TIMEOUT = 10.0


class ControlError(Exception):
    """A request that cannot be carried out; its text is the answer's error."""


def control_path(config):
    """The control socket's path: C{Control socket}, else C{control.sock} in the data dir."""
    return config.control_socket or os.path.join(config.data_dir, "control.sock")


def group_id(name):
    """
    @param name: a group name or number.
    @return: its gid.
    @raise ControlError: no such group.
    """
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        if name.isdigit():
            return int(name)
        raise ControlError("no group named %r (Control group)" % (name,))


def peer_credentials(sock):
    """
    @return: C{(pid, uid, gid)} of the process at the other end of a UNIX
        socket, or L{None} where the system cannot tell.
    """
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        return struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
    except OSError:
        return None


def peer_allowed(uid, gid, own_uid, group_gid=None):
    """
    Whether a connecting process may use the control socket: root, the
    server's own user, or (with a control group) a member of that group.
    """
    if uid in (0, own_uid):
        return True
    if group_gid is None:
        return False
    if gid == group_gid:
        return True
    try:
        name = pwd.getpwuid(uid).pw_name
        return name in grp.getgrgid(group_gid).gr_mem
    except KeyError:
        return False


def _iso(seconds):
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


class RateMeter:
    """
    Packets in and out per second over the last L{RATE_WINDOW} seconds, from
    samples of the transport's counters taken once a second (nothing is added
    to the packet path).
    """

    def __init__(self, counters, clock, window=RATE_WINDOW):
        self.counters = counters
        self.clock = clock
        self.samples = collections.deque(maxlen=window + 1)
        self.sample()

    def sample(self):
        self.samples.append((self.clock.seconds(), self.counters.get("in", 0), self.counters.get("out", 0)))

    def rates(self):
        """@return: C{(in_per_second, out_per_second)}."""
        then, packets_in, packets_out = self.samples[0]
        elapsed = self.clock.seconds() - then
        if elapsed <= 0:
            return 0.0, 0.0
        return (
            (self.counters.get("in", 0) - packets_in) / elapsed,
            (self.counters.get("out", 0) - packets_out) / elapsed,
        )


def pool_state(storage):
    """
    The database pool as the status shows it: connections, idle, in use,
    queries waiting for a connection, and (where the store knows) how many
    connections are reconnecting.
    """
    pool = getattr(storage, "pool", None)
    semaphore = getattr(pool, "_semaphore", None)
    if pool is None or semaphore is None:
        return {}
    state = {
        "connections": semaphore.limit,
        "idle": len(pool.connections),
        "in_use": semaphore.limit - semaphore.tokens,
        "waiting": len(semaphore.waiting),
    }
    if hasattr(storage, "pool_state"):
        state["reconnecting"] = storage.pool_state()[1]
    return state


def busy_replies(protocol):
    """BUSY replies sent by the transport's busy gate (0 without a gate)."""
    gate = getattr(protocol, "gate", None)
    return getattr(gate, "counters", {}).get("busy", 0)


class Commands:
    """
    The control commands, on a running server.

    @ivar server: the L{iserverd.services.server.ServerService}; its
        C{network}, C{protocol}, C{storage} and C{config} are read when a
        command runs.
    """

    log = Logger()

    def __init__(self, server, clock, started_at):
        self.server = server
        self.clock = clock
        self.started_at = started_at
        self.rates = RateMeter(server.protocol.counters, clock)

    def run(self, request, uid=None):
        """
        @return: Deferred firing with the command's result; fails with
            L{ControlError} for a bad request.
        """
        if not isinstance(request, dict) or not isinstance(request.get("command"), str):
            return defer.fail(ControlError("a request is a JSON object with a \"command\""))
        method = getattr(self, "do_" + request["command"], None)
        if method is None:
            return defer.fail(ControlError("unknown command %r" % (request["command"],)))
        return defer.maybeDeferred(method, request, uid)

    def do_online(self, request, uid):
        users = []
        for s in sorted(self.server.network.sessions, key=lambda s: s.uin):
            if not s.active:
                continue
            users.append({
                "uin": s.uin,
                "protocol": s.version,
                "client_version": s.info.tcp_version,
                "status": s.status,
                "flags": s.flags,
                "address": "%s:%d" % s.addr,
                "since": _iso(s.login_at),
                "unacked": len(s.pending),
            })
        return {"count": len(users), "users": users}

    def do_status(self, request, uid):
        network = self.server.network
        protocol = self.server.protocol
        now = self.clock.seconds()
        by_version = collections.Counter(s.version for s in network.sessions if s.active)
        rate_in, rate_out = self.rates.rates()
        return {
            "version": __version__,
            "started_at": _iso(self.started_at),
            "uptime": round(now - self.started_at, 3),
            "online": sum(by_version.values()),
            "online_by_protocol": {str(v): n for v, n in sorted(by_version.items())},
            "packets_in": protocol.counters.get("in", 0),
            "packets_out": protocol.counters.get("out", 0),
            "packets_in_per_second": round(rate_in, 2),
            "packets_out_per_second": round(rate_out, 2),
            "malformed_packets": protocol.counters.get("malformed", 0),
            "handler_errors": protocol.counters.get("errors", 0),
            "unacked_packets": sum(len(s.pending) for s in network.queue.busy),
            "unacked_sessions": len(network.queue.busy),
            "busy_replies": busy_replies(protocol),
            "logins": network.counters.get("logins", 0),
            "login_failures": network.counters.get("login_failures", 0),
            "messages_relayed": network.counters.get("relayed", 0),
            "messages_stored": network.counters.get("stored", 0),
            "resends": network.counters.get("resends", 0),
            "expired": network.counters.get("expired", 0),
            "database": pool_state(self.server.storage),
        }

    def do_disconnect(self, request, uid):
        uin = request.get("uin")
        if not isinstance(uin, int) or isinstance(uin, bool) or not 1 <= uin <= MAX_UIN:
            raise ControlError("disconnect needs a UIN between 1 and %d" % (MAX_UIN,))
        self.log.info("control: disconnect {uin} requested by uid {uid}", uin=uin, uid=uid)
        if not self.server.network.disconnect(uin):
            raise ControlError("UIN %d is not online" % (uin,))
        return {"uin": uin, "disconnected": True}

    @defer.inlineCallbacks
    def do_broadcast(self, request, uid):
        text = request.get("text")
        subject = request.get("subject", "")
        store = request.get("store_offline", False)
        if not isinstance(text, str) or not text.strip():
            raise ControlError("broadcast needs a text")
        if not isinstance(subject, str) or not isinstance(store, bool):
            raise ControlError("broadcast: subject is a string and store_offline true or false")
        charset = self.server.config.client_charset
        size = len(text.encode(charset, "replace")) + len(subject.encode(charset, "replace"))
        if size > MAX_BROADCAST:
            raise ControlError("a broadcast is at most %d bytes, this one is %d" % (MAX_BROADCAST, size))
        self.log.info("control: broadcast (store offline: {store}) requested by uid {uid}", store=store, uid=uid)
        try:
            online, stored = yield self.server.network.broadcast(text, subject, store)
        except defer.FirstError as e:
            e.subFailure.raiseException()
        return {"online": online, "stored": stored}


class ControlProtocol(LineOnlyReceiver):
    """
    One control connection: JSON lines in, JSON lines out, in order.
    """

    delimiter = b"\n"
    MAX_LENGTH = 64 * 1024
    log = Logger()

    def connectionMade(self):
        self.uid = None
        self.refused = False
        self._last = defer.succeed(None)
        credentials = peer_credentials(self.transport.socket) if hasattr(self.transport, "socket") else None
        if credentials is not None:
            _, self.uid, gid = credentials
            if not peer_allowed(self.uid, gid, os.geteuid(), self.factory.group_gid):
                self.log.warn("control: refused a connection from uid {uid}", uid=self.uid)
                self.refused = True
                self._answer({"ok": False, "error": "permission denied"})
                self.transport.loseConnection()

    def lineReceived(self, line):
        if self.refused:
            return
        try:
            request = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            self._then(lambda _: self._answer({"ok": False, "error": "a request is one line of JSON"}))
            return
        self._then(lambda _: self._run(request))

    def _then(self, step):
        """Run C{step} after the answers to earlier requests, so answers keep their order."""
        self._last.addCallback(step)
        self._last.addErrback(lambda f: self.log.failure("control: answering failed", f))

    def _run(self, request):
        d = self.factory.commands.run(request, self.uid)
        d.addCallbacks(lambda result: {"ok": True, "result": result}, self._error)
        return d.addCallback(self._answer)

    def _error(self, failure):
        if failure.check(ControlError):
            return {"ok": False, "error": str(failure.value)}
        self.log.failure("control command failed", failure)
        text = str(failure.value).strip().splitlines()
        return {"ok": False, "error": text[0] if text else failure.type.__name__}

    def _answer(self, answer):
        if self.transport is not None and self.connected:
            self.sendLine(json.dumps(answer).encode("utf-8"))

    def lineLengthExceeded(self, line):
        self._answer({"ok": False, "error": "request longer than %d bytes" % (self.MAX_LENGTH,)})
        self.transport.loseConnection()


class ControlService(service.Service):
    """
    Serves the control socket while the server runs.

    @ivar path: the socket's path.
    @ivar port: the listening port once started.
    """

    log = Logger()

    def __init__(self, server, path=None, group=None, clock=None, reactor=None):
        """
        @param server: the L{iserverd.services.server.ServerService}, ready
            (its network, protocol and storage exist).
        @param path: the socket path (default: from the server's config).
        @param group: the C{Control group} (default: from the server's config).
        """
        self.server = server
        self.path = path or control_path(server.config)
        self.group = server.config.control_group if group is None else group
        self.clock = server.clock if clock is None else clock
        self.reactor = server.reactor if reactor is None else reactor
        self.port = None
        self._loop = None

    def startService(self):
        """
        Create the socket.

        @raise ControlError: it cannot be created (another server answers on
            it, no such group, no permission); one line for the start-up log.
        """
        group_gid = group_id(self.group) if self.group else None
        mode = 0o660 if group_gid is not None else 0o600
        folder = os.path.dirname(self.path) or "."
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            self._clear_stale()
        except OSError as e:
            raise ControlError("cannot create the control socket %s: %s" % (self.path, e.strerror or e))
        factory = Factory.forProtocol(ControlProtocol)
        factory.commands = Commands(self.server, self.clock, self.clock.seconds())
        factory.group_gid = group_gid
        factory.noisy = False
        # The socket is created by bind() with the umask's mode; keep it
        # private from the start rather than only after a chmod.
        umask = os.umask(0o777 & ~mode)
        try:
            self.port = self.reactor.listenUNIX(self.path, factory, mode=mode)
        except Exception as e:
            raise ControlError("cannot create the control socket %s: %s" % (self.path, getattr(e, "socketError", None) or e))
        finally:
            os.umask(umask)
        if group_gid is not None:
            try:
                os.chown(self.path, -1, group_gid)
            except OSError as e:
                self.port.stopListening()
                self.port = None
                raise ControlError("cannot give the control socket to group %s: %s" % (self.group, e.strerror))
        self._loop = GuardedLoop(self.clock, 1.0, factory.commands.rates.sample,
                                 "control: sampling the packet counters")
        self._loop.start()
        service.Service.startService(self)
        self.log.info("control socket at {path} (mode {mode:o})", path=self.path, mode=mode)

    def _clear_stale(self):
        """Remove a socket file left by a server that is gone; refuse one that answers."""
        try:
            if not stat.S_ISSOCK(os.lstat(self.path).st_mode):
                raise ControlError("%s exists and is not a socket" % (self.path,))
        except FileNotFoundError:
            return
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(self.path)
        except OSError as e:
            if e.errno not in (errno.ECONNREFUSED, errno.ENOENT):
                raise
            os.unlink(self.path)
            return
        finally:
            probe.close()
        raise ControlError("another server answers on the control socket %s" % (self.path,))

    def stopService(self):
        service.Service.stopService(self)
        if self._loop is not None:
            self._loop.stop()
        if self.port is not None:
            port, self.port = self.port, None
            return port.stopListening()
        return None


def request(path, message, timeout=CLIENT_TIMEOUT):
    """
    Send one request to the control socket and wait for its answer (a
    blocking client, for C{iserverd-admin}).

    @return: the answer's C{result}.
    @raise ControlError: the server refused the request or cannot be reached.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            raise ControlError("no server answers on %s (is iserverd running with this data dir?)" % (path,))
        except PermissionError:
            raise ControlError("permission denied on %s (run as the server's user or a member of "
                               "its control group)" % (path,))
        sock.sendall(json.dumps(message).encode("utf-8") + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        raise ControlError("timeout: the server did not answer within %g seconds" % (timeout,))
    except OSError as e:
        raise ControlError("control socket %s: %s" % (path, e.strerror or e))
    finally:
        sock.close()
    try:
        answer = json.loads(data.decode("utf-8"))
    except ValueError:
        raise ControlError("the server closed the control connection without an answer")
    if not answer.get("ok"):
        raise ControlError(answer.get("error") or "the server refused the request")
    return answer.get("result")
