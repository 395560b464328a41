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


# (action, variant) -> (question, effect, button), for the confirmation step of an action asked
# for someone else; {name} is the person.
_CONFIRM: dict[tuple[str, str], tuple[str, str, str]] = {
    (Action.PASSWORD_RESET, "email"): (
        "Email {name} a password reset link?",
        "Okta emails them a link to choose a new password; until they do, their account is in "
        "recovery.",
        "Email the reset link",
    ),
    (Action.PASSWORD_RESET, "url"): (
        "Make a one-time password reset link for {name}?",
        "You will see the link once, to give them; until they use it, their account is in "
        "recovery.",
        "Make the reset link",
    ),
    (Action.PASSWORD_RESET, "temp"): (
        "Set a temporary password for {name}?",
        "Their current password stops working. You will see the temporary password once; they "
        "must choose a new password at their next sign-in.",
        "Set a temporary password",
    ),
    (Action.MFA_RESET, "reset"): (
        "Reset {name}'s MFA factors?",
        "Every factor they enrolled is removed; they will have to enrol again at their next "
        "sign-in.",
        "Reset MFA factors",
    ),
    (Action.SESSIONS_CLEAR, "clear"): (
        "Sign {name} out everywhere?",
        "Okta ends all their sessions and revokes their tokens; they will have to sign in "
        "again on every device.",
        "Sign them out everywhere",
    ),
}


def confirm_question(action: str, variant: str, name: str) -> tuple[str, str, str]:
    """(question, effect, button label) for confirming ``action``/``variant`` on ``name``."""
    question, effect, button = _CONFIRM.get(
        (action, variant), ("Go ahead with this for {name}?", "", "Confirm")
    )
    return question.format(name=name), effect, button
