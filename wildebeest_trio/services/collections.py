"""Collections (Mastodon 4.6): lists of accounts an account recommends following.

As Mastodon's Create/Update/Delete/AddAccountToCollection/DeleteCollectionItem/
RevokeCollectionItem services: a name of at most 40 characters, a description of at
most 100, at most 25 pending or accepted accounts, each featured at most once. A local
account is in at once (`accepted`); a remote one is `pending` and is sent a
FeatureRequest. Every change goes to the owner's followers as Mastodon distributes it: an
Add of the FeaturedCollection to the owner's featured collections, an Update of it, a
Remove of it, an Add or Remove of a FeaturedItem. The featured account may revoke its
place. Blocked accounts (either way) cannot be featured, and a blocked viewer sees none
of the owner's collections.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..federation.fetch import same_origin
from ..federation.sanitize import sanitize_html
from ..ids import now_ms
from ..runtime import Runtime
from ..serializers import collections as ap
from ..store import Connection, RowView, outbox
from ..store import accounts as account_rows
from ..store import activitypub as ap_rows
from ..store import collections as collection_rows
from ..store import follows as follow_rows
from ..store import inbox as inbox_rows
from ..store import tags as tag_rows
from ..store.rows import CollectionItemRow, CollectionRow
from .follows import AccountNotFound
from .tags import TAG_NAME_RE

MAX_ITEMS = 25
#: Mastodon's default role limit of collections per user.
MAX_COLLECTIONS = 10
NAME_LIMIT = 40
DESCRIPTION_LIMIT = 100
DEFAULT_LIMIT = 40
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


class CollectionNotFound(LookupError):
    """No such collection (or one the caller may not see): a 404."""


class CollectionItemNotFound(LookupError):
    """No such item in the collection: a 404."""


class CollectionForbidden(PermissionError):
    """The caller may not do this to the collection (not its owner...): a 403."""

    def __init__(self, message: str = "This action is not allowed") -> None:
        super().__init__(message)


class CollectionInvalid(ValueError):
    """Input Mastodon answers with 422 `Validation failed: ...`."""


@dataclass(frozen=True)
class CollectionFields:
    """What a collection says about itself, as the caller gave it (None: unchanged)."""

    name: str | None = None
    description: str | None = None
    language: str | None = None
    sensitive: bool | None = None
    discoverable: bool | None = None
    tag_name: str | None = None


@dataclass
class CollectionView:
    """A collection with the items the viewer sees and its tag row."""

    row: CollectionRow
    items: list[CollectionItemRow]
    tag: RowView | None = None
    #: The owner's ActivityPub id (a local collection's id is under it).
    owner_uri: str = ""
    #: The accounts of the owner and of the items shown (for CollectionWithAccounts).
    account_ids: list[int] = field(default_factory=list)


def _validate(fields: CollectionFields, *, creating: bool) -> None:
    if creating and not (fields.name or "").strip():
        raise CollectionInvalid("Validation failed: Name can't be blank")
    if fields.name is not None:
        if not fields.name.strip():
            raise CollectionInvalid("Validation failed: Name can't be blank")
        if len(fields.name) > NAME_LIMIT:
            raise CollectionInvalid(
                f"Validation failed: Name is too long (maximum is {NAME_LIMIT} characters)"
            )
    if fields.description is not None and len(fields.description) > DESCRIPTION_LIMIT:
        raise CollectionInvalid(
            "Validation failed: Description is too long "
            f"(maximum is {DESCRIPTION_LIMIT} characters)"
        )
    if fields.language and not _LANGUAGE.match(fields.language):
        raise CollectionInvalid("Validation failed: Language is not a valid language code")
    if fields.tag_name:
        clean = fields.tag_name.strip().lstrip("#")
        if not TAG_NAME_RE.match(clean) or len(clean) > 200:
            raise CollectionInvalid("Validation failed: Tag name is not a valid hashtag")


async def _tag_id(conn: Connection, rt: Runtime, name: str | None) -> int | None:
    if not name:
        return None
    tag = await tag_rows.ensure_tag(conn, rt.ids.next_id(), name.strip().lstrip("#"), now_ms())
    return int(tag["id"])


async def _may_feature(conn: Connection, owner_id: int, target: RowView | None) -> RowView:
    """The account to feature, if the owner may (Mastodon's AccountPolicy#feature?): it
    exists, is not suspended, and neither blocks the other. A local account approves as
    its actor's `canFeature` says: anyone when discoverable, only followers when locked,
    nobody when it is not discoverable."""
    if target is None or target["suspended_at"] is not None:
        raise AccountNotFound()
    refused = CollectionForbidden("This account cannot be added to collections")
    if await ap_rows.is_blocked_by(conn, owner_id, target["id"]) or await ap_rows.is_blocked_by(
        conn, target["id"], owner_id
    ):
        raise refused
    if target["domain"] is None and target["id"] != owner_id:
        if not target["discoverable"]:
            raise refused
        if target["locked"] and not await follow_rows.is_follower(conn, owner_id, target["id"]):
            raise refused
    return target


async def _view(conn: Connection, row: CollectionRow, viewer_id: int | None) -> CollectionView:
    states = collection_rows.LIVE_STATES if viewer_id == row["account_id"] else ("accepted",)
    items = await collection_rows.items_of(conn, [row["id"]], states)
    if viewer_id is not None:
        # Mastodon's `not_blocked_by`: the viewer does not see accounts it blocks.
        items = [
            i
            for i in items
            if i["account_id"] is None
            or not await ap_rows.is_blocked_by(conn, i["account_id"], viewer_id)
        ]
    tag = await collection_rows.tag_of(conn, row["tag_id"]) if row["tag_id"] else None
    account_ids = [row["account_id"]] + [i["account_id"] for i in items if i["account_id"]]
    owner = await account_rows.account_by_id(conn, row["account_id"])
    return CollectionView(row, items, tag, owner["uri"] if owner else "", account_ids)


async def _owned(conn: Connection, collection_id: int, account_id: int) -> CollectionRow:
    row = await collection_rows.by_id(conn, collection_id)
    if row is None:
        raise CollectionNotFound()
    if row["account_id"] != account_id or not row["local"]:
        raise CollectionForbidden()
    return row


async def _document(
    conn: Connection, rt: Runtime, row: CollectionRow, owner: RowView
) -> dict[str, Any]:
    """The FeaturedCollection as served and distributed: accepted items only."""
    items = await collection_rows.items_of(conn, [row["id"]], ("accepted",))
    members = {
        a["id"]: a
        for a in await follow_rows.accounts_by_ids(
            conn, [i["account_id"] for i in items if i["account_id"]]
        )
    }
    tag = await collection_rows.tag_of(conn, row["tag_id"]) if row["tag_id"] else None
    return ap.featured_collection(rt.config, owner, row, items, members, tag)


async def _distribute(
    conn: Connection, rt: Runtime, owner_id: int, kind: str, activity: dict[str, Any]
) -> None:
    """Send an activity to the owner's followers (Mastodon's AccountRawDistributionWorker)."""
    await outbox.record(conn, rt.ids, kind, owner_id, None, {"activity": activity})


async def _request_feature(
    conn: Connection, rt: Runtime, owner: RowView, row: CollectionRow, item_id: int, member: RowView
) -> None:
    """Ask a remote account to approve its place (a FeatureRequest to its inbox)."""
    activity = ap.feature_request(rt.config, owner, row, item_id, member)
    await outbox.record(
        conn,
        rt.ids,
        "collection.feature_requested",
        owner["id"],
        None,
        {"activity": activity, "to_account_id": member["id"]},
    )


async def create(
    rt: Runtime, owner_id: int, fields: CollectionFields, account_ids: list[int]
) -> CollectionView:
    """`POST /api/v1/collections`: a new collection with its first accounts."""
    _validate(fields, creating=True)
    wanted = list(dict.fromkeys(account_ids))
    if len(wanted) > MAX_ITEMS:
        raise CollectionInvalid(
            f"Validation failed: Collection items are too many (maximum is {MAX_ITEMS})"
        )

    async def unit(conn: Connection) -> CollectionView:
        owner = await account_rows.account_by_id(conn, owner_id)
        assert owner is not None
        if await collection_rows.count_of(conn, owner_id) >= MAX_COLLECTIONS:
            raise CollectionInvalid(
                f"Validation failed: You cannot have more than {MAX_COLLECTIONS} collections"
            )
        found = {a["id"]: a for a in await follow_rows.accounts_by_ids(conn, wanted)}
        members = [await _may_feature(conn, owner_id, found.get(i)) for i in wanted]
        now = now_ms()
        collection_id = rt.ids.next_id()
        await collection_rows.insert(
            conn,
            collection_id=collection_id,
            account_id=owner_id,
            name=(fields.name or "").strip(),
            description=fields.description or "",
            language=fields.language or None,
            sensitive=bool(fields.sensitive),
            discoverable=True if fields.discoverable is None else fields.discoverable,
            tag_id=await _tag_id(conn, rt, fields.tag_name),
            now=now,
        )
        row = await collection_rows.by_id(conn, collection_id)
        assert row is not None
        requests = []
        for member in members:
            item_id = rt.ids.next_id()
            state = "accepted" if member["domain"] is None else "pending"
            await collection_rows.insert_item(
                conn, item_id, collection_id, member["id"], state, now
            )
            if state == "pending":
                requests.append((item_id, member))
        document = await _document(conn, rt, row, owner)
        await _distribute(
            conn, rt, owner_id, "collection.added", ap.add_collection(rt.config, owner, document)
        )
        for item_id, member in requests:
            await _request_feature(conn, rt, owner, row, item_id, member)
        return await _view(conn, row, owner_id)

    return await rt.store.write(unit)


async def update(
    rt: Runtime, owner_id: int, collection_id: int, fields: CollectionFields
) -> CollectionView:
    """`PATCH /api/v1/collections/:id`: change what the caller's collection says."""
    _validate(fields, creating=False)

    async def unit(conn: Connection) -> CollectionView:
        row = await _owned(conn, collection_id, owner_id)
        owner = await account_rows.account_by_id(conn, owner_id)
        assert owner is not None
        tag_id = row["tag_id"]
        if fields.tag_name is not None:
            tag_id = await _tag_id(conn, rt, fields.tag_name)
        await collection_rows.update(
            conn,
            collection_id,
            name=row["name"] if fields.name is None else fields.name.strip(),
            description=row["description"] if fields.description is None else fields.description,
            language=row["language"] if fields.language is None else (fields.language or None),
            sensitive=bool(row["sensitive"] if fields.sensitive is None else fields.sensitive),
            discoverable=bool(
                row["discoverable"] if fields.discoverable is None else fields.discoverable
            ),
            tag_id=tag_id,
            now=max(now_ms(), row["updated_at"] + 1),
        )
        fresh = await collection_rows.by_id(conn, collection_id)
        assert fresh is not None
        document = await _document(conn, rt, fresh, owner)
        await _distribute(
            conn, rt, owner_id, "collection.updated", ap.update_collection(owner, fresh, document)
        )
        return await _view(conn, fresh, owner_id)

    return await rt.store.write(unit)


async def delete(rt: Runtime, owner_id: int, collection_id: int) -> None:
    """`DELETE /api/v1/collections/:id`."""

    async def unit(conn: Connection) -> None:
        row = await _owned(conn, collection_id, owner_id)
        owner = await account_rows.account_by_id(conn, owner_id)
        assert owner is not None
        await collection_rows.delete(conn, collection_id)
        await _distribute(
            conn, rt, owner_id, "collection.removed", ap.remove_collection(rt.config, owner, row)
        )

    await rt.store.write(unit)


async def add_item(
    rt: Runtime, owner_id: int, collection_id: int, account_id: int
) -> CollectionItemRow:
    """`POST /api/v1/collections/:id/items`: feature one more account."""

    async def unit(conn: Connection) -> CollectionItemRow:
        row = await _owned(conn, collection_id, owner_id)
        owner = await account_rows.account_by_id(conn, owner_id)
        assert owner is not None
        member = await _may_feature(
            conn, owner_id, await account_rows.account_by_id(conn, account_id)
        )
        if await collection_rows.item_of_account(conn, collection_id, account_id) is not None:
            raise CollectionInvalid("Validation failed: Account has already been taken")
        if await collection_rows.count_live_items(conn, collection_id) >= MAX_ITEMS:
            raise CollectionInvalid(
                f"Validation failed: Collection items are too many (maximum is {MAX_ITEMS})"
            )
        now = now_ms()
        item_id = rt.ids.next_id()
        state = "accepted" if member["domain"] is None else "pending"
        await collection_rows.insert_item(conn, item_id, collection_id, account_id, state, now)
        await collection_rows.touch(conn, collection_id, now)
        if state == "accepted":
            activity = ap.add_item(rt.config, owner, row, item_id, member)
            await _distribute(conn, rt, owner_id, "collection.item_added", activity)
        else:
            await _request_feature(conn, rt, owner, row, item_id, member)
        found = await collection_rows.item(conn, collection_id, item_id)
        assert found is not None
        return found

    return await rt.store.write(unit)


async def remove_item(rt: Runtime, owner_id: int, collection_id: int, item_id: int) -> None:
    """`DELETE /api/v1/collections/:id/items/:item_id`: the owner takes an account out."""

    async def unit(conn: Connection) -> None:
        row = await _owned(conn, collection_id, owner_id)
        item = await collection_rows.item(conn, collection_id, item_id)
        if item is None:
            raise CollectionItemNotFound()
        owner = await account_rows.account_by_id(conn, owner_id)
        assert owner is not None
        await collection_rows.delete_item(conn, item_id)
        await collection_rows.touch(conn, collection_id, now_ms())
        activity = ap.remove_item(owner, row, item_id)
        await _distribute(conn, rt, owner_id, "collection.item_removed", activity)

    await rt.store.write(unit)


async def revoke_item(rt: Runtime, account_id: int, collection_id: int, item_id: int) -> None:
    """`POST /api/v1/collections/:id/items/:item_id/revoke`: the featured account takes
    its place back (Mastodon's CollectionItemPolicy#revoke?: only the featured account)."""

    async def unit(conn: Connection) -> None:
        row = await collection_rows.by_id(conn, collection_id)
        if row is None:
            raise CollectionNotFound()
        item = await collection_rows.item(conn, collection_id, item_id)
        if item is None:
            raise CollectionItemNotFound()
        if item["account_id"] != account_id or item["state"] not in collection_rows.LIVE_STATES:
            raise CollectionForbidden()
        now = now_ms()
        await collection_rows.set_item_state(conn, item_id, "revoked", now)
        await collection_rows.touch(conn, collection_id, now)
        if row["local"]:
            owner = await account_rows.account_by_id(conn, row["account_id"])
            assert owner is not None
            activity = ap.remove_item(owner, row, item_id)
            await _distribute(conn, rt, owner["id"], "collection.item_removed", activity)

    await rt.store.write(unit)


async def _existing_account(conn: Connection, owner_id: int) -> RowView:
    """An account that exists and is not suspended (else the 404 Mastodon answers)."""
    owner = await account_rows.account_by_id(conn, owner_id)
    if owner is None or owner["suspended_at"] is not None:
        raise AccountNotFound()
    return owner


async def show(rt: Runtime, collection_id: int, viewer_id: int | None) -> CollectionView:
    """`GET /api/v1/collections/:id`: refused (404) to a viewer the owner blocks."""

    async def unit(conn: Connection) -> CollectionView:
        row = await collection_rows.by_id(conn, collection_id)
        if row is None:
            raise CollectionNotFound()
        owner = await account_rows.account_by_id(conn, row["account_id"])
        if owner is None or owner["suspended_at"] is not None:
            raise CollectionNotFound()
        if viewer_id is not None and await ap_rows.is_blocked_by(conn, viewer_id, owner["id"]):
            raise CollectionNotFound()
        return await _view(conn, row, viewer_id)

    return await rt.store.read(unit)


async def of_account(
    rt: Runtime, account_id: int, viewer_id: int | None, *, limit: int, offset: int
) -> list[CollectionView]:
    """`GET /api/v1/accounts/:id/collections`: the discoverable ones (all, to the owner);
    none to a viewer the account blocks (Mastodon answers an empty list)."""

    async def unit(conn: Connection) -> list[CollectionView]:
        await _existing_account(conn, account_id)
        if viewer_id is not None and await ap_rows.is_blocked_by(conn, viewer_id, account_id):
            return []
        rows = await collection_rows.of_account(
            conn,
            account_id,
            discoverable_only=viewer_id != account_id,
            limit=limit,
            offset=offset,
        )
        return [await _view(conn, r, viewer_id) for r in rows]

    return await rt.store.read(unit)


async def featuring(
    rt: Runtime, account_id: int, viewer_id: int | None, *, limit: int, offset: int
) -> list[CollectionView]:
    """`GET /api/v1/accounts/:id/in_collections`: the collections that feature an account."""

    async def unit(conn: Connection) -> list[CollectionView]:
        await _existing_account(conn, account_id)
        rows = await collection_rows.featuring(
            conn, account_id, viewer_id, limit=limit, offset=offset
        )
        views = []
        for row in rows:
            if viewer_id is not None and await ap_rows.is_blocked_by(
                conn, viewer_id, row["account_id"]
            ):
                continue
            views.append(await _view(conn, row, viewer_id))
        return views

    return await rt.store.read(unit)


# Documents served at the URLs of local collections --------------------------------------------


async def collection_document(
    rt: Runtime, username: str, collection_id: int
) -> dict[str, Any] | None:
    """A local discoverable collection as a FeaturedCollection, or None."""

    async def unit(conn: Connection) -> dict[str, Any] | None:
        owner = await account_rows.local_account_by_username(conn, username)
        row = await collection_rows.by_id(conn, collection_id)
        if owner is None or row is None or row["account_id"] != owner["id"]:
            return None
        if owner["suspended_at"] is not None:
            return None
        return await _document(conn, rt, row, owner)

    return await rt.store.read(unit)


async def featured_collections_document(rt: Runtime, username: str) -> dict[str, Any] | None:
    """A local account's discoverable collections (its `featuredCollections`)."""

    async def unit(conn: Connection) -> dict[str, Any] | None:
        owner = await account_rows.local_account_by_username(conn, username)
        if owner is None or owner["suspended_at"] is not None:
            return None
        rows = await collection_rows.local_of_account(conn, owner["id"], MAX_COLLECTIONS)
        documents = [await _document(conn, rt, r, owner) for r in rows]
        return ap.featured_collections(rt.config, owner, documents)

    return await rt.store.read(unit)


async def feature_authorization_document(
    rt: Runtime, username: str, item_id: int
) -> dict[str, Any] | None:
    """The stamp that says a local account is featured in a collection (accepted items)."""

    async def unit(conn: Connection) -> dict[str, Any] | None:
        member = await account_rows.local_account_by_username(conn, username)
        if member is None:
            return None
        found = await collection_rows.accepted_item_of(conn, item_id, member["id"])
        if found is None:
            return None
        row = await collection_rows.by_id(conn, found["collection_id"])
        owner = await account_rows.account_by_id(conn, row["account_id"]) if row else None
        if row is None or owner is None:
            return None
        return ap.feature_authorization(rt.config, owner, row, item_id, member)

    return await rt.store.read(unit)


# What other servers tell us ----------------------------------------------------------------------

#: What a remote collection's name and description are cut to (Mastodon's hard limits).
REMOTE_NAME_LIMIT = 256
REMOTE_DESCRIPTION_LIMIT = 2048


def request_item_id(owner_uri_prefix: str, request_uri: str) -> int | None:
    """The item a FeatureRequest of ours was about, from its id (`.../feature_requests/ID`)."""
    head, _, tail = request_uri.rpartition("/feature_requests/")
    if not head or not head.startswith(owner_uri_prefix) or not tail.isdigit():
        return None
    return int(tail)


async def feature_answered(
    rt: Runtime, actor: RowView, request_uri: str, accepted: bool, result: str | None
) -> bool:
    """A remote account answered a FeatureRequest of ours: its item is accepted (and its
    Add goes to the owner's followers, naming the stamp) or rejected; whether it was one."""
    item_id = request_item_id(rt.config.base_url, request_uri)
    if item_id is None:
        return False

    async def unit(conn: Connection) -> bool:
        state = "accepted" if accepted else "rejected"
        item = await collection_rows.answer_request(
            conn, item_id, actor["id"], state, result if accepted else None, now_ms()
        )
        if item is None:
            return False
        row = await collection_rows.by_id(conn, item["collection_id"])
        if row is None or not accepted:
            return True
        owner = await account_rows.account_by_id(conn, row["account_id"])
        if (
            owner is None
            or request_uri != ap.feature_request(rt.config, owner, row, item_id, actor)["id"]
        ):
            return True
        await collection_rows.touch(conn, row["id"], now_ms())
        activity = ap.add_item(rt.config, owner, row, item_id, actor, item["approval_uri"])
        await _distribute(conn, rt, owner["id"], "collection.item_added", activity)
        return True

    return bool(await rt.store.write(unit))


def _text(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    cleaned = re.sub(r"<[^>]*>", " ", sanitize_html(value))
    return " ".join(html_lib.unescape(cleaned).split())[:limit]


def _timestamp(value: Any, fallback: int) -> int:
    try:
        return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return fallback


async def store_remote(rt: Runtime, actor: RowView, document: dict[str, Any]) -> bool:
    """A remote account's FeaturedCollection (from its Add or Update): kept as its server
    describes it, with the accounts known here that it features (at most 25; local
    accounts only through a FeatureRequest they approved, which is not taken in yet);
    whether it was taken."""
    uri = document.get("id")
    if (
        not isinstance(uri, str)
        or document.get("type") != "FeaturedCollection"
        or document.get("attributedTo") != actor["uri"]
        or not same_origin(uri, actor["uri"])
    ):
        return False
    summary = document.get("summary")
    language = None
    summary_map = document.get("summaryMap")
    if isinstance(summary_map, dict) and summary_map:
        language, summary = next(iter(summary_map.items()))
    language = language if isinstance(language, str) and _LANGUAGE.match(language) else None
    name = _text(document.get("name"), REMOTE_NAME_LIMIT) or "(untitled)"
    url = document.get("url") if isinstance(document.get("url"), str) else None
    topic = document.get("topic")
    tag_name = None
    if isinstance(topic, dict) and isinstance(topic.get("name"), str):
        candidate = topic["name"].lstrip("#")
        tag_name = candidate if TAG_NAME_RE.match(candidate) and len(candidate) <= 200 else None
    entries = [e for e in document.get("orderedItems") or [] if isinstance(e, dict)][:MAX_ITEMS]

    async def unit(conn: Connection) -> bool:
        now = now_ms()
        collection_id = await collection_rows.put_remote(
            conn,
            collection_id=rt.ids.next_id(),
            account_id=actor["id"],
            uri=uri,
            url=url,
            name=name,
            description=_text(summary, REMOTE_DESCRIPTION_LIMIT),
            language=language,
            sensitive=document.get("sensitive") is True,
            discoverable=document.get("discoverable") is not False,
            tag_id=await _tag_id(conn, rt, tag_name),
            created_at=_timestamp(document.get("published"), now),
            now=now,
        )
        known = {
            a["uri"]: a
            for a in await inbox_rows.accounts_by_uris(
                conn, [str(e.get("featuredObject")) for e in entries if e.get("featuredObject")]
            )
        }
        items: list[tuple[int, int, str]] = []
        for entry in entries:
            member = known.get(str(entry.get("featuredObject")))
            item_uri = entry.get("id")
            if member is None or member["domain"] is None or not isinstance(item_uri, str):
                continue
            if member["suspended_at"] is None and all(i[1] != member["id"] for i in items):
                items.append((rt.ids.next_id(), member["id"], item_uri))
        await collection_rows.replace_remote_items(conn, collection_id, items, now)
        return True

    return bool(await rt.store.write(unit))


async def remove_remote(rt: Runtime, actor: RowView, uri: str) -> bool:
    """A remote account removed one of its collections; whether it was here."""
    return bool(await rt.store.write(collection_rows.delete_remote, uri, actor["id"]))


async def _remote_of(conn: Connection, actor: RowView, uri: str | None) -> CollectionRow | None:
    """One of the actor's collections kept here, by its id."""
    row = await collection_rows.by_uri(conn, uri) if uri else None
    return row if row is not None and row["account_id"] == actor["id"] else None


async def remote_item_added(
    rt: Runtime, actor: RowView, collection_uri: str | None, entry: dict[str, Any]
) -> bool:
    """A remote account added a FeaturedItem to one of its collections kept here (a remote
    account known here; at most 25); whether it was one of those."""
    item_uri, member_uri = entry.get("id"), entry.get("featuredObject")

    async def unit(conn: Connection) -> bool:
        row = await _remote_of(conn, actor, collection_uri)
        if row is None:
            return False
        if not isinstance(item_uri, str) or not isinstance(member_uri, str):
            return True
        found = await inbox_rows.accounts_by_uris(conn, [member_uri])
        member = found[0] if found else None
        if member is None or member["domain"] is None or member["suspended_at"] is not None:
            return True
        if await collection_rows.count_live_items(conn, row["id"]) >= MAX_ITEMS:
            return True
        now = now_ms()
        if await collection_rows.add_remote_item(
            conn, rt.ids.next_id(), row["id"], member["id"], item_uri, now
        ):
            await collection_rows.touch(conn, row["id"], now)
        return True

    return bool(await rt.store.write(unit))


async def remote_item_removed(
    rt: Runtime, actor: RowView, collection_uri: str | None, item_uri: str
) -> bool:
    """A remote account took an item out of one of its collections kept here; whether the
    target was one of those."""

    async def unit(conn: Connection) -> bool:
        row = await _remote_of(conn, actor, collection_uri)
        if row is None:
            return False
        if await collection_rows.delete_item_by_uri(conn, row["id"], item_uri):
            await collection_rows.touch(conn, row["id"], now_ms())
        return True

    return bool(await rt.store.write(unit))


async def feature_requested(
    rt: Runtime, actor: RowView, request_id: str, member_uri: str, collection_uri: str
) -> bool:
    """A remote account asks to feature a local one in one of its collections kept here
    (Mastodon's FeatureRequest): approved as the local account's `canFeature` says (the
    Accept names its stamp) or refused with a Reject; whether it was for a local account."""

    async def unit(conn: Connection) -> bool:
        found = await inbox_rows.accounts_by_uris(conn, [member_uri])
        member = found[0] if found else None
        if member is None or member["domain"] is not None:
            return False
        row = await _remote_of(conn, actor, collection_uri)
        approved = row is not None
        if row is not None:
            try:
                await _may_feature(conn, actor["id"], member)
            except (CollectionForbidden, AccountNotFound):
                approved = False
        if approved and row is not None:
            item = await collection_rows.item_of_account(conn, row["id"], member["id"])
            if item is None:
                item_id = rt.ids.next_id()
                await collection_rows.insert_item(
                    conn, item_id, row["id"], member["id"], "accepted", now_ms()
                )
            else:
                item_id = item["id"]
                if item["state"] != "accepted":
                    await collection_rows.set_item_state(conn, item_id, "accepted", now_ms())
            answer = ap.feature_answer(member, actor, request_id, item_id, accepted=True)
        else:
            answer = ap.feature_answer(member, actor, request_id, rt.ids.next_id(), accepted=False)
        await outbox.record(
            conn,
            rt.ids,
            "collection.feature_answered",
            member["id"],
            None,
            {"activity": answer, "to_account_id": actor["id"]},
        )
        return True

    return bool(await rt.store.write(unit))
