"""What an identity action's result says to people: what happened to whom, with Okta's own
codes one click away (a <details>), for each action's success and failure."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from identity import actions, services
from identity.models import Action, ActionRequest
from identity.wording import action_story
from okta.models import Operation, OperationStatus
from okta.sandbox.seed import acme_app_id, acme_group_id
from tests.identity.conftest import HTMX, Acme, Run, client_for

pytestmark = pytest.mark.django_db


def test_mfa_reset_result_says_what_happened_with_okta_one_click_away(
    acme: Acme, run_ops: Run
) -> None:
    req = services.action_submit(
        actor=acme.u["jordan"],
        action=Action.MFA_RESET,
        variant="reset",
        target_user_id=acme.id["john"],
    )
    run_ops(req.correlation)
    page = client_for(acme.u["jordan"]).get(reverse("identity:action_detail", args=[req.pk]))
    text = page.content.decode().replace("&#x27;", "'")
    assert (
        '<p class="mb-1" data-testid="action-story">John Doe\'s MFA factors were reset; they '
        "will enrol again at their next sign-in.</p>" in text
    )
    # Okta's answer is kept, folded away; not the first thing anyone reads.
    details = text[text.index('<details class="mt-2 small" data-testid="okta-answer">') :]
    assert "<summary>What Okta answered</summary>" in details
    assert "<code>user.reset_factors</code> — SUCCEEDED" in details and "HTTP 200" in details
    assert text.index("action-story") < text.index("user.reset_factors")
    assert "Okta answered 200" not in text
    # the page does not link to itself; the fragment in the person page links to the page
    own = reverse("identity:action_detail", args=[req.pk])
    assert f'href="{own}"' not in text
    person = reverse("identity:person", args=[acme.id["john"]])
    fragment = client_for(acme.u["jordan"]).get(
        own, headers={**HTMX, "HX-Current-URL": f"http://testserver{person}"}
    )
    assert f'href="{own}"' in fragment.content.decode()


def test_refused_action_result_says_okta_refused_and_why(
    acme: Acme, run_ops: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme.sandbox.set_faults(
        refuse_code="E0000006",
        path_prefix=f"/api/v1/users/{acme.id['john']}/lifecycle/reset_factors",
    )
    req = services.action_submit(
        actor=acme.u["jordan"],
        action=Action.MFA_RESET,
        variant="reset",
        target_user_id=acme.id["john"],
    )
    (op,) = run_ops(req.correlation)
    acme.sandbox.clear_faults()
    assert op.status == OperationStatus.FAILED and op.error_code == "E0000006"
    text = (
        client_for(acme.u["jordan"])
        .get(reverse("identity:action_detail", args=[req.pk]))
        .content.decode()
        .replace("&#x27;", "'")
    )
    assert (
        f"Resetting John Doe's MFA factors did not go through. Okta said: “{op.error_summary}”"
        in text
    )
    assert "E0000006" in text[text.index('data-testid="okta-answer"') :]


def _recorded(
    acme: Acme,
    action: str,
    variant: str,
    *,
    status: str,
    params: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
    summary: str = "",
    target: str = "john",
) -> tuple[ActionRequest, list[Operation]]:
    """An action as the worker leaves it: asked by jordan, one operation in ``status``."""
    req = ActionRequest.objects.create(
        action=action,
        variant=variant,
        params={**(params or {}), "summary": summary or variant},
        requested_by=acme.u["jordan"].username,
        target_user_id=acme.id[target] if target else "",
        target_label="John Doe" if target == "john" else "",
    )
    failed = status == OperationStatus.FAILED
    op = Operation.objects.create(
        kind="user.x",
        correlation=req.correlation,
        status=status,
        okta_status=403 if failed else 200,
        error_code="E0000006" if failed else "",
        error_summary="You do not have permission to perform the requested action"
        if failed
        else "",
        result=result or {},
    )
    return req, [op]


SUCCESS = [
    (
        Action.PASSWORD_RESET,
        "email",
        {},
        "John Doe was emailed a link to choose a new password; until they do, their account "
        "is in recovery.",
    ),
    (
        Action.PASSWORD_RESET,
        "url",
        {},
        "A one-time reset link for John Doe is ready; until they use it, their account is in "
        "recovery. Show it below, once, and give it to them.",
    ),
    (
        Action.PASSWORD_RESET,
        "temp",
        {},
        "John Doe has a temporary password; they must choose a new one at their next sign-in. "
        "Show it below, once, and give it to them.",
    ),
    (Action.ACCOUNT_UNLOCK, "unlock", {}, "John Doe is unlocked and can sign in again."),
    (
        Action.MFA_RESET,
        "reset",
        {},
        "John Doe's MFA factors were reset; they will enrol again at their next sign-in.",
    ),
    (
        Action.SESSIONS_CLEAR,
        "clear",
        {},
        "John Doe was signed out everywhere; they will sign in again on every device.",
    ),
    (
        Action.USER_SUSPEND,
        "suspend",
        {},
        "John Doe is suspended and cannot sign in until unsuspended.",
    ),
    (Action.USER_SUSPEND, "unsuspend", {}, "John Doe is unsuspended and can sign in again."),
    (
        Action.USER_LIFECYCLE,
        "activate",
        {},
        "John Doe is active; Okta emailed them an activation link.",
    ),
    (
        Action.USER_LIFECYCLE,
        "reactivate",
        {},
        "John Doe was reactivated; Okta emailed them an activation link.",
    ),
    (
        Action.USER_LIFECYCLE,
        "deactivate",
        {},
        "John Doe is deactivated and can no longer sign in.",
    ),
    (Action.USER_LIFECYCLE, "delete", {}, "John Doe was deleted from Okta."),
    (
        Action.USER_UPDATE,
        "update",
        {"profile": {"title": "CFO", "city": "Lyon"}},
        "John Doe's profile was updated (job title, city).",
    ),
    (
        Action.GROUP_MEMBERSHIP,
        "add",
        {"group_id": acme_group_id("Marketing")},
        "John Doe was added to Marketing.",
    ),
    (
        Action.GROUP_MEMBERSHIP,
        "remove",
        {"group_id": acme_group_id("Marketing")},
        "John Doe was removed from Marketing.",
    ),
    (
        Action.APP_ASSIGNMENT,
        "assign",
        {"app_id": acme_app_id("Notion")},
        "John Doe was assigned Notion.",
    ),
    (
        Action.APP_ASSIGNMENT,
        "unassign",
        {"app_id": acme_app_id("Notion")},
        "John Doe's assignment to Notion was removed.",
    ),
]
FAILURE: dict[tuple[str, str], str] = {
    (Action.PASSWORD_RESET, "email"): "Emailing John Doe a password reset link",
    (Action.PASSWORD_RESET, "url"): "Making a one-time reset link for John Doe",
    (Action.PASSWORD_RESET, "temp"): "Setting a temporary password for John Doe",
    (Action.ACCOUNT_UNLOCK, "unlock"): "Unlocking John Doe",
    (Action.MFA_RESET, "reset"): "Resetting John Doe's MFA factors",
    (Action.SESSIONS_CLEAR, "clear"): "Signing John Doe out everywhere",
    (Action.USER_SUSPEND, "suspend"): "Suspending John Doe",
    (Action.USER_SUSPEND, "unsuspend"): "Unsuspending John Doe",
    (Action.USER_LIFECYCLE, "activate"): "Activating John Doe",
    (Action.USER_LIFECYCLE, "reactivate"): "Reactivating John Doe",
    (Action.USER_LIFECYCLE, "deactivate"): "Deactivating John Doe",
    (Action.USER_LIFECYCLE, "delete"): "Deleting John Doe from Okta",
    (Action.USER_UPDATE, "update"): "Updating John Doe's profile",
    (Action.GROUP_MEMBERSHIP, "add"): "Adding John Doe to Marketing",
    (Action.GROUP_MEMBERSHIP, "remove"): "Removing John Doe from Marketing",
    (Action.APP_ASSIGNMENT, "assign"): "Assigning Notion to John Doe",
    (Action.APP_ASSIGNMENT, "unassign"): "Removing John Doe's assignment to Notion",
}


@pytest.mark.parametrize(("action", "variant", "params", "says"), SUCCESS)
def test_person_action_success_and_failure_read_as_sentences(
    acme: Acme, action: str, variant: str, params: dict[str, Any], says: str
) -> None:
    secret = {"reset_password_url": "x"} if variant == "url" else {}
    secret = {"temp_password": "x"} if variant == "temp" else secret
    req, ops = _recorded(
        acme, action, variant, status=OperationStatus.SUCCEEDED, params=params, result=secret
    )
    assert action_story(req, ops, "Done", viewer_okta_id=acme.id["jordan"], mine=True) == says
    req, ops = _recorded(acme, action, variant, status=OperationStatus.FAILED, params=params)
    assert action_story(req, ops, "Failed", viewer_okta_id=acme.id["jordan"], mine=True) == (
        f"{FAILURE[(action, variant)]} did not go through. Okta said: “You do not have "
        "permission to perform the requested action”"
    )
    assert action_story(req, ops, "Pending approval", viewer_okta_id="", mine=False) == (
        f"{FAILURE[(action, variant)]} waits for approval; nothing has changed yet."
    )


def test_every_person_action_has_its_own_wording() -> None:
    covered = {(action, variant) for action, variant, _, _ in SUCCESS}
    for action in actions.USER_ACTIONS:
        for variant in actions.VARIANTS[action]:
            assert (action, variant) in covered and (action, variant) in FAILURE


@pytest.mark.parametrize(
    ("action", "variant", "params", "summary", "says", "doing"),
    [
        (
            Action.USER_CREATE,
            "create",
            {"profile": {"login": "new.person@acme.com"}, "activation": "email"},
            "Create new.person@acme.com",
            "new.person@acme.com was created in Okta. Okta emailed them an activation link.",
            "Creating new.person@acme.com in Okta",
        ),
        (
            Action.GROUP_MANAGE,
            "create",
            {"name": "Contractors"},
            "Create Contractors",
            "The group Contractors was created in Okta.",
            "Creating the group Contractors",
        ),
        (
            Action.GROUP_MANAGE,
            "update",
            {"name": "Vendors"},
            "Rename Contractors to Vendors",
            "The group is now called Vendors.",
            "Renaming the group Contractors to Vendors",
        ),
        (
            Action.GROUP_MANAGE,
            "delete",
            {},
            "Delete Contractors",
            "The group Contractors was deleted from Okta.",
            "Deleting the group Contractors",
        ),
    ],
)
def test_admin_action_success_and_failure_read_as_sentences(
    acme: Acme,
    action: str,
    variant: str,
    params: dict[str, Any],
    summary: str,
    says: str,
    doing: str,
) -> None:
    req, ops = _recorded(
        acme,
        action,
        variant,
        status=OperationStatus.SUCCEEDED,
        params=params,
        summary=summary,
        target="",
    )
    assert action_story(req, ops, "Done", viewer_okta_id="", mine=True) == says
    req, ops = _recorded(
        acme,
        action,
        variant,
        status=OperationStatus.FAILED,
        params=params,
        summary=summary,
        target="",
    )
    assert action_story(req, ops, "Failed", viewer_okta_id="", mine=True).startswith(
        f"{doing} did not go through. Okta said: "
    )


def test_self_service_results_speak_to_the_person(acme: Acme) -> None:
    me = acme.id["maya"]
    for action, variant, says in (
        (
            Action.MFA_RESET,
            "reset",
            "Your MFA factors were reset; you will enrol again at your next sign-in.",
        ),
        (
            Action.SESSIONS_CLEAR,
            "clear",
            "Okta ended your sessions everywhere; you will sign in again on each device.",
        ),
    ):
        req = ActionRequest.objects.create(
            action=action,
            variant=variant,
            params={"summary": variant},
            requested_by=acme.u["maya"].username,
            target_user_id=me,
            target_label="Maya Chen",
        )
        op = Operation.objects.create(
            kind="user.x", correlation=req.correlation, status=OperationStatus.SUCCEEDED
        )
        assert action_story(req, [op], "Done", viewer_okta_id=me, mine=True) == says
