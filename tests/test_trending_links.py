"""Trending links and the link timeline: built from public posts' cards, scored as Mastodon
scores them, and shown only once an admin approved the link on the admin pages."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.conftest import make_config
from tests.fakes.remote import RemoteServer
from tests.social import User, get, make_user, post
from tests.test_clients import PASSWORD
from tests.test_preview_cards import article, cards
from tests.test_statuses_clients import _login
from tests.web_helpers import html_of, local_user, log_in, submit
from wildebeest_trio.config import Config
from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import trends
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.services.admin import Staff

pytest_plugins = ("tests.fakes.fixtures",)

HOUR = 3600 * 1000


async def _shared_by(api: Any, users: list[User], url: str) -> list[str]:
    return [(await post(api, u, f"Worth reading {url}"))["id"] for u in users]


async def _card_id(rt: Runtime, url: str) -> int:
    return int(
        await rt.store.read(
            lambda conn: conn.fetchval("SELECT id FROM preview_cards WHERE url = $1", url)
        )
    )


async def test_links_trend_once_approved_and_stop_when_rejected(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    users = [await make_user(local, api, f"user{i}") for i in range(6)]
    hot = article(remote, "/hot", title="Hot news")
    quiet = article(remote, "/quiet", title="Quiet news")
    hot_posts = await _shared_by(api, users, hot)
    await _shared_by(api, users[:2], quiet)
    await post(api, users[0], f"Only for followers {hot}", visibility="private")
    await cards(local)

    # Nothing trends, and no link has a timeline, before an admin reviews the links.
    assert (await get(api, None, "/api/v1/trends/links")) == (200, [])
    code, _ = await get(api, users[0], f"/api/v1/timelines/link?url={hot}")
    assert code == 404

    await local_user(local, "boss", role="moderator")
    await log_in(api, "boss")
    page = await html_of(api, "/admin/trends/links")
    assert "Hot news" in page and "shared by 6 accounts in 6 posts" in page
    assert "not reviewed" in page
    for url in (hot, quiet):
        card_id = await _card_id(local, url)
        response = await submit(
            api, "/admin/trends/links", f"/admin/trends/links/{card_id}/approve", {}
        )
        assert response.status_code == 303
    assert "approved" in await html_of(api, "/admin/trends/links")

    code, found = await get(api, None, "/api/v1/trends/links")
    assert code == 200
    # The quiet link is approved, but two accounts are below Mastodon's threshold of five.
    assert [t["url"] for t in found] == [hot]
    [link] = found
    assert link["title"] == "Hot news" and link["image"] is not None
    assert len(link["history"]) == 7
    assert link["history"][0] == {
        "day": str((now_ms() - now_ms() % 86_400_000) // 1000),
        "uses": "6",
        "accounts": "6",
    }
    assert all(day["uses"] == "0" for day in link["history"][1:])

    # The link timeline: the public posts sharing it, newest first, paged.
    code, timeline = await get(api, users[0], f"/api/v1/timelines/link?url={hot}&limit=4")
    assert code == 200
    assert [s["id"] for s in timeline] == list(reversed(hot_posts))[:4]
    assert all(s["card"]["url"] == hot for s in timeline)
    code, body = await get(api, None, "/api/v1/timelines/link")
    assert code == 400 and "url" in body["error"]

    response = await submit(
        api, "/admin/trends/links", f"/admin/trends/links/{await _card_id(local, hot)}/reject", {}
    )
    assert response.status_code == 303
    assert (await get(api, None, "/api/v1/trends/links")) == (200, [])
    assert (await get(api, None, f"/api/v1/timelines/link?url={hot}"))[0] == 404


async def test_only_staff_review_links(local: Runtime, api: Any, remote: RemoteServer) -> None:
    alice = await make_user(local, api, "alice")
    url = article(remote, "/reviewed")
    await post(api, alice, url)
    await cards(local)
    await local_user(local, "plain")
    await log_in(api, "plain")
    await html_of(api, "/admin/trends/links", 403)
    card_id = await _card_id(local, url)
    response = await submit(api, "/", f"/admin/trends/links/{card_id}/approve", {})
    assert response.status_code == 403
    assert (
        await local.store.read(
            lambda conn: conn.fetchval("SELECT trendable FROM preview_cards WHERE id = $1", card_id)
        )
        is None
    )


def test_the_score_rises_with_new_accounts_and_decays() -> None:
    now = 10 * 86_400_000 + 12 * HOUR
    today = [{"account_id": i, "created_at": now - HOUR} for i in range(8)]
    yesterday = [{"account_id": 100 + i, "created_at": now - 20 * HOUR} for i in range(2)]
    score = trends.link_score(today + yesterday, now)
    assert score == pytest.approx((8 - 2) ** 2 / 2 * 0.5 ** (1 / 8))  # reached an hour ago
    # The same people posting again do not count twice; four accounts are not enough.
    assert trends.link_score(today[:4] * 3, now) == 0
    # A burst decays from when it happened: half of it every eight hours.
    burst = [{"account_id": i, "created_at": now - 36 * HOUR} for i in range(10)]
    assert trends.link_score(burst, now) == pytest.approx(9**2 * 0.5 ** (36 / 8))
    assert trends.link_score(burst, now) < trends.link_score(burst, now - 12 * HOUR)


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    # The site of the links is on 127.0.0.1.
    return make_config(tmp_path, database_url, allow_private_addresses=True)


def _post_and_wait_for_cards(base: str, url: str) -> list[str]:
    """Five people post a link; each post shows its card once the server fetched it."""
    clients = [_login(base, f"m{i}@example.org") for i in range(5)]
    statuses = [c.status_post(f"Have a look: {url}") for c in clients]
    for status in statuses:
        for _ in range(300):
            card = clients[0].status_card(status["id"])
            if card:
                break
            time.sleep(0.05)
        assert card is not None and card["url"] == url and card["title"] == "For apps"
    return [str(s["id"]) for s in statuses]


def _trending(base: str, url: str) -> tuple[Any, Any]:
    reader = _login(base, "m0@example.org")
    return reader.trending_links(), reader.timeline_link(url)


async def test_mastodon_py_cards_trending_links_and_link_timeline(
    rt: Runtime, live_server: str, remote: RemoteServer
) -> None:
    for i in range(5):
        await create_local_account(rt, f"m{i}", f"m{i}@example.org", password=PASSWORD)
    url = article(remote, "/for-apps", title="For apps")
    posted = await trio.to_thread.run_sync(_post_and_wait_for_cards, live_server, url)
    boss = await create_local_account(rt, "boss", "boss@example.org", role="admin")
    await trends.review_link(rt, Staff(boss.account_id, "admin"), await _card_id(rt, url), True)
    links, timeline = await trio.to_thread.run_sync(_trending, live_server, url)
    assert [link["url"] for link in links] == [url]
    assert int(links[0]["history"][0]["accounts"]) == 5
    assert [str(s["id"]) for s in timeline] == list(reversed(posted))


async def test_an_approved_publisher_lets_its_links_trend_without_review(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    from tests.test_admin_api import audit, call, staff_user

    users = [await make_user(local, api, f"user{i}") for i in range(6)]
    hot = article(remote, "/hot", title="Hot news")
    await _shared_by(api, users, hot)
    await cards(local)
    mod = await staff_user(local, api, "mona", "moderator")
    plain = await staff_user(local, api, "pete", "user")
    publisher = remote.base.removeprefix("http://").split(":")[0]

    status, listed = await call(api, mod, "GET", "/api/v1/admin/trends/links/publishers")
    assert status == 200
    [entry] = listed
    assert entry["domain"] == publisher and entry["requires_review"] is True
    assert entry["trendable"] is False and entry["reviewed_at"] is None
    assert entry["requested_review_at"] is not None
    assert (await get(api, None, "/api/v1/trends/links")) == (200, [])

    path = f"/api/v1/admin/trends/links/publishers/{entry['id']}"
    status, approved = await call(api, mod, "POST", f"{path}/approve")
    assert status == 200
    assert approved["trendable"] is True and approved["requires_review"] is False
    assert approved["reviewed_at"] is not None
    code, found = await get(api, None, "/api/v1/trends/links")
    assert code == 200 and [t["url"] for t in found] == [hot]
    code, shared = await get(api, users[0], f"/api/v1/timelines/link?url={hot}")
    assert code == 200 and len(shared) == 6
    # A link rejected one by one stays out, whatever its publisher.
    card_id = await _card_id(local, hot)
    assert (await call(api, mod, "POST", f"/api/v1/admin/trends/links/{card_id}/reject"))[0] == 200
    assert (await get(api, None, "/api/v1/trends/links")) == (200, [])
    assert (await get(api, users[0], f"/api/v1/timelines/link?url={hot}"))[0] == 404
    assert (await call(api, mod, "POST", f"/api/v1/admin/trends/links/{card_id}/approve"))[0] == 200
    status, rejected = await call(api, mod, "POST", f"{path}/reject")
    assert status == 200 and rejected["trendable"] is False and rejected["requires_review"] is False
    # The link approved one by one still trends.
    assert [t["url"] for t in (await get(api, None, "/api/v1/trends/links"))[1]] == [hot]
    assert (await call(api, mod, "POST", "/api/v1/admin/trends/links/publishers/1/approve"))[
        0
    ] == 404
    assert (await call(api, plain, "GET", "/api/v1/admin/trends/links/publishers"))[0] == 403
    # The admin page shows the publisher and reviews it through the same service.
    await log_in(api, "mona")
    page = await html_of(api, "/admin/trends/links")
    assert f"<td>{publisher}</td>" in page and "rejected" in page
    response = await submit(
        api, "/admin/trends/links", f"/admin/trends/publishers/{entry['id']}/approve", {}
    )
    assert response.status_code == 303
    assert "approved" in await html_of(api, "/admin/trends/links?notice=publisher_approved")
    assert [a for a in await audit(local) if a[2] == "PreviewCardProvider"] == [
        ("mona", "approve", "PreviewCardProvider"),
        ("mona", "reject", "PreviewCardProvider"),
        ("mona", "approve", "PreviewCardProvider"),
    ]
