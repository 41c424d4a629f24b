"""Storage: one `Store` interface over SQLite and PostgreSQL; SQL lives only in this package."""

from __future__ import annotations

from .base import Connection, IntegrityError, Row, RowView, Store, StoreError, StoreMisuse
from .effects import Effect, Effects


async def open_store(url: str, *, pg_pool_size: int = 20) -> Store:
    """Open the database a URL names (`sqlite:///...` or `postgresql://...`)."""
    if url.startswith("sqlite://"):
        # Each backend is imported when named: a SQLite server never loads asyncpg.
        from .sqlite import SqliteStore

        return SqliteStore(url)
    if url.startswith(("postgresql://", "postgres://")):
        # Imported when named (see above).
        from .postgres import PostgresStore

        return await PostgresStore.open(url, pool_size=pg_pool_size)
    raise ValueError(f"unsupported database URL: {url}")


__all__ = [
    "Connection",
    "Effect",
    "Effects",
    "IntegrityError",
    "Row",
    "RowView",
    "Store",
    "StoreError",
    "StoreMisuse",
    "open_store",
]
