"""Slack approvals: the messages approvers get, what a click does, and the outcome for all.

- ``stage_messages_send``: when a stage opens (approvals' ``stage_opened`` signal, then a
  Celery task), each of its approvers whom Slack knows by their email gets a DM with the
  request's context and Approve / Deny buttons; each message sent is stored (``SlackMessage``).
- ``interaction_handle``: a click Slack POSTs back. Its signature and timestamp are checked,
  a replay is refused, the clicking Slack user must be the person the message was sent to, and
  the decision goes through approvals' ``access_request_decide`` as that person, with the same
  rules as the web page. Nothing changes when any of this refuses.
- ``messages_refresh``: every message of a request is updated with what became of its stage
  (for everyone who got it), once; ``requester_tell`` DMs the requester the outcome.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from approvals.models import (
    AccessRequest,
    Decision,
    DecisionOutcome,
    RequestApprover,
    RequestStatus,
)
from approvals.services.common import ApprovalError
from approvals.services.decisions import access_request_decide
from audit.services import audit_record
from chat import slack, teams
from chat.models import SlackMessage, SlackSeenRequest
from core.dispatch import task_send
from okta.models import OktaUser

logger = logging.getLogger(__name__)

ACTIONS = {"approve": DecisionOutcome.APPROVE, "deny": DecisionOutcome.DENY}


# --- what the messages say ----------------------------------------------------------------


def _escape(text: str) -> str:
    """Slack's mrkdwn escaping: only &, < and > are control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _when(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


def _link(req: AccessRequest) -> str:
    return f"{settings.SITE_URL}{reverse('approvals:request_detail', args=[req.pk])}"


def _duration(req: AccessRequest) -> str:
    if req.kind:
        return ""
    if not req.duration_days:
        return "permanent"
    return f"{req.duration_days} day{'s' if req.duration_days != 1 else ''}"


def _context(req: AccessRequest, stage: int) -> str:
    lines = [
        f"*Approval needed: {_escape(req.label)}*",
        f"*Who:* {_escape(str(req.requester))}"
        + (f" for {_escape(req.subject_label)}" if req.subject_label and not req.kind else ""),
        f"*What:* {_escape(req.what)}",
        f"*Why:* {_escape(req.reason) if req.reason else '(none given)'}",
    ]
    if _duration(req):
        lines.append(f"*Duration:* {_duration(req)}")
    lines.append(f"*Stage:* {stage} of {req.stage_count}")
    return "\n".join(lines)


def message_blocks(req: AccessRequest, stage: int, shown: str) -> list[dict[str, Any]]:
    """The message's blocks: the context, then the buttons while ``shown`` is empty, else the
    outcome line. A button's value is "request id:stage"."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _context(req, stage)}}
    ]
    if shown:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _escape(shown)}]})
        return blocks
    value = f"{req.pk}:{stage}"
    blocks.append(
        {
            "type": "actions",
            "block_id": f"decide:{value}",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "style": "primary",
                    "value": value,
                    "text": {"type": "plain_text", "text": "Approve"},
                },
                {
                    "type": "button",
                    "action_id": "deny",
                    "style": "danger",
                    "value": value,
                    "text": {"type": "plain_text", "text": "Deny"},
                },
                {
                    "type": "button",
                    "action_id": "open",
                    "url": _link(req),
                    "text": {"type": "plain_text", "text": "Open in Gatehouse"},
                },
            ],
        }
    )
    return blocks


def _fallback_text(req: AccessRequest, stage: int, shown: str) -> str:
    head = f"Approval needed: {req.label} (stage {stage} of {req.stage_count})"
    return f"{head}. {shown}" if shown else head


def outcome_line(req: AccessRequest, message: SlackMessage, decisions: list[Decision]) -> str:
    """What ``message`` should say now about its stage; "" while its buttons should stay."""
    at_stage = [d for d in decisions if d.stage == message.stage]
    mine = next((d for d in at_stage if d.decider.okta_id == message.approver_okta_id), None)
    over = not req.is_pending or req.current_stage > message.stage
    if not over:
        if mine is None:
            return ""
        verb = "approved" if mine.outcome == DecisionOutcome.APPROVE else "denied"
        return f"You {verb} at {_when(mine.created_at)}; waiting for the other approvers."
    if at_stage:
        denials = [d for d in at_stage if d.outcome == DecisionOutcome.DENY]
        deciding = denials[:1] or [d for d in at_stage if d.outcome == DecisionOutcome.APPROVE]
        verb = "Denied" if denials else "Approved"
        names = " and ".join(str(d.decider) for d in deciding)
        said = f": “{deciding[-1].comment}”" if deciding[-1].comment else ""
        text = f"{verb} by {names} at {_when(deciding[-1].created_at)}{said}"
        if mine is None:
            return (
                f"Already decided by {names}: {verb.lower()} at {_when(deciding[-1].created_at)}."
            )
        return text + "."
    if req.status == RequestStatus.EXPIRED:
        return "Expired: nobody decided in time."
    if req.status == RequestStatus.CANCELLED:
        return "Withdrawn by the requester."
    return f"No longer waiting for you: the request is {req.get_status_display().lower()}."


# --- sending and updating (Celery tasks call these) ---------------------------------------


def stage_messages_send(*, request_id: int, stage: int) -> int:
    """DM each approver of ``stage`` whom Slack knows by email (once per person and stage);
    returns how many messages were sent. Slack being unreachable raises ``SlackUnavailable``
    (the task tries again; people already sent to are not sent to twice)."""
    req = AccessRequest.objects.select_related("item", "requester").filter(pk=request_id).first()
    if req is None or not req.is_pending or req.current_stage != stage:
        return 0
    already = set(
        SlackMessage.objects.filter(request=req, stage=stage).values_list(
            "approver_okta_id", flat=True
        )
    )
    approver_ids = list(
        RequestApprover.objects.filter(request=req, stage=stage, decided_at__isnull=True)
        .exclude(okta_id__in=already)
        .order_by("okta_id")
        .values_list("okta_id", flat=True)
    )
    emails = dict(OktaUser.objects.filter(id__in=approver_ids).values_list("id", "email"))
    sent = 0
    for okta_id in approver_ids:
        slack_user = slack.user_id_for_email(emails.get(okta_id, ""))
        if not slack_user:
            logger.info("no Slack user for approver %s of request #%s", okta_id, req.pk)
            continue
        answer = slack.post_message(
            slack_user, _fallback_text(req, stage, ""), message_blocks(req, stage, "")
        )
        SlackMessage.objects.get_or_create(
            request=req,
            stage=stage,
            approver_okta_id=okta_id,
            defaults={"slack_user": slack_user, "channel": answer["channel"], "ts": answer["ts"]},
        )
        sent += 1
    return sent


def messages_refresh(*, request_id: int) -> int:
    """Update each message of the request whose stage moved on (or whose approver decided)
    to say so, for everyone who got one; returns how many were updated."""
    req = AccessRequest.objects.select_related("item", "requester").filter(pk=request_id).first()
    if req is None:
        return 0
    decisions = list(req.decisions.select_related("decider").order_by("created_at", "id"))
    updated = 0
    for message in SlackMessage.objects.filter(request=req).order_by("id"):
        shown = outcome_line(req, message, decisions)
        if shown == message.shown:
            continue
        slack.update_message(
            message.channel,
            message.ts,
            _fallback_text(req, message.stage, shown),
            message_blocks(req, message.stage, shown),
        )
        message.shown = shown
        message.updated_at = timezone.now()
        message.save(update_fields=["shown", "updated_at"])
        updated += 1
    return updated


def requester_news(req: AccessRequest, event: str) -> str:
    """The requester's DM about ``event`` (decided, expired)."""
    last = req.decisions.select_related("decider").order_by("created_at", "id").last()
    by = f" by {last.decider}" if last else ""
    said = f": “{last.comment}”" if last and last.comment else "."
    what = f"Your request for {req.label}"
    if event == "expired" or req.status == RequestStatus.EXPIRED:
        return f"{what} expired: nobody decided in time."
    if req.status == RequestStatus.DENIED:
        return f"{what} was denied{by}{said}"
    if req.is_pending:
        return (
            f"{what}: stage {req.current_stage - 1} of {req.stage_count} was approved{by}; "
            f"now waiting for stage {req.current_stage}."
        )
    return f"{what} was approved{by}. Gatehouse is making the change in Okta."


def requester_tell(*, request_id: int, event: str) -> bool:
    """DM the requester the outcome; False when Slack does not know them."""
    req = AccessRequest.objects.select_related("item", "requester").filter(pk=request_id).first()
    if req is None:
        return False
    slack_user = slack.user_id_for_email(req.requester.email)
    if not slack_user:
        return False
    text = f"{requester_news(req, event)} {_link(req)}"
    slack.post_message(slack_user, text)
    return True


def person_tell(*, slack_user: str, text: str) -> None:
    slack.post_message(slack_user, text)


# --- Teams (notifications only) ------------------------------------------------------------


def teams_notify(*, request_id: int, event: str, stage: int = 0) -> bool:
    """Post to the Teams channel that ``stage`` opened (``event`` "stage_opened") or that the
    request was decided / expired; False when there is nothing to say or Teams refused it."""
    req = AccessRequest.objects.select_related("item", "requester").filter(pk=request_id).first()
    if req is None:
        return False
    if event == "stage_opened":
        if not req.is_pending or req.current_stage != stage:
            return False  # decided before the worker got here: the decision's card says it
        title = f"Approval needed: {req.label} (stage {stage} of {req.stage_count})"
        facts = [
            ("Who", str(req.requester)),
            ("What", req.what),
            ("Why", req.reason or "(none given)"),
            ("Duration", _duration(req)),
            ("Waiting for", req.waiting_on()),
        ]
    else:
        title = requester_news(req, event).replace("Your request", "The request", 1)
        facts = [("Requested by", str(req.requester)), ("Status", req.get_status_display())]
    return teams.post(teams.card_message(title, facts, _link(req)))


# --- interactions -------------------------------------------------------------------------


@dataclass
class Answer:
    """What the interactions endpoint answers: an HTTP status and a short JSON body."""

    status: int
    error: str = ""
    decided: bool = False

    def body(self) -> dict[str, Any]:
        return {"ok": not self.error, **({"error": self.error} if self.error else {})}


def _remember(signature: str, timestamp: str) -> bool:
    """Record an accepted signature until its timestamp leaves the window; False when it was
    seen already (a replay)."""
    now = timezone.now()
    SlackSeenRequest.objects.filter(expires_at__lt=now).delete()
    sent_at = datetime.fromtimestamp(int(timestamp), tz=UTC)
    expires = sent_at + timedelta(seconds=2 * slack.SIGNATURE_WINDOW_SECONDS)
    try:
        with transaction.atomic():
            SlackSeenRequest.objects.create(signature=signature, expires_at=expires)
    except IntegrityError:
        return False
    return True


def _parse(raw: str) -> tuple[dict[str, Any], str, int, int]:
    """(payload, action, request id, stage) of a block_actions payload; ValueError if not."""
    payload = json.loads(raw)
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        raise ValueError("not a block_actions payload")
    actions = payload.get("actions")
    if not isinstance(actions, list) or len(actions) != 1 or not isinstance(actions[0], dict):
        raise ValueError("one action expected")
    action = actions[0].get("action_id")
    value = actions[0].get("value")
    if action not in ACTIONS or not isinstance(value, str):
        raise ValueError("unknown action")
    request_part, _, stage_part = value.partition(":")
    if not (request_part.isdigit() and stage_part.isdigit()):
        raise ValueError("bad button value")
    return payload, action, int(request_part), int(stage_part)


def _field(payload: dict[str, Any], *path: str) -> str:
    node: Any = payload
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, str) else ""


def _after_commit_send(name: str, *args: Any) -> None:
    transaction.on_commit(lambda: task_send(name, *args), robust=True)


def interaction_handle(
    *, body: bytes, timestamp: str | None, signature: str | None, http_request: HttpRequest
) -> Answer:
    """Check and act on one interaction POST from Slack (see the module docstring)."""
    if not slack.signature_valid(body, timestamp, signature):
        return Answer(401, "The request signature or its timestamp is not valid.")
    assert timestamp is not None and signature is not None  # checked just above
    fields = http_request.POST
    try:
        payload, action, request_id, stage = _parse(fields.get("payload", ""))
    except (ValueError, TypeError) as exc:
        return Answer(400, f"Not an interaction Gatehouse sent: {exc}.")
    if not _remember(signature, timestamp):
        return Answer(409, "This interaction was already received.")
    clicker = _field(payload, "user", "id")
    channel = _field(payload, "channel", "id") or _field(payload, "container", "channel_id")
    ts = _field(payload, "container", "message_ts") or _field(payload, "message", "ts")
    message = SlackMessage.objects.filter(channel=channel, ts=ts).first()
    if message is None or message.request_id != request_id or message.stage != stage:
        return Answer(403, "That message is not one Gatehouse sent about this request.")
    if clicker != message.slack_user:
        return Answer(403, "Only the approver this message was sent to can decide from it.")
    actor = User.objects.filter(okta_id=message.approver_okta_id, is_active=True).first()
    if actor is None:
        _after_commit_send(
            "chat.slack_tell",
            clicker,
            "Sign in to Gatehouse once before deciding from Slack. Nothing was changed.",
        )
        return Answer(200, "No Gatehouse account for this approver yet.")
    req = AccessRequest.objects.filter(pk=request_id).first()
    if req is None or not req.is_pending or req.current_stage != stage:
        _after_commit_send("chat.slack_refresh", request_id)
        return Answer(200, "This stage of the request was already decided. Nothing was changed.")
    try:
        access_request_decide(
            actor=actor, request_id=request_id, outcome=ACTIONS[action], http_request=http_request
        )
    except (ApprovalError, Http404) as exc:
        text = exc.message if isinstance(exc, ApprovalError) else "No such request."
        _after_commit_send("chat.slack_tell", clicker, f"{text} Nothing was changed.")
        _after_commit_send("chat.slack_refresh", request_id)
        return Answer(200, text)
    audit_record(
        action="chat.slack.decided",
        actor=actor,
        target_type="access_request",
        target_id=str(request_id),
        target_label=req.label,
        detail={
            "channel": "slack",
            "outcome": ACTIONS[action],
            "stage": stage,
            "slack_user": clicker,
        },
        request=http_request,
    )
    _after_commit_send("chat.slack_refresh", request_id)
    return Answer(200, decided=True)
