"""What the approvals services share: the refusal they raise, the timeline and audit
writers, and the outbox door with its refusal turned into a sentence for people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from accounts.models import User
from approvals import notifications
from approvals.fulfilment import OperationSpec
from approvals.models import (
    AccessRequest,
    CatalogItem,
    ItemKind,
    RequestEvent,
)
from audit.services import audit_record, audit_record_many
from core.errors import ServiceError
from okta.models import (
    Operation,
    OperationKind,
)
from okta.operations import (
    OperationInvalid,
)
from okta.operations import operation_enqueue as _operation_enqueue

CALLBACK_TASK = "approvals.operation_finished"
# Okta users who can sign in and act; anyone else is skipped when resolving approvers.
ACTING_STATUSES = ("ACTIVE", "PASSWORD_EXPIRED", "LOCKED_OUT", "RECOVERY")
GRANTABLE_SUBJECT_STATUSES = (*ACTING_STATUSES, "PROVISIONED", "STAGED")


def operation_enqueue(**kwargs: Any) -> Operation:
    """okta's enqueue, with its refusal turned into a message for people (nothing written)."""
    try:
        return _operation_enqueue(**kwargs)
    except OperationInvalid as exc:
        raise ApprovalError(f"Gatehouse cannot send this change to Okta: {exc}") from exc


class ApprovalError(ServiceError):
    """A refusal with a plain message; ``field`` names the form field it concerns, if any."""


def actor_name(user: User) -> str:
    return str(user)


def timeline_event(
    req: AccessRequest, kind: str, text: str, actor: str = "", problem: bool = False
) -> None:
    RequestEvent.objects.create(
        request=req, kind=kind, text=text, actor_label=actor, is_problem=problem
    )


def _request_audit(
    req: AccessRequest, action: str, actor: Any, outcome: str = "success", **detail: Any
) -> dict[str, Any]:
    """The audit event of a change to ``req``, as keyword arguments of ``audit_record``."""
    return {
        "action": action,
        "actor": actor,
        "target_type": "access_request",
        "target_id": str(req.pk),
        "target_label": req.label,
        "outcome": outcome,
        "detail": {
            "status": req.status,
            **({"kind": req.kind} if req.kind else {"item_id": req.item_id}),
            "subject": req.subject_id,
            **detail,
        },
    }


def audit_request(
    req: AccessRequest,
    action: str,
    actor: Any,
    http_request: HttpRequest | None = None,
    outcome: str = "success",
    **detail: Any,
) -> None:
    audit_record(**_request_audit(req, action, actor, outcome, **detail), request=http_request)


@dataclass
class Writes:
    """What deciding or routing requests writes besides the requests themselves, gathered so
    that a batch costs one insert per table: timeline events, audit events (chained in the
    order given) and the emails to send after commit."""

    events: list[RequestEvent] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    notes: list[notifications.Note] = field(default_factory=list)

    def event(
        self, req: AccessRequest, kind: str, text: str, actor: str = "", problem: bool = False
    ) -> None:
        self.events.append(
            RequestEvent(request=req, kind=kind, text=text, actor_label=actor, is_problem=problem)
        )

    def audit_request(self, req: AccessRequest, action: str, actor: Any, **detail: Any) -> None:
        self.audit.append(_request_audit(req, action, actor, **detail))

    def flush_audit(self, http_request: HttpRequest | None) -> None:
        audit_record_many(events=self.audit, request=http_request)
        self.audit = []

    def flush(self, http_request: HttpRequest | None) -> None:
        RequestEvent.objects.bulk_create(self.events)
        self.flush_audit(http_request)
        notifications.send_after_commit(*self.notes)


def operation_for(req_or_grant_item: CatalogItem, subject_id: str, add: bool) -> OperationSpec:
    item = req_or_grant_item
    if item.kind == ItemKind.GROUP:
        kind = OperationKind.GROUP_MEMBER_ADD if add else OperationKind.GROUP_MEMBER_REMOVE
        return kind, {"group_id": str(item.group_id), "user_id": subject_id}
    kind = OperationKind.APP_USER_ASSIGN if add else OperationKind.APP_USER_UNASSIGN
    return kind, {"app_id": str(item.app_id), "user_id": subject_id}


def okta_message(op: Operation) -> str:
    summary = op.error_summary or "Okta did not say why."
    parts = [p for p in (op.error_code, f"HTTP {op.okta_status}" if op.okta_status else "") if p]
    ref = f" [Okta request id {op.okta_request_id}]" if op.okta_request_id else ""
    return f"{summary}" + (f" ({', '.join(parts)})" if parts else "") + ref
