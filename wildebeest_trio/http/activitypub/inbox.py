"""`POST /inbox` (shared) and `POST /users/<name>/inbox`: verified, stored, answered 202."""

from __future__ import annotations

from quart import Blueprint, Response, request

from ... import metrics
from ...federation.inbox import KEY_WAITS_REFUSAL, UnknownInbox, receive
from ...federation.verify import MAX_BODY, DeliveryRefused, read_signature
from ...signatures import SignatureInfo
from ..auth import client_ip, throttle_key
from ..context import runtime, signed_url
from ..errors import ApiError, not_found

blueprint = Blueprint("inbox", __name__)
# A sender told 429 tries again after the key fetches under way have ended (5 s bound).
RETRY_LATER = {"Retry-After": "5"}


async def _deliver(username: str | None) -> Response:
    """Read a bounded body, hand it to the inbox, and answer as it says.

    A client waiting for as many key fetches as it may, whose delivery names yet another
    key, is answered 429 from the headers alone: its body is not read, nothing is looked
    up."""
    rt = runtime()
    client = client_ip()
    source = throttle_key(client)  # an IPv6 /64 counts as one address
    if rt.inbox_key_waits.full(source):
        signature = read_signature("POST", signed_url(), request.headers)
        key_id = signature.key_id if isinstance(signature, SignatureInfo) else ""
        if not rt.inbox_key_waits.admits(source, key_id):
            metrics.inbox("refused", "key_waits")
            raise ApiError(429, KEY_WAITS_REFUSAL, headers=RETRY_LATER)
    body = await _bounded_body()
    try:
        status = await receive(
            rt,
            url=signed_url(),
            headers=dict(request.headers),
            body=body,
            username=username,
            client=client,
            source=source,
        )
    except UnknownInbox:
        raise not_found() from None
    except DeliveryRefused as exc:
        headers = RETRY_LATER if exc.status == 429 else None
        raise ApiError(exc.status, str(exc), headers=headers) from None
    return Response("", status=status)


async def _bounded_body() -> bytes:
    """The request body; 413 past the inbox's limit, without reading any further: a
    declared length is refused before the body is read, a chunked body once it passes."""
    length = request.content_length
    if length is not None and length > MAX_BODY:
        raise ApiError(413, "Request entity too large")
    # (The body's own bound is the application's, set for media uploads: far larger.)
    data = bytearray()
    async for chunk in request.body:
        data += chunk
        if len(data) > MAX_BODY:
            raise ApiError(413, "Request entity too large")
    return bytes(data)


@blueprint.route("/inbox", methods=["POST"])
@blueprint.route("/actor/inbox", methods=["POST"])
async def shared_inbox() -> Response:
    """The shared inbox, also the inbox the instance actor advertises (as on Mastodon)."""
    return await _deliver(None)


@blueprint.route("/users/<username>/inbox", methods=["POST"])
async def personal_inbox(username: str) -> Response:
    """A local account's own inbox (404 for no such account)."""
    return await _deliver(username)
