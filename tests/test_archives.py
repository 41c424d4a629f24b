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

from tests.fakes.peers import Instance, eventually, peer_config
from tests.social import act, make_user, post
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
    response = await submit(a.client, "/settings/export", "/settings/export/archive", {})
    assert response.status_code == 303

    async def ready() -> Any:
        html = await html_of(a.client, "/settings/export")
        return re.search(r'href="(/settings/export/archive/\d+\.zip)"', html)

    link = (await eventually(ready, "the archive"))[1]
    response = await a.client.get(link)
    assert response.status_code == 200 and response.content_type == "application/zip"
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
    assert not list((Path(a.rt.config.data_dir) / "archives").iterdir())
    html = await html_of(a.client, "/settings/export")
    assert "/settings/export/archive/" not in html
