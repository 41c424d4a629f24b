"""Fake translation services on 127.0.0.1: LibreTranslate's and DeepL's HTTP APIs.

Their "translation" is reversible and keeps markup: every letter outside tags and
entities changes case, text inside `<span translate="no">` stays as sent. Each keeps
the requests it received, so a test sees which pieces were sent and how.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from quart import Response, jsonify, request
from quart_trio import QuartTrio

from tests.conftest import free_port

_MARKUP = re.compile(r'(<span translate="no">.*?</span>|<[^>]*>|&#?\w+;)')


def flip(html: str) -> str:
    """The fake translation: swap the case of the text, leave markup and kept spans."""
    return "".join(part if i % 2 else part.swapcase() for i, part in enumerate(_MARKUP.split(html)))


@dataclass
class Translator:
    """A running fake service: its origin, what it received, and whether it fails."""

    port: int
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    failing: bool = False

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


LIBRE_LANGUAGES = [
    {"code": "en", "name": "English", "targets": ["de", "en", "fr"]},
    {"code": "de", "name": "German", "targets": ["de", "en"]},
    {"code": "fr", "name": "French", "targets": ["en", "fr"]},
]
DEEPL_SOURCES = [{"language": "EN", "name": "English"}, {"language": "DE", "name": "German"}]
DEEPL_TARGETS = [
    {"language": "DE", "name": "German"},
    {"language": "EN-GB", "name": "English (British)"},
]


def _app(server: Translator) -> QuartTrio:
    app = QuartTrio(__name__)

    async def failing() -> Response | None:
        server.headers.append({k.lower(): v for k, v in request.headers.items()})
        if server.failing:
            return Response("down", status=500)
        return None

    @app.route("/languages")
    async def libre_languages() -> Any:
        return await failing() or jsonify(LIBRE_LANGUAGES)

    @app.route("/translate", methods=["POST"])
    async def libre_translate() -> Any:
        if down := await failing():
            return down
        body = await request.get_json()
        server.requests.append(body)
        answer: dict[str, Any] = {"translatedText": [flip(q) for q in body["q"]]}
        if body["source"] == "auto":
            answer["detectedLanguage"] = [{"confidence": 90, "language": "de"} for _ in body["q"]]
        return jsonify(answer)

    @app.route("/v2/languages")
    async def deepl_languages() -> Any:
        if down := await failing():
            return down
        if not request.headers.get("Authorization", "").startswith("DeepL-Auth-Key "):
            return Response("", status=403)
        kind = request.args.get("type")
        return jsonify(DEEPL_SOURCES if kind == "source" else DEEPL_TARGETS)

    @app.route("/v2/translate", methods=["POST"])
    async def deepl_translate() -> Any:
        if down := await failing():
            return down
        body = await request.get_json()
        server.requests.append(body)
        detected = body.get("source_lang", "EN")
        return jsonify(
            {
                "translations": [
                    {"detected_source_language": detected, "text": flip(t)} for t in body["text"]
                ]
            }
        )

    return app


async def start_translator(nursery: trio.Nursery) -> Translator:
    """Serve a fake translation service (both APIs) in `nursery`."""
    server = Translator(port=free_port())
    config = HypercornConfig()
    config.bind = [f"127.0.0.1:{server.port}"]
    config.accesslog = None
    config.errorlog = None
    await nursery.start(serve, _app(server), config)
    return server
