"""Link preview cards, as apps see them: `status.card` filled in by a job after the post is
answered, from a small site on 127.0.0.1 (OpenGraph, Twitter tags, oEmbed, fediverse:creator,
redirects, slow, huge and non-HTML pages, https with the tests' own CA)."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import trio
import trustme
from PIL import Image

from tests.conftest import make_config
from tests.fakes.instance import drain, settle, trusting_instance
from tests.fakes.remote import RemoteServer, deliver, start_remote
from tests.fakes.rows import account_id_of, add_follower
from tests.social import User, get, make_user, post
from tests.test_media_api import upload
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.federation.actors import refresh_actor
from wildebeest_trio.http import create_app
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.instance import ensure_instance_keys
from wildebeest_trio.services.preview_cards import FETCH_CARD, LOCAL_DELAY
from wildebeest_trio.store import Connection
from wildebeest_trio.streaming.hub import Subscription

pytest_plugins = ("tests.fakes.fixtures",)

HTML = "text/html; charset=utf-8"
REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO.parent / "shared" / "vectors" / "mastodon-api" / "mastodon-openapi-4.7.0.schema.json"


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 90)).save(out, "PNG")
    return out.getvalue()


def article(site: RemoteServer, path: str, *, head: str = "", title: str = "An article") -> str:
    """Serve a page with OpenGraph tags (and `head`); its URL."""
    url = f"{site.base}{path}"
    site.put_file(
        url,
        f"""<!doctype html><html lang="de-AT"><head><title>Ignored title</title>
        <meta property="og:title" content="{title}">
        <meta property="og:description" content="What it is about &amp; more">
        <meta property="og:image" content="/images{path}.png">
        <meta property="og:image:alt" content="A red square">
        <meta property="og:site_name" content="The Site">
        <meta property="og:type" content="article">
        <meta property="article:published_time" content="2026-11-30T10:00:00Z">
        {head}</head><body><p>Body</p></body></html>""",
        HTML,
    )
    site.put_file(f"{site.base}/images{path}.png", png(1200, 630), "image/png")
    return url


def with_oembed(site: RemoteServer, path: str, answer: dict[str, Any]) -> str:
    """Serve an article whose oEmbed endpoint (at `/oembed<path>`) gives `answer`; its URL."""
    endpoint = site.put_file(f"{site.base}/oembed{path}", json.dumps(answer), "application/json")
    return article(
        site,
        path,
        head=f'<link rel="alternate" type="application/json+oembed" href="{endpoint}?f=json">',
    )


async def cards(rt: Runtime) -> int:
    """Run the card jobs queued so far, as a worker would once they are due; how many ran."""
    await trio.sleep(LOCAL_DELAY)
    return await drain(rt, (FETCH_CARD.name,))


async def status_of(api: Any, user: User | None, status_id: str) -> dict[str, Any]:
    code, body = await get(api, user, f"/api/v1/statuses/{status_id}")
    assert code == 200, body
    return dict(body)


async def test_a_post_is_answered_before_its_card_is_fetched_then_shows_it(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    url = article(remote, "/news/1")
    sub = Subscription()
    local.streams.subscribe(sub, "timeline:public", ["public"])
    posted = await post(api, alice, f"Read this: {url}")
    assert posted["card"] is None
    assert remote.requests == []  # nothing was fetched while the post was answered
    assert await cards(local) == 1
    card = (await status_of(api, alice, posted["id"]))["card"]
    assert card["url"] == url
    assert card["title"] == "An article"
    assert card["description"] == "What it is about & more"
    assert card["type"] == "link"
    assert card["provider_name"] == "The Site"
    assert card["language"] == "de"
    assert card["published_at"] == "2026-11-30T10:00:00.000Z"
    assert card["image_description"] == "A red square"
    # The image is our downscaled copy (400 on its longest side), never the origin's URL.
    assert card["image"].startswith(f"{local.config.base_url}/system/cache/preview_cards/")
    assert (card["width"], card["height"]) == (400, 210)
    assert card["blurhash"]
    key = card["image"].removeprefix(f"{local.config.base_url}/system/")
    assert Image.open(io.BytesIO((local.config.media_dir / key).read_bytes())).size == (400, 210)
    page = next(r for r in remote.requests if r.path == "/news/1")
    assert "wildebeest-trio" in page.headers["user-agent"]
    assert page.headers["user-agent"].endswith("Bot")
    assert page.headers["accept"] == "text/html"
    # Those who saw the post live get it again with its card.
    events = []
    while True:
        try:
            events.append(sub.receive.receive_nowait())
        except trio.WouldBlock:
            break
    assert [e.event for e in events] == ["update", "status.update"]
    assert json.loads(events[1].payload)["card"]["title"] == "An article"
    # Mastodon's card entity carries every field the schema requires.
    if SCHEMA.exists():
        schema = json.loads(SCHEMA.read_text())["components"]["schemas"]["PreviewCard"]
        assert set(schema["required"]) <= set(card)


async def test_twitter_player_tags_make_a_video_card_and_title_falls_back(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    url = remote.put_file(
        f"{remote.base}/watch",
        """<html><head><title>  A  clip </title>
        <meta name="description" content="Plain description">
        <meta name="twitter:player" content="https://player.example/embed/7">
        <meta name="twitter:player:width" content="640">
        <meta name="twitter:player:height" content="360">
        <meta name="twitter:player:stream" content="https://player.example/7.mp4">
        </head></html>""",
        HTML,
    )
    posted = await post(api, alice, f"{url} watch")
    await cards(local)
    card = (await status_of(api, alice, posted["id"]))["card"]
    assert (card["type"], card["title"], card["description"]) == (
        "video",
        "A clip",
        "Plain description",
    )
    assert (card["width"], card["height"]) == (640, 360)
    assert card["html"].startswith('<iframe src="https://player.example/embed/7"')
    assert card["embed_url"] == "https://player.example/7.mp4"
    assert card["image"] is None


async def test_oembed_is_read_as_json_and_its_html_cut_to_an_iframe(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    url = with_oembed(
        remote,
        "/video",
        {
            "version": "1.0",
            "type": "video",
            "title": "Embedded video",
            "author_name": "Vid Maker",
            "author_url": "/@maker",
            "provider_name": "VideoSite",
            "html": '<script>alert(1)</script><iframe src="https://videos.example/e/1" '
            'width="480" height="270" onload="steal()"></iframe><p>text</p>',
            "width": 480,
            "height": 270,
        },
    )
    posted = await post(api, alice, url)
    await cards(local)
    card = (await status_of(api, alice, posted["id"]))["card"]
    assert (card["type"], card["title"], card["provider_name"]) == (
        "video",
        "Embedded video",
        "VideoSite",
    )
    assert card["author_name"] == "Vid Maker"
    assert card["author_url"] == f"{remote.base}/@maker"
    assert card["authors"] == [
        {"name": "Vid Maker", "url": f"{remote.base}/@maker", "account": None}
    ]
    assert card["html"].startswith('<iframe src="https://videos.example/e/1"')
    assert "sandbox=" in card["html"]
    assert "<script" not in card["html"] and "alert" not in card["html"]
    assert "onload" not in card["html"]
    assert "<p>" not in card["html"]


async def test_an_oembed_without_an_iframe_falls_back_to_the_page(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    rich = {"version": "1.0", "type": "rich", "html": "<script src='x.js'></script>"}
    url = with_oembed(remote, "/rich", rich)
    posted = await post(api, alice, url)
    await cards(local)
    card = (await status_of(api, alice, posted["id"]))["card"]
    assert (card["type"], card["title"], card["html"]) == ("link", "An article", "")
    assert any(r.path == "/oembed/rich" for r in remote.requests)


async def test_fediverse_creator_names_an_account_that_accepts_the_attribution(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    writer = remote.actor("writer", attributionDomains=["127.0.0.1"])
    stranger = remote.actor("stranger")
    by_writer = article(
        remote,
        "/by-writer",
        head=f'<meta name="fediverse:creator" content="@writer@{remote.host}">',
    )
    by_stranger = article(
        remote,
        "/by-stranger",
        head=f'<meta name="fediverse:creator" content="@stranger@{remote.host}">'
        '<meta property="og:author" content="Someone">',
    )
    first = await post(api, alice, by_writer)
    second = await post(api, alice, by_stranger)
    await cards(local)
    card = (await status_of(api, alice, first["id"]))["card"]
    [author] = card["authors"]
    assert author["account"]["acct"] == f"writer@{remote.host}"
    assert author["account"]["url"] == writer.uri
    # An account whose attribution domains do not list the site is not named.
    card = (await status_of(api, alice, second["id"]))["card"]
    assert card["authors"] == [{"name": "Someone", "url": "", "account": None}]
    assert stranger.uri  # it was looked up, and refused as the author


async def test_a_local_author_lists_the_sites_that_may_name_them(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    response = await api.patch(
        "/api/v1/accounts/update_credentials",
        headers=alice.headers,
        json={"attribution_domains": ["127.0.0.1", "Blog.Example"]},
    )
    assert response.status_code == 200
    source = (await response.get_json())["source"]
    assert source["attribution_domains"] == ["127.0.0.1", "blog.example"]
    response = await api.patch(
        "/api/v1/accounts/update_credentials",
        headers=alice.headers,
        json={"attribution_domains": ["not a domain"]},
    )
    assert response.status_code == 422
    actor = await api.get("/users/alice", headers={"Accept": "application/activity+json"})
    assert (await actor.get_json())["attributionDomains"] == ["127.0.0.1", "blog.example"]
    url = article(
        remote,
        "/by-alice",
        head=f'<meta name="fediverse:creator" content="@alice@{local.config.domain}">',
    )
    posted = await post(api, alice, url)
    await cards(local)
    [author] = (await status_of(api, alice, posted["id"]))["card"]["authors"]
    assert author["account"]["acct"] == "alice"


async def test_which_link_gets_the_card(local: Runtime, api: Any, remote: RemoteServer) -> None:
    alice = await make_user(local, api, "alice")
    await make_user(local, api, "bob")
    url = article(remote, "/second")
    # A hashtag and a mention are skipped; the first real link gets the card.
    posted = await post(api, alice, f"#tagged @bob {url} {remote.base}/other")
    await cards(local)
    assert (await status_of(api, alice, posted["id"]))["card"]["url"] == url
    # A link to this server itself gets none (no job is even queued), nor does a post with
    # an attachment.
    own = await post(api, alice, f"{local.config.base_url}/@alice")
    response = await api.post(
        "/api/v1/media",
        headers=alice.headers,
        files={"file": upload(png(64, 64), "red.png", "image/png")},
    )
    assert response.status_code == 200
    media_id = (await response.get_json())["id"]
    with_media = await post(api, alice, f"photo and {url}", media_ids=[media_id])
    assert await cards(local) == 0
    assert (await status_of(api, alice, own["id"]))["card"] is None
    assert (await status_of(api, alice, with_media["id"]))["card"] is None


async def test_one_url_is_fetched_once_however_many_posts_share_it(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    url = article(remote, "/shared")
    remote.answer(url, delay=0.3)  # slow enough that workers overlap
    posted = [await post(api, alice, f"number {i} {url}") for i in range(8)]

    async def all_have_cards() -> bool:
        found = [await status_of(api, alice, p["id"]) for p in posted]
        return all(s["card"] is not None for s in found)

    await settle(local, all_have_cards)
    assert len([r for r in remote.requests if r.path == "/shared"]) == 1
    assert len([r for r in remote.requests if r.path == "/images/shared.png"]) == 1
    # After Mastodon's two weeks the card is fetched again, for the next post.
    await local.store.write(_age_links, 15 * 86_400_000)
    later = await post(api, alice, url)
    await cards(local)
    assert (await status_of(api, alice, later["id"]))["card"]["url"] == url
    assert len([r for r in remote.requests if r.path == "/shared"]) == 2


async def _age_links(conn: Connection, by_ms: int) -> None:
    await conn.execute("UPDATE preview_card_links SET fetched_at = fetched_at - $1", by_ms)


async def test_an_edit_that_changes_the_link_changes_the_card(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    first, second = article(remote, "/one", title="One"), article(remote, "/two", title="Two")
    posted = await post(api, alice, f"see {first}")
    await cards(local)
    response = await api.put(
        f"/api/v1/statuses/{posted['id']}", headers=alice.headers, json={"status": f"no, {second}"}
    )
    edited = await response.get_json()
    assert edited["card"] is None  # the old card is gone at once
    await cards(local)
    assert (await status_of(api, alice, posted["id"]))["card"]["title"] == "Two"
    response = await api.put(
        f"/api/v1/statuses/{posted['id']}", headers=alice.headers, json={"status": "no link"}
    )
    assert (await response.get_json())["card"] is None
    assert await cards(local) == 0
    # An edit that keeps the link keeps the card without fetching anything.
    again = await post(api, alice, f"keep {first}")
    await cards(local)
    fetched = len(remote.requests)
    response = await api.put(
        f"/api/v1/statuses/{again['id']}", headers=alice.headers, json={"status": f"kept {first}"}
    )
    assert (await response.get_json())["card"]["title"] == "One"
    assert await cards(local) == 0
    assert len(remote.requests) == fetched


async def test_redirects_are_followed_and_each_hop_checked(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    target = article(remote, "/landing")
    remote.answer(f"{remote.base}/short", 302, headers={"Location": "/landing"})
    shortened = await post(api, alice, f"{remote.base}/short")
    await cards(local)
    # The card describes where the link led.
    assert (await status_of(api, alice, shortened["id"]))["card"]["url"] == target


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_redirect_out_of_the_allowed_network_gives_no_card(
    tmp_path: Path, database_url: str, remote: RemoteServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wildebeest_trio.services.preview_cards")
    # Only 127.0.0.1 may be reached; the redirect names another loopback address, which the
    # hop's check refuses before connecting (the tests' audit hook would fail otherwise).
    remote.answer(f"{remote.base}/inside", 302, headers={"Location": "http://127.0.0.2/admin"})
    config = make_config(
        tmp_path, database_url, allow_private_addresses=True, outbound_allow="127.0.0.1/32"
    )
    async with open_server_runtime(config) as rt:
        await ensure_instance_keys(rt)
        async with create_app(rt).test_app() as app:
            client = app.test_client()
            alice = await make_user(rt, client, "alice")
            inside = await post(client, alice, f"{remote.base}/inside")
            await cards(rt)
            assert (await status_of(client, alice, inside["id"]))["card"] is None
    assert remote.gets(f"{remote.base}/inside") == 1  # the first hop was made
    # The second was refused by the policy, not merely unanswered.
    assert "outside WB_OUTBOUND_ALLOW" in caplog.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_private_addresses_are_refused(
    tmp_path: Path, database_url: str, remote: RemoteServer
) -> None:
    article(remote, "/private")
    config = make_config(tmp_path, database_url)  # allow_private_addresses is off
    async with open_server_runtime(config) as rt:
        await ensure_instance_keys(rt)
        async with create_app(rt).test_app() as app:
            client = app.test_client()
            alice = await make_user(rt, client, "alice")
            posted = await post(client, alice, f"{remote.base}/private")
            await cards(rt)
            assert (await status_of(client, alice, posted["id"]))["card"] is None
    assert remote.requests == []


async def test_slow_huge_and_non_html_pages(
    tmp_path: Path, database_url: str, remote: RemoteServer
) -> None:
    slow = article(remote, "/slow")
    remote.answer(slow, delay=5)
    head = '<html><head><meta property="og:title" content="Huge page"></head><body>'
    huge = remote.put_file(f"{remote.base}/huge", head + "<p>words</p>" * 400_000, HTML)
    picture = remote.put_file(f"{remote.base}/picture.png", png(50, 50), "image/png")
    config = make_config(
        tmp_path, database_url, allow_private_addresses=True, preview_card_timeout=1.0
    )
    async with open_server_runtime(config) as rt:
        await ensure_instance_keys(rt)
        async with create_app(rt).test_app() as app:
            client = app.test_client()
            alice = await make_user(rt, client, "alice")
            posts = [await post(client, alice, url) for url in (slow, huge, picture)]
            started = trio.current_time()
            await cards(rt)
            assert trio.current_time() - started < 4  # the slow page was given up on
            found = [(await status_of(client, alice, p["id"]))["card"] for p in posts]
            # A URL that gave no card is not fetched again for every post (for an hour).
            await post(client, alice, f"again {slow}")
            assert await cards(rt) == 1
    assert len([r for r in remote.requests if r.path == "/slow"]) == 1
    assert found[0] is None
    # A page past a MiB is read up to there (its head says what it is), not refused.
    assert found[1]["title"] == "Huge page"
    assert found[2] is None  # not HTML


async def test_https_pages_with_the_tests_ca(
    tmp_path: Path, database_url: str, nursery: trio.Nursery, tls_ca: trustme.CA
) -> None:
    site = await start_remote(nursery, tls=(tls_ca, tmp_path))
    url = article(site, "/secure")
    assert url.startswith("https://127.0.0.1:")
    async with trusting_instance(tmp_path, database_url, tls_ca) as (rt, client):
        alice = await make_user(rt, client, "alice")
        posted = await post(client, alice, url)
        await cards(rt)
        card = (await status_of(client, alice, posted["id"]))["card"]
    assert card["title"] == "An article"
    assert card["image"] is not None


async def test_remote_statuses_get_cards_unless_behind_a_content_warning(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    url = article(remote, "/remote-news")
    alice = await make_user(local, api, "alice")
    bob = remote.actor("bob")
    await refresh_actor(local, bob.uri)
    # Statuses of an account nobody here follows are not kept.
    await add_follower(local, int(alice.id), await account_id_of(local, bob.uri))
    plain = remote.note(bob, f'<p><a href="{url}">{url}</a></p>')
    warned = remote.note(bob, f'<p><a href="{url}">{url}</a></p>', summary="spoilers")
    for note in (plain, warned):
        assert await deliver(api, local, bob, remote.activity(bob, "Create", note)) == 202
    await drain(local)
    assert await cards(local) == 1
    code, found = await get(api, None, "/api/v1/timelines/public?remote=true")
    assert code == 200
    by_uri = {s["uri"]: s for s in found}
    assert by_uri[plain["id"]]["card"]["title"] == "An article"
    assert by_uri[warned["id"]]["card"] is None


async def test_the_public_page_shows_the_card(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    alice = await make_user(local, api, "alice")
    url = article(remote, "/shown")
    posted = await post(api, alice, f"look {url}")
    await cards(local)
    response = await api.get(f"/@alice/{posted['id']}")
    html = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="preview-card"' in html
    assert "An article" in html and "What it is about &amp; more" in html
    assert f'href="{url}"' in html


async def test_the_card_outlives_a_restart(
    tmp_path: Path, database_url: str, remote: RemoteServer
) -> None:
    url = article(remote, "/durable")
    config = make_config(tmp_path, database_url, allow_private_addresses=True)
    async with open_server_runtime(config) as rt:
        await ensure_instance_keys(rt)
        async with create_app(rt).test_app() as app:
            client = app.test_client()
            alice = await make_user(rt, client, "alice")
            posted = await post(client, alice, url)
    # The job was queued with the post; a server started later fetches the card.
    async with open_server_runtime(config) as rt:
        assert await cards(rt) == 1
        async with create_app(rt).test_app() as app:
            card = (await status_of(app.test_client(), None, posted["id"]))["card"]
    assert card["title"] == "An article"
