"""What this software says it is: its version strings, its source and its Mastodon API level."""

from __future__ import annotations

from . import __version__

MASTODON_VERSION = "4.5.0"
VERSION = f"{MASTODON_VERSION} (compatible; wildebeest-trio {__version__})"
SOURCE_URL = "https://github.com/wildebeest-trio/wildebeest-trio"

# Features that raise `api_versions.mastodon` (levels are cumulative; see mastodon-compat A.3).
API_LEVEL_FEATURES: tuple[str, ...] = (
    "grouped_notifications",  # level 2
    "pkce",  # level 3
    "standard_web_push",  # level 4
    "blur_filter",  # level 5: the `blur` filter action (4.4)
    "endorsements",  # level 6: featured accounts, endorse and unendorse (4.4)
    "quotes",  # level 7: quote posts and their policies (4.5)
)


def api_level(features: frozenset[str]) -> int:
    """The highest Mastodon API level all of whose endpoints this server has."""
    level = 1
    for feature in API_LEVEL_FEATURES:
        if feature not in features:
            break
        level += 1
    return level
