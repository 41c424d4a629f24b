"""The admin dashboard API: measures, dimensions and retention from the daily counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.social import make_user, post
from tests.test_admin_api import call, crew
from wildebeest_trio.runtime import Runtime


async def test_measures_dimensions_and_retention(rt: Runtime, client: Any) -> None:
    team = await crew(rt, client)  # four users signed up today
    ann = await make_user(rt, client, "ann")
    bob = await make_user(rt, client, "bob")
    status = await post(client, bob, "hello", language="de")
    await client.post(f"/api/v1/statuses/{status['id']}/favourite", headers=ann.headers)
    await post(client, ann, "a reply", in_reply_to_id=status["id"], language="en")
    response = await client.post(
        "/api/v1/reports", headers=ann.headers, json={"account_id": bob.id}
    )
    report_id = (await response.get_json())["id"]
    await call(client, team.mod, "POST", f"/api/v1/admin/reports/{report_id}/resolve")
    today = datetime.now(UTC).date()
    period = {"start_at": (today - timedelta(days=2)).isoformat(), "end_at": today.isoformat()}
    status_code, measures = await call(
        client,
        team.mod,
        "POST",
        "/api/v1/admin/measures",
        keys=[
            "new_users",
            "active_users",
            "interactions",
            "opened_reports",
            "resolved_reports",
            "no_such_measure",
        ],
        **period,
    )
    assert status_code == 200
    by_key = {m["key"]: m for m in measures}
    assert list(by_key) == [
        "new_users",
        "active_users",
        "interactions",
        "opened_reports",
        "resolved_reports",
    ]
    assert by_key["new_users"]["total"] == "6"
    assert by_key["interactions"]["total"] == "2"  # a favourite and a reply
    assert by_key["opened_reports"]["total"] == "1" and by_key["resolved_reports"]["total"] == "1"
    assert by_key["new_users"]["previous_total"] == "0"
    days = by_key["new_users"]["data"]
    assert [d["date"][:10] for d in days] == [
        (today - timedelta(days=n)).isoformat() for n in (2, 1, 0)
    ]
    assert [d["value"] for d in days] == ["0", "0", "6"]
    # Everyone who used a token today is active.
    assert int(by_key["active_users"]["total"]) >= 3

    _, dims = await call(
        client,
        team.mod,
        "POST",
        "/api/v1/admin/dimensions",
        keys=["languages", "software_versions"],
        **period,
    )
    languages = {d["key"]: d["value"] for d in dims[0]["data"]}
    assert languages == {"de": "1", "en": "1"}
    assert dims[1]["key"] == "software_versions"

    _, cohorts = await call(
        client, team.mod, "POST", "/api/v1/admin/retention", frequency="day", **period
    )
    assert len(cohorts) == 3
    last = cohorts[-1]
    assert last["period"][:10] == today.isoformat() and len(last["data"]) == 1
    assert int(last["data"][0]["value"]) >= 3 and 0 < last["data"][0]["rate"] <= 1
    _, months = await call(
        client, team.mod, "POST", "/api/v1/admin/retention", frequency="month", **period
    )
    assert months[-1]["data"][-1]["value"] == last["data"][0]["value"] or len(months) > 1

    assert (
        await call(
            client, team.plain, "POST", "/api/v1/admin/measures", keys=["new_users"], **period
        )
    )[0] == 403
    status_code, _ = await call(
        client, team.mod, "POST", "/api/v1/admin/retention", frequency="week", **period
    )
    assert status_code == 422


async def test_tag_and_instance_measures_and_dimensions(rt: Runtime, client: Any) -> None:
    from tests.fakes.rows import add_follower, remote_account, remote_status, rows

    team = await crew(rt, client)
    ann = await make_user(rt, client, "ann")
    zed = await remote_account(rt, "zed", "far.example")
    amy = await remote_account(rt, "amy", "far.example")
    await remote_account(rt, "other", "near.example")
    await remote_status(rt, zed, "far.example", "<p>hi</p>", language="fr")
    await remote_status(rt, zed, "far.example", "<p>hi again</p>", language="fr")
    await remote_status(rt, amy, "far.example", "<p>hello</p>", language="en")
    await add_follower(rt, zed, int(ann.id))  # a follow from far.example
    await add_follower(rt, int(ann.id), zed)  # a follower there
    await add_follower(rt, int(ann.id), amy)
    await post(client, ann, "I love #Meadows", language="de")
    await post(client, ann, "More #meadows", language="de")
    await post(client, team.plain, "#meadows too", language="en")
    [tag] = await rows(rt, "SELECT id FROM tags WHERE name = 'meadows'")
    response = await client.post(
        "/api/v1/reports", headers=ann.headers, json={"account_id": str(zed)}
    )
    assert response.status_code == 200
    today = datetime.now(UTC).date()
    period = {"start_at": (today - timedelta(days=1)).isoformat(), "end_at": today.isoformat()}
    keys = [
        "tag_accounts",
        "tag_uses",
        "tag_servers",
        "instance_accounts",
        "instance_statuses",
        "instance_media_attachments",
        "instance_reports",
        "instance_follows",
        "instance_followers",
    ]

    async def ask(path: str, keys: list[str]) -> Any:
        """POST the keys, each about the tag or far.example; the answer's entries."""
        targets = {
            k: {"id": str(tag["id"])} if k.startswith("tag_") else {"domain": "far.example"}
            for k in keys
        }
        status, found = await call(client, team.mod, "POST", path, keys=keys, **targets, **period)
        assert status == 200
        return found

    found = await ask("/api/v1/admin/measures", keys)
    by_key = {m["key"]: m for m in found}
    assert list(by_key) == keys
    totals = {k: m["total"] for k, m in by_key.items()}
    assert totals == {
        "tag_accounts": "2",  # ann and pete, today
        "tag_uses": "3",
        "tag_servers": "1",
        "instance_accounts": "2",
        "instance_statuses": "3",
        "instance_media_attachments": "0",
        "instance_reports": "1",
        "instance_follows": "1",
        "instance_followers": "2",
    }
    assert by_key["instance_media_attachments"]["unit"] == "bytes"
    assert by_key["instance_media_attachments"]["human_total"] == "0 bytes"
    assert by_key["tag_uses"]["unit"] is None
    assert [d["value"] for d in by_key["tag_uses"]["data"]] == ["0", "3"]
    # Without its target a key is left out, as Mastodon does.
    _, found = await call(
        client, team.mod, "POST", "/api/v1/admin/measures", keys=["tag_uses", "new_users"], **period
    )
    assert [m["key"] for m in found] == ["new_users"]

    dims = [
        "tag_servers",
        "tag_languages",
        "instance_accounts",
        "instance_languages",
        "space_usage",
    ]
    data = {d["key"]: d["data"] for d in await ask("/api/v1/admin/dimensions", dims)}
    assert [(e["human_key"], e["value"]) for e in data["tag_servers"]] == [(rt.config.domain, "3")]
    assert [(e["key"], e["value"]) for e in data["tag_languages"]] == [("de", "2"), ("en", "1")]
    assert [(e["key"], e["value"]) for e in data["instance_languages"]] == [
        ("fr", "2"),
        ("en", "1"),
    ]
    assert {e["key"] for e in data["instance_accounts"]} == {"zed", "amy"}
    space = {e["key"]: e for e in data["space_usage"]}
    assert set(space) == {rt.store.dialect, "media"}
    assert space["media"]["unit"] == "bytes" and space["media"]["human_value"]
