"""Imports of Mastodon's CSV files on the settings page, with accounts and posts on a second
live instance: every type in both modes, rows that fail (an unknown account, a server that
is gone) and the progress the page shows, bad files refused whole, and every export read
back by an import on the other server.

Instance A runs on each test backend, instance B on SQLite."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from werkzeug.datastructures import FileStorage

from tests.conftest import free_port
from tests.fakes.peers import Instance, eventually, follow_accepted, peer_config, resolve
from tests.oauth_flow import csrf_from
from tests.social import User, act, get, make_user, post
from tests.web_helpers import html_of, log_in
from wildebeest_trio.services import imports

pytest_plugins = ("tests.fakes.fixtures",)


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Any:
    return peer_config(tmp_path, database_url)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # Rows that fail in a way that may pass are tried twice more, at once.
    monkeypatch.setattr(imports, "RETRY_DELAYS", (0.05, 0.05))


async def upload(
    side: Instance, kind: str, text: str | bytes, mode: str = "merge", name: str = "f.csv"
) -> Any:
    """POST a file to the import form as the signed-in browser of `side`."""
    token = csrf_from(await html_of(side.client, "/settings/export"))
    data = text.encode() if isinstance(text, str) else text
    return await side.client.post(
        "/settings/import",
        form={"csrf_token": token, "type": kind, "mode": mode},
        files={"file": FileStorage(io.BytesIO(data), name)},
    )


def _rows(html: str) -> list[dict[str, str]]:
    """The imports table of the settings page: state and counts per import."""
    found = []
    for match in re.finditer(
        r'<tr id="import-\d+"[^>]*><td>([^<]*)</td><td>[^<]*</td><td>(\w+)</td>'
        r'<td class="state">(\w+)</td><td class="done">(\d+)</td>'
        r'<td class="failed">(\d+)</td><td class="left">(\d+)</td>',
        html,
    ):
        name, mode, state, done, failed, left = match.groups()
        found.append(
            {
                "file": name,
                "mode": mode,
                "state": state,
                "done": done,
                "failed": failed,
                "left": left,
            }
        )
    return found


async def imported(side: Instance, kind: str, text: str, mode: str = "merge") -> dict[str, Any]:
    """Upload a file, then wait until the page shows its import finished; that row of the
    table with the page's HTML."""
    response = await upload(side, kind, text, mode, name=f"{kind}-{mode}.csv")
    assert response.status_code == 303, await response.get_data(as_text=True)
    assert response.headers["Location"].startswith("/settings/export?notice=")

    async def finished() -> Any:
        html = await html_of(side.client, "/settings/export")
        rows = _rows(html)
        assert rows and rows[0]["file"] == f"{kind}-{mode}.csv"
        return {**rows[0], "html": html} if rows[0]["state"] == "finished" else None

    return await eventually(finished, f"the {kind} import to finish")


async def relationship(side: Instance, user: User, account: dict[str, Any]) -> dict[str, Any]:
    _, rels = await get(side.client, user, f"/api/v1/accounts/relationships?id[]={account['id']}")
    return rels[0]


async def test_following_resolves_unknown_accounts_and_lists_failures(
    a: Instance, b: Instance
) -> None:
    alice = await make_user(a.rt, a.client, "alice")
    bob = await make_user(b.rt, b.client, "bob")
    await make_user(b.rt, b.client, "carol")
    gone = f"127.0.0.1:{free_port()}"  # nothing listens there
    await log_in(a.client, "alice")
    text = (
        "Account address,Show boosts,Notify on new posts,Languages\n"
        f'bob@{b.host},false,true,"en, de"\n'
        f"@carol@{b.host},true,false,\n"
        f"ghost@{b.host},true,false,\n"
        f"someone@{gone},true,false,\n"
    )
    row = await imported(a, "following", text)
    assert (row["done"], row["failed"], row["left"]) == ("2", "2", "0")
    html = row["html"]
    assert f'<span class="what">ghost@{b.host}</span>: <span class="reason">Unknown account' in html
    assert re.search(
        rf'<span class="what">someone@{re.escape(gone)}</span>: '
        r'<span class="reason">Server unreachable',
        html,
    )
    # Alice follows both, as B accepted, with the file's settings.
    remote_bob = await resolve(a, alice, f"bob@{b.host}")

    async def accepted() -> Any:
        rel = await relationship(a, alice, remote_bob)
        return rel if rel["following"] else None

    rel = await eventually(accepted, "B's Accept")
    assert rel["showing_reblogs"] is False and rel["notifying"] is True
    assert rel["languages"] == ["en", "de"]
    code, followers = await get(b.client, bob, f"/api/v1/accounts/{bob.id}/followers")
    assert code == 200 and [f["acct"] for f in followers] == [f"alice@{a.host}"]
    remote_carol = await resolve(a, alice, f"carol@{b.host}")
    assert (await relationship(a, alice, remote_carol))["showing_reblogs"] is True


async def test_blocks_mutes_and_domain_blocks_merge_then_overwrite(
    a: Instance, b: Instance
) -> None:
    alice = await make_user(a.rt, a.client, "alice")
    await make_user(a.rt, a.client, "dora")
    await make_user(b.rt, b.client, "bob")
    await make_user(b.rt, b.client, "carol")
    await log_in(a.client, "alice")

    row = await imported(a, "blocking", f"bob@{b.host}\ndora@{a.host}\n")
    assert (row["done"], row["failed"]) == ("2", "0")
    bob = await resolve(a, alice, f"bob@{b.host}")
    assert (await relationship(a, alice, bob))["blocking"] is True
    # Overwrite: only carol stays blocked.
    await imported(a, "blocking", f"carol@{b.host}\n", mode="overwrite")
    carol = await resolve(a, alice, f"carol@{b.host}")
    assert (await relationship(a, alice, bob))["blocking"] is False
    assert (await relationship(a, alice, carol))["blocking"] is True
    code, blocked = await get(a.client, alice, "/api/v1/blocks")
    assert code == 200 and [x["acct"] for x in blocked] == [f"carol@{b.host}"]

    row = await imported(
        a, "muting", f"Account address,Hide notifications\nbob@{b.host},false\ncarol@{b.host},\n"
    )
    assert row["done"] == "2"
    rel = await relationship(a, alice, bob)
    assert rel["muting"] is True and rel["muting_notifications"] is False
    assert (await relationship(a, alice, carol))["muting_notifications"] is True
    await imported(a, "muting", f"bob@{b.host}\n", mode="overwrite")
    assert (await relationship(a, alice, carol))["muting"] is False
    assert (await relationship(a, alice, bob))["muting"] is True

    await imported(a, "domain_blocking", "spam.example\nNasty.Example\n")
    code, domains = await get(a.client, alice, "/api/v1/domain_blocks")
    assert code == 200 and sorted(domains) == ["nasty.example", "spam.example"]
    await imported(a, "domain_blocking", "#domain\nspam.example\n", mode="overwrite")
    code, domains = await get(a.client, alice, "/api/v1/domain_blocks")
    assert domains == ["spam.example"]


async def test_bookmarks_and_lists(a: Instance, b: Instance) -> None:
    alice = await make_user(a.rt, a.client, "alice")
    bob = await make_user(b.rt, b.client, "bob")
    await make_user(b.rt, b.client, "carol")
    mine = await post(a.client, alice, "a note to self")
    theirs = await post(b.client, bob, "worth keeping")
    other = await post(b.client, bob, "also good")
    await log_in(a.client, "alice")
    text = f"{theirs['uri']}\n{mine['uri']}\n{b.rt.config.base_url}/users/bob/statuses/1\n"
    row = await imported(a, "bookmarks", text)
    assert (row["done"], row["failed"]) == ("2", "1")
    assert "Post not found" in row["html"]
    code, marked = await get(a.client, alice, "/api/v1/bookmarks")
    assert code == 200 and {s["uri"] for s in marked} == {theirs["uri"], mine["uri"]}
    await imported(a, "bookmarks", f"{other['uri']}\n{mine['uri']}\n", mode="overwrite")
    code, marked = await get(a.client, alice, "/api/v1/bookmarks")
    assert {s["uri"] for s in marked} == {other["uri"], mine["uri"]}

    # Lists: made when missing, their members followed first.
    text = f"Friends,bob@{b.host}\nFriends,carol@{b.host}\nWork,bob@{b.host}\n"
    row = await imported(a, "lists", text)
    assert (row["done"], row["failed"]) == ("3", "0"), row["html"]

    async def lists_of() -> dict[str, set[str]]:
        _, found = await get(a.client, alice, "/api/v1/lists")
        members = {}
        for item in found:
            _, accounts = await get(a.client, alice, f"/api/v1/lists/{item['id']}/accounts")
            members[item["title"]] = {x["acct"] for x in accounts}
        return members

    assert await lists_of() == {
        "Friends": {f"bob@{b.host}", f"carol@{b.host}"},
        "Work": {f"bob@{b.host}"},
    }
    remote_carol = await resolve(a, alice, f"carol@{b.host}")
    rel = await relationship(a, alice, remote_carol)
    assert rel["following"] or rel["requested"]
    # Overwrite touches only the lists the file names.
    await imported(a, "lists", f"List name,Account address\nFriends,carol@{b.host}\n", "overwrite")
    assert await lists_of() == {"Friends": {f"carol@{b.host}"}, "Work": {f"bob@{b.host}"}}


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        ("following", b"\x89PNG\r\n\x1a\n\x00\x00binary", "Invalid CSV file"),
        ("following", b"", "Empty CSV file"),
        ("following", b"\n\n  \n", "Empty CSV file"),
        ("following", b"Account address,Show boosts\n", "Empty CSV file"),
        ("following", b"#domain\nspam.example\n", "Incompatible with the selected import type"),
        ("lists", b"Account address\nbob@example.com\n", "Incompatible with the selected import"),
        ("bookmarks", b"bob@example.com\n", "Incompatible with the selected import type"),
        ("following", b'"unclosed,quote\n', "Invalid CSV file"),
        ("blocking", "".join(f"u{i}@x.example\n" for i in range(20_001)).encode(), "20000 rows"),
        ("nothing", b"bob@example.com\n", "Choose what the file lists"),
    ],
)
async def test_bad_files_change_nothing(a: Instance, kind: str, data: bytes, message: str) -> None:
    await make_user(a.rt, a.client, "alice")
    await log_in(a.client, "alice")
    response = await upload(a, kind, data)
    html = await response.get_data(as_text=True)
    assert response.status_code == 422, html[:300]
    assert re.search(r'<p class="error" role="alert">([^<]*)</p>', html)
    assert message in html
    assert _rows(html) == []


async def test_exports_read_back_by_imports_on_another_server(a: Instance, b: Instance) -> None:
    """Alice on A exports everything; her new account on B imports each file and has the
    same follows, lists, blocks, mutes, hidden domains and bookmarks."""
    alice = await make_user(a.rt, a.client, "alice")
    bob = await make_user(a.rt, a.client, "bob")
    carol = await make_user(a.rt, a.client, "carol")
    dave = await make_user(a.rt, a.client, "dave")
    erin = await make_user(b.rt, b.client, "erin")
    await act(a.client, alice, f"/api/v1/accounts/{bob.id}/follow", reblogs=False, notify=True)
    await act(a.client, alice, f"/api/v1/accounts/{carol.id}/follow", languages=["fr"])
    remote_erin = await follow_accepted(a, alice, b, erin)
    _, made = await act(a.client, alice, "/api/v1/lists", title="Close")
    await act(a.client, alice, f"/api/v1/lists/{made['id']}/accounts", account_ids=[bob.id])
    await act(
        a.client, alice, f"/api/v1/lists/{made['id']}/accounts", account_ids=[remote_erin["id"]]
    )
    await act(a.client, alice, f"/api/v1/accounts/{dave.id}/block")
    await act(a.client, alice, f"/api/v1/accounts/{carol.id}/mute", notifications=False)
    await act(a.client, alice, "/api/v1/domain_blocks", domain="spam.example")
    liked = await post(a.client, bob, "a keeper")
    await act(a.client, alice, f"/api/v1/statuses/{liked['id']}/bookmark")

    await log_in(a.client, "alice")
    files = {}
    for kind in ("follows", "lists", "blocks", "mutes", "domain_blocks", "bookmarks"):
        response = await a.client.get(f"/settings/export/{kind}.csv")
        assert response.status_code == 200 and response.content_type.startswith("text/csv")
        files[kind] = await response.get_data(as_text=True)
    assert files["follows"].splitlines() == [
        "Account address,Show boosts,Notify on new posts,Languages",
        f"bob@{a.host},false,true,",
        f"carol@{a.host},true,false,fr",
        f"erin@{b.host},true,false,",
    ]
    assert files["lists"].splitlines() == [f"Close,bob@{a.host}", f"Close,erin@{b.host}"]
    assert files["blocks"] == f"dave@{a.host}\n"
    assert files["mutes"] == f"Account address,Hide notifications\ncarol@{a.host},false\n"
    assert files["domain_blocks"] == "spam.example\n"
    assert files["bookmarks"] == f"{liked['uri']}\n"

    # Alice's new account on B.
    new = await make_user(b.rt, b.client, "alice")
    await log_in(b.client, "alice")
    for kind, form_type in (
        ("follows", "following"),
        ("lists", "lists"),
        ("blocks", "blocking"),
        ("mutes", "muting"),
        ("domain_blocks", "domain_blocking"),
        ("bookmarks", "bookmarks"),
    ):
        row = await imported(b, form_type, files[kind])
        assert row["failed"] == "0", row["html"]

    async def exported(kind: str) -> str:
        response = await b.client.get(f"/settings/export/{kind}.csv")
        return str(await response.get_data(as_text=True))

    async def all_accepted() -> bool:
        return len((await exported("follows")).splitlines()) == 4

    await eventually(all_accepted, "A's Accepts")
    assert sorted((await exported("follows")).splitlines()[1:]) == [
        f"bob@{a.host},false,true,",
        f"carol@{a.host},true,false,fr",
        f"erin@{b.host},true,false,",
    ]
    assert sorted((await exported("lists")).splitlines()) == [
        f"Close,bob@{a.host}",
        f"Close,erin@{b.host}",
    ]
    assert await exported("blocks") == f"dave@{a.host}\n"
    assert await exported("mutes") == f"Account address,Hide notifications\ncarol@{a.host},false\n"
    assert await exported("domain_blocks") == "spam.example\n"
    code, marked = await get(b.client, new, "/api/v1/bookmarks")
    assert code == 200 and [s["uri"] for s in marked] == [liked["uri"]]


async def test_follow_limit_refuses_rows_and_api_follows(a: Instance) -> None:
    """Mastodon's FollowLimitValidator: past 7,500 follows a follow is refused (422, and
    the import's row fails with the message) until followers justify more (1.1 each)."""
    alice = await make_user(a.rt, a.client, "alice")
    dora = await make_user(a.rt, a.client, "dora")
    await make_user(a.rt, a.client, "erin")

    async def counts(following: int, followers: int) -> None:
        async def unit(conn: Any) -> None:
            await conn.execute(
                "UPDATE accounts SET following_count = $1, followers_count = $2 WHERE id = $3",
                following,
                followers,
                int(alice.id),
            )

        await a.rt.store.write(unit)

    await counts(7_500, 10)
    code, body = await act(a.client, alice, f"/api/v1/accounts/{dora.id}/follow")
    assert code == 422
    assert body == {"error": "Validation failed: You cannot follow more than 7500 people"}
    await log_in(a.client, "alice")
    row = await imported(a, "following", f"dora@{a.host}\n")
    assert (row["done"], row["failed"]) == ("0", "1")
    assert "You cannot follow more than 7500 people" in row["html"]
    # Followers raise the limit: 8,000 of them allow 8,800 follows.
    await counts(7_600, 8_000)
    row = await imported(a, "following", f"erin@{a.host}\n")
    assert (row["done"], row["failed"]) == ("1", "0")
    _, rels = await get(a.client, alice, f"/api/v1/accounts/relationships?id[]={dora.id}")
    assert rels[0]["following"] is False


async def test_progress_updates_without_a_reload(
    a: Instance, b: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A running import's row names its JSON progress (which the page's script polls);
    without the script the page reloads itself; another account cannot read it."""
    monkeypatch.setattr(imports, "RETRY_DELAYS", (3600.0,))  # the gone server's row waits
    await make_user(a.rt, a.client, "alice")
    await make_user(b.rt, b.client, "bob")
    await log_in(a.client, "alice")
    gone = f"127.0.0.1:{free_port()}"
    response = await upload(a, "following", f"bob@{b.host}\nsomeone@{gone}\n")
    assert response.status_code == 303

    async def waiting() -> Any:
        html = await html_of(a.client, "/settings/export")
        rows = _rows(html)
        return html if rows and rows[0]["done"] == "1" and rows[0]["left"] == "1" else None

    html = await eventually(waiting, "bob's row done, the other waiting")
    found = re.search(r'<tr id="import-(\d+)" data-progress="(/settings/import/\d+\.json)">', html)
    assert found, html
    import_id, address = found.groups()
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in html
    assert re.search(r'<script[^>]+src="/assets/app-[0-9a-f]+\.js"', html)
    response = await a.client.get(address)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = await response.get_json()
    assert body == {
        "id": import_id,
        "state": "running",
        "total": 2,
        "done": 1,
        "failed": 0,
        "left": 1,
        "failures": [],
    }
    # The script the page loads polls that address and updates the cells in place.
    script = await (await a.client.get(re.search(r'src="(/assets/app-[^"]+)"', html)[1])).get_data()
    assert b"tr[data-progress]" in script and b"row.dataset.progress" in script
    await make_user(a.rt, a.client, "mallory")
    await log_in(a.client, "mallory")
    response = await a.client.get(address)
    assert response.status_code == 404
    assert await response.get_json() == {"error": "Record not found"}


async def test_files_up_to_mastodons_limit_go_through(a: Instance) -> None:
    """Mastodon's 20 MB: a file of exactly that size is imported; a larger one gets the
    page with Mastodon's message, whether it came in whole (422) or passed the form's
    limit (413); other routes keep the app's limit."""
    alice = await make_user(a.rt, a.client, "alice")
    await log_in(a.client, "alice")
    head = b"spam.example\n"

    def padded(size: int) -> bytes:
        # Lines of blanks are no rows: one domain, the rest padding (in lines shorter
        # than the csv module's field limit).
        line = b" " * 99_999 + b"\n"
        rest = size - len(head)
        return head + line * (rest // len(line)) + b" " * (rest % len(line))

    async def send(data: bytes) -> Any:
        # The multipart body made here: the test client's own encoder takes seconds a file.
        token = csrf_from(await html_of(a.client, "/settings/export"))
        fields = b"".join(
            b'--b0undary\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (name, value)
            for name, value in ((b"csrf_token", token.encode()), (b"type", b"domain_blocking"))
        )
        body = (
            fields + b'--b0undary\r\nContent-Disposition: form-data; name="file"; '
            b'filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n' + data + b"\r\n--b0undary--\r\n"
        )
        return await a.client.post(
            "/settings/import",
            data=body,
            headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
        )

    response = await send(padded(imports.MAX_FILE_BYTES))
    assert response.status_code == 303, (await response.get_data(as_text=True))[:300]

    async def blocked() -> Any:
        code, domains = await get(a.client, alice, "/api/v1/domain_blocks")
        return domains if code == 200 and domains == ["spam.example"] else None

    await eventually(blocked, "the 20 MB file imported")
    for size, status in ((imports.MAX_FILE_BYTES + 1, 422), (imports.MAX_FILE_BYTES + 2**20, 413)):
        response = await send(padded(size))
        html = await response.get_data(as_text=True)
        assert response.status_code == status
        assert '<p class="error" role="alert">File is too large</p>' in html, html[:300]
        assert len(_rows(html)) == 1
    # The app's limit for the other routes is as it was.
    token = csrf_from(await html_of(a.client, "/settings/export"))
    response = await a.client.post(
        "/settings/profile",
        form={"csrf_token": token, "display_name": "x" * (imports.MAX_FILE_BYTES - 2**20)},
    )
    assert response.status_code == 413
