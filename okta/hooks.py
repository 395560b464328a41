"""Okta Event Hook ingestion: check, store once per event uuid, and apply through a task.

The endpoint answers quickly: it authenticates the call (constant-time comparison of the
``Authorization`` value), validates the body's shape, stores events that were not seen before
and sends ``okta.apply_hook_events`` (by name) after commit. The task applies them to the mirror
(okta.sync.events.events_apply_local), claiming each stored event with a conditional UPDATE so
that a task delivered twice applies nothing twice.

Stored is answered: when the broker cannot take the message, the delivery still gets its 200
(Okta would retry once, then drop the events) and ``hook_events_sweep``, run by beat every
minute, applies what is still unapplied once a worker runs again.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnreachable

from core.dispatch import task_send
from okta.connection import hook_secret
from okta.models import HookEvent
from okta.signals import statuses_changed_send

MAX_EVENTS_PER_DELIVERY = 1000
# The sweep leaves fresh events to the message queued for them, and takes this many at a time.
SWEEP_AFTER = timedelta(seconds=30)
SWEEP_BATCH = 1000

logger = logging.getLogger(__name__)


class HookPayloadError(ValueError):
    """The body is not an Okta event hook delivery; the message says what is wrong."""


def hook_authorized(header_value: str | None) -> bool:
    """True when ``header_value`` equals the configured secret (constant-time)."""
    expected = hook_secret()
    if not expected or header_value is None:
        return False
    return hmac.compare_digest(header_value.encode(), expected.encode())


def hook_parse(body: bytes) -> list[dict[str, Any]]:
    """The events of a delivery, or HookPayloadError naming the first problem found."""
    try:
        data = json.loads(body)
        # What the database's JSON cannot hold is refused here, not by a 500 on insert:
        # NaN/Infinity, lone surrogates and NUL characters (PostgreSQL's jsonb rejects them).
        text = json.dumps(data, allow_nan=False, ensure_ascii=False)
        text.encode("utf-8")  # a lone surrogate raises UnicodeEncodeError
        if "\\u0000" in text:
            raise ValueError("NUL character")
    except (ValueError, UnicodeError):
        raise HookPayloadError("The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise HookPayloadError("The body must be a JSON object.")
    inner = data.get("data")
    if not isinstance(inner, dict) or not isinstance(inner.get("events"), list):
        raise HookPayloadError('The body must have "data": {"events": [...]}.')
    events = inner["events"]
    if len(events) > MAX_EVENTS_PER_DELIVERY:
        raise HookPayloadError(f"Too many events (at most {MAX_EVENTS_PER_DELIVERY}).")
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise HookPayloadError(f"events[{index}] must be an object.")
        uuid = event.get("uuid")
        if not isinstance(uuid, str) or not uuid or len(uuid) > 64:
            raise HookPayloadError(f"events[{index}].uuid must be a non-empty string.")
        if not isinstance(event.get("eventType"), str) or not event["eventType"]:
            raise HookPayloadError(f"events[{index}].eventType must be a non-empty string.")
        target = event.get("target")
        if target is not None and not (
            isinstance(target, list) and all(isinstance(t, dict) for t in target)
        ):
            raise HookPayloadError(f"events[{index}].target must be a list of objects.")
    return events


def hook_events_store(*, events: Sequence[dict[str, Any]]) -> list[int]:
    """Store events not seen before (by uuid) and queue their application after commit.

    Returns the ids of newly stored events; a repeated delivery stores and queues nothing.
    """
    if not events:
        return []
    by_uuid = {e["uuid"]: e for e in events}
    with transaction.atomic():
        seen = set(HookEvent.objects.filter(uuid__in=list(by_uuid)).values_list("uuid", flat=True))
        fresh = [uuid for uuid in by_uuid if uuid not in seen]
        # ignore_conflicts: a concurrent delivery of the same uuid may have won the race; the
        # task's claim (applied_at) still applies each event once.
        HookEvent.objects.bulk_create(
            [
                HookEvent(
                    uuid=uuid,
                    event_type=str(by_uuid[uuid]["eventType"])[:120],
                    published=str(by_uuid[uuid].get("published") or "")[:40],
                    payload=by_uuid[uuid],
                )
                for uuid in fresh
            ],
            ignore_conflicts=True,
        )
        ids = list(HookEvent.objects.filter(uuid__in=fresh).values_list("id", flat=True))
        if ids:
            transaction.on_commit(lambda: _queue(ids))
    return ids


def _queue(ids: list[int]) -> None:
    try:
        # One attempt: Okta waits 3 seconds for the answer, and the sweep covers a miss.
        task_send("okta.apply_hook_events", ids, retry=False)
    except BrokerUnreachable as exc:
        logger.warning(
            "Event hook: %d event(s) stored but the broker is unreachable (%s); "
            "the sweep applies them when a worker runs again.",
            len(ids),
            exc,
        )


def hook_events_apply(*, event_ids: Sequence[int], client: Any = None) -> int:
    """Apply stored events to the mirror; returns how many this call applied.

    Each event is claimed (``applied_at`` set where it was null) in the same transaction that
    applies it, so concurrent or repeated runs apply each event once. Users whose lifecycle
    changed are re-read from Okta afterwards, outside the transaction.
    """
    from okta.sync.events import events_apply_local, mirror_refresh

    with transaction.atomic():
        now = timezone.now()
        pending = list(
            HookEvent.objects.filter(id__in=list(event_ids), applied_at=None).order_by(
                "published", "id"
            )
        )
        claimed = [
            e
            for e in pending
            if HookEvent.objects.filter(pk=e.pk, applied_at=None).update(applied_at=now)
        ]
        refresh = events_apply_local([e.payload for e in claimed])
    if refresh:
        if client is None:
            from okta.connection import active_client

            with active_client() as own:
                mirror_refresh(client=own, refresh=refresh)
        else:
            mirror_refresh(client=client, refresh=refresh)
    statuses_changed_send(source="event hook")
    return len(claimed)


def hook_events_sweep(*, older_than: timedelta = SWEEP_AFTER, batch: int = SWEEP_BATCH) -> int:
    """Apply stored events that no message applied (the broker was down when they came, or
    the message was lost); returns how many were applied. Safe next to the queued tasks: each
    event is claimed once."""
    applied = 0
    cutoff = timezone.now() - older_than
    last_id = 0
    while True:
        ids = list(
            HookEvent.objects.filter(applied_at=None, received_at__lte=cutoff, id__gt=last_id)
            .order_by("id")
            .values_list("id", flat=True)[:batch]
        )
        if not ids:
            return applied
        applied += hook_events_apply(event_ids=ids)
        last_id = ids[-1]
