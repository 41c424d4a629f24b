"""WebFinger (RFC 7033) documents for local accounts."""

from __future__ import annotations

from typing import Any

from ..config import Config
from ..store import RowView


def jrd(config: Config, account: RowView) -> dict[str, Any]:
    """The JRD for a local account, as Mastodon serves it."""
    username = account["username"]
    if account["actor_type"] == "Application":
        # The instance actor (also found by the bare domain, as Mastodon's is).
        return {
            "subject": f"acct:{username}@{config.domain}",
            "aliases": [account["uri"]],
            "links": [
                {
                    "rel": "http://webfinger.net/rel/profile-page",
                    "type": "text/html",
                    "href": f"{config.base_url}/about",
                },
                {"rel": "self", "type": "application/activity+json", "href": account["uri"]},
            ],
        }
    return {
        "subject": f"acct:{username}@{config.domain}",
        "aliases": [account["url"], account["uri"]],
        "links": [
            {
                "rel": "http://webfinger.net/rel/profile-page",
                "type": "text/html",
                "href": account["url"],
            },
            {"rel": "self", "type": "application/activity+json", "href": account["uri"]},
        ],
    }
