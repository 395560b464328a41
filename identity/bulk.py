"""Bulk runs: previewed (``bulk_preview``, exactly who changes and how), confirmed against the
preview's hash (``bulk_confirm``), above a size confirmed by a second admin
(``bulk_second_confirm``), and followed through their operations (``bulk_progress``). The same
guardrails as one action (``identity.guardrails``) decide who is left out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from identity.actions import BULK_ACTIONS, VARIANTS
from identity.guardrails import (
    REQUIRED_STATUS,
    ActionRefused,
    changeable_group,
    portal_role_groups,
    privileged_targets_refused,
)
from identity.models import ActionPolicy, BulkItem, BulkRun, BulkStatus, Requester
from identity.services import policy_for
from okta.models import (
    AppAssignment,
    GroupMembership,
    OktaApp,
    OktaUser,
    Operation,
    OperationStatus,
)
from okta.operations import operation_retry, operations_enqueue

PREVIEW_ROWS = 500


def selection_queryset(selection: Mapping[str, Any]) -> QuerySet[OktaUser]:
    """People picked by a directory search or a group's members (or a list of logins)."""
    qs = OktaUser.objects.all()
    if selection.get("department"):
        qs = qs.filter(department__iexact=selection["department"])
    if selection.get("status"):
        qs = qs.filter(status=selection["status"])
    days = selection.get("inactive_days")
    if days:
        cutoff = timezone.now() - timedelta(days=int(days))
        qs = qs.filter(Q(last_login__lt=cutoff) | Q(last_login__isnull=True))
    if selection.get("group_id"):
        qs = qs.filter(
            Exists(
                GroupMembership.objects.filter(
                    group_id=selection["group_id"], user_id=OuterRef("pk")
                )
            )
        )
    logins = selection.get("logins") or []
    if logins:
        lowered = [x.lower() for x in logins]
        qs = qs.filter(Q(login__in=lowered) | Q(email__in=lowered))
    searched = any(selection.get(k) for k in ("department", "status", "inactive_days", "group_id"))
    if not searched and not logins:
        return qs.none()  # an empty search never selects the whole directory
    return qs


@dataclass
class PreviewRow:
    user_id: str
    label: str
    login: str
    status: str
    change: str
    skip: str  # why this person is left out ("" = they change)
    op: tuple[str, dict[str, Any]] | None = None


@dataclass
class Preview:
    action: str
    params: dict[str, Any]
    selection: dict[str, Any]
    rows: list[PreviewRow]
    hash: str
    changing: int
    skipped: int
    threshold: int
    needs_approval: bool = False

    @property
    def needs_second_admin(self) -> bool:
        """Above the policy's size, or for an action whose policy wants any approval (bulk
        must not be a way around the two-person rule of a single suspend)."""
        return self.changing > self.threshold or self.needs_approval

    def shown(self) -> list[PreviewRow]:
        return self.rows[:PREVIEW_ROWS]


def _bulk_targets(
    *, action: str, params: Mapping[str, Any], actor: User
) -> tuple[str, str, ActionPolicy, list[tuple[str, str]]]:
    """Check the bulk action itself; (policy action, variant, policy, [(target id, label)])."""
    if action not in BULK_ACTIONS:
        raise ActionRefused("Pick an action.", field="action")
    policy_action, variant, _ = BULK_ACTIONS[action]
    policy = policy_for(policy_action)
    if not policy.enabled:
        raise ActionRefused(f"{policy} is turned off by policy.")
    if not actor.has_perm("identity.run_bulk") or Requester.ADMIN not in policy.requesters:
        raise ActionRefused("Only admins run bulk operations.")
    targets: list[tuple[str, str]] = []
    if action in ("group_add", "group_remove"):
        group = changeable_group(str(params.get("group_id", "")))
        if group.name in portal_role_groups():
            raise ActionRefused("Gatehouse role groups are not changed in bulk.", field="group_id")
        targets = [(group.pk, group.name)]
    elif action in ("app_assign", "app_unassign"):
        ids = [str(a) for a in params.get("app_ids", [])]
        apps = list(OktaApp.objects.filter(pk__in=ids).order_by("label"))
        if not ids or len(apps) != len(set(ids)):
            raise ActionRefused("Pick one or more apps from the directory.", field="app_ids")
        targets = [(a.pk, a.label) for a in apps]
    return policy_action, variant, policy, targets


def bulk_preview(
    *, actor: User, action: str, params: Mapping[str, Any], selection: Mapping[str, Any]
) -> Preview:
    """Exactly who changes and how: one query for the people, one for those the
    privileged-target refusal protects (``identity.guardrails``), plus one for existing
    memberships or assignments, whatever the selection's size."""
    policy_action, variant, policy, targets = _bulk_targets(
        action=action, params=params, actor=actor
    )
    kind, fixed, label = VARIANTS[policy_action][variant]
    people = (
        selection_queryset(selection)
        .order_by("last_name", "first_name", "id")
        .values_list("id", "first_name", "last_name", "login", "status")
    )
    protected = privileged_targets_refused(
        actor.okta_id, selection_queryset(selection).values("pk"), policy
    )
    existing: set[tuple[str, str]] = set()
    if action in ("group_add", "group_remove"):
        existing = set(
            GroupMembership.objects.filter(
                group_id=targets[0][0], user_id__in=selection_queryset(selection).values("pk")
            ).values_list("group_id", "user_id")
        )
    elif action in ("app_assign", "app_unassign"):
        existing = set(
            AppAssignment.objects.filter(
                app_id__in=[t[0] for t in targets],
                scope="USER",
                user_id__in=selection_queryset(selection).values("pk"),
            ).values_list("app_id", "user_id")
        )
    rule = REQUIRED_STATUS.get((policy_action, variant))
    rows: list[PreviewRow] = []
    for user_id, first, last, login, status in people.iterator(chunk_size=2000):
        name = f"{first} {last}".strip() or login
        skip = ""
        if user_id == actor.okta_id:
            skip = "you cannot act on your own account"
        elif user_id in protected:
            skip = "holds a privileged admin role"
        elif rule and status not in rule[0]:
            skip = f"is {status}"
        if not targets:
            rows.append(
                PreviewRow(
                    user_id,
                    name,
                    login,
                    status,
                    label,
                    skip,
                    None if skip else (kind, {"user_id": user_id, **fixed}),
                )
            )
            continue
        for target_id, target_label in targets:
            reason = skip
            has = (target_id, user_id) in existing
            adding = action in ("group_add", "app_assign")
            if not reason and adding and has:
                reason = "already there"
            elif not reason and not adding and not has:
                reason = "not there"
            key = "group_id" if action.startswith("group") else "app_id"
            rows.append(
                PreviewRow(
                    user_id,
                    name,
                    login,
                    status,
                    f"{label}: {target_label}",
                    reason,
                    None if reason else (kind, {"user_id": user_id, key: target_id}),
                )
            )
    digest = hashlib.sha256(
        json.dumps(
            [action, dict(params), [(r.user_id, r.change) for r in rows if not r.skip]],
            sort_keys=True,
        ).encode()
    ).hexdigest()
    changing = sum(1 for r in rows if not r.skip)
    return Preview(
        action=action,
        params=dict(params),
        selection=dict(selection),
        rows=rows,
        hash=digest,
        changing=changing,
        skipped=len(rows) - changing,
        threshold=policy.bulk_confirm_threshold,
        needs_approval=policy.approval_policy_id is not None,
    )


def bulk_confirm(
    *,
    actor: User,
    action: str,
    params: Mapping[str, Any],
    selection: Mapping[str, Any],
    preview_hash: str,
) -> BulkRun:
    """Start a bulk run exactly as previewed; a stale preview is refused. Above the policy's
    threshold the run waits for a second admin."""
    preview = bulk_preview(actor=actor, action=action, params=params, selection=selection)
    if preview.hash != preview_hash:
        raise ActionRefused(
            "The directory changed since the preview: nothing was done. Preview again."
        )
    if not preview.changing:
        raise ActionRefused("Nobody would change: nothing to do.")
    with transaction.atomic():
        run = BulkRun.objects.create(
            action=action,
            params=preview.params,
            selection=preview.selection,
            preview_hash=preview.hash,
            total=preview.changing,
            status=BulkStatus.AWAITING_CONFIRMATION
            if preview.needs_second_admin
            else BulkStatus.RUNNING,
            requested_by=actor.username,
            requested_by_okta_id=actor.okta_id or "",
        )
        audit_record(
            action="identity.bulk.confirmed",
            actor=actor,
            target_type="bulk_run",
            target_id=str(run.pk),
            detail={
                "bulk_run": run.pk,
                "action": action,
                "selection": preview.selection,
                "changing": preview.changing,
                "skipped": preview.skipped,
                "preview_hash": preview.hash,
                "needs_second_admin": preview.needs_second_admin,
            },
        )
        if run.status == BulkStatus.RUNNING:
            _bulk_dispatch(run, preview, actor)
    return run


def _bulk_dispatch(run: BulkRun, preview: Preview, actor: Any) -> None:
    """One operation per change, then one item per change pointing at it (two bulk inserts)."""
    rows = [r for r in preview.rows if not r.skip and r.op is not None]
    ops = operations_enqueue(
        items=[
            {"kind": r.op[0], "params": r.op[1], "correlation": run.correlation}
            for r in rows
            if r.op
        ],
        actor=actor,
    )
    BulkItem.objects.bulk_create(
        [
            BulkItem(run=run, user_id=r.user_id, label=r.label, change=r.change, operation_id=op.pk)
            for r, op in zip(rows, ops, strict=True)
        ],
        batch_size=1000,
    )


def bulk_run_preview(run: BulkRun) -> Preview:
    """The run's selection as it stands now, seen by the admin who started it (what a second
    admin confirms)."""
    requester = User.objects.filter(username=run.requested_by).first()
    if requester is None:
        raise ActionRefused("The admin who started this run is gone: start again.")
    return bulk_preview(
        actor=requester, action=run.action, params=run.params, selection=run.selection
    )


def bulk_second_confirm(*, actor: User, run_id: int) -> BulkRun:
    """A second admin confirms a large run; the selection must still match its preview."""
    with transaction.atomic():
        run = BulkRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            raise ActionRefused("No such bulk run.")
        if run.status != BulkStatus.AWAITING_CONFIRMATION:
            raise ActionRefused("This run is not waiting for a confirmation.")
        if not actor.has_perm("identity.run_bulk") or actor.username == run.requested_by:
            raise ActionRefused("A second admin, not the one who started it, must confirm.")
        preview = bulk_run_preview(run)
        if preview.hash != run.preview_hash:
            raise ActionRefused(
                "The directory changed since the preview: nothing was done. Start again."
            )
        run.status = BulkStatus.RUNNING
        run.confirmed_by = actor.username
        run.save(update_fields=["status", "confirmed_by"])
        audit_record(
            action="identity.bulk.second_confirmed",
            actor=actor,
            target_type="bulk_run",
            target_id=str(run.pk),
            detail={"bulk_run": run.pk, "action": run.action, "changing": run.total},
        )
        _bulk_dispatch(run, preview, actor)
    return run


@dataclass
class Progress:
    total: int
    succeeded: int
    failed: int
    pending: int
    status: str = BulkStatus.RUNNING  # the run's own: waiting for a second admin, cancelled

    @property
    def done(self) -> int:
        return self.succeeded + self.failed

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.done / self.total)

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    @property
    def state(self) -> str:
        """Where the run stands, for a person: the stored status says only whether its
        changes were sent; whether Okta has carried them out is in their operations."""
        if self.status != BulkStatus.RUNNING:
            return BulkStatus(self.status).label
        if not self.finished:
            return f"Running: {self.done} of {self.total} done"
        if self.failed:
            return f"Finished with {self.failed} failure{'s' if self.failed != 1 else ''}"
        return "Finished"


def bulk_progress(run: BulkRun) -> Progress:
    """One grouped count over the run's operations."""
    return bulk_progress_of([run])[run.pk]


def bulk_progress_of(runs: Iterable[BulkRun]) -> dict[int, Progress]:
    """Each run's progress by its id, from one grouped count over all their operations."""
    by_correlation = {run.correlation: run for run in runs}
    counts: dict[str, dict[str, int]] = {c: {} for c in by_correlation}
    rows = (
        Operation.objects.filter(correlation__in=list(by_correlation))
        .values_list("correlation", "status")
        .annotate(n=Count("id"))
        .values_list("correlation", "status", "n")
    )
    for correlation, status, n in rows:
        counts[correlation][status] = n
    out: dict[int, Progress] = {}
    for correlation, run in by_correlation.items():
        succeeded = counts[correlation].get(OperationStatus.SUCCEEDED, 0)
        failed = counts[correlation].get(OperationStatus.FAILED, 0)
        out[run.pk] = Progress(
            run.total, succeeded, failed, run.total - succeeded - failed, status=run.status
        )
    return out


def bulk_retry_failures(*, actor: User, run_id: int) -> int:
    """Send only the run's failed operations to Okta again; returns how many."""
    if not actor.has_perm("identity.run_bulk"):
        raise ActionRefused("Only admins retry bulk runs.")
    run = BulkRun.objects.filter(pk=run_id).first()
    if run is None:
        raise ActionRefused("No such bulk run.")
    failed = Operation.objects.filter(
        correlation=run.correlation, status=OperationStatus.FAILED
    ).values_list("pk", flat=True)
    return sum(operation_retry(operation_id=pk, actor=actor) for pk in list(failed))
