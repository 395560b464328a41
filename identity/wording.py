"""What an identity action did, said for people: the sentence the action's result shows first,
before Okta's own codes (which stay one click away on the page)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from approvals.models import RequestStatus
from identity.forms import PROFILE_LABELS
from identity.models import Action, ActionRequest
from okta.models import OktaApp, OktaGroup, OktaUser, Operation, OperationStatus


@dataclass(frozen=True)
class _Who:
    """How a sentence names the person the action is about: by name, or "you" on oneself."""

    name: str
    possessive: str
    they: str
    their: str

    @classmethod
    def of(cls, label: str, *, self_service: bool) -> _Who:
        if self_service:
            return cls("you", "your", "you", "your")
        return cls(label, f"{label}'s", "they", "their")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _names(req: ActionRequest) -> tuple[str, str]:
    """The group's and the app's names for membership and assignment actions."""
    group_id = str(req.params.get("group_id", ""))
    app_id = str(req.params.get("app_id", ""))
    group = OktaGroup.objects.filter(pk=group_id).values_list("name", flat=True).first()
    app = OktaApp.objects.filter(pk=app_id).values_list("label", flat=True).first()
    return group or "the group", app or "the app"


def _doing(req: ActionRequest, who: _Who) -> str:
    """The action as a gerund phrase: "Resetting Maya Chen's MFA factors"."""
    action, variant, params = req.action, req.variant, req.params
    if action in (Action.GROUP_MEMBERSHIP, Action.APP_ASSIGNMENT):
        group, app = _names(req)
    phrases: dict[tuple[str, str], str] = {
        (Action.PASSWORD_RESET, "email"): f"Emailing {who.name} a password reset link",
        (Action.PASSWORD_RESET, "url"): f"Making a one-time reset link for {who.name}",
        (Action.PASSWORD_RESET, "temp"): f"Setting a temporary password for {who.name}",
        (Action.ACCOUNT_UNLOCK, "unlock"): f"Unlocking {who.name}",
        (Action.MFA_RESET, "reset"): f"Resetting {who.possessive} MFA factors",
        (Action.SESSIONS_CLEAR, "clear"): f"Signing {who.name} out everywhere",
        (Action.USER_SUSPEND, "suspend"): f"Suspending {who.name}",
        (Action.USER_SUSPEND, "unsuspend"): f"Unsuspending {who.name}",
        (Action.USER_LIFECYCLE, "activate"): f"Activating {who.name}",
        (Action.USER_LIFECYCLE, "reactivate"): f"Reactivating {who.name}",
        (Action.USER_LIFECYCLE, "deactivate"): f"Deactivating {who.name}",
        (Action.USER_LIFECYCLE, "delete"): f"Deleting {who.name} from Okta",
        (Action.USER_UPDATE, "update"): f"Updating {who.possessive} profile",
        (Action.USER_CREATE, "create"): f"Creating {_login(params)} in Okta",
        (Action.GROUP_MANAGE, "create"): f"Creating the group {params.get('name', '')}",
        (
            Action.GROUP_MANAGE,
            "update",
        ): f"Renaming the group {req.summary.removeprefix('Rename ')}",
        (
            Action.GROUP_MANAGE,
            "delete",
        ): f"Deleting the group {req.summary.removeprefix('Delete ')}",
    }
    if action == Action.GROUP_MEMBERSHIP:
        return (
            f"Adding {who.name} to {group}"
            if variant == "add"
            else f"Removing {who.name} from {group}"
        )
    if action == Action.APP_ASSIGNMENT:
        return (
            f"Assigning {app} to {who.name}"
            if variant == "assign"
            else f"Removing {who.possessive} assignment to {app}"
        )
    return _cap(phrases.get((action, variant), req.summary or req.get_action_display()))


def _login(params: Mapping[str, Any]) -> str:
    return str(params.get("profile", {}).get("login", "the new user"))


def _done(req: ActionRequest, ops: list[Operation], who: _Who, *, mine: bool) -> str:
    """What is true now that Okta has done it."""
    action, variant, params = req.action, req.variant, req.params
    notes = {str(op.result.get("note", "")) for op in ops} - {""}
    show_once = " Show it below, once, and give it to them." if mine else ""
    if action == Action.PASSWORD_RESET:
        if variant == "email" and who.name == "you":
            email = (
                OktaUser.objects.filter(pk=req.target_user_id)
                .values_list("email", flat=True)
                .first()
                or "your email address"
            )
            return (
                f"We emailed a reset link to {email}. Follow it to choose a new password; "
                "until you finish, you can keep using Gatehouse."
            )
        if variant == "email":
            return (
                f"{who.name} was emailed a link to choose a new password; until they do, "
                "their account is in recovery."
            )
        if variant == "url":
            return (
                f"A one-time reset link for {who.name} is ready; until they use it, their "
                f"account is in recovery.{show_once}"
            )
        return (
            f"{who.name} has a temporary password; they must choose a new one at their next "
            f"sign-in.{show_once}"
        )
    if action == Action.ACCOUNT_UNLOCK:
        if "not locked" in notes:
            return f"{who.name} was not locked out, so nothing needed to change."
        return f"{who.name} is unlocked and can sign in again."
    if action == Action.MFA_RESET:
        return _cap(
            f"{who.possessive} MFA factors were reset; {who.they} will enrol again at "
            f"{who.their} next sign-in."
        )
    if action == Action.SESSIONS_CLEAR:
        if who.name == "you":
            return "Okta ended your sessions everywhere; you will sign in again on each device."
        return f"{who.name} was signed out everywhere; they will sign in again on every device."
    if action == Action.USER_SUSPEND:
        if variant == "suspend":
            if "already suspended" in notes:
                return f"{who.name} was already suspended."
            return f"{who.name} is suspended and cannot sign in until unsuspended."
        return f"{who.name} is unsuspended and can sign in again."
    if action == Action.USER_LIFECYCLE:
        done = {
            "activate": f"{who.name} is active; Okta emailed them an activation link.",
            "reactivate": f"{who.name} was reactivated; Okta emailed them an activation link.",
            "deactivate": f"{who.name} is deactivated and can no longer sign in.",
            "delete": f"{who.name} was deleted from Okta.",
        }
        if notes & {"already active", "already deactivated", "already deleted"}:
            return f"Nothing needed to change: Okta said {who.name} was {sorted(notes)[0]}."
        return done.get(variant, "Done.")
    if action == Action.USER_UPDATE:
        changed = ", ".join(
            PROFILE_LABELS.get(name, name).lower() for name in params.get("profile", {})
        )
        return _cap(f"{who.possessive} profile was updated ({changed}).")
    if action == Action.GROUP_MEMBERSHIP:
        group, _ = _names(req)
        if variant == "add":
            return f"{who.name} was added to {group}."
        if "not a member" in notes:
            return f"{who.name} was not a member of {group}, so nothing needed to change."
        return f"{who.name} was removed from {group}."
    if action == Action.APP_ASSIGNMENT:
        _, app = _names(req)
        if variant == "assign":
            if "already assigned" in notes:
                return f"{who.name} was already assigned {app}."
            return f"{who.name} was assigned {app}."
        if "not assigned" in notes:
            return f"{who.name} had no assignment to {app}, so nothing needed to change."
        return f"{who.possessive} assignment to {app} was removed."
    if action == Action.USER_CREATE:
        login = _login(params)
        activation = params.get("activation", "email")
        then = {
            "email": "Okta emailed them an activation link.",
            "url": "Show the activation link below, once, and give it to them."
            if mine
            else "Whoever created them can show the activation link, once.",
            "none": "They stay staged until someone activates them.",
        }.get(str(activation), "")
        return f"{login} was created in Okta. {then}".strip()
    if action == Action.GROUP_MANAGE:
        name = params.get("name", "")
        return {
            "create": f"The group {name} was created in Okta.",
            "update": f"The group is now called {name}.",
            "delete": f"The group {req.summary.removeprefix('Delete ')} was deleted from Okta.",
        }.get(variant, "Done.")
    return "Done."


def action_story(
    req: ActionRequest, ops: list[Operation], outcome: str, *, viewer_okta_id: str, mine: bool
) -> str:
    """What the action did, or is doing, to the person, in a sentence or two for people; Okta's
    own codes stay on the page, one click away."""
    self_service = bool(viewer_okta_id) and req.target_user_id == viewer_okta_id
    who = _Who.of(req.target_label or "the person", self_service=self_service)
    doing = _doing(req, who)
    if outcome == "Done":
        return _done(req, ops, who, mine=mine)
    if outcome == "Failed":
        failed = next((op for op in ops if op.status == OperationStatus.FAILED), None)
        if failed is not None and failed.error_summary:
            return f"{doing} did not go through. Okta said: “{failed.error_summary}”"
        return f"{doing} did not go through: Okta could not be reached. An admin can retry it."
    if outcome == "Running":
        if req.action == Action.PASSWORD_RESET and req.variant == "email" and self_service:
            return (
                "Okta is sending you a reset link. Until you finish the reset, you can keep "
                "using Gatehouse."
            )
        return f"{doing}: waiting for Okta's answer."
    waiting = {
        RequestStatus.PENDING.label: f"{doing} waits for approval; nothing has changed yet.",
        RequestStatus.DENIED.label: f"{doing} was denied; nothing was changed.",
        RequestStatus.CANCELLED.label: f"{doing} was cancelled; nothing was changed.",
        RequestStatus.EXPIRED.label: f"{doing} was not decided in time; nothing was changed.",
    }
    return waiting.get(outcome, "")


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
