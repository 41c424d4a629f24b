"""Turning outbox events into activities, and choosing the inboxes that receive them.

Each event becomes zero or more `Outgoing` activities, addressed as Mastodon addresses
them: followers' shared inboxes first (a personal inbox where none is published),
mentioned and replied-to accounts, the target of a Follow, Like or Block. Local
recipients need no delivery, and domains an admin suspended receive nothing.
Everything here runs inside the consumer's unit of work and awaits only the connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..config import Config
from ..ids import now_ms
from ..serializers import activitypub as ap
from ..store import Connection, RowView
from ..store import accounts as account_rows
from ..store import activitypub as ap_rows
from ..store import follows as follow_rows
from ..store import media as media_rows
from ..store import outbox as outbox_rows
from ..store import polls as poll_rows
from ..store import quotes as quote_rows
from ..store import relays as relay_rows
from ..store import reports as report_rows
from ..store.domain_blocks import is_suspended
from ..store.rows import AccountRow
from ..urls import quote_authorization_uri

DISTRIBUTABLE = ("public", "unlisted")


@dataclass
class Outgoing:
    """One activity to deliver, signed by `key_id`, to each of `inboxes`."""

    key_id: str
    activity: dict[str, Any]
    inboxes: list[str]
    #: Whether it carries an RsaSignature2017 LD signature (public posts, every Delete).
    ld_sign: bool = False
    #: LD-signed even in authorized-fetch mode (Mastodon's `always_sign`).
    always_sign: bool = False


@dataclass
class Recipients:
    """Inboxes gathered for one activity, deduplicated, suspended domains left out."""

    inboxes: dict[str, None] = field(default_factory=dict)

    def add(self, inbox: str | None) -> None:
        if inbox:
            self.inboxes[inbox] = None

    def add_account(self, row: RowView | None, *, personal: bool = False) -> None:
        """A remote account's inbox: shared unless `personal` (Mastodon's choice per kind)."""
        if row is None or row["domain"] is None or row.get("suspended_at") is not None:
            return
        if personal:
            self.add(row["inbox_url"])
        else:
            self.add(row["shared_inbox_url"] or row["inbox_url"])


async def _allowed(conn: Connection, inboxes: list[str], cache: dict[str, bool]) -> list[str]:
    kept = []
    for inbox in inboxes:
        host = urlsplit(inbox).netloc.lower()
        if host not in cache:
            cache[host] = not await is_suspended(conn, host)
        if cache[host]:
            kept.append(inbox)
    return kept


async def note_for(
    conn: Connection, config: Config, status: RowView, author: RowView
) -> dict[str, Any]:
    """A local status as the Note served and sent for it."""
    mentions = await ap_rows.mentioned_accounts(conn, status["id"])
    tags = await ap_rows.tags_of(conn, status["id"])
    media = await media_rows.of_statuses(conn, [status["id"]])
    parent_uri = None
    if status["in_reply_to_id"] is not None:
        parent = await ap_rows.status_row(conn, status["in_reply_to_id"])
        parent_uri = parent["uri"] if parent else None
    note = ap.note_document(
        config,
        status,
        author,
        mentions=mentions,
        tags=tags,
        in_reply_to_uri=parent_uri,
        media=media,
        quote=await _quote_of(conn, config, status["id"]),
        interaction_policy=ap.interaction_policy(
            int(status.get("quote_approval_policy") or 0), author
        ),
        replies=await replies_of(conn, status)
        if status["visibility"] in ("public", "unlisted")
        else None,
    )
    poll = await poll_rows.poll_of_status(conn, status["id"])
    if poll is not None:
        return ap.as_question(note, poll, now_ms())
    return note


async def replies_page(conn: Connection, status: RowView, after_id: int) -> dict[str, Any]:
    """A page of a local status's replies collection: the public and unlisted replies
    after `after_id`, oldest first."""
    items = await ap_rows.public_replies(conn, status["id"], after_id, ap.REPLIES_PER_PAGE + 1)
    return ap.replies_page(status["uri"], items, after_id)


async def replies_of(conn: Connection, status: RowView) -> dict[str, Any]:
    """A local status's `replies` collection, its first page inline."""
    return ap.replies_collection(status["uri"], await replies_page(conn, status, 0))


async def _quote_of(
    conn: Connection, config: Config, status_id: int
) -> tuple[str, str | None] | None:
    """The post a local status quotes and, once approved, the stamp saying so: this
    server's own for a local quoted post, the quoted server's otherwise."""
    quote = await quote_rows.of_status(conn, status_id)
    if quote is None or not quote["quoted_uri"]:
        return None
    if quote["state"] != "accepted":
        return quote["quoted_uri"], None
    if quote["approval_uri"]:
        return quote["quoted_uri"], quote["approval_uri"]
    quoted_author = await _account(conn, quote["quoted_account_id"])
    if quoted_author is None or quoted_author["domain"] is not None:
        return quote["quoted_uri"], None
    return quote["quoted_uri"], quote_authorization_uri(
        config, quoted_author["username"], quote["id"]
    )


async def status_recipients(
    conn: Connection, status: RowView, author: RowView, *, deleting: bool = False
) -> Recipients:
    """Who receives a status's Create, Update or Delete (Mastodon's StatusReachFinder)."""
    recipients = Recipients()
    visibility = status["visibility"]
    if visibility != "direct":
        for inbox_row in await ap_rows.follower_inboxes(conn, author["id"]):
            recipients.add(inbox_row["inbox"])
    for row in await ap_rows.mentioned_accounts(conn, status["id"]):
        recipients.add_account(row)
    extra: list[int] = []
    quote = await quote_rows.of_status(conn, status["id"])
    if quote is not None and quote["quoted_account_id"] is not None:
        extra.append(quote["quoted_account_id"])  # the quoted author, as Mastodon reaches
    if visibility in DISTRIBUTABLE:
        if status["in_reply_to_account_id"] is not None:
            extra.append(status["in_reply_to_account_id"])
        if deleting:
            # Those holding a copy through a boost, favourite or reply hear of the Delete.
            extra.extend(await ap_rows.interacting_accounts(conn, status["id"]))
    for row in await ap_rows.accounts_for_delivery(conn, extra):
        recipients.add_account(row)
    if visibility == "public":
        # Mastodon's StatusReachFinder: public statuses go to the accepted relays too.
        for inbox in await relay_rows.accepted_inboxes(conn):
            recipients.add(inbox)
    return recipients


async def _followers(conn: Connection, account_id: int) -> Recipients:
    recipients = Recipients()
    for row in await ap_rows.follower_inboxes(conn, account_id):
        recipients.add(row["inbox"])
    return recipients


async def _account(conn: Connection, account_id: int | None) -> AccountRow | None:
    if account_id is None:
        return None
    return await account_rows.account_by_id(conn, account_id)


async def plan(conn: Connection, config: Config, event: RowView) -> list[Outgoing]:
    """The activities one outbox event sends (none when only local accounts are involved)."""
    actor = await _account(conn, event["account_id"])
    if actor is None or actor["domain"] is not None:
        return []
    payload: dict[str, Any] = json.loads(event["payload"] or "{}")
    kind = event["event"]
    builder = _BUILDERS.get(kind)
    if builder is None:
        return []
    built = await builder(conn, config, actor, event, payload)
    if built is None:
        return []
    # Each activity is signed by its own actor: the Update of a local poll after someone
    # else's vote is the poll author's, not the voter's.
    return [
        Outgoing(f"{a.get('actor') or actor['uri']}#main-key", a, list(r.inboxes), ld, al)
        for a, r, ld, al in (built if isinstance(built, list) else [built])
    ]


One = tuple[dict[str, Any], Recipients, bool, bool]
Built = One | list[One] | None


def _to_inbox_of(activity: dict[str, Any], account: RowView) -> One:
    """An unsigned activity for one remote account's own inbox."""
    recipients = Recipients()
    recipients.add_account(account, personal=True)
    return activity, recipients, False, False


async def _status_created(
    conn: Connection, config: Config, actor: RowView, event: RowView, payload: dict[str, Any]
) -> Built:
    status = await ap_rows.status_row(conn, event["object_id"])
    if status is None or status["deleted_at"] is not None or status["reblog_of_id"] is not None:
        return None  # deleted before it went out: its Delete follows
    note = await note_for(conn, config, status, actor)
    recipients = await status_recipients(conn, status, actor)
    signed = status["visibility"] in DISTRIBUTABLE
    return ap.create_activity(note), recipients, signed, False


async def _status_updated(
    conn: Connection, config: Config, actor: RowView, event: RowView, payload: dict[str, Any]
) -> Built:
    status = await ap_rows.status_row(conn, event["object_id"])
    if status is None or status["deleted_at"] is not None:
        return None
    note = await note_for(conn, config, status, actor)
    recipients = await status_recipients(conn, status, actor)
    edited = status["edited_at"] or status["updated_at"]
    signed = status["visibility"] in DISTRIBUTABLE
    return ap.update_note_activity(note, edited), recipients, signed, False


async def _status_deleted(
    conn: Connection, config: Config, actor: RowView, event: RowView, payload: dict[str, Any]
) -> Built:
    status = await ap_rows.status_row(conn, event["object_id"])
    uri = payload.get("uri") or (status["uri"] if status else None)
    if not uri:
        return None
    if status is not None:
        recipients = await status_recipients(conn, status, actor, deleting=True)
    else:
        recipients = await _followers(conn, actor["id"])
    activity = ap.delete_activity(actor["uri"], uri)
    return activity, recipients, True, True


async def _reblog(
    conn: Connection, config: Config, actor: RowView, event: RowView, payload: dict[str, Any]
) -> Built:
    boost = await ap_rows.status_row(conn, event["object_id"])
    inner_id = payload.get("reblog_of_id") or (boost["reblog_of_id"] if boost else None)
    inner = await ap_rows.status_row(conn, inner_id) if inner_id is not None else None
    if boost is None or inner is None:
        return None
    inner_author = await _account(conn, inner["account_id"])
    if inner_author is None:
        return None
    announce = ap.announce_activity(boost, actor, inner["uri"], inner_author["uri"])
    recipients = Recipients()
    if boost["visibility"] != "direct":
        recipients = await _followers(conn, actor["id"])
    recipients.add_account(inner_author)
    if event["event"] == "reblog.created":
        if boost["deleted_at"] is not None:
            return None
        return announce, recipients, boost["visibility"] in DISTRIBUTABLE, False
    undo = ap.undo_activity(actor["uri"], f"{actor['uri']}#announces/{boost['id']}/undo", announce)
    return undo, recipients, True, True


async def _favourite(
    conn: Connection, config: Config, actor: RowView, event: RowView, payload: dict[str, Any]
) -> Built:
    status = await ap_rows.status_row(conn, event["object_id"])
    if status is None:
        return None
    author = await _account(conn, status["account_id"])
    if author is None or author["domain"] is None:
        return None
    recipients = Recipients()
    recipients.add_account(author, personal=True)
    if event["event"] == "favourite.created":
        like = ap.simple_activity(
            "Like", f"{actor['uri']}#likes/{event['id']}", actor["uri"], status["uri"]
        )
        return like, recipients, False, False
    liked = await outbox_rows.latest_event_id(
        conn, "favourite.created", actor["id"], status["id"], event["id"]
    )
    like_id = f"{actor['uri']}#likes/{liked or event['id']}"
    like = ap.simple_activity("Like", like_id, actor["uri"], status["uri"])
    return ap.undo_activity(actor["uri"], f"{like_id}/undo", like), recipients, False, False


async def _pin(
    conn: Connection, config: Config, actor: RowView, event: RowView, payload: dict[str, Any]
) -> Built:
    status = await ap_rows.status_row(conn, event["object_id"])
    if status is None or status["visibility"] not in DISTRIBUTABLE:
        return None
    kind = "Add" if event["event"] == "pin.created" else "Remove"
    activity = ap.simple_activity(
        kind,
        f"{actor['uri']}#featured/{kind.lower()}/{event['id']}",
        actor["uri"],
        status["uri"],
        target=actor["featured_url"],
    )
    return activity, await _followers(conn, actor["id"]), False, False


async def _collection(
    conn: Connection, config: Config, actor: RowView, event: RowView, payload: dict[str, Any]
) -> Built:
    """A collection change, built when it was made (the rows may be gone): to the owner's
    followers, or a FeatureRequest to the featured account's inbox."""
    activity = payload.get("activity")
    if not isinstance(activity, dict):
        return None
    if "to_account_id" in payload:
        member = await _account(conn, payload.get("to_account_id"))
        if member is None or member["domain"] is None:
            return None
        return _to_inbox_of(activity, member)
    return activity, await _followers(conn, actor["id"]), False, False


def follow_activity_id(actor: RowView, follow_id: int) -> str:
    """The id of the Follow we send for a local follow or follow request."""
    return f"{actor['uri']}#follows/{follow_id}"


async def _follow(
    conn: Connection, config: Config, actor: RowView, event: RowView, payload: dict[str, Any]
) -> Built:
    target = await _account(conn, payload.get("target_account_id"))
    if target is None or target["domain"] is None:
        return None
    recipients = Recipients()
    recipients.add_account(target, personal=True)
    if event["event"] in ("follow.created", "follow.requested"):
        follow_id = follow_activity_id(actor, event["object_id"])
        await follow_rows.set_follow_uri(conn, event["object_id"], follow_id)
        follow = ap.simple_activity("Follow", follow_id, actor["uri"], target["uri"])
        return follow, recipients, False, False
    follow_id = payload.get("uri") or follow_activity_id(actor, event["object_id"])
    follow = ap.simple_activity("Follow", follow_id, actor["uri"], target["uri"])
    undo_id = f"{follow_activity_id(actor, event['object_id'])}/undo"
    return ap.undo_activity(actor["uri"], undo_id, follow), recipients, False, False


async def _follow_request_answered(
    conn: Connection, config: Config, actor: RowView, event: RowView, payload: dict[str, Any]
) -> Built:
    requester = await _account(conn, payload.get("requester_id"))
    if requester is None or requester["domain"] is None:
        return None
    accepted = event["event"] == "follow_request.authorized"
    kind = "Accept" if accepted else "Reject"
    follow = {
        "id": payload.get("uri") or requester["uri"],
        "type": "Follow",
        "actor": requester["uri"],
        "object": actor["uri"],
    }
    activity = ap.simple_activity(
        kind, f"{actor['uri']}#{kind.lower()}s/follows/{event['object_id']}", actor["uri"], follow
    )
    return _to_inbox_of(activity, requester)


async def _block(
    conn: Connection, config: Config, actor: RowView, event: RowView, payload: dict[str, Any]
) -> Built:
    target = await _account(conn, payload.get("target_account_id"))
    if target is None or target["domain"] is None:
        return None
    recipients = Recipients()
    recipients.add_account(target, personal=True)
    block_id = f"{actor['uri']}#blocks/{event['object_id']}"
    block = ap.simple_activity("Block", block_id, actor["uri"], target["uri"])
    if event["event"] == "block.created":
        return block, recipients, False, False
    return ap.undo_activity(actor["uri"], f"{block_id}/undo", block), recipients, False, False


async def _account_updated(
    conn: Connection, config: Config, actor: RowView, event: RowView, payload: dict[str, Any]
) -> Built:
    full = await account_rows.local_actor(conn, actor["username"])
    if full is None:
        return None
    moved = await _account(conn, full["moved_to_account_id"])
    document = ap.actor_document(
        config, full, full["public_key_pem"], moved_to_uri=moved["uri"] if moved else None
    )
    activity = ap.update_actor_activity(f"{actor['uri']}#updates/{event['id']}", document)
    return activity, await _followers(conn, actor["id"]), True, False


async def _account_moved(
    conn: Connection, config: Config, actor: RowView, event: RowView, payload: dict[str, Any]
) -> Built:
    target = await _account(conn, event["object_id"])
    if target is None:
        return None
    activity = ap.simple_activity(
        "Move",
        f"{actor['uri']}#moves/{event['id']}",
        actor["uri"],
        actor["uri"],
        target=target["uri"],
    )
    return activity, await _followers(conn, actor["id"]), True, False


async def _poll_voted(
    conn: Connection, config: Config, actor: RowView, event: RowView, payload: dict[str, Any]
) -> Built:
    status = await ap_rows.status_row(conn, event["object_id"])
    poll = await poll_rows.poll_of_status(conn, event["object_id"]) if status else None
    if status is None or poll is None or status["deleted_at"] is not None:
        return None
    author = await _account(conn, status["account_id"])
    if author is None:
        return None
    if author["domain"] is None:
        # A vote in a local poll: its followers' servers get the new tallies.
        return await _fresh_update(conn, config, status, author)
    recipients = Recipients()
    recipients.add_account(author, personal=True)
    votes: list[One] = []
    for choice in payload.get("choices", []):
        if not isinstance(choice, int) or not 0 <= choice < len(poll["options"]):
            continue
        vote_id = f"{actor['uri']}#votes/{event['id']}/{choice}"
        vote = ap.vote_activity(
            actor["uri"], vote_id, poll["options"][choice], author["uri"], status["uri"]
        )
        votes.append((vote, recipients, False, False))
    return votes


async def _fresh_update(
    conn: Connection, config: Config, status: RowView, author: RowView
) -> Built:
    """An Update of a Note whose text did not change (new poll tallies, a quote approved):
    its id is unique to the millisecond, as such changes come many times a second."""
    note = await note_for(conn, config, status, author)
    recipients = await status_recipients(conn, status, author)
    stamp = now_ms()
    activity = ap.update_note_activity(note, stamp)
    activity["id"] = f"{status['uri']}#updates/{stamp}"
    return activity, recipients, status["visibility"] in DISTRIBUTABLE, False


async def _note_changed(
    conn: Connection, config: Config, actor: RowView, event: RowView, payload: dict[str, Any]
) -> Built:
    """A local Note changed without an edit (its poll closed, its quote was approved):
    those who have it get it again."""
    status = await ap_rows.status_row(conn, event["object_id"])
    if status is None or status["deleted_at"] is not None or status["account_id"] != actor["id"]:
        return None
    return await _fresh_update(conn, config, status, actor)


async def _account_deleted(
    conn: Connection, config: Config, actor: RowView, event: RowView, payload: dict[str, Any]
) -> Built:
    recipients = Recipients()
    for row in await ap_rows.known_inboxes(conn):
        recipients.add(row["inbox"])
    activity = ap.simple_activity(
        "Delete", f"{actor['uri']}#delete", actor["uri"], actor["uri"], to=[ap.AS_PUBLIC]
    )
    return activity, recipients, True, True


async def _report_forwarded(
    conn: Connection, config: Config, actor: RowView, event: RowView, payload: dict[str, Any]
) -> Built:
    report = await report_rows.by_id(conn, event["object_id"])
    target = await _account(conn, report["target_account_id"] if report else None)
    if target is None or target["domain"] is None:
        return None
    recipients = Recipients()
    recipients.add_account(target)
    # Sent by the instance actor, so the reporter stays anonymous (as Mastodon does).
    instance = f"{config.base_url}/actor"
    flag = ap.simple_activity(
        "Flag",
        f"{instance}#flags/{event['object_id']}",
        instance,
        [target["uri"], *[u for u in payload.get("status_uris", []) if isinstance(u, str)]],
        content=str(payload.get("comment") or ""),
    )
    return flag, recipients, False, False


async def _quote_requested(
    conn: Connection, config: Config, actor: RowView, event: RowView, payload: dict[str, Any]
) -> Built:
    """A local account quoted a remote post: ask its author (a QuoteRequest)."""
    quote = await quote_rows.by_id(conn, event["object_id"])
    if quote is None or quote["state"] != "pending" or not quote["activity_uri"]:
        return None
    status = await ap_rows.status_row(conn, quote["status_id"])
    quoted_author = await _account(conn, quote["quoted_account_id"])
    if status is None or status["deleted_at"] is not None or quoted_author is None:
        return None
    note = await note_for(conn, config, status, actor)
    activity = ap.quote_request_activity(
        quote["activity_uri"], actor["uri"], quote["quoted_uri"] or "", note
    )
    return _to_inbox_of(activity, quoted_author)


async def _quote_answered(
    conn: Connection, config: Config, actor: RowView, event: RowView, payload: dict[str, Any]
) -> Built:
    """A local author approved a remote account's quote (an Accept with the stamp), or
    refused it (a Reject of its QuoteRequest)."""
    accepted = event["event"] == "quote.authorized"
    quote = await quote_rows.by_id(conn, event["object_id"]) if event["object_id"] else None
    if accepted:
        if quote is None or quote["state"] != "accepted" or not quote["activity_uri"]:
            return None
        status = await ap_rows.status_row(conn, quote["status_id"])
        requester = await _account(conn, quote["account_id"])
        if status is None or requester is None:
            return None
        request: dict[str, str] = {
            "id": quote["activity_uri"],
            "actor": requester["uri"],
            "object": quote["quoted_uri"] or "",
            "instrument": status["uri"],
        }
        result: str | None = quote_authorization_uri(config, actor["username"], quote["id"])
    else:
        requester = await _account(conn, payload.get("requester_id"))
        if requester is None or not payload.get("activity_uri"):
            return None
        request = {
            "id": str(payload["activity_uri"]),
            "actor": requester["uri"],
            "object": str(payload.get("quoted_uri") or ""),
        }
        if payload.get("instrument"):
            request["instrument"] = str(payload["instrument"])
        result = None
    kind = "Accept" if accepted else "Reject"
    answer_id = f"{actor['uri']}#{kind.lower()}s/quote_requests/{event['object_id'] or event['id']}"
    return _to_inbox_of(ap.quote_answer(kind, answer_id, actor["uri"], request, result), requester)


async def _quote_revoked(
    conn: Connection, config: Config, actor: RowView, event: RowView, payload: dict[str, Any]
) -> Built:
    """A local author took back an approval: the stamp is deleted wherever the quoting post
    went, and at its author's (always LD-signed, as Mastodon signs it)."""
    quote = await quote_rows.by_id(conn, event["object_id"])
    if quote is None:
        return None
    status = await ap_rows.status_row(conn, quote["status_id"])
    quoting_author = await _account(conn, quote["account_id"])
    if status is None or quoting_author is None:
        return None
    recipients = await status_recipients(conn, status, quoting_author)
    recipients.add_account(quoting_author, personal=True)
    stamp = quote_authorization_uri(config, actor["username"], quote["id"])
    return ap.delete_stamp_activity(actor["uri"], stamp), recipients, True, True


_BUILDERS = {
    "status.created": _status_created,
    "status.updated": _status_updated,
    "status.deleted": _status_deleted,
    "reblog.created": _reblog,
    "reblog.deleted": _reblog,
    "favourite.created": _favourite,
    "favourite.deleted": _favourite,
    "pin.created": _pin,
    "pin.deleted": _pin,
    "follow.created": _follow,
    "follow.requested": _follow,
    "follow.deleted": _follow,
    "follow_request.authorized": _follow_request_answered,
    "follow_request.rejected": _follow_request_answered,
    "block.created": _block,
    "block.deleted": _block,
    "account.updated": _account_updated,
    "account.moved": _account_moved,
    "poll.voted": _poll_voted,
    "poll.ended": _note_changed,
    "account.deleted": _account_deleted,
    "report.created": _report_forwarded,
    "quote.requested": _quote_requested,
    "quote.authorized": _quote_answered,
    "quote.rejected": _quote_answered,
    "quote.revoked": _quote_revoked,
    "quote.updated": _note_changed,
    "collection.added": _collection,
    "collection.updated": _collection,
    "collection.removed": _collection,
    "collection.item_added": _collection,
    "collection.item_removed": _collection,
    "collection.feature_requested": _collection,
    "collection.feature_answered": _collection,
}


async def allowed_inboxes(
    conn: Connection, inboxes: list[str], cache: dict[str, bool] | None = None
) -> list[str]:
    """The inboxes whose domain is not suspended."""
    return await _allowed(conn, inboxes, {} if cache is None else cache)


# Documents served at the URLs of local objects ------------------------------------------------


@dataclass
class StatusDocuments:
    """A local status as served: its Note (None for a boost) and its activity."""

    status: RowView
    author: RowView
    gone: bool
    #: Whether the requester may see it (public and unlisted: anyone not blocked).
    permitted: bool
    note: dict[str, Any] | None = None
    activity: dict[str, Any] | None = None


async def may_see(conn: Connection, status: RowView, viewer_id: int | None) -> bool:
    """Whether a requester (a remote signer, or a signed-in browser) may fetch a status, as
    Mastodon's StatusPolicy decides."""
    if viewer_id is not None and await ap_rows.is_blocked_by(conn, viewer_id, status["account_id"]):
        return False
    if status["visibility"] in DISTRIBUTABLE:
        return True
    if viewer_id is None:
        return False
    if viewer_id == status["account_id"] or await ap_rows.is_mentioned(
        conn, status["id"], viewer_id
    ):
        return True
    return status["visibility"] == "private" and await follow_rows.is_follower(
        conn, viewer_id, status["account_id"]
    )


async def status_documents(
    conn: Connection, config: Config, username: str, status_id: int, viewer_id: int | None
) -> StatusDocuments | None:
    """The documents of a local status by its author's name and id; None if unknown."""
    author = await account_rows.local_actor(conn, username)
    status = await ap_rows.status_row(conn, status_id)
    if author is None or status is None or status["account_id"] != author["id"]:
        return None
    if not status["local"] or author["suspended_at"] is not None:
        return None
    if status["deleted_at"] is not None:
        return StatusDocuments(status, author, gone=True, permitted=True)
    permitted = await may_see(conn, status, viewer_id)
    docs = StatusDocuments(status, author, gone=False, permitted=permitted)
    if not permitted:
        return docs
    docs.activity = await status_activity(conn, config, status, author)
    if status["reblog_of_id"] is None and docs.activity is not None:
        docs.note = {"@context": docs.activity["@context"], **docs.activity["object"]}
    return docs


async def quote_stamp(
    conn: Connection, config: Config, username: str, quote_id: int
) -> dict[str, Any] | None:
    """The QuoteAuthorization a local author gave a quote, while it stands (approved, and
    both posts there); None otherwise, as Mastodon answers 404 for a revoked one."""
    author = await account_rows.local_actor(conn, username)
    quote = await quote_rows.by_id(conn, quote_id)
    if author is None or quote is None or author["suspended_at"] is not None:
        return None
    if quote["quoted_account_id"] != author["id"] or quote["state"] != "accepted":
        return None
    quoting = await ap_rows.status_row(conn, quote["status_id"])
    quoted = await ap_rows.status_row(conn, quote["quoted_status_id"] or 0)
    if quoting is None or quoted is None or quoting["deleted_at"] or quoted["deleted_at"]:
        return None
    stamp = quote_authorization_uri(config, author["username"], quote["id"])
    return ap.quote_authorization(stamp, author["uri"], quoting["uri"], quoted["uri"])


async def status_activity(
    conn: Connection, config: Config, status: RowView, author: RowView
) -> dict[str, Any] | None:
    """The Create of a status, or the Announce of a boost."""
    if status["reblog_of_id"] is None:
        return ap.create_activity(await note_for(conn, config, status, author))
    inner = await ap_rows.status_row(conn, status["reblog_of_id"])
    inner_author = await _account(conn, inner["account_id"]) if inner else None
    if inner is None or inner_author is None:
        return None
    return ap.announce_activity(status, author, inner["uri"], inner_author["uri"])


async def outbox_items(
    conn: Connection,
    config: Config,
    author: RowView,
    max_id: int | None,
    min_id: int | None,
) -> tuple[list[dict[str, Any]], tuple[int, int] | None]:
    """One outbox page of Create and Announce activities, and its (newest, oldest) ids."""
    rows = await ap_rows.outbox_statuses(conn, author["id"], max_id, min_id, ap.OUTBOX_PER_PAGE)
    items = []
    for row in rows:
        activity = await status_activity(conn, config, row, author)
        if activity is not None:
            items.append({k: v for k, v in activity.items() if k != "@context"})
    cursors = (rows[0]["id"], rows[-1]["id"]) if rows else None
    return items, cursors


async def featured_notes(conn: Connection, config: Config, author: RowView) -> list[dict[str, Any]]:
    """The pinned public statuses of an account, as Notes without their own context."""
    notes = []
    for row in await ap_rows.pinned_statuses(conn, author["id"]):
        note = await note_for(conn, config, row, author)
        notes.append({k: v for k, v in note.items() if k != "@context"})
    return notes
