"""Incremental sync: what changed since the last successful run, at a cost that follows the
changes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from okta.models import (
    GroupMembership,
    GroupType,
    HookEvent,
    SyncCursor,
    SyncKind,
    SyncRun,
    SyncStatus,
)
from okta.signals import statuses_changed_send
from okta.sync.bulk import MEMBERSHIPS, delete_groups, delete_users, upsert_links
from okta.sync.events import (
    CLOCK_SKEW,
    LOG_CURSOR,
    LOG_EVENT_TYPES,
    Refresh,
    event_targets,
    events_apply_local,
    mirror_refresh,
)
from okta.sync.full import fetch_links, sync_full, sync_groups, sync_users
from okta.sync.rows import membership_row, okta_time
from okta.sync.runs import Progress, run_finish
from okta.sync.scope import Scope

if TYPE_CHECKING:
    from okta.client import OktaClient

log = logging.getLogger(__name__)

HOOK_EVENT_RETENTION = timedelta(days=7)


def _last_success_start() -> datetime | None:
    last = (
        SyncRun.objects.filter(status__in=[SyncStatus.SUCCEEDED, SyncStatus.PARTIAL])
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return last


def sync_incremental(
    *,
    run: SyncRun,
    client: OktaClient,
    on_progress: Callable[[SyncRun], None] | None = None,
) -> SyncRun:
    """Apply what changed since the last successful sync; its cost follows the changes.

    Users and groups come from ``lastUpdated`` / ``lastMembershipUpdated`` filters; memberships,
    app assignments, deletions and lifecycle changes from the System Log, read from the stored
    cursor up to the run's start. Only a group whose membership changed with no logged event
    has its member list re-read.
    """
    since = _last_success_start()
    if since is None:
        run.kind = SyncKind.FULL
        SyncRun.objects.filter(pk=run.pk).update(kind=SyncKind.FULL)
        return sync_full(run=run, client=client, on_progress=on_progress)
    progress = Progress(run, on_progress)
    scope = Scope.load()
    since -= CLOCK_SKEW
    until = run.started_at
    try:
        progress.phase("users")
        changed_users: list[str] = []
        dropped_users = sync_users(client, scope, progress, since=since, kept=changed_users)
        delete_users(dropped_users)
        stamp = okta_time(since)
        progress.phase("groups")
        groups, dropped_groups = sync_groups(
            client,
            scope,
            progress,
            f'lastUpdated gt "{stamp}" or lastMembershipUpdated gt "{stamp}"',
        )
        delete_groups(dropped_groups)
        progress.phase("system log")
        cursor = SyncCursor.objects.filter(name=LOG_CURSOR).values_list("value", flat=True).first()
        logged_groups: set[str] = set()
        refresh = Refresh()
        events = 0
        for page in client.log_pages(
            since=cursor or stamp,
            # ``until`` is exclusive and Okta times have millisecond precision: reach past the
            # run's own millisecond; the next poll starts from it again (re-applying an event
            # is harmless).
            until=okta_time(until + timedelta(milliseconds=1)),
            filter=" or ".join(f'eventType eq "{t}"' for t in LOG_EVENT_TYPES),
        ):
            events += len(page.items)
            with transaction.atomic():
                found = events_apply_local(page.items)
            refresh.users |= found.users
            refresh.groups |= found.groups
            logged_groups.update(
                gid
                for event in page.items
                if str(event.get("eventType", "")).startswith("group.user_membership.")
                for gid in event_targets(event, "UserGroup")
            )
        progress.add("log_events", events)
        refresh.users -= set(changed_users)  # already re-read through the lastUpdated filter
        if refresh:
            mirror_refresh(client=client, refresh=refresh, scope=scope)
        # Membership changes arrive as System Log events (cost follows the changes). A group
        # whose membership changed without any logged event (a group rule, an import) has its
        # member list re-read. Everyone (BUILT_IN) holds every user: its only changes are users
        # arriving (listed above) or leaving (deleted above), so it is never re-read.
        unexplained = [
            g.id
            for g in groups
            if g.type != GroupType.BUILT_IN
            and g.id not in logged_groups
            and (g.last_membership_updated is None or g.last_membership_updated > since)
        ]
        for everyone in (g for g in groups if g.type == GroupType.BUILT_IN):
            upsert_links(MEMBERSHIPS, [(everyone.id, u) for u in changed_users], timezone.now())
        if unexplained:
            progress.phase("memberships")
            refreshed_at = timezone.now()
            members = fetch_links(
                client,
                unexplained,
                "/api/v1/groups/{id}/users",
                1000,
                membership_row,
                MEMBERSHIPS,
                "memberships",
                progress,
            )
            GroupMembership.objects.filter(
                group_id__in=[g for g in unexplained if g not in members.failed],
                synced_at__lt=refreshed_at,
            ).delete()
        run.counts["sessions_ended"] = statuses_changed_send(source="incremental sync")
        SyncCursor.objects.update_or_create(name=LOG_CURSOR, defaults={"value": okta_time(until)})
        # Event-hook deliveries are kept a while for deduplication (Okta retries within hours).
        HookEvent.objects.filter(applied_at__lt=until - HOOK_EVENT_RETENTION).delete()
    except Exception as exc:
        log.exception("incremental sync %s failed", run.pk)
        progress.error(str(exc))
        run_finish(run, status=SyncStatus.FAILED, message=f"Sync failed: {exc}")
        return run
    run.phase = "done"
    run_finish(run, status=SyncStatus.PARTIAL if run.errors else SyncStatus.SUCCEEDED)
    return run
