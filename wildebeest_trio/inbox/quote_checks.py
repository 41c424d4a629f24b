"""Checking remote quotes (the `QUOTE_VERIFY` job): fetch a quoted post not known here, and
believe a quote of a remote post only once its stamp checks out, as Mastodon's
VerifyQuoteService does.

The stamp is fetched from where it says it is; it counts only if it is a
`QuoteAuthorization` attributed to the quoted post's author, on that author's server,
naming the quoting post (`interactingObject`) and the quoted one (`interactionTarget`).
A stamp that cannot be had refuses the quote; one that does not fit leaves it pending
(never shown), as Mastodon leaves it; a server that is down is tried again later, with
the job.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..federation.actors import fetchable
from ..federation.as2 import as_list, link
from ..federation.fetch import DocumentRefused, DocumentUnavailable, fetch_document, same_origin
from ..federation.notes import NoteRefused
from ..jobs import JobRegistry
from ..services import quotes
from ..services.quotes import QUOTE_VERIFY
from ..services.remote_statuses import store_fetched_note
from ..store import Connection, RowView
from ..store import accounts as account_rows
from ..store import inbox as inbox_rows
from ..store import quotes as quote_rows
from ..store import statuses as status_rows
from ..store.rows import QuoteRow, StatusRow

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)


async def _quoted(rt: Runtime, quote: RowView, depth: int) -> StatusRow | None:
    """The quoted post, stored here: known already, or fetched from its server (not a
    local one, which would be known, nor one deleted or on a suspended domain)."""
    uri = quote["quoted_uri"]
    if not uri:
        return None
    known = await rt.store.read(inbox_rows.status_by_uri, uri)
    if known is not None or uri.startswith(rt.config.base_url + "/"):
        return known
    if await rt.store.read(inbox_rows.is_tombstoned, uri) or not await fetchable(rt, uri):
        return None
    try:
        return await store_fetched_note(rt, await fetch_document(rt, uri), depth=depth + 1)
    except DocumentUnavailable:
        raise  # tried again with the job
    except (DocumentRefused, NoteRefused) as exc:
        log.info("cannot take the quoted post %s: %s", uri, exc)
        return None


def _stamp_fits(
    stamp: RowView, quote: RowView, quoting: RowView, quoted: RowView, author: RowView
) -> bool:
    """Whether a fetched stamp approves this quote of this post by this author."""
    attributed = link(stamp.get("attributedTo"))
    return (
        "QuoteAuthorization" in as_list(stamp.get("type"))
        and attributed == author["uri"]
        and attributed is not None
        and same_origin(quote["approval_uri"], attributed)
        and link(stamp.get("interactingObject")) == quoting["uri"]
        and link(stamp.get("interactionTarget")) == quoted["uri"]
    )


async def verify(rt: Runtime, payload: dict[str, Any]) -> None:
    """The job: find the post a remote quote names, then check its stamp."""
    quote_id, depth = int(payload["quote_id"]), int(payload.get("depth") or 0)
    quote = await rt.store.read(quote_rows.by_id, quote_id)
    if quote is None or quote["state"] != "pending":
        return
    quoted = await _quoted(rt, quote, depth)
    if quoted is None:
        return

    async def linked(conn: Connection) -> QuoteRow | None:
        current = await quote_rows.by_id(conn, quote_id)
        if current is None or current["state"] != "pending":
            return None
        return await quotes.quoted_known(conn, rt, current, quoted)

    current = await rt.store.write(linked)
    if current is None or current["state"] != "pending" or not current["approval_uri"]:
        return
    if quoted["local"]:
        return  # a quote of a local post waits for its QuoteRequest
    try:
        stamp = await fetch_document(rt, current["approval_uri"])
    except DocumentUnavailable:
        raise
    except DocumentRefused as exc:
        log.info("quote %d: its stamp cannot be had: %s", quote_id, exc)
        stamp = None

    async def decide(conn: Connection) -> None:
        now = await quote_rows.by_id(conn, quote_id)
        quoting = await status_rows.status_by_id(conn, quote["status_id"])
        author = await account_rows.account_by_id(conn, quoted["account_id"])
        if now is None or now["state"] != "pending" or quoting is None or author is None:
            return
        if stamp is None:
            await quotes.refusal_received(conn, rt, now)
        elif now["approval_uri"] is not None and _stamp_fits(stamp, now, quoting, quoted, author):
            await quotes.authorization_received(conn, rt, now, now["approval_uri"])

    await rt.store.write(decide)


def register(registry: JobRegistry) -> None:
    """Bind the quote checks to their handler."""
    registry.register(QUOTE_VERIFY, verify)
