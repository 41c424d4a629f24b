"""Account moves between live instances, both ways: the new account lists the old one as
an alias, the old one moves on its settings page, and its followers here, on the new
account's server and on a third server all follow the new account; the old account shows
where it went. Moves Mastodon refuses are refused with a message.

Instance A runs on each test backend, instances B and C on SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fakes.peers import Instance, eventually, follow_accepted, peer_config, resolve
from tests.social import PASSWORD, User, follow, get, make_user
from tests.web_helpers import html_of, log_in, submit

pytest_plugins = ("tests.fakes.fixtures",)

AP = {"Accept": "application/activity+json"}


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Any:
    return peer_config(tmp_path, database_url)


async def aliases_form(side: Instance, form: dict[str, str]) -> Any:
    """POST the aliases page's form as the signed-in browser of `side`."""
    return await submit(side.client, "/settings/aliases", "/settings/aliases", form)


async def following(side: Instance, user: User, acct: str) -> bool:
    """Whether `user` on `side` follows `acct` (accepted)."""
    account = await resolve(side, user, acct)
    _, rels = await get(side.client, user, f"/api/v1/accounts/relationships?id[]={account['id']}")
    return bool(rels[0]["following"])


async def prove_move(origin: Instance, target: Instance, third: Instance) -> None:
    """`mover` on `origin` moves to `mover` on `target`; followers on all three move."""
    old = await make_user(origin.rt, origin.client, "mover")
    new = await make_user(target.rt, target.client, "mover")
    here = await make_user(origin.rt, origin.client, "here")
    there = await make_user(target.rt, target.client, "there")
    far = await make_user(third.rt, third.client, "far")
    await follow(origin.client, here, old)
    await follow_accepted(target, there, origin, old)
    seen = await follow_accepted(third, far, origin, old)
    old_acct, new_acct = f"mover@{origin.host}", f"mover@{target.host}"

    # Without the alias the move is refused, with the reason.
    await log_in(origin.client, "mover")
    move = {"action": "move", "acct": new_acct, "current_password": PASSWORD}
    response = await aliases_form(origin, move)
    html = await response.get_data(as_text=True)
    assert response.status_code == 422 and "among its aliases" in html

    # The new account lists the old one (its server checks it by WebFinger).
    await log_in(target.client, "mover")
    response = await aliases_form(target, {"action": "add", "acct": old_acct})
    assert response.status_code == 303
    actor = await (await target.client.get("/users/mover", headers=AP)).get_json()
    assert actor["alsoKnownAs"] == [f"{origin.rt.config.base_url}/users/mover"]

    response = await aliases_form(origin, move)
    assert response.status_code == 303, await response.get_data(as_text=True)

    # The old account shows where it went: API, actor document, settings page.
    _, shown = await get(origin.client, None, f"/api/v1/accounts/{old.id}")
    assert shown["moved"]["acct"] == new_acct
    actor = await (await origin.client.get("/users/mover", headers=AP)).get_json()
    assert actor["movedTo"] == f"{target.rt.config.base_url}/users/mover"
    assert new_acct in await html_of(origin.client, "/settings/aliases")
    # The other servers show the move too.

    async def moved_on_third() -> Any:
        _, account = await get(third.client, far, f"/api/v1/accounts/{seen['id']}")
        return account.get("moved")

    assert (await eventually(moved_on_third, "the move on the third server"))["acct"] == (new_acct)

    # Followers everywhere follow the new account.
    await eventually(lambda: following(origin, here, new_acct), "the follower on the origin")
    await eventually(lambda: following(target, there, "mover"), "the follower on the target")
    await eventually(lambda: following(third, far, new_acct), "the follower on a third server")
    _, followers = await get(target.client, new, f"/api/v1/accounts/{new.id}/followers")
    assert {f["acct"] for f in followers} == {
        f"here@{origin.host}",
        "there",
        f"far@{third.host}",
    }
    _, rels = await get(third.client, far, f"/api/v1/accounts/relationships?id[]={seen['id']}")
    assert rels[0]["following"] is False

    # A second move at once is refused: the old account is on cooldown.
    other = await make_user(target.rt, target.client, "other")
    await log_in(target.client, "other")
    await aliases_form(target, {"action": "add", "acct": old_acct})
    await log_in(origin.client, "mover")
    response = await aliases_form(
        origin, {"action": "move", "acct": f"other@{target.host}", "current_password": PASSWORD}
    )
    assert response.status_code == 422
    assert "cooldown" in await response.get_data(as_text=True)
    assert other.id


async def test_move_out_to_another_server(a: Instance, b: Instance, c: Instance) -> None:
    await prove_move(a, b, c)


async def test_move_in_from_another_server(a: Instance, b: Instance, c: Instance) -> None:
    await prove_move(b, a, c)


async def test_a_move_to_an_account_that_moved_itself_is_refused(a: Instance, b: Instance) -> None:
    await make_user(a.rt, a.client, "old")
    await make_user(b.rt, b.client, "middle")
    await make_user(b.rt, b.client, "last")
    # middle@B moved to last@B already.
    await log_in(b.client, "last")
    await aliases_form(b, {"action": "add", "acct": "middle"})
    await log_in(b.client, "middle")
    await aliases_form(b, {"action": "add", "acct": f"old@{a.host}"})
    response = await aliases_form(
        b, {"action": "move", "acct": "last", "current_password": PASSWORD}
    )
    assert response.status_code == 303
    await log_in(a.client, "old")
    response = await aliases_form(
        a, {"action": "move", "acct": f"middle@{b.host}", "current_password": PASSWORD}
    )
    assert response.status_code == 422
    assert "has itself moved away" in await response.get_data(as_text=True)
