"""Collections (Mastodon 4.6) and the accounts in them: `collections` and
`collection_items`, written only here."""

from __future__ import annotations

from .base import Connection, fetch_as, fetchrow_as, fetchval_as
from .rows import CollectionItemRow, CollectionRow, TagRow

_COLUMNS = (
    "c.id, c.account_id, c.name, c.description, c.language, c.sensitive, c.discoverable, "
    "c.tag_id, c.local, c.uri, c.url, c.created_at, c.updated_at"
)
_ITEM_COLUMNS = (
    "i.id, i.collection_id, i.account_id, i.state, i.position, i.uri, i.approval_uri, "
    "i.created_at, i.updated_at"
)
#: States an item counts in (Mastodon's `pending_or_accepted`: the owner sees both).
LIVE_STATES = ("pending", "accepted")


async def insert(
    conn: Connection,
    *,
    collection_id: int,
    account_id: int,
    name: str,
    description: str,
    language: str | None,
    sensitive: bool,
    discoverable: bool,
    tag_id: int | None,
    now: int,
) -> None:
    """A new local collection."""
    await conn.execute(
        "INSERT INTO collections (id, account_id, name, description, language, sensitive, "
        "discoverable, tag_id, local, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9, $9)",
        collection_id,
        account_id,
        name,
        description,
        language,
        sensitive,
        discoverable,
        tag_id,
        now,
    )


async def update(
    conn: Connection,
    collection_id: int,
    *,
    name: str,
    description: str,
    language: str | None,
    sensitive: bool,
    discoverable: bool,
    tag_id: int | None,
    now: int,
) -> None:
    """Rewrite what a collection says about itself."""
    await conn.execute(
        "UPDATE collections SET name = $2, description = $3, language = $4, sensitive = $5, "
        "discoverable = $6, tag_id = $7, updated_at = $8 WHERE id = $1",
        collection_id,
        name,
        description,
        language,
        sensitive,
        discoverable,
        tag_id,
        now,
    )


async def touch(conn: Connection, collection_id: int, now: int) -> None:
    """Note that a collection's items changed."""
    await conn.execute("UPDATE collections SET updated_at = $2 WHERE id = $1", collection_id, now)


async def delete(conn: Connection, collection_id: int) -> bool:
    """Remove a collection and its items; whether it existed."""
    removed = await conn.fetch("DELETE FROM collections WHERE id = $1 RETURNING id", collection_id)
    return bool(removed)


async def by_id(conn: Connection, collection_id: int) -> CollectionRow | None:
    """One collection."""
    return await fetchrow_as(
        conn, CollectionRow, f"SELECT {_COLUMNS} FROM collections c WHERE c.id = $1", collection_id
    )


async def count_of(conn: Connection, account_id: int) -> int:
    """How many collections an account has."""
    found = await fetchval_as(
        conn, int, "SELECT COUNT(*) FROM collections WHERE account_id = $1", account_id
    )
    return int(found or 0)


async def of_account(
    conn: Connection, account_id: int, *, discoverable_only: bool, limit: int, offset: int
) -> list[CollectionRow]:
    """An account's collections, newest first (Mastodon orders by `created_at` desc)."""
    only = " AND c.discoverable" if discoverable_only else ""
    return await fetch_as(
        conn,
        CollectionRow,
        f"SELECT {_COLUMNS} FROM collections c WHERE c.account_id = $1{only} "
        "ORDER BY c.created_at DESC, c.id DESC LIMIT $2 OFFSET $3",
        account_id,
        limit,
        offset,
    )


async def featuring(
    conn: Connection, account_id: int, viewer_id: int | None, *, limit: int, offset: int
) -> list[CollectionRow]:
    """Collections an account is featured in (an accepted item), newest first: the
    discoverable ones, and the viewer's own."""
    return await fetch_as(
        conn,
        CollectionRow,
        f"SELECT {_COLUMNS} FROM collections c "
        "JOIN collection_items i ON i.collection_id = c.id "
        "JOIN accounts owner ON owner.id = c.account_id "
        "WHERE i.account_id = $1 AND i.state = 'accepted' AND owner.suspended_at IS NULL "
        "AND (c.discoverable OR c.account_id = $2) "
        "ORDER BY c.created_at DESC, c.id DESC LIMIT $3 OFFSET $4",
        account_id,
        viewer_id or 0,
        limit,
        offset,
    )


async def local_of_account(conn: Connection, account_id: int, limit: int) -> list[CollectionRow]:
    """A local account's collections for its featured collections document, newest first."""
    return await fetch_as(
        conn,
        CollectionRow,
        f"SELECT {_COLUMNS} FROM collections c WHERE c.account_id = $1 AND c.local "
        "AND c.discoverable ORDER BY c.created_at DESC, c.id DESC LIMIT $2",
        account_id,
        limit,
    )


async def items_of(
    conn: Connection, collection_ids: list[int], states: tuple[str, ...]
) -> list[CollectionItemRow]:
    """The items of some collections in those states, by position."""
    if not collection_ids:
        return []
    id_marks = ", ".join(f"${n + 1}" for n in range(len(collection_ids)))
    base = len(collection_ids)
    state_marks = ", ".join(f"${base + n + 1}" for n in range(len(states)))
    return await fetch_as(
        conn,
        CollectionItemRow,
        f"SELECT {_ITEM_COLUMNS} FROM collection_items i "
        f"WHERE i.collection_id IN ({id_marks}) AND i.state IN ({state_marks}) "
        "ORDER BY i.collection_id, i.position",
        *collection_ids,
        *states,
    )


async def count_live_items(conn: Connection, collection_id: int) -> int:
    """How many pending or accepted items a collection holds."""
    found = await fetchval_as(
        conn,
        int,
        "SELECT COUNT(*) FROM collection_items WHERE collection_id = $1 "
        "AND state IN ('pending', 'accepted')",
        collection_id,
    )
    return int(found or 0)


async def _one_item(conn: Connection, where: str, *args: object) -> CollectionItemRow | None:
    """The item matching a condition on `i` (our own SQL, never input)."""
    return await fetchrow_as(
        conn,
        CollectionItemRow,
        f"SELECT {_ITEM_COLUMNS} FROM collection_items i WHERE {where}",
        *args,
    )


async def item(conn: Connection, collection_id: int, item_id: int) -> CollectionItemRow | None:
    """One item of a collection."""
    return await _one_item(conn, "i.collection_id = $1 AND i.id = $2", collection_id, item_id)


async def item_of_account(
    conn: Connection, collection_id: int, account_id: int
) -> CollectionItemRow | None:
    """The item that features an account in a collection, if any."""
    return await _one_item(
        conn, "i.collection_id = $1 AND i.account_id = $2", collection_id, account_id
    )


async def insert_item(
    conn: Connection, item_id: int, collection_id: int, account_id: int, state: str, now: int
) -> None:
    """Put an account at the end of a collection."""
    await conn.execute(
        "INSERT INTO collection_items "
        "(id, collection_id, account_id, state, position, created_at, updated_at) "
        "SELECT $1, $2, $3, $4, COALESCE(MAX(position), 0) + 1, $5, $5 "
        "FROM collection_items WHERE collection_id = $2",
        item_id,
        collection_id,
        account_id,
        state,
        now,
    )


async def set_item_state(conn: Connection, item_id: int, state: str, now: int) -> None:
    """Move an item to another state (revoked, accepted...)."""
    await conn.execute(
        "UPDATE collection_items SET state = $2, updated_at = $3 WHERE id = $1",
        item_id,
        state,
        now,
    )


async def delete_item(conn: Connection, item_id: int) -> None:
    """Take an item out of its collection."""
    await conn.execute("DELETE FROM collection_items WHERE id = $1", item_id)


async def tag_of(conn: Connection, tag_id: int) -> TagRow | None:
    """A collection's tag."""
    return await fetchrow_as(
        conn,
        TagRow,
        "SELECT id, name, display_name, created_at, last_status_at, trendable FROM tags "
        "WHERE id = $1",
        tag_id,
    )


async def accepted_item_of(
    conn: Connection, item_id: int, account_id: int
) -> CollectionItemRow | None:
    """An accepted item featuring this account (the stamp's subject)."""
    return await _one_item(
        conn, "i.id = $1 AND i.account_id = $2 AND i.state = 'accepted'", item_id, account_id
    )


async def answer_request(
    conn: Connection, item_id: int, account_id: int, state: str, approval_uri: str | None, now: int
) -> CollectionItemRow | None:
    """A featured remote account answered: its pending item becomes `state`; the item, if
    it was pending and that account's."""
    changed = await conn.execute(
        "UPDATE collection_items SET state = $3, approval_uri = $4, updated_at = $5 "
        "WHERE id = $1 AND account_id = $2 AND state = 'pending'",
        item_id,
        account_id,
        state,
        approval_uri,
        now,
    )
    if changed != 1:
        return None
    return await _one_item(conn, "i.id = $1", item_id)


async def by_uri(conn: Connection, uri: str) -> CollectionRow | None:
    """A remote collection by its ActivityPub id."""
    return await fetchrow_as(
        conn, CollectionRow, f"SELECT {_COLUMNS} FROM collections c WHERE c.uri = $1", uri
    )


async def put_remote(
    conn: Connection,
    *,
    collection_id: int,
    account_id: int,
    uri: str,
    url: str | None,
    name: str,
    description: str,
    language: str | None,
    sensitive: bool,
    discoverable: bool,
    tag_id: int | None,
    created_at: int,
    now: int,
) -> int:
    """Store a remote collection as its owner's server describes it (new or changed); its id."""
    found = await by_uri(conn, uri)
    if found is not None:
        await update(
            conn,
            found["id"],
            name=name,
            description=description,
            language=language,
            sensitive=sensitive,
            discoverable=discoverable,
            tag_id=tag_id,
            now=now,
        )
        await conn.execute("UPDATE collections SET url = $2 WHERE id = $1", found["id"], url)
        return found["id"]
    await conn.execute(
        "INSERT INTO collections (id, account_id, name, description, language, sensitive, "
        "discoverable, tag_id, local, uri, url, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE, $9, $10, $11, $12)",
        collection_id,
        account_id,
        name,
        description,
        language,
        sensitive,
        discoverable,
        tag_id,
        uri,
        url,
        created_at,
        now,
    )
    return collection_id


async def replace_remote_items(
    conn: Connection, collection_id: int, items: list[tuple[int, int, str]], now: int
) -> None:
    """A remote collection's accepted remote accounts now: (item id, account id, item uri)
    in order. The places local accounts approved (a FeatureRequest) stay."""
    await conn.execute(
        "DELETE FROM collection_items WHERE collection_id = $1 AND account_id IN "
        "(SELECT id FROM accounts WHERE domain IS NOT NULL)",
        collection_id,
    )
    kept = await fetchval_as(
        conn,
        int,
        "SELECT COALESCE(MAX(position), 0) FROM collection_items WHERE collection_id = $1",
        collection_id,
    )
    for position, (item_id, account_id, uri) in enumerate(items, start=(kept or 0) + 1):
        await conn.execute(
            "INSERT INTO collection_items "
            "(id, collection_id, account_id, state, position, uri, created_at, updated_at) "
            "VALUES ($1, $2, $3, 'accepted', $4, $5, $6, $6)",
            item_id,
            collection_id,
            account_id,
            position,
            uri,
            now,
        )


async def delete_remote(conn: Connection, uri: str, account_id: int) -> bool:
    """Remove a remote collection its owner removed; whether it was here."""
    removed = await conn.fetch(
        "DELETE FROM collections WHERE uri = $1 AND account_id = $2 AND NOT local RETURNING id",
        uri,
        account_id,
    )
    return bool(removed)


async def add_remote_item(
    conn: Connection, item_id: int, collection_id: int, account_id: int, uri: str, now: int
) -> bool:
    """An item a remote collection's owner added (accepted, at the end); false if that
    account is in it already."""
    if await item_of_account(conn, collection_id, account_id) is not None:
        return False
    await insert_item(conn, item_id, collection_id, account_id, "accepted", now)
    await conn.execute("UPDATE collection_items SET uri = $2 WHERE id = $1", item_id, uri)
    return True


async def delete_item_by_uri(conn: Connection, collection_id: int, uri: str) -> bool:
    """Take out the item a remote collection's owner removed; whether it was there."""
    removed = await conn.fetch(
        "DELETE FROM collection_items WHERE collection_id = $1 AND uri = $2 RETURNING id",
        collection_id,
        uri,
    )
    return bool(removed)
