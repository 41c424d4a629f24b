"""Files of deleted statuses and removed accounts go once no row names them, by a durable job."""

from __future__ import annotations

from typing import Any

import trio

from tests.social import User, get, make_user, post
from tests.test_media_api import photo, stored_files, upload
from wildebeest_trio.jobs.worker import run_workers
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services import media
from wildebeest_trio.services.profile_images import store_avatar
from wildebeest_trio.store import Connection


async def pending_release_jobs(rt: Runtime) -> int:
    async def unit(conn: Connection) -> int:
        return int(
            await conn.fetchval("SELECT count(*) FROM jobs WHERE kind = 'media.release'") or 0
        )

    return await rt.store.read(unit)


async def run_jobs(rt: Runtime) -> None:
    """Run job workers until no release job is left."""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_workers, rt, 1)
        with trio.fail_after(20):
            while await pending_release_jobs(rt):
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()


async def uploaded(client: Any, user: User, data: bytes) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/media", headers=user.headers, files={"file": upload(data)}
    )
    assert response.status_code == 200
    return await response.get_json()


async def rows(rt: Runtime) -> int:
    async def unit(conn: Connection) -> int:
        return int(await conn.fetchval("SELECT count(*) FROM media_attachments"))

    return await rt.store.read(unit)


async def test_delete_media_removes_the_attachments_files_after_the_commit(
    rt: Runtime, client: Any
) -> None:
    alice = await make_user(rt, client, "alice")
    same = photo()
    first = await uploaded(client, alice, same)
    second = await uploaded(client, alice, same)
    # The same bytes twice: two attachments, each with files and URLs of its own.
    assert first["url"] != second["url"] and first["preview_url"] != second["preview_url"]
    one = await post(client, alice, "one", media_ids=[first["id"]])
    two = await post(client, alice, "two", media_ids=[second["id"]])
    assert len(stored_files(rt)) == 4

    deleted = await client.delete(
        f"/api/v1/statuses/{one['id']}?delete_media=true", headers=alice.headers
    )
    assert deleted.status_code == 200
    assert [m["id"] for m in (await deleted.get_json())["media_attachments"]] == [first["id"]]
    assert await rows(rt) == 1
    assert await pending_release_jobs(rt) == 1  # queued with the deletion, run after it
    assert len(stored_files(rt)) == 4
    await run_jobs(rt)
    assert len(stored_files(rt)) == 2
    gone = await client.get(first["url"].removeprefix(rt.config.base_url))
    assert gone.status_code == 404
    # The other status still shows its files.
    code, shown = await get(client, alice, f"/api/v1/statuses/{two['id']}")
    assert code == 200
    served = await client.get(shown["media_attachments"][0]["url"].removeprefix(rt.config.base_url))
    assert served.status_code == 200

    deleted = await client.delete(
        f"/api/v1/statuses/{two['id']}", headers=alice.headers, json={"delete_media": True}
    )
    assert deleted.status_code == 200
    await run_jobs(rt)
    assert await rows(rt) == 0
    assert stored_files(rt) == []


async def test_plain_delete_keeps_uploads_a_day_for_a_redraft(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    attachment = await uploaded(client, alice, photo())
    status = await post(client, alice, "draft", media_ids=[attachment["id"]])
    deleted = await client.delete(f"/api/v1/statuses/{status['id']}", headers=alice.headers)
    assert deleted.status_code == 200
    redraft = await deleted.get_json()
    assert redraft["text"] == "draft"
    ids = [m["id"] for m in redraft["media_attachments"]]
    again = await post(client, alice, redraft["text"], media_ids=ids)
    assert [m["url"] for m in again["media_attachments"]] == [attachment["url"]]
    assert len(stored_files(rt)) == 2

    # Deleted again and never redrafted: the day's cleanup removes rows and files.
    await client.delete(f"/api/v1/statuses/{again['id']}", headers=alice.headers)
    assert await media.remove_unattached(rt) == 0  # detached just now: kept for a day

    async def age(conn: Connection) -> None:
        await conn.execute("UPDATE media_attachments SET created_at = 1000")

    await rt.store.write(age)
    assert await media.remove_unattached(rt) == 1
    await run_jobs(rt)
    assert stored_files(rt) == []


async def test_account_removal_deletes_its_files_but_not_shared_ones(
    rt: Runtime, client: Any
) -> None:
    alice = await make_user(rt, client, "alice")
    bob = await make_user(rt, client, "bob")
    same, own = photo(), photo(500, 400)
    await post(client, alice, "a", media_ids=[(await uploaded(client, alice, same))["id"]])
    await post(client, alice, "b", media_ids=[(await uploaded(client, alice, own))["id"]])
    await post(client, bob, "c", media_ids=[(await uploaded(client, bob, same))["id"]])
    # Avatars are content-addressed: the same picture is one file both accounts name.
    avatar_key = await store_avatar(rt, photo(300, 300))
    assert await store_avatar(rt, photo(300, 300)) == avatar_key

    async def set_avatars(conn: Connection) -> None:
        await conn.execute(
            "UPDATE accounts SET avatar_key = $1 WHERE id IN ($2, $3)",
            avatar_key,
            int(alice.id),
            int(bob.id),
        )

    await rt.store.write(set_avatars)
    assert len(stored_files(rt)) == 7  # two files per attachment, one avatar

    async def remove(conn: Connection) -> None:
        await media.account_removed(conn, rt, int(alice.id))

    await rt.store.write(remove)
    assert await rows(rt) == 1  # bob's
    await run_jobs(rt)
    names = {p.name for p in stored_files(rt)}
    assert len(names) == 3  # bob's original and preview, and the avatar bob still names
    assert any(avatar_key.endswith(n) for n in names)


async def test_release_job_keeps_files_that_are_named_again(rt: Runtime, client: Any) -> None:
    alice = await make_user(rt, client, "alice")
    attachment = await uploaded(client, alice, photo())

    async def keys(conn: Connection) -> list[str]:
        row = await conn.fetchrow(
            "SELECT file_key, preview_key FROM media_attachments WHERE id = $1",
            int(attachment["id"]),
        )
        return [row["file_key"], row["preview_key"]]

    named = await rt.store.read(keys)

    # A release queued for files a row still names (say, a crash retried an old job).
    async def queue(conn: Connection) -> None:
        await media.queue_release(conn, rt, named)

    await rt.store.write(queue)
    await run_jobs(rt)
    assert len(stored_files(rt)) == 2
    shown = await client.get(attachment["url"].removeprefix(rt.config.base_url))
    assert shown.status_code == 200
