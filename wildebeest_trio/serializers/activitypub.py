"""ActivityStreams documents for local actors and their collections, as Mastodon writes them."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Sequence
from typing import Any

from .. import quote_policy
from ..config import Config
from ..store import RowView
from .accounts import media_url
from .time import iso_midnight, iso_ms

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ACTIVITY_JSON = "application/activity+json"

# The extension terms Mastodon declares inline for actors.
ACTOR_CONTEXT: list[Any] = [
    AS_CONTEXT,
    SECURITY_CONTEXT,
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
        "featuredCollections": {
            "@id": "https://w3id.org/fep/7aa9#featuredCollections",
            "@type": "@id",
        },
        "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
        "movedTo": {"@id": "as:movedTo", "@type": "@id"},
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "discoverable": "toot:discoverable",
        "indexable": "toot:indexable",
        "suspended": "toot:suspended",
        "memorial": "toot:memorial",
        "attributionDomains": {"@id": "toot:attributionDomains", "@type": "@id"},
    },
]

FOLLOWS_PER_PAGE = 12  # Mastodon's FOLLOW_PER_PAGE


def _image(config: Config, key: str | None, fallback: str | None) -> dict[str, Any] | None:
    url = media_url(config, key) if key else fallback
    if not url:
        return None
    media_type = "image/png" if url.endswith(".png") else "image/jpeg"
    return {"type": "Image", "mediaType": media_type, "url": url}


def actor_document(
    config: Config,
    account: RowView,
    public_key_pem: str,
    *,
    moved_to_uri: str | None = None,
) -> dict[str, Any]:
    """A local account as an ActivityPub actor (Person, or Service for bots)."""
    uri = account["uri"]
    document: dict[str, Any] = {
        "@context": ACTOR_CONTEXT,
        "id": uri,
        "type": account["actor_type"] if account["actor_type"] != "Application" else "Person",
        "following": account["following_url"],
        "followers": account["followers_url"],
        "inbox": account["inbox_url"],
        "outbox": account["outbox_url"],
        "featured": account["featured_url"],
        "featuredTags": f"{uri}/collections/tags",
        "featuredCollections": f"{uri}/featured_collections",
        "preferredUsername": account["username"],
        "name": account["display_name"] or "",
        "summary": account["note"] or "",
        "url": account["url"],
        "manuallyApprovesFollowers": bool(account["locked"]),
        "discoverable": bool(account["discoverable"]),
        "indexable": bool(account.get("indexable", False)),
        "published": iso_midnight(account["created_at"]).replace(".000Z", "Z"),
        "memorial": False,
        "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": public_key_pem},
        "tag": [],
        "attachment": [
            {"type": "PropertyValue", "name": f["name"], "value": f["value"]}
            for f in json.loads(account.get("fields") or "[]")
        ],
        "endpoints": {"sharedInbox": account["shared_inbox_url"]},
    }
    also_known_as = json.loads(account.get("also_known_as") or "[]")
    if also_known_as:
        document["alsoKnownAs"] = also_known_as
    attribution_domains = json.loads(account.get("attribution_domains") or "[]")
    if attribution_domains:
        document["attributionDomains"] = attribution_domains
    if moved_to_uri:
        document["movedTo"] = moved_to_uri
    for field, key in (("icon", "avatar_key"), ("image", "header_key")):
        image = _image(config, account.get(key), None)
        if image is not None:
            document[field] = image
    return document


def instance_actor_document(
    config: Config, account: RowView, public_key_pem: str
) -> dict[str, Any]:
    """The instance actor (`/actor`), which signs our fetches; always served unsigned."""
    uri = account["uri"]
    return {
        "@context": [
            AS_CONTEXT,
            SECURITY_CONTEXT,
            {"manuallyApprovesFollowers": "as:manuallyApprovesFollowers"},
        ],
        "id": uri,
        "type": "Application",
        "inbox": account["inbox_url"],
        "outbox": account["outbox_url"],
        "preferredUsername": account["username"],
        "url": f"{config.base_url}/about",
        "manuallyApprovesFollowers": True,
        "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": public_key_pem},
        "endpoints": {"sharedInbox": account["shared_inbox_url"]},
    }


def follows_collection(collection_id: str, total: int, hidden: bool) -> dict[str, Any]:
    """The `followers`/`following` OrderedCollection (only the count when hidden)."""
    document: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if not hidden:
        document["first"] = f"{collection_id}?page=1"
    return document


def follows_page(collection_id: str, page: int, items: list[str], total: int) -> dict[str, Any]:
    """One `OrderedCollectionPage` of actor URIs."""
    document: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": f"{collection_id}?page={page}",
        "type": "OrderedCollectionPage",
        "totalItems": total,
        "partOf": collection_id,
        "orderedItems": items,
    }
    if page * FOLLOWS_PER_PAGE < total:
        document["next"] = f"{collection_id}?page={page + 1}"
    if page > 1:
        document["prev"] = f"{collection_id}?page={page - 1}"
    return document


# Statuses --------------------------------------------------------------------------------------

# Every term a signed document uses must be defined: ActivityStreams maps any other to a
# blank node, and processors in safe mode (jsonld.js, so every Fedify server) then refuse
# the LD signature.
ATOM_URI_TERMS: dict[str, str] = {"ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri"}

# FEP-044f quotes, with the older names Fedibird and Misskey read (as Mastodon 4.5 sends
# them), and GoToSocial's interaction policies (who may quote).
FEP_044F = "https://w3id.org/fep/044f#"
QUOTE_TERMS: dict[str, Any] = {
    "quote": {"@id": f"{FEP_044F}quote", "@type": "@id"},
    "quoteUri": {"@id": "http://fedibird.com/ns#quoteUri", "@type": "@id"},
    "_misskey_quote": {"@id": "https://misskey-hub.net/ns#_misskey_quote", "@type": "@id"},
    "quoteAuthorization": {"@id": f"{FEP_044F}quoteAuthorization", "@type": "@id"},
    "gts": "https://gotosocial.org/ns#",
    "interactionPolicy": {"@id": "gts:interactionPolicy", "@type": "@id"},
    "canQuote": {"@id": "gts:canQuote", "@type": "@id"},
    "automaticApproval": {"@id": "gts:automaticApproval", "@type": "@id"},
    "manualApproval": {"@id": "gts:manualApproval", "@type": "@id"},
}
QUOTE_REQUEST_TERMS: dict[str, Any] = {"QuoteRequest": f"{FEP_044F}QuoteRequest"}
QUOTE_AUTHORIZATION_CONTEXT: list[Any] = [
    AS_CONTEXT,
    {
        "QuoteAuthorization": f"{FEP_044F}QuoteAuthorization",
        "gts": "https://gotosocial.org/ns#",
        "interactingObject": {"@id": "gts:interactingObject", "@type": "@id"},
        "interactionTarget": {"@id": "gts:interactionTarget", "@type": "@id"},
    },
]

NOTE_CONTEXT: list[Any] = [
    AS_CONTEXT,
    {
        **ATOM_URI_TERMS,
        "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
        "conversation": "ostatus:conversation",
        "sensitive": "as:sensitive",
        "toot": "http://joinmastodon.org/ns#",
        "votersCount": "toot:votersCount",
        "Hashtag": "as:Hashtag",
        "blurhash": "toot:blurhash",
        "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
        **QUOTE_TERMS,
    },
]
# A QuoteRequest carries the quoting Note inline.
QUOTE_REQUEST_CONTEXT: list[Any] = [AS_CONTEXT, {**NOTE_CONTEXT[1], **QUOTE_REQUEST_TERMS}]
# An Accept or Reject names the request it answers.
QUOTE_ANSWER_CONTEXT: list[Any] = [AS_CONTEXT, QUOTE_REQUEST_TERMS]


def addressing(
    visibility: str, followers_url: str | None, mention_uris: list[str]
) -> tuple[list[str], list[str]]:
    """`to` and `cc` as Mastodon addresses each visibility."""
    followers = [followers_url] if followers_url else []
    if visibility == "public":
        return [AS_PUBLIC], [*followers, *mention_uris]
    if visibility == "unlisted":
        return followers, [AS_PUBLIC, *mention_uris]
    if visibility == "private":
        return followers, mention_uris
    return mention_uris, []  # direct


# Replies served per page of a Note's `replies` collection (Mastodon's DESCENDANTS_LIMIT).
REPLIES_PER_PAGE = 60


def replies_uri(note_uri: str) -> str:
    """The id of a local Note's `replies` collection."""
    return f"{note_uri}/replies"


def replies_page(note_uri: str, items: list[tuple[int, str]], after_id: int) -> dict[str, Any]:
    """A page of a Note's replies (`items`: (id, uri) of at most one page more than shown,
    oldest first) after `after_id`: an OrderedCollectionPage with the next page's link when
    there is one."""
    collection = replies_uri(note_uri)
    shown = items[:REPLIES_PER_PAGE]
    page: dict[str, Any] = {
        "id": f"{collection}?page=true" + (f"&min_id={after_id}" if after_id else ""),
        "type": "OrderedCollectionPage",
        "partOf": collection,
        "orderedItems": [uri for _, uri in shown],
    }
    if len(items) > REPLIES_PER_PAGE:
        page["next"] = f"{collection}?page=true&min_id={shown[-1][0]}"
    return page


def replies_collection(note_uri: str, first: dict[str, Any]) -> dict[str, Any]:
    """A Note's `replies`: an OrderedCollection whose first page is inline (what Mastodon
    4.4's fetch-all-replies crawls)."""
    return {"id": replies_uri(note_uri), "type": "OrderedCollection", "first": first}


def note_document(
    config: Config,
    status: RowView,
    author: RowView,
    *,
    mentions: Sequence[RowView],
    tags: Sequence[RowView],
    in_reply_to_uri: str | None = None,
    with_context: bool = True,
    media: Sequence[RowView] | None = None,
    quote: tuple[str, str | None] | None = None,
    interaction_policy: RowView | None = None,
    replies: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A local status as an ActivityStreams `Note`; `quote`: the id of the post it quotes
    and the stamp approving it (None until approved); `interaction_policy`: who may quote
    it (`interaction_policy`); `replies`: its replies collection (public and unlisted
    statuses only)."""
    mention_uris = [m["uri"] for m in mentions]
    to, cc = addressing(status["visibility"], author["followers_url"], mention_uris)
    language = status.get("language")
    published = iso_ms(status["created_at"]) or ""
    document: dict[str, Any] = {
        "id": status["uri"],
        "type": "Note",
        "summary": status["spoiler_text"] or None,
        "inReplyTo": in_reply_to_uri,
        "published": published.replace(".000Z", "Z"),
        "url": status["url"] or status["uri"],
        "attributedTo": author["uri"],
        "to": to,
        "cc": cc,
        "sensitive": bool(status["sensitive"]),
        "atomUri": status["uri"],
        "inReplyToAtomUri": in_reply_to_uri,
        "content": status["content"],
        "attachment": [d for d in (attachment_document(config, m) for m in media or []) if d],
        "tag": [
            *(
                {
                    "type": "Mention",
                    "href": m["uri"],
                    "name": f"@{m['username']}"
                    if m["domain"] is None
                    else f"@{m['username']}@{m['domain']}",
                }
                for m in mentions
            ),
            *(
                {
                    "type": "Hashtag",
                    "href": f"{config.base_url}/tags/{t['name']}",
                    "name": f"#{t['name']}",
                }
                for t in tags
            ),
        ],
    }
    if language:
        document["contentMap"] = {language: status["content"]}
    if quote is not None:
        quoted_uri, authorization = quote
        document["quote"] = document["_misskey_quote"] = document["quoteUri"] = quoted_uri
        if authorization is not None:
            document["quoteAuthorization"] = authorization
    if interaction_policy is not None:
        document["interactionPolicy"] = interaction_policy
    if replies is not None and status["visibility"] in ("public", "unlisted"):
        document["replies"] = replies
    if status.get("edited_at"):
        document["updated"] = (iso_ms(status["edited_at"]) or "").replace(".000Z", "Z")
    if with_context:
        document = {"@context": NOTE_CONTEXT, **document}
    return document


def interaction_policy(policy: int, author: RowView) -> dict[str, Any]:
    """`interactionPolicy` of a local status: who may quote it at once (the author alone,
    when nobody else may) and who may ask for approval, as actor and collection ids."""

    def addressees(flags: int) -> list[str]:
        found = []
        if flags & quote_policy.PUBLIC:
            found.append(AS_PUBLIC)
        if flags & quote_policy.FOLLOWERS and author.get("followers_url"):
            found.append(author["followers_url"])
        if flags & quote_policy.FOLLOWING and author.get("following_url"):
            found.append(author["following_url"])
        return found

    can_quote: dict[str, Any] = {
        "automaticApproval": addressees(quote_policy.automatic(policy)) or [author["uri"]]
    }
    manual = addressees(quote_policy.manual(policy))
    if manual:
        can_quote["manualApproval"] = manual
    return {"canQuote": can_quote}


def quote_request_activity(
    request_id: str, actor_uri: str, quoted_uri: str, note: dict[str, Any]
) -> dict[str, Any]:
    """A `QuoteRequest`: asking the quoted post's author to approve a quote, the quoting
    Note inline (FEP-044f)."""
    return {
        "@context": QUOTE_REQUEST_CONTEXT,
        "id": request_id,
        "type": "QuoteRequest",
        "actor": actor_uri,
        "object": quoted_uri,
        "instrument": {k: v for k, v in note.items() if k != "@context"},
    }


def quote_answer(
    kind: str,
    answer_id: str,
    actor_uri: str,
    request: dict[str, str],
    result: str | None = None,
) -> dict[str, Any]:
    """An `Accept` (with the stamp as its `result`) or `Reject` of a QuoteRequest;
    `request`: its id, actor, object and instrument."""
    document: dict[str, Any] = {
        "@context": QUOTE_ANSWER_CONTEXT,
        "id": answer_id,
        "type": kind,
        "actor": actor_uri,
        "object": {"type": "QuoteRequest", **request},
    }
    if result is not None:
        document["result"] = result
    return document


def quote_authorization(
    stamp_uri: str, author_uri: str, quoting_uri: str, quoted_uri: str
) -> dict[str, Any]:
    """The `QuoteAuthorization` stamp served at its id while the approval stands."""
    return {
        "@context": QUOTE_AUTHORIZATION_CONTEXT,
        "id": stamp_uri,
        "type": "QuoteAuthorization",
        "attributedTo": author_uri,
        "interactingObject": quoting_uri,
        "interactionTarget": quoted_uri,
    }


def delete_stamp_activity(actor_uri: str, stamp_uri: str) -> dict[str, Any]:
    """`Delete` of a QuoteAuthorization: the approval is taken back (Mastodon's form)."""
    return {
        "@context": AS_CONTEXT,
        "id": f"{stamp_uri}#delete",
        "type": "Delete",
        "actor": actor_uri,
        "to": [AS_PUBLIC],
        "object": stamp_uri,
    }


def attachment_document(config: Config, row: RowView) -> dict[str, Any] | None:
    """A processed media attachment as the `Document` Mastodon puts in a Note."""
    key = row.get("file_key")
    if row.get("processing") != "complete" or not key:
        return None
    url = media_url(config, key)
    media_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
    document: dict[str, Any] = {
        "type": "Document",
        "mediaType": media_type,
        "url": url,
        "name": row.get("description") or None,
        "blurhash": row.get("blurhash"),
    }
    if row.get("focus_x") is not None and row.get("focus_y") is not None:
        document["focalPoint"] = [float(row["focus_x"]), float(row["focus_y"])]
    original = (row.get("meta") or {}).get("original") or {}
    if original.get("width") and original.get("height"):
        document["width"] = int(original["width"])
        document["height"] = int(original["height"])
    return document


def create_activity(note: dict[str, Any]) -> dict[str, Any]:
    """`Create` of a Note, addressed like the Note (Mastodon's `…/activity` id)."""
    body = {k: v for k, v in note.items() if k != "@context"}
    return {
        "@context": note.get("@context", NOTE_CONTEXT),
        "id": f"{note['id']}/activity",
        "type": "Create",
        "actor": note["attributedTo"],
        "published": note["published"],
        "to": note["to"],
        "cc": note["cc"],
        "object": body,
    }


def delete_activity(actor_uri: str, object_uri: str) -> dict[str, Any]:
    """`Delete` of a status, with a Tombstone (Mastodon's form, addressed to Public)."""
    return {
        "@context": [AS_CONTEXT, ATOM_URI_TERMS],
        "id": f"{object_uri}#delete",
        "type": "Delete",
        "actor": actor_uri,
        "to": [AS_PUBLIC],
        "object": {"id": object_uri, "type": "Tombstone", "atomUri": object_uri},
    }


def update_note_activity(note: dict[str, Any], edited_at_ms: int) -> dict[str, Any]:
    """`Update` of an edited Note (Mastodon's `<uri>#updates/<epoch seconds>` id)."""
    body = {k: v for k, v in note.items() if k != "@context"}
    return {
        "@context": note.get("@context", NOTE_CONTEXT),
        "id": f"{note['id']}#updates/{edited_at_ms // 1000}",
        "type": "Update",
        "actor": note["attributedTo"],
        "published": body.get("updated") or body["published"],
        "to": note["to"],
        "cc": note["cc"],
        "object": body,
    }


def announce_addressing(
    visibility: str, followers_url: str | None, author_uri: str
) -> tuple[list[str], list[str]]:
    """`to` and `cc` of a boost: the boosted author is always in `cc`."""
    followers = [followers_url] if followers_url else []
    if visibility == "public":
        return [AS_PUBLIC], [author_uri, *followers]
    if visibility == "unlisted":
        return followers, [AS_PUBLIC, author_uri]
    return followers, [author_uri]


def announce_activity(
    boost: RowView,
    actor: RowView,
    object_uri: str,
    object_author_uri: str,
    *,
    with_context: bool = True,
) -> dict[str, Any]:
    """`Announce` of a status; its id is the boost's URI (`…/statuses/ID/activity`)."""
    to, cc = announce_addressing(boost["visibility"], actor["followers_url"], object_author_uri)
    document: dict[str, Any] = {
        "id": boost["uri"],
        "type": "Announce",
        "actor": actor["uri"],
        "published": (iso_ms(boost["created_at"]) or "").replace(".000Z", "Z"),
        "to": to,
        "cc": cc,
        "object": object_uri,
    }
    if with_context:
        document = {"@context": AS_CONTEXT, **document}
    return document


def undo_activity(actor_uri: str, activity_id: str, inner: RowView) -> dict[str, Any]:
    """`Undo` of an earlier activity, embedded without its context (as Mastodon sends)."""
    body = {k: v for k, v in inner.items() if k != "@context"}
    document: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Undo",
        "actor": actor_uri,
        "object": body,
    }
    if "to" in body:
        document["to"] = body["to"]
    return document


def simple_activity(
    kind: str, activity_id: str, actor_uri: str, object_: Any, **extra: Any
) -> dict[str, Any]:
    """A Like, Follow, Block, Accept, Reject, Add, Remove or Move activity."""
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": kind,
        "actor": actor_uri,
        "object": object_,
        **extra,
    }


def update_actor_activity(activity_id: str, actor: RowView) -> dict[str, Any]:
    """`Update` of a local actor, to Public, carrying the whole actor document."""
    body = {k: v for k, v in actor.items() if k != "@context"}
    return {
        "@context": actor.get("@context", ACTOR_CONTEXT),
        "id": activity_id,
        "type": "Update",
        "actor": actor["id"],
        "to": [AS_PUBLIC],
        "object": body,
    }


def tombstone(uri: str) -> dict[str, Any]:
    """What a deleted object's URL answers (with 410 Gone)."""
    return {"@context": AS_CONTEXT, "id": uri, "type": "Tombstone"}


def minimal_actor_document(document: dict[str, Any]) -> dict[str, Any]:
    """The actor as Mastodon shows it to unsigned requests in authorized-fetch mode."""
    kept = ("@context", "id", "type", "preferredUsername", "inbox", "outbox", "publicKey")
    minimal = {k: document[k] for k in kept if k in document}
    minimal["endpoints"] = document.get("endpoints", {})
    return minimal


OUTBOX_PER_PAGE = 20  # Mastodon's outbox page size


def outbox_collection(outbox_url: str, total: int) -> dict[str, Any]:
    """The outbox `OrderedCollection`: its size and the first and last pages."""
    return {
        "@context": AS_CONTEXT,
        "id": outbox_url,
        "type": "OrderedCollection",
        "totalItems": total,
        "first": f"{outbox_url}?page=true",
        "last": f"{outbox_url}?page=true&min_id=0",
    }


def outbox_page(
    outbox_url: str, page_id: str, items: list[dict[str, Any]], cursors: tuple[int, int] | None
) -> dict[str, Any]:
    """One `OrderedCollectionPage` of Create and Announce activities, newest first.

    `cursors` is (newest id, oldest id) of the page; `next` appears only on a full page.
    """
    document: dict[str, Any] = {
        "@context": NOTE_CONTEXT,
        "id": page_id,
        "type": "OrderedCollectionPage",
        "partOf": outbox_url,
        "orderedItems": items,
    }
    if cursors is not None:
        newest, oldest = cursors
        if len(items) >= OUTBOX_PER_PAGE:
            document["next"] = f"{outbox_url}?page=true&max_id={oldest}"
        document["prev"] = f"{outbox_url}?page=true&min_id={newest}"
    return document


def featured_collection(featured_url: str, notes: Sequence[RowView]) -> dict[str, Any]:
    """The featured (pinned) statuses, embedded as Notes."""
    return {
        "@context": NOTE_CONTEXT,
        "id": featured_url,
        "type": "OrderedCollection",
        "totalItems": len(notes),
        "orderedItems": notes,
    }


def featured_tags_collection(
    config: Config, collection_id: str, tags: Sequence[RowView]
) -> dict[str, Any]:
    """The hashtags an account features on its profile (Mastodon's `featuredTags`)."""
    return {
        "@context": AS_CONTEXT,
        "id": collection_id,
        "type": "Collection",
        "totalItems": len(tags),
        "items": [
            {
                "type": "Hashtag",
                "href": f"{config.base_url}/tags/{t['name']}",
                "name": f"#{t['display_name'] or t['name']}",
            }
            for t in tags
        ],
    }


def as_question(note: dict[str, Any], poll: RowView, now_ms: int) -> dict[str, Any]:
    """A Note carrying a poll, as the `Question` Mastodon sends (options, tallies, end)."""
    options = [
        {"type": "Note", "name": title, "replies": {"type": "Collection", "totalItems": count}}
        for title, count in zip(poll["options"], poll["cached_tallies"], strict=False)
    ]
    question = {**note, "type": "Question"}
    question["anyOf" if poll["multiple"] else "oneOf"] = options
    if poll.get("voters_count") is not None:
        question["votersCount"] = int(poll["voters_count"])
    if poll.get("expires_at") is not None:
        end = (iso_ms(poll["expires_at"]) or "").replace(".000Z", "Z")
        question["endTime"] = end
        if poll["expires_at"] <= now_ms:
            question["closed"] = end
    return question


def vote_activity(
    actor_uri: str, vote_id: str, option: str, poll_author_uri: str, question_uri: str
) -> dict[str, Any]:
    """A vote in a remote poll: a Create of a Note named after the chosen option."""
    return {
        "@context": AS_CONTEXT,
        "id": f"{vote_id}/activity",
        "type": "Create",
        "actor": actor_uri,
        "to": [poll_author_uri],
        "object": {
            "id": vote_id,
            "type": "Note",
            "name": option,
            "attributedTo": actor_uri,
            "to": [poll_author_uri],
            "inReplyTo": question_uri,
        },
    }
