"""jsonld.js, the JSON-LD processor Fedify uses, run under Node for cross-checks.

`tests/js` pins the npm packages (package.json and package-lock.json); `scripts/test`
installs them with `npm ci`, and a test that needs them installs them itself the first
time (one process at a time). Without Node or npm, or when the install fails, the
test is skipped with the reason. Context documents are handed to the script with the
input: the server's bundled ones, so nothing is fetched.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import trio

from wildebeest_trio import _rust
from wildebeest_trio.jsonld import sign_ld_signature
from wildebeest_trio.signatures import generate_rsa_keypair

JS_DIR = Path(__file__).resolve().parent / "js"


def _installed() -> bool:
    return (JS_DIR / "node_modules" / "jsonld" / "package.json").exists()


def node_checks_dir() -> Path:
    """`tests/js` with its packages installed; skips the calling test when that cannot be."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed for the jsonld.js checks")
    if _installed():
        return JS_DIR
    with (JS_DIR / ".install.lock").open("w") as lock:
        # pytest-xdist workers may get here together: one installs, the others wait.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed():
            done = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=JS_DIR,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if done.returncode != 0:
                pytest.skip(f"npm ci in {JS_DIR} failed: {done.stderr.strip()[-500:]}")
    return JS_DIR


def bundled_contexts() -> dict[str, Any]:
    """URL -> the server's bundled context document."""
    return {
        url: json.loads(_rust.jsonld_bundled_context(url)) for url in _rust.jsonld_bundled_urls()
    }


async def check_ld_signatures(items: list[tuple[dict[str, Any], str]]) -> list[dict[str, Any]]:
    """For each (signed document, signer's public PEM): what jsonld.js in safe mode and an
    RSA check make of its RsaSignature2017 (`verified`, and `error` when it fails)."""
    folder = node_checks_dir()
    payload = {
        "contexts": bundled_contexts(),
        "documents": [{"document": doc, "publicKeyPem": pem} for doc, pem in items],
    }
    done = await trio.run_process(
        ["node", str(folder / "ld_signature_check.mjs")],
        stdin=json.dumps(payload).encode(),
        capture_stdout=True,
        capture_stderr=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


async def unverified_when_signed(documents: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """Sign each document (its own signature dropped) with a throwaway key and check it with
    jsonld.js in safe mode: the (type, verdict) of those that do not verify (a term its
    `@context` does not define fails there)."""
    private_pem, public_pem = generate_rsa_keypair()
    key_id = "https://signer.example/users/k#main-key"  # only a string, never fetched
    signed = [
        (
            sign_ld_signature(
                {k: v for k, v in d.items() if k != "signature"}, private_pem, key_id
            ),
            public_pem,
        )
        for d in documents
    ]
    verdicts = await check_ld_signatures(signed)
    return [
        (d["type"], v) for d, v in zip(documents, verdicts, strict=True) if v != {"verified": True}
    ]
