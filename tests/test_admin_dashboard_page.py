"""The admin dashboard page: Mastodon's measures over the chosen period, the server's
version and sizes, and the job queue's last day, drawn as SVG with the same numbers as text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.social import make_user, post
from tests.test_admin_api import call, crew
from tests.web_helpers import html_of, log_in
from wildebeest_trio.ids import now_ms
from wildebeest_trio.jobs import scheduler
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import dashboard
from wildebeest_trio.version import VERSION


def total(html: str, key: str) -> int:
    found = re.search(rf'<span id="{key}-total">(\d+)</span>', html)
    assert found is not None, key
    return int(found.group(1))


def day_rows(html: str, name: str) -> list[tuple[str, int]]:
    """The (day, value) rows of a measure's table."""
    table = html.split(f'<caption class="visually-hidden">{name} per day</caption>')[1]
    table = table.split("</table>")[0]
    return [(d, int(v)) for d, v in re.findall(r"<tr><td>([\d-]+)</td><td>(\d+)</td></tr>", table)]


async def test_the_dashboard_shows_the_measures_sizes_and_queue(rt: Runtime, client: Any) -> None:
    team = await crew(rt, client)  # four sign-ups today
    ann = await make_user(rt, client, "ann")
    bob = await make_user(rt, client, "bob")
    status = await post(client, bob, "hello")
    await client.post(f"/api/v1/statuses/{status['id']}/favourite", headers=ann.headers)
    await client.post(f"/api/v1/statuses/{status['id']}/reblog", headers=ann.headers)
    response = await client.post(
        "/api/v1/reports", headers=ann.headers, json={"account_id": bob.id}
    )
    report_id = (await response.get_json())["id"]
    await call(client, team.mod, "POST", f"/api/v1/admin/reports/{report_id}/resolve")
    # The scheduler's samples: the queue's depth and the space used.
    await scheduler.sample_queue(rt)
    await dashboard.measure_space(rt)

    await log_in(client, "adam")
    html = await html_of(client, "/admin")
    today = datetime.now(UTC).date()
    # Thirty days by default, ending today.
    assert f"From {(today - timedelta(days=29)).isoformat()} to {today.isoformat()}" in html
    assert total(html, "new_users") == 6
    assert total(html, "interactions") == 2  # a favourite and a boost
    assert total(html, "opened_reports") == 1 and total(html, "resolved_reports") == 1
    assert total(html, "active_users") >= 3
    rows = day_rows(html, "New users")
    assert len(rows) == 30 and rows[-1] == (today.isoformat(), 6) and rows[0][1] == 0
    # The same numbers as the measures API gives.
    period = {"start_at": (today - timedelta(days=29)).isoformat(), "end_at": today.isoformat()}
    _, measures = await call(
        client, team.admin, "POST", "/api/v1/admin/measures", keys=["new_users"], **period
    )
    assert measures[0]["total"] == "6"
    # Each chart is an image with a title and a description naming its numbers.
    assert html.count('role="img"') == 6  # five measures and the job queue
    assert '<title id="new_users-title">New users per day</title>' in html
    assert "6 in all, at most 6 in a day." in html
    assert 'aria-labelledby="new_users-title new_users-desc"' in html
    assert "<script" not in html.split("<main", 1)[1]
    # The server's facts.
    assert f"Software version <strong>{VERSION}</strong>" in html
    assert re.search(r"Database size <strong>[\d.]+ (kB|MB|GB)</strong>", html)
    assert "Media size <strong>0 bytes</strong>" in html
    # The queue's samples as a table.
    assert "Job queue samples" in html and "No samples yet" not in html
    assert "Nothing was delivered to other servers in this period." in html

    # Another period: the last seven days.
    html = await html_of(client, "/admin?days=7")
    assert len(day_rows(html, "New users")) == 7
    assert '<option value="7" selected>' in html
    # An unknown period falls back to thirty days.
    assert len(day_rows(await html_of(client, "/admin?days=12345"), "New users")) == 30

    # A moderator sees the measures, not the job queue (an admin's devops view).
    await log_in(client, "mona")
    html = await html_of(client, "/admin")
    assert total(html, "new_users") == 6 and "Job queue, last 24 hours" not in html
    await log_in(client, "pete")
    assert (await client.get("/admin")).status_code == 403


async def test_queue_samples_keep_a_day(rt: Runtime, client: Any) -> None:
    from wildebeest_trio.store import jobs as job_rows

    now = now_ms()
    for hours_ago in (30, 20, 1):
        at = now - hours_ago * 3_600_000
        await rt.store.write(job_rows.sample_queue, at, at - 25 * 3_600_000)
    await scheduler.sample_queue(rt)
    samples = await rt.store.read(job_rows.queue_samples, 0)
    assert len(samples) == 3  # the one of 30 hours ago is forgotten
    await crew(rt, client)
    await log_in(client, "adam")
    html = await html_of(client, "/admin")
    # The day's samples are drawn (20 hours ago, an hour ago, now).
    assert html.split("Job queue samples</caption>")[1].count("<tr><td>") == 3


async def test_active_users_count_each_account_once_a_period(rt: Runtime, client: Any) -> None:
    from wildebeest_trio.store import daily_counters

    team = await crew(rt, client)
    today = datetime.now(UTC).date()
    day_ms = 86_400_000
    now = now_ms()
    # Days ago each account was active (besides today, when the crew used their tokens).
    visits = {
        team.owner.id: [40, 9, 8, 3],
        team.admin.id: [9],
        team.mod.id: [2, 1],
        team.plain.id: [500],
    }
    for account, days_ago in visits.items():
        for ago in days_ago:
            await rt.store.write(daily_counters.mark_active, int(account), now - ago * day_ms)

    async def active(first: int, last: int) -> tuple[str, list[str]]:
        """The active users of the days `first` to `last` days ago: total and per day."""
        period = {
            "start_at": (today - timedelta(days=first)).isoformat(),
            "end_at": (today - timedelta(days=last)).isoformat(),
        }
        _, found = await call(
            client, team.admin, "POST", "/api/v1/admin/measures", keys=["active_users"], **period
        )
        return found[0]["total"], [d["value"] for d in found[0]["data"]]

    # Nine to one days ago: owner (9, 8, 3), admin (9), moderator (2, 1).
    assert await active(9, 1) == ("3", ["2", "1", "0", "0", "0", "0", "1", "1", "1"])
    assert await active(8, 2) == ("2", ["1", "0", "0", "0", "0", "1", "1"])
    assert (await active(45, 35))[0] == "1"  # the owner, 40 days ago
    assert (await active(1, 1))[0] == "1"
    # A visit after a long absence counts in the period it falls in.
    assert (await active(500, 500))[0] == "1"
