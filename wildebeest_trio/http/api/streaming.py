"""The streaming API: Server-Sent Events and the multiplexed WebSocket, as Mastodon serves them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import trio
from quart import Blueprint, Response, request, websocket

from ... import jsonbounds, metrics
from ...ids import now_ms
from ...services.follows import hidden_account_ids
from ...services.tokens import TokenInfo, resolve_token, scope_allows
from ...streaming.hub import Subscription
from ..auth import bearer_token
from ..browser import SESSION_COOKIE, signed_in
from ..context import runtime
from ..errors import ApiError
from ..ws_direct import SCOPE_KEY, DirectFrames

blueprint = Blueprint("streaming", __name__)

BASE_STREAMS = (
    "user",
    "user:notification",
    "public",
    "public:local",
    "public:remote",
    "hashtag",
    "hashtag:local",
    "direct",
)
STREAMS = frozenset(BASE_STREAMS) | {
    f"{s}:media" for s in ("public", "public:local", "public:remote")
}
# A command is `{"type": "subscribe", "stream": "hashtag", "tag": "..."}`: a few hundred bytes.
MAX_COMMAND_BYTES = 16 * 1024


class StreamError(Exception):
    """A subscription that cannot be made: HTTP-like status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Resolved:
    """A client-facing stream resolved to hub channels and its label."""

    channels: list[str]
    label: list[str]


def resolve_stream(info: TokenInfo, name: str, tag: str | None) -> Resolved:
    """The channels behind a stream name, checking the token's scopes."""
    if name not in STREAMS:
        raise StreamError(400, "Unknown stream type")
    needed = "read:notifications" if name == "user:notification" else "read:statuses"
    if not scope_allows(info.scopes, needed):
        raise StreamError(401, "Access token does not have the required scopes")
    account = info.account_id
    if account is None and name in ("user", "user:notification", "direct"):
        raise StreamError(401, "This stream requires a user token")
    if name == "user":
        # The broadcast channel carries what every user hears (announcements).
        channels = [f"timeline:{account}", "timeline:broadcast"]
        if scope_allows(info.scopes, "read:notifications"):
            channels.append(f"timeline:{account}:notifications")
        return Resolved(channels, ["user"])
    if name == "user:notification":
        return Resolved([f"timeline:{account}:notifications"], ["user:notification"])
    if name == "direct":
        return Resolved([f"timeline:direct:{account}"], ["direct"])
    if name.startswith("hashtag"):
        if not tag or len(tag) > 100:
            raise StreamError(400, "No tag for hashtag stream provided")
        suffix = ":local" if name == "hashtag:local" else ""
        return Resolved([f"timeline:hashtag:{tag.lower()}{suffix}"], [name, tag])
    return Resolved([f"timeline:{name}"], [name])


async def _web_session() -> TokenInfo | None:
    """A signed-in browser of the web app (its session cookie), read-only: the page script's
    EventSource cannot send a token. Safe from other sites: the cookie is SameSite=Lax, so
    their pages' requests do not carry it, and the stream is only read."""
    viewer = await signed_in()
    if viewer is None:
        return None
    return TokenInfo(
        token_id=0,
        application_id=None,
        account_id=viewer["account_id"],
        scopes=frozenset({"read"}),
        role=viewer["role"],
        created_at=0,
    )


async def _auth_from(token: str | None) -> TokenInfo:
    if not token:
        raise StreamError(401, "Missing access token")
    info = await resolve_token(runtime(), token)
    if info is None:
        raise StreamError(401, "Invalid access token")
    return info


async def _subscription_for(info: TokenInfo) -> Subscription:
    """A connection's subscription, hiding the accounts its user blocks or mutes."""
    if info.account_id is None:
        return Subscription()
    hidden = await runtime().store.read(hidden_account_ids, info.account_id, now_ms())
    return Subscription(hidden=set(hidden))


@blueprint.route("/api/v1/streaming/health")
async def health() -> Response:
    return Response("OK", content_type="text/plain")


async def _sse(name: str) -> Response:
    try:
        token = bearer_token()
        session = None
        if not token and request.cookies.get(SESSION_COOKIE):
            session = await _web_session()
        info = session or await _auth_from(token)
        if name in ("public", "public:local", "public:remote") and request.args.get(
            "only_media", ""
        ).lower() in ("1", "true"):
            name = f"{name}:media"
        resolved = resolve_stream(info, name, request.args.get("tag"))
    except StreamError as exc:
        raise ApiError(exc.status, str(exc)) from None
    hub = runtime().streams
    heartbeat = runtime().config.streaming_heartbeat  # 15 s by default, as Mastodon
    subscription = await _subscription_for(info)
    for channel in resolved.channels:
        hub.subscribe(subscription, channel, resolved.label)

    async def events() -> AsyncIterator[bytes]:
        try:
            with metrics.stream_connection("sse"):
                yield b":)\n"
                while True:
                    with trio.move_on_after(heartbeat):
                        try:
                            message = await subscription.receive.receive()
                        except trio.EndOfChannel:
                            return  # overflowed: the client was too slow
                        yield message.sse_chunk()
                        continue
                    yield b":thump\n"
        finally:
            hub.drop(subscription)

    response = Response(events(), content_type="text/event-stream")
    response.headers["Cache-Control"] = "private, no-store"
    response.timeout = None  # a stream lasts as long as the client stays
    return response


def _sse_route(path: str, name: str) -> None:
    async def endpoint() -> Response:
        return await _sse(name)

    endpoint.__name__ = "sse_" + name.replace(":", "_")
    blueprint.add_url_rule(path, endpoint.__name__, endpoint)


for _path, _name in (
    ("user", "user"),
    ("user/notification", "user:notification"),
    ("public", "public"),
    ("public/local", "public:local"),
    ("public/remote", "public:remote"),
    ("hashtag", "hashtag"),
    ("hashtag/local", "hashtag:local"),
    ("direct", "direct"),
):
    _sse_route(f"/api/v1/streaming/{_path}", _name)


@blueprint.websocket("/api/v1/streaming")
async def multiplexed() -> Response | None:
    """One WebSocket, many streams: `{"type": "subscribe", "stream": ..., "tag": ...}`."""
    protocols = websocket.requested_subprotocols
    header = websocket.headers.get("Authorization", "")
    token = (
        (header[7:].strip() if header.lower().startswith("bearer ") else None)
        or websocket.args.get("access_token")
        or (protocols[0] if protocols else None)
    )
    try:
        info = await _auth_from(token)
    except StreamError as exc:
        # Refused before the upgrade: a plain HTTP answer, as Mastodon's streaming server.
        return Response(
            json.dumps({"error": str(exc)}),
            status=exc.status,  # type: ignore[return-value]
            content_type="application/json",
            headers={"X-Error-Message": str(exc)},
        )
    # masto.js sends the token as the subprotocol: echo it or browsers drop the connection.
    await websocket.accept(
        subprotocol=protocols[0] if protocols and protocols[0] == token else None
    )
    hub = runtime().streams
    subscription = await _subscription_for(info)

    def subscribe(name: str, tag: str | None) -> None:
        resolved = resolve_stream(info, name, tag)
        for channel in resolved.channels:
            hub.subscribe(subscription, channel, resolved.label)

    def unsubscribe(name: str, tag: str | None) -> None:
        for channel in resolve_stream(info, name, tag).channels:
            hub.unsubscribe(subscription, channel)

    frames: DirectFrames | None = websocket.scope.get(SCOPE_KEY)

    async def send_events() -> None:
        async for message in subscription.messages():
            if frames is None or not await frames.send(message.websocket_bytes()):
                await websocket.send(message.websocket_frame())
        await websocket.close(1008, "too slow")

    async def read_commands(cancel: trio.CancelScope) -> None:
        while True:
            data = await websocket.receive()
            if isinstance(data, bytes):
                await websocket.close(1003, "binary frames are not accepted")
                cancel.cancel()
                return
            try:
                command = jsonbounds.loads(data, max_bytes=MAX_COMMAND_BYTES)
                kind, name = command.get("type"), command.get("stream")
                tag = command.get("tag")
                if kind == "subscribe":
                    subscribe(str(name), tag if isinstance(tag, str) else None)
                elif kind == "unsubscribe":
                    unsubscribe(str(name), tag if isinstance(tag, str) else None)
                else:
                    raise StreamError(400, "Unknown message type")
            except StreamError as exc:
                await websocket.send(json.dumps({"error": str(exc), "status": exc.status}))
            except (ValueError, AttributeError):
                await websocket.send(json.dumps({"error": "Malformed message", "status": 400}))

    try:
        with metrics.stream_connection("websocket"):
            initial = websocket.args.get("stream")
            if initial:
                try:
                    subscribe(initial, websocket.args.get("tag"))
                except StreamError as exc:
                    await websocket.send(json.dumps({"error": str(exc), "status": exc.status}))
            async with trio.open_nursery() as nursery:
                if frames is not None:
                    direct = frames
                    # Events go out from the publishing task while the connection is idle;
                    # one that fell too far behind is closed at once (no closing frame
                    # could reach it).
                    subscription.write_now = lambda m: direct.write_now(
                        m.websocket_bytes(), nursery
                    )
                    subscription.on_overflow = direct.abort
                nursery.start_soon(send_events)
                nursery.start_soon(read_commands, nursery.cancel_scope)
    finally:
        hub.drop(subscription)
    return None
