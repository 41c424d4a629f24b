"""Statuses in the Mastodon API: post, read, edit, delete, and interact."""

from __future__ import annotations

from quart import Blueprint, Response, request

from ... import quote_policy
from ...ids import parse_id
from ...serializers.accounts import account_entity
from ...serializers.scheduled import scheduled_status_entity
from ...serializers.statuses import (
    status_edit_entity,
    status_entities,
    status_entity,
    status_source_entity,
)
from ...services import filters, interactions, quotes, scheduled, statuses
from ...services.polls import PollDraft
from ...services.statuses import Draft
from ...services.types import StatusBundle
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import ApiError
from ..paging import (
    ACCOUNT_LIMIT,
    page_from,
    service_errors,
    set_link_header,
    viewer,
)
from ..params import Params, read_params

blueprint = Blueprint("statuses", __name__)
FEATURES = frozenset({"statuses", "quotes"})
READ = ("read:statuses",)
MAX_MANY = 40


def _one(bundle: StatusBundle, *, source: bool = False) -> Response:
    return json_response(status_entity(runtime().config, bundle, bundle.order[0], source=source))


MAX_POLL_INPUT = 20


def _poll(params: Params) -> PollDraft | None:
    """`poll[options][]`, `poll[expires_in]`, `poll[multiple]`, `poll[hide_totals]` (form
    or nested JSON); None when the request has no poll."""
    if not any(name.startswith("poll[") for name in params.names()):
        return None
    options = params.raw_list("poll[options][]")
    if len(options) > MAX_POLL_INPUT:
        raise ApiError(422, "Validation failed: Poll options can't contain that many items")
    if any(not isinstance(o, str) or len(o) > 1000 for o in options):
        raise ApiError(422, "Validation failed: Poll options must be short strings")
    return PollDraft(
        options=list(options),
        expires_in=params.integer("poll[expires_in]"),
        multiple=bool(params.flag("poll[multiple]", False)),
        hide_totals=bool(params.flag("poll[hide_totals]", False)),
    )


def quote_approval_policy(params: Params) -> int | None:
    """`quote_approval_policy`: Mastodon's `public`, `followers` or `nobody` (automatic
    approval); or, to let people ask and wait for the author's decision, the lists the
    QuoteApproval entity shows, `quote_approval_policy[automatic][]` and
    `quote_approval_policy[manual][]` (`public`, `followers`, `following`). None when not
    given."""
    name = "quote_approval_policy"
    automatic = params.raw_list(f"{name}[automatic][]")
    manual = params.raw_list(f"{name}[manual][]")
    if automatic or manual or f"{name}[automatic]" in params or f"{name}[manual]" in params:
        keys = [*automatic, *manual]
        if len(keys) > 8 or not all(isinstance(k, str) for k in keys):
            raise ApiError(422, "Validation failed: Quote approval policy is invalid")
        try:
            return quote_policy.from_keys(automatic, manual)
        except ValueError:
            raise ApiError(422, "Validation failed: Quote approval policy is invalid") from None
    value = params.text(name, max_length=20)
    if value is None or value == "":
        return None
    if value not in quote_policy.API_VALUES:
        raise ApiError(422, "Validation failed: Quote approval policy is invalid")
    return quote_policy.API_VALUES[value]


def _draft(params: Params, *, editing: bool = False) -> Draft:
    reply_to = params.text("in_reply_to_id", max_length=40)
    in_reply_to_id = None
    if reply_to:
        in_reply_to_id = parse_id(reply_to)
        if in_reply_to_id is None:
            raise ApiError(404, "The post you are trying to reply to does not appear to exist.")
    quoted = None if editing else params.text("quoted_status_id", max_length=40)
    quoted_status_id = None
    if quoted:
        quoted_status_id = parse_id(quoted)
        if quoted_status_id is None:
            raise ApiError(404, quotes.QUOTED_NOT_FOUND)
    return Draft(
        text=params.text("status", "", max_length=100_000) or "",
        spoiler_text=params.text("spoiler_text", "", max_length=10_000) or "",
        sensitive=params.flag("sensitive"),
        visibility=None if editing else params.text("visibility", max_length=20) or None,
        language=params.text("language", max_length=20),
        in_reply_to_id=None if editing else in_reply_to_id,
        media_ids=[str(m) for m in params.get_list("media_ids")],
        poll=_poll(params),
        scheduled_at=None if editing else params.text("scheduled_at", max_length=100) or None,
        quoted_status_id=quoted_status_id,
        quote_approval_policy=quote_approval_policy(params),
    )


@blueprint.route("/api/v1/statuses", methods=["POST"])
@require_scope("write:statuses")
async def create() -> Response:
    """`POST /api/v1/statuses`: post (an `Idempotency-Key` retry gets the same status)."""
    params = await read_params()
    key = request.headers.get("Idempotency-Key", "").strip()[:200] or None
    info = auth()
    draft = _draft(params)
    with service_errors():
        done = await scheduled.post_or_schedule(
            runtime(),
            info.account_id or 0,
            draft,
            application_id=info.application_id,
            idempotency_key=key,
        )
    if isinstance(done, scheduled.ScheduledView):
        return json_response(scheduled_status_entity(runtime().config, done.row, done.media))
    return _one(done)


@blueprint.route("/api/v1/statuses")
async def show_many() -> Response:
    """`GET /api/v1/statuses?id[]=`: the visible ones, in the order asked."""
    account_id = await viewer(*READ)
    params = await read_params()
    # Ids that cannot exist are skipped like missing ones, not refused.
    ids = params.ids("id", MAX_MANY)
    bundle = await statuses.show_many(runtime(), ids, account_id)
    return json_response(status_entities(runtime().config, bundle))


@blueprint.route("/api/v1/statuses/<id:status_id>")
async def show(status_id: int) -> Response:
    """`GET /api/v1/statuses/:id`."""
    account_id = await viewer(*READ)
    with service_errors():
        bundle = await statuses.show(runtime(), status_id, account_id)
    return _one(bundle)


@blueprint.route("/api/v1/statuses/<id:status_id>", methods=["PUT"])
@require_scope("write:statuses")
async def update(status_id: int) -> Response:
    """`PUT /api/v1/statuses/:id`: edit, keeping the history."""
    params = await read_params()
    with service_errors():
        bundle = await statuses.edit(
            runtime(), auth().account_id or 0, status_id, _draft(params, editing=True)
        )
    return _one(bundle)


@blueprint.route("/api/v1/statuses/<id:status_id>", methods=["DELETE"])
@require_scope("write:statuses")
async def delete(status_id: int) -> Response:
    """`DELETE /api/v1/statuses/:id`: the deleted status with its `text`, for redrafting."""
    params = await read_params()
    with service_errors():
        bundle = await statuses.delete(
            runtime(),
            auth().account_id or 0,
            status_id,
            delete_media=bool(params.flag("delete_media", False)),
        )
    return _one(bundle, source=True)


@blueprint.route("/api/v1/statuses/<id:status_id>/context")
async def context(status_id: int) -> Response:
    """`GET /api/v1/statuses/:id/context`: ancestors and descendants."""
    account_id = await viewer(*READ)
    with service_errors():
        found = await statuses.context(runtime(), status_id, account_id)
    config = runtime().config
    return json_response(
        {
            "ancestors": [
                status_entity(config, found.ancestors, i)
                for i in filters.visible_order(found.ancestors, "thread")
            ],
            "descendants": [
                status_entity(config, found.descendants, i)
                for i in filters.visible_order(found.descendants, "thread")
            ],
        }
    )


@blueprint.route("/api/v1/statuses/<id:status_id>/source")
@require_scope(READ)
async def source(status_id: int) -> Response:
    """`GET /api/v1/statuses/:id/source`: the text as written (author only)."""
    with service_errors():
        row = await statuses.source(runtime(), status_id, auth().account_id or 0)
    return json_response(status_source_entity(row))


@blueprint.route("/api/v1/statuses/<id:status_id>/history")
async def history(status_id: int) -> Response:
    """`GET /api/v1/statuses/:id/history`: every version, oldest first."""
    account_id = await viewer(*READ)
    with service_errors():
        versions, author = await statuses.history(runtime(), status_id, account_id)
    config = runtime().config
    return json_response([status_edit_entity(config, v, author) for v in versions])


def _interaction(path: str, scope: str, name: str) -> None:
    """Mount `POST /api/v1/statuses/:id/<path>` calling `action`."""

    @require_scope(scope)
    async def endpoint(status_id: int) -> Response:
        rt = runtime()
        me = auth().account_id or 0
        with service_errors():
            if path in ("favourite", "unfavourite"):
                bundle = await interactions.set_favourite(rt, me, status_id, path == "favourite")
            elif path in ("bookmark", "unbookmark"):
                bundle = await interactions.set_bookmark(rt, me, status_id, path == "bookmark")
            elif path in ("pin", "unpin"):
                bundle = await interactions.set_pin(rt, me, status_id, path == "pin")
            elif path in ("mute", "unmute"):
                bundle = await interactions.set_conversation_mute(rt, me, status_id, path == "mute")
            elif path == "reblog":
                params = await read_params()
                visibility = params.text("visibility", max_length=20) or None
                bundle = await interactions.reblog(rt, me, status_id, visibility)
            else:
                bundle = await interactions.unreblog(rt, me, status_id)
        return _one(bundle)

    endpoint.__name__ = name
    blueprint.add_url_rule(
        f"/api/v1/statuses/<id:status_id>/{path}", name, endpoint, methods=["POST"]
    )


for _path, _scope in (
    ("favourite", "write:favourites"),
    ("unfavourite", "write:favourites"),
    ("bookmark", "write:bookmarks"),
    ("unbookmark", "write:bookmarks"),
    ("reblog", "write:statuses"),
    ("unreblog", "write:statuses"),
    ("pin", "write:accounts"),
    ("unpin", "write:accounts"),
    ("mute", "write:mutes"),
    ("unmute", "write:mutes"),
):
    _interaction(_path, _scope, _path)


async def _interacting(status_id: int, kind: str) -> Response:
    account_id = await viewer("read:accounts", *READ)
    params = await read_params()
    page = page_from(params, ACCOUNT_LIMIT)
    with service_errors():
        rows = await statuses.interacting_accounts(runtime(), status_id, account_id, kind, page)
    config = runtime().config
    response = json_response([account_entity(config, r) for r in rows])
    return set_link_header(
        response, [r["page_id"] for r in rows], page, more=len(rows) == page.limit
    )


@blueprint.route("/api/v1/statuses/<id:status_id>/favourited_by")
async def favourited_by(status_id: int) -> Response:
    """`GET /api/v1/statuses/:id/favourited_by`."""
    return await _interacting(status_id, "favourites")


@blueprint.route("/api/v1/statuses/<id:status_id>/reblogged_by")
async def reblogged_by(status_id: int) -> Response:
    """`GET /api/v1/statuses/:id/reblogged_by`."""
    return await _interacting(status_id, "reblogs")


# Quotes ----------------------------------------------------------------------------------------


@blueprint.route("/api/v1/statuses/<id:status_id>/quotes")
@require_scope(READ)
async def quotes_of(status_id: int) -> Response:
    """`GET /api/v1/statuses/:id/quotes`: statuses quoting it with its author's approval,
    newest quote first (paged by the quotes' ids); `?pending=true`, for the author only,
    lists those waiting for a decision."""
    params = await read_params()
    page = page_from(params)
    with service_errors():
        bundle = await quotes.quotes_of(
            runtime(),
            status_id,
            auth().account_id or 0,
            page,
            pending=bool(params.flag("pending", False)),
        )
    response = json_response(status_entities(runtime().config, bundle))
    cursors = [bundle.cursors[i] for i in bundle.order]
    return set_link_header(response, cursors, page, more=len(cursors) == page.limit)


def _quote_decision(path: str, name: str) -> None:
    """Mount `POST /api/v1/statuses/:id/quotes/:quoting_status_id/<path>`: the quoted
    post's author revokes an approval (Mastodon 4.5), or approves or refuses a quote
    waiting for manual approval."""

    @require_scope("write:statuses")
    async def endpoint(status_id: int, quoting_status_id: int) -> Response:
        rt, me = runtime(), auth().account_id or 0
        with service_errors():
            if path == "revoke":
                bundle = await quotes.revoke(rt, me, status_id, quoting_status_id)
            else:
                bundle = await quotes.decide(
                    rt, me, status_id, quoting_status_id, approve=path == "authorize"
                )
        return _one(bundle)

    endpoint.__name__ = name
    blueprint.add_url_rule(
        f"/api/v1/statuses/<id:status_id>/quotes/<id:quoting_status_id>/{path}",
        name,
        endpoint,
        methods=["POST"],
    )


for _path in ("revoke", "authorize", "reject"):
    _quote_decision(_path, f"quote_{_path}")


@blueprint.route("/api/v1/statuses/<id:status_id>/interaction_policy", methods=["PUT"])
@require_scope("write:statuses")
async def interaction_policy(status_id: int) -> Response:
    """`PUT /api/v1/statuses/:id/interaction_policy`: who may quote the status from now on."""
    params = await read_params()
    policy = quote_approval_policy(params)
    if policy is None:
        raise ApiError(422, "Validation failed: Quote approval policy is invalid")
    with service_errors():
        bundle = await statuses.set_quote_policy(
            runtime(), auth().account_id or 0, status_id, policy
        )
    return _one(bundle)
