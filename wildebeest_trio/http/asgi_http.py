"""Quart-Trio's ASGI connection for an HTTP request, in one task when the request sends
no body.

quart-trio serves every request with a nursery of two tasks: one reads the request's
messages (its body, then the client's disconnect) and cancels the other when the client
leaves; the other runs the view and sends the answer. For a request that declares no
body (a GET or HEAD over HTTP/1 without `Content-Length` or `Transfer-Encoding`) the first
task has nothing to read, and the view's answer is usually
bytes already made: so the view runs in the calling task, and a whole answer goes out as
its start and one last body message (the same bytes on the wire as quart's start, body
and empty last body). A streamed answer (server-sent events, a file) still gets a task
that watches for the client's disconnect beside it, as quart-trio's, so a stream ends
when its client goes. Requests with a body go through quart-trio's path unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import trio
from quart.utils import encode_headers
from quart.wrappers.response import DataBody
from quart_trio.asgi import TrioASGIHTTPConnection
from werkzeug.wrappers import Response as WerkzeugResponse

from .unread_body import declares_no_body

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# The methods whose requests carry no body in practice: a GET or HEAD that declares none
# has none over HTTP/1 (RFC 9112 6.3). Other methods keep quart-trio's path even then, as
# Quart's test client sends their bodies without declaring a length.
_BODILESS = frozenset(("GET", "HEAD"))


class HTTPConnection(TrioASGIHTTPConnection):
    """One HTTP request's ASGI connection (see the module)."""

    async def __call__(self, receive: Any, send: Any) -> None:
        scope: Any = self.scope
        if (
            scope["method"] not in _BODILESS
            or scope.get("http_version") not in ("1.1", "1.0")
            or not declares_no_body(scope["headers"])
        ):
            await super().__call__(receive, send)
            return
        request = self._create_request_from_scope(send)
        request.body.set_complete()  # nothing comes: no task waits for it
        response: Any = await self.app.handle_request(request)
        timeout = getattr(response, "timeout", Ellipsis)
        if timeout is Ellipsis:
            timeout = self.app.config["RESPONSE_TIMEOUT"]
        body = response.response
        if isinstance(body, DataBody) or isinstance(response, WerkzeugResponse):
            # A whole answer: nothing waits on the client while it goes out.
            with trio.move_on_after(math.inf if timeout is None else timeout):
                await self._send_whole(send, response)
            return
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._until_disconnect, nursery, receive)
            with trio.move_on_after(math.inf if timeout is None else timeout):
                await self._send_response(send, response)
            nursery.cancel_scope.cancel()

    async def _send_whole(self, send: Any, response: Any) -> None:
        if not isinstance(response.response, DataBody):
            await self._send_response(send, response)
            return
        body: DataBody = response.response
        headers = encode_headers(response.headers)
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": headers}
        )
        await send(
            {
                "type": "http.response.body",
                "body": body.data[body.begin : body.end],
                "more_body": False,
            }
        )

    async def _until_disconnect(self, nursery: trio.Nursery, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        nursery.cancel_scope.cancel()
