"""Collections as Mastodon shows them: the REST `Collection` and `CollectionItem`
entities, and the FEP-7aa9 ActivityPub vocabulary Mastodon federates them with
(FeaturedCollection, FeaturedItem, FeatureRequest, FeatureAuthorization and the
Add/Update/Remove activities)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..config import Config
from ..store import RowView
from .activitypub import AS_CONTEXT, AS_PUBLIC
from .time import iso_ms

_FEP = "https://w3id.org/fep/7aa9#"
#: The JSON-LD context Mastodon's collection documents carry.
COLLECTION_CONTEXT: list[Any] = [
    AS_CONTEXT,
    {
        "toot": "http://joinmastodon.org/ns#",
        "discoverable": "toot:discoverable",
        "sensitive": "as:sensitive",
        "Hashtag": "as:Hashtag",
        "FeaturedCollection": f"{_FEP}FeaturedCollection",
        "FeaturedItem": f"{_FEP}FeaturedItem",
        "FeatureRequest": f"{_FEP}FeatureRequest",
        "FeatureAuthorization": f"{_FEP}FeatureAuthorization",
        "topic": {"@id": f"{_FEP}topic", "@type": "@id"},
        "featuredObject": {"@id": f"{_FEP}featuredObject", "@type": "@id"},
        "featuredObjectType": {"@id": f"{_FEP}featuredObjectType", "@type": "@vocab"},
        "featureAuthorization": {"@id": f"{_FEP}featureAuthorization", "@type": "@id"},
        "interactingObject": {"@id": "https://gotosocial.org/ns#interactingObject", "@type": "@id"},
        "interactionTarget": {"@id": "https://gotosocial.org/ns#interactionTarget", "@type": "@id"},
    },
]


# REST -----------------------------------------------------------------------------------------


def item_entity(item: RowView) -> dict[str, Any]:
    """A `CollectionItem`: `account_id` only while pending or accepted (as Mastodon)."""
    entity: dict[str, Any] = {
        "id": str(item["id"]),
        "state": item["state"],
        "created_at": iso_ms(item["created_at"]),
    }
    if item["state"] in ("pending", "accepted") and item["account_id"] is not None:
        entity["account_id"] = str(item["account_id"])
    return entity


def collection_entity(
    config: Config,
    row: RowView,
    items: Sequence[RowView],
    tag: RowView | None,
    owner_uri: str,
) -> dict[str, Any]:
    """A `Collection`, with the items the viewer sees."""
    return {
        "id": str(row["id"]),
        "uri": collection_uri(owner_uri, row),
        "url": row["url"],
        "name": row["name"],
        "description": row["description"],
        "language": row["language"],
        "account_id": str(row["account_id"]),
        "local": bool(row["local"]),
        "sensitive": bool(row["sensitive"]),
        "discoverable": bool(row["discoverable"]),
        "item_count": len(items),
        "created_at": iso_ms(row["created_at"]),
        "updated_at": iso_ms(row["updated_at"]),
        "tag": None
        if tag is None
        else {"name": tag["display_name"], "url": f"{config.base_url}/tags/{tag['name']}"},
        "items": [item_entity(i) for i in items],
    }


# ActivityPub ----------------------------------------------------------------------------------


def collection_uri(owner_uri: str, row: RowView) -> str:
    """A collection's ActivityPub id: its own for a remote one, under its owner's here."""
    return str(row["uri"] or f"{owner_uri}/collections/{row['id']}")


def featured_collections_url(owner: RowView) -> str:
    """Where a local account lists its collections (Mastodon's `featuredCollections`)."""
    return f"{owner['uri']}/featured_collections"


def item_uri(owner: RowView, item_id: int) -> str:
    """A local collection's item."""
    return f"{owner['uri']}/collection_items/{item_id}"


def feature_authorization_uri(member: RowView, item_id: int) -> str:
    """The stamp a local featured account serves for its place in a collection."""
    return f"{member['uri']}/feature_authorizations/{item_id}"


def _featured_item(owner: RowView, item: RowView, member: RowView | None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": item["uri"] or item_uri(owner, item["id"]),
        "type": "FeaturedItem",
        "featuredObject": member["uri"] if member else None,
        "featuredObjectType": (member.get("actor_type") if member else None) or "Person",
    }
    if member is not None and member["domain"] is None:
        document["featureAuthorization"] = feature_authorization_uri(member, item["id"])
    elif item.get("approval_uri"):
        document["featureAuthorization"] = item["approval_uri"]
    return document


def featured_collection(
    config: Config,
    owner: RowView,
    row: RowView,
    items: Sequence[RowView],
    members: Mapping[int, RowView],
    tag: RowView | None,
) -> dict[str, Any]:
    """A collection as a FeaturedCollection with its accepted items (Mastodon's
    ActivityPub::FeaturedCollectionSerializer)."""
    document: dict[str, Any] = {
        "@context": COLLECTION_CONTEXT,
        "id": collection_uri(owner["uri"], row),
        "type": "FeaturedCollection",
        "totalItems": len(items),
        "name": row["name"],
        "attributedTo": owner["uri"],
        "url": row["url"] or collection_uri(owner["uri"], row),
        "sensitive": bool(row["sensitive"]),
        "discoverable": bool(row["discoverable"]),
        "published": iso_ms(row["created_at"]),
        "updated": iso_ms(row["updated_at"]),
        "orderedItems": [
            _featured_item(owner, i, members.get(i["account_id"] or 0)) for i in items
        ],
    }
    if row["language"]:
        document["summaryMap"] = {row["language"]: row["description"]}
    else:
        document["summary"] = row["description"]
    if tag is not None:
        document["topic"] = {
            "type": "Hashtag",
            "href": f"{config.base_url}/tags/{tag['name']}",
            "name": f"#{tag['display_name']}",
        }
    return document


def _embedded(document: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "@context"}


def featured_collections(
    config: Config, owner: RowView, documents: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """A local account's collections, embedded (its `featuredCollections`)."""
    return {
        "@context": COLLECTION_CONTEXT,
        "id": featured_collections_url(owner),
        "type": "OrderedCollection",
        "totalItems": len(documents),
        "orderedItems": [_embedded(d) for d in documents],
    }


def add_collection(config: Config, owner: RowView, document: Mapping[str, Any]) -> dict[str, Any]:
    """The Add of a new FeaturedCollection to the owner's featured collections."""
    return {
        "@context": COLLECTION_CONTEXT,
        "id": f"{document['id']}#add",
        "type": "Add",
        "actor": owner["uri"],
        "target": featured_collections_url(owner),
        "object": _embedded(document),
    }


def update_collection(owner: RowView, row: RowView, document: Mapping[str, Any]) -> dict[str, Any]:
    """The Update of a changed FeaturedCollection, to the public."""
    return {
        "@context": COLLECTION_CONTEXT,
        "id": f"{document['id']}#updates/{int(row['updated_at']) // 1000}",
        "type": "Update",
        "actor": owner["uri"],
        "to": [AS_PUBLIC],
        "object": _embedded(document),
    }


def remove_collection(config: Config, owner: RowView, row: RowView) -> dict[str, Any]:
    """The Remove of a deleted collection from the owner's featured collections."""
    uri = collection_uri(owner["uri"], row)
    return {
        "@context": COLLECTION_CONTEXT,
        "id": f"{uri}#remove",
        "type": "Remove",
        "actor": owner["uri"],
        "target": featured_collections_url(owner),
        "object": uri,
    }


def add_item(
    config: Config,
    owner: RowView,
    row: RowView,
    item_id: int,
    member: RowView,
    approval_uri: str | None = None,
) -> dict[str, Any]:
    """The Add of a FeaturedItem to a collection."""
    item = {"id": item_id, "uri": None, "account_id": member["id"], "approval_uri": approval_uri}
    return {
        "@context": COLLECTION_CONTEXT,
        "id": f"{item_uri(owner, item_id)}#add",
        "type": "Add",
        "actor": owner["uri"],
        "target": collection_uri(owner["uri"], row),
        "object": _featured_item(owner, item, member),
    }


def remove_item(owner: RowView, row: RowView, item_id: int) -> dict[str, Any]:
    """The Remove of a FeaturedItem from a collection."""
    return {
        "@context": COLLECTION_CONTEXT,
        "id": f"{item_uri(owner, item_id)}#remove",
        "type": "Remove",
        "actor": owner["uri"],
        "target": collection_uri(owner["uri"], row),
        "object": item_uri(owner, item_id),
    }


def feature_request(
    config: Config, owner: RowView, row: RowView, item_id: int, member: RowView
) -> dict[str, Any]:
    """Asking a remote account to approve its place (Mastodon's FeatureRequest)."""
    return {
        "@context": COLLECTION_CONTEXT,
        "id": f"{owner['uri']}/feature_requests/{item_id}",
        "type": "FeatureRequest",
        "actor": owner["uri"],
        "object": member["uri"],
        "instrument": collection_uri(owner["uri"], row),
    }


def feature_authorization(
    config: Config, owner: RowView, row: RowView, item_id: int, member: RowView
) -> dict[str, Any]:
    """A local account's stamp approving its place in a collection."""
    return {
        "@context": COLLECTION_CONTEXT,
        "id": feature_authorization_uri(member, item_id),
        "type": "FeatureAuthorization",
        "interactingObject": collection_uri(owner["uri"], row),
        "interactionTarget": member["uri"],
    }


def feature_answer(
    member: RowView, owner: RowView, request_id: str, item_id: int, *, accepted: bool
) -> dict[str, Any]:
    """A local account's answer to a FeatureRequest: an Accept naming its stamp, or a
    Reject."""
    kind = "Accept" if accepted else "Reject"
    answer: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": f"{member['uri']}#{kind.lower()}s/feature_requests/{item_id}",
        "type": kind,
        "actor": member["uri"],
        "to": owner["uri"],
        "object": request_id,
    }
    if accepted:
        answer["result"] = feature_authorization_uri(member, item_id)
    return answer
