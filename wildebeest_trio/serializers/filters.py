"""Mastodon's Filter, FilterKeyword, FilterStatus, FilterResult and v1 Filter (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..store import RowView
from ..store.filters import FilterMatch
from .time import iso_ms


def _filter_fields(row: RowView) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "title": row["title"],
        "context": list(row["context"]),
        "expires_at": iso_ms(row["expires_at"]),
        "filter_action": row["action"],
    }


def keyword_entity(row: RowView) -> dict[str, Any]:
    """FilterKeyword."""
    return {"id": str(row["id"]), "keyword": row["keyword"], "whole_word": bool(row["whole_word"])}


def filter_status_entity(row: RowView) -> dict[str, Any]:
    """FilterStatus."""
    return {"id": str(row["id"]), "status_id": str(row["status_id"])}


def filter_entity(
    row: RowView, keywords: Sequence[RowView], statuses: Sequence[RowView]
) -> dict[str, Any]:
    """Filter (v2), with its keywords and statuses."""
    return {
        **_filter_fields(row),
        "keywords": [keyword_entity(k) for k in keywords],
        "statuses": [filter_status_entity(s) for s in statuses],
    }


def filter_result_entity(match: FilterMatch) -> dict[str, Any]:
    """FilterResult, as a status's `filtered` carries it (the filter without its rules,
    as Mastodon serializes it there)."""
    return {
        "filter": _filter_fields(match.filter),
        "keyword_matches": match.keyword_matches,
        "status_matches": match.status_matches,
    }


def v1_filter_entity(row: RowView) -> dict[str, Any]:
    """The v1 Filter: one keyword with its filter's context, action and expiry."""
    return {
        "id": str(row["id"]),
        "phrase": row["keyword"],
        "context": list(row["context"]),
        "whole_word": bool(row["whole_word"]),
        "expires_at": iso_ms(row["expires_at"]),
        "irreversible": row["action"] == "hide",
    }
