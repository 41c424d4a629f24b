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
