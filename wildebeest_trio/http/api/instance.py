"""The instance endpoints of the Mastodon API (no login needed)."""

from __future__ import annotations

from quart import Blueprint, Response

from ...serializers import instance as entities
from ...services import domain_blocks
from ...services import instance as instance_service
from ..context import features, json_response, runtime, takes_av

blueprint = Blueprint("instance", __name__)


@blueprint.route("/api/v2/instance")
async def instance_v2() -> Response:
    rt = runtime()
    facts = await instance_service.instance_facts(rt)
    return json_response(entities.instance_v2(rt.config, facts, features(), av=takes_av()))


@blueprint.route("/api/v1/instance")
async def instance_v1() -> Response:
    rt = runtime()
    facts = await instance_service.instance_facts(rt)
    return json_response(entities.instance_v1(rt.config, facts, features(), av=takes_av()))


@blueprint.route("/api/v1/instance/rules")
async def rules() -> Response:
    rt = runtime()
    facts = await instance_service.instance_facts(rt)
    return json_response(entities.instance_v2(rt.config, facts, features(), av=takes_av())["rules"])


@blueprint.route("/api/v1/instance/peers")
async def peers() -> Response:
    return json_response(await instance_service.peers(runtime()))


@blueprint.route("/api/v1/instance/translation_languages")
async def translation_languages() -> Response:
    # No translation service is configured, so no language pairs.
    return json_response({})


@blueprint.route("/api/v1/instance/extended_description")
async def extended_description() -> Response:
    facts = await instance_service.instance_facts(runtime())
    return json_response(entities.extended_description(facts))


@blueprint.route("/api/v1/instance/domain_blocks")
async def domain_blocks_list() -> Response:
    """The domains this server limits, with public comments (obfuscated ones masked)."""
    return json_response(await domain_blocks.public_blocks(runtime()))
