"""Verified profile links, as apps and visitors see them: `fields[].verified_at` set by a job
when an `https` page (served on 127.0.0.1 with the tests' CA) links back with rel="me",
for local profiles and remote actors alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio
import trustme

from tests.fakes.instance import drain, trusting_instance
from tests.fakes.remote import RemoteServer, start_remote
from tests.fakes.rows import account_id_of
from tests.social import User, get, make_user
from wildebeest_trio.federation import profile_links
from wildebeest_trio.federation.actors import refresh_actor
from wildebeest_trio.runtime import Runtime

pytest_plugins = ("tests.fakes.fixtures",)

HTML = "text/html; charset=utf-8"


@pytest.fixture
async def site(nursery: trio.Nursery, tmp_path: Path, tls_ca: trustme.CA) -> RemoteServer:
    """A small https site on 127.0.0.1 (certificate of the tests' CA)."""
    return await start_remote(nursery, tls=(tls_ca, tmp_path))


@pytest.fixture
async def server(
    tmp_path: Path, database_url: str, tls_ca: trustme.CA
) -> AsyncIterator[tuple[Runtime, Any]]:
    """The instance under test, trusting the tests' CA; (runtime, client)."""
    async with trusting_instance(tmp_path, database_url, tls_ca) as pair:
        yield pair


@pytest.fixture
async def signed_up(server: tuple[Runtime, Any]) -> tuple[Runtime, Any, User, str]:
    """(runtime, client, alice, her profile's URL)."""
    rt, client = server
    return rt, client, await make_user(rt, client, "alice"), f"{rt.config.base_url}/@alice"


def page(site: RemoteServer, path: str, head: str = "", body: str = "") -> str:
    return site.put_file(
        f"{site.base}{path}",
        f"<!doctype html><html><head><title>Me</title>{head}</head><body>{body}</body></html>",
        HTML,
    )


async def set_fields(client: Any, user: User, fields: list[tuple[str, str]]) -> dict[str, Any]:
    form = {}
    for i, (name, value) in enumerate(fields):
        form[f"fields_attributes[{i}][name]"] = name
        form[f"fields_attributes[{i}][value]"] = value
    response = await client.patch(
        "/api/v1/accounts/update_credentials", headers=user.headers, form=form
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    return dict(await response.get_json())


async def verify(rt: Runtime) -> int:
    return await drain(rt, (profile_links.VERIFY_LINKS.name,))


async def fields_of(client: Any, account_id: str) -> list[dict[str, Any]]:
    code, account = await get(client, None, f"/api/v1/accounts/{account_id}")
    assert code == 200, account
    return list(account["fields"])


async def test_local_links_that_link_back_are_verified(
    signed_up: tuple[Runtime, Any, User, str], site: RemoteServer
) -> None:
    rt, client, alice, profile = signed_up
    anchor = page(site, "/anchor", body=f'<a rel="me nofollow" href="{profile}">me</a>')
    head = page(site, "/head", head=f'<link rel="me" href="{profile}">')
    # A page that redirects to one that links back.
    site.answer(f"{site.base}/moved", 302, headers={"Location": f"{site.base}/anchor"})
    other = page(site, "/other", body='<a rel="me" href="https://elsewhere.example/@alice">x</a>')
    none = page(site, "/none", body=f'<a href="{profile}">no rel</a>')
    plain = f"http://{site.host}/anchor"  # Mastodon verifies https links only
    me = await set_fields(
        client,
        alice,
        [
            ("Anchor", anchor),
            ("Head", head),
            ("Moved", f"{site.base}/moved"),
            ("Other", other),
        ],
    )
    # The answer does not wait for the pages.
    assert [f["verified_at"] for f in me["fields"]] == [None] * 4
    assert site.requests == []
    # The links are marked for the other end to link back.
    assert 'rel="me nofollow noopener"' in me["fields"][0]["value"]
    assert await verify(rt) == 1
    fields = await fields_of(client, alice.id)
    verified = {f["name"]: f["verified_at"] for f in fields}
    assert verified["Anchor"] is not None and verified["Anchor"].endswith("Z")
    assert verified["Head"] is not None
    assert verified["Moved"] is not None
    assert verified["Other"] is None
    # `credential_account` shows the same.
    code, creds = await get(client, alice, "/api/v1/accounts/verify_credentials")
    assert code == 200
    assert creds["fields"][0]["verified_at"] == verified["Anchor"]
    # The public profile page shows the check mark.
    response = await client.get("/@alice")
    html = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count('class="verified-mark"') == 3

    # Changing a field clears its mark; unchanged ones keep theirs.
    anchor2 = page(site, "/anchor2", body="nothing here")
    fields = [("Anchor", anchor2), ("Head", head), ("None", none), ("Plain", plain)]
    me = await set_fields(client, alice, fields)
    assert me["fields"][0]["verified_at"] is None
    assert me["fields"][1]["verified_at"] == verified["Head"]
    await verify(rt)
    fields_now = await fields_of(client, alice.id)
    assert [f["verified_at"] for f in fields_now] == [None, verified["Head"], None, None]
    fetched = [r.path for r in site.requests]
    assert "/anchor2" in fetched and "/none" in fetched
    assert fetched.count("/head") == 1  # a verified link is not fetched again
    assert fetched.count("/anchor") == 2  # directly, then after /moved; never over http


async def test_a_rel_me_link_that_redirects_to_the_profile_counts(
    signed_up: tuple[Runtime, Any, User, str], site: RemoteServer
) -> None:
    rt, client, alice, profile = signed_up
    short = f"{site.base}/s/1"
    site.answer(short, 301, headers={"Location": profile})
    linked = page(site, "/short", body=f'<a rel="me" href="{short}">me</a>')
    await set_fields(client, alice, [("Site", linked)])
    await verify(rt)
    assert (await fields_of(client, alice.id))[0]["verified_at"] is not None


async def test_the_scheduler_checks_local_links_again(
    signed_up: tuple[Runtime, Any, User, str], site: RemoteServer
) -> None:
    rt, client, alice, profile = signed_up
    url = f"{site.base}/later"
    await set_fields(client, alice, [("Site", url)])
    await verify(rt)  # not there yet: 404
    assert (await fields_of(client, alice.id))[0]["verified_at"] is None
    page(site, "/later", body=f'<a rel="me" href="{profile}">me</a>')
    await profile_links.reverify_local(rt)
    assert await verify(rt) == 1
    assert (await fields_of(client, alice.id))[0]["verified_at"] is not None


async def test_remote_accounts_links_are_verified_here(
    server: tuple[Runtime, Any], site: RemoteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(profile_links, "REMOTE_DELAY", 0.0)
    rt, client = server
    profile = f"{site.base}/@bob"
    good = page(site, "/bob-site", body=f'<a rel="me" href="{profile}">Bob</a>')
    bad = page(site, "/bob-other", body="no links")
    link = '<a href="{0}" rel="me nofollow noopener">{0}</a>'
    bob = site.actor(
        "bob",
        url=profile,
        attachment=[
            {"type": "PropertyValue", "name": "Site", "value": link.format(good)},
            {"type": "PropertyValue", "name": "Other", "value": link.format(bad)},
            {"type": "PropertyValue", "name": "Text", "value": "just text"},
        ],
    )
    await refresh_actor(rt, bob.uri)
    account_id = str(await account_id_of(rt, bob.uri))
    assert [f["verified_at"] for f in await fields_of(client, account_id)] == [None] * 3
    assert await verify(rt) == 1
    fields = await fields_of(client, account_id)
    assert fields[0]["verified_at"] is not None
    assert (fields[1]["verified_at"], fields[2]["verified_at"]) == (None, None)

    # Fetched again unchanged, the link stays verified (and is not fetched again).
    def fetches() -> int:
        return len([r for r in site.requests if r.path == "/bob-site"])

    before = fetches()
    await refresh_actor(rt, bob.uri)
    await verify(rt)
    assert (await fields_of(client, account_id))[0]["verified_at"] == fields[0]["verified_at"]
    assert fetches() == before == 1
