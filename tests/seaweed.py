"""A real S3-compatible server for the tests: SeaweedFS (`weed server -s3`) on 127.0.0.1.

`scripts/weed` builds the `weed` binary from its Go module once and caches it (scripts/test
builds it before the suite starts); each test worker starts one server on free ports in a
throwaway folder, with two identities: `admin` (may create buckets, which it does by its
first upload) and `wb` (reads and writes objects, as the server is configured), and
anonymous reads of the media buckets (their public URL, as a CDN would fetch it) but not
of private ones (named `private-...`, as `WB_S3_PRIVATE_BUCKET`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.ports import free_port

REPO = Path(__file__).resolve().parent.parent
ACCESS_KEY, SECRET_KEY = "wbtestkey", "wbtestsecret"
ADMIN_KEY, ADMIN_SECRET = "wbadminkey", "wbadminsecret"


@dataclass
class Seaweed:
    """A running SeaweedFS: its S3 endpoint, and how to make buckets."""

    endpoint: str
    process: subprocess.Popen[bytes]

    def settings(self, bucket: str) -> dict[str, str]:
        """The WB_* settings (as config overrides) of a server keeping media in `bucket`."""
        return {
            "media_storage": "s3",
            "s3_endpoint": self.endpoint,
            "s3_bucket": bucket,
            "s3_region": "us-east-1",
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SECRET_KEY,
            "s3_path_style": "true",
            "media_base_url": f"{self.endpoint}/{bucket}",
        }

    def new_bucket(self, prefix: str = "wb-") -> str:
        """A fresh, empty bucket (created by an admin's upload, then emptied); anyone may read
        one named `wb-...`, no one anonymous any other."""
        import obstore
        from obstore.store import S3Store

        name = f"{prefix}{uuid.uuid4().hex[:12]}"
        store = S3Store(
            name,
            endpoint=self.endpoint,
            region="us-east-1",
            access_key_id=ADMIN_KEY,
            secret_access_key=ADMIN_SECRET,
            virtual_hosted_style_request=False,
            client_options={"allow_http": True},
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                obstore.put(store, "probe", b"x")
                break
            except Exception:
                # The first volumes of a new collection take a moment to be assigned.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        obstore.delete(store, "probe")
        return name


def weed_binary() -> str:
    """The cached `weed` (built by scripts/weed on first use)."""
    done = subprocess.run(
        [str(REPO / "scripts" / "weed")], capture_output=True, text=True, timeout=3600
    )
    if done.returncode != 0:
        raise RuntimeError(f"scripts/weed failed: {done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def seaweed() -> Iterator[Seaweed]:
    """One SeaweedFS for this test worker, removed at the end."""
    with running_seaweed() as server:
        yield server


@contextmanager
def running_seaweed() -> Iterator[Seaweed]:
    """A SeaweedFS with its S3 gateway on free ports of 127.0.0.1, in a throwaway folder."""
    binary = weed_binary()
    folder = Path(tempfile.mkdtemp(prefix="wb-seaweed-"))
    config = folder / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "admin",
                        "credentials": [{"accessKey": ADMIN_KEY, "secretKey": ADMIN_SECRET}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    },
                    {
                        "name": "wb",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Read", "Write", "List", "Tagging"],
                    },
                    # Anonymous reads of the media buckets (`wb-...`) only: a private
                    # bucket (`private-...`) answers them 403, as an archive's must.
                    {"name": "anonymous", "actions": ["Read:wb-*"]},
                ]
            }
        )
    )
    ports = {name: free_port() for name in ("master", "volume", "filer", "s3")}
    grpc = {name: free_port() for name in ports}
    data = folder / "data"
    data.mkdir()
    args = [
        binary,
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={data}",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=100",
        "-filer",
        "-s3",
        f"-s3.config={config}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-filer.localSocket={folder / 'filer.sock'}",
        f"-s3.localSocket={folder / 's3.sock'}",
    ]
    for name in ports:
        args += [f"-{name}.port={ports[name]}", f"-{name}.port.grpc={grpc[name]}"]
    log = open(folder / "weed.log", "wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"weed exited: {(folder / 'weed.log').read_text()[-3000:]}")
            try:
                httpx.get(endpoint, timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    tail = (folder / "weed.log").read_text()[-3000:]
                    raise RuntimeError(f"weed's S3 gateway did not answer: {tail}") from None
                time.sleep(0.2)
        yield Seaweed(endpoint, process)
    finally:
        process.terminate()
        try:
            # A throwaway server: its folder is removed next, so it need not stop cleanly
            # (it takes up to 20 s to, stalling the last test of each worker).
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        if os.environ.get("WB_KEEP_SEAWEED"):
            print(f"SeaweedFS folder kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
