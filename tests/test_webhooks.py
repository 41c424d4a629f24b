"""Admin webhooks, as a receiver on 127.0.0.1 sees them: each event posted as Mastodon posts
it, signed with the webhook's secret; a failed delivery tried again, a disabled webhook told
nothing; only admins manage them, every change in the audit log."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

from tests.fakes.instance import drain
from tests.fakes.remote import RemoteServer
from tests.oauth_flow import csrf_from
from tests.social import make_user, post
from tests.web_helpers import html_of, local_user, log_in
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.webhooks import DELIVER

pytest_plugins = ("tests.fakes.fixtures",)


async def _rows(rt: Runtime, sql: str, *args: Any) -> list[dict[str, Any]]:
    return await rt.store.read(lambda conn: conn.fetch(sql, *args))


async def _form(api: Any, action: str, fields: list[tuple[str, str]]) -> Any:
    html = await (await api.get("/admin/webhooks")).get_data(as_text=True)
    return await _post_form(api, action, [("csrf_token", csrf_from(html)), *fields])


async def _post_form(api: Any, action: str, fields: list[tuple[str, str]]) -> Any:
    """POST a form whose fields may repeat (the events' checkboxes)."""
    return await api.post(
        action,
        data=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


async def _add_webhook(local: Runtime, api: Any, url: str, events: list[str]) -> dict[str, Any]:
    response = await _form(api, "/admin/webhooks", [("url", url), *(("events", e) for e in events)])
    assert response.status_code == 303, await response.get_data(as_text=True)
    rows = await _rows(local, "SELECT * FROM webhooks WHERE url = $1", url)
    assert len(rows) == 1
    return rows[0]


def _verified(request: Any, secret: str) -> dict[str, Any]:
    """The event a delivery carries, once its signature is checked as a receiver would."""
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-hub-signature"] == expected
    assert request.headers["content-type"] == "application/json"
    event = json.loads(request.body)
    assert set(event) == {"event", "created_at", "object"}
    assert event["created_at"].endswith("Z")
    return dict(event)


async def test_events_reach_a_webhook_signed_retried_and_not_when_disabled(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    await local_user(local, "boss", role="admin")
    await log_in(api, "boss")
    url = f"{remote.base}/hooks/1"
    hook = await _add_webhook(
        local, api, url, ["account.created", "account.approved", "status.created", "report.created"]
    )
    page = await html_of(api, "/admin/webhooks")
    assert url in page and hook["secret"] in page
    logged = await _rows(
        local, "SELECT action, target_type FROM admin_action_logs WHERE target_type = 'Webhook'"
    )
    assert [(r["action"], r["target_type"]) for r in logged] == [("create", "Webhook")]

    # A sign-up (open registrations: approved at once) and a post.
    alice = await make_user(local, api, "alice")
    status = await post(api, alice, "Hello, webhooks")
    assert await drain(local, (DELIVER.name,)) == 3
    events = [_verified(r, hook["secret"]) for r in remote.at(0, "/hooks/1")]
    assert [e["event"] for e in events] == ["account.created", "account.approved", "status.created"]
    created = events[0]["object"]
    assert created["username"] == "alice" and created["email"] == "alice@example.org"
    assert created["account"]["id"] == alice.id and created["approved"] is True
    assert "ips" in created and created["role"]["name"] == ""
    assert events[2]["object"]["id"] == status["id"]
    assert events[2]["object"]["content"] == status["content"]

    # A report: Admin::Report, naming both accounts as Admin::Account.
    bob = await make_user(local, api, "bob")
    await log_in(api, "boss")  # making a user signed the browser out
    await drain(local, (DELIVER.name,))
    remote.received.clear()
    response = await api.post(
        "/api/v1/reports",
        headers=bob.headers,
        json={"account_id": alice.id, "status_ids": [status["id"]], "comment": "spam"},
    )
    assert response.status_code == 200
    assert await drain(local, (DELIVER.name,)) == 1
    (report,) = [_verified(r, hook["secret"]) for r in remote.received]
    assert report["event"] == "report.created"
    assert report["object"]["comment"] == "spam"
    assert report["object"]["account"]["username"] == "bob"
    assert report["object"]["target_account"]["username"] == "alice"
    assert [s["id"] for s in report["object"]["statuses"]] == [status["id"]]

    # The receiver fails once: the delivery waits, then is tried again and arrives.
    remote.received.clear()
    remote.answer(url, 503, times=1)
    await post(api, alice, "Second post")
    assert await drain(local, (DELIVER.name,)) == 1
    assert remote.received == []
    (job,) = await _rows(local, "SELECT * FROM jobs WHERE kind = $1", DELIVER.name)
    assert job["attempts"] == 1 and "503" in (job["last_error"] or "")
    await local.store.write(lambda conn: conn.execute("UPDATE jobs SET run_at = 0"))
    assert await drain(local, (DELIVER.name,)) == 1
    (again,) = [_verified(r, hook["secret"]) for r in remote.received]
    assert again["object"]["content"] == "<p>Second post</p>"

    # A rotated secret signs what follows; a disabled webhook gets nothing.
    response = await _form(api, f"/admin/webhooks/{hook['id']}/rotate_secret", [])
    assert response.status_code == 303
    (rotated,) = await _rows(local, "SELECT secret FROM webhooks WHERE id = $1", hook["id"])
    assert rotated["secret"] != hook["secret"]
    remote.received.clear()
    await post(api, alice, "Third post")
    await drain(local, (DELIVER.name,))
    (third,) = remote.received
    _verified(third, rotated["secret"])
    response = await _form(api, f"/admin/webhooks/{hook['id']}/disable", [])
    assert response.status_code == 303
    remote.received.clear()
    await post(api, alice, "Nobody is told")
    assert await drain(local, (DELIVER.name,)) == 0
    assert remote.received == []
    response = await _form(api, f"/admin/webhooks/{hook['id']}/destroy", [])
    assert response.status_code == 303
    assert await _rows(local, "SELECT id FROM webhooks") == []
    logged = await _rows(
        local,
        "SELECT action FROM admin_action_logs WHERE target_type = 'Webhook' ORDER BY id",
    )
    assert [r["action"] for r in logged] == ["create", "rotate_secret", "disable", "destroy"]


async def test_a_local_account_update_and_an_edit_are_told(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    boss_id = await local_user(local, "boss", role="admin")
    alice = await make_user(local, api, "alice")
    status = await post(api, alice, "Before")
    await log_in(api, "boss")
    hook = await _add_webhook(
        local,
        api,
        f"{remote.base}/hooks/2",
        ["account.updated", "status.updated", "report.updated"],
    )
    response = await api.patch(
        "/api/v1/accounts/update_credentials",
        headers=alice.headers,
        json={"display_name": "Alice A."},
    )
    assert response.status_code == 200
    response = await api.put(
        f"/api/v1/statuses/{status['id']}", headers=alice.headers, json={"status": "After"}
    )
    assert response.status_code == 200
    # A report (not told: the webhook wants its updates only), resolved on the admin page.
    report = await api.post(
        "/api/v1/reports", headers=alice.headers, json={"account_id": boss_id, "comment": "x"}
    )
    assert report.status_code == 200
    report_id = (await report.get_json())["id"]
    await log_in(api, "boss")
    response = await _form(api, f"/admin/reports/{report_id}/resolve", [])
    assert response.status_code == 303
    await drain(local, (DELIVER.name,))
    events = [_verified(r, hook["secret"]) for r in remote.received]
    assert [e["event"] for e in events] == ["account.updated", "status.updated", "report.updated"]
    assert events[0]["object"]["account"]["display_name"] == "Alice A."
    assert events[1]["object"]["content"] == "<p>After</p>"
    assert events[2]["object"]["id"] == report_id
    assert events[2]["object"]["action_taken"] is True
    assert events[2]["object"]["action_taken_by_account"]["username"] == "boss"


async def test_only_admins_manage_webhooks_and_private_targets_are_refused(
    local: Runtime, api: Any, remote: RemoteServer
) -> None:
    await local_user(local, "mia", role="moderator")
    await local_user(local, "boss", role="admin")
    await log_in(api, "mia")
    await html_of(api, "/admin/webhooks", 403)
    html = await (await api.get("/admin")).get_data(as_text=True)
    response = await _post_form(
        api,
        "/admin/webhooks",
        [("csrf_token", csrf_from(html)), ("url", remote.base), ("events", "status.created")],
    )
    assert response.status_code == 403
    assert await _rows(local, "SELECT id FROM webhooks") == []
    await log_in(api, "boss")
    response = await _form(api, "/admin/webhooks", [("url", "ftp://x"), ("events", "x.y")])
    assert response.status_code == 422
    assert await _rows(local, "SELECT id FROM webhooks") == []
