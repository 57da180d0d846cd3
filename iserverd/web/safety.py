# -*- test-case-name: tests.test_web -*-
"""
What keeps the web front from being turned against the server: whose
C{X-Forwarded-For} counts, bounded connections and request sizes, deadlines
for slow clients, and the security headers on every answer.

The web front shares the process with the UDP service and the control socket,
so its connections are capped in total and per address (a connection over a
cap is closed as soon as it is accepted, so it holds no descriptor), and a
client that does not send a complete request within the deadline is cut off,
however slowly it trickles bytes.
"""

import io
import ipaddress

from twisted.logger import Logger
from twisted.web import http, server

from iserverd.web.layout import secure_headers

# A form post is a few hundred bytes; a larger body is refused unread.
MAX_BODY = 16 * 1024
# Header lines and their total are bounded by twisted.web itself (16 KiB a line).
MAX_HEADERS = 64


def parse_proxies(text):
    """
    C{"127.0.0.1, 10.0.0.0/8"} -> networks.

    @raise ValueError: a part is no address or network.
    """
    networks = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if part:
            networks.append(ipaddress.ip_network(part, strict=False))
    return tuple(networks)


def _address(text):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def is_trusted(host, proxies):
    address = _address(host)
    return address is not None and any(address in network for network in proxies)


def visitor_address(peer, forwarded, proxies):
    """
    The visitor's address: the connection's, unless it comes from a trusted
    proxy; then the C{X-Forwarded-For} entries are read from the right, each
    trusted proxy's entry skipped, and the first other address is the
    visitor (what a client put further left could be forged).

    @param forwarded: the header's text, or L{None}.
    """
    if forwarded is None or not is_trusted(peer, proxies):
        return peer
    for entry in reversed(forwarded.split(",")):
        address = _address(entry)
        if address is None:
            return peer
        if not any(address in network for network in proxies):
            return str(address)
    return peer


def client_address(request, proxies=()):
    """The visitor's address for rate limits and logs (see L{visitor_address})."""
    peer = getattr(request.getClientAddress(), "host", "0.0.0.0")
    forwarded = request.getHeader(b"x-forwarded-for")
    if forwarded is not None:
        forwarded = forwarded.decode("latin-1")
    return visitor_address(peer, forwarded, proxies)


class WebRequest(server.Request):
    """
    A request with the security headers set before any page renders, whose
    body may not exceed L{MAX_BODY}: a larger one gets 413 and the connection
    is closed, before the body is stored anywhere.
    """

    _too_large = False
    _body_size = 0

    def gotLength(self, length):
        if length is not None and length > MAX_BODY:
            self._refuse()
            self.content = io.BytesIO()
            return
        server.Request.gotLength(self, length)

    def handleContentChunk(self, data):
        if self._too_large:
            return
        self._body_size += len(data)
        if self._body_size > MAX_BODY:
            self._refuse()
            return
        server.Request.handleContentChunk(self, data)

    def _refuse(self):
        self._too_large = True
        transport = self.channel.transport
        transport.write(b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        transport.loseConnection()

    def process(self):
        if self._too_large:
            return
        secure_headers(self)
        server.Request.process(self)


class WebChannel(http.HTTPChannel):
    """
    An HTTP connection with a deadline: from its opening (and after each
    answer, for the next request) the client has C{site.request_timeout}
    seconds to deliver a whole request, or the connection is aborted.
    """

    maxHeaders = MAX_HEADERS
    _deadline = None

    def connectionMade(self):
        http.HTTPChannel.connectionMade(self)
        self._arm()

    def _arm(self):
        self._disarm()
        site = self.factory
        self._deadline = site.clock.callLater(site.request_timeout, self._late)

    def _disarm(self):
        if self._deadline is not None and self._deadline.active():
            self._deadline.cancel()
        self._deadline = None

    def _late(self):
        self._deadline = None
        self.factory.timed_out += 1
        if self.transport is not None:
            self.transport.abortConnection()

    def allContentReceived(self):
        self._disarm()
        http.HTTPChannel.allContentReceived(self)

    def requestDone(self, request):
        http.HTTPChannel.requestDone(self, request)
        if self.transport is not None and not getattr(self.transport, "disconnecting", False):
            self._arm()

    def connectionLost(self, reason):
        self._disarm()
        http.HTTPChannel.connectionLost(self, reason)
        self.factory.released(self)


class WebSite(server.Site):
    """
    The site with connection caps: at most C{max_connections} open at once
    and C{max_per_address} from one peer (trusted proxies count only towards
    the total).  A refused connection is closed at once.

    @ivar refused: connections closed for a cap.
    @ivar timed_out: connections cut off at their deadline.
    """

    protocol = WebChannel
    logger = Logger()

    def __init__(self, root, clock, max_connections=256, max_per_address=16, request_timeout=10,
                 proxies=()):
        server.Site.__init__(self, root, requestFactory=WebRequest)
        self.clock = clock
        self.displayTracebacks = False
        self.noisy = False
        self.max_connections = max_connections
        self.max_per_address = max_per_address
        self.request_timeout = request_timeout
        # twisted.web's own idle timeout, on the reactor: a keep-alive
        # connection with nothing to do is closed.
        self.timeOut = request_timeout * 3
        self.proxies = proxies
        self.open = 0
        self.by_address = {}
        self.refused = 0
        self.timed_out = 0

    def buildProtocol(self, addr):
        host = getattr(addr, "host", "")
        if self.open >= self.max_connections or (
                not is_trusted(host, self.proxies) and self.by_address.get(host, 0) >= self.max_per_address):
            self.refused += 1
            if self.refused in (1, 100, 10000) or self.refused % 100000 == 0:
                self.logger.warn("web front: {count} connections refused so far (caps: {total} open, "
                              "{each} per address)", count=self.refused, total=self.max_connections,
                              each=self.max_per_address)
            return None
        channel = server.Site.buildProtocol(self, addr)
        channel._peer_host = host
        self.open += 1
        self.by_address[host] = self.by_address.get(host, 0) + 1
        return channel

    def released(self, channel):
        host = getattr(channel, "_peer_host", None)
        if host is None:
            return
        channel._peer_host = None
        self.open -= 1
        left = self.by_address.get(host, 1) - 1
        if left:
            self.by_address[host] = left
        else:
            self.by_address.pop(host, None)
