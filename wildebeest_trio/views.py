"""Read models several layers share: what services assemble and serializers render.

Rows are the store's (`store.rows`); a view gathers rows and facts for one entity or
document, so the serializer that renders it needs no service, and the HTTP layer passes
it along without knowing the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .formatting import MentionTarget
from .store import RowView


@dataclass(frozen=True)
class Site:
    """The instance's name, short description and sign-up mode as clients see them: what
    an admin set on the admin pages, else the configured values."""

    title: str
    description: str
    registrations: str


@dataclass
class InstanceFacts:
    """Everything the instance endpoints show, read in one unit of work."""

    stats: dict[str, int]
    rules: Sequence[RowView]
    contact: RowView | None
    vapid_public_key: str | None
    extended_description: str
    extended_description_updated_at: int | None
    site: Site


@dataclass
class AnnouncementView:
    """An announcement with what its entity shows."""

    row: RowView
    mentions: list[MentionTarget] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    statuses: Sequence[RowView] = field(default_factory=list)
    emojis: Sequence[RowView] = field(default_factory=list)
    reactions: Sequence[RowView] = field(default_factory=list)
    read: bool | None = None


@dataclass(frozen=True)
class Application:
    id: int
    name: str
    website: str | None
    redirect_uris: list[str]
    scopes: list[str]
    client_id: str
    client_secret: str | None  # only right after registration

    @classmethod
    def from_row(cls, row: RowView) -> Application:
        return cls(
            id=row["id"],
            name=row["name"],
            website=row["website"],
            redirect_uris=row["redirect_uris"].split("\n"),
            scopes=row["scopes"].split(),
            client_id=row["client_id"],
            client_secret=None,
        )


@dataclass(frozen=True)
class DayUse:
    """One day of a tag's history: the day's midnight (UTC, ms), uses, distinct accounts."""

    day: int
    uses: int
    accounts: int
