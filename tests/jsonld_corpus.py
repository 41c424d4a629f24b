"""Realistic ActivityPub documents, shaped like Mastodon 4.x output.

Shared by the JSON-LD tests (canonical output must equal pyld's) and by
`bench/jsonld.py`. Every builder returns a fresh dict, so callers may mutate.
"""

from __future__ import annotations

from typing import Any

AS = "https://www.w3.org/ns/activitystreams"
SEC = "https://w3id.org/security/v1"
HOST = "https://mastodon.example"
ACTOR = f"{HOST}/users/alice"

#: The inline context Mastodon puts on statuses.
NOTE_CONTEXT: dict[str, Any] = {
    "ostatus": "http://ostatus.org#",
    "atomUri": "ostatus:atomUri",
    "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
    "conversation": "ostatus:conversation",
    "sensitive": "as:sensitive",
    "toot": "http://joinmastodon.org/ns#",
    "votersCount": "toot:votersCount",
    "blurhash": "toot:blurhash",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    "Hashtag": "as:Hashtag",
    "Emoji": "toot:Emoji",
}

#: The inline context Mastodon puts on actors.
ACTOR_CONTEXT: dict[str, Any] = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "toot": "http://joinmastodon.org/ns#",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
    "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
    "movedTo": {"@id": "as:movedTo", "@type": "@id"},
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    "discoverable": "toot:discoverable",
    "suspended": "toot:suspended",
    "memorial": "toot:memorial",
    "indexable": "toot:indexable",
    "attributionDomains": {"@id": "toot:attributionDomains", "@type": "@id"},
    "Emoji": "toot:Emoji",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
}


def note(status_id: str = "113570000000000001") -> dict[str, Any]:
    """A public Note with a mention, hashtags, a custom emoji and an image."""
    url = f"{ACTOR}/statuses/{status_id}"
    content = (
        '<p><span class="h-card"><a href="https://social.example/@bob" class="u-url mention">'
        "@<span>bob</span></a></span> The harbour at dusk :blobcat: — “golden hour” "
        '<a href="https://mastodon.example/tags/sunset" class="mention hashtag" rel="tag">'
        "#<span>sunset</span></a></p>"
    )
    return {
        "id": url,
        "type": "Note",
        "summary": None,
        "inReplyTo": "https://social.example/users/bob/statuses/113569999999999999",
        "published": "2024-11-27T18:42:07Z",
        "url": f"{HOST}/@alice/{status_id}",
        "attributedTo": ACTOR,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [f"{ACTOR}/followers", "https://social.example/users/bob"],
        "sensitive": False,
        "atomUri": url,
        "inReplyToAtomUri": "https://social.example/users/bob/statuses/113569999999999999",
        "conversation": "tag:social.example,2024-11-27:objectId=8812345:objectType=Conversation",
        "content": content,
        "contentMap": {"en": content},
        "attachment": [
            {
                "type": "Document",
                "mediaType": "image/jpeg",
                "url": f"{HOST}/system/media_attachments/files/113/570/000/original/a1b2c3.jpg",
                "name": "A sunset over the harbour, boats in silhouette",
                "blurhash": "UKFOI~M{00xu~qRjM{of00of?bWB%MRjWBt7",
                "focalPoint": [0.0, -0.35],
                "width": 1920,
                "height": 1280,
            },
        ],
        "tag": [
            {
                "type": "Mention",
                "href": "https://social.example/users/bob",
                "name": "@bob@social.example",
            },
            {"type": "Hashtag", "href": f"{HOST}/tags/sunset", "name": "#sunset"},
            {"type": "Hashtag", "href": f"{HOST}/tags/photography", "name": "#photography"},
            {
                "id": f"{HOST}/emojis/4242",
                "type": "Emoji",
                "name": ":blobcat:",
                "updated": "2023-04-01T10:00:00Z",
                "icon": {
                    "type": "Image",
                    "mediaType": "image/png",
                    "url": f"{HOST}/system/custom_emojis/images/000/004/242/original/blobcat.png",
                },
            },
        ],
        "replies": {
            "id": f"{url}/replies",
            "type": "Collection",
            "first": {
                "type": "CollectionPage",
                "next": f"{url}/replies?only_other_accounts=true&page=true",
                "partOf": f"{url}/replies",
                "items": [],
            },
        },
        "likes": {"id": f"{url}/likes", "type": "Collection", "totalItems": 12},
        "shares": {"id": f"{url}/shares", "type": "Collection", "totalItems": 3},
    }


def create_note(status_id: str = "113570000000000001") -> dict[str, Any]:
    """A Create wrapping `note()`, as delivered to followers and relays."""
    obj = note(status_id)
    return {
        "@context": [AS, NOTE_CONTEXT],
        "id": f"{obj['id']}/activity",
        "type": "Create",
        "actor": ACTOR,
        "published": obj["published"],
        "to": list(obj["to"]),
        "cc": list(obj["cc"]),
        "object": obj,
    }


def person() -> dict[str, Any]:
    """An actor with PropertyValue fields, an emoji, an avatar and its publicKey."""
    return {
        "@context": [AS, SEC, ACTOR_CONTEXT],
        "id": ACTOR,
        "type": "Person",
        "following": f"{ACTOR}/following",
        "followers": f"{ACTOR}/followers",
        "inbox": f"{ACTOR}/inbox",
        "outbox": f"{ACTOR}/outbox",
        "featured": f"{ACTOR}/collections/featured",
        "featuredTags": f"{ACTOR}/collections/tags",
        "preferredUsername": "alice",
        "name": "Alice :blobcat:",
        "summary": "<p>Photographer. Harbour sunsets, mostly.</p>",
        "url": f"{HOST}/@alice",
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "indexable": True,
        "published": "2022-11-05T00:00:00Z",
        "memorial": False,
        "devices": f"{ACTOR}/collections/devices",
        "alsoKnownAs": ["https://old.example/users/alice"],
        "attributionDomains": ["alice.example"],
        "publicKey": {
            "id": f"{ACTOR}#main-key",
            "owner": ACTOR,
            "publicKeyPem": (
                "-----BEGIN PUBLIC KEY-----\n"
                "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n"
                "4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u\n"
                "+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyeh\n"
                "kd3qqGElvW/VDL5AaWTg0nLVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ\n"
                "0iT9wCS0DRTXu269V264Vf/3jvredZiKRkgwlL9xNAwxXFg0x/XFw005UWVRIkdg\n"
                "cKWTjpBP2dPwVZ4WWC+9aGVd+Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbc\nmwIDAQAB\n"
                "-----END PUBLIC KEY-----\n"
            ),
        },
        "tag": [
            {
                "id": f"{HOST}/emojis/4242",
                "type": "Emoji",
                "name": ":blobcat:",
                "updated": "2023-04-01T10:00:00Z",
                "icon": {"type": "Image", "mediaType": "image/png", "url": f"{HOST}/e/blobcat.png"},
            }
        ],
        "attachment": [
            {
                "type": "PropertyValue",
                "name": "Website",
                "value": '<a href="https://alice.example" rel="me">alice.example</a>',
            },
            {"type": "PropertyValue", "name": "Pronouns", "value": "she/her"},
        ],
        "endpoints": {"sharedInbox": f"{HOST}/inbox"},
        "icon": {
            "type": "Image",
            "mediaType": "image/jpeg",
            "url": f"{HOST}/system/accounts/avatars/000/000/001/original/avatar.jpg",
            "focalPoint": [0.1, 0.9],
        },
        "image": {
            "type": "Image",
            "mediaType": "image/jpeg",
            "url": f"{HOST}/system/accounts/headers/000/000/001/original/header.jpg",
        },
    }


def update_person() -> dict[str, Any]:
    """An Update of the actor, as sent after a profile edit."""
    actor = person()
    ctx = actor.pop("@context")
    return {
        "@context": ctx,
        "id": f"{ACTOR}#updates/1732732927",
        "type": "Update",
        "actor": ACTOR,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": actor,
    }


def delete_note() -> dict[str, Any]:
    """A Delete of a status with a Tombstone, as Mastodon sends it."""
    return {
        "@context": [AS, {"ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri"}],
        "id": f"{ACTOR}/statuses/113570000000000001#delete",
        "type": "Delete",
        "actor": ACTOR,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": f"{ACTOR}/statuses/113570000000000001",
            "type": "Tombstone",
            "atomUri": f"{ACTOR}/statuses/113570000000000001",
        },
    }


def delete_actor() -> dict[str, Any]:
    """A Delete of the actor itself (account deletion)."""
    return {
        "@context": AS,
        "id": f"{ACTOR}#delete",
        "type": "Delete",
        "actor": ACTOR,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": ACTOR,
    }


def announce() -> dict[str, Any]:
    """A boost of a remote status."""
    return {
        "@context": AS,
        "id": f"{ACTOR}/statuses/113570000000000002/activity",
        "type": "Announce",
        "actor": ACTOR,
        "published": "2024-11-27T19:00:00Z",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": ["https://social.example/users/bob", f"{ACTOR}/followers"],
        "object": "https://social.example/users/bob/statuses/113569999999999999",
    }


def like() -> dict[str, Any]:
    """A favourite (Mastodon sends a bare AS context and no addressing)."""
    return {
        "@context": AS,
        "id": f"{ACTOR}#likes/4711",
        "type": "Like",
        "actor": ACTOR,
        "object": "https://social.example/users/bob/statuses/113569999999999999",
    }


def update_note() -> dict[str, Any]:
    """An edited status (Update with `updated`), with a poll-free Note."""
    obj = note("113570000000000003")
    obj["updated"] = "2024-11-27T19:30:00Z"
    obj["content"] = obj["contentMap"]["en"] = "<p>Edited: the harbour at dusk.</p>"
    return {
        "@context": [AS, NOTE_CONTEXT],
        "id": f"{obj['id']}#updates/1732735800",
        "type": "Update",
        "actor": ACTOR,
        "published": obj["updated"],
        "to": list(obj["to"]),
        "cc": list(obj["cc"]),
        "object": obj,
    }


def question() -> dict[str, Any]:
    """A poll, with anyOf options carrying reply counts."""
    obj = note("113570000000000004")
    obj["type"] = "Question"
    obj["endTime"] = "2024-11-28T18:42:07Z"
    obj["votersCount"] = 7
    obj["anyOf"] = [
        {"type": "Note", "name": "Sunset", "replies": {"type": "Collection", "totalItems": 5}},
        {"type": "Note", "name": "Sunrise", "replies": {"type": "Collection", "totalItems": 2}},
    ]
    return {
        "@context": [AS, NOTE_CONTEXT],
        "id": f"{obj['id']}/activity",
        "type": "Create",
        "actor": ACTOR,
        "to": list(obj["to"]),
        "object": obj,
    }


def follow_accept() -> dict[str, Any]:
    """An Accept of a Follow, with the Follow embedded."""
    return {
        "@context": AS,
        "id": f"{ACTOR}#accepts/follows/99",
        "type": "Accept",
        "actor": ACTOR,
        "object": {
            "id": "https://social.example/8f1c2b3a-follow",
            "type": "Follow",
            "actor": "https://social.example/users/bob",
            "object": ACTOR,
        },
    }


#: Every document of the corpus, by name.
CORPUS = {
    "create_note": create_note,
    "person": person,
    "update_person": update_person,
    "delete_note": delete_note,
    "delete_actor": delete_actor,
    "announce": announce,
    "like": like,
    "update_note": update_note,
    "question": question,
    "follow_accept": follow_accept,
}
