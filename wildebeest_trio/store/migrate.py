"""Schema migrations: `migrations/NNNN_name.sql`, applied in order, each in a transaction.

A migration may have dialect variants `NNNN_name.sqlite.sql` and
`NNNN_name.postgres.sql`; a variant replaces the common file for its dialect.
Applied versions are recorded in `schema_migrations`; several processes may
migrate at once (PostgreSQL serializes them with an advisory lock, SQLite with
its single writer).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from ..ids import now_ms
from .base import Connection, Dialect, Store

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(sqlite|postgres))?\.sql$")
_ADVISORY_LOCK = 0x77_62_6D_69  # "wbmi"


class MigrationError(Exception):
    """The migrations folder is inconsistent."""


@dataclass(frozen=True)
class Migration:
    """One numbered schema change, resolved for a dialect."""

    version: int
    name: str
    path: Path

    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


def discover(dialect: Dialect, folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations for a dialect, in order."""
    common: dict[int, Path] = {}
    variants: dict[int, Path] = {}
    names: dict[int, str] = {}
    for path in sorted(folder.iterdir()):
        match = _NAME.match(path.name)
        if not match:
            continue
        version, name, variant = int(match[1]), match[2], match[3]
        if names.setdefault(version, name) != name:
            raise MigrationError(f"two migrations share number {version:04d}")
        if variant is None:
            common[version] = path
        elif variant == dialect:
            variants[version] = path
    return [
        Migration(v, names[v], variants.get(v) or common[v])
        for v in sorted(names)
        if v in variants or v in common
    ]


_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)
"""


async def _applied(conn: Connection) -> set[int]:
    await conn.execute(_CREATE_TABLE)
    return {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}


async def _apply_one(conn: Connection, migration: Migration) -> bool:
    if conn.dialect == "postgres":
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _ADVISORY_LOCK)
    if migration.version in await _applied(conn):
        return False  # another process got there first
    await conn.run_script(migration.sql())
    await conn.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        migration.version,
        migration.name,
        now_ms(),
    )
    return True


async def pending(
    store: Store, *, up_to: int | None = None, leaving_out: Collection[int] = ()
) -> list[Migration]:
    """Migrations not yet applied (only those numbered `up_to` or lower, and none of
    `leaving_out`, if given)."""
    applied = await store.write(_applied)
    return [
        m
        for m in discover(store.dialect)
        if m.version not in applied
        and m.version not in leaving_out
        and (up_to is None or m.version <= up_to)
    ]


async def migrate(
    store: Store, *, up_to: int | None = None, leaving_out: Collection[int] = ()
) -> list[Migration]:
    """Apply every pending migration (up to version `up_to`, and leaving out the versions in
    `leaving_out`, if given: the schema an older release had, as the upgrade tests build);
    the ones this call applied, in order."""
    done = []
    for migration in await pending(store, up_to=up_to, leaving_out=leaving_out):
        if await store.write(_apply_one, migration):
            done.append(migration)
    return done
