"""Orphaned media files: files in the media store that no row names, removed after a while.

A file becomes an orphan when a process dies between storing an upload's files and
committing the row that names them (`kill -9`, a power cut), or when a release job was
lost. Nothing else would ever delete it, so a durable job (`media.remove_orphans`,
queued by the scheduler every `INTERVAL` seconds, one at a time) walks the store a page
of `PAGE` keys per run, from where the last run stopped (the `media_orphans_cursor`
instance setting, back to the start after the last page), and deletes the files of that
page that no row names and that are older than `GRACE_SECONDS`: an upload in flight
(stored, its row not yet committed) is younger than that, so it is never touched.

The store's private side (`MediaStore.private`: archives, raw uploads waiting for their
job) is swept the same way, with a cursor of its own (`PRIVATE_CURSOR_SETTING`).

`wildebeest-trio media remove-orphans` (Mastodon's `tootctl media remove-orphans`) walks
the whole store at once, page by page, with a grace period of its choosing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..ids import now_ms
from ..jobs import JobKind, JobRegistry
from ..store import Connection
from ..store import instance as instance_rows
from ..store import media as media_rows

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)

# A file is an orphan only once it is this old: longer than any upload or fetch takes
# between storing its files and committing its row (a day, as unattached uploads are kept).
GRACE_SECONDS = 24 * 3600
# Keys looked at per run (one listing request to a bucket, one query per key column).
PAGE = 1000
# How often the scheduler queues a run: a page every five minutes walks ~290,000 files a day.
INTERVAL = 300.0
CURSOR_SETTING = "media_orphans_cursor"
PRIVATE_CURSOR_SETTING = "media_orphans_private_cursor"

REMOVE_ORPHANS = JobKind("media.remove_orphans", max_attempts=3)


@dataclass
class Sweep:
    """What one or more pages of the cleanup found."""

    scanned: int = 0
    removed: list[str] = field(default_factory=list)
    # Orphans younger than the grace period, left for a later run.
    fresh: int = 0
    # Where the next page starts; "" once the end of the store was reached.
    after: str = ""


async def sweep_page(
    rt: Runtime,
    after: str,
    *,
    cutoff: float,
    limit: int = PAGE,
    dry_run: bool = False,
    private: bool = False,
) -> Sweep:
    """Delete the orphans older than `cutoff` (Unix seconds) among the `limit` keys after
    `after` (of the private side with `private`); with `dry_run`, only say which they are."""
    store = rt.media.private if private else rt.media
    listed = await store.listing(after, limit)
    found = Sweep(scanned=len(listed), after=listed[-1].key if len(listed) >= limit else "")
    if not listed:
        return found
    used = await rt.store.read(media_rows.referenced_keys, [item.key for item in listed])
    for item in listed:
        if item.key in used:
            continue
        if item.modified >= cutoff:
            found.fresh += 1
            continue
        if not dry_run:
            await store.delete(item.key)
        found.removed.append(item.key)
    return found


async def run_page(rt: Runtime, *, now: float | None = None) -> Sweep:
    """One bounded run: the page after the recorded cursor, then the cursor moved on (and
    the same on the private side)."""
    cutoff = (time.time() if now is None else now) - GRACE_SECONDS
    total = Sweep()
    for private, setting in ((False, CURSOR_SETTING), (True, PRIVATE_CURSOR_SETTING)):
        after = await rt.store.read(instance_rows.setting_text, setting) or ""
        found = await sweep_page(rt, after, cutoff=cutoff, limit=PAGE, private=private)
        if found.after != after:
            await rt.store.write(instance_rows.put_setting, setting, found.after, now_ms())
        if not private:
            total.after = found.after
        _add(total, found)
    if total.removed:
        log.info("removed %d orphaned media files", len(total.removed))
    return total


def _add(total: Sweep, page: Sweep) -> None:
    total.scanned += page.scanned
    total.removed += page.removed
    total.fresh += page.fresh


async def remove_orphans(
    rt: Runtime,
    *,
    grace: float = GRACE_SECONDS,
    dry_run: bool = False,
    say: Callable[[str], None] = lambda _: None,
) -> Sweep:
    """The whole store (its private side too), page by page: every orphan older than
    `grace` seconds removed."""
    cutoff = time.time() - grace
    total = Sweep()
    for private in (False, True):
        after = ""
        while True:
            page = await sweep_page(rt, after, cutoff=cutoff, dry_run=dry_run, private=private)
            _add(total, page)
            after = page.after
            say(f"media: {total.scanned} files looked at, {len(total.removed)} orphans")
            if not after:
                break
    return total


async def queue_run(rt: Runtime) -> None:
    """Periodic task: queue a run unless one is queued or running already."""

    async def unit(conn: Connection) -> None:
        await REMOVE_ORPHANS.enqueue(conn, rt.ids, {}, dedupe_key=REMOVE_ORPHANS.name)

    await rt.store.write(unit)


async def _run_job(rt: Runtime, payload: dict[str, Any]) -> None:
    """Job handler: one page."""
    await run_page(rt)


def register(registry: JobRegistry) -> None:
    """Bind the cleanup's job kind to its handler."""
    registry.register(REMOVE_ORPHANS, _run_job)


__all__ = [
    "GRACE_SECONDS",
    "INTERVAL",
    "REMOVE_ORPHANS",
    "Sweep",
    "queue_run",
    "register",
    "remove_orphans",
    "run_page",
    "sweep_page",
]
