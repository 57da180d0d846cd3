"""
Watch two v5 clients talk through a running server.

    python -m iserverd.testing.demo --server 127.0.0.1:4000 10001:wonderland 10002:builder

Both users log in, upload contact lists naming each other, exchange a message
each way and log off; every packet the server sends them is printed.
"""

import argparse
import sys

from twisted.internet import defer, task

from iserverd.codec import v5
from iserverd.testing.v5client import V5Client


class _Watched(V5Client):
    def __init__(self, reactor, server, uin, password, out):
        V5Client.__init__(self, reactor, server, uin, password)
        self.out = out

    def datagramReceived(self, datagram, addr):
        packet = v5.decode_server(datagram)
        name = v5.SERVER_COMMAND_NAMES.get(packet.command, "0x%04x" % packet.command)
        detail = ""
        if packet.command in (v5.SRV_ONLINE_MESSAGE, v5.SRV_OFFLINE_MESSAGE):
            parsed = (v5.OnlineMessage if packet.command == v5.SRV_ONLINE_MESSAGE else v5.OfflineMessage).parse(packet.data)
            detail = " from %d: %r" % (parsed.sender, parsed.text.decode("latin-1"))
        elif packet.command in (v5.SRV_USER_ONLINE, v5.SRV_USER_OFFLINE, v5.SRV_USER_STATUS):
            detail = " about %d" % (v5.UserOffline.parse(packet.data[:4]).uin,)
        self.out.write("%d <- %-24s seq1=%-5d seq2=%-5d%s\n" % (self.uin, name, packet.seq1, packet.seq2, detail))
        V5Client.datagramReceived(self, datagram, addr)


def _account(text):
    uin, _, password = text.partition(":")
    if not uin.isdigit() or not password:
        raise argparse.ArgumentTypeError("expected UIN:PASSWORD, got %r" % (text,))
    return int(uin), password.encode("latin-1")


@defer.inlineCallbacks
def run(reactor, server, first, second, out):
    clients = []
    for uin, password in (first, second):
        client = _Watched(reactor, server, uin, password, out)
        reactor.listenUDP(0, client, interface="0.0.0.0")
        clients.append(client)
    a, b = clients
    for client, other in ((a, b), (b, a)):
        reply = yield client.login()
        if reply.command != v5.SRV_HELLO:
            raise SystemExit("login of %d refused (%s)" % (client.uin, v5.SERVER_COMMAND_NAMES.get(reply.command)))
        yield client.contact_list([other.uin])
    yield a.message(b.uin, b"Hello from %d!" % a.uin)
    yield b.wait_command(v5.SRV_ONLINE_MESSAGE)
    yield b.message(a.uin, b"Hi %d, loud and clear." % a.uin)
    yield a.wait_command(v5.SRV_ONLINE_MESSAGE)
    yield task.deferLater(reactor, 0.5, lambda: None)
    a.logoff()
    b.logoff()
    yield task.deferLater(reactor, 0.5, lambda: None)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m iserverd.testing.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="127.0.0.1:4000", help="HOST:PORT of the server")
    parser.add_argument("first", type=_account, help="UIN:PASSWORD")
    parser.add_argument("second", type=_account, help="UIN:PASSWORD")
    args = parser.parse_args(argv)
    host, _, port = args.server.rpartition(":")
    task.react(lambda reactor: run(reactor, (host or "127.0.0.1", int(port)), args.first, args.second, sys.stdout))


if __name__ == "__main__":
    main()
