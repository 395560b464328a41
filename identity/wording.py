"""What an identity action did, said for people: the sentence the action's result shows first,
before Okta's own codes (which stay one click away on the page)."""

from __future__ import annotations

from identity.models import Action, ActionRequest
from okta.models import OktaUser, Operation, OperationStatus


def action_story(
    req: ActionRequest, ops: list[Operation], outcome: str, *, viewer_okta_id: str
) -> str:
    """One or two sentences about the action's effect on the person, or "" when the outcome
    word (waiting for approval, denied, …) already says everything."""
    self_service = bool(viewer_okta_id) and req.target_user_id == viewer_okta_id
    if req.action == Action.PASSWORD_RESET and req.variant == "email" and self_service:
        email = (
            OktaUser.objects.filter(pk=req.target_user_id).values_list("email", flat=True).first()
            or "your email address"
        )
        if outcome == "Done":
            return (
                f"We emailed a reset link to {email}. Follow it to choose a new password; "
                "until you finish, you can keep using Gatehouse."
            )
        if outcome == "Failed":
            failed = next((op for op in ops if op.status == OperationStatus.FAILED), None)
            why = f" Okta said: {failed.error_summary}" if failed and failed.error_summary else ""
            return f"The reset link could not be sent to {email}.{why}"
        if outcome == "Running":
            return (
                f"Okta is sending a reset link to {email}. Until you finish the reset, you can "
                "keep using Gatehouse."
            )
    return ""
