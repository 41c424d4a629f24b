"""Translating statuses through a LibreTranslate-compatible and a DeepL-shaped service that
the tests start on 127.0.0.1 (their "translation" swaps letter case, keeping markup)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.conftest import make_config
from tests.fakes.translators import Translator, flip, start_translator
from tests.social import User, act, follow, get, make_user, post
from tests.test_custom_emoji import image
from tests.test_media_api import photo, upload
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.federation.sanitize import sanitize_html
from wildebeest_trio.http import create_app
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.custom_emoji import add_emoji
from wildebeest_trio.services.instance import ensure_instance_keys
from wildebeest_trio.store import Connection


async def _site(config: Any) -> AsyncIterator[tuple[Runtime, Any]]:
    async with open_server_runtime(config) as rt:
        await ensure_instance_keys(rt)
        app = create_app(rt)
        async with app.test_app() as test_app:
            yield rt, test_app.test_client()


@pytest.fixture
async def translator(nursery: trio.Nursery) -> Translator:
    return await start_translator(nursery)


@pytest.fixture
async def libre(
    tmp_path: Path, database_url: str, translator: Translator
) -> AsyncIterator[tuple[Runtime, Any]]:
    config = make_config(
        tmp_path, database_url, translation_url=translator.origin, translation_api_key="k3y"
    )
    async for site in _site(config):
        yield site


@pytest.fixture
async def deepl(
    tmp_path: Path, database_url: str, translator: Translator
) -> AsyncIterator[tuple[Runtime, Any]]:
    config = make_config(
        tmp_path,
        database_url,
        deepl_api_key="d33pl",
        deepl_plan="pro",
        deepl_url=translator.origin,
        translation_url="http://127.0.0.1:9",  # DeepL comes first when both are set
    )
    async for site in _site(config):
        yield site


async def _described_media(client: Any, user: User, description: str) -> str:
    response = await client.post(
        "/api/v1/media",
        headers=user.headers,
        files={"file": upload(photo(64, 48))},
        form={"description": description},
    )
    assert response.status_code in (200, 202), await response.get_data(as_text=True)
    return str((await response.get_json())["id"])


async def _rich_status(client: Any, author: User) -> dict[str, Any]:
    return await post(
        client,
        author,
        "Hello https://example.com/x and :blobcat: friends",
        spoiler_text="Spoilers & <stuff>",
        language="en",
        poll={"options": ["Yes please", "No :blobcat:"], "expires_in": 3600},
    )


async def _translate(client: Any, user: User, status_id: str, **form: str) -> tuple[int, Any]:
    response = await client.post(
        f"/api/v1/statuses/{status_id}/translate", headers=user.headers, form=form
    )
    return response.status_code, await response.get_json()


async def _kept(rt: Runtime) -> int:
    async def unit(conn: Connection) -> int:
        return int(await conn.fetchval("SELECT count(*) FROM status_translations"))

    return await rt.store.read(unit)


async def test_libretranslate_translates_every_piece_and_keeps_html(
    libre: tuple[Runtime, Any], translator: Translator
) -> None:
    rt, client = libre
    await add_emoji(rt, "blobcat", image())
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    status = await _rich_status(client, alice)

    status_code, instance = await get(client, None, "/api/v2/instance")
    assert instance["configuration"]["translation"]["enabled"] is True
    status_code, pairs = await get(client, bob, "/api/v1/instance/translation_languages")
    assert status_code == 200
    assert pairs["en"] == ["de", "fr"] and pairs["de"] == ["en"]
    assert pairs["und"] == ["de", "en", "fr"]

    status_code, found = await _translate(client, bob, status["id"], lang="de")
    assert status_code == 200, found
    [sent] = translator.requests
    assert sent["source"] == "en" and sent["target"] == "de" and sent["format"] == "html"
    assert sent["api_key"] == "k3y"
    content, spoiler, yes, no = sent["q"]
    # The content as HTML, the rest escaped; the custom emoji is kept from translation.
    kept = '<span translate="no">:blobcat:</span>'
    assert content == status["content"].replace(":blobcat:", kept)
    assert spoiler == "Spoilers &amp; &lt;stuff&gt;"
    assert (yes, no) == ("Yes please", f"No {kept}")
    # Put back sanitized, as Mastodon does with what a service returns.
    assert found["content"] == sanitize_html(flip(content).replace(kept, ":blobcat:"))
    assert ":blobcat:" in found["content"]
    assert 'href="https://example.com/x"' in found["content"]  # markup survived
    assert found["spoiler_text"] == "sPOILERS & <STUFF>"
    assert found["poll"] == {
        "id": status["poll"]["id"],
        "options": [{"title": "yES PLEASE"}, {"title": "nO :blobcat:"}],
    }
    assert found["media_attachments"] == []
    assert found["detected_source_language"] == "en"
    assert found["language"] == "de"
    assert found["provider"] == "LibreTranslate"

    # Kept: asking again does not ask the service.
    status_code, again = await _translate(client, alice, status["id"], lang="de")
    assert status_code == 200 and again == found
    assert len(translator.requests) == 1 and await _kept(rt) == 1

    # An edit is translated afresh.
    edited = await client.put(
        f"/api/v1/statuses/{status['id']}",
        headers=alice.headers,
        json={"status": "Changed words", "language": "en"},
    )
    assert edited.status_code == 200
    status_code, fresh = await _translate(client, bob, status["id"], lang="de")
    assert status_code == 200
    assert fresh["content"] == "<p>cHANGED WORDS</p>"
    assert len(translator.requests) == 2

    # Media descriptions; a status without a language is detected by the service.
    media_id = await _described_media(client, alice, "A cat & <a> dog")
    pictured = await post(client, alice, "Look", media_ids=[media_id])
    status_code, found = await _translate(client, bob, pictured["id"], lang="fr")
    assert status_code == 200, found
    assert translator.requests[-1]["q"][1] == "A cat &amp; &lt;a&gt; dog"
    assert found["media_attachments"] == [{"id": media_id, "description": "a CAT & <A> DOG"}]
    assert "poll" not in found


async def test_refusals_as_mastodon(libre: tuple[Runtime, Any], translator: Translator) -> None:
    rt, client = libre
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    carol = await make_user(rt, client, "carol")
    public = await post(client, alice, "Good morning", language="en")

    # The status's own language, or one the service cannot reach: not allowed.
    assert (await _translate(client, bob, public["id"], lang="en"))[0] == 403
    assert (await _translate(client, bob, public["id"], lang="ja"))[0] == 403
    assert (await _translate(client, bob, public["id"], lang="not a language"))[0] == 422
    # Without `lang`, the reader's language (en here): the same as the status's.
    status_code, body = await _translate(client, bob, public["id"])
    assert status_code == 403 and body == {"error": "This action is not allowed"}

    await follow(client, bob, alice)
    private = await post(client, alice, "Followers only", language="en", visibility="private")
    assert (await _translate(client, bob, private["id"], lang="de"))[0] == 403
    direct = await post(client, alice, "@bob psst", language="en", visibility="direct")
    assert (await _translate(client, bob, direct["id"], lang="de"))[0] == 403
    assert (await _translate(client, carol, private["id"], lang="de"))[0] == 404
    assert (await _translate(client, carol, "123456789", lang="de"))[0] == 404
    anonymous = await client.post(f"/api/v1/statuses/{public['id']}/translate")
    assert anonymous.status_code == 401
    assert translator.requests == []

    translator.failing = True
    status_code, body = await _translate(client, bob, public["id"], lang="de")
    assert status_code == 503 and "500" in body["error"]
    translator.failing = False
    status_code, body = await _translate(client, bob, public["id"], lang="fr")
    assert status_code == 200 and body["content"] == "<p>gOOD MORNING</p>"

    # A boost is translated as the status it boosts.
    status_code, boost = await act(client, carol, f"/api/v1/statuses/{public['id']}/reblog")
    assert status_code == 200
    status_code, body = await _translate(client, bob, boost["id"], lang="fr")
    assert status_code == 200 and body["content"] == "<p>gOOD MORNING</p>"


async def test_deepl(deepl: tuple[Runtime, Any], translator: Translator) -> None:
    rt, client = deepl
    alice = await make_user(rt, client, "alice")
    status = await post(client, alice, "Hallo <Welt>", language="de", spoiler_text="Achtung")
    status_code, pairs = await get(client, alice, "/api/v1/instance/translation_languages")
    assert pairs["de"] == ["en", "en-gb"] and pairs["en"] == ["de"]
    status_code, found = await _translate(client, alice, status["id"], lang="en")
    assert status_code == 200, found
    [sent] = translator.requests
    assert sent == {
        "text": [status["content"], "Achtung"],
        "target_lang": "EN",
        "source_lang": "DE",
        "tag_handling": "html",
    }
    assert all(h.get("authorization") == "DeepL-Auth-Key d33pl" for h in translator.headers)
    assert (
        found["content"] == sanitize_html(flip(status["content"]))
        and "&lt;wELT&gt;" in found["content"]
    )
    assert found["spoiler_text"] == "aCHTUNG"
    assert found["provider"] == "DeepL.com" and found["detected_source_language"] == "de"
    assert "poll" not in found and found["media_attachments"] == []


async def test_off_without_a_service(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    status = await post(client, alice, "Hello", language="en")
    _, instance = await get(client, None, "/api/v2/instance")
    assert instance["configuration"]["translation"]["enabled"] is False
    assert await get(client, alice, "/api/v1/instance/translation_languages") == (200, {})
    assert (await _translate(client, alice, status["id"], lang="de"))[0] == 404
