"""Pure functions from rows to Mastodon entities and ActivityStreams documents."""
