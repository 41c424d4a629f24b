"""The Status and Relationship serializers alone, and the pure rules of the status service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_config
from wildebeest_trio.config import Config
from wildebeest_trio.serializers.statuses import (
    relationship_entity,
    status_edit_entity,
    status_entity,
)
from wildebeest_trio.services.statuses import (
    Draft,
    InvalidStatus,
    count_characters,
    depth_first,
    validate,
)
from wildebeest_trio.store.statuses import StatusBundle

NOW = 1_764_000_000_123


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path, f"sqlite:///{tmp_path / 'unused.db'}", domain="social.example")


def _account(account_id: int, username: str) -> dict[str, Any]:
    return {
        "id": account_id,
        "username": username,
        "domain": None,
        "uri": f"https://social.example/users/{username}",
        "url": f"https://social.example/@{username}",
        "actor_type": "Person",
        "display_name": "",
        "note": "",
        "fields": "[]",
        "locked": False,
        "bot": False,
        "discoverable": True,
        "followers_count": 0,
        "following_count": 0,
        "statuses_count": 1,
        "last_status_at": NOW,
        "created_at": NOW,
    }


def _status(status_id: int, account_id: int, **overrides: Any) -> dict[str, Any]:
    row = {
        "id": status_id,
        "uri": f"https://social.example/users/u/statuses/{status_id}",
        "url": f"https://social.example/@u/{status_id}",
        "account_id": account_id,
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "reblog_of_id": None,
        "text": "hi",
        "content": "<p>hi</p>",
        "spoiler_text": "",
        "sensitive": 0,  # SQLite's booleans
        "visibility": "public",
        "language": None,
        "application_id": 7,
        "conversation_id": status_id,
        "replies_count": 2,
        "reblogs_count": 1,
        "favourites_count": 3,
        "created_at": NOW,
        "edited_at": None,
    }
    row.update(overrides)
    return row


def _bundle(viewer_id: int | None) -> StatusBundle:
    bundle = StatusBundle(order=[20], viewer_id=viewer_id)
    bundle.statuses = {10: _status(10, 1), 20: _status(20, 2, reblog_of_id=10, content="")}
    bundle.accounts = {1: _account(1, "alice"), 2: _account(2, "bob")}
    bundle.mentions = {
        10: [
            {
                "id": 2,
                "username": "bob",
                "domain": None,
                "url": None,
                "uri": "https://social.example/users/bob",
            }
        ]
    }
    bundle.tags = {10: [{"name": "trio", "display_name": "Trio"}]}
    bundle.applications = {7: {"name": "App", "website": None}}
    bundle.favourited = {10}
    bundle.reblogged = {10}
    return bundle


def test_a_boost_wraps_the_boosted_status(config: Config) -> None:
    entity = status_entity(config, _bundle(2), 20)
    assert entity["id"] == "20" and entity["content"] == ""
    inner = entity["reblog"]
    assert inner["id"] == "10" and inner["account"]["username"] == "alice"
    assert inner["sensitive"] is False and inner["created_at"] == "2025-11-24T16:00:00.123Z"
    assert inner["mentions"] == [
        {"id": "2", "username": "bob", "url": "https://social.example/users/bob", "acct": "bob"}
    ]
    assert inner["tags"] == [{"name": "Trio", "url": "https://social.example/tags/trio"}]
    assert (inner["replies_count"], inner["reblogs_count"], inner["favourites_count"]) == (2, 1, 3)
    # The viewer's flags follow the boosted status, on the wrapper too.
    assert entity["favourited"] and entity["reblogged"] and inner["favourited"]
    assert "pinned" not in entity  # boosts cannot be pinned
    assert "application" not in inner  # only the author sees the posting app
    for key in ("media_attachments", "emojis", "mentions", "tags"):
        assert entity[key] == []  # never null, even on a boost's wrapper
    assert entity["spoiler_text"] == "" and entity["url"].endswith("/20")
    assert entity["card"] is None and entity["poll"] is None
    assert "text" not in entity


def test_author_and_anonymous_views(config: Config) -> None:
    author = status_entity(config, _bundle(1), 10, source=True)
    assert author["application"] == {"name": "App", "website": None}
    assert author["pinned"] is False and author["text"] == "hi"
    anonymous = status_entity(config, _bundle(None), 10)
    for key in ("favourited", "reblogged", "muted", "bookmarked", "pinned", "filtered"):
        assert key not in anonymous


def test_edit_and_relationship_entities(config: Config) -> None:
    version = status_edit_entity(config, _status(10, 1, spoiler_text="cw"), _account(1, "a"))
    assert version["spoiler_text"] == "cw" and version["media_attachments"] == []
    assert version["created_at"].endswith("Z")
    rel = relationship_entity(
        5,
        following={"show_reblogs": 0, "notify": 1, "languages": '["en"]'},
        followed_by=True,
        requested=None,
        requested_by=False,
    )
    assert rel["id"] == "5" and rel["following"] is True and rel["showing_reblogs"] is False
    assert rel["notifying"] is True and rel["languages"] == ["en"] and rel["note"] == ""
    none = relationship_entity(
        5, following=None, followed_by=False, requested=None, requested_by=False
    )
    assert none["following"] is False and none["languages"] is None


def test_character_counting_and_validation() -> None:
    assert count_characters("a" * 10) == 10
    assert count_characters("see https://example.com/" + "x" * 300) == 4 + 23
    assert count_characters("@someone@very.long.domain.example hi") == len("@someone hi")
    validate(Draft(text="x" * 500))
    with pytest.raises(InvalidStatus, match="character limit of 500"):
        validate(Draft(text="x" * 400, spoiler_text="y" * 101))
    with pytest.raises(InvalidStatus, match="can't be blank"):
        validate(Draft(text="\n  "))
    with pytest.raises(InvalidStatus, match="Visibility"):
        validate(Draft(text="x", visibility="limited"))
    validate(Draft(text="x", language="pt-BR"))


def test_threads_are_ordered_depth_first() -> None:
    rows = [
        {"id": 2, "in_reply_to_id": 1},
        {"id": 5, "in_reply_to_id": 2},
        {"id": 3, "in_reply_to_id": 1},
        {"id": 4, "in_reply_to_id": 2},
        {"id": 6, "in_reply_to_id": 3},
    ]
    assert [r["id"] for r in depth_first(1, rows)] == [2, 4, 5, 3, 6]
