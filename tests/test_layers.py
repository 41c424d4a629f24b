"""The layers point one way (import-linter's contracts in pyproject.toml), and the imports
left inside functions say why."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "wildebeest_trio"


def test_the_layer_contracts_hold() -> None:
    """import-linter checks the contracts pyproject.toml names (the layers point one way;
    the core imports no layer), here as in the test command."""
    linter = Path(sys.executable).with_name("lint-imports")
    if not linter.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    checked = subprocess.run(
        [str(linter), "--no-cache"],
        cwd=PACKAGE.parent,
        # This checkout's package, whichever one the environment installed.
        env={**os.environ, "PYTHONPATH": str(PACKAGE.parent)},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert checked.returncode == 0, checked.stdout[-4000:]


def _local_imports(path: Path) -> list[tuple[int, str]]:
    """The imports inside functions of a module with no comment saying why: (line, text)."""
    source = path.read_text()
    lines = source.splitlines()
    found = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            above = node.lineno - 2
            while above >= 0 and lines[above].strip().startswith(("from ", "import ")):
                above -= 1
            said_why = "#" in lines[node.lineno - 1] or (
                above >= 0 and lines[above].strip().startswith("#")
            )
            if not said_why:
                found.append((node.lineno, lines[node.lineno - 1].strip()))
    return found


def test_imports_inside_functions_say_why() -> None:
    """An import inside a function hides a dependency (and often a cycle): each one left
    carries a comment saying why it cannot be at the top of its module."""
    unexplained = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {text}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, text in _local_imports(path)
    ]
    assert not unexplained, "\n".join(unexplained)
