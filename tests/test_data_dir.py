"""The data folder is private (folders 0700, files 0600), and its secret key is made once, whole."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from wildebeest_trio.assembly import open_server_runtime
from wildebeest_trio.config import Config, ConfigError, load_config
from wildebeest_trio.services.accounts import create_local_account

from .conftest import make_config

PNG = b"\x89PNG\r\n\x1a\n" + b"the store does not look inside"


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual umask (022), so the modes seen come from the server, not the test run."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def modes_under(root: Path) -> dict[str, int]:
    """Every path under `root` (itself included), relative, with its permission bits."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def assert_private(root: Path) -> None:
    for name, mode in modes_under(root).items():
        wanted = 0o700 if (root / name).is_dir() else 0o600
        assert mode == wanted, f"{name} is {oct(mode)}, not {oct(wanted)}"


def server_config(tmp_path: Path, database_url: str) -> Config:
    """A test server whose SQLite database lives in its data folder, as by default."""
    data = tmp_path / "data"
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{data / 'wildebeest.db'}"
    return make_config(tmp_path, database_url)


async def test_everything_the_server_writes_is_private(
    tmp_path: Path, database_url: str, loose_umask: None
) -> None:
    config = server_config(tmp_path, database_url)
    async with open_server_runtime(config) as rt:
        rt.config.secret_key()
        await create_local_account(rt, "alice", "alice@example.org", password="password123")
        await rt.media.put(PNG, content_type="image/png", category="media_attachments/original")
        # While the database is open: its -wal and -shm files too.
        assert_private(rt.config.data_dir)
        names = set(modes_under(rt.config.data_dir))
        assert {"secret_key", "media"} <= names
        if database_url.startswith("sqlite"):
            assert {"wildebeest.db", "wildebeest.db-wal", "wildebeest.db-shm"} <= names
    assert_private(tmp_path / "data")


async def test_an_older_data_folder_is_tightened(
    tmp_path: Path, database_url: str, loose_umask: None
) -> None:
    config = server_config(tmp_path, database_url)
    async with open_server_runtime(config) as rt:
        rt.config.secret_key()
    data = tmp_path / "data"
    # As earlier versions left it.
    data.chmod(0o755)
    for path in data.iterdir():
        path.chmod(0o644 if path.is_file() else 0o755)
    async with open_server_runtime(config) as rt:
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        if database_url.startswith("sqlite"):
            for name in ("wildebeest.db", "wildebeest.db-wal", "wildebeest.db-shm"):
                assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name


def race_for_secret_key(folder: Path, racers: int) -> list[bytes | Exception]:
    """What `racers` threads starting at once on `folder` read as the secret key."""
    barrier = threading.Barrier(racers)
    keys: list[bytes | Exception] = []

    def start() -> None:
        # Each has its own Config and reads the folder afresh, as a process would.
        config = load_config(env={"WB_DATA_DIR": str(folder)})
        barrier.wait()
        try:
            keys.append(config.secret_key())
        except Exception as exc:
            keys.append(exc)

    threads = [threading.Thread(target=start) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return keys


def test_processes_starting_together_share_one_whole_secret_key(tmp_path: Path) -> None:
    for attempt in range(40):
        folder = tmp_path / f"fresh-{attempt}"
        keys = race_for_secret_key(folder, 8)
        assert len(keys) == 8
        assert all(isinstance(k, bytes) and len(k) == 32 for k in keys), keys
        assert len(set(keys)) == 1
        assert [p.name for p in folder.iterdir()] == ["secret_key"]  # no temporary left


def test_a_damaged_secret_key_stops_start_up(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "secret_key").write_text("")
    config = load_config(env={"WB_DATA_DIR": str(folder)})
    with pytest.raises(ConfigError, match="secret_key"):
        config.secret_key()
