"""wildebeest-trio: a Mastodon-compatible ActivityPub server on Trio."""

__version__ = "0.1.0"
