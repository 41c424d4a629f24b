"""Endpoints that need no login: instance, WebFinger, host-meta, NodeInfo, CORS, errors."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.services.instance import add_rule, set_extended_description

CONFIGURATION_KEYS = {
    "urls",
    "vapid",
    "accounts",
    "statuses",
    "media_attachments",
    "polls",
    "translation",
}


async def _admin(rt: Runtime) -> None:
    await create_local_account(
        rt,
        "admin",
        "admin@example.org",
        password="correct horse",
        role="admin",
        allow_reserved=True,
    )


async def test_instance_v2_shape_and_real_counts(rt: Runtime, client: Any) -> None:
    await _admin(rt)
    await create_local_account(rt, "bob", "bob@example.org", password="password123")
    await add_rule(rt, "Be kind", "Really.")
    response = await client.get("/api/v2/instance")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["domain"] == rt.config.domain
    assert body["version"].startswith("4.5.0 (compatible; wildebeest-trio ")
    assert body["version"].split(".")[0] == "4"
    assert CONFIGURATION_KEYS <= set(body["configuration"])
    conf = body["configuration"]
    assert conf["urls"]["streaming"] == f"ws://{rt.config.domain}"
    assert conf["accounts"]["max_featured_tags"] == 10
    assert conf["statuses"]["max_characters"] == 500
    assert isinstance(conf["media_attachments"]["supported_mime_types"], list)
    assert conf["polls"]["max_options"] == 4
    assert conf["translation"] == {"enabled": False}
    assert len(conf["vapid"]["public_key"]) == 87  # 65-byte P-256 point, base64url
    # Grouped notifications (2), PKCE (3), standard Web Push (4), the blur filter action (5),
    # endorsements (6) and quote posts (7) are all mounted; Mastodon 4.5 says 7.
    assert body["api_versions"] == {"mastodon": 7}
    assert conf["timelines_access"]["live_feeds"] == {"local": "public", "remote": "public"}
    assert body["registrations"]["enabled"] is True
    assert body["contact"]["account"]["username"] == "admin"
    assert body["contact"]["account"]["avatar"].endswith("/static/avatar.png")
    assert [r["text"] for r in body["rules"]] == ["Be kind"]
    assert body["usage"]["users"]["active_month"] == 0


async def test_instance_v1_for_old_clients(rt: Runtime, client: Any) -> None:
    await _admin(rt)
    body = await (await client.get("/api/v1/instance")).get_json()
    assert body["uri"] == rt.config.domain
    assert body["urls"]["streaming_api"] == f"ws://{rt.config.domain}"
    assert body["stats"] == {"user_count": 1, "status_count": 0, "domain_count": 0}
    assert body["contact_account"]["acct"] == "admin"
    for key in ("title", "description", "email", "version", "registrations"):
        assert key in body


async def test_instance_documents_follow_their_facts(rt: Runtime, client: Any) -> None:
    """The encoded documents are kept between requests, never past a change: a new user,
    rule or contact shows in the very next answer of both versions."""
    await _admin(rt)
    for _ in range(2):  # the second answer is the kept one
        v1 = await (await client.get("/api/v1/instance")).get_json()
        v2 = await (await client.get("/api/v2/instance")).get_json()
        assert v1["stats"]["user_count"] == 1 and v1["rules"] == v2["rules"] == []
    await create_local_account(rt, "carol", "carol@example.org", password="password123")
    await add_rule(rt, "Be kind")
    v1 = await (await client.get("/api/v1/instance")).get_json()
    v2 = await (await client.get("/api/v2/instance")).get_json()
    assert v1["stats"]["user_count"] == 2
    assert [r["text"] for r in v1["rules"]] == [r["text"] for r in v2["rules"]] == ["Be kind"]


async def test_instance_documents_do_not_search_the_path_per_request(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether ffmpeg is installed is found once, when the app is made: a request for the
    instance document searches no `PATH`, and says what was found then."""
    found_at_start = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None
    searched: list[str] = []

    def which(name: str, *args: Any, **kwargs: Any) -> None:
        searched.append(name)

    monkeypatch.setattr(shutil, "which", which)
    for path in ("/api/v1/instance", "/api/v2/instance"):
        response = await client.get(path)
        assert response.status_code == 200
        types = (await response.get_json())["configuration"]["media_attachments"][
            "supported_mime_types"
        ]
        assert "image/png" in types
        assert ("video/mp4" in types) is found_at_start
    assert searched == []


async def test_rules_peers_translation_extended(rt: Runtime, client: Any) -> None:
    first = await add_rule(rt, "No spam")
    await add_rule(rt, "No hate", "Includes dog whistles")
    rules = await (await client.get("/api/v1/instance/rules")).get_json()
    assert rules[0] == {"id": str(first), "text": "No spam", "hint": "", "translations": {}}
    assert rules[1]["hint"] == "Includes dog whistles"
    assert await (await client.get("/api/v1/instance/peers")).get_json() == []
    assert await (await client.get("/api/v1/instance/translation_languages")).get_json() == {}
    await set_extended_description(rt, "<p>Hello</p>")
    ext = await (await client.get("/api/v1/instance/extended_description")).get_json()
    assert ext["content"] == "<p>Hello</p>"
    assert ext["updated_at"].endswith("Z")


async def test_webfinger(rt: Runtime, client: Any) -> None:
    await create_local_account(rt, "alice", "alice@example.org", password="password123")
    domain = rt.config.domain
    base = rt.config.base_url
    for resource in (
        f"acct:alice@{domain}",
        f"alice@{domain}",
        f"acct:ALICE@{domain}",
        f"{base}/@alice",
        f"{base}/users/alice",
    ):
        response = await client.get("/.well-known/webfinger", query_string={"resource": resource})
        assert response.status_code == 200, resource
        assert response.headers["Content-Type"].startswith("application/jrd+json")
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        body = await response.get_json()
        assert body["subject"] == f"acct:alice@{domain}"
        assert body["aliases"] == [f"{base}/@alice", f"{base}/users/alice"]
        self_link = next(link for link in body["links"] if link["rel"] == "self")
        assert self_link == {
            "rel": "self",
            "type": "application/activity+json",
            "href": f"{base}/users/alice",
        }


@pytest.mark.parametrize(
    ("resource", "status"),
    [
        ("", 400),
        ("acct:", 400),
        ("nobody", 400),
        ("acct:@", 400),
        ("http://127.0.0.1:1/not-an-account", 404),
        # Well-formed, naming this server, but no account: Mastodon's 404, not a 400.
        ("acct:ghost@{domain}", 404),
        ("ghost@{domain}", 404),
        ("http://{domain}/@ghost", 404),
        ("http://{domain}/users/ghost", 404),
        ("http://{domain}/about", 404),
        ("http://{domain}/@alice/123", 404),
        ("acct:alice@elsewhere.example", 404),
    ],
)
async def test_webfinger_errors(rt: Runtime, client: Any, resource: str, status: int) -> None:
    response = await client.get(
        "/.well-known/webfinger",
        query_string={"resource": resource.format(domain=rt.config.domain)},
    )
    assert response.status_code == status
    assert "error" in await response.get_json()


async def test_webfinger_without_resource(client: Any) -> None:
    response = await client.get("/.well-known/webfinger")
    assert response.status_code == 400


async def test_host_meta(rt: Runtime, client: Any) -> None:
    response = await client.get("/.well-known/host-meta")
    assert response.headers["Content-Type"].startswith("application/xrd+xml")
    text = await response.get_data(as_text=True)
    template = f"{rt.config.base_url}/.well-known/webfinger?resource={{uri}}"
    assert f'template="{template}"' in text
    body = await (await client.get("/.well-known/host-meta.json")).get_json()
    assert body == {"links": [{"rel": "lrdd", "template": template}]}


async def test_nodeinfo(rt: Runtime, client: Any) -> None:
    await _admin(rt)
    links = await (await client.get("/.well-known/nodeinfo")).get_json()
    hrefs = [link["href"] for link in links["links"]]
    assert f"{rt.config.base_url}/nodeinfo/2.0" in hrefs
    for version in ("2.0", "2.1"):
        response = await client.get(f"/nodeinfo/{version}")
        body = await response.get_json()
        assert body["version"] == version
        assert body["protocols"] == ["activitypub"]
        assert body["usage"]["users"]["total"] == 1
        assert body["usage"]["localPosts"] == 0
        assert body["openRegistrations"] is True
    assert (await client.get("/nodeinfo/3.0")).status_code == 404


async def test_cors_preflight_and_headers(client: Any) -> None:
    response = await client.options(
        "/api/v1/apps",
        headers={
            "Origin": "https://elk.zone",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "authorization,content-type"
    got = await client.get("/api/v2/instance", headers={"Origin": "https://elk.zone"})
    assert got.headers["Access-Control-Allow-Origin"] == "*"
    assert "Link" in got.headers["Access-Control-Expose-Headers"]
    assert "X-RateLimit-Remaining" in got.headers["Access-Control-Expose-Headers"]
    for path in ("/oauth/token", "/.well-known/nodeinfo", "/nodeinfo/2.0"):
        pre = await client.options(path, headers={"Access-Control-Request-Method": "POST"})
        assert pre.headers["Access-Control-Allow-Origin"] == "*", path


async def test_trailing_slash_is_the_same_path(client: Any) -> None:
    a = await client.get("/api/v1/instance/")
    assert a.status_code == 200
    assert (await a.get_json())["uri"]


async def test_unknown_api_path_is_json_404(client: Any) -> None:
    for path in ("/api/v1/nope", "/api/v9/instance", "/api/"):
        response = await client.get(path)
        assert response.status_code == 404
        assert await response.get_json() == {"error": "Record not found"}
    wrong_method = await client.delete("/api/v2/instance")
    assert wrong_method.status_code == 405
    assert "error" in await wrong_method.get_json()


async def test_unhandled_error_is_json_500_with_request_id(rt: Runtime, client: Any) -> None:
    async def broken() -> Any:
        raise RuntimeError("kaboom")

    client.app.add_url_rule("/api/v1/test-broken", "broken", broken)
    response = await client.get("/api/v1/test-broken")
    assert response.status_code == 500
    body = await response.get_json()
    assert body["error"] == "Internal server error"
    assert body["request_id"] == response.headers["X-Request-Id"]


async def test_health(client: Any) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "OK"


async def test_static_default_images(client: Any) -> None:
    response = await client.get("/static/avatar.png")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert "max-age" in response.headers["Cache-Control"]
