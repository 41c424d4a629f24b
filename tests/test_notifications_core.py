"""The notification core: who gets told, and how v2 groups are keyed."""

from __future__ import annotations

from wildebeest_trio.ids import now_ms
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.services.notifications import notify
from wildebeest_trio.store import Connection
from wildebeest_trio.store import follows as follow_rows


async def _accounts(rt: Runtime) -> tuple[int, int, int]:
    made = [
        await create_local_account(rt, name, f"{name}@example.org", password="pw-long-enough")
        for name in ("ann", "bob", "cid")
    ]
    return made[0].account_id, made[1].account_id, made[2].account_id


async def _rows(rt: Runtime, account_id: int) -> list[dict]:
    async def unit(conn: Connection) -> list[dict]:
        return await conn.fetch(
            "SELECT * FROM notifications WHERE account_id = $1 ORDER BY id", account_id
        )

    return await rt.store.read(unit)


async def test_favourites_of_one_status_share_a_group_and_mentions_do_not(rt: Runtime) -> None:
    ann, bob, cid = await _accounts(rt)

    async def unit(conn: Connection) -> list[int | None]:
        made = []
        for sender in (bob, cid):
            made.append(
                await notify(conn, rt.ids, account_id=ann, type="follow", from_account_id=sender)
            )
            made.append(
                await notify(conn, rt.ids, account_id=ann, type="mention", from_account_id=sender)
            )
        return made

    made = await rt.store.write(unit)
    assert all(made)
    rows = await _rows(rt, ann)
    follows = {r["group_key"] for r in rows if r["type"] == "follow"}
    mentions = [r["group_key"] for r in rows if r["type"] == "mention"]
    assert len(follows) == 1 and next(iter(follows)).startswith("follow-")
    assert mentions == [f"ungrouped-{r['id']}" for r in rows if r["type"] == "mention"]


async def test_no_notification_to_self_or_from_a_blocked_or_muted_sender(rt: Runtime) -> None:
    ann, bob, cid = await _accounts(rt)

    async def unit(conn: Connection) -> list[int | None]:
        await follow_rows.insert_block(conn, rt.ids.next_id(), ann, bob, now_ms())
        await follow_rows.upsert_mute(conn, rt.ids.next_id(), ann, cid, True, None, now_ms())
        return [
            await notify(conn, rt.ids, account_id=ann, type="mention", from_account_id=ann),
            await notify(conn, rt.ids, account_id=ann, type="mention", from_account_id=bob),
            await notify(conn, rt.ids, account_id=ann, type="mention", from_account_id=cid),
        ]

    assert await rt.store.write(unit) == [None, None, None]
    assert await _rows(rt, ann) == []
