"""
C{iserverd-webpager}: send one webpager data file to the server's socket.

A web form's CGI script writes the visitor's message as a data file (webpager.md
section 2) and runs this tool on it; the tool checks the file, packs it into
one datagram and sends it.  Unlike IServerd's utility it finds the socket from
the server's configuration, and it refuses what the server would drop, with a
reason, so the script can tell its visitor.

The data file, lines separated by LF, at most 2048 bytes::

    target UIN
    sender e-mail
    sender name
    sender IP address (or a host name)
    message, one or more lines

Exit status: 0 sent (and C{sent} is printed, which IServerd's CGI looked for),
1 a bad data file, 2 a bad command line or configuration, 3 the socket could
not be reached.
"""

import argparse
import os
import socket
import sys

from iserverd import config as configuration
from iserverd.codec import wwp

MAX_FILE = 2048
MAX_UIN_TEXT = 31
MAX_IP_TEXT = 31

EXIT_BAD_FILE = 1
EXIT_USAGE = 2
EXIT_SOCKET = 3


class DataFileError(Exception):
    """The data file cannot be sent; the text is one line for the caller."""


def _resolve(host):
    """A host name's IPv4 address; 0.0.0.0 when it does not resolve (as IServerd did)."""
    try:
        return socket.gethostbyname(host)
    except OSError:
        return "0.0.0.0"


def _is_ipv4(text):
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) <= 255 for p in parts)


def parse_data_file(data, resolve=_resolve):
    """
    Check a data file and turn it into a L{wwp.WebPage}.

    @param data: the file's bytes.
    @param resolve: turns a host name into dotted IPv4 text.
    @raise DataFileError: the file is not acceptable.
    """
    if len(data) > MAX_FILE:
        raise DataFileError("data file is longer than %d bytes" % (MAX_FILE,))
    lines = [line.rstrip(b"\r").split(b"\x00", 1)[0] for line in data.split(b"\n")]
    if len(lines) < 5:
        raise DataFileError("data file needs 5 lines (UIN, e-mail, name, IP address, message), has %d"
                            % (len(lines) if data else 0))
    uin_text, email, name, address = (line.strip() for line in lines[:4])
    if len(uin_text) > MAX_UIN_TEXT or not uin_text.isdigit():
        shown = uin_text[:MAX_UIN_TEXT].decode("latin-1")
        raise DataFileError("line 1: expected the target UIN, got %r" % (shown,))
    target = int(uin_text)
    if not wwp.MIN_UIN <= target <= wwp.MAX_UIN:
        raise DataFileError("line 1: UIN %d is not between %d and %d" % (target, wwp.MIN_UIN, wwp.MAX_UIN))
    for number, what, value, limit in ((2, "e-mail", email, wwp.MAX_EMAIL), (3, "name", name, wwp.MAX_NAME)):
        if len(value) >= limit:
            raise DataFileError("line %d: the %s is %d bytes, at most %d allowed"
                                % (number, what, len(value), limit - 1))
    if len(address) > MAX_IP_TEXT:
        raise DataFileError("line 4: the IP address is longer than %d characters" % (MAX_IP_TEXT,))
    host = address.decode("latin-1")
    ip = host if _is_ipv4(host) else resolve(host) if host else "0.0.0.0"
    body = lines[4:]
    while body and not body[-1]:
        body.pop()
    text = b"\r\n".join(body)
    if not text:
        raise DataFileError("the message (line 5 on) is empty")
    if len(text) >= wwp.MAX_TEXT:
        raise DataFileError("the message is %d bytes, at most %d allowed" % (len(text), wwp.MAX_TEXT - 1))
    return wwp.WebPage(ip, target, email, name, text)


def send(path, datagram):
    """
    Send one datagram to the webpager socket at C{path}.

    @raise OSError: with a one-line explanation in C{strerror}.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.sendto(datagram, path)
    except FileNotFoundError:
        raise OSError("no webpager socket at %s (is iserverd running?)" % (path,))
    except ConnectionRefusedError:
        raise OSError("nothing listens on %s (is iserverd running?)" % (path,))
    except PermissionError:
        raise OSError("permission denied on %s (is this user in the socket's group?)" % (path,))
    except OSError as e:
        raise OSError("cannot send to %s: %s" % (path, e.strerror or e))
    finally:
        sock.close()


def build_parser():
    parser = argparse.ArgumentParser(
        prog="iserverd-webpager",
        description="Send a webpager data file (UIN, e-mail, name, IP address, message lines) to iserverd.",
    )
    parser.add_argument("file", nargs="?", default="-", help="the data file (default: standard input)")
    parser.add_argument("-c", "--config", help="server config file (for the socket's path)")
    parser.add_argument("--data-dir", help="the server's data folder (default ./iserverd-data)")
    parser.add_argument("-s", "--socket", help="the webpager socket (default: from the config)")
    parser.add_argument("--remove", action="store_true",
                        help="delete the data file once read (as IServerd's utility did)")
    return parser


def _socket_path(args):
    if args.socket and not args.config:
        return args.socket
    overrides = {"data_dir": args.data_dir, "webpager_socket": args.socket}
    return configuration.load(args.config, overrides).webpager_path


def _read(name, remove):
    if name == "-":
        return sys.stdin.buffer.read(MAX_FILE + 1)
    with open(name, "rb") as f:
        if remove:
            os.unlink(name)
        return f.read(MAX_FILE + 1)


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        path = _socket_path(args)
    except configuration.ConfigError as e:
        print("iserverd-webpager: %s" % (e,), file=sys.stderr)
        return EXIT_USAGE
    try:
        data = _read(args.file, args.remove)
        datagram = wwp.encode(parse_data_file(data))
    except OSError as e:
        print("iserverd-webpager: cannot read %s: %s" % (args.file, e.strerror or e), file=sys.stderr)
        return EXIT_BAD_FILE
    except (DataFileError, ValueError) as e:
        print("iserverd-webpager: %s" % (e,), file=sys.stderr)
        return EXIT_BAD_FILE
    try:
        send(path, datagram)
    except OSError as e:
        print("iserverd-webpager: %s" % (e.args[0] if e.args else e,), file=sys.stderr)
        return EXIT_SOCKET
    print("sent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
