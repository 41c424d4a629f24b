"""Translating statuses through the configured service, as Mastodon does.

DeepL (`WB_DEEPL_API_KEY`) when a key is set, otherwise LibreTranslate
(`WB_TRANSLATION_URL`); with neither, translation is off: the instance says
`configuration.translation.enabled: false`, lists no language pairs, and
`POST /api/v1/statuses/:id/translate` is a 404.

As Mastodon's TranslateStatusService, the pieces a reader sees are sent in one request,
as HTML: the content, the content warning, the poll's options and the media
descriptions (plain texts escaped; custom emoji shortcodes wrapped in
`<span translate="no">` so they come back untouched). The answer is put back together
into Mastodon's Translation entity: the content sanitized again, the other pieces back
to plain text. Only public and unlisted statuses are translated (403 otherwise), and only
between a pair the service offers (403 for the status's own language). A translation is
kept per status, target language and edition, so an edit is translated afresh.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..federation.sanitize import sanitize_html
from ..ids import now_ms
from ..net import FetchError, configured_request
from ..serializers.statuses import status_entity
from ..store import translations as translation_rows
from ..store import users as user_rows
from . import statuses

if TYPE_CHECKING:
    from ..config import Config
    from ..runtime import Runtime

#: How long a service's language pairs are believed, and a kept translation served.
LANGUAGES_TTL = 3600.0
TRANSLATION_TTL_MS = 24 * 3600 * 1000
#: Bounds on one exchange with the service.
MAX_TEXT_BYTES = 256 * 1024
MAX_ANSWER_BYTES = 1024 * 1024
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
_NO_TRANSLATE = re.compile(r'<span translate="no">(:[A-Za-z0-9_]+:)</span>')


class TranslationOff(LookupError):
    """No translation service is configured (Mastodon answers 404)."""


class TranslationRefused(PermissionError):
    """This status may not be translated into that language (403)."""


class TranslationUnavailable(Exception):
    """The service failed or answered nonsense (503); the text says how, in one line."""


Languages = dict[str | None, list[str]]


@dataclass(frozen=True)
class Translated:
    """One translated piece, and the language the service found it in."""

    text: str
    detected: str | None


@dataclass(frozen=True)
class Service:
    """A configured translation service: its name as the entity shows it, and its calls."""

    provider: str
    origin: str
    fetch_languages: Callable[[Runtime, Service], Any]
    translate: Callable[[Runtime, Service, list[str], str | None, str], Any]
    api_key: str


def service(config: Config) -> Service | None:
    """The service this server uses, or None when translation is off."""
    if config.deepl_api_key:
        return Service(
            "DeepL.com", config.deepl_url, _deepl_languages, _deepl_translate, config.deepl_api_key
        )
    if config.translation_url:
        return Service(
            "LibreTranslate",
            config.translation_url,
            _libre_languages,
            _libre_translate,
            config.translation_api_key,
        )
    return None


async def _call(
    rt: Runtime,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: object = None,
) -> Any:
    """One bounded request to the service; its JSON answer."""
    try:
        fetched = await configured_request(
            method,
            url,
            outbound=rt.outbound,
            headers={"User-Agent": rt.config.user_agent, **(headers or {})},
            json_body=body,
            max_bytes=MAX_ANSWER_BYTES,
            time_limit=rt.config.translation_timeout,
        )
    except FetchError as exc:
        raise TranslationUnavailable(f"translation service: {exc}") from None
    if fetched.status == 456 or fetched.status == 429:
        raise TranslationUnavailable("translation service: quota exceeded or too many requests")
    if fetched.status != 200:
        raise TranslationUnavailable(f"translation service answered {fetched.status}")
    try:
        return json.loads(fetched.body)
    except ValueError:
        raise TranslationUnavailable("translation service: not JSON") from None


def _unexpected() -> TranslationUnavailable:
    return TranslationUnavailable("translation service: unexpected answer")


# LibreTranslate ------------------------------------------------------------------------------


async def _libre_languages(rt: Runtime, svc: Service) -> Languages:
    found = await _call(rt, "GET", f"{svc.origin}/languages")
    if not isinstance(found, list):
        raise _unexpected()
    pairs: Languages = {}
    for entry in found:
        if not isinstance(entry, dict) or not isinstance(entry.get("code"), str):
            raise _unexpected()
        code = entry["code"].lower()
        targets = entry.get("targets")
        if not isinstance(targets, list):
            targets = [e.get("code") for e in found if isinstance(e, dict)]
        pairs[code] = sorted({t.lower() for t in targets if isinstance(t, str)} - {code})
    # An undetermined source: whatever any source translates into (Mastodon's languages[nil]).
    pairs[None] = sorted({t for targets in pairs.values() for t in targets})
    return pairs


async def _libre_translate(
    rt: Runtime, svc: Service, texts: list[str], source: str | None, target: str
) -> list[Translated]:
    body: dict[str, Any] = {"q": texts, "source": source or "auto", "target": target}
    body["format"] = "html"
    if svc.api_key:
        body["api_key"] = svc.api_key
    answer = await _call(rt, "POST", f"{svc.origin}/translate", body=body)
    if not isinstance(answer, dict):
        raise _unexpected()
    translated = answer.get("translatedText")
    if not isinstance(translated, list) or len(translated) != len(texts):
        raise _unexpected()
    detected = answer.get("detectedLanguage")
    found: list[str | None] = [source] * len(texts)
    if source is None and isinstance(detected, list) and len(detected) == len(texts):
        found = [d.get("language") if isinstance(d, dict) else None for d in detected]
    return [
        Translated(str(text), str(lang) if lang else None)
        for text, lang in zip(translated, found, strict=True)
    ]


# DeepL -----------------------------------------------------------------------------------


def _deepl_headers(svc: Service) -> dict[str, str]:
    return {"Authorization": f"DeepL-Auth-Key {svc.api_key}"}


async def _deepl_list(rt: Runtime, svc: Service, kind: str) -> list[str]:
    found = await _call(
        rt, "GET", f"{svc.origin}/v2/languages?type={kind}", headers=_deepl_headers(svc)
    )
    if not isinstance(found, list):
        raise _unexpected()
    codes = []
    for entry in found:
        if not isinstance(entry, dict) or not isinstance(entry.get("language"), str):
            raise _unexpected()
        codes.append(entry["language"].lower())
    return codes


async def _deepl_languages(rt: Runtime, svc: Service) -> Languages:
    sources = await _deepl_list(rt, svc, "source")
    targets = await _deepl_list(rt, svc, "target")
    # Readers ask for `en` or `pt`: a regional target also answers for its language.
    targets = sorted({*targets, *(t.split("-")[0] for t in targets)})
    pairs: Languages = {s: [t for t in targets if t.split("-")[0] != s] for s in sources}
    pairs[None] = targets
    return pairs


async def _deepl_translate(
    rt: Runtime, svc: Service, texts: list[str], source: str | None, target: str
) -> list[Translated]:
    body: dict[str, Any] = {"text": texts, "target_lang": target.upper(), "tag_handling": "html"}
    if source:
        body["source_lang"] = source.upper()
    answer = await _call(
        rt, "POST", f"{svc.origin}/v2/translate", headers=_deepl_headers(svc), body=body
    )
    found = answer.get("translations") if isinstance(answer, dict) else None
    if not isinstance(found, list) or len(found) != len(texts):
        raise _unexpected()
    out = []
    for entry in found:
        if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
            raise _unexpected()
        lang = entry.get("detected_source_language")
        out.append(Translated(entry["text"], lang.lower() if isinstance(lang, str) else None))
    return out


# Language pairs ---------------------------------------------------------------------------

_pairs_cache: dict[tuple[str, str], tuple[float, Languages]] = {}


async def languages(rt: Runtime) -> Languages:
    """Source language to target languages the service offers (empty when off).

    Kept for an hour per service; a failure is not kept, so the next call asks again.
    """
    svc = service(rt.config)
    if svc is None:
        return {}
    key = (svc.provider, svc.origin)
    kept = _pairs_cache.get(key)
    if kept is not None and kept[0] > time.monotonic():
        return kept[1]
    pairs: Languages = await svc.fetch_languages(rt, svc)
    _pairs_cache[key] = (time.monotonic() + LANGUAGES_TTL, pairs)
    return pairs


async def translation_languages(rt: Runtime) -> dict[str, list[str]]:
    """`GET /api/v1/instance/translation_languages`: Mastodon's map (`und` for unknown);
    empty when off or when the service cannot say."""
    try:
        pairs = await languages(rt)
    except TranslationUnavailable:
        return {}
    return {("und" if k is None else k): v for k, v in pairs.items()}


# Translating a status -----------------------------------------------------------------------


def _wrap_emoji(text: str, shortcodes: set[str]) -> str:
    if not shortcodes:
        return text
    return re.sub(
        r":([A-Za-z0-9_]+):",
        lambda m: f'<span translate="no">{m.group(0)}</span>' if m.group(1) in shortcodes else m[0],
        text,
    )


def _unwrap_emoji(text: str) -> str:
    return _NO_TRANSLATE.sub(r"\1", text)


def _plain(translated_html: str) -> str:
    """A translated plain piece (sent escaped) back to plain text: tags dropped, entities
    decoded, as Mastodon takes the fragment's text."""
    return html_lib.unescape(re.sub(r"<[^>]*>", "", _unwrap_emoji(translated_html)))


async def translate_status(
    rt: Runtime, status_id: int, viewer_id: int | None, target: str | None
) -> dict[str, Any]:
    """The Translation entity of a status the viewer may see, into `target`.

    Raises TranslationOff (404), StatusNotFound (404), TranslationRefused (403),
    ValueError for a malformed language or an overlong status (422), and
    TranslationUnavailable (503).
    """
    svc = service(rt.config)
    if svc is None:
        raise TranslationOff("Translation is not available on this server")
    if target is None and viewer_id is not None:
        # Mastodon's default: the reader's own language.
        user = await rt.store.read(user_rows.user_by_account, viewer_id)
        target = user["locale"] if user is not None else None
    language = (target or "en").strip().lower().replace("_", "-")
    if not LANGUAGE_CODE.match(language):
        raise ValueError("Validation failed: lang is not a language code")
    bundle = await statuses.show(rt, status_id, viewer_id)
    entity = status_entity(rt.config, bundle, bundle.order[0])
    if entity.get("reblog"):
        entity = entity["reblog"]
    if entity["visibility"] not in ("public", "unlisted"):
        raise TranslationRefused("This action is not allowed")
    source = entity.get("language") or None
    pairs = await languages(rt)
    if language not in pairs.get(source, []):
        raise TranslationRefused("This action is not allowed")
    real_id = int(entity["id"])
    row = bundle.statuses[real_id]
    edition = row["edited_at"] or row["created_at"]  # an edit is translated afresh
    kept = await rt.store.read(translation_rows.cached, real_id, language, edition)
    if kept is not None:
        cached: dict[str, Any] = json.loads(kept)
        return cached
    result = await _translate_entity(rt, svc, entity, source, language)
    await rt.store.write(
        translation_rows.keep, real_id, language, edition, json.dumps(result), now_ms()
    )
    return result


async def _translate_entity(
    rt: Runtime, svc: Service, entity: dict[str, Any], source: str | None, language: str
) -> dict[str, Any]:
    shortcodes = {e["shortcode"] for e in entity.get("emojis") or []}
    pieces: list[tuple[str, Any, str]] = []  # (kind, key, HTML sent)
    if entity["content"]:
        pieces.append(("content", None, _wrap_emoji(entity["content"], shortcodes)))
    if entity["spoiler_text"]:
        escaped = html_lib.escape(entity["spoiler_text"], quote=False)
        pieces.append(("spoiler_text", None, _wrap_emoji(escaped, shortcodes)))
    poll = entity.get("poll")
    for index, option in enumerate(poll["options"] if poll else []):
        escaped = html_lib.escape(option["title"], quote=False)
        pieces.append(("poll", index, _wrap_emoji(escaped, shortcodes)))
    for media in entity.get("media_attachments") or []:
        if media.get("description"):
            pieces.append(("media", media["id"], html_lib.escape(media["description"], False)))
    if sum(len(p[2].encode()) for p in pieces) > MAX_TEXT_BYTES:
        raise ValueError("Validation failed: this status is too long to translate")
    done: list[Translated] = (
        await svc.translate(rt, svc, [p[2] for p in pieces], source, language) if pieces else []
    )
    result: dict[str, Any] = {
        "content": "",
        "spoiler_text": "",
        "language": language,
        "detected_source_language": source or (done[0].detected if done else None) or "und",
        "provider": svc.provider,
    }
    options: list[dict[str, str]] = []
    descriptions: dict[str, str] = {}
    for (kind, key, _), piece in zip(pieces, done, strict=True):
        if kind == "content":
            result["content"] = sanitize_html(_unwrap_emoji(piece.text))
        elif kind == "spoiler_text":
            result["spoiler_text"] = _plain(piece.text)
        elif kind == "poll":
            options.append({"title": _plain(piece.text)})
        else:
            descriptions[key] = html_lib.unescape(piece.text)
    if poll:
        result["poll"] = {"id": poll["id"], "options": options}
    result["media_attachments"] = [
        {"id": media["id"], "description": descriptions.get(media["id"], "")}
        for media in entity.get("media_attachments") or []
    ]
    return result


async def forget_old(rt: Runtime) -> int:
    """Drop kept translations older than a day (Mastodon keeps them as long); how many."""
    return await rt.store.write(translation_rows.forget_before, now_ms() - TRANSLATION_TTL_MS)
