"""What malformed ids, integers and form bodies get: Mastodon's 404 for an id that names
nothing, a 422 or 400 with an error for a bad parameter, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.social import get, make_user, post
from wildebeest_trio.http.params import parse_integer
from wildebeest_trio.ids import MAX_ID, parse_id
from wildebeest_trio.runtime import Runtime


def test_one_id_parser() -> None:
    assert parse_id("117742556828270592") == 117742556828270592
    assert parse_id(str(MAX_ID)) == MAX_ID
    assert parse_id(12) == 12 and parse_id("0") == 0
    for bad in ("²", "٣", "１", "", " 1", "-1", "1e3", str(MAX_ID + 1), "9" * 30, -1, 2**63, True):
        assert parse_id(bad) is None, bad


def test_one_integer_parser() -> None:
    assert parse_integer(" 42 ", "n") == 42
    assert parse_integer(-3, "n") == -3 and parse_integer(5.0, "n") == 5
    assert parse_integer("9" * 5000, "n", maximum=40, clamp=True) == 40
    for bad in ("²", "٣", "1e3", "12abc", "", "1_000", True, 1.5, None, [1]):
        with pytest.raises(Exception, match="must be an integer"):
            parse_integer(bad, "n")
    with pytest.raises(Exception, match="at most 10"):
        parse_integer("11", "n", maximum=10)


async def test_malformed_ids_in_paths_are_404(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    await post(client, alice, "hello")
    for path in (
        "/api/v1/statuses/²",
        "/api/v1/statuses/9223372036854775808",
        "/api/v1/statuses/99999999999999999999",
        "/api/v1/statuses/-1",
        "/api/v1/accounts/²",
        "/api/v1/accounts/²/statuses",
        "/api/v1/polls/٣",
        "/users/alice/statuses/²",
    ):
        for user in (None, alice):
            status, body = await get(client, user, path)
            assert status == 404, (path, body)
            assert body == {"error": "Record not found"}
    page = await client.get("/@alice/²")
    assert page.status_code == 404
    assert "This page does not exist" in await page.get_data(as_text=True)


async def test_malformed_query_integers(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    await post(client, alice, "hello")
    # A cursor past the largest id pages from the newest; a non-id is a 422.
    status, body = await get(client, alice, "/api/v1/timelines/home?max_id=99999999999999999999")
    assert status == 200 and len(body) == 1
    for query in ("max_id=%C2%B2", "since_id=-1", "limit=%C2%B2", "limit=1e3"):
        status, body = await get(client, alice, f"/api/v1/timelines/home?{query}")
        assert status == 422 and body["error"], query
    # A huge limit is the largest page, as Mastodon's `limit_param`.
    status, body = await get(client, alice, f"/api/v1/timelines/home?limit={10**30}")
    assert status == 200 and len(body) == 1
    # A huge offset is an empty page.
    status, body = await get(client, alice, f"/api/v2/search?q=hello&type=statuses&offset={10**30}")
    assert status == 200 and body["statuses"] == []


async def test_mute_duration_is_bounded(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    path = f"/api/v1/accounts/{bob.id}/mute"
    for duration in (str(10**30), "²", 10**12):
        response = await client.post(path, headers=alice.headers, json={"duration": duration})
        assert response.status_code == 422, duration
        assert (await response.get_json())["error"]
    response = await client.post(path, headers=alice.headers, json={"duration": 3600})
    assert response.status_code == 200
    assert (await response.get_json())["muting"] is True


async def test_form_bodies_must_be_utf8_without_nul(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    form = {**alice.headers, "Content-Type": "application/x-www-form-urlencoded"}
    for body, message in (
        (b"status=caf\xe9", "not valid UTF-8"),
        (b"status=caf%E9", "not valid UTF-8"),
        (b"status=a%00b", "NUL"),
    ):
        for path in ("/api/v1/statuses", "/api/v2/filters"):
            response = await client.post(path, headers=form, data=body)
            assert response.status_code == 400, (path, body)
            assert message in (await response.get_json())["error"]
    response = await client.post(
        "/api/v1/statuses", headers=alice.headers, json={"status": "a\u0000b"}
    )
    assert response.status_code == 400
    response = await client.post("/api/v1/statuses", headers=form, data="status=caf%C3%A9")
    assert response.status_code == 200
    assert (await response.get_json())["content"] == "<p>café</p>"
    # Keyword fields keep their order and refuse Unicode digits as indices.
    response = await client.post(
        "/api/v2/filters",
        headers=form,
        data=b"title=t&context[]=home&keywords_attributes[\xc2\xb2][keyword]=x",
    )
    assert response.status_code == 200
