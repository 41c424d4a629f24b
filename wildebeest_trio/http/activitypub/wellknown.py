"""Discovery: WebFinger, host-meta and NodeInfo."""

from __future__ import annotations

from quart import Blueprint, Response, redirect, request

from ...serializers import instance as entities
from ...serializers.webfinger import jrd
from ...services import instance as instance_service
from ...services import webfinger
from ..context import json_response, runtime
from ..errors import ApiError

blueprint = Blueprint("wellknown", __name__)

THREE_DAYS = "max-age=259200, public"
THREE_MINUTES = "max-age=180, public"


@blueprint.route("/.well-known/webfinger")
async def webfinger_endpoint() -> Response:
    rt = runtime()
    resource = request.args.get("resource", "")
    try:
        account = await webfinger.find(rt, resource)
    except webfinger.BadResource as exc:
        raise ApiError(400, str(exc)) from None
    if account is None:
        response = json_response({"error": "Record not found"}, 404)
        response.headers["Cache-Control"] = THREE_MINUTES
        return response
    response = json_response(jrd(rt.config, account))
    response.content_type = "application/jrd+json; charset=utf-8"
    response.headers["Cache-Control"] = THREE_DAYS
    response.headers["Vary"] = "Accept"
    return response


@blueprint.route("/.well-known/change-password")
async def change_password() -> Response:
    """Where password managers send people to change a password (W3C's well-known URL):
    the account settings page, which has the password form (Mastodon redirects too)."""
    return redirect("/settings/account", 301)


@blueprint.route("/.well-known/host-meta")
async def host_meta() -> Response:
    rt = runtime()
    if request.args.get("format") == "json":
        return await host_meta_json()
    return Response(
        entities.host_meta_xml(rt.config),
        content_type="application/xrd+xml; charset=utf-8",
        headers={"Cache-Control": THREE_DAYS},
    )


@blueprint.route("/.well-known/host-meta.json")
async def host_meta_json() -> Response:
    response = json_response(entities.host_meta_json(runtime().config))
    response.headers["Cache-Control"] = THREE_DAYS
    return response


@blueprint.route("/.well-known/nodeinfo")
async def nodeinfo_links() -> Response:
    response = json_response(entities.nodeinfo_links(runtime().config))
    response.headers["Cache-Control"] = THREE_DAYS
    return response


@blueprint.route("/nodeinfo/<version>")
async def nodeinfo(version: str) -> Response:
    if version not in ("2.0", "2.1"):
        raise ApiError(404, "Record not found")
    rt = runtime()
    facts = await instance_service.instance_facts(rt)
    response = json_response(entities.nodeinfo(rt.config, facts, version))
    schema = f"http://nodeinfo.diaspora.software/ns/schema/{version}#"
    response.content_type = f'application/json; profile="{schema}"'
    response.headers["Cache-Control"] = "max-age=1800, public"
    return response
