"""The instance's documents beyond /api/v2/instance: weekly activity, peers, the privacy
policy and the dated terms of service an admin publishes on the admin pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.social import get, make_user, post
from tests.web_helpers import html_of, local_user, log_in, submit
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.store.activity import week_start


async def test_weekly_activity_counts_real_statuses_logins_and_sign_ups(
    rt: Runtime, client: Any
) -> None:
    ann = await make_user(rt, client, "ann")
    await make_user(rt, client, "ben")
    await post(client, ann, "one")
    await post(client, ann, "two")
    reblogged = await post(client, ann, "three")
    await client.post(f"/api/v1/statuses/{reblogged['id']}/reblog", headers=ann.headers)

    code, weeks = await get(client, None, "/api/v1/instance/activity")
    assert code == 200 and len(weeks) == 12
    this_week = week_start(int(dt.datetime.now(dt.UTC).timestamp() * 1000)) // 1000
    assert weeks[0] == {
        "week": str(this_week),
        "statuses": "3",  # a reblog is not a status of its own
        "logins": "2",  # both signed in to authorize their app
        "registrations": "2",
    }
    monday = dt.datetime.fromtimestamp(this_week, dt.UTC)
    assert monday.weekday() == 0 and (monday.hour, monday.minute) == (0, 0)
    assert [int(w["week"]) for w in weeks] == [this_week - i * 7 * 86400 for i in range(12)]
    assert all(w["statuses"] == w["logins"] == w["registrations"] == "0" for w in weeks[1:])


async def test_privacy_policy_and_terms_from_the_admin_pages(rt: Runtime, client: Any) -> None:
    code, policy = await get(client, None, "/api/v1/instance/privacy_policy")
    assert code == 200 and rt.config.domain in policy["content"]
    assert (await get(client, None, "/api/v1/instance/terms_of_service"))[0] == 404
    code, instance = await get(client, None, "/api/v2/instance")
    urls = instance["configuration"]["urls"]
    assert urls["privacy_policy"] == f"{rt.config.base_url}/privacy-policy"
    assert urls["terms_of_service"] is None and urls["about"] == f"{rt.config.base_url}/about"
    assert urls["streaming"].startswith("ws")

    await local_user(rt, "boss", role="admin")
    await log_in(client, "boss")
    response = await submit(
        client,
        "/admin/settings",
        "/admin/settings",
        {"action": "privacy_policy", "privacy_policy": "<p>We keep little.</p><script>x</script>"},
    )
    assert response.status_code in (302, 303)
    today = dt.datetime.now(dt.UTC).date()
    past, future = today - dt.timedelta(days=30), today + dt.timedelta(days=10)
    for date, text in ((past, "Be kind."), (future, "Be kinder."), (today, "Be nice.")):
        response = await submit(
            client,
            "/admin/settings",
            "/admin/settings",
            {"action": "terms", "effective_date": date.isoformat(), "content": f"<p>{text}</p>"},
        )
        assert response.status_code in (302, 303)
    bad = await submit(
        client,
        "/admin/settings",
        "/admin/settings",
        {"action": "terms", "effective_date": "tomorrow", "content": "<p>x</p>"},
    )
    assert bad.status_code == 422 and "YYYY-MM-DD" in await bad.get_data(as_text=True)
    client.cookie_jar.clear()

    code, policy = await get(client, None, "/api/v1/instance/privacy_policy")
    assert policy["content"] == "<p>We keep little.</p>" and policy["updated_at"].endswith("Z")
    assert "We keep little." in await html_of(client, "/privacy-policy")

    code, terms = await get(client, None, "/api/v1/instance/terms_of_service")
    assert code == 200
    assert terms == {
        "effective_date": today.isoformat(),
        "effective": True,
        "content": "<p>Be nice.</p>",
        "succeeded_by": future.isoformat(),
    }
    code, old = await get(client, None, f"/api/v1/instance/terms_of_service/{past.isoformat()}")
    assert old["content"] == "<p>Be kind.</p>" and old["succeeded_by"] == today.isoformat()
    code, upcoming = await get(
        client, None, f"/api/v1/instance/terms_of_service/{future.isoformat()}"
    )
    assert upcoming["effective"] is False and upcoming["succeeded_by"] is None
    for missing in ("2001-01-01", "nonsense", "2025-02-30"):
        code, body = await get(client, None, f"/api/v1/instance/terms_of_service/{missing}")
        assert code == 404 and body == {"error": "Record not found"}
    code, instance = await get(client, None, "/api/v2/instance")
    assert instance["configuration"]["urls"]["terms_of_service"] == (
        f"{rt.config.base_url}/terms-of-service"
    )
    page = await html_of(client, "/terms-of-service")
    assert "Be nice." in page and future.isoformat() in page
    assert "Be kinder." in await html_of(client, f"/terms-of-service/{future.isoformat()}")

    await log_in(client, "boss")
    await submit(
        client,
        "/admin/settings",
        "/admin/settings",
        {"action": "remove_terms", "effective_date": today.isoformat()},
    )
    client.cookie_jar.clear()
    code, terms = await get(client, None, "/api/v1/instance/terms_of_service")
    assert terms["effective_date"] == past.isoformat()


async def test_peers_and_extended_description(rt: Runtime, client: Any) -> None:
    code, peers = await get(client, None, "/api/v1/instance/peers")
    assert code == 200 and peers == []
    code, extended = await get(client, None, "/api/v1/instance/extended_description")
    assert code == 200 and set(extended) == {"updated_at", "content"}
