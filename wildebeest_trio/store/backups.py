"""The database side of backups: a consistent copy of a live SQLite database, and what a
copy holds (integrity, row counts) to check a backup or a restore by."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .base import Connection, fetchval_as

# What a backup's manifest records and a restore compares.
COUNTED_TABLES = ("accounts", "users", "statuses", "media_attachments", "follows")


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a live database with SQLite's backup API, in one step: one read transaction,
    so the copy is one commit's state while writers go on (WAL); blocking, for a thread."""
    with sqlite3.connect(source, timeout=60) as src, sqlite3.connect(target) as dst:
        # One step (-1): a stepwise copy restarts whenever another connection writes.
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
    src.close()
    dst.close()


def integrity(path: Path) -> str:
    """`ok`, or what SQLite's integrity check found wrong; blocking, for a thread."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        found = conn.execute("PRAGMA integrity_check").fetchall()
    conn.close()
    return "; ".join(str(row[0]) for row in found)[:1000]


async def table_counts(conn: Connection) -> dict[str, int]:
    """Rows in the tables a backup is checked by."""
    counts = {}
    for table in COUNTED_TABLES:
        counts[table] = await fetchval_as(conn, int, f"SELECT COUNT(*) FROM {table}") or 0
    return counts


async def has_schema(conn: Connection) -> bool:
    """Whether the database already holds this server's tables."""
    if conn.dialect == "sqlite":
        sql = "SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_migrations'"
    else:
        sql = (
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
        )
    return bool(await fetchval_as(conn, int, sql))
