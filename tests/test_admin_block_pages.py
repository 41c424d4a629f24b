"""The admin pages for IP blocks, e-mail domain blocks, canonical e-mail blocks and allowed
domains (the same services as the admin API, so the API sees what the pages did and the
audit log shows both), and what a domain block does to the domain's existing accounts."""

from __future__ import annotations

from typing import Any

from tests.fakes.rows import remote_account, rows
from tests.test_admin_api import audit, call, crew
from tests.web_helpers import html_of, log_in, submit
from wildebeest_trio.runtime import Runtime


async def test_block_pages_add_list_and_remove_through_the_admin_services(
    rt: Runtime, client: Any
) -> None:
    team = await crew(rt, client)
    await log_in(client, "adam")
    for path, form, shown in (
        (
            "ip_blocks",
            {"ip": "192.0.2.7/24", "severity": "sign_up_block", "comment": "bots"},
            "192.0.2.0/24",
        ),
        ("email_domain_blocks", {"domain": "Spam.Example"}, "spam.example"),
        ("canonical_email_blocks", {"email": "Some.One+tag@gmail.com"}, None),
        ("domain_allows", {"domain": "friends.example"}, "friends.example"),
    ):
        page = f"/admin/{path}"
        assert f'href="{page}"' in await html_of(client, "/admin")
        response = await submit(client, page, page, {"action": "add", **form})
        assert response.status_code == 303, await response.get_data(as_text=True)
        assert response.headers["Location"] == f"{page}?notice=added"
        html = await html_of(client, f"{page}?notice=added")
        assert "Added." in html
        # The API lists what the page added.
        status, listed = await call(client, team.admin, "GET", f"/api/v1/admin/{path}")
        assert status == 200 and len(listed) == 1, listed
        if shown is not None:
            assert shown in html
            assert shown in (listed[0].get("ip"), listed[0].get("domain"))
        # An invalid entry is refused with a message, not stored.
        if path != "domain_allows":
            bad = {"ip": "not an address", "severity": "no_access"} if path == "ip_blocks" else {}
            if path == "email_domain_blocks":
                bad = {"domain": "https://x.example/"}
            response = await submit(client, page, page, {"action": "add", **bad})
            assert response.status_code == 422, path
        response = await submit(
            client, page, page, {"action": "remove", "id": str(listed[0]["id"])}
        )
        assert response.status_code == 303
        assert (await call(client, team.admin, "GET", f"/api/v1/admin/{path}"))[1] == []
        assert "None yet." in await html_of(client, page)
        response = await submit(client, page, page, {"action": "remove", "id": "12345"})
        assert response.status_code == 404
    assert await audit(rt) == [
        ("adam", verb, kind)
        for kind in ("IpBlock", "EmailDomainBlock", "CanonicalEmailBlock", "DomainAllow")
        for verb in ("create", "destroy")
    ]
    # Moderators and users do not get the pages or their forms.
    await log_in(client, "mona")
    for path in ("ip_blocks", "email_domain_blocks", "canonical_email_blocks", "domain_allows"):
        assert 'href="/admin/ip_blocks"' not in await html_of(client, "/admin")
        response = await client.get(f"/admin/{path}")
        assert response.status_code == 403
        response = await submit(client, "/admin", f"/admin/{path}", {"domain": "x.example"})
        assert response.status_code == 403
    await log_in(client, "pete")
    assert (await client.get("/admin/ip_blocks")).status_code == 403


async def on_domain_blocks_page(client: Any, **form: str) -> int:
    """Send the domain blocks page's form; the answer's status."""
    page = "/admin/domain_blocks"
    return int((await submit(client, page, page, form)).status_code)


async def standing(rt: Runtime, *ids: int) -> list[tuple[bool, bool]]:
    """(suspended, silenced) of each account."""
    found = {
        r["id"]: (r["suspended_at"] is not None, r["silenced_at"] is not None)
        for r in await rows(rt, "SELECT id, suspended_at, silenced_at FROM accounts")
    }
    return [found[i] for i in ids]


async def test_a_domain_block_suspends_or_silences_the_domains_accounts(
    rt: Runtime, client: Any
) -> None:
    team = await crew(rt, client)
    zed = await remote_account(rt, "zed", "spam.example")
    sub = await remote_account(rt, "sub", "social.spam.example")
    other = await remote_account(rt, "amy", "notspam.example")
    already = await remote_account(rt, "old", "spam.example")
    # A moderator silenced this one before: the block must not undo that later.
    status, _ = await call(
        client, team.admin, "POST", f"/api/v1/admin/accounts/{already}/action", type="silence"
    )
    assert status == 200
    status, block = await call(
        client,
        team.admin,
        "POST",
        "/api/v1/admin/domain_blocks",
        domain="spam.example",
        severity="suspend",
    )
    assert status == 200
    assert await standing(rt, zed, sub, other, already) == [
        (True, False),
        (True, False),
        (False, False),
        (True, True),
    ]
    _, seen = await call(client, team.admin, "GET", f"/api/v1/admin/accounts/{zed}")
    assert seen["suspended"] is True
    # Down to silence: the suspension the block made is lifted, silence put instead.
    path = f"/api/v1/admin/domain_blocks/{block['id']}"
    status, _ = await call(client, team.admin, "PUT", path, severity="silence")
    assert status == 200
    assert await standing(rt, zed, sub, other, already) == [
        (False, True),
        (False, True),
        (False, False),
        (False, True),
    ]
    # Lifting the block lifts its silence, not the moderator's.
    assert (await call(client, team.admin, "DELETE", path))[0] == 200
    assert await standing(rt, zed, sub, other, already) == [
        (False, False),
        (False, False),
        (False, False),
        (False, True),
    ]
    # The same through the admin page.
    await log_in(client, "adam")
    assert await on_domain_blocks_page(client, domain="spam.example", severity="suspend") == 303
    assert await standing(rt, zed, sub) == [(True, False), (True, False)]
    _, seen = await call(client, team.admin, "GET", f"/api/v1/admin/accounts/{sub}")
    assert seen["suspended"] is True
    assert await on_domain_blocks_page(client, action="remove", domain="spam.example") == 303
    assert await standing(rt, zed, sub, already) == [(False, False), (False, False), (False, True)]
