"""The `wildebeest-trio` command line (tootctl's vocabulary where it has a word)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio

from . import __version__, logs
from .assembly import open_server_runtime
from .config import ConfigError, load_config, settings_table
from .serializers.time import iso_ms
from .server import serve, work
from .services.accounts import AccountError, create_local_account, modify_local_account
from .services.announcements import AnnouncementError, all_announcements, publish, remove
from .services.backup import BackupError, backup, restore
from .services.custom_emoji import EmojiError, add_emoji, local_emojis, remove_emoji
from .services.domain_blocks import InvalidDomainBlock, block_domain, unblock_domain
from .services.instance import add_rule, instance_facts, remove_rule, set_extended_description
from .services.media_cache import purge_remote
from .services.media_orphans import GRACE_SECONDS, remove_orphans
from .services.media_storage import MigrateError, migrate_media
from .services.moves import MoveError, add_alias, remove_alias, start_move
from .services.tokens import TokenError, issue_cli_token
from .store import Connection, open_store
from .store import domain_blocks as block_rows
from .store.migrate import migrate

log = logging.getLogger("wildebeest_trio")


class CommandError(Exception):
    """A command cannot do what was asked; the message is shown as one line."""


def _setup_logging(level: str, fmt: str = "text") -> None:
    logs.setup(level, fmt)


def _say(message: str) -> None:
    print(message, file=sys.stderr)


# Commands -------------------------------------------------------------------------------------


async def cmd_serve(args: argparse.Namespace) -> None:
    await serve(
        args.config,
        migrate=not args.no_migrate,
        processes=args.processes,
        web_child=args.web_child,
    )


async def cmd_worker(args: argparse.Namespace) -> None:
    await work(args.config, deliveries_only=args.deliveries, parent_pipe=args.parent_pipe)


async def cmd_migrate(args: argparse.Namespace) -> None:
    store = await open_store(args.config.database_url, pg_pool_size=2)
    try:
        applied = await migrate(store)
    finally:
        await store.aclose()
    if not applied:
        _say("database is up to date")
    for m in applied:
        _say(f"applied {m.version:04d}_{m.name}")


async def cmd_accounts_create(args: argparse.Namespace) -> None:
    async with open_server_runtime(args.config) as rt:
        try:
            created = await create_local_account(
                rt,
                args.username,
                args.email,
                password=args.password,
                role="admin" if args.admin else args.role,
                allow_reserved=True,
            )
        except AccountError as exc:
            raise CommandError(str(exc)) from None
    _say(f"created account {created.username} (id {created.account_id})")
    if created.password is not None:
        print(created.password)


async def cmd_accounts_modify(args: argparse.Namespace) -> None:
    if args.disable and args.enable:
        raise CommandError("--disable and --enable contradict each other")
    disabled = True if args.disable else False if args.enable else None
    async with open_server_runtime(args.config) as rt:
        try:
            await modify_local_account(
                rt,
                args.username,
                role=args.role,
                approve=args.approve,
                disabled=disabled,
                confirm=args.confirm,
                password=args.password,
            )
        except AccountError as exc:
            raise CommandError(str(exc)) from None
    _say(f"modified account {args.username}")


async def cmd_accounts_approve(args: argparse.Namespace) -> None:
    args.role = None
    args.disable = args.enable = args.confirm = False
    args.password = None
    args.approve = True
    await cmd_accounts_modify(args)


async def cmd_accounts_alias(args: argparse.Namespace) -> None:
    change = add_alias if args.alias_command == "add" else remove_alias
    async with open_server_runtime(args.config) as rt:
        try:
            aliases = await change(rt, args.username, args.acct)
        except MoveError as exc:
            raise CommandError(str(exc)) from None
    _say(f"aliases of {args.username}: {', '.join(aliases) or '(none)'}")


async def cmd_accounts_move(args: argparse.Namespace) -> None:
    async with open_server_runtime(args.config) as rt:
        try:
            target = await start_move(rt, args.username, args.to)
        except MoveError as exc:
            raise CommandError(str(exc)) from None
    _say(f"{args.username} moved to {target['uri']}; followers are being moved")


async def cmd_token_create(args: argparse.Namespace) -> None:
    async with open_server_runtime(args.config) as rt:
        try:
            issued = await issue_cli_token(rt, args.username, args.scopes)
        except TokenError as exc:
            raise CommandError(str(exc)) from None
    _say(f"token for {args.username} with scopes: {' '.join(issued.scopes)}")
    print(issued.token)


async def cmd_rules_add(args: argparse.Namespace) -> None:
    async with open_server_runtime(args.config) as rt:
        try:
            rule_id = await add_rule(rt, args.text, args.hint)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    print(rule_id)


async def cmd_rules_list(args: argparse.Namespace) -> None:
    async with open_server_runtime(args.config) as rt:
        facts = await instance_facts(rt)
    for rule in facts.rules:
        print(f"{rule['id']}\t{rule['text']}")


async def cmd_rules_remove(args: argparse.Namespace) -> None:
    async with open_server_runtime(args.config) as rt:
        if not await remove_rule(rt, args.id):
            raise CommandError(f"no rule with id {args.id}")
    _say(f"removed rule {args.id}")


async def cmd_description_set(args: argparse.Namespace) -> None:
    text = sys.stdin.read() if args.file == "-" else _read_file(args.file)
    async with open_server_runtime(args.config) as rt:
        await set_extended_description(rt, text)
    _say("extended description updated")


async def cmd_media_purge_remote(args: argparse.Namespace) -> None:
    async with open_server_runtime(args.config) as rt:
        purged = await purge_remote(rt, older_than_ms=args.days * 24 * 3600 * 1000)
    _say(
        f"purged cached remote media older than {args.days} days: "
        f"{purged.attachments} attachments, {purged.images} avatars, headers and emoji"
    )


async def cmd_media_migrate(args: argparse.Namespace) -> None:
    async with open_server_runtime(args.config) as rt:
        try:
            await migrate_media(rt, args.to, _say)
        except MigrateError as exc:
            raise CommandError(str(exc)) from None


async def cmd_media_remove_orphans(args: argparse.Namespace) -> None:
    async with open_server_runtime(args.config) as rt:
        found = await remove_orphans(rt, grace=args.grace, dry_run=args.dry_run, say=_say)
    verb = "would remove" if args.dry_run else "removed"
    for key in found.removed:
        _say(f"{verb} {key}")
    _say(
        f"{found.scanned} files looked at: {verb} {len(found.removed)} orphans, "
        f"kept {found.fresh} younger than {args.grace} seconds"
    )


def _read_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None


async def cmd_domains_block(args: argparse.Namespace) -> None:
    async def unit(conn: Connection) -> Any:
        return await block_domain(
            conn,
            rt.ids,
            args.domain,
            severity=args.severity,
            reject_media=args.reject_media,
            reject_reports=args.reject_reports,
            private_comment=args.private_comment,
            public_comment=args.public_comment,
            obfuscate=args.obfuscate,
        )

    async with open_server_runtime(args.config) as rt:
        try:
            row = await rt.store.write(unit)
        except InvalidDomainBlock as exc:
            raise CommandError(str(exc)) from None
    _say(f"blocked {row['domain']} ({row['severity']})")


async def cmd_domains_unblock(args: argparse.Namespace) -> None:
    async with open_server_runtime(args.config) as rt:
        try:
            removed = await rt.store.write(unblock_domain, args.domain)
        except InvalidDomainBlock as exc:
            raise CommandError(str(exc)) from None
    if not removed:
        raise CommandError(f"{args.domain} is not blocked")
    _say(f"unblocked {args.domain}")


async def cmd_domains_list(args: argparse.Namespace) -> None:
    async with open_server_runtime(args.config) as rt:
        blocks = await rt.store.read(block_rows.all_blocks)
    for row in blocks:
        flags = [
            name
            for name, on in (
                ("reject-media", row["reject_media"]),
                ("reject-reports", row["reject_reports"]),
                ("obfuscate", row["obfuscate"]),
            )
            if on
        ]
        print(f"{row['domain']}\t{row['severity']}\t{','.join(flags)}\t{row['public_comment']}")


async def cmd_emoji_add(args: argparse.Namespace) -> None:
    path = trio.Path(args.image_file)
    try:
        if (await path.stat()).st_size > 1024 * 1024:  # far past the limit: do not read it
            raise CommandError(f"{args.image_file} is too large (at most 256 KiB)")
        data = await path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {args.image_file}: {exc.strerror}") from None
    async with open_server_runtime(args.config) as rt:
        try:
            row = await add_emoji(
                rt,
                args.shortcode,
                data,
                category=args.category,
                visible_in_picker=not args.unlisted,
            )
        except EmojiError as exc:
            raise CommandError(str(exc)) from None
    _say(f"added :{row['shortcode']}:")


async def cmd_emoji_remove(args: argparse.Namespace) -> None:
    async with open_server_runtime(args.config) as rt:
        try:
            await remove_emoji(rt, args.shortcode)
        except EmojiError as exc:
            raise CommandError(str(exc)) from None
    _say(f"removed :{args.shortcode.strip(':')}:")


async def cmd_emoji_list(args: argparse.Namespace) -> None:
    async with open_server_runtime(args.config) as rt:
        rows = await local_emojis(rt, enabled_only=False)
    for row in rows:
        flags = [] if row["visible_in_picker"] else ["unlisted"]
        if row["disabled"]:
            flags.append("disabled")
        print(f":{row['shortcode']}:\t{row['category'] or ''}\t{','.join(flags)}")


def _instant(text: str | None) -> int | None:
    """An ISO 8601 time (UTC unless it says otherwise) as epoch milliseconds."""
    if text is None:
        return None

    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"not an ISO 8601 time: {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


async def cmd_announcements_add(args: argparse.Namespace) -> None:
    starts_at, ends_at = _instant(args.starts_at), _instant(args.ends_at)
    async with open_server_runtime(args.config) as rt:
        try:
            row = await publish(
                rt, args.text, starts_at=starts_at, ends_at=ends_at, all_day=args.all_day
            )
        except AnnouncementError as exc:
            raise CommandError(str(exc)) from None
    print(row["id"])


async def cmd_announcements_remove(args: argparse.Namespace) -> None:
    async with open_server_runtime(args.config) as rt:
        if not await remove(rt, args.id):
            raise CommandError(f"no announcement with id {args.id}")
    _say(f"removed announcement {args.id}")


async def cmd_announcements_list(args: argparse.Namespace) -> None:
    async with open_server_runtime(args.config) as rt:
        rows = await all_announcements(rt)
    for row in rows:
        span = f"{iso_ms(row['starts_at']) or ''}..{iso_ms(row['ends_at']) or ''}"
        first_line = row["text"].splitlines()[0][:80]
        print(f"{row['id']}\t{span}\t{first_line}")


async def cmd_backup(args: argparse.Namespace) -> None:
    try:
        await backup(args.config, Path(args.dest), _say)
    except BackupError as exc:
        raise CommandError(str(exc)) from None


async def cmd_restore(args: argparse.Namespace) -> None:
    try:
        await restore(args.config, Path(args.src), _say)
    except BackupError as exc:
        raise CommandError(str(exc)) from None


async def cmd_config_show(args: argparse.Namespace) -> None:
    print(settings_table())


# Parser ---------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wildebeest-trio",
        description="A Mastodon-compatible ActivityPub server. Settings come from WB_* "
        "environment variables or the TOML file named by WB_CONFIG.",
    )
    parser.add_argument("--version", action="version", version=f"wildebeest-trio {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser("serve", help="run the HTTP server, job workers and scheduler")
    p.add_argument("--no-migrate", action="store_true", help="do not apply migrations on start")
    p.add_argument(
        "--processes",
        type=_positive_int,
        metavar="N",
        help="web processes on the one port (default: WB_WEB_PROCESSES, else one per core)",
    )
    # One of the extra web processes a `serve` starts (its standard input: the parent's pipe).
    p.add_argument("--web-child", type=_positive_int, help=argparse.SUPPRESS)
    p.set_defaults(run=cmd_serve, log_to_stderr=True)

    p = commands.add_parser("worker", help="run job workers and scheduler without HTTP")
    p.add_argument(
        "--deliveries",
        action="store_true",
        help="run only the delivery workers (what `serve` starts per WB_DELIVERY_PROCESSES)",
    )
    # Standard input is the pipe of wake-ups from `serve`; its end stops the worker.
    p.add_argument("--parent-pipe", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(run=cmd_worker, log_to_stderr=True)

    p = commands.add_parser("migrate", help="apply pending database migrations")
    p.set_defaults(run=cmd_migrate)

    p = commands.add_parser(
        "backup",
        help="back up the database (online), the secret key and the local media into DEST",
    )
    p.add_argument("dest", help="a new or empty folder")
    p.set_defaults(run=cmd_backup)

    p = commands.add_parser(
        "restore", help="restore a backup onto a fresh data folder and database"
    )
    p.add_argument("src", help="a folder `backup` wrote")
    p.set_defaults(run=cmd_restore)

    p = commands.add_parser("config", help="show every setting (as a Markdown table)")
    p.set_defaults(run=cmd_config_show)

    accounts = commands.add_parser("accounts", help="manage local accounts")
    acc = accounts.add_subparsers(dest="accounts_command", metavar="ACTION", required=True)
    p = acc.add_parser("create", help="create a confirmed, approved local account")
    p.add_argument("username")
    p.add_argument("--email", required=True)
    p.add_argument("--password", help="the password (default: generate one, printed on stdout)")
    p.add_argument("--role", choices=("user", "moderator", "admin", "owner"), default="user")
    p.add_argument("--admin", action="store_true", help="same as --role admin")
    p.set_defaults(run=cmd_accounts_create)

    p = acc.add_parser("modify", help="change a local account's role or standing")
    p.add_argument("username")
    p.add_argument("--role", choices=("user", "moderator", "admin", "owner"))
    p.add_argument("--approve", action="store_true", help="approve a pending sign-up")
    p.add_argument("--disable", action="store_true", help="block the account from logging in")
    p.add_argument("--enable", action="store_true", help="undo --disable")
    p.add_argument("--confirm", action="store_true", help="mark the e-mail address confirmed")
    p.add_argument("--password", help="set a new password (signs out every session)")
    p.set_defaults(run=cmd_accounts_modify)
    p = acc.add_parser("approve", help="approve a pending sign-up")
    p.add_argument("username")
    p.set_defaults(run=cmd_accounts_approve)
    alias = acc.add_parser("alias", help="accounts allowed to move to this one (alsoKnownAs)")
    ali = alias.add_subparsers(dest="alias_command", metavar="ACTION", required=True)
    for action, text in (("add", "add an alias"), ("remove", "remove an alias")):
        p = ali.add_parser(action, help=text)
        p.add_argument("username")
        p.add_argument("acct", help="the other account, user@domain")
        p.set_defaults(run=cmd_accounts_alias)
    p = acc.add_parser("move", help="move an account (and its followers) to another")
    p.add_argument("username")
    p.add_argument("--to", required=True, metavar="ACCT", help="the new account, user@domain")
    p.set_defaults(run=cmd_accounts_move)

    token = commands.add_parser("token", help="manage access tokens")
    tok = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    p = tok.add_parser("create", help="create an access token; prints the bare token")
    p.add_argument("username")
    p.add_argument("--scopes", default="read write follow push")
    p.set_defaults(run=cmd_token_create)

    instance = commands.add_parser("instance", help="instance rules and description")
    ins = instance.add_subparsers(dest="instance_command", metavar="ACTION", required=True)
    rules = ins.add_parser("rules", help="server rules shown to users and apps")
    rul = rules.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    p = rul.add_parser("add", help="add a rule; prints its id")
    p.add_argument("text")
    p.add_argument("--hint", default="")
    p.set_defaults(run=cmd_rules_add)
    p = rul.add_parser("list", help="list rules")
    p.set_defaults(run=cmd_rules_list)
    p = rul.add_parser("remove", help="remove a rule")
    p.add_argument("id", type=_positive_int)
    p.set_defaults(run=cmd_rules_remove)
    p = ins.add_parser("description", help="set the extended description (HTML) from a file")
    p.add_argument("file", help="a file, or - for standard input")
    p.set_defaults(run=cmd_description_set)

    emoji = commands.add_parser("emoji", help="custom emoji")
    emo = emoji.add_subparsers(dest="emoji_command", metavar="ACTION", required=True)
    p = emo.add_parser("add", help="add a local emoji from a PNG, GIF or WebP file")
    p.add_argument("shortcode")
    p.add_argument("image_file")
    p.add_argument("--category")
    p.add_argument("--unlisted", action="store_true", help="usable, but not in the picker")
    p.set_defaults(run=cmd_emoji_add)
    p = emo.add_parser("remove", help="remove a local emoji")
    p.add_argument("shortcode")
    p.set_defaults(run=cmd_emoji_remove)
    p = emo.add_parser("list", help="list local emoji")
    p.set_defaults(run=cmd_emoji_list)

    announcements = commands.add_parser("announcements", help="announcements to every user")
    ann = announcements.add_subparsers(
        dest="announcements_command", metavar="ACTION", required=True
    )
    p = ann.add_parser("add", help="publish an announcement now; prints its id")
    p.add_argument("text", help="plain text, rendered as a status is")
    p.add_argument("--starts-at", help="ISO 8601 start of what is announced")
    p.add_argument("--ends-at", help="ISO 8601 end; the announcement is shown until then")
    p.add_argument("--all-day", action="store_true", help="the times are whole days")
    p.set_defaults(run=cmd_announcements_add)
    p = ann.add_parser("remove", help="delete an announcement")
    p.add_argument("id", type=_positive_int)
    p.set_defaults(run=cmd_announcements_remove)
    p = ann.add_parser("list", help="list announcements")
    p.set_defaults(run=cmd_announcements_list)

    media = commands.add_parser("media", help="media files")
    med = media.add_subparsers(dest="media_command", metavar="ACTION", required=True)
    p = med.add_parser(
        "purge-remote",
        help="drop cached copies of remote media older than N days (fetched again when viewed)",
    )
    p.add_argument("--days", type=_non_negative_int, required=True, help="age in days")
    p.set_defaults(run=cmd_media_purge_remote)
    p = med.add_parser(
        "migrate",
        help="copy every media file to the other storage, check each, then switch to it "
        "(resumable: run it again after a failure)",
    )
    p.add_argument("--to", choices=("s3", "local"), required=True, help="the new storage")
    p.set_defaults(run=cmd_media_migrate)
    p = med.add_parser(
        "remove-orphans",
        help="delete media files no row names (left by a process killed during an upload)",
    )
    p.add_argument(
        "--grace",
        type=_non_negative_int,
        default=GRACE_SECONDS,
        help="keep files younger than this many seconds (uploads in flight); default a day",
    )
    p.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    p.set_defaults(run=cmd_media_remove_orphans)

    domains = commands.add_parser("domains", help="moderate whole remote domains")
    dom = domains.add_subparsers(dest="domains_command", metavar="ACTION", required=True)
    p = dom.add_parser("block", help="block a domain (and its subdomains), or change its block")
    p.add_argument("domain")
    p.add_argument("--severity", choices=("suspend", "silence", "noop"), default="silence")
    p.add_argument("--reject-media", action="store_true")
    p.add_argument("--reject-reports", action="store_true")
    p.add_argument("--public-comment", default="", help="shown in the public list")
    p.add_argument("--private-comment", default="", help="for the admins only")
    p.add_argument("--obfuscate", action="store_true", help="mask the domain in public")
    p.set_defaults(run=cmd_domains_block)
    p = dom.add_parser("unblock", help="lift the block of a domain")
    p.add_argument("domain")
    p.set_defaults(run=cmd_domains_unblock)
    p = dom.add_parser("list", help="list blocked domains (domain, severity, flags, comment)")
    p.set_defaults(run=cmd_domains_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.config = load_config()
    except ConfigError as exc:
        _say(f"wildebeest-trio: configuration error: {exc}")
        return 2
    _setup_logging(
        args.config.log_level if getattr(args, "log_to_stderr", False) else "warning",
        args.config.log_format,
    )
    run: Callable[[argparse.Namespace], Awaitable[Any]] = args.run
    try:
        trio.run(run, args)
    except CommandError as exc:
        _say(f"wildebeest-trio: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # A database that is down or a port that is taken: one line, the traceback in debug.
        log.debug("command failed", exc_info=exc)
        _say(f"wildebeest-trio: {type(exc).__name__}: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
