"""Quote posts (Mastodon 4.5, FEP-044f): the one place quotes are written and decided.

A status quotes at most one other. Its quote is written with it by `attach` (called from
`statuses.create`, for the API and the inbox alike) and then moves between states:
`pending` until the quoted post's author approves, `accepted`, `rejected` when refused,
`revoked` when an approval is taken back. Who may quote is the quoted post's policy
(`quote_policy`): a local account quoting a local post is approved or left waiting at
once; a quote of a remote post asks its server (a `QuoteRequest`, answered by an `Accept`
carrying a `QuoteAuthorization` stamp, or a `Reject`); a remote quote of a local post is
decided when its server asks; a remote quote of a remote post is believed once its stamp,
fetched from the quoted author's server, says so (the `QUOTE_VERIFY` job, which also
fetches a quoted post not known here). Every change runs inside its caller's unit:
counts, notifications, outbox events and stream events commit with it.
"""

from __future__ import annotations

from .. import quote_policy
from ..drafts import QuoteDraft
from ..ids import now_ms
from ..jobs import JobKind
from ..runtime import Runtime
from ..store import Connection, RowView, outbox
from ..store import quotes as quote_rows
from ..store import statuses as status_rows
from ..store.paging import Page
from ..store.rows import QuoteRow, StatusRow
from ..store.statuses import StatusBundle
from . import fanout, notifications
from .refusals import InvalidStatus, NotAllowed, StatusNotFound

#: Fetches a quoted post not known here, and checks a remote quote's stamp.
QUOTE_VERIFY = JobKind("quote.verify", max_attempts=8)
#: How many quotes deep quoted posts are fetched (a quote of a quote of ...).
MAX_DEPTH = 3
QUOTED_NOT_FOUND = "The post you are trying to quote does not appear to exist."
NOT_MENTIONED = "Cannot quote a not-mentioned user in a Private mention post."


async def verdict(conn: Connection, quoted: RowView, account: RowView) -> str:
    """How the quoted post's policy applies to `account` (`quote_policy.for_account`)."""
    author = quoted["account_id"]
    return quote_policy.for_account(
        int(quoted["quote_approval_policy"] or 0),
        visibility=quoted["visibility"],
        is_author=author == account["id"],
        signed_in=True,
        follows_author=await quote_rows.follows_between(conn, account["id"], author),
        followed_by_author=await quote_rows.follows_between(conn, author, account["id"]),
    )


async def quotable(conn: Connection, quoted_id: int, author: RowView) -> StatusRow:
    """The status a local account asks to quote: one it sees, not a boost, whose policy
    lets it quote (at once or by asking); StatusNotFound otherwise, as Mastodon answers
    both."""
    quoted = await status_rows.visible_status(conn, quoted_id, author["id"])
    if quoted is None or quoted["reblog_of_id"] is not None:
        raise StatusNotFound(QUOTED_NOT_FOUND)
    if not quote_policy.may_request(await verdict(conn, quoted, author)):
        raise StatusNotFound(QUOTED_NOT_FOUND)
    return quoted


def visibility_of_quote(quoted: RowView, visibility: str) -> str:
    """A quote of a followers-only post (its author's own) is never seen more widely."""
    if quoted["visibility"] == "private" and visibility in quote_policy.QUOTABLE_VISIBILITIES:
        return "private"
    return visibility


def check_direct(quoted: RowView, author_id: int, visibility: str, mentions: list[int]) -> None:
    """A direct quote must mention the quoted author (who would not see it otherwise)."""
    quoted_author = quoted["account_id"]
    if visibility == "direct" and quoted_author != author_id and quoted_author not in mentions:
        raise InvalidStatus(NOT_MENTIONED)


# Writing -------------------------------------------------------------------------------------


async def attach(
    conn: Connection, rt: Runtime, status: RowView, author: RowView, draft: QuoteDraft
) -> QuoteRow | None:
    """Record the quote a new status makes (inside `statuses.create`) and decide what can be
    decided now; the quote, or None when the quoted post cannot be quoted at all (a boost,
    or someone else's post that reaches no public place: the status stays a plain post)."""
    quoted = draft.quoted
    if quoted is not None and (
        quoted["reblog_of_id"] is not None
        or (
            quoted["account_id"] != author["id"]
            and quoted["visibility"] not in quote_policy.QUOTABLE_VISIBILITIES
        )
    ):
        return None
    now = now_ms()
    quote_id = rt.ids.next_id()
    # Only this server's stamps approve quotes of its posts, and it keeps them itself.
    approval_uri = draft.approval_uri
    if (quoted is not None and quoted["local"]) or (
        approval_uri is not None and approval_uri.startswith(rt.config.base_url + "/")
    ):
        approval_uri = None
    await quote_rows.insert(
        conn,
        {
            "id": quote_id,
            "status_id": status["id"],
            "account_id": author["id"],
            "quoted_status_id": quoted["id"] if quoted else None,
            "quoted_account_id": quoted["account_id"] if quoted else None,
            "quoted_uri": quoted["uri"] if quoted else draft.uri,
            "state": "pending",
            "legacy": draft.legacy,
            "activity_uri": None,
            "approval_uri": approval_uri,
            "created_at": now,
            "updated_at": now,
        },
    )
    quote = await quote_rows.by_id(conn, quote_id)
    assert quote is not None
    local = author["domain"] is None
    if quoted is None:
        if not local and draft.depth <= MAX_DEPTH:
            await QUOTE_VERIFY.enqueue(conn, rt.ids, {"quote_id": quote_id, "depth": draft.depth})
        return quote
    if quoted["account_id"] == author["id"]:
        await accept(conn, rt, quote, fresh=True)  # anyone may quote themselves
    elif local and quoted["local"]:
        if await verdict(conn, quoted, author) == "automatic":
            await accept(conn, rt, quote, fresh=True)
    elif local:
        # Asked of the quoted post's server; its answer names this request.
        request = f"{author['uri']}/quote_requests/{quote_id}"
        await quote_rows.set_request(conn, quote_id, request, now)
        await outbox.record(conn, rt.ids, "quote.requested", author["id"], quote_id)
    elif not quoted["local"] and approval_uri is not None:
        await QUOTE_VERIFY.enqueue(conn, rt.ids, {"quote_id": quote_id, "depth": draft.depth})
    return await quote_rows.by_id(conn, quote_id)


async def accept(
    conn: Connection,
    rt: Runtime,
    quote: RowView,
    *,
    approval_uri: str | None = None,
    fresh: bool = False,
    by_author: bool = False,
) -> None:
    """Approve a quote: counted on the quoted post, its local author told (`quote`) unless
    deciding it themselves, the remote requester answered with an Accept and its stamp,
    and a local quoting post's audience sent its approval (an Update). `fresh`: the quoting
    status is being created in this unit, so its Create carries the approval."""
    if quote["state"] == "accepted":
        return
    now = now_ms()
    await quote_rows.set_state(conn, quote["id"], "accepted", now, approval_uri=approval_uri)
    status = await status_rows.status_by_id(conn, quote["status_id"])
    quoted_id = quote["quoted_status_id"]
    quoted = await status_rows.status_by_id(conn, quoted_id) if quoted_id else None
    if quoted is not None:
        await status_rows.add_to_quotes_count(conn, quoted["id"], 1)
    if status is None:
        return
    if quoted is not None and quoted["local"]:
        if not by_author:
            await notifications.quoted(conn, notifications.Notifier(rt), status, quoted)
        if not status["local"] and quote["activity_uri"]:
            await outbox.record(conn, rt.ids, "quote.authorized", quoted["account_id"], quote["id"])
    if not fresh:
        if status["local"]:
            await outbox.record(conn, rt.ids, "quote.updated", status["account_id"], status["id"])
        conn.effects.add(fanout.StatusPublished(status["id"], "status.update"))


async def refuse(conn: Connection, rt: Runtime, quote: RowView, *, by_author: bool = False) -> None:
    """Refuse a quote (Mastodon's `reject!`): a pending one is `rejected`, an accepted one
    `revoked` (uncounted). When the quoted post's author here decides it (`by_author`), a
    remote requester hears a Reject, and a stamp given before is deleted everywhere the
    quoting post went."""
    was = quote["state"]
    if was in ("rejected", "revoked"):
        return
    now = now_ms()
    await quote_rows.set_state(
        conn, quote["id"], "revoked" if was == "accepted" else "rejected", now
    )
    quoted_id = quote["quoted_status_id"]
    if was == "accepted" and quoted_id is not None:
        await status_rows.add_to_quotes_count(conn, quoted_id, -1)
    status = await status_rows.status_by_id(conn, quote["status_id"])
    if by_author and quoted_id is not None:
        quoted = await status_rows.status_by_id(conn, quoted_id)
        if quoted is not None and quoted["local"]:
            if was == "accepted":
                await outbox.record(
                    conn, rt.ids, "quote.revoked", quoted["account_id"], quote["id"]
                )
            elif status is not None and not status["local"] and quote["activity_uri"]:
                await outbox.record(
                    conn,
                    rt.ids,
                    "quote.rejected",
                    quoted["account_id"],
                    quote["id"],
                    {
                        "activity_uri": quote["activity_uri"],
                        "instrument": status["uri"],
                        "requester_id": status["account_id"],
                        "quoted_uri": quoted["uri"],
                    },
                )
    if status is not None:
        conn.effects.add(fanout.StatusPublished(status["id"], "status.update"))


async def status_removed(conn: Connection, status: RowView) -> None:
    """A quoting status was deleted: its approved quote no longer counts."""
    quote = await quote_rows.of_status(conn, status["id"])
    if quote is not None and quote["state"] == "accepted" and quote["quoted_status_id"]:
        await status_rows.add_to_quotes_count(conn, quote["quoted_status_id"], -1)


async def quoted_known(
    conn: Connection, rt: Runtime, quote: RowView, quoted: RowView
) -> QuoteRow | None:
    """The post a quote names arrived here: link it, and approve a quote of one's own post
    (FEP-044f needs no stamp for that); the quote as it is now, or None when the post
    cannot be quoted (the quoting post itself, a boost, someone else's post that reaches
    no public place)."""
    if (
        quoted["id"] == quote["status_id"]
        or quoted["reblog_of_id"] is not None
        or (
            quoted["account_id"] != quote["account_id"]
            and quoted["visibility"] not in quote_policy.QUOTABLE_VISIBILITIES
        )
    ):
        await refuse(conn, rt, quote)
        return None
    if quote["quoted_status_id"] is None:
        await quote_rows.set_quoted(conn, quote["id"], quoted["id"], quoted["account_id"], now_ms())
    current = await quote_rows.by_id(conn, quote["id"])
    assert current is not None
    if quoted["account_id"] == quote["account_id"]:
        await accept(conn, rt, current)
        current = await quote_rows.by_id(conn, quote["id"])
    return current


# Inbound decisions ---------------------------------------------------------------------------


async def request_received(
    conn: Connection,
    rt: Runtime,
    quoted: RowView,
    requester: RowView,
    quoting: RowView | None,
    request: str,
) -> str:
    """A remote account asks to quote a local post (a QuoteRequest with id `request`, for
    its status `quoting`, stored here, or None when it could not be): approved at once
    when the policy says so, left for the author when it asks for manual approval,
    refused otherwise (a Reject, also for a quoting post that is not there or quotes
    something else). What was decided: `accepted`, `pending` or `rejected`."""
    quote = await quote_rows.of_status(conn, quoting["id"]) if quoting is not None else None
    if (
        quoting is None
        or quote is None
        or quoting["account_id"] != requester["id"]
        or quote["quoted_status_id"] != quoted["id"]
    ):
        await outbox.record(
            conn,
            rt.ids,
            "quote.rejected",
            quoted["account_id"],
            None,
            {
                "activity_uri": request,
                "instrument": quoting["uri"] if quoting is not None else None,
                "requester_id": requester["id"],
                "quoted_uri": quoted["uri"],
            },
        )
        return "rejected"
    await quote_rows.set_request(conn, quote["id"], request, now_ms())
    quote = {**quote, "activity_uri": request}
    decision = await verdict(conn, quoted, requester)
    if quote["state"] == "accepted":
        # Asked again (the Accept was lost, or the author approved it before): answered.
        await outbox.record(conn, rt.ids, "quote.authorized", quoted["account_id"], quote["id"])
        return "accepted"
    if quote["state"] != "pending" or not quote_policy.may_request(decision):
        await refuse(conn, rt, {**quote, "state": "pending"}, by_author=True)
        return "rejected"
    if decision == "automatic":
        await accept(conn, rt, quote)
        return "accepted"
    return "pending"


async def authorization_received(
    conn: Connection, rt: Runtime, quote: RowView, approval_uri: str
) -> None:
    """The quoted post's server approved a local account's quote (its Accept, or a stamp
    that checked out)."""
    if quote["state"] == "pending":
        await accept(conn, rt, quote, approval_uri=approval_uri)


async def refusal_received(conn: Connection, rt: Runtime, quote: RowView) -> None:
    """The quoted post's server refused a quote (a Reject), or took its approval back
    (the Delete of its stamp)."""
    await refuse(conn, rt, quote)


async def note_changed(
    conn: Connection, rt: Runtime, status: RowView, draft: QuoteDraft | None, policy: int
) -> None:
    """A remote post came again (an Update): who may quote it now, and a new stamp its own
    quote names (checked before it counts)."""
    now = now_ms()
    if policy != int(status["quote_approval_policy"] or 0):
        await status_rows.set_quote_policy(conn, status["id"], policy, now)
    if draft is None or draft.approval_uri is None:
        return
    quote = await quote_rows.of_status(conn, status["id"])
    if quote is None or quote["approval_uri"] == draft.approval_uri:
        return
    quoted = draft.quoted
    if quoted is not None and quoted["local"]:
        return  # only this server's own stamps approve quotes of its posts
    await quote_rows.set_approval_uri(conn, quote["id"], draft.approval_uri, now)
    if quote["state"] == "pending":
        await QUOTE_VERIFY.enqueue(conn, rt.ids, {"quote_id": quote["id"], "depth": 0})


# What the API asks -------------------------------------------------------------------------


async def _decided_by(
    conn: Connection, quoted_id: int, quoting_id: int, account_id: int
) -> QuoteRow:
    """A quote of the caller's status: 404 unless the caller sees the quoted status and the
    quote exists, 403 unless the caller wrote the quoted status."""
    quoted = await status_rows.visible_status(conn, quoted_id, account_id)
    quote = await quote_rows.of_status(conn, quoting_id)
    if quoted is None or quote is None or quote["quoted_status_id"] != quoted_id:
        raise StatusNotFound()
    if quoted["account_id"] != account_id:
        raise NotAllowed()
    return quote


async def _quoting(conn: Connection, quote: RowView, account_id: int) -> StatusBundle:
    row = await status_rows.status_by_id(conn, quote["status_id"])
    if row is None:
        raise StatusNotFound()
    return await status_rows.hydrate(conn, [row], account_id)


async def revoke(rt: Runtime, account_id: int, quoted_id: int, quoting_id: int) -> StatusBundle:
    """`POST /api/v1/statuses/:id/quotes/:quoting_status_id/revoke`: the quoted post's
    author takes back an approval (or refuses a pending quote); the quoting status."""

    async def unit(conn: Connection) -> StatusBundle:
        quote = await _decided_by(conn, quoted_id, quoting_id, account_id)
        await refuse(conn, rt, quote, by_author=True)
        return await _quoting(conn, quote, account_id)

    return await rt.store.write(unit)


async def decide(
    rt: Runtime, account_id: int, quoted_id: int, quoting_id: int, *, approve: bool
) -> StatusBundle:
    """The quoted post's author approves or refuses a quote waiting for manual approval;
    the quoting status. 422 for a quote not waiting (approving an approved one changes
    nothing)."""

    async def unit(conn: Connection) -> StatusBundle:
        quote = await _decided_by(conn, quoted_id, quoting_id, account_id)
        if approve and quote["state"] == "accepted":
            return await _quoting(conn, quote, account_id)
        if quote["state"] != "pending":
            raise InvalidStatus("This quote is not waiting for approval")
        if approve:
            await accept(conn, rt, quote, by_author=True)
        else:
            await refuse(conn, rt, quote, by_author=True)
        return await _quoting(conn, quote, account_id)

    return await rt.store.write(unit)


async def quotes_of(
    rt: Runtime, status_id: int, viewer_id: int, page: Page, *, pending: bool = False
) -> StatusBundle:
    """`GET /api/v1/statuses/:id/quotes`: the statuses quoting one the viewer sees, with its
    author's approval, newest quote first (`cursors`: the quotes' ids); with `pending`, those
    waiting for the author's decision (the author only: 403 for others)."""

    async def unit(conn: Connection) -> StatusBundle:
        quoted = await status_rows.visible_status(conn, status_id, viewer_id)
        if quoted is None:
            raise StatusNotFound()
        if pending and quoted["account_id"] != viewer_id:
            raise NotAllowed()
        state = "pending" if pending else "accepted"
        rows = await status_rows.quoting_page(conn, status_id, viewer_id, state, page, now_ms())
        return await status_rows.hydrate(conn, rows, viewer_id, rt.entities)

    return await rt.store.read(unit)
