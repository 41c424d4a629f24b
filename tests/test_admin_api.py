"""Mastodon's admin API through HTTP: each method with tokens of each role and scope, what
it changes, and the audit log it leaves (shown on the admin pages too)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.oauth_flow import register_app, token_for
from tests.social import PASSWORD, User, make_user, post
from tests.web_helpers import html_of, log_in, submit
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.services.instance import add_rule
from wildebeest_trio.store import Connection

ADMIN_SCOPES = "read write admin:read admin:write"


@dataclass
class Crew:
    """An owner, an admin, a moderator and a plain user, each with an admin-scoped token."""

    owner: User
    admin: User
    mod: User
    plain: User


async def staff_user(
    rt: Runtime, client: Any, name: str, role: str, scope: str = ADMIN_SCOPES
) -> User:
    created = await create_local_account(
        rt, name, f"{name}@example.org", password=PASSWORD, role=role
    )
    app = await register_app(client, scopes=ADMIN_SCOPES)
    token = await token_for(client, app, f"{name}@example.org", PASSWORD, scope=scope)
    client.cookie_jar.clear()
    return User(name, str(created.account_id), token)


async def crew(rt: Runtime, client: Any) -> Crew:
    return Crew(
        owner=await staff_user(rt, client, "olga", "owner"),
        admin=await staff_user(rt, client, "adam", "admin"),
        mod=await staff_user(rt, client, "mona", "moderator"),
        plain=await staff_user(rt, client, "pete", "user"),
    )


async def call(
    client: Any, user: User | str, method: str, path: str, **fields: Any
) -> tuple[int, Any]:
    token = user if isinstance(user, str) else user.token
    response = await getattr(client, method.lower())(
        path, headers={"Authorization": f"Bearer {token}"}, **({"json": fields} if fields else {})
    )
    return response.status_code, await response.get_json()


async def rows(rt: Runtime, sql: str, *args: Any) -> list[dict[str, Any]]:
    async def unit(conn: Connection) -> list[dict[str, Any]]:
        return [dict(r) for r in await conn.fetch(sql, *args)]

    return await rt.store.read(unit)


async def audit(rt: Runtime) -> list[tuple[str, str, str]]:
    """The audit log, oldest first: (actor username, action, target type)."""
    return [
        (r["username"], r["action"], r["target_type"])
        for r in await rows(
            rt,
            "SELECT a.username, l.action, l.target_type FROM admin_action_logs l "
            "JOIN accounts a ON a.id = l.account_id ORDER BY l.id",
        )
    ]


async def test_scopes_and_roles_gate_every_method(rt: Runtime, client: Any) -> None:
    team = await crew(rt, client)
    # Without the admin scope: 403, whatever the role.
    read_only = await staff_user(rt, client, "rita", "admin", scope="read write")
    assert (await call(client, read_only, "GET", "/api/v1/admin/accounts"))[0] == 403
    # A child scope covers its own methods only.
    reports_only = await staff_user(rt, client, "remy", "admin", scope="admin:read:reports")
    assert (await call(client, reports_only, "GET", "/api/v1/admin/reports"))[0] == 200
    assert (await call(client, reports_only, "GET", "/api/v1/admin/accounts"))[0] == 403
    assert (await call(client, reports_only, "POST", "/api/v1/admin/reports/1/resolve"))[0] == 403
    # No role: 403 with Mastodon's message.
    status, body = await call(client, team.plain, "GET", "/api/v1/admin/accounts")
    assert (status, body) == (403, {"error": "This action is not allowed"})
    # A moderator reads accounts and reports, but federation and blocks are the admins'.
    assert (await call(client, team.mod, "GET", "/api/v1/admin/accounts"))[0] == 200
    assert (await call(client, team.mod, "GET", "/api/v2/admin/accounts"))[0] == 200
    for path in (
        "/api/v1/admin/domain_blocks",
        "/api/v1/admin/domain_allows",
        "/api/v1/admin/email_domain_blocks",
        "/api/v1/admin/ip_blocks",
        "/api/v1/admin/canonical_email_blocks",
    ):
        assert (await call(client, team.mod, "GET", path))[0] == 403, path
        assert (await call(client, team.admin, "GET", path))[0] == 200, path
        assert (await call(client, team.plain, "GET", path))[0] == 403, path
    status, _ = await call(
        client, team.mod, "POST", "/api/v1/admin/domain_blocks", domain="spam.example"
    )
    assert status == 403
    # Roles outrank one another: a moderator cannot act on an admin, an admin on the owner.
    status, _ = await call(
        client, team.mod, "POST", f"/api/v1/admin/accounts/{team.admin.id}/action", type="silence"
    )
    assert status == 403
    status, _ = await call(
        client, team.admin, "POST", f"/api/v1/admin/accounts/{team.owner.id}/action", type="suspend"
    )
    assert status == 403
    status, _ = await call(
        client, team.owner, "POST", f"/api/v1/admin/accounts/{team.owner.id}/action", type="silence"
    )
    assert status == 403  # nobody moderates their own account
    status, _ = await call(
        client, team.admin, "POST", f"/api/v1/admin/accounts/{team.mod.id}/action", type="silence"
    )
    assert status == 200
    # Roles as Mastodon's Role entity.
    status, body = await call(client, team.owner, "GET", f"/api/v1/admin/accounts/{team.owner.id}")
    assert status == 200 and body["role"]["name"] == "Owner" and body["role"]["permissions"] == "1"
    _, body = await call(client, team.owner, "GET", f"/api/v1/admin/accounts/{team.mod.id}")
    assert body["role"]["name"] == "Moderator" and body["role"]["permissions"] == str(
        1 << 3 | 1 << 2 | 1 << 10 | 1 << 4 | 1 << 8
    )
    assert body["silenced"] is True
    # Refusals leave no audit entry; the one action does.
    assert await audit(rt) == [("adam", "silence", "Account")]


async def test_accounts_list_get_and_every_action(rt: Runtime, client: Any) -> None:
    team = await crew(rt, client)
    waiting = await create_local_account(
        rt, "newbie", "newbie@example.org", password=PASSWORD, approved=False, sign_up_reason="hi"
    )
    doomed = await create_local_account(
        rt, "doomed", "doomed@example.org", password=PASSWORD, approved=False
    )
    troll = await make_user(rt, client, "troll")
    # v1 and v2 filters.
    _, body = await call(client, team.mod, "GET", "/api/v1/admin/accounts?pending=true")
    assert sorted(a["username"] for a in body) == ["doomed", "newbie"]
    newbie = next(a for a in body if a["username"] == "newbie")
    assert newbie["approved"] is False and newbie["invite_request"] == "hi"
    assert newbie["email"] == "newbie@example.org" and newbie["account"]["acct"] == "newbie"
    _, body = await call(
        client, team.mod, "GET", "/api/v2/admin/accounts?status=pending&username=new"
    )
    assert [a["username"] for a in body] == ["newbie"]
    _, body = await call(client, team.mod, "GET", "/api/v2/admin/accounts?email=troll@")
    assert [a["username"] for a in body] == ["troll"]
    _, body = await call(client, team.mod, "GET", "/api/v2/admin/accounts?permissions=staff")
    assert sorted(a["username"] for a in body) == ["adam", "mona", "olga"]
    _, body = await call(client, team.mod, "GET", "/api/v2/admin/accounts?role_ids[]=1")
    assert [a["username"] for a in body] == ["mona"]
    _, body = await call(client, team.mod, "GET", "/api/v1/admin/accounts?remote=true")
    assert body == []
    response = await client.get(
        "/api/v1/admin/accounts?limit=2", headers={"Authorization": f"Bearer {team.mod.token}"}
    )
    assert len(await response.get_json()) == 2 and 'rel="next"' in response.headers["Link"]
    # Approve and reject.
    status, body = await call(
        client, team.mod, "POST", f"/api/v1/admin/accounts/{waiting.account_id}/approve"
    )
    assert status == 200 and body["approved"] is True
    status, _ = await call(
        client, team.mod, "POST", f"/api/v1/admin/accounts/{waiting.account_id}/approve"
    )
    assert status == 403  # approved already
    status, body = await call(
        client, team.mod, "POST", f"/api/v1/admin/accounts/{doomed.account_id}/reject"
    )
    assert status == 200 and body["username"] == "doomed"
    assert (await call(client, team.mod, "GET", f"/api/v1/admin/accounts/{doomed.account_id}"))[
        0
    ] == 404
    # A report about the troll, resolved by the action.
    nasty = await post(client, troll, "nasty")
    reporter = await make_user(rt, client, "reporter")
    response = await client.post(
        "/api/v1/reports",
        headers=reporter.headers,
        json={"account_id": troll.id, "status_ids": [nasty["id"]], "comment": "mean"},
    )
    report_id = (await response.get_json())["id"]
    path = f"/api/v1/admin/accounts/{troll.id}"
    for action, flag in (("sensitive", "sensitized"), ("silence", "silenced")):
        status, body = await call(
            client,
            team.mod,
            "POST",
            f"{path}/action",
            type=action,
            report_id=report_id,
            text=f"{action} for you",
        )
        assert (status, body) == (200, {})
        _, body = await call(client, team.mod, "GET", path)
        assert body[flag] is True
    _, report = await call(client, team.mod, "GET", f"/api/v1/admin/reports/{report_id}")
    assert report["action_taken"] is True and report["action_taken_by_account"]["id"] == team.mod.id
    warnings = await rows(
        rt,
        "SELECT action, text FROM account_warnings WHERE target_account_id = $1 ORDER BY id",
        int(troll.id),
    )
    assert warnings == [
        {"action": "sensitive", "text": "sensitive for you"},
        {"action": "silence", "text": "silence for you"},
    ]
    status, _ = await call(client, team.mod, "POST", f"{path}/action", type="explode")
    assert status == 422
    # Disable: the troll's token stops working; enable: it works again (tokens were revoked).
    await call(client, team.mod, "POST", f"{path}/action", type="disable")
    _, body = await call(client, team.mod, "GET", path)
    assert body["disabled"] is True
    assert (
        await client.get("/api/v1/accounts/verify_credentials", headers=troll.headers)
    ).status_code == 401
    for verb, flag in (
        ("enable", "disabled"),
        ("unsilence", "silenced"),
        ("unsensitive", "sensitized"),
    ):
        status, body = await call(client, team.mod, "POST", f"{path}/{verb}")
        assert status == 200 and body[flag] is False, verb
    # Deleting needs a suspended account and the delete_user_data permission.
    assert (await call(client, team.admin, "DELETE", path))[0] == 403  # not suspended
    await call(client, team.mod, "POST", f"{path}/action", type="suspend")
    _, body = await call(client, team.mod, "GET", path)
    assert body["suspended"] is True
    status, body = await call(client, team.mod, "POST", f"{path}/unsuspend")
    assert status == 200 and body["suspended"] is False
    await call(client, team.mod, "POST", f"{path}/action", type="suspend")
    assert (await call(client, team.mod, "DELETE", path))[0] == 403  # a moderator may not
    status, body = await call(client, team.admin, "DELETE", path)
    assert status == 200 and body["username"] == "troll"
    assert (await call(client, team.admin, "GET", path))[0] == 404
    assert await audit(rt) == [
        ("mona", "approve", "User"),
        ("mona", "reject", "User"),
        ("mona", "sensitive", "Account"),
        ("mona", "silence", "Account"),
        ("mona", "disable", "Account"),
        ("mona", "enable", "Account"),
        ("mona", "unsilence", "Account"),
        ("mona", "unsensitive", "Account"),
        ("mona", "suspend", "Account"),
        ("mona", "unsuspend", "Account"),
        ("mona", "suspend", "Account"),
        ("adam", "destroy", "Account"),
    ]
    # The admin pages show the audit log to the staff.
    await log_in(client, "mona")
    html = await html_of(client, "/admin/action_logs")
    assert "@adam" in html and "destroy" in html and "unsensitive" in html


async def test_reports_methods(rt: Runtime, client: Any) -> None:
    team = await crew(rt, client)
    rule_id = await add_rule(rt, "No spam", "")
    bob = await make_user(rt, client, "bob")
    ann = await make_user(rt, client, "ann")
    status = await post(client, bob, "buy my stuff")
    response = await client.post(
        "/api/v1/reports",
        headers=ann.headers,
        json={"account_id": bob.id, "status_ids": [status["id"]], "category": "spam"},
    )
    report_id = (await response.get_json())["id"]
    base = f"/api/v1/admin/reports/{report_id}"
    _, listed = await call(client, team.mod, "GET", "/api/v1/admin/reports")
    assert [r["id"] for r in listed] == [report_id]
    entity = listed[0]
    assert entity["account"]["id"] == ann.id and entity["target_account"]["id"] == bob.id
    assert entity["statuses"][0]["id"] == status["id"] and entity["assigned_account"] is None
    _, by_target = await call(
        client, team.mod, "GET", f"/api/v1/admin/reports?target_account_id={ann.id}"
    )
    assert by_target == []
    status_code, body = await call(
        client, team.mod, "PUT", base, category="violation", rule_ids=[str(rule_id)]
    )
    assert status_code == 200 and body["category"] == "violation"
    assert [r["text"] for r in body["rules"]] == ["No spam"]
    assert (await call(client, team.mod, "PUT", base, category="rude"))[0] == 422
    _, body = await call(client, team.mod, "POST", f"{base}/assign_to_self")
    assert body["assigned_account"]["id"] == team.mod.id
    _, body = await call(client, team.mod, "POST", f"{base}/unassign")
    assert body["assigned_account"] is None
    _, body = await call(client, team.mod, "POST", f"{base}/resolve")
    assert body["action_taken"] is True
    _, listed = await call(client, team.mod, "GET", "/api/v1/admin/reports")
    assert listed == []
    _, listed = await call(client, team.mod, "GET", "/api/v1/admin/reports?resolved=true")
    assert [r["id"] for r in listed] == [report_id]
    _, body = await call(client, team.mod, "POST", f"{base}/reopen")
    assert body["action_taken"] is False
    assert (await call(client, team.mod, "GET", "/api/v1/admin/reports/12345"))[0] == 404
    assert (await call(client, team.plain, "POST", f"{base}/resolve"))[0] == 403
    assert await audit(rt) == [
        ("mona", "update", "Report"),
        ("mona", "assigned_to_self", "Report"),
        ("mona", "unassigned", "Report"),
        ("mona", "resolve", "Report"),
        ("mona", "reopen", "Report"),
    ]


async def test_domain_blocks_and_allows(rt: Runtime, client: Any) -> None:
    team = await crew(rt, client)
    status, block = await call(
        client,
        team.admin,
        "POST",
        "/api/v1/admin/domain_blocks",
        domain="Spam.Example",
        severity="suspend",
        reject_media=True,
        private_comment="ugh",
        public_comment="spam",
        obfuscate=True,
    )
    assert status == 200
    assert block["domain"] == "spam.example" and block["severity"] == "suspend"
    assert block["reject_media"] is True and block["obfuscate"] is True
    assert block["private_comment"] == "ugh" and len(block["digest"]) == 64
    status, _ = await call(
        client, team.admin, "POST", "/api/v1/admin/domain_blocks", domain="spam.example"
    )
    assert status == 422
    assert (await call(client, team.admin, "POST", "/api/v1/admin/domain_blocks"))[0] == 422
    path = f"/api/v1/admin/domain_blocks/{block['id']}"
    status, body = await call(client, team.admin, "PUT", path, severity="silence")
    assert status == 200 and body["severity"] == "silence" and body["reject_media"] is True
    _, listed = await call(client, team.admin, "GET", "/api/v1/admin/domain_blocks")
    assert [b["domain"] for b in listed] == ["spam.example"]
    # The public list masks the obfuscated domain.
    response = await client.get("/api/v1/instance/domain_blocks")
    assert [b["domain"] for b in await response.get_json()] == ["spam.****ple"]
    assert (await call(client, team.admin, "DELETE", path)) == (200, {})
    assert (await call(client, team.admin, "GET", path))[0] == 404
    status, allow = await call(
        client, team.admin, "POST", "/api/v1/admin/domain_allows", domain="friends.example"
    )
    assert status == 200 and allow["domain"] == "friends.example"
    _, again = await call(
        client, team.admin, "POST", "/api/v1/admin/domain_allows", domain="friends.example"
    )
    assert again["id"] == allow["id"]
    _, listed = await call(client, team.admin, "GET", "/api/v1/admin/domain_allows")
    assert [a["domain"] for a in listed] == ["friends.example"]
    allow_path = f"/api/v1/admin/domain_allows/{allow['id']}"
    assert (await call(client, team.admin, "GET", allow_path))[1]["domain"] == "friends.example"
    assert (await call(client, team.admin, "DELETE", allow_path)) == (200, {})
    assert (
        await call(client, team.mod, "POST", "/api/v1/admin/domain_allows", domain="x.example")
    )[0] == 403
    assert await audit(rt) == [
        ("adam", "create", "DomainBlock"),
        ("adam", "update", "DomainBlock"),
        ("adam", "destroy", "DomainBlock"),
        ("adam", "create", "DomainAllow"),
        ("adam", "create", "DomainAllow"),
        ("adam", "destroy", "DomainAllow"),
    ]


async def test_email_ip_and_canonical_blocks(rt: Runtime, client: Any) -> None:
    team = await crew(rt, client)
    status, block = await call(
        client, team.admin, "POST", "/api/v1/admin/email_domain_blocks", domain="spam.example"
    )
    assert status == 200 and block["domain"] == "spam.example" and block["history"] == []
    status, _ = await call(
        client, team.admin, "POST", "/api/v1/admin/email_domain_blocks", domain="spam.example"
    )
    assert status == 422
    _, listed = await call(client, team.admin, "GET", "/api/v1/admin/email_domain_blocks")
    assert [b["id"] for b in listed] == [block["id"]]
    path = f"/api/v1/admin/email_domain_blocks/{block['id']}"
    assert (await call(client, team.admin, "GET", path))[1]["domain"] == "spam.example"
    assert (await call(client, team.admin, "DELETE", path)) == (200, {})

    status, ip = await call(
        client,
        team.admin,
        "POST",
        "/api/v1/admin/ip_blocks",
        ip="192.0.2.77/24",
        severity="no_access",
        comment="botnet",
        expires_in=3600,
    )
    assert status == 200 and ip["ip"] == "192.0.2.0/24" and ip["severity"] == "no_access"
    assert ip["comment"] == "botnet" and ip["expires_at"] is not None
    for bad in (
        {"ip": "192.0.2.1", "severity": "no_access"},  # inside a blocked /24? no: its own /32
        {"ip": "not an ip", "severity": "no_access"},
        {"ip": "198.51.100.1", "severity": "shout"},
        {"severity": "no_access"},
    ):
        status, _ = await call(client, team.admin, "POST", "/api/v1/admin/ip_blocks", **bad)
        assert status == (200 if bad.get("ip") == "192.0.2.1" else 422), bad
    status, _ = await call(
        client,
        team.admin,
        "POST",
        "/api/v1/admin/ip_blocks",
        ip="192.0.2.0/24",
        severity="sign_up_block",
    )
    assert status == 422  # that network is blocked already
    ip_path = f"/api/v1/admin/ip_blocks/{ip['id']}"
    status, body = await call(client, team.admin, "PUT", ip_path, severity="sign_up_block")
    assert status == 200 and body["severity"] == "sign_up_block" and body["comment"] == "botnet"
    assert body["expires_at"] == ip["expires_at"]
    _, listed = await call(client, team.admin, "GET", "/api/v1/admin/ip_blocks")
    assert len(listed) == 2
    assert (await call(client, team.admin, "DELETE", ip_path)) == (200, {})

    status, canonical = await call(
        client,
        team.admin,
        "POST",
        "/api/v1/admin/canonical_email_blocks",
        email="Jane.Doe+spam@Example.ORG",
    )
    assert status == 200
    # Mastodon's hash: SHA-256 of the canonical address (no dots, no +tag, lower case).
    import hashlib

    assert canonical["canonical_email_hash"] == hashlib.sha256(b"janedoe@example.org").hexdigest()
    _, matches = await call(
        client,
        team.admin,
        "POST",
        "/api/v1/admin/canonical_email_blocks/test",
        email="j.a.n.e.d.o.e+other@example.org",
    )
    assert [m["id"] for m in matches] == [canonical["id"]]
    _, matches = await call(
        client,
        team.admin,
        "POST",
        "/api/v1/admin/canonical_email_blocks/test",
        email="john@example.org",
    )
    assert matches == []
    status, _ = await call(
        client,
        team.admin,
        "POST",
        "/api/v1/admin/canonical_email_blocks",
        canonical_email_hash=canonical["canonical_email_hash"],
    )
    assert status == 422
    status, by_hash = await call(
        client,
        team.admin,
        "POST",
        "/api/v1/admin/canonical_email_blocks",
        canonical_email_hash="ab" * 32,
    )
    assert status == 200 and by_hash["canonical_email_hash"] == "ab" * 32
    _, listed = await call(client, team.admin, "GET", "/api/v1/admin/canonical_email_blocks")
    assert {c["id"] for c in listed} == {canonical["id"], by_hash["id"]}
    c_path = f"/api/v1/admin/canonical_email_blocks/{by_hash['id']}"
    assert (await call(client, team.admin, "GET", c_path))[1]["id"] == by_hash["id"]
    assert (await call(client, team.admin, "DELETE", c_path)) == (200, {})
    assert (await call(client, team.mod, "DELETE", c_path))[0] == 403
    assert [a[1:] for a in await audit(rt)] == [
        ("create", "EmailDomainBlock"),
        ("destroy", "EmailDomainBlock"),
        ("create", "IpBlock"),
        ("create", "IpBlock"),
        ("update", "IpBlock"),
        ("destroy", "IpBlock"),
        ("create", "CanonicalEmailBlock"),
        ("create", "CanonicalEmailBlock"),
        ("destroy", "CanonicalEmailBlock"),
    ]


async def test_roles_are_given_on_the_admin_pages(rt: Runtime, client: Any) -> None:
    team = await crew(rt, client)
    await log_in(client, "olga")
    html = await html_of(client, "/admin/accounts")
    assert f'action="/admin/accounts/{team.plain.id}/role"' in html
    assert '<option value="admin"' in html and '<option value="owner"' not in html
    response = await submit(
        client, "/admin/accounts", f"/admin/accounts/{team.plain.id}/role", {"role": "admin"}
    )
    assert response.status_code == 303
    _, body = await call(client, team.owner, "GET", f"/api/v1/admin/accounts/{team.plain.id}")
    assert body["role"]["name"] == "Admin"
    # An admin gives moderator roles, not admin ones; a moderator gives none.
    await log_in(client, "adam")
    response = await submit(
        client, "/admin/accounts", f"/admin/accounts/{team.mod.id}/role", {"role": "admin"}
    )
    assert response.status_code == 403
    await log_in(client, "mona")
    html = await html_of(client, "/admin/accounts")
    assert "/role" not in html
    response = await submit(
        client, "/admin/accounts", f"/admin/accounts/{team.plain.id}/role", {"role": "user"}
    )
    assert response.status_code == 403
    assert await audit(rt) == [("olga", "change_role:admin", "User")]
