"""Where the published test vectors are: `../shared/vectors` beside the clone.

They are never copied into the repository. Tests that need them call
`vectors_dir(...)`, which skips the test with a reason when they are absent
(a user's clone has no `shared/`). `WB_VECTORS_DIR` points elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def vectors_root() -> Path:
    """The vectors folder, whether or not it exists."""
    override = os.environ.get("WB_VECTORS_DIR")
    if override:
        return Path(override)
    return REPO_ROOT.parent / "shared" / "vectors"


def vectors_dir(*parts: str) -> Path:
    """A folder of vectors, or skip the calling test when it is absent."""
    path = vectors_root().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"published test vectors not found at {path} (set WB_VECTORS_DIR)")
    return path
