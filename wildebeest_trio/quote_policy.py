"""Who may quote a status: Mastodon's quote approval policy, as stored and as it applies.

A policy is one integer, as Mastodon stores it: the flags of who is approved automatically,
shifted left 16 bits, or'ed with the flags of who may ask for manual approval. The flags:
`unsupported_policy` (a remote policy naming someone these flags cannot describe),
`public`, `followers` (of the author) and `following` (accounts the author follows). A
policy of 0 lets nobody but the author quote. Pure: the layers above read facts about the
accounts and ask here.
"""

from __future__ import annotations

from collections.abc import Iterable

UNSUPPORTED = 1 << 0
PUBLIC = 1 << 1
FOLLOWERS = 1 << 2
FOLLOWING = 1 << 3

#: The flags by the names the QuoteApproval entity lists, in Mastodon's order.
KEYS: dict[str, int] = {
    "unsupported_policy": UNSUPPORTED,
    "public": PUBLIC,
    "followers": FOLLOWERS,
    "following": FOLLOWING,
}
#: What a client may ask for by name (`quote_approval_policy` on a status): automatic
#: approval of everyone, of the author's followers, or of nobody but the author.
API_VALUES: dict[str, int] = {"public": PUBLIC << 16, "followers": FOLLOWERS << 16, "nobody": 0}
#: Only posts that reach public places may be quoted by others (Mastodon's `distributable?`).
QUOTABLE_VISIBILITIES = ("public", "unlisted")


def combine(automatic: int, manual: int) -> int:
    """The stored policy of automatic and manual flags."""
    return ((automatic & 0xFFFF) << 16) | (manual & 0xFFFF)


def automatic(policy: int) -> int:
    """Who is approved automatically."""
    return (policy >> 16) & 0xFFFF


def manual(policy: int) -> int:
    """Who may ask and wait for the author's decision."""
    return policy & 0xFFFF


def as_keys(flags: int) -> list[str]:
    """The names of the flags set, as the QuoteApproval entity lists them."""
    return [name for name, bit in KEYS.items() if flags & bit]


def from_keys(automatic_keys: Iterable[str], manual_keys: Iterable[str]) -> int:
    """The policy naming who is approved automatically and who manually (`public`,
    `followers`, `following`); ValueError for another name."""

    def flags(keys: Iterable[str]) -> int:
        found = 0
        for key in keys:
            if key not in ("public", "followers", "following"):
                raise ValueError(key)
            found |= KEYS[key]
        return found

    return combine(flags(automatic_keys), flags(manual_keys))


def for_visibility(policy: int, visibility: str) -> int:
    """The policy a local status keeps: none on followers-only and direct statuses, which
    only their author may quote (Mastodon's `downgrade_quote_policy`)."""
    return policy if visibility in QUOTABLE_VISIBILITIES else 0


def for_account(
    policy: int,
    *,
    visibility: str,
    is_author: bool,
    signed_in: bool,
    follows_author: bool,
    followed_by_author: bool,
) -> str:
    """How the policy applies to one account (Mastodon's `quote_policy_for_account`):
    `automatic`, `manual`, `unknown` (the policy names someone else) or `denied`. Nobody
    quotes a direct status, and only its author a followers-only one."""
    if not signed_in or visibility == "direct":
        return "denied"
    if is_author:
        return "automatic"
    if visibility not in QUOTABLE_VISIBILITIES:
        return "denied"
    for verdict, flags in (("automatic", automatic(policy)), ("manual", manual(policy))):
        if flags & PUBLIC:
            return verdict
        if flags & FOLLOWERS and follows_author:
            return verdict
        if flags & FOLLOWING and followed_by_author:
            return verdict
    if (automatic(policy) | manual(policy)) & UNSUPPORTED:
        return "unknown"
    return "denied"


def may_request(verdict: str) -> bool:
    """Whether an account may quote under this verdict: automatically, by asking, or by
    asking a remote server whose policy names others too (`unknown`: only it can tell, as
    Mastodon lets it)."""
    return verdict != "denied"
