"""The Mastodon Status, StatusEdit, StatusSource and Relationship entities (pure)."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from html import escape
from typing import Any

import orjson

from .. import quote_policy
from ..config import Config
from ..store import RowView
from ..store.statuses import StatusBundle
from .accounts import account_entity, acct
from .custom_emoji import custom_emoji_entity
from .filters import filter_result_entity
from .media import media_attachment_entity
from .polls import poll_entity
from .preview_cards import preview_card_entity
from .time import iso_ms

# The visibilities a status may be pinned at (Mastodon's `pinnable?`).
PINNABLE = ("public", "unlisted", "private")


def _mention(config: Config, row: RowView) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "username": row["username"],
        "url": row["url"] or row["uri"],
        "acct": acct(config, row),
    }


def _tag(config: Config, row: RowView) -> dict[str, Any]:
    return {"name": row["display_name"], "url": f"{config.base_url}/tags/{row['name']}"}


# The viewer's flags of a status: favourited, reblogged, muted, bookmarked and pinned
# (None where the status shows no `pinned`).
Flags = tuple[bool, bool, bool, bool, bool | None]
_FLAG_NAMES = ("favourited", "reblogged", "muted", "bookmarked", "pinned")


def _flags(bundle: StatusBundle, row: RowView) -> Flags:
    """The viewer's flags of the status."""
    # Flags describe the boosted status when `row` is a boost, as Mastodon's
    # `favourited?`/`reblogged?` look at `status.proper`.
    proper = row["reblog_of_id"] or row["id"]
    conversation = bundle.statuses.get(proper, row).get("conversation_id")
    pinned = None
    if (
        row["account_id"] == bundle.viewer_id
        and row["reblog_of_id"] is None
        and row["visibility"] in PINNABLE
    ):
        pinned = row["id"] in bundle.pinned
    return (
        proper in bundle.favourited,
        proper in bundle.reblogged,
        conversation is not None and conversation in bundle.muted_conversations,
        proper in bundle.bookmarked,
        pinned,
    )


def _add_viewer_flags(entity: dict[str, Any], bundle: StatusBundle, row: RowView) -> None:
    """The viewer's flags, added to the entity (after its other keys)."""
    for name, value in zip(_FLAG_NAMES, _flags(bundle, row), strict=True):
        if value is not None:
            entity[name] = value
    matches = bundle.filtered.get(row["id"])
    entity["filtered"] = [filter_result_entity(m) for m in matches] if matches else []


@functools.lru_cache(maxsize=64)
def _flags_json(flags: Flags) -> bytes:
    """The viewer's flags and an empty `filtered`, encoded as the end of an object
    (after a comma)."""
    shown = {n: v for n, v in zip(_FLAG_NAMES, flags, strict=True) if v is not None}
    return b"," + orjson.dumps({**shown, "filtered": []})[1:]


def status_entity(
    config: Config,
    bundle: StatusBundle,
    status_id: int,
    *,
    source: bool = False,
    shallow: bool = False,
) -> dict[str, Any]:
    """One status of a bundle as Mastodon's Status (never null where a list or string is
    expected); `source=True` adds `text`, as DELETE returns it for redrafting. A quoted
    status is `shallow`: the quote it makes in turn is only named (a ShallowQuote).

    What no viewer changes is built once per kept status (`StatusEntry.base`); what the
    viewer or other statuses decide is added to a copy of it on every call."""
    entity = dict(_base(config, bundle, status_id))
    row = bundle.statuses[status_id]
    entity.update(_per_call(config, bundle, row, shallow=shallow, encoded=False))
    if source:
        entity["text"] = row["text"] or ""
    return entity


def status_json(
    config: Config, bundle: StatusBundle, status_id: int, *, shallow: bool = False
) -> bytes:
    """`status_entity` encoded as JSON (the same keys and values; `json.loads` of it
    equals the entity), joined from the kept status's encoded part (`StatusEntry.base_json`,
    encoded once) and its author's (`AccountEntry.json`), and what the viewer or other
    statuses decide, encoded per call: a timeline page encodes only that."""
    out: list[bytes] = []
    _status_parts(config, bundle, status_id, out, shallow=shallow)
    return b"".join(out)


def statuses_json(config: Config, bundle: StatusBundle, status_ids: Iterable[int]) -> bytes:
    """The statuses as a JSON array, each as `status_json` writes it (the answer's bytes
    copied once, as they are joined)."""
    out = [b"["]
    for status_id in status_ids:
        _status_parts(config, bundle, status_id, out, shallow=False)
        out.append(b",")
    out[-1] = b"]"  # the last comma, or the opening bracket of an empty array
    return b"[]" if len(out) == 1 else b"".join(out)


def _status_parts(
    config: Config, bundle: StatusBundle, status_id: int, out: list[bytes], *, shallow: bool
) -> None:
    """Append `status_json`'s pieces to `out`."""
    row = bundle.statuses[status_id]
    # Two JSON objects with no key in common, made one: `{a` (its closing brace left off
    # when it was kept) and `{b}` give `{a,b}`.
    out.append(_base_json(config, bundle, status_id))
    out.append(b",")
    status_id = row["id"]
    card = bundle.cards.get(status_id)
    if (
        row.get("poll_id")
        or status_id in bundle.quotes
        or (card is not None and card["author_account_id"])
        or (row["application_id"] and bundle.viewer_id == row["account_id"])
        or bundle.filtered.get(status_id)
    ):
        part = _per_call(config, bundle, row, shallow=shallow, encoded=True)
        out.append(orjson.dumps(part)[1:])
        return
    # Most statuses (no poll, quote, card naming an author, application shown or filter
    # matched) are joined from encoded pieces: the author's, the boosted status's, and
    # the quote approval and viewer's flags, each encoded once per combination.
    out.append(b'"account":')
    out.append(_author_json(config, bundle, row["account_id"]))
    out.append(b',"reblog":')
    reblog_id = row["reblog_of_id"]
    if reblog_id is not None and reblog_id in bundle.statuses:
        _status_parts(config, bundle, reblog_id, out, shallow=False)
    else:
        out.append(b"null")
    out.append(b',"poll":null,"quote":null,"quote_approval":')
    proper = bundle.statuses.get(reblog_id or status_id, row)
    out.append(_approval_json(*_approval_of(bundle, proper)))
    out.append(b"}" if bundle.viewer_id is None else _flags_json(_flags(bundle, row)))


# The keys of `_base_entity` that hold a place for what `_per_call` fills.
_PER_CALL_KEYS = frozenset({"reblog", "account", "poll", "quote", "quote_approval"})


def _base(config: Config, bundle: StatusBundle, status_id: int) -> dict[str, Any]:
    """The status's `_base_entity`, built once per kept status."""
    entry = bundle.entries.get(status_id)
    if entry is None:
        return _base_entity(config, bundle, status_id)
    if entry.base is None:
        entry.base = _base_entity(config, bundle, status_id)
    return entry.base


def _base_json(config: Config, bundle: StatusBundle, status_id: int) -> bytes:
    """`_base` encoded without its closing brace, and without the keys `_per_call` fills
    (`card` among them when it names an author), encoded once per kept status."""
    entry = bundle.entries.get(status_id)
    if entry is not None and entry.base_json is not None:
        return entry.base_json
    card = bundle.cards.get(status_id)
    skip = _PER_CALL_KEYS | {"card"} if card and card["author_account_id"] else _PER_CALL_KEYS
    base = _base(config, bundle, status_id)
    encoded = orjson.dumps({k: v for k, v in base.items() if k not in skip})[:-1]
    if entry is not None:
        entry.base_json = encoded
    return encoded


def _per_call(
    config: Config, bundle: StatusBundle, row: RowView, *, shallow: bool, encoded: bool
) -> dict[str, Any]:
    """What a Status shows beside `_base_entity`: its author, the boosted status, a card
    naming an author, the poll, the quote, the quote approval, the application and the
    viewer's flags; nested entities as dicts, or (`encoded`) as encoded JSON fragments."""
    status_id = row["id"]
    part: dict[str, Any] = {"account": _author_part(config, bundle, row["account_id"], encoded)}
    reblog_id = row["reblog_of_id"]
    part["reblog"] = None
    if reblog_id is not None and reblog_id in bundle.statuses:
        part["reblog"] = _nested(config, bundle, reblog_id, shallow=False, encoded=encoded)
    proper = bundle.statuses.get(reblog_id or status_id, row)
    card = bundle.cards.get(status_id)
    if card is not None and card["author_account_id"]:
        part["card"] = _card(config, bundle, status_id)
    part["poll"] = _poll(bundle, row)
    part["quote"] = _quote(config, bundle, status_id, shallow=shallow, encoded=encoded)
    part["quote_approval"] = _quote_approval(bundle, proper)
    # Mastodon names the posting application only to the author (or if shared).
    app = bundle.applications.get(row["application_id"]) if row["application_id"] else None
    if app is not None and bundle.viewer_id == row["account_id"]:
        part["application"] = {"name": app["name"], "website": app["website"]}
    if bundle.viewer_id is not None:
        _add_viewer_flags(part, bundle, row)
    return part


def _nested(
    config: Config, bundle: StatusBundle, status_id: int, *, shallow: bool, encoded: bool
) -> Any:
    """A status inside another (boosted or quoted), as a dict or an encoded fragment."""
    if encoded:
        return orjson.Fragment(status_json(config, bundle, status_id, shallow=shallow))
    return status_entity(config, bundle, status_id, shallow=shallow)


def _base_entity(config: Config, bundle: StatusBundle, status_id: int) -> dict[str, Any]:
    """The part of a Status no viewer changes, its author apart (`reblog`, `account`,
    `card` when it names an author's Account, which moves without the status, `poll`,
    `quote` and `quote_approval` hold their places in the key order, filled per call)."""
    row = bundle.statuses[status_id]
    return {
        "id": str(row["id"]),
        "created_at": iso_ms(row["created_at"]),
        "in_reply_to_id": _str_or_none(row["in_reply_to_id"]),
        "in_reply_to_account_id": _str_or_none(row["in_reply_to_account_id"]),
        "sensitive": bool(row["sensitive"]),
        "spoiler_text": row["spoiler_text"] or "",
        "visibility": row["visibility"],
        "language": row["language"],
        "uri": row["uri"],
        "url": row["url"] or row["uri"],
        "replies_count": int(row["replies_count"]),
        "reblogs_count": int(row["reblogs_count"]),
        "favourites_count": int(row["favourites_count"]),
        "quotes_count": int(row.get("quotes_count") or 0),
        "edited_at": iso_ms(row["edited_at"]),
        "content": row["content"] or "",
        "reblog": None,
        "account": None,
        "media_attachments": [
            media_attachment_entity(config, m) for m in bundle.media.get(status_id, [])
        ],
        "mentions": [_mention(config, m) for m in bundle.mentions.get(status_id, [])],
        "tags": [_tag(config, t) for t in bundle.tags.get(status_id, [])],
        "emojis": [custom_emoji_entity(config, e) for e in bundle.emojis.get(status_id, ())],
        "card": _card(config, bundle, status_id, kept=True),
        "poll": None,
        "quote": None,
        "quote_approval": None,
    }


def _author(config: Config, bundle: StatusBundle, account_id: int) -> dict[str, Any]:
    """A status's Account, built once per kept account (shared: never changed after)."""
    entry = bundle.account_entries.get(account_id)
    if entry is None:
        return account_entity(config, bundle.accounts[account_id])
    if entry.base is None:
        entry.base = account_entity(config, entry.row)
    return entry.base


def _author_part(config: Config, bundle: StatusBundle, account_id: int, encoded: bool) -> Any:
    """`_author`, or (`encoded`) its JSON as a fragment."""
    if not encoded:
        return _author(config, bundle, account_id)
    return orjson.Fragment(_author_json(config, bundle, account_id))


def _author_json(config: Config, bundle: StatusBundle, account_id: int) -> bytes:
    """`_author` encoded, once per kept account."""
    entry = bundle.account_entries.get(account_id)
    if entry is None:
        return orjson.dumps(_author(config, bundle, account_id))
    if entry.json is None:
        entry.json = orjson.dumps(_author(config, bundle, account_id))
    return entry.json


def status_entities(config: Config, bundle: StatusBundle) -> list[dict[str, Any]]:
    """The bundle's statuses, in its order."""
    return [status_entity(config, bundle, i) for i in bundle.order]


def _poll(bundle: StatusBundle, row: RowView) -> dict[str, Any] | None:
    poll = bundle.polls.get(row.get("poll_id") or 0)
    if poll is None:
        return None
    return poll_entity(poll, bundle.viewer_id, bundle.own_votes.get(poll["id"], []))


def _card(
    config: Config, bundle: StatusBundle, status_id: int, *, kept: bool = False
) -> dict[str, Any] | None:
    """The status's PreviewCard; `kept`: only one that names no author's Account."""
    card = bundle.cards.get(status_id)
    if card is None or (kept and card["author_account_id"]):
        return None
    return preview_card_entity(config, card, bundle.accounts.get(card["author_account_id"] or 0))


def quote_state(bundle: StatusBundle, quote: RowView) -> tuple[str, int | None]:
    """What the viewer is told of a quote: its state, and the quoted status's id where the
    entity carries it (Mastodon's BaseQuoteSerializer). An accepted quote of a post since
    deleted is `deleted`; of one the viewer may not see, `unauthorized`; of an author the
    viewer blocks or mutes, the reason (the post still comes, for the app to hide)."""
    state = quote["state"]
    if state != "accepted":
        return state, None
    quoted_id = quote["quoted_status_id"]
    if quoted_id is not None and quoted_id in bundle.quoted_hidden:
        return "unauthorized", None
    quoted = None
    if quoted_id is not None:
        quoted = bundle.statuses.get(quoted_id) or bundle.shallow_quoted.get(quoted_id)
    if quoted is None or quoted.get("deleted_at") is not None:
        return "deleted", None
    if quoted["account_id"] != bundle.viewer_id:
        reason = bundle.quote_filters.get(quoted["account_id"])
        if reason is not None:
            return reason, quoted_id
    return "accepted", quoted_id


def _quote(
    config: Config, bundle: StatusBundle, status_id: int, *, shallow: bool, encoded: bool
) -> dict[str, Any] | None:
    """The Quote (or, inside a quoted status, the ShallowQuote) a status makes; null when
    it makes none, or only a legacy one (`quoteUrl` and the like) not approved."""
    quote = bundle.quotes.get(status_id)
    if quote is None or (quote["legacy"] and quote["state"] != "accepted"):
        return None
    state, quoted_id = quote_state(bundle, quote)
    if shallow:
        return {"state": state, "quoted_status_id": _str_or_none(quoted_id)}
    quoted = None
    if quoted_id is not None:
        quoted = _nested(config, bundle, quoted_id, shallow=True, encoded=encoded)
    return {"state": state, "quoted_status": quoted}


# Every status of a page asks, and a few dozen combinations exist: the automatic and
# manual keys (lists shared by every entity showing them, never changed) and the verdict.
@functools.lru_cache(maxsize=1024)
def _approval(
    policy: int,
    visibility: str,
    is_author: bool,
    signed_in: bool,
    follows_author: bool,
    followed_by_author: bool,
) -> tuple[list[str], list[str], str]:
    """The automatic and manual keys of a policy and how it applies to the viewer."""
    return (
        quote_policy.as_keys(quote_policy.automatic(policy)),
        quote_policy.as_keys(quote_policy.manual(policy)),
        quote_policy.for_account(
            policy,
            visibility=visibility,
            is_author=is_author,
            signed_in=signed_in,
            follows_author=follows_author,
            followed_by_author=followed_by_author,
        ),
    )


def _approval_of(bundle: StatusBundle, row: RowView) -> tuple[int, str, bool, bool, bool, bool]:
    """What decides a status's QuoteApproval for the bundle's viewer (`_approval`'s)."""
    author = row["account_id"]
    return (
        int(row.get("quote_approval_policy") or 0),
        row["visibility"],
        author == bundle.viewer_id,
        bundle.viewer_id is not None,
        author in bundle.following,
        author in bundle.followed_by,
    )


def _quote_approval(bundle: StatusBundle, row: RowView) -> dict[str, Any]:
    """QuoteApproval: who may quote the status, and what the viewer may expect."""
    automatic, manual, current_user = _approval(*_approval_of(bundle, row))
    return {"automatic": automatic, "manual": manual, "current_user": current_user}


@functools.lru_cache(maxsize=1024)
def _approval_json(*decided: Any) -> bytes:
    """`_quote_approval` encoded, for what decides it (`_approval_of`)."""
    automatic, manual, current_user = _approval(*decided)
    return orjson.dumps({"automatic": automatic, "manual": manual, "current_user": current_user})


def _str_or_none(value: int | None) -> str | None:
    return None if value is None else str(value)


def status_source_entity(row: RowView) -> dict[str, Any]:
    """`GET /api/v1/statuses/:id/source`."""
    return {"id": str(row["id"]), "text": row["text"] or "", "spoiler_text": row["spoiler_text"]}


def status_edit_entity(config: Config, version: RowView, account: RowView) -> dict[str, Any]:
    """One version of a status (`/history`): a `status_edits` row, or the status itself
    when it was never edited (each carries the time that version was written)."""
    return {
        "content": version["content"] or "",
        "spoiler_text": version["spoiler_text"] or "",
        "sensitive": bool(version["sensitive"]),
        "created_at": iso_ms(version["created_at"]),
        "account": account_entity(config, account),
        "media_attachments": [],
        "emojis": [],
    }


def relationship_entity(
    account_id: int,
    *,
    following: RowView | None,
    followed_by: bool,
    requested: RowView | None,
    requested_by: bool,
    blocking: bool = False,
    blocked_by: bool = False,
    muting: RowView | None = None,
    note: str = "",
    endorsed: bool = False,
    domain_blocking: bool = False,
) -> dict[str, Any]:
    """Mastodon's Relationship."""
    follow = following or requested
    languages = None
    if follow is not None and follow.get("languages"):
        languages = json.loads(follow["languages"])
    return {
        "id": str(account_id),
        "following": following is not None,
        "showing_reblogs": bool(follow["show_reblogs"]) if follow else False,
        "notifying": bool(follow["notify"]) if follow else False,
        "languages": languages,
        "followed_by": followed_by,
        "blocking": blocking,
        "blocked_by": blocked_by,
        "muting": muting is not None,
        "muting_notifications": bool(muting["hide_notifications"]) if muting else False,
        "muting_expires_at": iso_ms(muting["expires_at"]) if muting else None,
        "requested": requested is not None,
        "requested_by": requested_by,
        "domain_blocking": domain_blocking,
        "endorsed": endorsed,
        "note": note,
    }


def conversation_entity(
    config: Config,
    row: RowView,
    accounts: dict[int, dict[str, Any]],
    bundle: StatusBundle,
) -> dict[str, Any]:
    """Mastodon's Conversation: the other participants (oneself when alone), whether it is
    unread, and its last status (null if the viewer may no longer see it)."""
    others = [accounts[i] for i in json.loads(row["participant_ids"]) if i in accounts]
    if not others and row["account_id"] in accounts:
        others = [accounts[row["account_id"]]]
    last = row["last_status_id"]
    return {
        "id": str(row["id"]),
        "unread": bool(row["unread"]),
        "accounts": [account_entity(config, a) for a in others],
        "last_status": status_entity(config, bundle, last) if last in bundle.statuses else None,
    }


OEMBED_WIDTH = 400
OEMBED_CACHE_AGE = 86400


def oembed_entity(
    config: Config, bundle: StatusBundle, status_id: int, *, width: int | None = None
) -> dict[str, Any]:
    """`GET /api/oembed`: a rich embed of a public status (Mastodon's OEmbedSerializer),
    its HTML a quotation of the post linking back to it (no script, no frame)."""
    entity = status_entity(config, bundle, status_id)
    account = entity["account"]
    name = account["display_name"] or account["username"]
    handle = f"@{account['acct']}@{config.domain}"
    html = (
        f'<blockquote class="mastodon-embed" data-embed-url="{escape(entity["url"])}/embed" '
        'style="background: #FCF8FF; border-radius: 8px; border: 1px solid #C9C4DA; '
        'margin: 0; max-width: 540px; min-width: 270px; overflow: hidden; padding: 0;">'
        f"{entity['content']}"
        f'<p><a href="{escape(entity["url"])}" target="_blank" rel="noopener">'
        f"Post by {escape(handle)}</a></p></blockquote>"
    )
    return {
        "type": "rich",
        "version": "1.0",
        "title": f"New status by {account['acct']}",
        "author_name": name,
        "author_url": account["url"],
        "provider_name": config.domain,
        "provider_url": f"{config.base_url}/",
        "cache_age": OEMBED_CACHE_AGE,
        "html": html,
        "width": width or OEMBED_WIDTH,
        "height": None,
    }
