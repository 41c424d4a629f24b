"""The job handlers of a complete server, gathered from every service."""

from __future__ import annotations

from ..federation import delivery
from ..jobs import JobRegistry
from . import mailer, media, polls, scheduled, web_push


def default_registry() -> JobRegistry:
    """A registry with every service's job kinds bound to their handlers."""
    registry = JobRegistry()
    mailer.register(registry)
    delivery.register(registry)
    media.register(registry)
    web_push.register(registry)
    polls.register(registry)
    scheduled.register(registry)
    return registry
