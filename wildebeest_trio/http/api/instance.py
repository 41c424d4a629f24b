"""The instance endpoints of the Mastodon API (no login needed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quart import Blueprint, Response, current_app

from ...serializers import instance as entities
from ...services import domain_blocks, translation
from ...services import instance as instance_service
from ..context import encode_json, features, json_response, runtime, takes_av

blueprint = Blueprint("instance", __name__)


# Per app: each instance document as last encoded, with the facts it was made from.
DOCUMENTS = "wildebeest.instance_documents"


def _document(name: str, facts: object, render: Callable[[], Any]) -> bytes:
    """An instance document, encoded once for as long as the facts stay the same (they
    are cached and replaced on change; Mastodon caches these documents too): rendering
    and encoding cost more than the rest of a request."""
    documents: dict[str, tuple[object, bytes]] = current_app.extensions.setdefault(DOCUMENTS, {})
    kept = documents.get(name)
    if kept is None or kept[0] is not facts:
        kept = documents[name] = (facts, encode_json(render()))
    return kept[1]


@blueprint.route("/api/v2/instance")
async def instance_v2() -> Response:
    rt = runtime()
    facts = await instance_service.instance_facts(rt)
    return json_response(
        _document(
            "v2", facts, lambda: entities.instance_v2(rt.config, facts, features(), av=takes_av())
        )
    )


@blueprint.route("/api/v1/instance")
async def instance_v1() -> Response:
    rt = runtime()
    facts = await instance_service.instance_facts(rt)
    return json_response(
        _document(
            "v1", facts, lambda: entities.instance_v1(rt.config, facts, features(), av=takes_av())
        )
    )


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
    """Source language to the target languages it translates into (none when off)."""
    return json_response(await translation.translation_languages(runtime()))


@blueprint.route("/api/v1/instance/extended_description")
async def extended_description() -> Response:
    facts = await instance_service.instance_facts(runtime())
    return json_response(entities.extended_description(facts))


@blueprint.route("/api/v1/instance/domain_blocks")
async def domain_blocks_list() -> Response:
    """The domains this server limits, with public comments (obfuscated ones masked)."""
    return json_response(await domain_blocks.public_blocks(runtime()))
