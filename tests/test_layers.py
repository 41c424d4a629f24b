"""The layers point one way: what a module imports (and what those import, on and on) never
reaches a layer above it. Read from the source, as the interpreter would import it; imports
under `if TYPE_CHECKING:` (type hints only) do not count."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "wildebeest_trio"


def _file(module: str) -> Path | None:
    """The source of a module of the package, or None when it is no module of it."""
    path = PACKAGE.parent.joinpath(*module.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def _run_time_imports(nodes: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If):
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                found += _run_time_imports(node.body)
            found += _run_time_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                found += _run_time_imports(block)
    return found


def _imports(module: str) -> set[str]:
    """The package's modules that importing `module` imports directly (its parents too)."""
    path = _file(module)
    assert path is not None, module
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = {".".join(module.split(".")[:n]) for n in range(1, module.count(".") + 1)}
    for node in _run_time_imports(ast.parse(path.read_text()).body):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            parts = package.split(".")[: package.count(".") + 2 - node.level]
            base = ".".join([*parts, *([node.module] if node.module else [])])
        names.add(base)
        names.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in names if name.startswith("wildebeest_trio") and _file(name)}


def _closure(module: str) -> set[str]:
    """Every module of the package that importing `module` imports."""
    seen: set[str] = set()
    pending = [module]
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending += _imports(name)
    return seen


def _modules(package: str) -> list[str]:
    folder = PACKAGE.parent.joinpath(*package.split("."))
    return sorted(
        package if path.name == "__init__.py" else f"{package}.{path.stem}"
        for path in folder.glob("*.py")
    )


ABOVE_THE_CORE = ("federation", "services", "http", "serializers", "assembly")


@pytest.mark.parametrize(
    ("module", "layers"),
    [
        ("wildebeest_trio.runtime", ABOVE_THE_CORE),
        ("wildebeest_trio.delivery_pool", ABOVE_THE_CORE),
        ("wildebeest_trio.delivery_processes", ABOVE_THE_CORE),
        *((name, ABOVE_THE_CORE) for name in _modules("wildebeest_trio.jobs")),
        *((name, ("federation", "services", "http")) for name in _modules("wildebeest_trio.store")),
        *((name, ("services",)) for name in _modules("wildebeest_trio.serializers")),
    ],
)
def test_a_module_imports_nothing_above_it(module: str, layers: tuple[str, ...]) -> None:
    above = {f"wildebeest_trio.{layer}" for layer in layers}
    reached = sorted(
        name
        for name in _closure(module)
        if any(name == a or name.startswith(f"{a}.") for a in above)
    )
    assert not reached, f"{module} imports {reached}"
