"""Live events for connected clients: the hub, and the cross-process relay."""
