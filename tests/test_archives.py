"""The archive on the settings page: Mastodon's takeout format in one zip, built by a job,
downloadable, once a week, deleted after seven days."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from quart.datastructures import FileStorage

from tests.conftest import free_port
from tests.fakes.peers import Instance, eventually, follow_accepted, peer_config
from tests.oauth_flow import csrf_from
from tests.social import User, act, get, make_user, post
from tests.web_helpers import html_of, log_in, submit
from wildebeest_trio.services import archives

pytest_plugins = ("tests.fakes.fixtures",)


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Any:
    return peer_config(tmp_path, database_url)


def png(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "PNG")
    return out.getvalue()


async def test_archive_in_mastodons_format(a: Instance) -> None:
    alice = await make_user(a.rt, a.client, "alice")
    bob = await make_user(a.rt, a.client, "bob")
    response = await a.client.patch(
        "/api/v1/accounts/update_credentials",
        headers=alice.headers,
        files={"avatar": FileStorage(io.BytesIO(png("red")), "a.png", content_type="image/png")},
    )
    assert response.status_code == 200
    response = await a.client.post(
        "/api/v1/media",
        headers=alice.headers,
        files={"file": FileStorage(io.BytesIO(png("blue")), "p.png", content_type="image/png")},
    )
    assert response.status_code == 200
    media = await response.get_json()
    public = await post(a.client, alice, "hello world", media_ids=[media["id"]])
    private = await post(a.client, alice, "for followers", visibility="private")
    theirs = await post(a.client, bob, "likeable")
    await act(a.client, alice, f"/api/v1/statuses/{theirs['id']}/favourite")
    await act(a.client, alice, f"/api/v1/statuses/{theirs['id']}/bookmark")

    await log_in(a.client, "alice")
    link = await _archive_link(a)
    response = await a.client.get(link)
    assert response.status_code == 200 and response.content_type == "application/zip"
    # Kept in the private store, outside the served media folder.
    [key] = await a.rt.media.private.keys()
    assert key.startswith("archives/") and key.endswith(".zip")
    assert key not in await a.rt.media.keys()
    assert (await a.client.get(f"/system/{key}")).status_code == 404
    assert "attachment" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(await response.get_data()))
    names = set(archive.namelist())
    assert {"actor.json", "outbox.json", "likes.json", "bookmarks.json", "avatar.jpg"} <= names
    actor = json.loads(archive.read("actor.json"))
    assert actor["preferredUsername"] == "alice" and actor["type"] == "Person"
    assert actor["icon"]["url"] == "avatar.jpg"
    assert (actor["outbox"], actor["likes"], actor["bookmarks"]) == (
        "outbox.json",
        "likes.json",
        "bookmarks.json",
    )
    assert Image.open(io.BytesIO(archive.read("avatar.jpg"))).size[0] > 0
    outbox = json.loads(archive.read("outbox.json"))
    assert outbox["type"] == "OrderedCollection" and outbox["id"] == "outbox.json"
    assert outbox["totalItems"] == 2
    notes = {item["object"]["id"]: item for item in outbox["orderedItems"]}
    assert set(notes) == {public["uri"], private["uri"]}
    assert all(item["type"] == "Create" for item in notes.values())
    attachment = notes[public["uri"]]["object"]["attachment"][0]
    assert attachment["url"].startswith("media_attachments/files/")
    assert attachment["url"] in names
    assert Image.open(io.BytesIO(archive.read(attachment["url"]))).size == (64, 48)
    for name in ("likes.json", "bookmarks.json"):
        collection = json.loads(archive.read(name))
        assert collection["id"] == name and collection["orderedItems"] == [theirs["uri"]]

    # One a week.
    response = await submit(a.client, "/settings/export", "/settings/export/archive", {})
    html = await response.get_data(as_text=True)
    assert response.status_code == 422 and "once every 7 days" in html

    # Another account cannot download it.
    await log_in(a.client, "bob")
    assert (await a.client.get(link)).status_code == 404

    # Seven days later it is gone.
    async def age(conn: Any) -> None:
        await conn.execute("UPDATE account_archives SET expires_at = 1, created_at = 1")

    await a.rt.store.write(age)
    assert await archives.remove_expired(a.rt) == 1
    await log_in(a.client, "alice")
    assert (await a.client.get(link)).status_code == 404
    assert await a.rt.media.private.keys() == []
    html = await html_of(a.client, "/settings/export")
    assert "/settings/export/archive/" not in html


async def _uploaded(side: Instance, user: User, color: str, description: str) -> dict[str, Any]:
    """A square of `color` uploaded by `user`, described."""
    response = await side.client.post(
        "/api/v1/media",
        headers=user.headers,
        files={"file": FileStorage(io.BytesIO(png(color)), "p.png", content_type="image/png")},
        form={"description": description},
    )
    assert response.status_code == 200
    return dict(await response.get_json())


async def _archive_of(side: Instance) -> bytes:
    """The signed-in person's archive on `side`, asked for and downloaded."""
    link = await _archive_link(side)
    return bytes(await (await side.client.get(link)).get_data())


async def _archive_link(side: Instance) -> str:
    """Ask for the signed-in person's archive on `side`; its link once it is ready."""
    response = await submit(side.client, "/settings/export", "/settings/export/archive", {})
    assert response.status_code == 303

    async def ready() -> Any:
        html = await html_of(side.client, "/settings/export")
        return re.search(r'href="(/settings/export/archive/\d+\.zip)"', html)

    return str((await eventually(ready, "the archive"))[1])


async def _import_archive(side: Instance, data: bytes, name: str) -> dict[str, str]:
    token = csrf_from(await html_of(side.client, "/settings/export"))
    response = await side.client.post(
        "/settings/import",
        form={"csrf_token": token, "type": "archive"},
        files={"file": FileStorage(io.BytesIO(data), name)},
    )
    assert response.status_code == 303, await response.get_data(as_text=True)

    async def finished() -> Any:
        html = await html_of(side.client, "/settings/export")
        match = re.search(
            rf'<td>{re.escape(name)}</td>.*?<td class="state">finished</td>'
            r'<td class="done">(\d+)</td><td class="failed">(\d+)</td>',
            html,
        )
        return {"done": match[1], "failed": match[2]} if match else None

    return dict(await eventually(finished, "the archive import"))


async def test_an_archive_becomes_history_on_another_server(a: Instance, b: Instance) -> None:
    alice = await make_user(a.rt, a.client, "alice")
    bob = await make_user(a.rt, a.client, "bob")
    media = await _uploaded(a, alice, "blue", "a blue square")
    first = await post(a.client, alice, "hello world", media_ids=[media["id"]])
    warned = await post(a.client, alice, "spoilers", spoiler_text="film", visibility="unlisted")
    await post(a.client, alice, "only followers", visibility="private")
    thread = await post(a.client, alice, "more to say", in_reply_to_id=first["id"])
    theirs = await post(a.client, bob, "a question")
    answer = await post(a.client, alice, "an answer", in_reply_to_id=theirs["id"])
    await log_in(a.client, "alice")
    data = await _archive_of(a)

    # Carol on A follows alice's new account on B before the import.
    new = await make_user(b.rt, b.client, "alice")
    carol = await make_user(a.rt, a.client, "carol")
    await follow_accepted(a, carol, b, new)
    await log_in(b.client, "alice")
    assert await _import_archive(b, data, "archive.zip") == {"done": "4", "failed": "0"}

    code, shown = await get(b.client, None, f"/api/v1/accounts/{new.id}/statuses?limit=40")
    assert code == 200
    by_url = {s["url"]: s for s in shown}
    assert set(by_url) == {first["url"], warned["url"], thread["url"], answer["url"]}
    # In the original order, with the original dates, text, warnings and media.
    assert [s["url"] for s in shown] == [answer["url"], thread["url"], warned["url"], first["url"]]
    for original in (first, warned, thread, answer):
        assert by_url[original["url"]]["created_at"] == original["created_at"]
    assert "hello world" in by_url[first["url"]]["content"]
    assert by_url[warned["url"]]["spoiler_text"] == "film"
    assert by_url[warned["url"]]["visibility"] == "unlisted"
    [attachment] = by_url[first["url"]]["media_attachments"]
    assert attachment["type"] == "image" and attachment["description"] == "a blue square"
    image = await b.client.get(attachment["url"].removeprefix(b.rt.config.base_url))
    assert Image.open(io.BytesIO(await image.get_data())).size == (64, 48)
    # A reply within the archive stays one; a reply to someone else links to it.
    assert by_url[thread["url"]]["in_reply_to_id"] == by_url[first["url"]]["id"]
    assert by_url[answer["url"]]["in_reply_to_id"] is None
    assert theirs["uri"] in by_url[answer["url"]]["content"]
    _, me = await get(b.client, new, "/api/v1/accounts/verify_credentials")
    assert me["statuses_count"] == 4

    # Nothing was delivered: carol's home on A has none of it, no one was notified.
    code, home = await get(a.client, carol, "/api/v1/timelines/home")
    assert code == 200 and home == []
    _, told = await get(a.client, bob, "/api/v1/notifications")
    assert [n for n in told if n["type"] == "mention"] == []

    # The same archive again adds nothing.
    assert await _import_archive(b, data, "again.zip") == {"done": "4", "failed": "0"}
    code, shown = await get(b.client, None, f"/api/v1/accounts/{new.id}/statuses?limit=40")
    assert len(shown) == 4


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def _with_mention(data: bytes, url: str, href: str, name: str) -> bytes:
    """The archive with one more Mention tag on the post at `url` (of an account no server
    answers for: it cannot be resolved anywhere)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "outbox.json":
                outbox = json.loads(content)
                for item in outbox["orderedItems"]:
                    if item["object"].get("url") == url:
                        tags = item["object"].setdefault("tag", [])
                        tags.append({"type": "Mention", "href": href, "name": name})
                content = json.dumps(outbox).encode()
            archive.writestr(info, content)
    return out.getvalue()


async def test_round_trip_to_a_fresh_server(a: Instance, b: Instance) -> None:
    """Alice's archive from A, imported by her new account on a fresh server B: her profile
    there shows the same posts with the same media (the same bytes), her poll closed with
    its counts, her hashtags on B's tag page, her mentions linked to the accounts (bob of
    A found through WebFinger; a gone account stays a link), and no one is told."""
    alice = await make_user(a.rt, a.client, "alice")
    bob = await make_user(a.rt, a.client, "bob")
    media = await _uploaded(a, alice, "green", "a green square")
    pictured = await post(a.client, alice, "look #Savanna", media_ids=[media["id"]])
    asked = await post(
        a.client, alice, "tea or coffee?", poll={"options": ["tea", "coffee"], "expires_in": 600}
    )
    code, voted = await act(
        a.client, bob, f"/api/v1/polls/{asked['poll']['id']}/votes", choices=[1]
    )
    assert code == 200, voted
    greeting = await post(a.client, alice, f"hello @bob@{a.host}")
    original = {
        s["url"]: s for s in (await get(a.client, None, f"/api/v1/accounts/{alice.id}/statuses"))[1]
    }
    picture_bytes = await (
        await a.client.get(media["url"].removeprefix(a.rt.config.base_url))
    ).get_data()
    await log_in(a.client, "alice")
    gone = f"127.0.0.1:{free_port()}"
    data = _with_mention(
        await _archive_of(a), greeting["url"], f"http://{gone}/users/ghost", f"@ghost@{gone}"
    )

    new = await make_user(b.rt, b.client, "alice")
    await log_in(b.client, "alice")
    assert await _import_archive(b, data, "archive.zip") == {"done": "3", "failed": "0"}

    code, shown = await get(b.client, None, f"/api/v1/accounts/{new.id}/statuses")
    assert code == 200
    assert [s["url"] for s in shown] == [greeting["url"], asked["url"], pictured["url"]]
    for status in shown:
        before = original[status["url"]]
        assert status["created_at"] == before["created_at"]
        # The same text and links (this server's sanitizer drops `rel` and `target`).
        assert _text(status["content"]) == _text(before["content"])
        assert re.findall(r'href="([^"]+)"', status["content"]) == re.findall(
            r'href="([^"]+)"', before["content"]
        )
    by_url = {s["url"]: s for s in shown}
    [attachment] = by_url[pictured["url"]]["media_attachments"]
    assert attachment["description"] == "a green square"
    copied = await b.client.get(attachment["url"].removeprefix(b.rt.config.base_url))
    assert await copied.get_data() == picture_bytes
    # The profile page shows the same posts and the picture.
    profile = await html_of(b.client, "/@alice")
    for text in ("look", "tea or coffee?", "hello"):
        assert text in profile
    assert attachment["url"].removeprefix(b.rt.config.base_url) in profile

    poll = by_url[asked["url"]]["poll"]
    assert poll["expired"] is True and poll["multiple"] is False
    assert [(o["title"], o["votes_count"]) for o in poll["options"]] == [("tea", 0), ("coffee", 1)]
    assert poll["votes_count"] == 1 and poll["voters_count"] == 1
    code, tagged = await get(b.client, None, "/api/v1/timelines/tag/savanna")
    assert code == 200 and [s["url"] for s in tagged] == [pictured["url"]]
    assert [t["name"] for t in by_url[pictured["url"]]["tags"]] == ["savanna"]
    mentions = by_url[greeting["url"]]["mentions"]
    assert [m["acct"] for m in mentions] == [f"bob@{a.host}"]
    assert f'href="{a.rt.config.base_url}/@bob"' in by_url[greeting["url"]]["content"]

    # Nothing went out: bob on A was not told of the mention again, nor of the poll.
    _, told = await get(a.client, bob, "/api/v1/notifications")
    assert [n["type"] for n in told] == ["mention"]
    _, told = await get(b.client, new, "/api/v1/notifications")
    assert told == []


async def test_an_archive_that_is_not_one_is_refused(a: Instance) -> None:
    await make_user(a.rt, a.client, "alice")
    await log_in(a.client, "alice")
    for data, message in (
        (b"not a zip", "not a Mastodon archive"),
        (_zip({"actor.json": "{}"}), "not a Mastodon archive"),
        (_zip({"outbox.json": "[1, 2"}), "cannot be read"),
        (_zip({"outbox.json": json.dumps({"orderedItems": []})}), "no public or unlisted"),
    ):
        token = csrf_from(await html_of(a.client, "/settings/export"))
        response = await a.client.post(
            "/settings/import",
            form={"csrf_token": token, "type": "archive"},
            files={"file": FileStorage(io.BytesIO(data), "x.zip")},
        )
        html = await response.get_data(as_text=True)
        assert response.status_code == 422 and message in html
        assert "<td>x.zip</td>" not in html


def _zip(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return out.getvalue()
