"""Instance-wide data: settings, rules, and the counts the discovery endpoints report."""

from __future__ import annotations

import json

from .base import Connection, fetch_as, fetchval_as
from .effects import INSTANCE_FACTS_CHANGED
from .rows import Json, JsonObject, RuleRow

DAY_MS = 24 * 3600 * 1000


async def get_setting(conn: Connection, key: str) -> Json:
    """A setting's JSON value, or None."""
    raw = await conn.fetchval("SELECT value FROM instance_settings WHERE key = $1", key)
    return None if raw is None else json.loads(raw)


async def setting_text(conn: Connection, key: str) -> str | None:
    """A setting that holds a string, or None (absent or not a string)."""
    value = await get_setting(conn, key)
    return value if isinstance(value, str) else None


async def setting_object(conn: Connection, key: str) -> JsonObject | None:
    """A setting that holds a JSON object, or None (absent or not an object)."""
    value = await get_setting(conn, key)
    return value if isinstance(value, dict) else None


async def put_setting(conn: Connection, key: str, value: object, now: int) -> None:
    """Set a setting's value (anything `json.dumps` takes)."""
    conn.effects.add(INSTANCE_FACTS_CHANGED)
    await conn.execute(
        "INSERT INTO instance_settings (key, value, updated_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        key,
        json.dumps(value),
        now,
    )


async def setting_if_absent(conn: Connection, key: str, value: object, now: int) -> Json:
    """Store `value` unless the key exists; the stored value either way."""
    conn.effects.add(INSTANCE_FACTS_CHANGED)
    await conn.execute(
        "INSERT INTO instance_settings (key, value, updated_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (key) DO NOTHING",
        key,
        json.dumps(value),
        now,
    )
    return await get_setting(conn, key)


async def setting_updated_at(conn: Connection, key: str) -> int | None:
    """When a setting last changed."""
    return await fetchval_as(
        conn, int, "SELECT updated_at FROM instance_settings WHERE key = $1", key
    )


async def rules(conn: Connection) -> list[RuleRow]:
    """The server rules, in order."""
    return await fetch_as(
        conn,
        RuleRow,
        "SELECT id, text, hint FROM instance_rules WHERE deleted_at IS NULL ORDER BY position, id",
    )


async def insert_rule(conn: Connection, rule_id: int, text: str, hint: str, now: int) -> None:
    """Add a rule at the end."""
    conn.effects.add(INSTANCE_FACTS_CHANGED)
    position = await conn.fetchval(
        "SELECT COALESCE(MAX(position), 0) + 1 FROM instance_rules WHERE deleted_at IS NULL"
    )
    await conn.execute(
        "INSERT INTO instance_rules (id, text, hint, position, created_at) "
        "VALUES ($1, $2, $3, $4, $5)",
        rule_id,
        text,
        hint,
        position,
        now,
    )


async def delete_rule(conn: Connection, rule_id: int, now: int) -> bool:
    """Remove a rule (kept for history, hidden from the list)."""
    conn.effects.add(INSTANCE_FACTS_CHANGED)
    changed = await conn.execute(
        "UPDATE instance_rules SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL",
        now,
        rule_id,
    )
    return changed == 1


async def stats(conn: Connection, now: int) -> dict[str, int]:
    """User, status and domain counts, and users active in the last 30 and 180 days."""
    row = await conn.fetchrow(
        "SELECT "
        "(SELECT COUNT(*) FROM users u JOIN accounts a ON a.id = u.account_id "
        " WHERE u.approved AND NOT u.disabled AND a.suspended_at IS NULL) AS user_count, "
        "(SELECT COUNT(*) FROM statuses s WHERE s.local AND s.deleted_at IS NULL "
        " AND s.reblog_of_id IS NULL) AS status_count, "
        "(SELECT COUNT(DISTINCT domain) FROM accounts WHERE domain IS NOT NULL) AS domain_count",
    )
    assert row is not None
    active = {}
    for label, days in (("active_month", 30), ("active_halfyear", 180)):
        since = now - days * DAY_MS
        active[label] = await conn.fetchval(
            "SELECT COUNT(*) FROM users u WHERE u.approved AND NOT u.disabled AND ("
            " u.last_sign_in_at >= $1"
            " OR EXISTS (SELECT 1 FROM oauth_access_tokens t WHERE t.account_id = u.account_id"
            "            AND t.last_used_at >= $1)"
            " OR EXISTS (SELECT 1 FROM statuses s WHERE s.account_id = u.account_id"
            "            AND s.created_at >= $1))",
            since,
        )
    return {**{k: int(v) for k, v in row.items()}, **{k: int(v) for k, v in active.items()}}


async def peers(conn: Connection) -> list[str]:
    """Every remote domain this server knows of, sorted."""
    rows = await conn.fetch(
        "SELECT DISTINCT domain FROM accounts WHERE domain IS NOT NULL ORDER BY domain"
    )
    return [r["domain"] for r in rows]
