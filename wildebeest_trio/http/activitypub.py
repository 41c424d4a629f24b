"""ActivityPub documents at the URLs browsers also visit: actors and their collections."""

from __future__ import annotations

from quart import Blueprint, Response, request

from ..federation.instance_actor import instance_actor
from ..serializers import activitypub as ap
from ..store import accounts as account_rows
from .context import json_response, runtime
from .errors import ApiError, not_found
from .web import redirect

blueprint = Blueprint("activitypub", __name__)

AP_TYPES = ("application/activity+json", "application/ld+json")


def wants_activitypub() -> bool:
    """Whether the client asked for ActivityStreams rather than a web page."""
    accept = request.headers.get("Accept", "")
    return any(t in accept for t in AP_TYPES)


def activity_response(document: dict, status: int = 200) -> Response:
    response = json_response(document, status)
    response.content_type = "application/activity+json; charset=utf-8"
    response.headers["Vary"] = "Accept"
    response.headers["Cache-Control"] = "max-age=180, public"
    return response


@blueprint.route("/users/<username>")
async def actor(username: str) -> Response:
    rt = runtime()
    row = await rt.store.read(account_rows.local_actor, username)
    if row is None or row["actor_type"] == "Application" or row["suspended_at"] is not None:
        raise not_found()
    if not wants_activitypub():
        # Browsers get the profile page, as on Mastodon.
        response = redirect(f"/@{row['username']}")
        response.headers["Vary"] = "Accept"
        return response
    return activity_response(ap.actor_document(rt.config, row, row["public_key_pem"]))


@blueprint.route("/actor")
async def instance_actor_document() -> Response:
    rt = runtime()
    row = await instance_actor(rt)
    if row is None:
        raise not_found()
    return activity_response(ap.instance_actor_document(rt.config, row, row["public_key_pem"]))


async def _collection(username: str, which: str) -> Response:
    rt = runtime()
    row = await rt.store.read(account_rows.local_actor, username)
    if row is None or row["actor_type"] == "Application" or row["suspended_at"] is not None:
        raise not_found()
    collection_id = row["followers_url"] if which == "followers" else row["following_url"]
    total = int(row["followers_count"] if which == "followers" else row["following_count"])
    hidden = bool(row["hide_collections"])
    page_text = request.args.get("page")
    if page_text is None:
        return activity_response(ap.follows_collection(collection_id, total, hidden))
    if hidden:
        raise ApiError(403, "This collection is hidden")
    if not page_text.isdigit() or not 1 <= int(page_text) <= 100_000:
        raise ApiError(400, "page must be a positive integer")
    page = int(page_text)
    listing = account_rows.follower_uris if which == "followers" else account_rows.following_uris
    items = await rt.store.read(
        listing, row["id"], (page - 1) * ap.FOLLOWS_PER_PAGE, ap.FOLLOWS_PER_PAGE
    )
    return activity_response(ap.follows_page(collection_id, page, items, total))


@blueprint.route("/users/<username>/followers")
async def followers(username: str) -> Response:
    return await _collection(username, "followers")


@blueprint.route("/users/<username>/following")
async def following(username: str) -> Response:
    return await _collection(username, "following")
