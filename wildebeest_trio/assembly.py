"""The composition root: what a complete server's runtime runs, assembled in one place.

Lower layers declare their pieces (job kinds and handlers, effect types, upkeep tasks)
without knowing who uses them; this module binds every piece to the runtime, so
`runtime.py` and `jobs/` import no service and the layers point one way. The CLI, the
server processes and the tests all open their runtime here.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from .config import Config
from .federation import delivery, outbox, profile_links
from .federation import inbox as federation_inbox
from .inbox import featured, followers_sync, quote_checks
from .jobs import JobRegistry
from .jobs.scheduler import CORE, Periodic
from .runtime import EffectHandlers, JobSignal, Runtime, open_runtime
from .services import (
    annual_reports,
    archives,
    conversations,
    dashboard,
    fanout,
    home_feed,
    imports,
    mailer,
    media,
    media_orphans,
    notification_mail,
    notifications,
    polls,
    preview_cards,
    reply_crawl,
    scheduled,
    sessions,
    terms_mail,
    translation,
    web_push,
    webhooks,
)
from .store.effects import InstanceFactsChanged, WebhookEvent, WorkQueued
from .store.entities import EntitiesChanged
from .store.sqlite import sqlite_path
from .streaming import relay
from .streaming.peers import StreamPeers, folder_for

log = logging.getLogger(__name__)


def job_registry() -> JobRegistry:
    """Every job kind a server runs, bound to its handler."""
    registry = JobRegistry()
    mailer.register(registry)
    notification_mail.register(registry)
    delivery.register(registry)
    quote_checks.register(registry)
    media.register(registry)
    media_orphans.register(registry)
    web_push.register(registry)
    polls.register(registry)
    scheduled.register(registry)
    preview_cards.register(registry)
    home_feed.register(registry)
    imports.register(registry)
    archives.register(registry)
    profile_links.register(registry)
    reply_crawl.register(registry)
    followers_sync.register(registry)
    featured.register(registry)
    annual_reports.register(registry)
    terms_mail.register(registry)
    webhooks.register(registry)
    return registry


def delivery_job_registry() -> JobRegistry:
    """The delivery kind alone: what the delivery processes `serve` starts run."""
    registry = JobRegistry()
    delivery.register(registry)
    return registry


async def _wake_workers(rt: Runtime, queued: list[WorkQueued]) -> None:
    kinds = {work.kind for work in queued}
    # Work of no named kind (outbox events, a job put back) wakes everyone.
    rt.wake_jobs(() if "" in kinds else kinds)
    if rt.wake_parent is not None:
        rt.wake_parent(() if "" in kinds else kinds)


async def _forget_entities(rt: Runtime, changes: list[EntitiesChanged]) -> None:
    # Only this process's copies: the others see the moved versions (store.entities).
    for change in changes:
        rt.entities.drop(change.statuses, change.accounts)


async def _forget_instance_facts(rt: Runtime, _: list[InstanceFactsChanged]) -> None:
    rt.instance_facts.invalidate()


def effect_handlers() -> EffectHandlers:
    """What runs after a commit for each kind of effect a unit may record."""
    handlers = EffectHandlers()
    handlers.register(WorkQueued, _wake_workers)
    handlers.register(InstanceFactsChanged, _forget_instance_facts)
    handlers.register(EntitiesChanged, _forget_entities)
    handlers.register(relay.StreamEvent, relay.publish_events)
    handlers.register(fanout.StatusPublished, fanout.publish_statuses)
    handlers.register(conversations.ConversationUpdated, conversations.publish_conversations)
    handlers.register(notifications.NotificationMade, notification_mail.queue_mails)
    handlers.register(WebhookEvent, webhooks.queue_events)
    return handlers


async def _remove_unattached_media(rt: Runtime) -> None:
    removed = await media.remove_unattached(rt)
    if removed:
        log.info("removed %d media uploads never attached to a status", removed)


async def _queue_orphans(rt: Runtime) -> None:
    await media_orphans.queue_run(rt)


async def _end_overdue_polls(rt: Runtime) -> None:
    # Each poll's end is a durable job; this catches one whose job was parked.
    ended = await polls.end_overdue(rt)
    if ended:
        log.info("ended %d overdue polls", ended)


async def _trim_home_feeds(rt: Runtime) -> None:
    await home_feed.trim_feeds(rt)


async def _clear_away_feeds(rt: Runtime) -> None:
    cleared = await home_feed.clear_away(rt)
    if cleared:
        log.info("emptied the home feeds of %d accounts away for a week", cleared)


async def _remove_expired_archives(rt: Runtime) -> None:
    removed = await archives.remove_expired(rt)
    if removed:
        log.info("deleted %d account archives past their week", removed)


async def _send_digests(rt: Runtime) -> None:
    mailed = await notification_mail.send_digests(rt)
    if mailed:
        log.info("mailed a digest to %d people away", mailed)


async def _forget_old_translations(rt: Runtime) -> None:
    await translation.forget_old(rt)


async def _purge_outbox(rt: Runtime) -> None:
    await outbox.purge_dispatched(rt)


def periodic_tasks() -> tuple[Periodic, ...]:
    """The scheduler's upkeep: the queue's own, then the services'."""
    return (
        *CORE,
        Periodic("purge parked stream payloads", 300.0, relay.purge_parked),
        Periodic("remove unattached media", 3600.0, _remove_unattached_media),
        Periodic(
            "queue the orphaned media cleanup", media_orphans.INTERVAL, media_orphans.queue_run
        ),
        Periodic("purge dispatched outbox events", 3600.0, _purge_outbox),
        Periodic("end overdue polls", 600.0, _end_overdue_polls),
        Periodic("forget old inbox activity ids", 3600.0, federation_inbox.forget_old_activities),
        Periodic("forget ended web sessions", 3600.0, sessions.forget_ended_sessions),
        Periodic("trim home feeds", home_feed.TRIM_SECONDS, _trim_home_feeds),
        Periodic("empty the home feeds of those away", 3600.0, _clear_away_feeds),
        Periodic("delete expired account archives", 3600.0, _remove_expired_archives),
        Periodic("forget old translations", 3600.0, _forget_old_translations),
        Periodic("mail digests to those away", 3600.0, _send_digests),
        Periodic("measure the database and media sizes", 3600.0, dashboard.measure_space),
        Periodic("forget old delivery counts", 86400.0, dashboard.forget_old_deliveries),
        Periodic(
            "verify local profiles' links",
            profile_links.REVERIFY_SECONDS,
            profile_links.reverify_local,
        ),
    )


@asynccontextmanager
async def open_server_runtime(
    config: Config, *, migrate: bool = True, registry: JobRegistry | None = None
) -> AsyncIterator[Runtime]:
    """A runtime with everything a server runs (a test may pass its own job registry)."""
    async with open_runtime(
        config,
        registry=registry if registry is not None else job_registry(),
        effects=effect_handlers(),
        periodic=periodic_tasks(),
        migrate=migrate,
    ) as rt:
        # Accepted activities wake the inbox consumers alone (many a second under load).
        rt.kind_signals[federation_inbox.INBOX.name] = JobSignal()
        if rt.store.dialect == "sqlite":
            # Processes on one SQLite database pass stream events as datagrams.
            rt.streams.peers = StreamPeers(folder_for(sqlite_path(config.database_url)))
        yield rt
