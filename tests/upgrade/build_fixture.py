"""Build the upgrade fixture: a populated database of an older version, and what it answered.

Run once, by hand, against a checkout of the older commit (here `dec4308`, schema 0016), with
that checkout first on the path; never at test time:

    git -C /work/main worktree add /tmp/old dec4308
    cp wildebeest_trio/_rust.abi3.so /tmp/old/wildebeest_trio/
    cd /tmp/old && PYTHONPATH=/tmp/old python /path/to/this/tests/upgrade/build_fixture.py \
        /path/to/this/tests/upgrade/v0016

It starts that version's server on a fresh SQLite database (domain `upgrade.test`, plain http)
with its job workers, outbox and stream relay, plus a fake remote server on 127.0.0.1 whose
actors talk to it through signed inbox deliveries; then it fills every table through the
Mastodon API, the web pages (admin, settings, two-factor) and the inbox, waits for the short
poll to end (5 minutes: Mastodon's shortest poll), stops the workers, leaves one upload queued
(as a server stopped mid-processing does), and checks that every table has rows except
`EMPTY_AT_REST`. It writes into the output folder:

- `rows.json`: every row of every table (but the search index, which triggers rebuild), in a
  form either backend loads: booleans as JSON booleans, bytes as `{"base64": ...}`, NULL as
  null, integers as integers; rows in the order they were written, and with each table its
  columns, primary key and the tables its foreign keys name (to load parents first);
- `data/`: the data folder without the database: the secret key (two-factor secrets are sealed
  with it) and every media file, local and cached remote;
- `answers.json.gz`: what the server answered to a fixed list of GETs (Mastodon API as each user,
  ActivityPub documents, WebFinger, NodeInfo), with the status code and JSON body;
- `manifest.json`: the schema version, the users' tokens, e-mails and password, the two-factor
  secret, and the remote server's origin.

Everything is made here (tiny images with Pillow, a tiny video with ffmpeg), nothing fetched.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import trio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from PIL import Image
from quart import Response, request
from quart_trio import QuartTrio
from werkzeug.datastructures import FileStorage

from tests.conftest import free_port, make_config
from tests.inbox_support import PUBLIC, RemoteActor, RemoteServer, signed_headers
from tests.oauth_flow import authorize, csrf_from, register_app, sign_in
from tests.social import PASSWORD, User, make_user
from wildebeest_trio.federation.actors import refresh_actor
from wildebeest_trio.federation.instance_actor import ensure_instance_actor
from wildebeest_trio.federation.outbox import run_outbox
from wildebeest_trio.http import create_app
from wildebeest_trio.ids import now_ms
from wildebeest_trio.jobs.worker import run_workers
from wildebeest_trio.runtime import Runtime, open_runtime
from wildebeest_trio.services.instance import ensure_instance_keys
from wildebeest_trio.store import Connection
from wildebeest_trio.store.migrate import discover
from wildebeest_trio.streaming.relay import run_relay

DOMAIN = "upgrade.test"
BASE = f"http://{DOMAIN}"

# Tables a server at rest may legitimately leave empty, and why.
EMPTY_AT_REST = {
    # PostgreSQL only: large stream events parked for NOTIFY; SQLite never writes it, and
    # rows live for minutes.
    "stream_payloads": "PostgreSQL-only and short-lived",
    # A domain becomes unavailable after failed deliveries on 7 distinct days; a fixture made
    # in minutes has one day of failures (in delivery_failures).
    "unavailable_domains": "needs 7 days of failed deliveries",
}
# Derived tables: rebuilt by triggers from `statuses`, never exported (the FTS5 shadow tables
# are SQLite's own).
DERIVED = ("status_search",)


# Files ----------------------------------------------------------------------------------------


def png(color: tuple[int, int, int], size: tuple[int, int] = (24, 16)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def jpeg(size: tuple[int, int] = (40, 30)) -> bytes:
    image = Image.new("RGB", size, (20, 120, 200))
    for x in range(size[0] // 2):
        for y in range(size[1]):
            image.putpixel((x, y), (230, 200, 40))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def video(folder: Path) -> bytes:
    """A 0.4 s 32x24 WebM test pattern."""
    target = folder / "clip.webm"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=32x24:rate=10",
            "-t",
            "0.4",
            str(target),
        ],
        check=True,
        capture_output=True,
    )
    return target.read_bytes()


def upload(data: bytes, name: str, ctype: str) -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name, content_type=ctype)


# The fake remote server -------------------------------------------------------------------------


@dataclass
class Remote(RemoteServer):
    """The inbox tests' remote server, also serving media files and keeping what it received."""

    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)

    def file(self, path: str, data: bytes, ctype: str) -> str:
        url = f"{self.origin()}/{path}"
        self.files[url] = (data, ctype)
        return url


async def start_remote(nursery: trio.Nursery) -> Remote:
    """`inbox_support.remote` with files and a failing inbox (this script runs with the older
    tree's helpers, so it cannot extend today's)."""
    state = Remote(free_port())
    app = QuartTrio("remote")

    @app.route("/<path:path>", methods=["GET"])
    async def document(path: str) -> Response:
        url = f"http://{request.headers.get('Host')}/{path}"
        if url in state.files:
            data, ctype = state.files[url]
            return Response(data, content_type=ctype)
        found = state.documents.get(url)
        if found is None:
            return Response("", status=404)
        return Response(json.dumps(found), content_type="application/activity+json")

    @app.route("/<path:path>", methods=["POST"])
    async def inbox(path: str) -> Response:
        body = await request.get_data()
        if path.startswith("push/"):
            return Response("", status=201)
        if path == "gone/inbox":
            return Response("", status=503)  # a server that is down: deliveries retry
        state.received.append(json.loads(body))
        return Response("", status=202)

    config = HypercornConfig()
    config.bind = [f"127.0.0.1:{state.port}"]
    config.accesslog = None
    await nursery.start(serve, app, config)
    return state


# The API ---------------------------------------------------------------------------------------


@dataclass
class Api:
    """The test client of the old server, with its runtime and the remote server."""

    rt: Runtime
    client: Any
    remote: Remote

    async def call(
        self, method: str, path: str, user: User | str | None = None, expect: int = 200, **kw: Any
    ) -> Any:
        headers = dict(kw.pop("headers", {}))
        token = user.token if isinstance(user, User) else user
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = await getattr(self.client, method)(path, headers=headers, **kw)
        body = await response.get_data(as_text=True)
        assert response.status_code == expect, (method, path, response.status_code, body[:800])
        return (
            json.loads(body) if body and response.content_type.startswith("application/") else body
        )

    async def deliver(self, actor: RemoteActor, activity: dict[str, Any]) -> None:
        data = json.dumps(activity).encode()
        headers = signed_headers(self.rt, "/inbox", data, actor.key_id, actor.private_pem)
        response = await self.client.post("/inbox", data=data, headers=headers)
        assert response.status_code == 202, await response.get_data(as_text=True)

    async def settle(self) -> None:
        """Wait until the job queue has nothing due (the workers run it)."""
        for _ in range(400):
            due = await scalar(
                self.rt,
                "SELECT COUNT(*) FROM jobs WHERE run_at <= $1",
                now_ms(),
            )
            undispatched = await scalar(
                self.rt, "SELECT COUNT(*) FROM outbox WHERE dispatched_at IS NULL"
            )
            if not due and not undispatched:
                await trio.sleep(0.3)
                return
            await trio.sleep(0.1)
        raise AssertionError("the job queue did not settle")


async def scalar(rt: Runtime, sql: str, *args: Any) -> Any:
    async def unit(conn: Connection) -> Any:
        return await conn.fetchval(sql, *args)

    return await rt.store.read(unit)


async def submit(api: Api, page: str, action: str, form: dict[str, str], **kw: Any) -> Any:
    html = await (await api.client.get(page)).get_data(as_text=True)
    response = await api.client.post(action, form={"csrf_token": csrf_from(html), **form}, **kw)
    assert response.status_code in (200, 302, 303), (action, response.status_code)
    return response


async def log_in(api: Api, email: str) -> None:
    api.client.cookie_jar.clear()
    response = await sign_in(api.client, email, PASSWORD)
    assert response.status_code == 302, await response.get_data(as_text=True)


# Populating --------------------------------------------------------------------------------------


@dataclass
class World:
    users: dict[str, User] = field(default_factory=dict)
    remote_ids: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    media: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


async def populate(api: Api, world: World, folder: Path) -> None:
    rt, remote = api.rt, api.remote
    # Local people: an admin (with two-factor), alice, bob, a locked carol, and erin.
    for name in ("boss", "alice", "bob", "carol", "erin"):
        world.users[name] = await make_user(rt, api.client, name)
    admin, alice, bob, carol, erin = (
        world.users[n] for n in ("boss", "alice", "bob", "carol", "erin")
    )

    async def promote(conn: Connection) -> None:
        await conn.execute("UPDATE users SET role = 'admin' WHERE account_id = $1", int(admin.id))

    await rt.store.write(promote)

    # Admin pages: site settings, rules, description, a domain block, custom emoji, announcement.
    await log_in(api, "boss@example.org")
    await submit(
        api,
        "/admin/settings",
        "/admin/settings",
        {
            "action": "site",
            "title": "Upgrade Town",
            "description": "Data that must survive",
            "registrations": "approval",
        },
    )
    await submit(
        api,
        "/admin/settings",
        "/admin/settings",
        {"action": "add_rule", "text": "Be kind", "hint": "always"},
    )
    await submit(
        api, "/admin/settings", "/admin/settings", {"action": "add_rule", "text": "No spam"}
    )
    await submit(
        api,
        "/admin/settings",
        "/admin/settings",
        {
            "action": "description",
            "extended_description": "<p>A <strong>long</strong> story</p>",
        },
    )
    await submit(
        api,
        "/admin/domain_blocks",
        "/admin/domain_blocks",
        {
            "action": "add",
            "domain": "spam.example",
            "severity": "suspend",
            "public_comment": "spam",
            "private_comment": "lots of it",
            "reject_media": "on",
        },
    )
    token = csrf_from(await (await api.client.get("/admin/custom_emojis")).get_data(as_text=True))
    for shortcode, color in (("blobcat", (200, 40, 40)), ("wave", (40, 200, 40))):
        response = await api.client.post(
            "/admin/custom_emojis",
            form={"csrf_token": token, "shortcode": shortcode, "category": "fun"},
            files={"image": upload(png(color, (16, 16)), f"{shortcode}.png", "image/png")},
        )
        assert response.status_code == 303, await response.get_data(as_text=True)
    await submit(
        api,
        "/admin/announcements",
        "/admin/announcements",
        {"text": "Welcome, see https://upgrade.test/about"},
    )
    await submit(api, "/admin/announcements", "/admin/announcements", {"text": "Second notice"})

    # Two-factor for the admin: the secret is sealed with the secret key, the recovery codes hashed.
    response = await submit(
        api,
        "/settings/two_factor",
        "/settings/two_factor",
        {
            "action": "setup",
            "current_password": PASSWORD,
        },
    )
    secret = re.search(
        r'<code class="secret">([A-Z2-7]+)</code>', await response.get_data(as_text=True)
    )[1]
    response = await submit(
        api,
        "/settings/two_factor",
        "/settings/two_factor",
        {
            "action": "confirm",
            "code": pyotp.TOTP(secret).now(),
        },
    )
    recovery = re.findall(
        r"<code>([0-9a-f]{10}-[0-9a-f]{10})</code>", await response.get_data(as_text=True)
    )
    assert len(recovery) == 10
    world.extra["totp_secret"] = secret
    world.extra["recovery_code"] = recovery[-1]

    # A sign-up through the API while registrations need approval: admin.sign_up, left pending.
    app = await register_app(api.client)
    app_token = (
        await api.call(
            "post",
            "/oauth/token",
            form={
                "grant_type": "client_credentials",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "scope": "read write",
            },
        )
    )["access_token"]
    await api.call(
        "post",
        "/api/v1/accounts",
        app_token,
        form={
            "username": "dave",
            "email": "dave@example.org",
            "password": PASSWORD,
            "agreement": "true",
            "reason": "I like upgrades",
        },
    )
    # An authorization code granted and never exchanged (an abandoned sign-in to an app).
    await log_in(api, "erin@example.org")
    await authorize(api.client, app)
    # Erin's browser stays signed in: a web session with a user agent.
    api.client.cookie_jar.clear()
    await api.client.post(
        "/auth/sign_in",
        form={
            "email": "erin@example.org",
            "password": PASSWORD,
            "csrf_token": csrf_from(
                await (await api.client.get("/auth/sign_in")).get_data(as_text=True)
            ),
        },
        headers={"User-Agent": "Mozilla/5.0 (upgrade fixture)"},
    )
    api.client.cookie_jar.clear()

    # Profiles: names, notes with fields, avatar and header files.
    await api.call(
        "patch",
        "/api/v1/accounts/update_credentials",
        alice,
        form={
            "display_name": "Alice :blobcat:",
            "note": "Testing #upgrades with @bob",
            "fields_attributes[0][name]": "Site",
            "fields_attributes[0][value]": "https://upgrade.test",
            "fields_attributes[1][name]": "Pronouns",
            "fields_attributes[1][value]": "she/her",
            "bot": "false",
            "discoverable": "true",
        },
        files={
            "avatar": upload(png((250, 128, 0), (48, 48)), "a.png", "image/png"),
            "header": upload(jpeg((60, 20)), "h.jpg", "image/jpeg"),
        },
    )
    await api.call(
        "patch",
        "/api/v1/accounts/update_credentials",
        carol,
        form={
            "locked": "true",
            "display_name": "Carol",
        },
    )
    await api.call(
        "patch",
        "/api/v1/accounts/update_credentials",
        bob,
        form={
            "display_name": "Bob",
            "source[privacy]": "unlisted",
            "source[sensitive]": "true",
            "source[language]": "fr",
        },
        files={"avatar": upload(png((0, 90, 250), (32, 32)), "b.png", "image/png")},
    )

    # Follows between local people, a pending request to locked carol, one authorized.
    await api.call("post", f"/api/v1/accounts/{alice.id}/follow", bob, json={"notify": True})
    await api.call("post", f"/api/v1/accounts/{bob.id}/follow", alice)
    await api.call(
        "post",
        f"/api/v1/accounts/{alice.id}/follow",
        erin,
        json={"reblogs": False, "languages": ["en"]},
    )
    await api.call("post", f"/api/v1/accounts/{carol.id}/follow", alice)
    await api.call("post", f"/api/v1/accounts/{carol.id}/follow", bob)
    await api.call("post", f"/api/v1/follow_requests/{bob.id}/authorize", carol)

    # Media: an image with a description and focus, a video with a chosen thumbnail, both v1.
    photo = await api.call(
        "post",
        "/api/v1/media",
        alice,
        form={
            "description": "Yellow and blue",
            "focus": "-0.5,0.25",
        },
        files={"file": upload(jpeg(), "photo.jpg", "image/jpeg")},
    )
    clip = await api.call(
        "post",
        "/api/v2/media",
        alice,
        expect=202,
        form={"description": "A test pattern"},
        files={"file": upload(video(folder), "clip.webm", "video/webm")},
    )
    await api.settle()
    await api.call(
        "put",
        f"/api/v1/media/{clip['id']}",
        alice,
        form={"focus": "0.1,0.1"},
        files={"thumbnail": upload(png((10, 10, 10), (16, 12)), "t.png", "image/png")},
    )
    spare = await api.call(
        "post",
        "/api/v1/media",
        bob,
        files={"file": upload(png((90, 90, 90)), "s.png", "image/png")},
    )
    world.media.update(photo=photo["id"], clip=clip["id"], unattached=spare["id"])

    # Statuses of every visibility, with a mention, a hashtag, an emoji, media and a poll.
    async def post(user: User, key: str, **fields: Any) -> dict[str, Any]:
        headers = fields.pop("headers", {})
        posted = await api.call("post", "/api/v1/statuses", user, json=fields, headers=headers)
        world.statuses[key] = posted["id"]
        return posted

    await post(
        alice,
        "public",
        status="Hello #Upgrades from @bob :blobcat: https://upgrade.test/about",
        media_ids=[photo["id"], clip["id"]],
        language="en",
        headers={"Idempotency-Key": "fixture-1"},
    )
    await post(
        alice,
        "unlisted",
        status="Quietly here",
        visibility="unlisted",
        spoiler_text="cw: quiet",
        sensitive=True,
    )
    await post(alice, "private", status="Followers only, @carol", visibility="private")
    await post(alice, "direct", status="@bob a secret for you", visibility="direct")
    await post(
        bob,
        "direct_reply",
        status="@alice thanks!",
        visibility="direct",
        in_reply_to_id=world.statuses["direct"],
    )
    await post(
        bob, "reply", status="@alice nice #upgrades", in_reply_to_id=world.statuses["public"]
    )
    await post(
        alice, "thread", status="A reply in a thread", in_reply_to_id=world.statuses["reply"]
    )
    await post(
        alice,
        "poll",
        status="Tea or coffee?",
        poll={"options": ["tea", "coffee", "water"], "expires_in": 300, "multiple": True},
    )
    await post(
        bob,
        "bob_poll",
        status="Cats or dogs?",
        poll={"options": ["cats", "dogs"], "expires_in": 300, "hide_totals": True},
    )
    await post(carol, "carol", status="Carol's locked thoughts", visibility="private")
    await post(erin, "erin", status="Erin writes in French", language="fr")
    scheduled = await api.call(
        "post",
        "/api/v1/statuses",
        alice,
        json={
            "status": "From the future",
            "scheduled_at": "2035-06-01T12:00:00.000Z",
            "media_ids": [
                (
                    await api.call(
                        "post",
                        "/api/v1/media",
                        alice,
                        files={"file": upload(png((1, 2, 3)), "f.png", "image/png")},
                    )
                )["id"]
            ],
        },
    )
    world.extra["scheduled"] = scheduled["id"]
    await api.call(
        "post",
        "/api/v1/statuses",
        bob,
        json={"status": "Bob, later", "scheduled_at": "2035-07-01T00:00:00Z"},
    )
    await api.settle()

    # Interactions: favourites, boosts (one by someone alice follows), bookmarks, pins, an edit.
    s = world.statuses
    await api.call("post", f"/api/v1/statuses/{s['public']}/favourite", bob)
    await api.call("post", f"/api/v1/statuses/{s['public']}/favourite", erin)
    await api.call("post", f"/api/v1/statuses/{s['reply']}/favourite", alice)
    boost = await api.call("post", f"/api/v1/statuses/{s['public']}/reblog", bob)
    world.statuses["boost"] = boost["id"]
    await api.call(
        "post", f"/api/v1/statuses/{s['erin']}/reblog", alice, json={"visibility": "unlisted"}
    )
    await api.call("post", f"/api/v1/statuses/{s['public']}/bookmark", bob)
    await api.call("post", f"/api/v1/statuses/{s['reply']}/bookmark", alice)
    await api.call("post", f"/api/v1/statuses/{s['public']}/pin", alice)
    await api.call("post", f"/api/v1/statuses/{s['unlisted']}/pin", alice)
    await api.call(
        "put",
        f"/api/v1/statuses/{s['public']}",
        alice,
        json={
            "status": "Hello #Upgrades from @bob :blobcat: (edited)",
            "media_ids": [photo["id"], clip["id"]],
            "media_attributes": [{"id": photo["id"], "description": "Yellow and blue, edited"}],
        },
    )
    await api.call("post", f"/api/v1/statuses/{s['direct']}/mute", alice)
    for voter, key, choices in ((bob, "poll", [0, 2]), (alice, "bob_poll", [1])):
        poll = (await api.call("get", f"/api/v1/statuses/{s[key]}", voter))["poll"]
        await api.call(
            "post", f"/api/v1/polls/{poll['id']}/votes", voter, json={"choices": choices}
        )
        world.extra.setdefault("polls", []).append(poll["id"])

    # Lists, filters, markers, mutes, blocks, domain blocks, tags, notes, endorsements.
    lst = await api.call(
        "post",
        "/api/v1/lists",
        alice,
        json={"title": "Friends", "replies_policy": "followed", "exclusive": True},
    )
    await api.call(
        "post", f"/api/v1/lists/{lst['id']}/accounts", alice, json={"account_ids": [bob.id]}
    )
    await api.call("post", "/api/v1/lists", alice, json={"title": "Empty list"})
    world.extra["list"] = lst["id"]
    flt = await api.call(
        "post",
        "/api/v2/filters",
        alice,
        json={
            "title": "Spoilers",
            "context": ["home", "public", "thread"],
            "filter_action": "warn",
            "keywords_attributes": [
                {"keyword": "spoiler", "whole_word": True},
                {"keyword": "plot twist", "whole_word": False},
            ],
        },
    )
    await api.call(
        "post", f"/api/v2/filters/{flt['id']}/statuses", alice, json={"status_id": s["erin"]}
    )
    await api.call(
        "post",
        "/api/v2/filters",
        bob,
        json={
            "title": "Hide polls",
            "context": ["notifications"],
            "filter_action": "hide",
            "keywords_attributes": [{"keyword": "poll"}],
        },
    )
    await api.call(
        "post",
        "/api/v1/filters",
        erin,
        json={"phrase": "coffee", "context": ["home"], "whole_word": True},
    )
    world.extra["filter"] = flt["id"]
    await api.call(
        "post",
        "/api/v1/markers",
        alice,
        json={
            "home": {"last_read_id": s["reply"]},
            "notifications": {"last_read_id": "1"},
        },
    )
    await api.call("post", f"/api/v1/accounts/{erin.id}/mute", alice, json={"notifications": False})
    await api.call("post", f"/api/v1/accounts/{carol.id}/mute", erin)
    await api.call("post", f"/api/v1/accounts/{carol.id}/block", erin)
    await api.call("post", "/api/v1/domain_blocks", alice, form={"domain": "annoying.example"})
    await api.call("post", "/api/v1/featured_tags", alice, json={"name": "upgrades"})
    await api.call("post", "/api/v1/tags/upgrades/follow", bob)
    await api.call("post", "/api/v1/tags/coffee/follow", alice)
    await api.call(
        "post",
        f"/api/v1/accounts/{bob.id}/note",
        alice,
        json={"comment": "Met at the upgrade party"},
    )
    await api.call("post", f"/api/v1/accounts/{bob.id}/pin", alice)
    await api.call("delete", f"/api/v1/suggestions/{erin.id}", bob)

    # Web push for alice's token (the push service is the remote server, on loopback).
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    await api.call(
        "post",
        "/api/v1/push/subscription",
        alice,
        json={
            "subscription": {
                "endpoint": f"{remote.origin()}/push/alice",
                "keys": {
                    "p256dh": base64.urlsafe_b64encode(point).decode().rstrip("="),
                    "auth": base64.urlsafe_b64encode(b"0123456789abcdef").decode().rstrip("="),
                },
                "standard": True,
            },
            "data": {
                "alerts": {"mention": True, "follow": True, "favourite": False},
                "policy": "followed",
            },
        },
    )

    # Announcements: reactions (Unicode and custom) and a dismissal.
    announcements = await api.call("get", "/api/v1/announcements", alice)
    first = announcements[-1]["id"]
    await api.call("put", f"/api/v1/announcements/{first}/reactions/\N{THUMBS UP SIGN}", alice)
    await api.call("put", f"/api/v1/announcements/{first}/reactions/blobcat", bob)
    await api.call("post", f"/api/v1/announcements/{announcements[0]['id']}/dismiss", bob)

    # Remote people on the fake server, fetched as a search with resolve would.
    rita = remote.actor("rita", summary="<p>Remote Rita</p>")
    remo = remote.actor("remo", locked=True)
    gone = remote.actor("gone", host="localhost")  # another domain, whose deliveries fail
    remote.documents[rita.uri]["icon"] = {
        "type": "Image",
        "mediaType": "image/png",
        "url": remote.file("avatars/rita.png", png((5, 200, 5), (20, 20)), "image/png"),
    }
    remote.documents[gone.uri]["inbox"] = f"{remote.origin('localhost')}/gone/inbox"
    remote.documents[gone.uri]["endpoints"] = {}
    for actor in (rita, remo, gone):
        found = await api.call(
            "get", f"/api/v2/search?q={actor.uri}&resolve=true&type=accounts", alice
        )
        world.remote_ids[actor.name] = found["accounts"][0]["id"]
    for actor in (rita, remo, gone):
        assert await refresh_actor(rt, actor.uri) is not None

    # Remote follows both ways: rita and gone follow alice; alice follows rita (accepted) and
    # remo (locked, pending).
    for actor in (rita, gone):
        await api.deliver(actor, remote.activity(actor, "Follow", f"{BASE}/users/alice"))
    await api.settle()
    await api.call("post", f"/api/v1/accounts/{world.remote_ids['rita']}/follow", alice)
    await api.call("post", f"/api/v1/accounts/{world.remote_ids['remo']}/follow", alice)
    await api.settle()
    follow = next(
        a for a in remote.received if a.get("type") == "Follow" and a.get("object") == rita.uri
    )
    await api.deliver(rita, remote.activity(rita, "Accept", follow))
    # Remote statuses: a mention of alice with an image and an emoji, a reply, a question.
    image_url = remote.file("media/cat.png", png((120, 60, 30), (30, 20)), "image/png")
    note = remote.note(
        rita,
        content=f'<p>Hi <span class="h-card"><a href="{BASE}/@alice" class="u-url mention">'
        "@alice</a></span> :wave2: #remote</p>",
        tag=[
            {"type": "Mention", "href": f"{BASE}/users/alice", "name": "@alice@upgrade.test"},
            {"type": "Hashtag", "name": "#remote", "href": f"{remote.origin()}/tags/remote"},
            {
                "type": "Emoji",
                "name": ":wave2:",
                "id": f"{remote.origin()}/emoji/wave2",
                "icon": {
                    "type": "Image",
                    "mediaType": "image/png",
                    "url": remote.file("emoji/wave2.png", png((0, 0, 200), (16, 16)), "image/png"),
                },
            },
        ],
        attachment=[
            {
                "type": "Document",
                "mediaType": "image/png",
                "url": image_url,
                "name": "a cat",
                "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
                "focalPoint": [0.5, -0.25],
                "width": 30,
                "height": 20,
            }
        ],
        cc=[rita.followers, f"{BASE}/users/alice"],
    )
    await api.deliver(rita, remote.activity(rita, "Create", note, to=note["to"], cc=note["cc"]))
    reply = remote.note(
        rita,
        content="<p>Replying to you</p>",
        inReplyTo=f"{BASE}/users/alice/statuses/{s['public']}",
        cc=[rita.followers, f"{BASE}/users/alice"],
    )
    await api.deliver(rita, remote.activity(rita, "Create", reply, to=reply["to"], cc=reply["cc"]))
    question = remote.note(
        rita,
        type="Question",
        content="<p>Remote poll?</p>",
        endTime="2025-01-01T00:00:00Z",
        closed="2025-01-01T00:00:00Z",
        oneOf=[
            {"type": "Note", "name": n, "replies": {"type": "Collection", "totalItems": c}}
            for n, c in (("yes", 3), ("no", 1))
        ],
        votersCount=4,
    )
    await api.deliver(
        rita, remote.activity(rita, "Create", question, to=question["to"], cc=question["cc"])
    )
    doomed = remote.note(rita, content="<p>Soon deleted</p>")
    await api.deliver(
        rita, remote.activity(rita, "Create", doomed, to=doomed["to"], cc=doomed["cc"])
    )
    await api.settle()
    await api.deliver(
        rita, remote.activity(rita, "Delete", {"id": doomed["id"], "type": "Tombstone"})
    )
    edited = {
        **note,
        "content": note["content"].replace("Hi", "Hello"),
        "updated": "2026-01-02T00:00:00Z",
    }
    await api.deliver(rita, remote.activity(rita, "Update", edited))
    # Remote interactions with alice's posts: a like, a boost, a poll vote, a report.
    public_uri = f"{BASE}/users/alice/statuses/{s['public']}"
    await api.deliver(rita, remote.activity(rita, "Like", public_uri))
    await api.deliver(
        rita, remote.activity(rita, "Announce", public_uri, to=[PUBLIC], cc=[rita.followers])
    )
    vote = remote.note(
        rita,
        name="coffee",
        content=None,
        inReplyTo=f"{BASE}/users/alice/statuses/{s['poll']}",
        to=[f"{BASE}/users/alice"],
        cc=[],
    )
    await api.deliver(rita, remote.activity(rita, "Create", vote))
    await api.deliver(
        rita,
        remote.activity(
            rita,
            "Flag",
            [f"{BASE}/users/erin", f"{BASE}/users/erin/statuses/{s['erin']}"],
            content="Remote report",
        ),
    )
    await api.settle()
    world.statuses["remote_note"] = await status_id(rt, note["id"])
    world.statuses["remote_reply"] = await status_id(rt, reply["id"])
    world.statuses["remote_question"] = await status_id(rt, question["id"])

    # Local people with the remote: alice favourites and boosts rita's note, votes nowhere,
    # reports rita (forwarded), bookmarks the question; bob is followed by rita.
    await api.call("post", f"/api/v1/statuses/{world.statuses['remote_note']}/favourite", alice)
    await api.call("post", f"/api/v1/statuses/{world.statuses['remote_note']}/reblog", alice)
    await api.call("post", f"/api/v1/statuses/{world.statuses['remote_question']}/bookmark", alice)
    await api.call(
        "post",
        "/api/v1/reports",
        alice,
        json={
            "account_id": world.remote_ids["rita"],
            "status_ids": [world.statuses["remote_note"]],
            "comment": "Looks odd",
            "category": "other",
            "forward": True,
        },
    )
    await api.call("post", f"/api/v1/accounts/{world.remote_ids['gone']}/block", bob)
    # Notifications filtered by a policy, a request accepted (a permission) and one left.
    await api.call(
        "put", "/api/v2/notifications/policy", carol, json={"for_not_following": "filter"}
    )
    for actor in (rita, remo):
        dm = remote.note(
            actor,
            content=f"<p>@carol hi from {actor.name}</p>",
            to=[f"{BASE}/users/carol"],
            cc=[],
            tag=[{"type": "Mention", "href": f"{BASE}/users/carol"}],
        )
        await api.deliver(actor, remote.activity(actor, "Create", dm, to=dm["to"], cc=[]))
    await api.settle()
    requests = await api.call("get", "/api/v1/notifications/requests", carol)
    assert len(requests) == 2, requests
    await api.call("post", f"/api/v1/notifications/requests/{requests[-1]['id']}/accept", carol)
    # Remote media and avatars: viewed once, so cached.
    shown = await api.call("get", f"/api/v1/statuses/{world.statuses['remote_note']}", alice)
    for media in shown["media_attachments"]:
        for key in ("url", "preview_url"):
            response = await api.client.get(media[key].removeprefix(BASE))
            assert response.status_code in (200, 302), (media[key], response.status_code)
    account = await api.call("get", f"/api/v1/accounts/{world.remote_ids['rita']}", alice)
    response = await api.client.get(account["avatar"].removeprefix(BASE))
    assert response.status_code in (200, 302), account["avatar"]
    # Bob edits his reply too (alice's edit of her boosted post gave bob an `update`).
    await api.call(
        "put",
        f"/api/v1/statuses/{s['reply']}",
        bob,
        json={"status": "@alice nice #upgrades (edited)"},
    )
    await api.settle()


async def status_id(rt: Runtime, uri: str) -> str:
    found = await scalar(rt, "SELECT id FROM statuses WHERE uri = $1", uri)
    assert found is not None, uri
    return str(found)


async def wait_for_polls(api: Api) -> None:
    """The local polls end (5 minutes after they were posted): `poll` notifications."""
    print("waiting for the polls to end (about 5 minutes)...", file=sys.stderr)
    with trio.fail_after(420):
        while await scalar(
            api.rt,
            "SELECT COUNT(*) FROM polls JOIN statuses ON statuses.id = polls.status_id "
            "WHERE statuses.local AND polls.ended_at IS NULL",
        ):
            await trio.sleep(2)
    await api.settle()


async def leave_work_queued(api: Api, world: World) -> None:
    """With the workers stopped: an upload left queued (its raw bytes in `media_uploads`)."""
    queued = await api.call(
        "post",
        "/api/v2/media",
        world.users["erin"],
        expect=202,
        files={"file": upload(png((7, 7, 7), (20, 20)), "q.png", "image/png")},
    )
    world.media["queued"] = queued["id"]


# Answers -----------------------------------------------------------------------------------------


def gets(world: World) -> list[tuple[str, str]]:
    """(user, path) of every GET whose answer the new version must repeat."""
    u, s, r, m = world.users, world.statuses, world.remote_ids, world.media
    a, b = u["alice"].id, u["bob"].id
    every = ["alice", "bob", "carol", "erin", "boss"]
    paths: list[tuple[str, str]] = []
    for name in every:
        paths += [
            (name, "/api/v1/accounts/verify_credentials"),
            (name, "/api/v1/notifications?limit=40"),
            (name, "/api/v2/notifications?limit=40"),
            (name, "/api/v1/timelines/home?limit=40"),
            (name, "/api/v1/conversations"),
            (name, "/api/v1/lists"),
            (name, "/api/v2/filters"),
            (name, "/api/v1/filters"),
            (name, "/api/v1/markers?timeline[]=home&timeline[]=notifications"),
            (name, "/api/v1/mutes"),
            (name, "/api/v1/blocks"),
            (name, "/api/v1/domain_blocks"),
            (name, "/api/v1/bookmarks"),
            (name, "/api/v1/favourites"),
            (name, "/api/v1/follow_requests"),
            (name, "/api/v1/scheduled_statuses"),
            (name, "/api/v1/featured_tags"),
            (name, "/api/v1/followed_tags"),
            (name, "/api/v1/endorsements"),
            (name, "/api/v1/announcements"),
            (name, "/api/v1/preferences"),
            (name, "/api/v1/notifications/requests"),
            (name, "/api/v2/notifications/policy"),
            (name, f"/api/v1/accounts/{u[name].id}/statuses?limit=40"),
            (
                name,
                f"/api/v1/accounts/relationships?id[]={a}&id[]={b}&id[]={u['carol'].id}&id[]={r['rita']}&id[]={r['gone']}",
            ),
            (name, "/api/v1/apps/verify_credentials"),
            (name, "/api/v1/notifications/unread_count"),
            (name, "/api/v2/notifications/unread_count"),
        ]
        paths += [(name, f"/api/v1/polls/{poll}") for poll in world.extra["polls"]]
    for status in s.values():
        paths += [("alice", f"/api/v1/statuses/{status}"), ("bob", f"/api/v1/statuses/{status}")]
        paths += [("alice", f"/api/v1/statuses/{status}/context")]
    for key in ("public", "reply", "remote_note"):
        paths += [
            ("alice", f"/api/v1/statuses/{s[key]}/history"),
            ("alice", f"/api/v1/statuses/{s[key]}/favourited_by"),
            ("alice", f"/api/v1/statuses/{s[key]}/reblogged_by"),
        ]
    paths += [("alice", f"/api/v1/statuses/{s['public']}/source")]
    for key in ("photo", "clip", "unattached", "queued"):
        owner = {"unattached": "bob", "queued": "erin"}.get(key, "alice")
        paths.append((owner, f"/api/v1/media/{m[key]}"))
    for account in (a, b, u["carol"].id, u["erin"].id, *r.values()):
        paths += [
            ("alice", f"/api/v1/accounts/{account}"),
            ("alice", f"/api/v1/accounts/{account}/statuses"),
            ("alice", f"/api/v1/accounts/{account}/followers"),
            ("alice", f"/api/v1/accounts/{account}/following"),
            ("alice", f"/api/v1/accounts/{account}/featured_tags"),
            ("bob", f"/api/v1/accounts/{account}/lists"),
        ]
    paths += [
        ("alice", f"/api/v1/accounts/{a}/statuses?pinned=true"),
        ("alice", f"/api/v1/accounts/{a}/statuses?only_media=true"),
        ("alice", f"/api/v1/accounts/{a}/statuses?exclude_replies=true"),
        ("alice", f"/api/v1/lists/{world.extra['list']}"),
        ("alice", f"/api/v1/lists/{world.extra['list']}/accounts"),
        ("alice", f"/api/v1/timelines/list/{world.extra['list']}"),
        ("alice", f"/api/v2/filters/{world.extra['filter']}"),
        ("alice", f"/api/v2/filters/{world.extra['filter']}/keywords"),
        ("alice", f"/api/v2/filters/{world.extra['filter']}/statuses"),
        ("alice", f"/api/v1/scheduled_statuses/{world.extra['scheduled']}"),
        ("alice", "/api/v1/push/subscription"),
        ("alice", "/api/v1/accounts/lookup?acct=bob"),
        ("alice", "/api/v1/accounts/search?q=ri&resolve=false"),
        ("alice", "/api/v2/search?q=upgrades&resolve=false"),
        ("alice", "/api/v2/search?q=hello&type=statuses&resolve=false"),
        ("alice", "/api/v1/timelines/public?limit=40"),
        ("alice", "/api/v1/timelines/public?local=true"),
        ("alice", "/api/v1/timelines/public?remote=true"),
        ("alice", "/api/v1/timelines/tag/upgrades"),
        ("alice", "/api/v1/tags/upgrades"),
        ("bob", "/api/v1/tags/upgrades"),
        ("carol", "/api/v1/notifications?include_filtered=true"),
        (None, "/api/v1/instance"),
        (None, "/api/v2/instance"),
        (None, "/api/v1/instance/rules"),
        (None, "/api/v1/instance/peers"),
        (None, "/api/v1/instance/domain_blocks"),
        (None, "/api/v1/instance/extended_description"),
        (None, "/api/v1/custom_emojis"),
        (None, f"/api/v1/accounts/{a}"),
        (None, f"/api/v1/accounts/{a}/statuses"),
        (None, f"/api/v1/statuses/{s['public']}"),
    ]
    return paths


AP_GETS = (
    "/users/alice",
    "/users/alice/outbox",
    "/users/alice/outbox?page=true",
    "/users/alice/followers",
    "/users/alice/following",
    "/users/alice/collections/featured",
    "/users/alice/collections/tags",
    "/users/carol",
    "/actor",
    "/.well-known/webfinger?resource=acct:alice@upgrade.test",
    "/.well-known/webfinger?resource=acct:upgrade.test@upgrade.test",
    "/.well-known/nodeinfo",
    "/nodeinfo/2.0",
)


async def record_answers(api: Api, world: World) -> list[dict[str, Any]]:
    answers = []
    tokens = {name: user.token for name, user in world.users.items()}
    for who, path in gets(world):
        headers = {"Authorization": f"Bearer {tokens[who]}"} if who else {}
        response = await api.client.get(path, headers=headers)
        body = await response.get_data(as_text=True)
        answers.append(
            {
                "as": who,
                "path": path,
                "status": response.status_code,
                "body": json.loads(body) if body else None,
            }
        )
    statuses = [
        f"/users/alice/statuses/{world.statuses[k]}"
        for k in ("public", "unlisted", "poll", "thread")
    ]
    for path in (*AP_GETS, *statuses, *(f"{p}/activity" for p in statuses[:1])):
        response = await api.client.get(path, headers={"Accept": "application/activity+json"})
        body = await response.get_data(as_text=True)
        answers.append(
            {
                "as": None,
                "path": path,
                "accept": "application/activity+json",
                "status": response.status_code,
                "body": json.loads(body) if body else None,
            }
        )
    return answers


# Export ------------------------------------------------------------------------------------------


async def export_rows(rt: Runtime) -> dict[str, Any]:
    """Every table's rows, portable: JSON booleans, base64 bytes, parents before children."""

    async def unit(conn: Connection) -> dict[str, Any]:
        names = [
            r["name"]
            for r in await conn.fetch(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        names = [n for n in names if not any(n == d or n.startswith(f"{d}_") for d in DERIVED)]
        tables: dict[str, Any] = {}
        for name in names:
            columns = await conn.fetch(
                f"SELECT name, type, pk FROM pragma_table_info('{name}') ORDER BY cid"
            )
            keys = await conn.fetch(
                f'SELECT "from", "table", "to" FROM pragma_foreign_key_list(\'{name}\')'
            )
            # In the order they were written: a row comes after those its own table's keys
            # name (a reply after its parent), as each insert needed.
            raw = await conn.fetch(f'SELECT * FROM "{name}" ORDER BY rowid')
            types = {c["name"]: c["type"].upper() for c in columns}
            rows = [[portable(row[c["name"]], types[c["name"]]) for c in columns] for row in raw]
            tables[name] = {
                "columns": [c["name"] for c in columns],
                "references": sorted({k["table"] for k in keys} - {name}),
                "primary_key": [
                    c["name"] for c in sorted(columns, key=lambda c: c["pk"]) if c["pk"]
                ],
                "rows": rows,
            }
        return tables

    return await rt.store.read(unit)


def portable(value: Any, declared: str) -> Any:
    if value is None:
        return None
    if declared == "BOOLEAN":
        assert value in (0, 1), value
        return bool(value)
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    return value


def check_every_table(tables: dict[str, Any]) -> None:
    empty = sorted(n for n, t in tables.items() if not t["rows"] and n not in EMPTY_AT_REST)
    assert not empty, f"tables without rows: {empty}"


# Main --------------------------------------------------------------------------------------------


@asynccontextmanager
async def old_server(folder: Path, remote: Remote) -> AsyncIterator[tuple[Runtime, Any]]:
    config = make_config(
        folder,
        f"sqlite:///{folder / 'data' / 'wildebeest.db'}",
        allow_private_addresses=True,
        domain=DOMAIN,
        scheme="http",
        registrations="open",
    )
    (folder / "data").mkdir(exist_ok=True)
    async with open_runtime(config) as rt:
        await ensure_instance_keys(rt)
        await ensure_instance_actor(rt)
        app = create_app(rt)
        async with app.test_app() as test_app:
            yield rt, test_app.test_client()


async def build(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        world = World()
        async with trio.open_nursery() as outer:
            remote = await start_remote(outer)
            async with old_server(folder, remote) as (rt, client):
                api = Api(rt, client, remote)
                async with trio.open_nursery() as workers:
                    await workers.start(run_relay, rt)
                    workers.start_soon(run_workers, rt)
                    workers.start_soon(run_outbox, rt)
                    await populate(api, world, folder)
                    if not os.environ.get("FIXTURE_QUICK"):  # debugging the script itself
                        await wait_for_polls(api)
                    workers.cancel_scope.cancel()
                await leave_work_queued(api, world)
                answers = await record_answers(api, world)
                tables = await export_rows(rt)
                version = max(m.version for m in discover(rt.store.dialect))
            outer.cancel_scope.cancel()
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        data = folder / "data"
        shutil.copytree(data, out / "data", ignore=shutil.ignore_patterns("wildebeest.db*"))
        dump(out / "rows.json", tables)
        dump(out / "answers.json.gz", answers)
        dump(
            out / "manifest.json",
            {
                "schema_version": version,
                "domain": DOMAIN,
                "password": PASSWORD,
                "remote_origin": remote.origin(),
                "users": {
                    n: {"id": u.id, "token": u.token, "email": f"{n}@example.org"}
                    for n, u in world.users.items()
                },
                "remote_accounts": world.remote_ids,
                "statuses": world.statuses,
                "media": world.media,
                **world.extra,
            },
        )
        check_every_table(tables)


def dump(path: Path, value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, indent=None, separators=(",", ":"))
    data = (text + "\n").encode()
    path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)


if __name__ == "__main__":
    trio.run(build, Path(sys.argv[1]).resolve())
