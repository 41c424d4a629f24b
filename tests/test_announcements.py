"""Announcements: the API (read, dismiss, reactions), the CLI, and the broadcast stream."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from tests.social import get, make_user, post, token_with
from tests.test_cli import _env, wb
from tests.test_custom_emoji import image
from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.announcements import (
    AnnouncementError,
    is_unicode_emoji,
    publish,
    react,
    remove,
)
from wildebeest_trio.services.custom_emoji import add_emoji


async def _put(client: Any, user: Any, path: str, method: str = "PUT") -> tuple[int, Any]:
    response = await client.open(path, method=method, headers=user.headers)
    return response.status_code, await response.get_json()


async def test_announcements_show_what_they_refer_to(rt: Runtime, client: Any) -> None:
    await add_emoji(rt, "blobcat", image())
    ann = await make_user(rt, client, "ann")
    bob = await make_user(rt, client, "bob")
    status = await post(client, bob, "the release notes")
    row = await publish(
        rt,
        f"Hello @bob! See {status['url']} #News :blobcat:",
        starts_at=now_ms() - 1000,
        ends_at=now_ms() + 3_600_000,
        all_day=False,
    )
    code, body = await get(client, ann, "/api/v1/announcements")
    assert code == 200 and len(body) == 1
    entity = body[0]
    assert entity["id"] == str(row["id"])
    assert (
        entity["content"].startswith("<p>Hello ") and 'class="u-url mention"' in entity["content"]
    )
    assert entity["mentions"] == [
        {"id": bob.id, "username": "bob", "url": entity["mentions"][0]["url"], "acct": "bob"}
    ]
    assert entity["statuses"] == [{"id": status["id"], "url": status["url"]}]
    assert [t["name"] for t in entity["tags"]] == ["News"]
    assert [e["shortcode"] for e in entity["emojis"]] == ["blobcat"]
    assert entity["reactions"] == [] and entity["read"] is False and entity["all_day"] is False
    assert entity["starts_at"] and entity["ends_at"] and entity["published_at"]

    code, body = await _put(client, ann, f"/api/v1/announcements/{row['id']}/dismiss", "POST")
    assert (code, body) == (200, {})
    assert (await get(client, ann, "/api/v1/announcements"))[1] == []
    code, body = await get(client, ann, "/api/v1/announcements?with_dismissed=true")
    assert [a["read"] for a in body] == [True]
    assert (await get(client, bob, "/api/v1/announcements"))[1][0]["read"] is False


async def test_reactions_count_per_name(rt: Runtime, client: Any) -> None:
    await add_emoji(rt, "blobcat", image())
    ann = await make_user(rt, client, "ann")
    bob = await make_user(rt, client, "bob")
    row = await publish(rt, "Maintenance tonight")
    base = f"/api/v1/announcements/{row['id']}/reactions"
    assert await _put(client, ann, f"{base}/%F0%9F%91%8D") == (200, {})
    assert await _put(client, bob, f"{base}/%F0%9F%91%8D") == (200, {})
    assert await _put(client, bob, f"{base}/%F0%9F%91%8D") == (200, {})  # once per person
    assert await _put(client, ann, f"{base}/blobcat") == (200, {})

    code, body = await get(client, ann, "/api/v1/announcements")
    reactions = body[0]["reactions"]
    assert reactions[0] == {"name": "👍", "count": 2, "me": True}
    assert reactions[1]["name"] == "blobcat" and reactions[1]["count"] == 1
    assert reactions[1]["me"] is True
    assert reactions[1]["url"].endswith(".png") and reactions[1]["static_url"].endswith(".png")
    code, body = await get(client, bob, "/api/v1/announcements")
    assert [(r["name"], r["me"]) for r in body[0]["reactions"]] == [
        ("👍", True),
        ("blobcat", False),
    ]

    assert await _put(client, ann, f"{base}/%F0%9F%91%8D", "DELETE") == (200, {})
    code, body = await get(client, ann, "/api/v1/announcements")
    assert body[0]["reactions"][0] == {"name": "👍", "count": 1, "me": False}

    for bad in ("nope", "abc", "%3Cb%3E"):
        code, body = await _put(client, ann, f"{base}/{bad}")
        assert code == 422 and "emoji" in body["error"]
    assert (await _put(client, ann, "/api/v1/announcements/999/reactions/%F0%9F%91%8D"))[0] == 404
    assert (await _put(client, ann, "/api/v1/announcements/x/dismiss", "POST"))[0] == 404
    assert (await _put(client, ann, "/api/v1/announcements/999/dismiss", "POST"))[0] == 404

    read_only = await token_with(client, ann, "read")
    response = await client.put(
        f"{base}/%F0%9F%91%8D", headers={"Authorization": f"Bearer {read_only}"}
    )
    assert response.status_code == 403
    write_only = await token_with(client, ann, "write")
    response = await client.get(
        "/api/v1/announcements", headers={"Authorization": f"Bearer {write_only}"}
    )
    assert response.status_code == 403
    assert (await client.get("/api/v1/announcements")).status_code == 401


async def test_ended_and_removed_announcements_are_gone(rt: Runtime, client: Any) -> None:
    ann = await make_user(rt, client, "ann")
    past = await publish(rt, "Over", starts_at=now_ms() - 7_200_000, ends_at=now_ms() - 1)
    current = await publish(rt, "Still on")
    code, body = await get(client, ann, "/api/v1/announcements")
    assert code == 200 and [a["id"] for a in body] == [str(current["id"])]
    assert await remove(rt, current["id"]) is True
    assert await remove(rt, current["id"]) is False
    assert (await get(client, ann, "/api/v1/announcements"))[1] == []
    assert past["published_at"] is not None


@pytest.mark.parametrize(
    ("text", "starts", "ends", "all_day"),
    [
        ("  ", None, None, False),
        ("x", 10, None, False),
        ("x", 20, 10, False),
        ("x", None, None, True),
    ],
)
async def test_bad_announcements_are_refused(
    rt: Runtime, text: str, starts: int | None, ends: int | None, all_day: bool
) -> None:
    with pytest.raises(AnnouncementError):
        await publish(rt, text, starts_at=starts, ends_at=ends, all_day=all_day)


def test_unicode_emoji_names() -> None:
    for good in ("👍", "❤️", "👩🏽‍💻", "🇫🇷", "1️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"):
        assert is_unicode_emoji(good), good
    for bad in ("", "a", "👍a", "1", ":blobcat:", "<", "\u200d"):
        assert not is_unicode_emoji(bad), bad


async def test_changes_reach_every_user_stream(rt: Runtime, live_server: str, client: Any) -> None:
    ann = await make_user(rt, client, "ann")
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        async with http.stream(
            "GET", "/api/v1/streaming/user", params={"access_token": ann.token}
        ) as response:
            assert response.status_code == 200
            lines = response.aiter_lines()
            assert await lines.__anext__() == ":)"
            row = await publish(rt, "Hello everyone")
            await react(rt, int(ann.id), row["id"], "🎉", on=True)
            await remove(rt, row["id"])
            seen: list[str] = []
            with trio.fail_after(5):
                async for line in lines:
                    if line and not line.startswith(":"):
                        seen.append(line)
                    if len(seen) == 6:
                        break
    assert seen[0] == "event: announcement"
    assert json.loads(seen[1].removeprefix("data: "))["id"] == str(row["id"])
    assert seen[2] == "event: announcement.reaction"
    assert json.loads(seen[3].removeprefix("data: ")) == {
        "name": "🎉",
        "count": 1,
        "announcement_id": str(row["id"]),
    }
    assert seen[4:] == ["event: announcement.delete", f"data: {row['id']}"]


def test_announcement_commands(tmp_path: Path, database_url: str) -> None:
    env = _env(tmp_path, database_url)
    assert wb(env, "migrate").returncode == 0
    added = wb(
        env,
        "announcements",
        "add",
        "Party on #friday",
        "--starts-at",
        "2030-01-01",
        "--ends-at",
        "2030-01-02T00:00:00Z",
        "--all-day",
    )
    assert added.returncode == 0, added.stderr
    announcement_id = added.stdout.strip()
    listed = wb(env, "announcements", "list").stdout.splitlines()
    assert listed == [
        f"{announcement_id}\t2030-01-01T00:00:00.000Z..2030-01-02T00:00:00.000Z\tParty on #friday"
    ]
    bad = wb(env, "announcements", "add", "x", "--starts-at", "soon", "--ends-at", "later")
    assert bad.returncode == 1 and "ISO 8601" in bad.stderr
    assert wb(env, "announcements", "remove", announcement_id).returncode == 0
    assert wb(env, "announcements", "list").stdout == ""
    assert wb(env, "announcements", "remove", announcement_id).returncode == 1
