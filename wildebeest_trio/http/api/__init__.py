"""The Mastodon client API (`/api/v1/...`, `/api/v2/...`), the streaming API included."""
