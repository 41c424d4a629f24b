"""What a new status says before it is written: the neutral write models.

The Mastodon API (a client's draft) and the inbox (a remote Note or Question) both make
these; `services.statuses`, `services.polls` and `services.quotes` write them. They sit
below both callers, so federation reads a Note without importing the services that
write it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .store.base import RowView


@dataclass
class PollState:
    """A poll as a status brings it: from a client's draft, or a remote Question with the
    counts its server reports (`tallies` None: none yet)."""

    options: list[str]
    multiple: bool
    expires_at: int | None
    hide_totals: bool = False
    tallies: list[int] | None = None
    voters_count: int | None = 0


@dataclass
class QuoteDraft:
    """The post a new status quotes, as its author or its server names it."""

    quoted: RowView | None  # the quoted status, when it is known here
    uri: str | None = None  # its ActivityPub id (what names it while unknown)
    approval_uri: str | None = None  # the stamp a remote quoting post names
    legacy: bool = False  # named only by `quoteUrl`, `quoteUri` or `_misskey_quote`
    depth: int = 0  # how many quotes deep a fetched post lies


@dataclass(kw_only=True)
class Version:
    """What a status says, as its author wrote it here (rendered) or its server sent it
    (sanitized), with the accounts and emoji it names resolved."""

    content: str
    text: str = ""  # the source a local status was written from; remote ones have none
    spoiler_text: str = ""
    sensitive: bool = False
    language: str | None = None
    # Tagged accounts: mentioned, and told of it when local.
    mentions: list[int] = field(default_factory=list)
    # Local accounts a private or direct remote status is addressed to without a tag:
    # Mastodon's silent mentions, which give access but no notification.
    silent_mentions: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    # A remote server's custom emoji (shortcode, url, uri), recorded for its domain.
    emojis: list[dict[str, str]] = field(default_factory=list)
    # When the author's server says this version was written; None: now.
    at: int | None = None


@dataclass(kw_only=True)
class NewStatus:
    """A status to create: its first version, who may see it, where it belongs and what
    it carries."""

    version: Version
    visibility: str
    parent: RowView | None = None  # the status it replies to
    uri: str | None = None  # a remote status's id; a local one's is made from its new id
    url: str | None = None
    application_id: int | None = None
    uploads: list[int] = field(default_factory=list)  # the local author's attachments
    remote_media: list[dict[str, Any]] = field(default_factory=list)  # kept at its origin
    poll: PollState | None = None
    quote: QuoteDraft | None = None  # the post it quotes
    quote_approval_policy: int = 0  # who may quote it (`quote_policy`)
    # A post of the author's from an archive of another server: dated and kept as it was,
    # delivered to no one, told to no one, put in no feed.
    history: bool = False
