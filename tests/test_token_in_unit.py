"""Timelines resolve the caller's token in the unit that reads the page (`token_in_unit`):
one store crossing, and every answer of `@require_scope` / `viewer()` kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_config
from tests.oauth_flow import app_only_token
from tests.social import User, make_user, post, token_with
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.http import auth as http_auth
from wildebeest_trio.http import create_app
from wildebeest_trio.runtime import Runtime

INVALID = {"error": "The access token is invalid"}
OUTSIDE = {"error": "This action is outside the authorized scopes"}
NEEDS_USER = {"error": "This method requires an authenticated user"}
PAGES = (
    "/api/v1/timelines/home",
    "/api/v1/timelines/public",
    "/api/v1/timelines/tag/trio",
    "/api/v1/favourites",
    "/api/v1/bookmarks",
)


@pytest.fixture
async def limited(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[Runtime, Any, Any]]:
    """A runtime, a client with the API's rate limits on, and its app."""
    config = make_config(tmp_path, database_url, rate_limits=True)
    async with open_server_runtime(config) as rt:
        app = create_app(rt)
        async with app.test_app() as test_app:
            yield rt, test_app.test_client(), app


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def answer(client: Any, path: str, token: str | None = None) -> tuple[int, Any, Any]:
    response = await client.get(path, headers=bearer(token) if token else {})
    return response.status_code, await response.get_json(), response.headers


async def test_refusals_are_as_before(limited: tuple[Runtime, Any, Any]) -> None:
    rt, client, _ = limited
    alice = await make_user(rt, client, "alice")
    await post(client, alice, "hello #trio")
    accounts_only = await token_with(client, alice, "read:accounts")
    app_token = await app_only_token(client, "read")
    for path in PAGES:
        status, body, headers = await answer(client, path, "garbage")
        assert (status, body) == (401, INVALID), path
        assert headers["X-RateLimit-Limit"] == "300"
        assert (await answer(client, path, "x" * 600))[:2] == (401, INVALID)
        assert (await answer(client, path, accounts_only))[:2] == (403, OUTSIDE), path
        # A refusal answers before a bad parameter, as when the token came first.
        assert (await answer(client, f"{path}?max_id=zz", "garbage"))[:2] == (401, INVALID)
        assert (await answer(client, f"{path}?max_id=zz", alice.token))[0] == 422
    for path in ("/api/v1/timelines/home", "/api/v1/favourites", "/api/v1/bookmarks"):
        assert (await answer(client, path))[:2] == (401, INVALID)
        assert (await answer(client, path, app_token))[:2] == (422, NEEDS_USER)
    for path in ("/api/v1/timelines/public", "/api/v1/timelines/tag/trio"):
        status, body, _ = await answer(client, path)
        assert status == 200 and len(body) == 1 and "trio" in body[0]["content"], path
        assert (await answer(client, path, app_token))[0] == 200
    assert (await answer(client, f"/api/v1/accounts/{alice.id}/statuses", "garbage"))[:2] == (
        401,
        INVALID,
    )
    assert (await answer(client, f"/api/v1/accounts/{alice.id}/statuses", app_token))[0] == 200
    assert (await answer(client, "/api/v1/accounts/1/statuses", accounts_only))[:2] == (
        403,
        OUTSIDE,
    )


async def test_counted_against_the_token_and_touched(limited: tuple[Runtime, Any, Any]) -> None:
    rt, client, _ = limited
    alice = await make_user(rt, client, "alice")
    token = await token_with(client, alice, "read")

    def last_used() -> Any:
        sql = "SELECT last_used_at FROM oauth_access_tokens WHERE account_id = $1 ORDER BY id"
        return rt.store.read(lambda conn: conn.fetch(sql, int(alice.id)))

    before = [r["last_used_at"] for r in await last_used()]
    remaining = []
    for path in ("/api/v1/timelines/home", "/api/v1/timelines/public", "/api/v1/bookmarks"):
        status, _, headers = await answer(client, path, token)
        assert status == 200
        remaining.append(int(headers["X-RateLimit-Remaining"]))
    assert remaining == [299, 298, 297]
    after = [r["last_used_at"] for r in await last_used()]
    assert before[-1] is None and after[-1] is not None


async def test_too_many_wins_over_everything(
    limited: tuple[Runtime, Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, client, app = limited
    alice = await make_user(rt, client, "alice")
    monkeypatch.setattr(http_auth, "API_LIMIT", http_auth.Limit(2, 300))
    app.extensions["wildebeest.limiter"] = http_auth.RateLimiter()
    statuses = [(await answer(client, "/api/v1/timelines/home", alice.token))[0] for _ in range(3)]
    assert statuses == [200, 200, 429]
    # A string naming no token counts against the address: refused, then too many.
    app.extensions["wildebeest.limiter"] = http_auth.RateLimiter()
    statuses = [(await answer(client, "/api/v1/timelines/home", "garbage"))[0] for _ in range(3)]
    assert statuses == [401, 401, 429]


async def test_a_warm_home_page_is_one_crossing(
    rt: Runtime, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await make_user(rt, client, "alice")
    await post(client, alice, "hello")
    assert (await answer(client, "/api/v1/timelines/home", alice.token))[0] == 200
    crossings: list[str] = []
    run_read = rt.store._run_read

    async def counted(unit: Any, *args: Any) -> Any:
        crossings.append(getattr(unit, "__qualname__", "?"))
        return await run_read(unit, *args)

    monkeypatch.setattr(rt.store, "_run_read", counted)
    monkeypatch.setattr(rt.store, "_run_write", None)  # nothing written on a warm read
    status, body, _ = await answer(client, "/api/v1/timelines/home", alice.token)
    assert status == 200 and [s["content"] for s in body] == ["<p>hello</p>"]
    assert len(crossings) == 1, crossings
    crossings.clear()
    status, body, _ = await answer(client, "/api/v1/timelines/public", alice.token)
    assert status == 200 and len(body) == 1
    assert len(crossings) == 1, crossings
    monkeypatch.undo()


async def test_users_reach_their_pages(rt: Runtime, client: Any) -> None:
    alice: User = await make_user(rt, client, "alice")
    bob: User = await make_user(rt, client, "bob")
    status = await post(client, bob, "for favouriting")
    await client.post(f"/api/v1/statuses/{status['id']}/favourite", headers=alice.headers)
    await client.post(f"/api/v1/statuses/{status['id']}/bookmark", headers=alice.headers)
    for path in ("/api/v1/favourites", "/api/v1/bookmarks"):
        code, body, _ = await answer(client, path, alice.token)
        assert code == 200 and [s["id"] for s in body] == [status["id"]], path
        assert (await answer(client, path, bob.token))[1] == []
