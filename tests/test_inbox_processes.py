"""Where inbox activities are applied: a `serve` with delivery processes beside it only
accepts them, its delivery processes apply them, and each side wakes the other."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import trio
import trio.testing

from tests.fakes.remote import RemoteServer, signed_post
from tests.test_cli import _env
from tests.test_delivery_processes import _serve
from wildebeest_trio.config import load_config
from wildebeest_trio.delivery_processes import follow_parent, wake_parent
from wildebeest_trio.federation.delivery import DELIVER
from wildebeest_trio.federation.inbox import INBOX
from wildebeest_trio.inbox.consumer import CONSUMERS, consumers
from wildebeest_trio.runtime import Runtime
from wildebeest_trio.services.accounts import create_local_account
from wildebeest_trio.store import inbox as inbox_rows

pytest_plugins = ("tests.fakes.fixtures",)


def test_the_first_web_process_leaves_the_inbox_to_its_delivery_processes() -> None:
    default = load_config(env={"WB_DELIVERY_PROCESSES": "1"})
    assert consumers(default, web=True, first=True, children=True) == 0
    # Without delivery processes it applies what it accepts, as every other process does.
    assert consumers(default, web=True, first=True, children=False) == CONSUMERS
    assert consumers(default, web=True, first=False, children=False) == CONSUMERS
    assert consumers(default, web=False, first=True, children=False) == CONSUMERS
    # The setting, when given, is every process's.
    told = load_config(env={"WB_INBOX_CONSUMERS": "2"})
    assert consumers(told, web=True, first=True, children=True) == 2
    none = load_config(env={"WB_INBOX_CONSUMERS": "0"})
    assert consumers(none, web=False, first=True, children=False) == 0


async def test_an_inbox_wake_up_from_the_parent_wakes_the_inbox_consumers_alone() -> None:
    woken: list[tuple[str, ...]] = []
    child = SimpleNamespace(wake_jobs=lambda kinds=(): woken.append(tuple(kinds)))
    read_end, write_end = os.pipe()
    gone = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(follow_parent, child, gone, read_end)
        for wake, expected in ((b"i", (INBOX.name,)), (b"w", ()), (b"iiw", ())):
            os.write(write_end, wake)
            with trio.fail_after(5):
                while not woken:
                    await trio.sleep(0.01)
            assert woken.pop() == expected
        os.close(write_end)
        with trio.fail_after(5):
            await gone.wait()
    os.close(read_end)


async def test_a_delivery_process_tells_its_parent_of_work_only_the_parent_runs() -> None:
    child: Any = SimpleNamespace(wake_parent=None)
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)

    def sent() -> bytes:
        try:
            return os.read(read_end, 100)
        except BlockingIOError:
            return b""

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wake_parent, child, write_end)
        await trio.testing.wait_all_tasks_blocked()
        # Deliveries and inbox activities: this process runs them itself.
        child.wake_parent({DELIVER.name, INBOX.name})
        await trio.testing.wait_all_tasks_blocked()
        assert sent() == b""
        # A job of another kind, or outbox events (no kind named): the parent's work.
        for kinds in ({INBOX.name, "mail.notification"}, ()):
            child.wake_parent(kinds)
            await trio.testing.wait_all_tasks_blocked()
            assert sent() == b"w"
        nursery.cancel_scope.cancel()
    assert child.wake_parent is None
    os.close(read_end)
    os.close(write_end)


async def test_serve_with_a_delivery_process_leaves_the_inbox_to_it_and_hears_back(
    rt: Runtime, remote: RemoteServer, tmp_path: Path
) -> None:
    """`serve` accepts a post for alice; its delivery process applies it (woken through its
    pipe) and the post's preview card job it queues, which only `serve`'s workers run,
    starts at once (woken through the pipe back) rather than at the next poll: every
    process here polls once a minute."""
    await create_local_account(rt, "alice", "alice@example.org", password="pw-123456")
    alice = f"{rt.config.base_url}/users/alice"
    bob = remote.actor("bob")
    page = f"{remote.base}/articles/1"
    note = remote.note(
        bob,
        f'<p><a href="{alice}" class="u-url mention">@alice</a> read <a href="{page}">this</a></p>',
        to=[alice],
        cc=[],
        tag=[{"type": "Mention", "href": alice, "name": "@alice"}],
    )
    create = remote.activity(bob, "Create", note, to=[alice])
    env = _env(
        tmp_path / "serve",
        rt.config.database_url,
        WB_LISTEN=rt.config.listen,  # the instance `rt` knows: the same domain
        WB_ALLOW_PRIVATE_ADDRESSES="1",
        WB_DELIVERY_PROCESSES="1",
        WB_JOB_POLL_INTERVAL="60",
        WB_PREVIEW_CARD_SPREAD="0",
    )
    log = tmp_path / "serve.log"
    server = _serve(env, log)
    try:
        async with httpx.AsyncClient(base_url=rt.config.base_url, timeout=10) as client:
            with trio.fail_after(60):
                while "worker started" not in log.read_text():
                    assert server.poll() is None, log.read_text()
                    await trio.sleep(0.05)
                while True:
                    try:
                        if (await client.get("/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await trio.sleep(0.05)
            body = json.dumps(create).encode()
            headers = signed_post(f"{rt.config.base_url}/inbox", body, bob.key_id, bob.private_pem)
            response = await client.post("/inbox", content=body, headers=headers)
            assert response.status_code == 202, response.text
            with trio.fail_after(20):
                while not remote.gets(page):
                    assert server.poll() is None, log.read_text()
                    await trio.sleep(0.05)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert await rt.store.read(inbox_rows.status_by_uri, note["id"]) is not None
