"""The store's row types stay true: to the schema, to what its functions return, and to the
rule that each table is written from one module of the store."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import re
import types
import typing
from pathlib import Path
from typing import Any

from wildebeest_trio import store
from wildebeest_trio.store import Connection, open_store
from wildebeest_trio.store.migrate import migrate
from wildebeest_trio.store.rows import TABLES

STORE_DIR = Path(store.__file__).parent
MODULES = sorted(m.name for m in pkgutil.iter_modules(store.__path__))

# Tables the rows module has no TypedDict for: the status search index (a tsvector table on
# PostgreSQL, FTS5 and its shadow tables on SQLite) and SQLite's own bookkeeping.
NOT_ROW_TABLES = re.compile(r"^(status_search(_\w+)?|sqlite_\w+)$")


# The schema -------------------------------------------------------------------------------------


async def _columns(conn: Connection) -> dict[str, dict[str, bool]]:
    """Each table's columns, and whether each may be NULL."""
    tables: dict[str, dict[str, bool]] = {}
    if conn.dialect == "postgres":
        for r in await conn.fetch(
            "SELECT table_name, column_name, is_nullable FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        ):
            tables.setdefault(r["table_name"], {})[r["column_name"]] = r["is_nullable"] == "YES"
        return tables
    for t in await conn.fetch("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for c in await conn.fetch(f"SELECT * FROM pragma_table_info('{t['name']}')"):
            # A primary key column is never NULL (SQLite would allow it only by mistake).
            tables.setdefault(t["name"], {})[c["name"]] = not c["notnull"] and not c["pk"]
    return tables


def _nullable(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)


async def test_row_types_match_the_migrated_schema(database_url: str) -> None:
    """Every table has a TypedDict with exactly its columns, None allowed exactly where
    NULL is: a migration that adds a column (or a table) fails here until `store/rows.py`
    says what it holds."""
    db = await open_store(database_url, pg_pool_size=2)
    try:
        await migrate(db)
        schema = await db.read(_columns)
    finally:
        await db.aclose()
    tables = {t for t in schema if not NOT_ROW_TABLES.match(t)}
    assert tables == set(TABLES), "tables without a TypedDict, or TypedDicts without a table"
    problems = []
    for table, columns in sorted(schema.items()):
        row = TABLES.get(table)
        if row is None:
            continue
        hints = typing.get_type_hints(row)
        # Optional keys are what the store adds to a row (an account's `emojis`), not columns.
        keys = {k for k in hints if k in row.__required_keys__}
        if keys != set(columns):
            missing, extra = sorted(set(columns) - keys), sorted(keys - set(columns))
            problems.append(f"{table}: TypedDict lacks {missing}, has no column for {extra}")
            continue
        for column, nullable in columns.items():
            if _nullable(hints[column]) != nullable:
                problems.append(f"{table}.{column}: NULL {'allowed' if nullable else 'refused'}")
    assert not problems, "\n".join(problems)


# No Any out of the store --------------------------------------------------------------------------

# The raw connections return what the database gave (`Any`); the store's functions say what
# it is through `base.fetch_as` and the like.
RAW = {"Connection", "SqliteConnection", "PgConnection"}


def _any_in(annotation: Any, seen: dict[int, Any]) -> bool:
    """Whether `annotation` is or holds `Any`, looking into TypedDicts and dataclasses."""
    if annotation is Any:
        return True
    if isinstance(annotation, (str, typing.ForwardRef, typing.TypeVar)) or id(annotation) in seen:
        return False  # a recursive alias (Json) refers to itself; a TypeVar is the caller's
    # Kept, not only its id: a freed annotation's id is reused by the next one made, which
    # then passed as seen (a leak was found only in some runs).
    seen[id(annotation)] = annotation
    if typing.is_typeddict(annotation) or (
        isinstance(annotation, type) and dataclasses.is_dataclass(annotation)
    ):
        return any(_any_in(t, seen) for t in typing.get_type_hints(annotation).values())
    return any(_any_in(a, seen) for a in typing.get_args(annotation) if a is not Ellipsis)


def _public_callables(module: types.ModuleType) -> list[tuple[str, Any]]:
    found = []
    for name, value in vars(module).items():
        if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(value):
            found.append((name, value))
        elif inspect.isclass(value) and name not in RAW:
            found += [
                (f"{name}.{m}", f)
                for m, f in vars(value).items()
                if inspect.isfunction(f) and not m.startswith("_")
            ]
    return found


def test_no_any_leaks_out_of_the_store() -> None:
    """What the store's public functions return is typed all the way down."""
    leaks = []
    for module_name in MODULES:
        module = importlib.import_module(f"wildebeest_trio.store.{module_name}")
        for name, function in _public_callables(module):
            returns = typing.get_type_hints(function).get("return", Any)
            if _any_in(returns, {}):
                leaks.append(f"{module_name}.{name} -> {returns}")
    assert not leaks, "\n".join(leaks)


# One writer per table -----------------------------------------------------------------------------

PACKAGE_DIR = STORE_DIR.parent

_WRITE = re.compile(
    r"\b(?:INSERT\s+INTO|DELETE\s+FROM)\s+(\{[^}]*\}|\w+)|\bUPDATE\s+(\{[^}]*\}|\w+)\s+SET\b",
    re.IGNORECASE,
)

# Statements that name their table at run time, and the tables they may name.
DYNAMIC_TABLES = {
    ("store.follows", "{_table(table)}"): {"follows", "follow_requests"},
    ("store.follows", "{table}"): {"follows", "follow_requests"},  # set_follow_uri's loop
    ("store.statuses", "{table}"): {"favourites", "bookmarks", "status_pins"},  # MarkTable
}


def _sql_texts(tree: ast.AST) -> list[str]:
    """Every string literal of a module, f-strings with their fields kept as `{...}`."""
    texts = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            texts.append(
                "".join(
                    part.value
                    if isinstance(part, ast.Constant)
                    else "{" + ast.unparse(part.value) + "}"  # type: ignore[attr-defined]
                    for part in node.values
                )
            )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts.append(node.value)
    return texts


def _writers() -> dict[str, set[str]]:
    """Which modules of the package (`store.accounts`, `services.admin`...) write each
    table. The migrations (`wildebeest_trio/migrations/*.sql`) are the schema's history
    and not looked at."""
    writers: dict[str, set[str]] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE_DIR).with_suffix("").parts)
        for text in _sql_texts(ast.parse(path.read_text(encoding="utf-8"))):
            for match in _WRITE.finditer(text):
                name = match[1] or match[2]
                assert "{" not in name or (module, name) in DYNAMIC_TABLES, (
                    f"{module} writes a table named at run time ({name}): say which"
                )
                for table in DYNAMIC_TABLES.get((module, name), {name}):
                    writers.setdefault(table, set()).add(module)
    return writers


def test_only_the_store_writes() -> None:
    """No SQL that writes is outside `store/`: services, federation and http write
    through the store's functions."""
    outside = {
        table: sorted(m for m in modules if not m.startswith("store."))
        for table, modules in _writers().items()
    }
    assert not {t: m for t, m in outside.items() if m}, "writes outside the store"


def test_each_table_is_written_from_one_module() -> None:
    """Every INSERT, UPDATE and DELETE of a table is in one module of the store: the
    module of that table, or of its tight group (`users` for `users`,
    `user_recovery_codes` and `web_sessions`)."""
    writers = _writers()
    assert set(writers) <= set(TABLES), f"writes to unknown tables: {set(writers) - set(TABLES)}"
    shared = {table: sorted(modules) for table, modules in writers.items() if len(modules) > 1}
    assert not shared, f"tables written from several modules: {shared}"
