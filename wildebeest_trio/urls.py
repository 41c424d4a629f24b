"""The public URLs of local things, derived from the configured origin."""

from __future__ import annotations

from .config import Config


def actor_uri(config: Config, username: str) -> str:
    return f"{config.base_url}/users/{username}"


def profile_url(config: Config, username: str) -> str:
    return f"{config.base_url}/@{username}"


def status_uri(config: Config, username: str, status_id: int) -> str:
    """The ActivityPub id of a local status."""
    return f"{actor_uri(config, username)}/statuses/{status_id}"


def status_url(config: Config, username: str, status_id: int) -> str:
    """The web page of a local status, in the form clients parse (`/@user/ID`)."""
    return f"{profile_url(config, username)}/{status_id}"


def quote_authorization_uri(config: Config, username: str, quote_id: int) -> str:
    """Where a local author's approval of a quote (a QuoteAuthorization stamp) is served."""
    return f"{actor_uri(config, username)}/quote_authorizations/{quote_id}"


def key_id(config: Config, username: str) -> str:
    return f"{actor_uri(config, username)}#main-key"


def shared_inbox(config: Config) -> str:
    return f"{config.base_url}/inbox"


def local_actor_urls(config: Config, username: str) -> dict[str, str]:
    """The account-row URL columns of a local actor."""
    uri = actor_uri(config, username)
    return {
        "uri": uri,
        "url": profile_url(config, username),
        "inbox_url": f"{uri}/inbox",
        "shared_inbox_url": shared_inbox(config),
        "outbox_url": f"{uri}/outbox",
        "followers_url": f"{uri}/followers",
        "following_url": f"{uri}/following",
        "featured_url": f"{uri}/collections/featured",
    }
