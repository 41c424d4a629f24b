"""`POST /inbox` (shared) and `POST /users/<name>/inbox`: verified, stored, answered 202.

These POSTs are the one route remote servers call in bulk, so they are answered straight
from ASGI (`InboxRoute`), inside the application's middlewares (client address, request
id, metrics, access log, the drain of an unread body) but before Quart: no request
object, no URL map, no request context, no before/after-request hooks. What those hooks
do for any request is done here too: the route told to the metrics and an IP block of
severity `no_access` refused (`Edge` adds the headers every answer carries; `create_app`
puts this route between it and Quart). (The limited-federation gate has nothing to say to
the inbox: it guards the API and the public pages; domain allows are checked per
delivery.) Other methods on these paths go on to Quart, whose rules below answer 405.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from quart import Blueprint, Response

from ... import logs, metrics
from ...federation.inbox import KEY_WAITS_REFUSAL, UnknownInbox
from ...federation.inbox import receive as accept
from ...federation.verify import MAX_BODY, DeliveryRefused, read_signature
from ...runtime import Runtime
from ...services import access_blocks
from ...signatures import SignatureInfo
from ..auth import throttle_key
from ..errors import ApiError

log = logging.getLogger(__name__)

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

blueprint = Blueprint("inbox", __name__)
# A sender told 429 tries again after the key fetches under way have ended (5 s bound).
RETRY_LATER = [(b"retry-after", b"5")]
JSON = b"application/json; charset=utf-8"
# What Quart's `Response("")` says, as the route said before it was answered here.
EMPTY = b"text/html; charset=utf-8"
SHARED = ("/inbox", "/actor/inbox")
PERSONAL = "/users/<username>/inbox"


class _Answer(Exception):
    """An answer other than 202: its status, `{"error": message}` and extra headers."""

    def __init__(self, status: int, message: str, headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers

    def body(self) -> tuple[bytes, bytes]:
        """The answer's body and its content type."""
        return orjson.dumps({"error": self.message}), JSON


class _Text(_Answer):
    """A plain-text refusal (what the application answers outside the API)."""

    def body(self) -> tuple[bytes, bytes]:
        return self.message.encode(), b"text/plain; charset=utf-8"


def _route(path: str) -> tuple[str, str | None] | None:
    """The inbox route a path is (its rule, the username of a personal inbox), or None
    (the same paths Quart's rules below match: a username has no slash)."""
    if path in SHARED:
        return path, None
    if path.startswith("/users/") and path.endswith("/inbox"):
        username = path[7:-6]
        if username and "/" not in username:
            return PERSONAL, username
    return None


class InboxRoute:
    """ASGI: the inbox POSTs answered without Quart's request machinery; everything
    else handed to the application."""

    def __init__(self, app: ASGIApp, rt: Runtime) -> None:
        self.app = app
        self.rt = rt

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            route = _route(scope["path"])
            if route is not None:
                await self._serve(scope, receive, send, *route)
                return
        await self.app(scope, receive, send)

    async def _serve(
        self,
        scope: MutableMapping[str, Any],
        receive: Receive,
        send: Send,
        rule: str,
        username: str | None,
    ) -> None:
        context = logs.CURRENT.get()
        if context is not None:
            context.route = rule  # what the metrics and the access log name the route
        request_id = context.request_id if context is not None else os.urandom(16).hex()
        # The headers every answer carries (request id, process, HSTS) are `Edge`'s.
        headers: list[tuple[bytes, bytes]] = []
        try:
            answered = await self._deliver(scope, receive, username)
        except _Answer as answer:
            headers += answer.headers
            body, content_type = answer.body()
            status = answer.status
        except Exception as exc:
            log.error("request %s failed: POST %s", request_id, scope["path"], exc_info=exc)
            body = orjson.dumps({"error": "Internal server error", "request_id": request_id})
            status, content_type = 500, JSON
        else:
            if answered is None:
                return  # the client went away before its body was in
            status, body, content_type = answered, b"", EMPTY
        headers += [(b"content-type", content_type), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _deliver(
        self, scope: MutableMapping[str, Any], receive: Receive, username: str | None
    ) -> int | None:
        """Read a bounded body, hand it to the inbox; the status (None: the client left).

        A client waiting for as many key fetches as it may, whose delivery names yet
        another key, is answered 429 from the headers alone: its body is not read,
        nothing is looked up."""
        rt = self.rt
        peer = scope.get("client")
        client = peer[0] if peer else "<local>"  # what Quart's `remote_addr` says
        if await access_blocks.ip_severity(rt, client) == "no_access":
            # An IP block of severity no_access refuses everything, as Mastodon's.
            raise _Text(403, "Your address is blocked", [])
        source = throttle_key(client)  # an IPv6 /64 counts as one address
        raw = scope["headers"]
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in raw}
        query = scope["query_string"].decode("latin-1")
        # The URL the sender signed: our public origin, not the `Host` a proxy passes on.
        url = f"{rt.config.base_url}{scope['path']}" + (f"?{query}" if query else "")
        if rt.inbox_key_waits.full(source):
            signature = read_signature("POST", url, headers)
            key_id = signature.key_id if isinstance(signature, SignatureInfo) else ""
            if not rt.inbox_key_waits.admits(source, key_id):
                metrics.inbox("refused", "key_waits")
                raise _Answer(429, KEY_WAITS_REFUSAL, RETRY_LATER)
        body = await _bounded_body(headers, receive)
        if body is None:
            return None
        try:
            return await accept(
                rt,
                url=url,
                headers=headers,
                body=body,
                username=username,
                client=client,
                source=source,
            )
        except UnknownInbox:
            raise _Answer(404, "Record not found", []) from None
        except DeliveryRefused as exc:
            raise _Answer(exc.status, str(exc), RETRY_LATER if exc.status == 429 else []) from None


async def _bounded_body(headers: dict[str, str], receive: Receive) -> bytes | None:
    """The request body, or None when the client disconnects first; 413 past the
    inbox's limit, without reading any further: a declared length is refused before the
    body is read, a chunked body once it passes (the middleware outside drains the rest
    or closes the connection)."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise _Answer(413, "Request entity too large", [])
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise _Answer(413, "Request entity too large", [])
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks) if len(chunks) != 1 else chunks[0]


@blueprint.route("/inbox", methods=["POST"])
@blueprint.route("/actor/inbox", methods=["POST"])
@blueprint.route("/users/<username>/inbox", methods=["POST"])
async def _answered_by_inbox_route(username: str | None = None) -> Response:
    """Never called: `InboxRoute` answers these POSTs before Quart routes them. The rules
    are here so that Quart answers the paths' other methods 405 with `Allow: POST`."""
    raise ApiError(500, "Internal server error")
