"""A plan previewed and confirmed through the services that own each step.

The preview asks each step's own service what it would do: catalog requests and identity
actions are submitted inside a savepoint that is then rolled back (so the verdict, the policy and
who must approve are the service's, and nothing is kept: on-commit messages of a rolled-back
savepoint are dropped), selections use the bulk preview. Confirmation interprets the text again,
refuses if the plan or the directory changed since the preview, then submits every step in one
transaction with one audit event: a refused step leaves nothing changed.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse

from accounts.models import User
from approvals.models import CatalogItem
from approvals.services.requests import access_request_submit
from assistant.interpret import interpret
from assistant.plan import (
    BulkAction,
    CatalogRequest,
    FollowUp,
    IdentityAction,
    Plan,
    Report,
    Step,
)
from audit.services import audit_record
from core.errors import ServiceError
from identity import bulk
from identity.services import action_submit

SHOWN_ROWS = 20


class AskRefused(ServiceError):
    """The plan cannot be confirmed; nothing has changed."""


class _DryRun(Exception):
    """Raised to roll a preview's savepoint back."""


@dataclass
class StepPreview:
    step: Step
    said: str  # in Gatehouse's words
    refusal: str = ""
    policy: str = ""
    approvers: str = ""  # who must approve, or "" when it goes to Okta at once
    outcome: str = ""  # what happens on confirming
    count: int = 1
    skipped: int = 0
    skipped_why: list[tuple[str, int]] = field(default_factory=list)
    rows: list[bulk.PreviewRow] = field(default_factory=list)
    bulk_hash: str = ""
    second_admin: bool = False


@dataclass
class Preview:
    plan: Plan
    steps: list[StepPreview]
    fingerprint: str

    @property
    def refused(self) -> bool:
        return any(s.refusal for s in self.steps)

    @property
    def confirmable(self) -> bool:
        return self.plan.ok and not self.refused and any(s.count for s in self.writes)

    @property
    def writes(self) -> list[StepPreview]:
        return [s for s in self.steps if not isinstance(s.step, Report | FollowUp)]


def _dry_run(submit: Any) -> Any:
    """What ``submit()`` returns, computed inside a savepoint that is rolled back."""
    seen: dict[str, Any] = {}
    try:
        with transaction.atomic():
            seen["result"] = submit()
            seen["read"] = _read_back(seen["result"])
            raise _DryRun
    except _DryRun:
        pass
    return seen["read"]


def _read_back(obj: Any) -> dict[str, str]:
    """What the preview says of a request the service made (read before the rollback)."""
    approval = getattr(obj, "approval_request", None)
    if obj.__class__.__name__ == "AccessRequest":
        approval = obj
    if approval is None:
        return {"policy": "", "approvers": "", "status": "at once"}
    approval.refresh_from_db()
    status = approval.get_status_display().lower()
    waiting = approval.waiting_on() if approval.is_pending else ""
    return {
        "policy": approval.policy_name,
        "approvers": waiting,
        "status": status,
        "auto": approval.auto_approved_reason or "",
    }


def _preview_step(step: Step, actor: User, request: HttpRequest | None) -> StepPreview:
    if isinstance(step, CatalogRequest):
        said = f"Ask for {step.item_name} for {step.subject_label}" + (
            f" for {step.duration_days} days" if step.duration_days else " permanently"
        )
        if step.reason:
            said += f", reason: “{step.reason}”"
        item = CatalogItem.objects.get(pk=step.item_id)
        try:
            seen = _dry_run(
                lambda: access_request_submit(
                    requester=actor,
                    item=item,
                    subject_id=step.subject_id,
                    reason=step.reason,
                    duration_days=step.duration_days,
                )
            )
        except ServiceError as exc:
            return StepPreview(step, said, refusal=exc.message)
        if seen.get("auto"):
            outcome = seen["auto"] + " Okta is updated at once."
        else:
            outcome = f"Waits for {seen['approvers']}."
        return StepPreview(
            step, said, policy=seen["policy"], approvers=seen["approvers"], outcome=outcome
        )
    if isinstance(step, IdentityAction):
        said = f"{step.label}" + (f": {step.target_label}" if step.target_label else "")
        try:
            seen = _dry_run(
                lambda: action_submit(
                    actor=actor,
                    action=step.action,
                    variant=step.variant,
                    target_user_id=step.target_user_id,
                    params=step.params,
                )
            )
        except ServiceError as exc:
            return StepPreview(step, said, refusal=exc.message)
        if seen["approvers"]:
            outcome = f"Waits for {seen['approvers']} (policy “{seen['policy']}”)."
        else:
            outcome = "Goes to Okta at once: no approval is needed under its policy."
        return StepPreview(
            step, said, policy=seen["policy"], approvers=seen["approvers"], outcome=outcome
        )
    if isinstance(step, BulkAction):
        said = f"{step.label}: {step.selection_label}"
        try:
            preview = bulk.bulk_preview(
                actor=actor, action=step.action, params=step.params, selection=step.selection
            )
        except ServiceError as exc:
            return StepPreview(step, said, refusal=exc.message)
        why = Counter(r.skip for r in preview.rows if r.skip)
        outcome = (
            "Waits for a second admin to confirm, then goes to Okta."
            if preview.needs_second_admin
            else "Goes to Okta at once, one operation per change."
        )
        return StepPreview(
            step,
            said,
            outcome=outcome,
            count=preview.changing,
            skipped=preview.skipped,
            skipped_why=why.most_common(),
            rows=preview.rows[:SHOWN_ROWS],
            bulk_hash=preview.hash,
            second_admin=preview.needs_second_admin,
        )
    if isinstance(step, FollowUp):
        return StepPreview(step, step.text, outcome=step.why, count=0)
    return StepPreview(step, step.label, count=0)


def _fingerprint(plan: Plan, steps: list[StepPreview]) -> str:
    body = json.dumps(
        [plan.as_json(), [s.bulk_hash for s in steps]], sort_keys=True, default=str
    ).encode()
    return hashlib.sha256(body).hexdigest()


def ask_preview(*, actor: User, text: str, request: HttpRequest | None = None) -> Preview:
    """What ``text`` would do for ``actor``: the plan and each step's service verdict.
    Changes nothing."""
    plan = interpret(text, actor=actor)
    steps = [_preview_step(s, actor, request) for s in plan.steps]
    return Preview(plan, steps, _fingerprint(plan, steps))


@dataclass
class Done:
    said: str
    outcome: str
    link: str = ""
    follow_up: bool = False


def ask_confirm(
    *, actor: User, text: str, fingerprint: str, request: HttpRequest | None = None
) -> list[Done]:
    """Submit the plan for ``text`` exactly as previewed (``fingerprint``), through each step's
    service, in one transaction with one audit event. Raises ``AskRefused`` (nothing changed)."""
    preview = ask_preview(actor=actor, text=text, request=request)
    if not preview.plan.ok:
        raise AskRefused(preview.plan.problems[0].message if preview.plan.problems else "")
    if preview.fingerprint != fingerprint:
        raise AskRefused(
            "The directory or the request changed since the preview: nothing was done. "
            "Look at the new preview and confirm again."
        )
    refused = [s.refusal for s in preview.steps if s.refusal]
    if refused:
        raise AskRefused(refused[0])
    if not preview.writes:
        raise AskRefused("There is nothing to confirm: this only shows information.")
    done: list[Done] = []
    try:
        with transaction.atomic():
            for sp in preview.steps:
                done.append(_submit(sp, actor, request))
            audit_record(
                action="assistant.confirmed",
                actor=actor,
                target_type="ask",
                target_label=text[:200],
                detail={
                    "text": text,
                    "plan": preview.plan.as_json(),
                    "confirmed": [{"step": d.said, "outcome": d.outcome} for d in done],
                },
                request=request,
            )
    except ServiceError as exc:
        raise AskRefused(f"{exc.message} Nothing was done.") from exc
    return done


def _submit(sp: StepPreview, actor: User, request: HttpRequest | None) -> Done:
    step = sp.step
    if isinstance(step, CatalogRequest):
        req = access_request_submit(
            requester=actor,
            item=CatalogItem.objects.get(pk=step.item_id),
            subject_id=step.subject_id,
            reason=step.reason,
            duration_days=step.duration_days,
            http_request=request,
        )
        return Done(
            sp.said,
            f"Request #{req.pk}: {req.get_status_display().lower()}.",
            req.get_absolute_url(),
        )
    if isinstance(step, IdentityAction):
        action = action_submit(
            actor=actor,
            action=step.action,
            variant=step.variant,
            target_user_id=step.target_user_id,
            params=step.params,
            request=request,
        )
        state = "waiting for approval" if action.approval_request_id else "sent to Okta"
        return Done(
            sp.said,
            f"Action #{action.pk}: {state}.",
            reverse("identity:action_detail", args=[action.pk]),
        )
    if isinstance(step, BulkAction):
        run = bulk.bulk_confirm(
            actor=actor,
            action=step.action,
            params=step.params,
            selection=step.selection,
            preview_hash=sp.bulk_hash,
        )
        state = "waiting for a second admin" if sp.second_admin else "running"
        return Done(
            sp.said,
            f"Bulk run #{run.pk} for {run.total} people: {state}.",
            reverse("identity:bulk_run", args=[run.pk]),
        )
    if isinstance(step, FollowUp):
        return Done(step.text, step.why, follow_up=True)
    return Done(sp.said, "Shown.")
