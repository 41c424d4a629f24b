"""The social graph in the Mastodon API: follow, unfollow, remove from followers,
relationships, followers, following, follow requests, blocks and mutes."""

from __future__ import annotations

from quart import Blueprint, Response

from ...serializers.accounts import account_entity
from ...serializers.statuses import relationship_entity
from ...serializers.time import iso_ms
from ...services import follows
from ...services.follows import FollowOptions, Relationship
from ...services.types import Page, Row
from ..auth import auth, require_scope
from ..context import json_response, runtime
from ..errors import ApiError
from ..paging import ACCOUNT_LIMIT, page_from, service_errors, set_link_header, viewer
from ..params import read_params

blueprint = Blueprint("follows", __name__)
FEATURES = frozenset({"follows"})
MAX_RELATIONSHIPS = 80


def _relationship(rel: Relationship) -> dict:
    return relationship_entity(
        rel.account_id,
        following=rel.following,
        followed_by=rel.followed_by,
        requested=rel.requested,
        requested_by=rel.requested_by,
        blocking=rel.blocking,
        blocked_by=rel.blocked_by,
        muting=rel.muting,
        note=rel.note,
        endorsed=rel.endorsed,
        domain_blocking=rel.domain_blocking,
    )


def _accounts(rows: list[Row], page: Page) -> Response:
    config = runtime().config
    entities = []
    for row in rows:
        entity = account_entity(config, row)
        if "mute_expires_at" in row:  # GET /api/v1/mutes says when each mute ends
            entity["mute_expires_at"] = iso_ms(row["mute_expires_at"])
        entities.append(entity)
    response = json_response(entities)
    return set_link_header(
        response, [r["page_id"] for r in rows], page, more=len(rows) == page.limit
    )


@blueprint.route("/api/v1/accounts/<id:account_id>/follow", methods=["POST"])
@require_scope("write:follows")
async def follow(account_id: int) -> Response:
    """`POST /api/v1/accounts/:id/follow` (`reblogs`, `notify`, `languages[]`)."""
    params = await read_params()
    languages = params.get_list("languages")
    options = FollowOptions(
        reblogs=params.flag("reblogs"),
        notify=params.flag("notify"),
        languages=[str(x)[:10] for x in languages][:50] if "languages" in params else None,
    )
    with service_errors():
        rel = await follows.follow(runtime(), auth().account_id or 0, account_id, options)
    return json_response(_relationship(rel))


@blueprint.route("/api/v1/accounts/<id:account_id>/unfollow", methods=["POST"])
@require_scope("write:follows")
async def unfollow(account_id: int) -> Response:
    """`POST /api/v1/accounts/:id/unfollow` (also withdraws a request)."""
    with service_errors():
        rel = await follows.unfollow(runtime(), auth().account_id or 0, account_id)
    return json_response(_relationship(rel))


@blueprint.route("/api/v1/accounts/<id:account_id>/remove_from_followers", methods=["POST"])
@require_scope("write:follows")
async def remove_from_followers(account_id: int) -> Response:
    """`POST /api/v1/accounts/:id/remove_from_followers`."""
    with service_errors():
        rel = await follows.remove_from_followers(runtime(), auth().account_id or 0, account_id)
    return json_response(_relationship(rel))


@blueprint.route("/api/v1/accounts/relationships")
@require_scope("read:follows")
async def relationships() -> Response:
    """`GET /api/v1/accounts/relationships?id[]=`."""
    params = await read_params()
    raw = params.get_list("id")
    if len(raw) > MAX_RELATIONSHIPS:
        raise ApiError(422, f"At most {MAX_RELATIONSHIPS} ids")
    ids = params.ids("id")
    rels = await follows.relationships(runtime(), auth().account_id or 0, ids)
    return json_response([_relationship(r) for r in rels])


async def _network(account_id: int, direction: str) -> Response:
    viewer_id = await viewer("read:accounts")
    page = page_from(await read_params(), ACCOUNT_LIMIT)
    with service_errors():
        rows = await follows.network(runtime(), account_id, viewer_id, direction, page)
    return _accounts(rows, page)


@blueprint.route("/api/v1/accounts/<id:account_id>/followers")
async def followers(account_id: int) -> Response:
    """`GET /api/v1/accounts/:id/followers`."""
    return await _network(account_id, "followers")


@blueprint.route("/api/v1/accounts/<id:account_id>/following")
async def following(account_id: int) -> Response:
    """`GET /api/v1/accounts/:id/following`."""
    return await _network(account_id, "following")


@blueprint.route("/api/v1/follow_requests")
@require_scope("read:follows")
async def follow_requests() -> Response:
    """`GET /api/v1/follow_requests`."""
    page = page_from(await read_params(), ACCOUNT_LIMIT)
    rows = await follows.follow_requests(runtime(), auth().account_id or 0, page)
    return _accounts(rows, page)


@blueprint.route("/api/v1/follow_requests/<id:account_id>/authorize", methods=["POST"])
@require_scope("write:follows")
async def authorize(account_id: int) -> Response:
    """`POST /api/v1/follow_requests/:id/authorize`."""
    with service_errors():
        rel = await follows.answer_request(runtime(), auth().account_id or 0, account_id, True)
    return json_response(_relationship(rel))


@blueprint.route("/api/v1/follow_requests/<id:account_id>/reject", methods=["POST"])
@require_scope("write:follows")
async def reject(account_id: int) -> Response:
    """`POST /api/v1/follow_requests/:id/reject`."""
    with service_errors():
        rel = await follows.answer_request(runtime(), auth().account_id or 0, account_id, False)
    return json_response(_relationship(rel))


@blueprint.route("/api/v1/accounts/<id:account_id>/block", methods=["POST"])
@require_scope("write:blocks")
async def block(account_id: int) -> Response:
    """`POST /api/v1/accounts/:id/block`."""
    with service_errors():
        rel = await follows.block(runtime(), auth().account_id or 0, account_id)
    return json_response(_relationship(rel))


@blueprint.route("/api/v1/accounts/<id:account_id>/unblock", methods=["POST"])
@require_scope("write:blocks")
async def unblock(account_id: int) -> Response:
    """`POST /api/v1/accounts/:id/unblock`."""
    with service_errors():
        rel = await follows.unblock(runtime(), auth().account_id or 0, account_id)
    return json_response(_relationship(rel))


@blueprint.route("/api/v1/accounts/<id:account_id>/mute", methods=["POST"])
@require_scope("write:mutes")
async def mute(account_id: int) -> Response:
    """`POST /api/v1/accounts/:id/mute` (`notifications`, `duration` in seconds)."""
    params = await read_params()
    duration = params.integer("duration", 0, maximum=follows.MAX_MUTE_SECONDS)
    if duration < 0:
        raise ApiError(422, "duration must not be negative")
    with service_errors():
        rel = await follows.mute(
            runtime(),
            auth().account_id or 0,
            account_id,
            bool(params.flag("notifications", True)),
            duration,
        )
    return json_response(_relationship(rel))


@blueprint.route("/api/v1/accounts/<id:account_id>/unmute", methods=["POST"])
@require_scope("write:mutes")
async def unmute(account_id: int) -> Response:
    """`POST /api/v1/accounts/:id/unmute`."""
    with service_errors():
        rel = await follows.unmute(runtime(), auth().account_id or 0, account_id)
    return json_response(_relationship(rel))


@blueprint.route("/api/v1/blocks")
@require_scope("read:blocks")
async def blocks() -> Response:
    """`GET /api/v1/blocks`."""
    page = page_from(await read_params(), ACCOUNT_LIMIT)
    return _accounts(await follows.blocked_accounts(runtime(), auth().account_id or 0, page), page)


@blueprint.route("/api/v1/mutes")
@require_scope("read:mutes")
async def mutes() -> Response:
    """`GET /api/v1/mutes` (each account with its `mute_expires_at`)."""
    page = page_from(await read_params(), ACCOUNT_LIMIT)
    return _accounts(await follows.muted_accounts(runtime(), auth().account_id or 0, page), page)


@blueprint.route("/api/v1/accounts/<id:account_id>/note", methods=["POST"])
@require_scope("write:accounts")
async def note(account_id: int) -> Response:
    """`POST /api/v1/accounts/:id/note` (`comment`; empty erases)."""
    params = await read_params()
    comment = params.text("comment", "", max_length=follows.MAX_NOTE) or ""
    with service_errors():
        rel = await follows.set_note(runtime(), auth().account_id or 0, account_id, comment)
    return json_response(_relationship(rel))


@blueprint.route("/api/v1/accounts/familiar_followers")
@require_scope("read:follows")
async def familiar_followers() -> Response:
    """`GET /api/v1/accounts/familiar_followers?id[]=`: who the caller follows among each
    account's followers."""
    params = await read_params()
    ids = params.ids("id", MAX_RELATIONSHIPS)
    found = await follows.familiar_followers(runtime(), auth().account_id or 0, ids)
    config = runtime().config
    return json_response(
        [
            {"id": str(target), "accounts": [account_entity(config, a) for a in accounts]}
            for target, accounts in found
        ]
    )


async def _endorse(account_id: int, on: bool) -> Response:
    with service_errors():
        rel = await follows.endorse(runtime(), auth().account_id or 0, account_id, on)
    return json_response(_relationship(rel))


@blueprint.route("/api/v1/accounts/<id:account_id>/pin", methods=["POST"])
@blueprint.route("/api/v1/accounts/<id:account_id>/endorse", methods=["POST"])
@require_scope("write:accounts")
async def endorse(account_id: int) -> Response:
    """`POST /api/v1/accounts/:id/endorse` (and the older `/pin`)."""
    return await _endorse(account_id, True)


@blueprint.route("/api/v1/accounts/<id:account_id>/unpin", methods=["POST"])
@blueprint.route("/api/v1/accounts/<id:account_id>/unendorse", methods=["POST"])
@require_scope("write:accounts")
async def unendorse(account_id: int) -> Response:
    """`POST /api/v1/accounts/:id/unendorse` (and the older `/unpin`)."""
    return await _endorse(account_id, False)


@blueprint.route("/api/v1/endorsements")
@require_scope("read:accounts")
async def endorsements() -> Response:
    """`GET /api/v1/endorsements`: the accounts the caller features."""
    page = page_from(await read_params(), ACCOUNT_LIMIT)
    return _accounts(await follows.endorsements(runtime(), auth().account_id or 0, page), page)


@blueprint.route("/api/v1/accounts/<id:account_id>/endorsements")
async def account_endorsements(account_id: int) -> Response:
    """`GET /api/v1/accounts/:id/endorsements`: the accounts an account features."""
    await viewer("read:accounts")
    page = page_from(await read_params(), ACCOUNT_LIMIT)
    with service_errors():
        rows = await follows.endorsements(runtime(), account_id, page)
    return _accounts(rows, page)
