"""
C{iserverd-admin}: manage accounts in the server's database.

Works on the embedded data folder (the default, the same one the server uses)
or on an external database given with C{--database}.  It may run while the
server runs: both then share the embedded PostgreSQL.

The live commands (C{online}, C{status}, C{disconnect}, C{broadcast}) do not
touch the database: they ask the running server through its control socket
(L{iserverd.services.control}).  C{import-iserverd} copies an IServerd
database (L{iserverd.storage.importer}).
"""

import argparse
import getpass
import json
import sys

from twisted.internet import defer, task

from iserverd import config as configuration
from iserverd.config import one_line
from iserverd.services.database import Database
from iserverd.storage.interfaces import DuplicateUIN, NoSuchUser
from iserverd.services import control as live_control
from iserverd.storage import importer
from iserverd.storage.directory import PostgresDirectory
from iserverd.storage.invites import PostgresInvites
from iserverd.storage.passwords import new_password

MAX_UIN = 0xFFFFFFFF


class AdminError(Exception):
    """A problem the operator can fix; printed as one line."""


def _uin(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a UIN is a whole number, got %r" % (text,))
    if not 1 <= value <= MAX_UIN:
        raise argparse.ArgumentTypeError("a UIN must be between 1 and %d, got %d" % (MAX_UIN, value))
    return value


def _request_id(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a request id is a whole number, got %r" % (text,))
    if value < 1:
        raise argparse.ArgumentTypeError("a request id is positive, got %d" % (value,))
    return value


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a whole number, got %r" % (text,))
    if not 1 <= value <= 1000000:
        raise argparse.ArgumentTypeError("must be between 1 and 1000000, got %d" % (value,))
    return value


def _field(limit):
    def check(text):
        if len(text.encode("utf-8")) > limit:
            raise argparse.ArgumentTypeError("longer than %d bytes" % (limit,))
        return text

    return check


def build_parser():
    parser = argparse.ArgumentParser(
        prog="iserverd-admin", description="Manage iserverd accounts."
    )
    parser.add_argument("-c", "--config", help="server config file (for its database settings)")
    parser.add_argument("-d", "--database", help="PostgreSQL DSN (default: the embedded database)")
    parser.add_argument("--data-dir", help="data folder of the embedded database (default ./iserverd-data)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    add = sub.add_parser("useradd", help="create an account")
    add.add_argument("--uin", type=_uin, help="the UIN (default: the next free one)")
    add.add_argument("--nick", type=_field(20), default="")
    add.add_argument("--first", type=_field(30), default="")
    add.add_argument("--last", type=_field(30), default="")
    add.add_argument("--email", type=_field(60), default="")
    add.add_argument("--password", help="the password (default: prompt, or one line from stdin)")

    pw = sub.add_parser("passwd", help="set an account's password")
    pw.add_argument("uin", type=_uin)
    pw.add_argument("--password", help="the new password (default: prompt, or one line from stdin)")

    rm = sub.add_parser("userdel", help="delete an account and its stored messages")
    rm.add_argument("uin", type=_uin)

    ls = sub.add_parser("list", help="list accounts")
    ls.add_argument("--limit", type=int, default=1000)
    ls.add_argument("--after", type=int, default=0, help="start after this UIN")

    show = sub.add_parser("show", help="show one account")
    show.add_argument("uin", type=_uin)

    sub.add_parser("requests", help="list the registrations waiting for approval")
    ok = sub.add_parser("approve", help="create the account a registration request asks for")
    ok.add_argument("id", type=_request_id)
    ok.add_argument("--password", help="password of a v3 request, which has none (default: a random one)")
    no = sub.add_parser("reject", help="delete a registration request")
    no.add_argument("id", type=_request_id)

    invite = sub.add_parser("invite", help="invite codes for web sign-up (Web invite only)")
    invites = invite.add_subparsers(dest="invite_command", metavar="ACTION")
    invites.required = True
    make = invites.add_parser("create", help="make a new invite code and print it")
    make.add_argument("--uses", type=_positive, default=1, help="sign-ups it is good for (default 1)")
    make.add_argument("--note", type=_field(200), default="", help="what it is for, shown by list")
    invites.add_parser("list", help="list the invite codes")
    revoke = invites.add_parser("revoke", help="make an invite code unusable")
    revoke.add_argument("code")

    # Live commands: they talk to the running server's control socket.
    live = argparse.ArgumentParser(add_help=False)
    live.add_argument("--socket", help="the server's control socket (default DATA-DIR/control.sock)")
    online = sub.add_parser("online", parents=[live], help="list the users online now")
    online.add_argument("--json", action="store_true", help="print the server's answer as JSON")
    status = sub.add_parser("status", parents=[live], help="show the running server's state")
    status.add_argument("--json", action="store_true", help="print the server's answer as JSON")
    kick = sub.add_parser("disconnect", parents=[live], help="move an online user offline")
    kick.add_argument("uin", type=_uin)
    cast = sub.add_parser("broadcast", parents=[live], help="send a system message to everyone online")
    cast.add_argument("text")
    cast.add_argument("--subject", default="")
    cast.add_argument("--store-offline", action="store_true",
                      help="also store it for every account that is not online")

    imp = sub.add_parser("import-iserverd", help="copy accounts and offline messages from an IServerd database")
    imp.add_argument("--from", dest="source", required=True, metavar="DSN", help="the IServerd database")
    imp.add_argument("--utc-offset", type=_utc_offset, default=0,
                     help="the old server's UTC offset, e.g. +03:00 (IServerd stored message times in local time)")
    imp.add_argument("--charset", help="character set of the IServerd text columns (default: the database's "
                     "encoding, or Client charset for SQL_ASCII)")
    return parser


def _utc_offset(text):
    try:
        return importer.parse_utc_offset(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))


def read_password(given, stdin=None):
    """
    The password from the option, else a prompt (twice) on a terminal, else one
    line of standard input.
    """
    stdin = sys.stdin if stdin is None else stdin
    if given is None:
        if stdin.isatty():
            given = getpass.getpass("Password: ")
            if getpass.getpass("Again: ") != given:
                raise AdminError("the passwords do not match")
        else:
            given = stdin.readline().rstrip("\r\n")
    password = given.encode("latin-1", "replace")
    if not password:
        raise AdminError("the password must not be empty")
    if len(password) > 20:
        raise AdminError("the password must be at most 20 bytes (ICQ clients send no more)")
    return password


def _describe(account):
    lines = [
        ("UIN", account.uin),
        ("Nick", account.nick),
        ("First name", account.first_name),
        ("Last name", account.last_name),
        ("E-mail", account.email),
        ("Locked", "yes" if account.locked else "no"),
        ("Authorization required", "yes" if account.auth_required else "no"),
        ("Created", account.created_at.isoformat(timespec="seconds") if account.created_at else "-"),
        ("Last login", account.last_login_at.isoformat(timespec="seconds") if account.last_login_at else "never"),
        ("Last login address", account.last_login_ip or "-"),
    ]
    return "\n".join("%-24s %s" % (k + ":", v) for k, v in lines)


@defer.inlineCallbacks
def run(args, storage, out):
    """Carry out one parsed command against C{storage}, printing to C{out}."""
    if args.command == "useradd":
        password = read_password(args.password)
        try:
            uin = yield storage.create_user(
                args.uin, password, args.nick, args.first, args.last, args.email
            )
        except DuplicateUIN:
            raise AdminError("UIN %d is already registered" % (args.uin,))
        out.write("created UIN %d\n" % (uin,))
    elif args.command == "passwd":
        password = read_password(args.password)
        try:
            yield storage.set_password(args.uin, password)
        except NoSuchUser:
            raise AdminError("no account with UIN %d" % (args.uin,))
        out.write("password of UIN %d changed\n" % (args.uin,))
    elif args.command == "userdel":
        try:
            yield storage.delete_user(args.uin)
        except NoSuchUser:
            raise AdminError("no account with UIN %d" % (args.uin,))
        out.write("deleted UIN %d\n" % (args.uin,))
    elif args.command == "list":
        accounts = yield storage.list_accounts(args.limit, args.after)
        out.write("%-10s %-20s %s\n" % ("UIN", "NICK", "NAME"))
        for a in accounts:
            out.write("%-10d %-20s %s\n" % (a.uin, a.nick, (a.first_name + " " + a.last_name).strip()))
    elif args.command == "show":
        account = yield storage.get_account(args.uin)
        if account is None:
            raise AdminError("no account with UIN %d" % (args.uin,))
        out.write(_describe(account) + "\n")
    elif args.command in ("requests", "approve", "reject"):
        yield registration_requests(args, PostgresDirectory(storage), out)
    elif args.command == "invite":
        yield invite_codes(args, PostgresInvites(storage), out)
    elif args.command == "import-iserverd":
        report = yield import_iserverd(args, storage)
        out.write("\n".join(report.lines()) + "\n")


@defer.inlineCallbacks
def registration_requests(args, directory, out):
    """
    The registrations waiting for the administrator (C{V3/V5 registration
    enabled} with automatic registration off): list, approve, reject.  A v5
    request brings the password its user chose; a v3 form has none, so the
    approval sets one (C{--password}, else a random one) and prints it for
    the administrator to send to the user.
    """
    if args.command == "requests":
        pending = yield directory.registration_requests()
        out.write("%-6s %-20s %-15s %-30s %-16s %s\n" % ("ID", "REQUESTED", "ADDRESS", "E-MAIL", "NICK", "NAME"))
        for r in pending:
            name = (r.info.get("first_name", "") + " " + r.info.get("last_name", "")).strip()
            out.write("%-6d %-20s %-15s %-30s %-16s %s\n" % (
                r.id, r.requested_at.isoformat(timespec="seconds")[:19], r.ip or "-", r.email or "-",
                r.info.get("nick", "") or "-", name or "-"))
        out.write("%d pending\n" % (len(pending),))
        return
    if args.command == "reject":
        if not (yield directory.reject_registration(args.id)):
            raise AdminError("no registration request %d" % (args.id,))
        out.write("rejected request %d\n" % (args.id,))
        return
    known = {r.id: r for r in (yield directory.registration_requests())}
    request = known.get(args.id)
    if request is None:
        raise AdminError("no registration request %d" % (args.id,))
    password = None
    if not request.has_password:
        password = read_password(args.password) if args.password is not None else new_password()
    uin = yield directory.approve_registration(args.id, password)
    if uin is None:
        raise AdminError("no registration request %d" % (args.id,))
    if password is None:
        out.write("approved request %d: UIN %d (with the password its user chose)\n" % (args.id, uin))
    else:
        out.write("approved request %d: UIN %d, password %s\n" % (args.id, uin, password.decode("latin-1")))


@defer.inlineCallbacks
def invite_codes(args, invites, out):
    """Invite codes for an invite-only web sign-up: create, list, revoke."""
    if args.invite_command == "create":
        code = yield invites.create_invite(args.uses, args.note)
        out.write("invite code (good for %d sign-up%s): %s\n" % (args.uses, "" if args.uses == 1 else "s", code))
    elif args.invite_command == "list":
        listed = yield invites.list_invites()
        out.write("%-16s %-20s %5s %5s  %-8s %s\n" % ("CODE", "CREATED", "LEFT", "USED", "STATE", "NOTE"))
        for i in listed:
            state = "revoked" if i.revoked else "used up" if i.uses_left == 0 else "valid"
            out.write("%-16s %-20s %5d %5d  %-8s %s\n" % (
                i.code, i.created_at.isoformat(timespec="seconds")[:19], i.uses_left, i.used, state, i.note or "-"))
        out.write("%d invite code%s\n" % (len(listed), "" if len(listed) == 1 else "s"))
    elif args.invite_command == "revoke":
        if not (yield invites.revoke_invite(args.code)):
            raise AdminError("no invite code %s" % (args.code,))
        out.write("revoked %s\n" % (args.code,))


def import_iserverd(args, storage):
    """Run the IServerd import in a thread; fire with its report."""
    from twisted.internet import threads

    job = importer.Importer(
        args.source, storage.dsn, args.utc_offset, settings_for(args).client_charset, args.charset,
        sealer=storage.sealer,
    )

    def failed(failure):
        text = one_line(failure.value)
        if failure.check(importer.SourceError):
            raise AdminError(text)
        raise AdminError("import failed, nothing was changed: %s" % (text,))

    return threads.deferToThread(job.run).addErrback(failed)


LIVE_COMMANDS = ("online", "status", "disconnect", "broadcast")


def live(args, settings, out, request=live_control.request):
    """
    Carry out a live command through the server's control socket.

    @param request: C{request(path, message)} returning the answer's result
        (the blocking client; tests pass their own).
    @raise AdminError: the server refused or cannot be reached.
    """
    path = args.socket or live_control.control_path(settings)
    message = {"command": args.command}
    if args.command == "disconnect":
        message["uin"] = args.uin
    elif args.command == "broadcast":
        message.update(text=args.text, subject=args.subject, store_offline=args.store_offline)
    try:
        result = request(path, message)
    except live_control.ControlError as e:
        raise AdminError(str(e))
    if getattr(args, "json", False):
        out.write(json.dumps(result, indent=2, sort_keys=True) + "\n")
    elif args.command == "online":
        out.write("%-10s %-5s %-7s %-10s %-21s %s\n" % ("UIN", "PROTO", "CLIENT", "STATUS", "ADDRESS", "SINCE"))
        for u in result["users"]:
            out.write("%-10d v%-4d %-7d 0x%04x%04x %-21s %s\n" % (
                u["uin"], u["protocol"], u["client_version"], u["flags"], u["status"], u["address"], u["since"]))
        out.write("%d online\n" % (result["count"],))
    elif args.command == "status":
        out.write(_describe_status(result) + "\n")
    elif args.command == "disconnect":
        out.write("disconnected UIN %d\n" % (result["uin"],))
    elif args.command == "broadcast":
        out.write("sent to %d online users" % (result["online"],))
        out.write(", stored for %d accounts\n" % (result["stored"],) if args.store_offline else "\n")


def _describe_status(s):
    db = s.get("database") or {}
    pool = ", ".join("%s %s" % (v, k.replace("_", " ")) for k, v in db.items()) or "-"
    by_protocol = ", ".join("v%s: %d" % kv for kv in sorted(s["online_by_protocol"].items()))
    lines = [
        ("Version", s["version"]),
        ("Started", s["started_at"]),
        ("Uptime", "%d s" % (s["uptime"],)),
        ("Online", "%d%s" % (s["online"], " (%s)" % by_protocol if by_protocol else "")),
        ("Packets in", "%d (%.1f/s)" % (s["packets_in"], s["packets_in_per_second"])),
        ("Packets out", "%d (%.1f/s)" % (s["packets_out"], s["packets_out_per_second"])),
        ("Malformed packets", s["malformed_packets"]),
        ("Unacknowledged packets", "%d in %d sessions" % (s["unacked_packets"], s["unacked_sessions"])),
        ("Busy replies", s["busy_replies"]),
        ("Logins", "%d (%d refused)" % (s["logins"], s["login_failures"])),
        ("Messages", "%d relayed, %d stored" % (s["messages_relayed"], s["messages_stored"])),
        ("Resends", s["resends"]),
        ("Keep-alive expiries", s["expired"]),
        ("Database pool", pool),
    ]
    return "\n".join("%-24s %s" % (k + ":", v) for k, v in lines)


def settings_for(args):
    overrides = {}
    if args.database is not None:
        overrides["database"] = configuration.parse_value("database", args.database)
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    return configuration.load(args.config, overrides)


@defer.inlineCallbacks
def _main(reactor, args, out, err):
    database = Database(settings_for(args), reactor)
    try:
        storage = yield database.open()
    except Exception as e:
        err.write("iserverd-admin: cannot open the database: %s\n" % (one_line(e),))
        return 1
    try:
        yield run(args, storage, out)
        return 0
    except AdminError as e:
        err.write("iserverd-admin: %s\n" % (e,))
        return 1
    except Exception as e:
        err.write("iserverd-admin: %s\n" % (one_line(e),))
        return 1
    finally:
        yield database.close()


def main(argv=None, out=None, err=None):
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    args = build_parser().parse_args(argv)
    try:
        settings_for(args)
    except configuration.ConfigError as e:
        err.write("iserverd-admin: %s\n" % (e,))
        sys.exit(2)
    if args.command in LIVE_COMMANDS:
        try:
            live(args, settings_for(args), out)
        except AdminError as e:
            err.write("iserverd-admin: %s\n" % (e,))
            sys.exit(1)
        return
    if args.command in ("useradd", "passwd"):
        # Ask before the database starts, so a prompt is not interleaved with start-up.
        try:
            args.password = read_password(args.password).decode("latin-1")
        except AdminError as e:
            err.write("iserverd-admin: %s\n" % (e,))
            sys.exit(1)

    def react_main(reactor):
        return _main(reactor, args, out, err).addCallback(_exit_code)

    task.react(react_main)


def _exit_code(code):
    if code:
        raise SystemExit(code)


if __name__ == "__main__":
    main()
