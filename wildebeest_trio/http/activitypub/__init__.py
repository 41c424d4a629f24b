"""What other servers ask for: actors, statuses and collections as ActivityPub documents,
the inboxes, and discovery (WebFinger, host-meta, NodeInfo)."""
