"""Domain blocks from the command line, in the public list, and at the inbox."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from tests.conftest import make_config
from tests.fakes.instance import drain
from tests.fakes.remote import RemoteServer, deliver
from tests.fakes.rows import rows
from tests.social import make_user
from tests.test_cli import _env, wb
from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.http import create_app
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.domain_blocks import block_domain, public_domain
from wildebeest_trio.store import Connection

pytest_plugins = ("tests.fakes.fixtures",)


def test_public_domain_masks_like_mastodon() -> None:
    assert public_domain("example.com", False) == "example.com"
    assert public_domain("example.com", True) == "exa****.*om"
    assert public_domain("a.b", True) == "a.*"


def test_domains_cli_and_public_list(tmp_path: Path, database_url: str) -> None:
    env = _env(tmp_path, database_url)
    assert wb(env, "migrate").returncode == 0
    blocked = wb(
        env,
        "domains",
        "block",
        "Spam.Example",
        "--severity",
        "suspend",
        "--reject-reports",
        "--public-comment",
        "spam",
    )
    assert blocked.returncode == 0, blocked.stderr
    assert wb(env, "domains", "block", "quiet.example", "--obfuscate").returncode == 0
    assert wb(env, "domains", "block", "media.example", "--severity", "noop").returncode == 0
    bad = wb(env, "domains", "block", "https://x.example/")
    assert bad.returncode == 1 and "wildebeest-trio:" in bad.stderr
    listed = wb(env, "domains", "list")
    lines = [line.split("\t") for line in listed.stdout.strip().splitlines()]
    assert [(line[0], line[1]) for line in lines] == [
        ("media.example", "noop"),
        ("quiet.example", "silence"),
        ("spam.example", "suspend"),
    ]
    assert lines[2][2] == "reject-reports" and lines[2][3] == "spam"

    import trio

    async def public_list() -> list[dict[str, Any]]:
        config = make_config(tmp_path, database_url)
        async with open_server_runtime(config) as rt:
            app = create_app(rt)
            async with app.test_app() as test_app:
                response = await test_app.test_client().get("/api/v1/instance/domain_blocks")
                assert response.status_code == 200
                return await response.get_json()

    shown = trio.run(public_list)
    assert shown == [
        {
            "domain": "quie*.****ple",
            "digest": hashlib.sha256(b"quiet.example").hexdigest(),
            "severity": "silence",
            "comment": None,
        },
        {
            "domain": "spam.example",
            "digest": hashlib.sha256(b"spam.example").hexdigest(),
            "severity": "suspend",
            "comment": "spam",
        },
    ]
    assert wb(env, "domains", "unblock", "spam.example").returncode == 0
    again = wb(env, "domains", "unblock", "spam.example")
    assert again.returncode == 1
    assert "spam.example" not in wb(env, "domains", "list").stdout


async def test_reports_from_domains_rejecting_them_are_ignored(
    api: Any, local: Runtime, remote: RemoteServer
) -> None:
    await make_user(local, api, "alice")

    async def block(conn: Connection) -> None:
        await block_domain(conn, local.ids, "127.0.0.1", severity="noop", reject_reports=True)

    await local.store.write(block)
    bob = remote.actor("bob")
    flag = remote.activity(bob, "Flag", [f"{local.config.base_url}/users/alice"], content="x")
    assert await deliver(api, local, bob, flag) == 202
    await drain(local)
    assert await rows(local, "SELECT id FROM reports") == []
