"""CSV export and import of follows, blocks and mutes, in Mastodon's file formats.

- follows (`following_accounts.csv`): a header `Account address,Show boosts,Notify on
  new posts,Languages`, then one `user@domain` per row;
- blocks (`blocked_accounts.csv`): one `user@domain` per line, no header;
- mutes (`muted_accounts.csv`): a header `Account address,Hide notifications`.

An import merges: accounts already followed, blocked or muted stay so. Accounts this
server does not know yet are counted as skipped (finding them needs remote look-ups).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

from ..ids import now_ms
from ..runtime import Runtime
from ..store import accounts as account_rows
from ..store import follows as follow_rows
from . import follows as follow_service

KINDS = ("follows", "blocks", "mutes")
FILENAMES = {
    "follows": "following_accounts.csv",
    "blocks": "blocked_accounts.csv",
    "mutes": "muted_accounts.csv",
}
HEADERS = {
    "follows": ["Account address", "Show boosts", "Notify on new posts", "Languages"],
    "mutes": ["Account address", "Hide notifications"],
}
MAX_ROWS = 20_000
MAX_IMPORT_BYTES = 2 * 1024 * 1024


class CsvImportError(ValueError):
    """A file that cannot be imported, with a message for the user."""


def _acct(rt: Runtime, username: str, domain: str | None) -> str:
    return f"{username}@{domain or rt.config.domain}"


def _bool(value: object) -> str:
    return "true" if value else "false"


async def export_csv(rt: Runtime, account_id: int, kind: str) -> str:
    """One of the three CSV files for the account."""
    if kind not in KINDS:
        raise ValueError(kind)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if kind in HEADERS:
        writer.writerow(HEADERS[kind])
    if kind == "follows":
        for r in await rt.store.read(follow_rows.followed_for_export, account_id, MAX_ROWS):
            languages = json.loads(r["languages"]) if r["languages"] else []
            writer.writerow(
                [
                    _acct(rt, r["username"], r["domain"]),
                    _bool(r["show_reblogs"]),
                    _bool(r["notify"]),
                    ",".join(languages),
                ]
            )
    elif kind == "blocks":
        for b in await rt.store.read(follow_rows.blocked_for_export, account_id, MAX_ROWS):
            writer.writerow([_acct(rt, b["username"], b["domain"])])
    else:
        mutes = await rt.store.read(follow_rows.muted_for_export, account_id, now_ms(), MAX_ROWS)
        for m in mutes:
            writer.writerow([_acct(rt, m["username"], m["domain"]), _bool(m["hide_notifications"])])
    return out.getvalue()


@dataclass
class ImportResult:
    """What an import did."""

    applied: int = 0
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    acct: str
    flag: bool | None  # show boosts (follows) or hide notifications (mutes)
    notify: bool | None
    languages: list[str] | None


def _parse_bool(text: str) -> bool | None:
    value = text.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    return None


def parse_csv(kind: str, data: bytes) -> list[_Row]:
    """The rows of an uploaded file (a header row, if any, is skipped)."""
    if kind not in KINDS:
        raise CsvImportError("Unknown import type")
    if len(data) > MAX_IMPORT_BYTES:
        raise CsvImportError("The file is too large (at most 2 MB)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvImportError("The file is not UTF-8 text") from exc
    rows: list[_Row] = []
    for cells in csv.reader(io.StringIO(text)):
        if not cells or not cells[0].strip():
            continue
        acct = cells[0].strip().lstrip("@")
        if acct.lower() == "account address":
            continue
        if "@" not in acct and " " in acct:
            raise CsvImportError("This does not look like a Mastodon export file")
        rows.append(
            _Row(
                acct=acct[:400],
                flag=_parse_bool(cells[1]) if len(cells) > 1 else None,
                notify=_parse_bool(cells[2]) if len(cells) > 2 and kind == "follows" else None,
                languages=[c.strip() for c in cells[3].split(",") if c.strip()][:10]
                if len(cells) > 3 and kind == "follows" and cells[3].strip()
                else None,
            )
        )
        if len(rows) > MAX_ROWS:
            raise CsvImportError(f"At most {MAX_ROWS} rows per file")
    return rows


async def import_csv(rt: Runtime, account_id: int, kind: str, data: bytes) -> ImportResult:
    """Follow, block or mute every account a file lists that this server knows."""
    rows = parse_csv(kind, data)
    result = ImportResult()
    for row in rows:
        username, _, domain = row.acct.partition("@")
        local = domain.lower() in ("", rt.config.domain)
        target = await rt.store.read(
            account_rows.account_by_acct, username, None if local else domain
        )
        if target is None or target["suspended_at"] is not None or target["id"] == account_id:
            result.skipped.append(row.acct)
            continue
        try:
            if kind == "follows":
                options = follow_service.FollowOptions(
                    reblogs=row.flag, notify=row.notify, languages=row.languages
                )
                await follow_service.follow(rt, account_id, target["id"], options)
            elif kind == "blocks":
                await follow_service.block(rt, account_id, target["id"])
            else:
                hide = True if row.flag is None else row.flag
                await follow_service.mute(rt, account_id, target["id"], hide, 0)
        except (follow_service.CannotFollow, follow_service.AccountNotFound):
            result.skipped.append(row.acct)
            continue
        result.applied += 1
    return result
