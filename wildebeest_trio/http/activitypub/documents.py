"""ActivityPub documents at the URLs browsers also visit: actors, statuses, collections.

Servers asking for `application/activity+json` (or JSON-LD with the ActivityStreams
profile) get documents; browsers are sent to the web pages (`/@user`, `/@user/ID`), as
Mastodon does, and every answer says `Vary: Accept`. Non-public statuses are served
only to signed requests from actors allowed to see them; in authorized-fetch mode
(`WB_AUTHORIZED_FETCH`) every document needs a signature except the instance actor,
and the actor document shown to unsigned requests is Mastodon's minimal one.
"""

from __future__ import annotations

from typing import Literal

from quart import Blueprint, Response, request

from ...federation import activities, documents
from ...federation.actors import RemoteKey
from ...federation.instance_actor import instance_actor
from ...federation.signed_get import verify_signed_get
from ...federation.verify import DeliveryRefused
from ...ids import parse_id
from ...serializers import activitypub as ap
from ...services import collections as collection_service
from ...services import featured_tags as featured_tag_service
from ...services.types import Row
from ..browser import redirect, signed_in
from ..context import json_response, runtime, signed_url, wants_activitypub
from ..errors import ApiError, not_found

blueprint = Blueprint("activitypub", __name__)


def activity_response(document: dict, status: int = 200, *, public: bool = True) -> Response:
    response = json_response(document, status)
    response.content_type = "application/activity+json; charset=utf-8"
    if public and not runtime().config.authorized_fetch:
        response.headers["Vary"] = "Accept"
        response.headers["Cache-Control"] = "max-age=180, public"
    else:
        # Answers that depend on the signer must not be cached for others.
        response.headers["Vary"] = "Accept, Signature"
        response.headers["Cache-Control"] = "max-age=0, private"
    return response


def browser_redirect(location: str) -> Response:
    response = redirect(location)
    response.headers["Vary"] = "Accept"
    return response


async def signer(*, required: bool) -> RemoteKey | None:
    """The verified remote actor signing this request.

    None when unsigned (or badly signed) and no signature is required; with `required`,
    such a request is answered 401 (403 for a suspended domain), as Mastodon does.
    """
    rt = runtime()
    if "Signature" not in request.headers:
        if required:
            raise ApiError(401, "Request not signed")
        return None
    try:
        return await verify_signed_get(rt, signed_url(), request.headers)
    except DeliveryRefused as exc:
        if required:
            raise ApiError(exc.status, str(exc)) from None
        # Where no signature is needed, one that fails only makes the request anonymous.
        return None


async def _actor_row(username: str) -> Row:
    row = await documents.served_actor(runtime(), username)
    if row is None:
        raise not_found()
    return row


@blueprint.route("/users/<username>")
async def actor(username: str) -> Response:
    rt = runtime()
    row = await _actor_row(username)
    if not wants_activitypub():
        # Browsers get the profile page, as on Mastodon.
        return browser_redirect(f"/@{row['username']}")
    moved = await documents.moved_to_uri(rt, row)
    document = ap.actor_document(rt.config, row, row["public_key_pem"], moved_to_uri=moved)
    if rt.config.authorized_fetch and await signer(required=False) is None:
        # Enough to verify our signatures with, nothing more (Mastodon's secure mode).
        return activity_response(ap.minimal_actor_document(document), public=False)
    return activity_response(document)


@blueprint.route("/actor")
async def instance_actor_document() -> Response:
    rt = runtime()
    row = await instance_actor(rt)
    if row is None:
        raise not_found()
    response = json_response(ap.instance_actor_document(rt.config, row, row["public_key_pem"]))
    response.content_type = "application/activity+json; charset=utf-8"
    response.headers["Vary"] = "Accept"
    response.headers["Cache-Control"] = "max-age=180, public"
    return response


async def _collection(username: str, which: Literal["followers", "following"]) -> Response:
    rt = runtime()
    row = await _actor_row(username)
    await signer(required=rt.config.authorized_fetch)
    collection_id = row["followers_url"] if which == "followers" else row["following_url"]
    total = int(row["followers_count"] if which == "followers" else row["following_count"])
    hidden = bool(row["hide_collections"])
    page_text = request.args.get("page")
    if page_text is None:
        return activity_response(ap.follows_collection(collection_id, total, hidden))
    if hidden:
        raise ApiError(403, "This collection is hidden")
    page = parse_id(page_text)
    if page is None or not 1 <= page <= 100_000:
        raise ApiError(400, "page must be a positive integer")
    items = await documents.follows_page(rt, row, which, page)
    return activity_response(ap.follows_page(collection_id, page, items, total))


@blueprint.route("/users/<username>/followers")
async def followers(username: str) -> Response:
    return await _collection(username, "followers")


@blueprint.route("/users/<username>/following")
async def following(username: str) -> Response:
    return await _collection(username, "following")


@blueprint.route("/users/<username>/followers_synchronization")
async def followers_synchronization(username: str) -> Response:
    """FEP-8fcf: the followers on the signer's own origin, to a signed request only (as
    Mastodon serves `followers_synchronization`)."""
    key = await signer(required=True)
    assert key is not None
    document = await documents.followers_on_origin(
        runtime(), await _actor_row(username), key.actor_uri
    )
    if document is None:
        raise not_found()
    return activity_response(document, public=False)


# Statuses ---------------------------------------------------------------------------------------


async def _status(username: str, status_id: int) -> tuple[activities.StatusDocuments, bool]:
    """A local status's documents for this request; 404, 410 or 401 as Mastodon answers."""
    rt = runtime()
    if wants_activitypub():
        key = await signer(required=rt.config.authorized_fetch)
        viewer = key.account_id if key else None
    else:
        # A browser sees what its signed-in account may see.
        session = await signed_in()
        viewer = session["account_id"] if session else None
    docs = await documents.status_documents(rt, username, status_id, viewer)
    if docs is None or not docs.permitted:
        # Unseen and unknown look alike, as on Mastodon: the same 404 to a browser too,
        # never a redirect that would tell an existing hidden status from a missing one.
        raise not_found()
    public = docs.status["visibility"] in activities.DISTRIBUTABLE
    if docs.gone and not (public and wants_activitypub()):
        # Only a public status leaves a Tombstone; a deleted hidden one stays unknown.
        raise not_found()
    return docs, public


def _gone(uri: str) -> Response:
    return activity_response(ap.tombstone(uri), 410)


@blueprint.route("/users/<username>/statuses/<id:status_id>")
async def status_object(username: str, status_id: int) -> Response:
    docs, public = await _status(username, status_id)
    if not wants_activitypub():
        return browser_redirect(docs.status["url"] or docs.status["uri"])
    if docs.gone:
        return _gone(docs.status["uri"])
    if docs.note is None:
        # A boost has no object of its own: its activity is the Announce.
        return browser_redirect(docs.status["uri"])
    return activity_response(docs.note, public=public)


@blueprint.route("/users/<username>/statuses/<id:status_id>/activity")
async def status_activity(username: str, status_id: int) -> Response:
    docs, public = await _status(username, status_id)
    if not wants_activitypub():
        return browser_redirect(docs.status["url"] or docs.status["uri"])
    if docs.gone:
        return _gone(f"{docs.status['uri']}/activity" if docs.note is None else docs.status["uri"])
    if docs.activity is None:
        raise not_found()
    return activity_response(docs.activity, public=public)


@blueprint.route("/users/<username>/statuses/<id:status_id>/replies")
async def status_replies(username: str, status_id: int) -> Response:
    """A public or unlisted status's replies collection (Mastodon's RepliesController):
    only public and unlisted replies, paged by `min_id`; 404 for any other status."""
    docs, public = await _status(username, status_id)
    if not public or docs.gone or docs.note is None:
        raise not_found()
    page = request.args.get("page") in ("true", "1")
    document = await documents.replies_document(
        runtime(), docs.status, page=page, after_id=_cursor("min_id") or 0
    )
    return activity_response(document, public=public)


@blueprint.route("/users/<username>/quote_authorizations/<id:quote_id>")
async def quote_authorization(username: str, quote_id: int) -> Response:
    """A QuoteAuthorization stamp (FEP-044f): 404 once revoked, as Mastodon answers."""
    rt = runtime()
    await signer(required=rt.config.authorized_fetch)
    document = await documents.quote_authorization(rt, username, quote_id)
    if document is None:
        raise not_found()
    return activity_response(document)


# Outbox and featured ----------------------------------------------------------------------------


def _cursor(name: str) -> int | None:
    text = request.args.get(name)
    if text is None or text == "":
        return None
    found = parse_id(text)
    if found is None:
        raise ApiError(400, f"{name} must be a status id")
    return found


@blueprint.route("/users/<username>/outbox")
async def outbox(username: str) -> Response:
    row = await _actor_row(username)
    if not wants_activitypub():
        return browser_redirect(f"/@{row['username']}")
    return await _outbox(row)


@blueprint.route("/actor/outbox")
async def instance_actor_outbox() -> Response:
    """The outbox the instance actor advertises: empty, as it posts nothing (as Mastodon's)."""
    row = await instance_actor(runtime())
    if row is None:
        raise not_found()
    return await _outbox(row)


async def _outbox(row: Row) -> Response:
    """An actor's outbox collection, or one page of it when `page` is asked for."""
    rt = runtime()
    await signer(required=rt.config.authorized_fetch)
    outbox_url = row["outbox_url"]
    if request.args.get("page") is None:
        return activity_response(ap.outbox_collection(outbox_url, int(row["statuses_count"])))
    max_id, min_id = _cursor("max_id"), _cursor("min_id")
    items, cursors = await documents.outbox_items(rt, row, max_id, min_id)
    page_id = f"{outbox_url}?{request.query_string.decode('latin-1')}"
    return activity_response(ap.outbox_page(outbox_url, page_id, items, cursors))


@blueprint.route("/users/<username>/collections/featured")
async def featured(username: str) -> Response:
    rt = runtime()
    row = await _actor_row(username)
    if not wants_activitypub():
        return browser_redirect(f"/@{row['username']}")
    await signer(required=rt.config.authorized_fetch)
    notes = await documents.featured_notes(rt, row)
    return activity_response(ap.featured_collection(row["featured_url"], notes))


@blueprint.route("/users/<username>/collections/tags")
async def featured_tags(username: str) -> Response:
    rt = runtime()
    row = await _actor_row(username)
    if not wants_activitypub():
        return browser_redirect(f"/@{row['username']}")
    await signer(required=rt.config.authorized_fetch)
    tags = [f.row for f in await featured_tag_service.featured(rt, row["id"])]
    return activity_response(
        ap.featured_tags_collection(rt.config, f"{row['uri']}/collections/tags", tags)
    )


@blueprint.route("/users/<username>/featured_collections")
async def featured_collections(username: str) -> Response:
    """A local account's collections (its `featuredCollections`), as Mastodon serves them."""
    rt = runtime()
    row = await _actor_row(username)
    if not wants_activitypub():
        return browser_redirect(f"/@{row['username']}")
    await signer(required=rt.config.authorized_fetch)
    document = await collection_service.featured_collections_document(rt, row["username"])
    if document is None:
        raise not_found()
    return activity_response(document)


@blueprint.route("/users/<username>/collections/<id:collection_id>")
async def collection(username: str, collection_id: int) -> Response:
    """One local collection as a FeaturedCollection."""
    rt = runtime()
    row = await _actor_row(username)
    if not wants_activitypub():
        return browser_redirect(f"/@{row['username']}")
    await signer(required=rt.config.authorized_fetch)
    document = await collection_service.collection_document(rt, row["username"], collection_id)
    if document is None:
        raise not_found()
    return activity_response(document)


@blueprint.route("/users/<username>/feature_authorizations/<id:item_id>")
async def feature_authorization(username: str, item_id: int) -> Response:
    """A local account's stamp approving its place in a collection."""
    rt = runtime()
    row = await _actor_row(username)
    await signer(required=rt.config.authorized_fetch)
    document = await collection_service.feature_authorization_document(rt, row["username"], item_id)
    if document is None:
        raise not_found()
    return activity_response(document)
