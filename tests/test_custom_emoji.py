"""Custom emoji: adding from image files, the picker's list, and `emojis` in entities."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.fakes.rows import remote_account, remote_status
from tests.social import get, make_user, post
from tests.test_cli import _env, wb
from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.custom_emoji import EmojiError, add_emoji, remove_emoji
from wildebeest_trio.store import Connection


def image(fmt: str = "PNG", size: tuple[int, int] = (64, 64), frames: int = 1) -> bytes:
    mode = "RGB" if fmt == "JPEG" else "RGBA"
    pictures = [Image.new(mode, size, (255, 40 * i, 0, 255)[: len(mode)]) for i in range(frames)]
    buf = io.BytesIO()
    if frames > 1:
        pictures[0].save(buf, format=fmt, save_all=True, append_images=pictures[1:], duration=80)
    else:
        pictures[0].save(buf, format=fmt)
    return buf.getvalue()


async def test_the_picker_lists_enabled_local_emoji(rt: Runtime, client: Any) -> None:
    await add_emoji(rt, ":blobcat:", image(), category="Blobs")
    await add_emoji(rt, "party", image("GIF", frames=3), visible_in_picker=False)

    response = await client.get("/api/v1/custom_emojis")
    assert response.status_code == 200
    assert "public" in response.headers["Cache-Control"]
    body = await response.get_json()
    assert [e["shortcode"] for e in body] == ["party", "blobcat"]  # uncategorised first
    by_code = {e["shortcode"]: e for e in body}
    blob, party = by_code["blobcat"], by_code["party"]
    assert blob["category"] == "Blobs" and blob["visible_in_picker"] is True
    assert party["category"] is None and party["visible_in_picker"] is False
    base = rt.config.base_url + "/system/emoji/"
    assert blob["url"].startswith(base) and blob["url"].endswith(".png")
    assert party["url"].endswith(".gif") and party["static_url"].endswith(".png")
    static = await client.get(party["static_url"].removeprefix(rt.config.base_url))
    assert static.status_code == 200
    still = Image.open(io.BytesIO(await static.get_data()))
    assert still.format == "PNG" and still.size == (64, 64)

    await remove_emoji(rt, "party")
    body = await (await client.get("/api/v1/custom_emojis")).get_json()
    assert [e["shortcode"] for e in body] == ["blobcat"]


@pytest.mark.parametrize(
    ("shortcode", "data", "message"),
    [
        ("big", image(size=(401, 40)), "400x400"),
        ("jpeg", image("JPEG"), "image"),
        ("a", image(), "shortcode"),
        ("bad-code", image(), "shortcode"),
        ("huge", b"\x89PNG" + b"\0" * (256 * 1024), "too large"),
        ("junk", b"not an image", ""),
    ],
)
async def test_bad_emoji_are_refused(
    rt: Runtime, shortcode: str, data: bytes, message: str
) -> None:
    with pytest.raises(EmojiError, match=message or None):
        await add_emoji(rt, shortcode, data)


async def test_duplicates_and_unknown_removals_are_refused(rt: Runtime) -> None:
    await add_emoji(rt, "blobcat", image())
    with pytest.raises(EmojiError, match="already exists"):
        await add_emoji(rt, "blobcat", image("WEBP"))
    with pytest.raises(EmojiError, match="no emoji"):
        await remove_emoji(rt, "nothing")


async def test_statuses_and_accounts_carry_the_emoji_they_use(rt: Runtime, client: Any) -> None:
    await add_emoji(rt, "blobcat", image())
    await add_emoji(rt, "fox", image("WEBP"))
    ann = await make_user(rt, client, "ann")
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=ann.headers,
        json={"display_name": "Ann :fox:", "note": "hi :nope:"},
    )
    assert response.status_code == 200
    assert [e["shortcode"] for e in (await response.get_json())["emojis"]] == ["fox"]

    status = await post(
        client, ann, "I love :blobcat: and :unknown: (not:fox:)", spoiler_text=":fox:"
    )
    assert {e["shortcode"] for e in status["emojis"]} == {"blobcat", "fox"}
    assert [e["shortcode"] for e in status["account"]["emojis"]] == ["fox"]
    code, home = await get(client, ann, "/api/v1/timelines/home")
    assert code == 200 and {e["shortcode"] for e in home[0]["emojis"]} == {"blobcat", "fox"}
    code, account = await get(client, None, f"/api/v1/accounts/{ann.id}")
    assert code == 200 and [e["shortcode"] for e in account["emojis"]] == ["fox"]
    code, me = await get(client, ann, "/api/v1/accounts/verify_credentials")
    assert [e["shortcode"] for e in me["emojis"]] == ["fox"]

    plain = await post(client, ann, "no emoji here")
    assert plain["emojis"] == []


async def test_remote_statuses_use_their_own_domain_emoji(rt: Runtime, client: Any) -> None:
    await add_emoji(rt, "blobcat", image())
    zed = await remote_account(rt, "zed", "remote.example", display_name="Zed :blobcat:")
    status_id = await remote_status(rt, zed, "remote.example", "<p>:blobcat: :wave:</p>")

    async def unit(conn: Connection) -> None:
        for code in ("wave", "blobcat"):
            await conn.execute(
                "INSERT INTO custom_emojis (id, shortcode, domain, uri, image_remote_url, "
                "visible_in_picker, disabled, created_at, updated_at) "
                "VALUES ($1, $2, 'remote.example', $3, $4, TRUE, $5, $6, $6)",
                rt.ids.next_id(),
                code,
                f"https://remote.example/emojis/{code}",
                f"https://remote.example/files/{code}.png",
                code == "blobcat",  # their blobcat is disabled here
                now_ms(),
            )

    await rt.store.write(unit)
    ann = await make_user(rt, client, "ann")
    code, status = await get(client, ann, f"/api/v1/statuses/{status_id}")
    assert code == 200
    assert status["emojis"] == [
        {
            "shortcode": "wave",
            "url": "https://remote.example/files/wave.png",
            "static_url": "https://remote.example/files/wave.png",
            "visible_in_picker": True,
            "category": None,
        }
    ]
    # The local :blobcat: is not theirs: a remote account never borrows local emoji.
    assert status["account"]["emojis"] == []
    code, body = await get(client, None, "/api/v1/custom_emojis")
    assert [e["shortcode"] for e in body] == ["blobcat"]


def test_emoji_commands(tmp_path: Path, database_url: str) -> None:
    env = _env(tmp_path, database_url)
    assert wb(env, "migrate").returncode == 0
    picture = tmp_path / "blob.png"
    picture.write_bytes(image())
    added = wb(env, "emoji", "add", "blobcat", str(picture), "--category", "Blobs", "--unlisted")
    assert added.returncode == 0, added.stderr
    assert ":blobcat:" in added.stderr
    listed = wb(env, "emoji", "list")
    assert listed.stdout.splitlines() == [":blobcat:\tBlobs\tunlisted"]
    again = wb(env, "emoji", "add", "blobcat", str(picture))
    assert again.returncode == 1 and "already exists" in again.stderr
    missing = wb(env, "emoji", "add", "other", str(tmp_path / "none.png"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    assert wb(env, "emoji", "remove", "blobcat").returncode == 0
    assert wb(env, "emoji", "list").stdout == ""
    gone = wb(env, "emoji", "remove", "blobcat")
    assert gone.returncode == 1 and "no emoji" in gone.stderr
