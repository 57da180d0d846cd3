"""
The webpager socket: a UNIX datagram socket on which a local web front (a CGI
script, C{iserverd-webpager}) hands over messages for users (webpager.md).

Each datagram is one message.  It is decoded, rate-limited, turned into a
web-panel message from UIN 1 and routed like any other message: to the target
at once when online, else into offline storage.  Nothing is ever sent back.
Anything wrong with a datagram is one log line and the datagram is dropped.

The socket is the only way in, so its file permissions are its access
control: it is bound inside a private directory, given its mode and group
there, and only then moved to its public path, so it is never reachable with
looser rights.  IServerd made it world-writable; we never do.
"""

import grp
import os
import socket
import stat
import tempfile

from twisted.application import service
from twisted.internet import defer
from twisted.internet.error import CannotListenError
from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from iserverd.codec import wwp
from iserverd.codec.errors import MalformedPacket
from iserverd.core.network import DELIVERED, NO_SUCH_USER, STORED, SYSTEM_UIN
from iserverd.storage.interfaces import DatabaseUnavailable
from iserverd.web.limits import PagerLimits


class WebpagerSocketError(Exception):
    """The socket cannot be set up; the text is one line for the operator."""


class WebpagerProtocol(DatagramProtocol):
    """
    Turns datagrams into messages.  L{datagramReceived} never raises.

    @ivar pending: the routings still in flight, so a stop can wait for them.
    """

    log = Logger()

    def __init__(self, network, limits, max_text):
        self.network = network
        self.limits = limits
        self.max_text = max_text
        self.pending = set()

    def datagramReceived(self, datagram, addr=None):
        try:
            self._received(datagram)
        except Exception:
            self.log.failure("webpager: datagram of {size} bytes could not be handled", size=len(datagram))

    def _received(self, datagram):
        try:
            page = wwp.decode(datagram)
        except MalformedPacket as e:
            self.log.warn("webpager: dropped a datagram of {size} bytes: {reason}",
                          size=len(datagram), reason=str(e), outcome="malformed")
            return
        refused = self.limits.check(page.ip, page.target)
        if refused is not None:
            self.log.warn("webpager: message from {ip} to {uin} dropped, {limit} rate limit",
                          ip=page.ip, uin=page.target, limit=refused, outcome="rate limited")
            return
        text = wwp.compose(page, self.max_text)
        d = self.network.send_message(SYSTEM_UIN, page.target, wwp.MSG_WEB_PAGER, text)
        self.pending.add(d)
        d.addCallbacks(self._routed, self._failed, callbackArgs=(page,), errbackArgs=(page,))
        d.addBoth(lambda _: self.pending.discard(d))

    def _routed(self, outcome, page):
        if outcome == NO_SUCH_USER:
            self.log.warn("webpager: message from {ip} to unknown uin {uin} dropped",
                          ip=page.ip, uin=page.target, outcome=outcome)
        else:
            how = {DELIVERED: "delivered", STORED: "stored offline"}.get(outcome, outcome)
            self.log.info("webpager: message from {ip} to {uin} {how}",
                          ip=page.ip, uin=page.target, how=how, outcome=outcome)

    def _failed(self, failure, page):
        if failure.check(DatabaseUnavailable):
            self.log.warn("webpager: message from {ip} to {uin} lost, database unavailable: {reason}",
                          ip=page.ip, uin=page.target, reason=failure.getErrorMessage(), outcome="lost")
        else:
            self.log.failure("webpager: message from {ip} to {uin} lost", failure,
                             ip=page.ip, uin=page.target, outcome="lost")


def _gid(group):
    """The group id for a name or number; -1 (leave as is) for none."""
    if not group:
        return -1
    if group.isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise WebpagerSocketError("webpager socket group %r does not exist" % (group,))


def _clear_stale(path):
    """
    Remove a socket file left by an unclean shutdown.

    @return: whether one was removed.
    @raise WebpagerSocketError: the path is not a socket, or a live process
        still listens on it.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISSOCK(st.st_mode):
        raise WebpagerSocketError("webpager socket %s: the path exists and is not a socket" % (path,))
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        pass
    except OSError as e:
        raise WebpagerSocketError("webpager socket %s: %s" % (path, e.strerror or e))
    else:
        raise WebpagerSocketError("webpager socket %s is in use by another process" % (path,))
    finally:
        probe.close()
    os.unlink(path)
    return True


def listen(reactor, path, protocol, mode, group=""):
    """
    Bind the webpager socket at C{path} with C{mode} and C{group}.

    @return: C{(port, stale)}: the listening port, and whether a stale socket
        file was removed first.
    @raise WebpagerSocketError: it cannot be set up.
    """
    mode &= 0o770
    gid = _gid(group)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)  # the data dir, with an external database
        stale = _clear_stale(path)
        private = tempfile.mkdtemp(prefix=".wwp-", dir=folder)
    except OSError as e:
        raise WebpagerSocketError("webpager socket %s: %s" % (path, e.strerror or e))
    temporary = os.path.join(private, "sock")
    try:
        try:
            port = reactor.listenUNIXDatagram(temporary, protocol, maxPacketSize=wwp.MAX_DATAGRAM, mode=mode)
        except CannotListenError as e:
            raise WebpagerSocketError("webpager socket %s: %s" % (path, e.socketError))
        try:
            if gid != -1:
                os.chown(temporary, -1, gid)
            os.rename(temporary, path)
        except OSError as e:
            port.stopListening()
            raise WebpagerSocketError("webpager socket %s: %s" % (path, e.strerror or e))
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        os.rmdir(private)
    return port, stale


class WebpagerService(service.Service):
    """
    Serves the webpager socket of a running server.

    @ivar protocol: the L{WebpagerProtocol} while started.
    @ivar path: the socket's path.
    """

    log = Logger()

    def __init__(self, network, config, reactor, clock=None, path=None):
        """
        @param clock: the L{IReactorTime} for the rate limits (default: C{reactor}).
        @param path: the socket path (default: the config's C{webpager_path}).
        """
        self.network = network
        self.config = config
        self.reactor = reactor
        self.path = config.webpager_path if path is None else path
        self.limits = PagerLimits(reactor if clock is None else clock)
        self.protocol = None
        self._port = None
        self._inode = None

    def startService(self):
        """
        @raise WebpagerSocketError: the socket cannot be set up (the root
            service then logs it as one line and stops).
        """
        self.protocol = WebpagerProtocol(self.network, self.limits, self.config.v5_max_msgsize)
        self._port, stale = listen(self.reactor, self.path, self.protocol,
                                   self.config.webpager_mode, self.config.webpager_group)
        self._inode = os.lstat(self.path).st_ino
        service.Service.startService(self)
        if stale:
            self.log.warn("webpager: removed the stale socket {path} (unclean shutdown)", path=self.path)
        self.log.info("webpager socket listening on {path} (mode {mode:o})",
                      path=self.path, mode=self.config.webpager_mode & 0o770)

    @defer.inlineCallbacks
    def stopService(self):
        """Close and remove the socket, then wait for messages still being routed."""
        service.Service.stopService(self)
        if self._port is not None:
            port, self._port = self._port, None
            self._remove_file()
            yield port.stopListening()
        if self.protocol is not None:
            yield defer.DeferredList(list(self.protocol.pending))

    def _remove_file(self):
        # Only our own socket: another server may have taken the path since.
        try:
            if os.lstat(self.path).st_ino == self._inode:
                os.unlink(self.path)
        except OSError:
            pass
