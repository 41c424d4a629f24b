"""Verified profile links: a field whose `https` page links back with `rel="me"` gets its
`verified_at`, as Mastodon's `VerifyAccountLinkService` gives it.

A durable job per account (queued when a local profile's fields change, when a remote actor
is stored with links not yet verified, and by the scheduler for local profiles) fetches each
field's URL through `net.safe_get` (private addresses refused, each redirect checked again,
HTML only, its first MiB, a deadline) and looks for `<a rel="me">` or `<link rel="me">`
naming the profile's URL. When the page has rel="me" links but none names the profile, the
first is asked (without following) whether it redirects to the profile, as Mastodon asks.

The field that was fetched must still hold the same value when the answer is written: a
field changed meanwhile keeps its own state. A link once verified stays verified until its
value changes (Mastodon's `mark_unverified!` only on a failed fetch of a field it checks).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import trio

from ..ids import now_ms
from ..jobs import JobKind, JobRegistry
from ..link_details import rel_me_links, sole_link, verifiable_url
from ..net import Fetched, FetchError, charset, safe_get
from ..runtime import Runtime
from ..serializers.time import iso_ms
from ..store import Connection, Row
from ..store import accounts as account_rows

log = logging.getLogger(__name__)

VERIFY_LINKS = JobKind("account.verify_links", max_attempts=3)
MAX_PAGE_BYTES = 1024 * 1024
TIME_LIMIT = 10.0
# The scheduler looks again at local profiles' links this often, this many at a time.
REVERIFY_SECONDS = 24 * 3600.0
REVERIFY_BATCH = 500
# A remote actor's links are looked at a moment after it is stored, not while its
# activity is being taken in.
REMOTE_DELAY = 5.0


def field_url(account: Row, field: dict[str, Any], source: dict[str, Any] | None) -> str | None:
    """The address a field is verified at: a local field's own text (`source`), a remote
    field's single link; None when it has none Mastodon would verify."""
    if account["domain"] is None:
        value = str((source or {}).get("value") or "")
    else:
        value = sole_link(str(field.get("value") or "")) or ""
    return verifiable_url(value)


def _sources(account: Row) -> list[dict[str, Any] | None]:
    fields = json.loads(account.get("fields") or "[]")
    sources: list[Any] = json.loads(account.get("fields_source") or "[]")
    return [sources[i] if i < len(sources) else None for i in range(len(fields))]


def needs_verifying(account: Row) -> bool:
    """Whether any of an account's fields is a link not verified yet."""
    fields = json.loads(account.get("fields") or "[]")
    return any(
        not f.get("verified_at") and field_url(account, f, s) is not None
        for f, s in zip(fields, _sources(account), strict=True)
    )


def carry_over(before: str | None, after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """New fields keeping the `verified_at` of an old field of the same value (Mastodon's
    `fields_attributes=`): a changed field starts unverified."""
    verified = {
        f.get("value"): f.get("verified_at")
        for f in json.loads(before or "[]")
        if isinstance(f, dict) and f.get("verified_at")
    }
    return [{**f, "verified_at": verified.get(f.get("value"))} for f in after]


async def queue(conn: Connection, rt: Runtime, account_id: int, *, delay: float = 0.0) -> None:
    """Inside a unit: verify an account's links soon (once, however often it is asked)."""
    await VERIFY_LINKS.enqueue(
        conn,
        rt.ids,
        {"account_id": account_id},
        delay=delay,
        dedupe_key=f"{VERIFY_LINKS.name}:{account_id}",
    )


async def queue_if_needed(conn: Connection, rt: Runtime, account_id: int) -> None:
    """Inside the unit that stored a remote actor: queue its links' check when it has a
    link not verified yet."""
    account = await account_rows.account_by_id(conn, account_id)
    if account is not None and needs_verifying(dict(account)):
        await queue(conn, rt, account_id, delay=REMOTE_DELAY)


async def _fetch(rt: Runtime, url: str, *, follow: bool = True) -> Fetched:
    return await safe_get(
        url,
        headers={"Accept": "text/html", "User-Agent": f"{rt.config.user_agent} Bot"},
        outbound=rt.outbound,
        max_bytes=MAX_PAGE_BYTES,
        truncate=True,
        time_limit=TIME_LIMIT,
        max_redirects=3 if follow else 0,
        content_types=("text/html", "application/xhtml+xml") if follow else None,
    )


async def links_back(rt: Runtime, url: str, profile: str) -> bool:
    """Whether the page at `url` links back to `profile` with rel="me" (directly, or
    through its first rel="me" link redirecting there)."""
    fetched = await _fetch(rt, url)
    if fetched.status != 200:
        return False
    content_type = fetched.headers.get("content-type", "")
    links = await trio.to_thread.run_sync(rel_me_links, fetched.body, charset(content_type))
    if any(link.lower() == profile.lower() for link in links):
        return True
    if not links or not links[0].startswith(("https://", "http://")):
        return False
    try:
        hop = await _fetch(rt, links[0], follow=False)
    except FetchError as exc:
        return exc.location == profile
    return bool(hop.headers.get("location") == profile)


async def verify(rt: Runtime, payload: dict[str, Any]) -> None:
    """Job handler: check each unverified link of an account and record what was found."""
    account_id = int(payload["account_id"])
    account = await rt.store.read(account_rows.account_by_id, account_id)
    if account is None or account.get("suspended_at") is not None:
        return
    row: dict[str, Any] = dict(account)
    profile = str(row["url"] or row["uri"])
    fields = json.loads(row.get("fields") or "[]")
    found: dict[int, tuple[str, bool]] = {}
    for index, (field, source) in enumerate(zip(fields, _sources(row), strict=True)):
        url = field_url(row, field, source)
        if url is None or field.get("verified_at"):
            continue
        try:
            ok = await links_back(rt, url, profile)
        except FetchError as exc:
            log.info("profile link %s of account %d not verified: %s", url, account_id, exc)
            ok = False
        found[index] = (str(field.get("value")), ok)
    if found:
        await rt.store.write(_record, account_id, found)


async def _record(conn: Connection, account_id: int, found: dict[int, tuple[str, bool]]) -> None:
    """Unit: set `verified_at` on the fields verified, if they still hold what was checked."""
    account = await account_rows.account_by_id(conn, account_id)
    if account is None:
        return
    fields = json.loads(account.get("fields") or "[]")
    stamp = iso_ms(now_ms())
    changed = False
    for index, (value, ok) in found.items():
        if index >= len(fields) or fields[index].get("value") != value:
            continue  # changed while its page was fetched
        if ok and not fields[index].get("verified_at"):
            fields[index]["verified_at"] = stamp
            changed = True
    if changed:
        await account_rows.set_fields(conn, account_id, json.dumps(fields))


async def reverify_local(rt: Runtime) -> None:
    """Scheduler: queue the link check of every local profile with an https field."""
    after = 0
    while True:
        ids = await rt.store.read(account_rows.local_ids_with_links, after, REVERIFY_BATCH)
        if not ids:
            return

        async def unit(conn: Connection, ids: list[int] = ids) -> None:
            for account_id in ids:
                account = await account_rows.account_by_id(conn, account_id)
                if account is not None and needs_verifying(dict(account)):
                    await queue(conn, rt, account_id)

        await rt.store.write(unit)
        after = ids[-1]


def register(registry: JobRegistry) -> None:
    registry.register(VERIFY_LINKS, verify)


__all__ = [
    "VERIFY_LINKS",
    "carry_over",
    "links_back",
    "needs_verifying",
    "queue",
    "queue_if_needed",
    "register",
    "reverify_local",
]
