"""Statuses as ActivityStreams: Mastodon's addressing, valid JSON-LD, signable as Mastodon signs."""

from __future__ import annotations

from typing import Any

import pytest

from wildebeest_trio import jsonld
from wildebeest_trio.config import load_config
from wildebeest_trio.serializers.activitypub import (
    AS_PUBLIC,
    addressing,
    create_activity,
    delete_activity,
    note_document,
)
from wildebeest_trio.signatures import generate_rsa_keypair

CONFIG = load_config(env={"WB_DOMAIN": "social.example", "WB_DATA_DIR": "/tmp/wb-notes"})
AUTHOR = {
    "uri": "https://social.example/users/alice",
    "followers_url": "https://social.example/users/alice/followers",
}
BOB = {"uri": "https://other.example/users/bob", "username": "bob", "domain": "other.example"}
FOLLOWERS = AUTHOR["followers_url"]


@pytest.mark.parametrize(
    ("visibility", "to", "cc"),
    [
        ("public", [AS_PUBLIC], [FOLLOWERS, BOB["uri"]]),
        ("unlisted", [FOLLOWERS], [AS_PUBLIC, BOB["uri"]]),
        ("private", [FOLLOWERS], [BOB["uri"]]),
        ("direct", [BOB["uri"]], []),
    ],
)
def test_addressing_by_visibility(visibility: str, to: list[str], cc: list[str]) -> None:
    assert addressing(visibility, FOLLOWERS, [BOB["uri"]]) == (to, cc)


def _status(**overrides: Any) -> dict[str, Any]:
    status = {
        "uri": "https://social.example/users/alice/statuses/1",
        "url": "https://social.example/@alice/1",
        "visibility": "public",
        "spoiler_text": "",
        "sensitive": False,
        "content": '<p>Hi <a href="https://other.example/@bob">@bob</a> #trio</p>',
        "language": "en",
        "created_at": 1_764_201_600_123,
        "edited_at": None,
    }
    status.update(overrides)
    return status


def test_note_and_create() -> None:
    note = note_document(CONFIG, _status(), AUTHOR, mentions=[BOB], tags=[{"name": "trio"}])
    assert note["type"] == "Note" and note["attributedTo"] == AUTHOR["uri"]
    assert note["published"] == "2025-11-27T00:00:00.123Z"
    assert note["contentMap"] == {"en": note["content"]}
    assert {"type": "Mention", "href": BOB["uri"], "name": "@bob@other.example"} in note["tag"]
    assert {"type": "Hashtag", "href": "https://social.example/tags/trio", "name": "#trio"} in note[
        "tag"
    ]
    create = create_activity(note)
    assert create["id"] == note["id"] + "/activity"
    assert create["actor"] == AUTHOR["uri"]
    assert create["to"] == note["to"] and create["object"]["id"] == note["id"]
    assert "@context" not in create["object"]
    # Valid JSON-LD with the bundled contexts, and signable as Mastodon signs public posts.
    assert "<https://www.w3.org/ns/activitystreams#sensitive>" in jsonld.to_rdf(create)
    private, public = generate_rsa_keypair()
    signed = jsonld.sign_ld_signature(create, private, f"{AUTHOR['uri']}#main-key")
    assert jsonld.verify_ld_signature(signed, public)


def test_edited_and_spoiler() -> None:
    note = note_document(
        CONFIG,
        _status(spoiler_text="cw", sensitive=True, edited_at=1_764_201_700_000, language=None),
        AUTHOR,
        mentions=[],
        tags=[],
    )
    assert note["summary"] == "cw" and note["sensitive"] is True
    assert note["updated"] == "2025-11-27T00:01:40Z"
    assert "contentMap" not in note


def test_delete_is_a_tombstone_to_public() -> None:
    delete = delete_activity(AUTHOR["uri"], _status()["uri"])
    assert delete["object"] == {
        "id": _status()["uri"],
        "type": "Tombstone",
        "atomUri": _status()["uri"],
    }
    assert delete["to"] == [AS_PUBLIC]
    # Every term is defined (as in Mastodon's Delete), so safe-mode processors keep it.
    quads = jsonld.to_rdf(delete)
    assert "Tombstone" in quads and "<http://ostatus.org#atomUri>" in quads
