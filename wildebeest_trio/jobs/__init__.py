"""Durable background work: job kinds, their handlers, and the errors handlers raise."""

from .kinds import JobKind, JobRegistry, PermanentFailure, RetryLater, mastodon_backoff

__all__ = ["JobKind", "JobRegistry", "PermanentFailure", "RetryLater", "mastodon_backoff"]
