"""The QuartTrio application: blueprints, CORS, errors, request ids, trailing slashes."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from quart import Response, g, request, send_from_directory, websocket
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from .. import logs
from ..config import Config, parse_networks
from ..media.store import MediaStoreError
from ..runtime import Runtime
from ..services import access_blocks
from ..services import media as media_service
from ..services.access_jwt import AccessVerifier
from .access_log import AccessLog
from .activitypub import documents as activitypub
from .activitypub import inbox, wellknown
from .api import (
    accounts,
    announcements,
    annual_reports,
    collections,
    custom_emojis,
    domain_blocks,
    featured_tags,
    filters,
    follows,
    instance,
    lists,
    markers,
    notifications,
    polls,
    push,
    reports,
    scheduled_statuses,
    search,
    statuses,
    streaming,
    suggestions,
    tags,
    timelines,
    translations,
)
from .api import admin as admin_api
from .api import admin_blocks as admin_blocks_api
from .api import admin_dashboard as admin_dashboard_api
from .api import admin_trends as admin_trends_api
from .api import media as media_api
from .auth import (
    AUTH_LIMITER,
    RateLimiter,
    api_rate_limit,
    client_ip,
    limited_federation_gate,
    rate_limit_headers,
)
from .converters import CONVERTERS
from .errors import ApiError, error_response
from .jsonio import OrjsonProvider
from .oauth import apps as oauth_apps
from .oauth import authorization as oauth
from .proxy import ProxyHeaders, over_https
from .spooled_body import SpooledBody
from .strict_input import StrictRequest
from .unread_body import FinishUnreadBody
from .web import admin as admin_pages
from .web import auth as account_pages
from .web import health, home, media_files, media_proxy, metrics, reading, site, writing
from .web import settings as settings_pages
from .ws_direct import DirectWebSocket

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
CORS_PREFIXES = ("/api/", "/oauth/token", "/oauth/revoke", "/.well-known/", "/nodeinfo/")
CORS_EXPOSE = "Link, X-RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining, X-Request-Id"
JSON_PREFIXES = ("/api/", "/oauth/", "/.well-known/", "/nodeinfo/", "/inbox", "/users/")
# What Rails' force_ssl sends (Mastodon in production): two years, subdomains included.
HSTS = "max-age=63072000; includeSubDomains"
HTTP_MESSAGES = {
    400: "Bad request",
    401: "This method requires an authenticated user",
    403: "This action is not allowed",
    404: "Record not found",
    405: "This method is not allowed",
    413: "Request entity too large",
    415: "Unsupported media type",
    422: "Unprocessable entity",
    429: "Too many requests",
}


def _is_cors(path: str) -> bool:
    return path.startswith(CORS_PREFIXES)


def _wants_json(path: str) -> bool:
    return path == "/api" or path.startswith(JSON_PREFIXES)


class StripTrailingSlash:
    """ASGI middleware: `/api/v1/instance/` is served as `/api/v1/instance`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            path: str = scope["path"]
            if len(path) > 1 and path.endswith("/"):
                stripped = path.rstrip("/") or "/"
                scope = dict(scope, path=stripped, raw_path=stripped.encode())
        await self.app(scope, receive, send)


class WildebeestRequest(StrictRequest):
    """A request whose body may be as large as its route allows: the app's
    MAX_CONTENT_LENGTH, or more for the POST routes of `larger_bodies` (the limit is set
    here because Quart checks it while the body arrives, before any route runs)."""

    #: POST paths whose bodies may pass the app's limit, and theirs (set per app).
    larger_bodies: Mapping[str, int] = {}

    def __init__(self, method: str, scheme: str, path: str, *args: Any, **kwargs: Any) -> None:
        larger = self.larger_bodies.get(path) if method == "POST" else None
        if larger is not None:
            kwargs["max_content_length"] = max(kwargs.get("max_content_length") or 0, larger)
        super().__init__(method, scheme, path, *args, **kwargs)
        if larger is not None:
            # The form parser reads the limit from here, the body from its constructor.
            self.max_content_length = kwargs["max_content_length"]
            if path in media_api.SPOOLED_PATHS:
                # Nothing has arrived yet: the body goes to a file from its first byte.
                self.body = SpooledBody(self.content_length, self.max_content_length)

    def make_form_data_parser(self) -> Any:
        parser = super().make_form_data_parser()
        if isinstance(self.body, SpooledBody):
            parser.stream_factory = self.body.stream_factory
        return parser


def larger_bodies(config: Config) -> dict[str, int]:
    """POST routes whose bodies may pass the app's limit (a video upload, an import file)."""
    # Room for the largest video or audio plus the other fields of a multipart form.
    media = max(config.media_max_image_bytes, config.media_max_video_bytes) + 1024 * 1024
    return {
        **settings_pages.LARGER_BODIES,
        "/api/v1/media": media,
        "/api/v2/media": media,
    }


class WildebeestApp(QuartTrio):
    """QuartTrio with orjson for JSON and strictly UTF-8 forms."""

    json_provider_class = OrjsonProvider
    request_class: type[WildebeestRequest] = WildebeestRequest


def create_app(rt: Runtime) -> QuartTrio:
    """The application for one runtime (store, settings, jobs)."""
    app = WildebeestApp("wildebeest_trio", static_folder=None)
    larger = larger_bodies(rt.config)
    app.request_class = type("Request", (WildebeestRequest,), {"larger_bodies": larger})
    # Room for the largest image plus the other fields of a multipart form.
    app.config["MAX_CONTENT_LENGTH"] = rt.config.media_max_image_bytes + 1024 * 1024
    app.extensions["wildebeest"] = rt
    # Before any blueprint: rules look their converters up when they are added.
    app.url_map.converters.update(CONVERTERS)

    features: set[str] = set()
    modules = (
        health,
        metrics,
        instance,
        wellknown,
        oauth_apps,
        oauth,
        accounts,
        home,
        account_pages,
        media_files,
        media_api,
        media_proxy,
        activitypub,
        streaming,
        statuses,
        timelines,
        follows,
        tags,
        lists,
        markers,
        notifications,
        push,
        reports,
        custom_emojis,
        domain_blocks,
        announcements,
        suggestions,
        featured_tags,
        collections,
        annual_reports,
        site,
        reading,
        writing,
        admin_pages,
        admin_api,
        admin_blocks_api,
        admin_dashboard_api,
        admin_trends_api,
        settings_pages,
        polls,
        filters,
        scheduled_statuses,
        search,
        translations,
        inbox,
    )
    for module in modules:
        app.register_blueprint(module.blueprint)
        features |= getattr(module, "FEATURES", frozenset())
    # What `api_versions.mastodon` may claim: only features whose endpoints are mounted.
    app.extensions["wildebeest.features"] = frozenset(features)
    # Looked up once: a search of PATH per instance document costs every client's first call.
    app.extensions["wildebeest.av"] = media_service.tools(rt) is not None
    app.extensions["wildebeest.limiter"] = RateLimiter()
    # Logins and sign-ups count apart, so a flood of API clients cannot evict their counters.
    app.extensions[AUTH_LIMITER] = RateLimiter()
    # One verifier per process: it caches the identity provider's keys.
    app.extensions["wildebeest.access"] = AccessVerifier.from_config(rt.config, rt.outbound)

    @app.before_websocket
    async def _start_websocket() -> None:
        _note_route(websocket.url_rule)

    @app.before_request
    async def _start() -> Response | None:
        g.request_id = _note_route(request.url_rule)
        if request.method == "OPTIONS" and _is_cors(request.path):
            return _preflight()
        if await access_blocks.ip_severity(rt, client_ip()) == "no_access":
            # An IP block of severity no_access refuses everything, as Mastodon's.
            if request.path.startswith(("/api/", "/oauth/")):
                raise ApiError(403, "Your address is blocked")
            return Response("Your address is blocked", status=403, mimetype="text/plain")
        if request.path.startswith("/api/"):
            await api_rate_limit()
        if rt.config.limited_federation:
            return await limited_federation_gate()
        return None

    @app.after_request
    async def _finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = getattr(g, "request_id", "")
        if rt.web_process is not None:
            # Which process answered, for an admin (and a test) following a request.
            response.headers["Wildebeest-Process"] = str(rt.web_process)
        rate_limit_headers(response)
        if rt.config.scheme == "https" and over_https():
            response.headers["Strict-Transport-Security"] = HSTS
        if _is_cors(request.path):
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE
        return response

    @app.route("/static/<path:name>")
    async def _static(name: str) -> Response:
        response = await send_from_directory(STATIC_DIR, name)
        response.cache_control.public = True
        response.cache_control.max_age = 7 * 24 * 3600
        return response

    @app.errorhandler(ApiError)
    async def _api_error(exc: ApiError) -> Response:
        response = error_response(exc.status, exc.message, **exc.extra)
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(MediaStoreError)
    async def _media_store_error(exc: MediaStoreError) -> Response:
        # The bucket (or the media folder) failed after its retries: nothing was stored, and
        # the client may try again, as for any 503.
        log.warning("media storage failed: %s %s: %s", request.method, request.path, exc)
        response = error_response(503, "Media storage is unavailable, try again later")
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(HTTPException)
    async def _http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        if not _wants_json(request.path):
            return exc
        response = error_response(status, HTTP_MESSAGES.get(status, exc.name))
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    async def _unhandled(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):  # pragma: no cover - handled above
            return await _http_error(exc)
        request_id = getattr(g, "request_id", "-")
        log.error(
            "request %s failed: %s %s", request_id, request.method, request.path, exc_info=exc
        )
        return error_response(500, "Internal server error", request_id=request_id)

    asgi: Any = StripTrailingSlash(app.asgi_app)
    asgi = FinishUnreadBody(asgi, max_bytes=app.config["MAX_CONTENT_LENGTH"], larger=larger)
    # Every request: its id for the logs, its metrics; the access log if asked for.
    asgi = AccessLog(asgi, log_requests=rt.config.access_log)
    # Outermost: everything inside sees the client's address and scheme, not the proxy's.
    asgi = ProxyHeaders(asgi, parse_networks(rt.config.trusted_proxies))
    # Outside even that: it needs Hypercorn's own `send` to find a WebSocket's socket.
    asgi = DirectWebSocket(asgi)
    app.asgi_app = asgi  # type: ignore[method-assign]
    return app


def _note_route(rule: Any) -> str:
    """Tell the metrics which route answers (its template); the request's id."""
    context = logs.CURRENT.get()
    if context is None:  # an app driven without the middleware
        return uuid.uuid4().hex
    if rule is not None:
        context.route = rule.rule
    return context.request_id


def _preflight() -> Response:
    response = Response("", status=204)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
    requested = request.headers.get("Access-Control-Request-Headers")
    response.headers["Access-Control-Allow-Headers"] = (
        requested or "Authorization, Content-Type, Idempotency-Key"
    )
    response.headers["Access-Control-Max-Age"] = "7200"
    response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE
    return response
