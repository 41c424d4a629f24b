"""The instance entities: `/api/v1/instance`, `/api/v2/instance`, NodeInfo, host-meta."""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..config import Config
from ..version import SOURCE_URL, VERSION, api_level
from ..views import InstanceFacts
from .accounts import account_entity
from .time import iso_ms

SUPPORTED_MIME_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp"]
# Accepted when ffmpeg is installed (Mastodon's list; the content decides, not the type).
AV_MIME_TYPES = [
    "video/webm",
    "video/mp4",
    "video/quicktime",
    "video/ogg",
    "audio/wave",
    "audio/wav",
    "audio/x-wav",
    "audio/x-pn-wave",
    "audio/vnd.wave",
    "audio/ogg",
    "audio/vorbis",
    "audio/mpeg",
    "audio/mp3",
    "audio/webm",
    "audio/flac",
    "audio/aac",
    "audio/m4a",
    "audio/x-m4a",
    "audio/mp4",
    "audio/3gpp",
    "video/x-ms-asf",
]

ACCOUNT_LIMITS = {
    "max_display_name_length": 30,
    "max_note_length": 500,
    "max_featured_tags": 10,
    "max_pinned_statuses": 5,
    "max_profile_fields": 4,
    "profile_field_name_limit": 255,
    "profile_field_value_limit": 255,
}
STATUS_LIMITS = {
    "max_characters": 500,
    "max_media_attachments": 4,
    "characters_reserved_per_url": 23,
}
MEDIA_LIMITS = {
    "supported_mime_types": SUPPORTED_MIME_TYPES,
    "description_limit": 1500,
    "image_size_limit": 16 * 1024 * 1024,
    "image_matrix_limit": 33_177_600,
    "video_size_limit": 99 * 1024 * 1024,
    "video_frame_rate_limit": 120,
    "video_matrix_limit": 8_294_400,
}


def media_limits(config: Config, av: bool) -> dict[str, Any]:
    """`configuration.media_attachments`, with the image limits this server enforces and,
    when it takes video and audio (`av`: ffmpeg is installed), their types.

    Clients (Elk, Ivory, the Mastodon apps) shrink photos to fit these before uploading.
    """
    return {
        **MEDIA_LIMITS,
        "supported_mime_types": SUPPORTED_MIME_TYPES + (AV_MIME_TYPES if av else []),
        "image_size_limit": config.media_max_image_bytes,
        "image_matrix_limit": config.media_max_image_pixels,
        "video_size_limit": config.media_max_video_bytes,
        "video_frame_rate_limit": config.media_max_video_frame_rate,
        "video_matrix_limit": config.media_max_video_pixels,
    }


POLL_LIMITS = {
    "max_options": 4,
    "max_characters_per_option": 50,
    "min_expiration": 300,
    "max_expiration": 2_629_746,
}


# Mastodon 4.5's `timelines_access`: who may read the public, hashtag and link timelines,
# local and remote posts apart. Anyone may here, signed in or not.
TIMELINES_ACCESS = {
    feed: {"local": "public", "remote": "public"}
    for feed in ("live_feeds", "hashtag_feeds", "trending_link_feeds")
}


def streaming_url(config: Config) -> str:
    return ("wss://" if config.scheme == "https" else "ws://") + config.domain


def _rules(facts: InstanceFacts) -> list[dict[str, Any]]:
    return [
        {"id": str(r["id"]), "text": r["text"], "hint": r["hint"] or "", "translations": {}}
        for r in facts.rules
    ]


def _registrations_open(facts: InstanceFacts) -> bool:
    return facts.site.registrations != "closed"


def instance_v2(
    config: Config, facts: InstanceFacts, features: frozenset[str], *, av: bool
) -> dict[str, Any]:
    """`GET /api/v2/instance` (`av`: whether video and audio uploads are taken)."""
    return {
        "domain": config.domain,
        "title": facts.site.title,
        "version": VERSION,
        "source_url": SOURCE_URL,
        "description": facts.site.description,
        "usage": {"users": {"active_month": facts.stats["active_month"]}},
        "thumbnail": {"url": f"{config.base_url}/static/thumbnail.png"},
        "icon": [],
        "languages": ["en"],
        "configuration": {
            "urls": {
                "streaming": streaming_url(config),
                "status": None,
                "about": f"{config.base_url}/about",
                "privacy_policy": None,
                "terms_of_service": None,
            },
            "vapid": {"public_key": facts.vapid_public_key or ""},
            "accounts": ACCOUNT_LIMITS,
            "statuses": STATUS_LIMITS,
            "media_attachments": media_limits(config, av),
            "polls": POLL_LIMITS,
            "translation": {"enabled": config.translation_enabled},
            "timelines_access": TIMELINES_ACCESS,
            "limited_federation": False,
        },
        "registrations": {
            "enabled": _registrations_open(facts),
            "approval_required": facts.site.registrations == "approval",
            "reason_required": facts.site.registrations == "approval",
            "message": None,
            "min_age": None,
            "url": None,
        },
        "api_versions": {"mastodon": api_level(features)},
        "contact": {
            "email": config.contact_email,
            "account": account_entity(config, facts.contact) if facts.contact else None,
        },
        "rules": _rules(facts),
    }


def instance_v1(
    config: Config, facts: InstanceFacts, features: frozenset[str], *, av: bool
) -> dict[str, Any]:
    """`GET /api/v1/instance` (deprecated, still what toot, iOS and Mastodon.py read)."""
    return {
        "uri": config.domain,
        "title": facts.site.title,
        "short_description": facts.site.description,
        "description": facts.site.description,
        "email": config.contact_email,
        "version": VERSION,
        "urls": {"streaming_api": streaming_url(config)},
        "stats": {
            "user_count": facts.stats["user_count"],
            "status_count": facts.stats["status_count"],
            "domain_count": facts.stats["domain_count"],
        },
        "thumbnail": f"{config.base_url}/static/thumbnail.png",
        "languages": ["en"],
        "registrations": _registrations_open(facts),
        "approval_required": facts.site.registrations == "approval",
        "invites_enabled": False,
        "configuration": {
            "accounts": ACCOUNT_LIMITS,
            "statuses": STATUS_LIMITS,
            "media_attachments": media_limits(config, av),
            "polls": POLL_LIMITS,
        },
        "api_versions": {"mastodon": api_level(features)},
        "contact_account": account_entity(config, facts.contact) if facts.contact else None,
        "rules": _rules(facts),
    }


def extended_description(facts: InstanceFacts) -> dict[str, Any]:
    return {
        "updated_at": iso_ms(facts.extended_description_updated_at) or "1970-01-01T00:00:00.000Z",
        "content": facts.extended_description,
    }


def nodeinfo(config: Config, facts: InstanceFacts, version: str) -> dict[str, Any]:
    """NodeInfo 2.0 or 2.1 (2.1 adds `software.repository`)."""
    software: dict[str, Any] = {"name": "wildebeest-trio", "version": __version__}
    if version == "2.1":
        software["repository"] = SOURCE_URL
        software["homepage"] = SOURCE_URL
    return {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"outbound": [], "inbound": []},
        "usage": {
            "users": {
                "total": facts.stats["user_count"],
                "activeMonth": facts.stats["active_month"],
                "activeHalfyear": facts.stats["active_halfyear"],
            },
            "localPosts": facts.stats["status_count"],
        },
        "openRegistrations": _registrations_open(facts),
        "metadata": {
            "nodeName": facts.site.title,
            "nodeDescription": facts.site.description,
        },
    }


def nodeinfo_links(config: Config) -> dict[str, Any]:
    base = config.base_url
    return {
        "links": [
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
                "href": f"{base}/nodeinfo/2.0",
            },
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                "href": f"{base}/nodeinfo/2.1",
            },
        ]
    }


def host_meta_xml(config: Config) -> str:
    template = f"{config.base_url}/.well-known/webfinger?resource={{uri}}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{template}"/>\n'
        "</XRD>\n"
    )


def host_meta_json(config: Config) -> dict[str, Any]:
    template = f"{config.base_url}/.well-known/webfinger?resource={{uri}}"
    return {"links": [{"rel": "lrdd", "template": template}]}
