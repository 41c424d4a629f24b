"""`wildebeest-trio backup` of a live, busy server and `restore` into a second data folder,
which then serves the same accounts, posts and media."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import pg_database
from tests.test_cli import _env, wb
from tests.test_delivery_processes import _serve
from tests.test_media_av import png


@contextmanager
def _running(env: dict[str, str], log: Path) -> Iterator[str]:
    """`serve` until the block ends (its log in a file: a busy server logs a lot)."""
    base = f"http://{env['WB_LISTEN']}"
    server = _serve(env, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def _statuses(base: str, headers: dict[str, str], account_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    url = f"{base}/api/v1/accounts/{account_id}/statuses?limit=40"
    while url:
        page = httpx.get(url, headers=headers, timeout=30)
        assert page.status_code == 200, page.text
        found += page.json()
        url = page.links.get("next", {}).get("url", "") if page.json() else ""
    return found


@pytest.fixture(params=["sqlite", "postgres"])
def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A database for the server and an empty one to restore into."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'one.sqlite'}", f"sqlite:///{tmp_path / 'two.sqlite'}"
        return
    fresh = contextmanager(pg_database)
    with fresh(request, migrated=False) as one, fresh(request, migrated=False) as two:
        yield one, two


def test_backup_of_a_busy_server_restores_into_a_second_data_folder(
    tmp_path: Path, two_databases: tuple[str, str]
) -> None:
    first_url, second_url = two_databases
    # The poster below outruns Mastodon's 300 posts in 3 hours on a fast machine.
    env = _env(tmp_path, first_url, WB_DELIVERY_PROCESSES="0", WB_RATE_LIMIT_EXEMPT_LOOPBACK="true")
    assert wb(env, "migrate").returncode == 0
    created = wb(env, "accounts", "create", "alice", "--email", "alice@example.org")
    assert created.returncode == 0, created.stderr
    token = wb(env, "token", "create", "alice").stdout.strip()
    auth = {"Authorization": f"Bearer {token}"}
    backup_dir = tmp_path / "backup"

    with _running(env, tmp_path / "one.log") as base:
        image = png(64, 48)
        uploaded = httpx.post(
            f"{base}/api/v2/media",
            headers=auth,
            files={"file": ("a.png", image, "image/png")},
            timeout=60,
        )
        assert uploaded.status_code in (200, 202), uploaded.text
        media_id = uploaded.json()["id"]
        for _ in range(300):
            media = httpx.get(f"{base}/api/v1/media/{media_id}", headers=auth, timeout=30)
            if media.status_code == 200:
                break
            time.sleep(0.2)
        posted = httpx.post(
            f"{base}/api/v1/statuses",
            headers=auth,
            data={"status": "before the backup", "media_ids[]": media_id},
            timeout=30,
        )
        assert posted.status_code == 200, posted.text
        media_url = posted.json()["media_attachments"][0]["url"]
        media_bytes = httpx.get(media_url, timeout=30).content

        # Busy: statuses keep being posted while the backup runs.
        stop = threading.Event()
        answers: list[int] = []

        def busy() -> None:
            with httpx.Client(headers=auth, timeout=30) as client:
                while not stop.is_set():
                    answer = client.post(
                        f"{base}/api/v1/statuses", data={"status": f"busy {len(answers)}"}
                    )
                    answers.append(answer.status_code)

        poster = threading.Thread(target=busy)
        poster.start()
        try:
            while len(answers) < 3:
                time.sleep(0.05)
            made = wb(env, "backup", str(backup_dir))
            during = len(answers)
            while len(answers) < during + 3:  # the server went on writing after it
                time.sleep(0.05)
        finally:
            stop.set()
            poster.join(timeout=60)
        assert made.returncode == 0, made.stderr
        assert set(answers) == {200}
    assert "database:" in made.stderr and "media:" in made.stderr
    assert "backup complete" in made.stderr
    manifest = json.loads((backup_dir / "backup.json").read_text())
    assert (backup_dir / "secret_key").stat().st_mode & 0o077 == 0
    assert len(manifest["media"]) >= 1

    # A second data folder and database; the same address, so the same domain.
    env2 = dict(env, WB_DATA_DIR=str(tmp_path / "data2"), WB_DATABASE_URL=second_url)
    restored = wb(env2, "restore", str(backup_dir))
    assert restored.returncode == 0, restored.stderr
    assert "restore complete" in restored.stderr
    # Only onto a fresh folder: a second restore is refused.
    again = wb(env2, "restore", str(backup_dir))
    assert again.returncode == 1 and "fresh" in again.stderr

    with _running(env2, tmp_path / "two.log") as base:
        me = httpx.get(f"{base}/api/v1/accounts/verify_credentials", headers=auth, timeout=30)
        assert me.status_code == 200, me.text  # the same token: same database, same key
        assert me.json()["username"] == "alice"
        texts = [s["content"] for s in _statuses(base, auth, me.json()["id"])]
        assert "<p>before the backup</p>" in texts
        busy_texts = [t for t in texts if t.startswith("<p>busy ")]
        assert busy_texts  # some written before the backup's snapshot
        assert len(texts) < len(answers) + 1  # and not those written after it
        if manifest["database"]["counts"]:
            assert manifest["database"]["counts"]["statuses"] == len(texts)
        status = next(s for s in _statuses(base, auth, me.json()["id"]) if s["media_attachments"])
        restored_media = httpx.get(status["media_attachments"][0]["url"], timeout=30)
        assert restored_media.status_code == 200
        assert restored_media.content == media_bytes
