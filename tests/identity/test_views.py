"""Pages: happy paths, strangers (404 / 403), HTMX fragments, and query counts that do not grow
with the number of people."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from approvals.models import Policy, RequestStatus
from identity import bulk, services
from identity.forms import BulkForm
from identity.models import Action, ActionPolicy, ActionRequest, BulkRun
from okta.models import OktaApp, OktaGroup, OktaUser, Operation, OperationStatus
from okta.sandbox.seed import acme_app_id, acme_group_id
from tests.identity.conftest import (
    FINANCE_STALE,
    HTMX,
    Acme,
    Run,
    approval_of,
    bulk_start,
    client_for,
)

pytestmark = pytest.mark.django_db


def test_my_account_shows_profile_and_self_service_not_my_access(acme: Acme) -> None:
    page = client_for(acme.u["maya"]).get(reverse("identity:my_account"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "maya.chen@acme.com" in text and "Priya Patel" in text  # profile, her manager
    assert "✔</span> ACTIVE" in text  # status as a badge with an icon and words
    # groups and apps live on My access, linked rather than repeated
    assert f'href="{reverse("approvals:my_access")}"' in text
    assert "Engineering - Frontend" not in text and "Notion" not in text
    for label in ("Email a password reset link", "Reset MFA factors", "Sign out everywhere"):
        assert label in text
    assert "Suspend" not in text and "Show a one-time reset link" not in text


def test_my_account_self_reset_htmx_returns_result_fragment(
    acme: Acme, no_broker: list[Any]
) -> None:
    response = client_for(acme.u["maya"]).post(
        reverse("identity:person_act", args=[acme.id["maya"]]),
        {"action": "password_reset", "variant": "email"},
        headers=HTMX,
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "<html" not in text and 'data-testid="action-result"' in text
    assert "user.reset_password" in text
    assert ActionRequest.objects.get().approval_request is None  # no approval needed


def test_self_service_password_reset_says_what_next_and_keeps_the_portal(
    acme: Acme, run_ops: Run
) -> None:
    """Okta puts Maya in RECOVERY until she follows the emailed link: her session stays, she
    can sign in again with the Okta session she still holds, and the page says so."""
    from accounts.auth import signin_complete
    from audit.models import AuditEvent

    maya = client_for(acme.u["maya"])
    maya.post(
        reverse("identity:person_act", args=[acme.id["maya"]]),
        {"action": "password_reset", "variant": "email"},
        headers=HTMX,
    )
    req = ActionRequest.objects.get()
    run_ops(req.correlation)
    assert acme.state("maya")["status"] == "RECOVERY"
    assert OktaUser.objects.get(pk=acme.id["maya"]).status == "RECOVERY"

    result = maya.get(reverse("identity:action_detail", args=[req.pk])).content.decode()
    assert (
        "We emailed a reset link to maya.chen@acme.com. Follow it to choose a new password; "
        "until you finish, you can keep using Gatehouse." in result
    )
    assert maya.get(reverse("identity:my_account")).status_code == 200  # session kept
    again = signin_complete(claims={"sub": acme.id["maya"]}, request=None)  # a new sign-in
    assert again.pk == acme.u["maya"].pk
    assert not AuditEvent.objects.filter(action="signin.refused").exists()


def test_sensitive_action_for_someone_else_is_confirmed_first_without_js(acme: Acme) -> None:
    """Reset MFA for someone else is a link to a confirmation page naming the person and the
    effect; a POST that skips it is asked again; the confirmed one keeps its ticket."""
    from audit.models import AuditEvent

    jordan = client_for(acme.u["jordan"])
    page = jordan.get(reverse("identity:person", args=[acme.id["john"]])).content.decode()
    confirm_url = reverse("identity:person_confirm", args=[acme.id["john"]])
    assert f'href="{confirm_url}?action=mfa_reset&amp;variant=reset"' in page

    confirm = jordan.get(confirm_url, {"action": "mfa_reset", "variant": "reset"})
    text = confirm.content.decode()
    assert confirm.status_code == 200 and "<html" in text
    assert "Reset John Doe&#x27;s MFA factors?" in text
    assert "they will have to enrol again at their next sign-in" in text
    assert 'name="reason"' in text and "Ticket or reason (optional)" in text
    assert not ActionRequest.objects.exists()

    act = reverse("identity:person_act", args=[acme.id["john"]])
    before = acme.sandbox.counters()["writes"]
    skipped = jordan.post(act, {"action": "mfa_reset", "variant": "reset"})
    assert skipped.status_code == 200 and "Reset John Doe&#x27;s MFA factors?" in (
        skipped.content.decode()
    )
    assert not ActionRequest.objects.exists()

    done = jordan.post(
        act,
        {"action": "mfa_reset", "variant": "reset", "confirmed": "on", "reason": " INC-4521 "},
    )
    req = ActionRequest.objects.get()
    assert done.status_code == 302
    assert done["Location"] == reverse("identity:action_detail", args=[req.pk])
    assert req.params["reason"] == "INC-4521"
    event = AuditEvent.objects.get(action="identity.action.requested")
    assert event.target_id == acme.id["john"] and event.detail["reason"] == "INC-4521"
    detail = jordan.get(done["Location"]).content.decode()
    assert "Ticket or reason: INC-4521" in detail
    assert acme.sandbox.counters()["writes"] == before  # queued, not yet run


def test_sensitive_action_confirmation_with_htmx(acme: Acme, no_broker: list[Any]) -> None:
    jordan = client_for(acme.u["jordan"])
    confirm_url = reverse("identity:person_confirm", args=[acme.id["john"]])
    fragment = jordan.get(
        confirm_url, {"action": "sessions_clear", "variant": "clear"}, headers=HTMX
    ).content.decode()
    assert "<html" not in fragment and 'data-testid="confirm-action"' in fragment
    assert "Sign John Doe out everywhere?" in fragment
    assert f'hx-post="{reverse("identity:person_act", args=[acme.id["john"]])}"' in fragment
    response = jordan.post(
        reverse("identity:person_act", args=[acme.id["john"]]),
        {"action": "sessions_clear", "variant": "clear", "confirmed": "on"},
        headers=HTMX,
    )
    assert 'data-testid="action-result"' in response.content.decode()
    req = ActionRequest.objects.get()
    assert "reason" not in req.params  # optional
    from audit.models import AuditEvent

    event = AuditEvent.objects.get(action="identity.action.requested")
    assert "reason" not in event.detail


def test_confirmation_step_refuses_strangers_and_actions_not_offered(acme: Acme) -> None:
    confirm = reverse("identity:person_confirm", args=[acme.id["john"]])
    maya = client_for(acme.u["maya"])
    assert maya.get(confirm, {"action": "mfa_reset", "variant": "reset"}).status_code == 404
    jordan = client_for(acme.u["jordan"])
    # john is not locked out: no unlock to confirm; no such action at all
    assert jordan.get(confirm, {"action": "user_suspend", "variant": "zzz"}).status_code == 404
    too_long = jordan.post(
        reverse("identity:person_act", args=[acme.id["john"]]),
        {"action": "mfa_reset", "variant": "reset", "confirmed": "on", "reason": "x" * 201},
        headers=HTMX,
    )
    assert too_long.status_code == 400 and not ActionRequest.objects.exists()


def test_directory_person_page_offers_unlock_and_links_to_the_person_page(acme: Acme) -> None:
    """The directory's "Locked out" filter leads to a page that offers Unlock (no JS needed);
    the directory page and the person page link to each other."""
    acme.sandbox.lock_user(acme.id["maya"])
    OktaUser.objects.filter(pk=acme.id["maya"]).update(status="LOCKED_OUT")
    jordan = client_for(acme.u["jordan"])
    listed = jordan.get(reverse("okta:user_list"), {"status": "LOCKED_OUT"}).content.decode()
    directory_page = reverse("okta:user_detail", args=[acme.id["maya"]])
    person_page = reverse("identity:person", args=[acme.id["maya"]])
    assert f'href="{directory_page}"' in listed

    text = jordan.get(directory_page).content.decode()
    act = reverse("identity:person_act", args=[acme.id["maya"]])
    assert f'<form method="post" action="{act}"' in text
    assert '<input type="hidden" name="variant" value="unlock">' in text
    assert ">Unlock</button>" in text
    assert f'href="{person_page}"' in text
    assert (
        f'href="{directory_page}">Directory record</a>' in jordan.get(person_page).content.decode()
    )

    # an admin without a policy for this person sees the directory page without actions
    ActionPolicy.objects.update(enabled=False)
    bare = jordan.get(directory_page).content.decode()
    assert ">Unlock</button>" not in bare and 'data-testid="person-actions"' not in bare


def test_person_headers_read_the_mirror_again_once_an_action_is_over(
    acme: Acme, run_ops: Run
) -> None:
    acme.sandbox.lock_user(acme.id["maya"])
    OktaUser.objects.filter(pk=acme.id["maya"]).update(status="LOCKED_OUT")
    jordan = client_for(acme.u["jordan"])
    jordan.post(
        reverse("identity:person_act", args=[acme.id["maya"]]),
        {"action": "account_unlock", "variant": "unlock"},
        headers=HTMX,
    )
    req = ActionRequest.objects.get()
    result = reverse("identity:action_detail", args=[req.pk])
    running = jordan.get(result, headers=HTMX)
    assert "HX-Trigger" not in running  # nothing to read again yet
    run_ops(req.correlation)

    done = jordan.get(result, headers=HTMX)
    assert json.loads(done["HX-Trigger"]) == {"person-changed": {}}
    for page in ("identity:person", "okta:user_detail"):
        url = reverse(page, args=[acme.id["maya"]])
        header = jordan.get(url, headers=HTMX).content.decode()
        assert "<html" not in header and f'id="person-header-{acme.id["maya"]}"' in header
        assert 'hx-trigger="person-changed from:body"' in header
        assert "✔</span> ACTIVE" in header and "LOCKED_OUT" not in header, page
        assert ">Unlock</button>" not in header  # no longer locked out


def test_person_page_stranger_gets_404(acme: Acme) -> None:
    maya = client_for(acme.u["maya"])
    assert maya.get(reverse("identity:person", args=[acme.id["john"]])).status_code == 404
    response = maya.post(
        reverse("identity:person_act", args=[acme.id["john"]]),
        {"action": "password_reset", "variant": "email"},
    )
    assert response.status_code == 404 and not ActionRequest.objects.exists()


def test_person_page_manager_sees_report_actions(acme: Acme) -> None:
    page = client_for(acme.u["priya"]).get(reverse("identity:person", args=[acme.id["maya"]]))
    assert page.status_code == 200
    assert "Show a one-time reset link" in page.content.decode()
    assert "Suspend" not in page.content.decode()


def test_person_act_refusal_is_explained_and_changes_nothing(acme: Acme) -> None:
    before = acme.sandbox.counters()["writes"]
    response = client_for(acme.u["jordan"]).post(
        reverse("identity:person_act", args=[acme.id["sam"]]),
        {"action": "password_reset", "variant": "url"},
        headers=HTMX,
    )
    assert response.status_code == 400
    assert "privileged" in response.content.decode()
    assert not ActionRequest.objects.exists()
    assert acme.sandbox.counters()["writes"] == before


def test_people_search_htmx_fragment_and_employee_forbidden(acme: Acme) -> None:
    response = client_for(acme.u["jordan"]).get(
        reverse("identity:people"), {"q": "john"}, headers=HTMX
    )
    text = response.content.decode()
    assert response.status_code == 200 and '<div id="results">' in text and "<html" not in text
    assert "john.doe@acme.com" in text
    assert client_for(acme.u["maya"]).get(reverse("identity:people")).status_code == 403


def test_people_page_labels_the_search_and_shows_status_as_a_badge(acme: Acme) -> None:
    text = client_for(acme.u["jordan"]).get(reverse("identity:people")).content.decode()
    assert '<label class="form-label" for="id_q">Search people</label>' in text
    # a badge with an icon and the word, in a labelled cell, not bare text
    assert '<td data-label="Status"><span class="badge text-bg-success">' in text
    assert '<span aria-hidden="true">✔</span> ACTIVE</span>' in text


def test_manager_search_finds_only_reports(acme: Acme) -> None:
    text = client_for(acme.u["priya"]).get(reverse("identity:people")).content.decode()
    assert "maya.chen@acme.com" in text and "john.doe@acme.com" not in text


def test_action_detail_stranger_404_and_owner_sees_okta_answer(acme: Acme, run_ops: Run) -> None:
    req = services.action_submit(
        actor=acme.u["jordan"],
        action=Action.PASSWORD_RESET,
        variant="url",
        target_user_id=acme.id["john"],
    )
    run_ops(req.correlation)
    url = reverse("identity:action_detail", args=[req.pk])
    assert client_for(acme.u["maya"]).get(url).status_code == 404
    jordan = client_for(acme.u["jordan"])
    text = jordan.get(url).content.decode()
    assert "Done" in text and "Show the one-time secret" in text
    op = Operation.objects.get(correlation=req.correlation)
    revealed = jordan.post(reverse("identity:action_reveal", args=[req.pk, op.pk]), headers=HTMX)
    assert "reset_password_url" in revealed.content.decode()
    again = jordan.post(reverse("identity:action_reveal", args=[req.pk, op.pk]), headers=HTMX)
    assert "already shown" in again.content.decode()


def test_inbox_and_decide_for_second_admin(acme: Acme, no_broker: list[Any]) -> None:
    req = services.action_submit(
        actor=acme.u["sam"],
        action=Action.USER_SUSPEND,
        variant="suspend",
        target_user_id=acme.id["john"],
    )
    row = f"inbox-row-{req.approval_request_id}"
    assert row in client_for(acme.u["dana"]).get(reverse("approvals:inbox")).content.decode()
    assert row not in client_for(acme.u["sam"]).get(reverse("approvals:inbox")).content.decode()
    response = client_for(acme.u["dana"]).post(
        reverse("approvals:request_decide", args=[req.approval_request_id]),
        {"outcome": "APPROVE"},
    )
    assert response.status_code == 302
    approval = approval_of(req)
    assert approval.status == RequestStatus.APPROVED
    assert approval.decisions.get().decider == acme.u["dana"]
    assert Operation.objects.filter(correlation=req.correlation, kind="user.suspend").exists()
    # the action's page shows it is approved and links to its approval request
    page = client_for(acme.u["sam"]).get(reverse("identity:action_detail", args=[req.pk]))
    assert approval.get_absolute_url() in page.content.decode()


def test_admin_pages_forbidden_to_employees(acme: Acme) -> None:
    maya = client_for(acme.u["maya"])
    for name in ("user_create", "groups", "bulk", "bulk_runs", "policies", "admin_roles"):
        assert maya.get(reverse(f"identity:{name}")).status_code == 403, name


def test_admin_roles_report_page(acme: Acme) -> None:
    text = client_for(acme.u["sam"]).get(reverse("identity:admin_roles")).content.decode()
    assert "sam.rivera@acme.com" in text and "jordan.lee@acme.com" in text
    assert "Gatehouse Helpdesk" in text
    fragment = client_for(acme.u["sam"]).get(
        reverse("identity:admin_roles"), {"type": "SUPER_ADMIN"}, headers=HTMX
    )
    assert "<html" not in fragment.content.decode()
    assert "jordan.lee@acme.com" not in fragment.content.decode()


def test_policy_edit_page(acme: Acme) -> None:
    sam = client_for(acme.u["sam"])
    assert sam.get(reverse("identity:policies")).status_code == 200
    response = sam.post(
        reverse("identity:policy_edit", args=["mfa_reset"]),
        {
            "mfa_reset-enabled": "",
            "mfa_reset-requesters": ["helpdesk", "admin"],
            "mfa_reset-approval_policy": "",
            "mfa_reset-bulk_confirm_threshold": "10",
        },
    )
    assert response.status_code == 302
    policy = ActionPolicy.objects.get(action="mfa_reset")
    assert not policy.enabled and policy.requesters == ["helpdesk", "admin"]
    assert policy.approval_policy is None
    assert policy.updated_by == "sam.rivera@acme.com"


def test_policy_edit_page_picks_an_approval_chain(acme: Acme) -> None:
    sam = client_for(acme.u["sam"])
    chain = Policy.objects.get(name="Manager approval")
    page = sam.get(reverse("identity:policies")).content.decode()
    assert 'name="mfa_reset-approval_policy"' in page and "No approval: straight to Okta" in page
    form = {
        "mfa_reset-enabled": "on",
        "mfa_reset-requesters": ["self", "helpdesk", "admin"],
        "mfa_reset-approval_policy": str(chain.pk),
        "mfa_reset-bulk_confirm_threshold": "50",
    }
    assert sam.post(reverse("identity:policy_edit", args=["mfa_reset"]), form).status_code == 302
    assert ActionPolicy.objects.get(action="mfa_reset").approval_policy == chain
    # an unknown policy is refused with a message and changes nothing
    form["mfa_reset-approval_policy"] = "999999"
    response = sam.post(reverse("identity:policy_edit", args=["mfa_reset"]), form, follow=True)
    assert "check the values" in response.content.decode()
    assert ActionPolicy.objects.get(action="mfa_reset").approval_policy == chain
    # the next helpdesk ask waits for maya's manager
    req = services.action_submit(
        actor=acme.u["jordan"],
        action=Action.MFA_RESET,
        variant="reset",
        target_user_id=acme.id["maya"],
    )
    assert approval_of(req).policy_name == "Manager approval"


def test_user_create_page_queues_the_creation(acme: Acme, no_broker: list[Any]) -> None:
    response = client_for(acme.u["sam"]).post(
        reverse("identity:user_create"),
        {
            "login": "lee.new@acme.com",
            "email": "lee.new@acme.com",
            "first_name": "Lee",
            "last_name": "New",
            "department": "Finance",
            "manager_login": "omar.haddad@acme.com",
            "activation": "email",
            "groups": [acme_group_id("New Hires - April")],
            "apps": [acme_app_id("Slack")],
        },
    )
    assert response.status_code == 302
    req = ActionRequest.objects.get(action="user_create")
    op = Operation.objects.get(correlation=req.correlation)
    assert op.params["profile"]["managerId"] == acme.id["omar"]
    assert req.params["app_ids"] == [acme_app_id("Slack")]


def test_user_create_page_invalid_value_is_refused(acme: Acme) -> None:
    response = client_for(acme.u["sam"]).post(
        reverse("identity:user_create"),
        {
            "login": "not-an-email",
            "email": "x@acme.com",
            "first_name": "X",
            "last_name": "Y",
            "activation": "email",
        },
    )
    assert response.status_code == 200 and "valid email" in response.content.decode()
    assert not ActionRequest.objects.exists()


def test_group_page_create_then_add_eight_members(acme: Acme, run_ops: Run) -> None:
    sam = client_for(acme.u["sam"])
    response = sam.post(reverse("identity:groups"), {"name": "Contractors-Q2"})
    assert response.status_code == 302
    run_ops(ActionRequest.objects.get(action="group_manage").correlation)
    group = OktaGroup.objects.get(name="Contractors-Q2")
    logins = list(
        OktaUser.objects.filter(department="Sales", status="ACTIVE")
        .order_by("login")
        .values_list("login", flat=True)[:8]
    )
    response = sam.post(
        reverse("identity:group_members", args=[group.pk]),
        {"logins": "\n".join(logins), "variant": "add"},
        headers=HTMX,
    )
    text = response.content.decode()
    assert "<html" not in text and text.count("queued") == 8
    for req in ActionRequest.objects.filter(action="group_membership"):
        run_ops(req.correlation)
    assert all("Contractors-Q2" in acme.state(login)["groups"] for login in logins)


def test_group_page_app_group_offers_no_changes(acme: Acme) -> None:
    builtin = OktaGroup.objects.get(name="Everyone")
    text = client_for(acme.u["sam"]).get(reverse("identity:group", args=[builtin.pk]))
    assert "Okta lets only OKTA_GROUP" in text.content.decode()


def test_bulk_preview_page_confirm_and_progress(acme: Acme, run_ops: Run) -> None:
    sam = client_for(acme.u["sam"])
    form = {
        "department": "Finance",
        "status": "ACTIVE",
        "inactive_days": "60",
        "action": "sessions_clear",
    }
    preview = sam.post(reverse("identity:bulk"), form)
    text = preview.content.decode()
    assert "8 changes" in text
    preview_hash = bulk.bulk_preview(
        actor=acme.u["sam"],
        action="sessions_clear",
        params={},
        selection={"department": "Finance", "status": "ACTIVE", "inactive_days": 60},
    ).hash
    assert preview_hash in text
    stale = sam.post(reverse("identity:bulk"), {**form, "confirm": "1", "preview_hash": "0" * 64})
    assert "changed since the preview" in stale.content.decode()
    assert not BulkRun.objects.exists()
    response = sam.post(
        reverse("identity:bulk"), {**form, "confirm": "1", "preview_hash": preview_hash}
    )
    run = BulkRun.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/runs/{run.pk}/")
    progress = sam.get(reverse("identity:bulk_run", args=[run.pk]), headers=HTMX).content.decode()
    assert "0 of 8 done" in progress and 'hx-trigger="every 1s"' in progress
    run_ops(run.correlation)
    progress = sam.get(reverse("identity:bulk_run", args=[run.pk]), headers=HTMX).content.decode()
    assert "8 of 8 done" in progress and "every 1s" not in progress
    assert progress.count("SUCCEEDED") == 8


def test_bulk_preview_of_5000_people_asks_as_many_queries_as_for_one(acme: Acme) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def people(first: int, count: int) -> None:
        OktaUser.objects.bulk_create(
            [
                OktaUser(
                    id=f"00ubulk{i:09d}",
                    login=f"bulk{i}@acme.com",
                    email=f"bulk{i}@acme.com",
                    first_name="Bulk",
                    last_name=f"Person{i:05d}",
                    department="Bulkland",
                    status="ACTIVE",
                )
                for i in range(first, first + count)
            ],
            batch_size=1000,
        )

    sam = client_for(acme.u["sam"])
    form = {
        "department": "Bulkland",
        "action": "group_add",
        "target_group_id": acme_group_id("Engineering - Backend"),
    }

    def preview() -> tuple[str, int]:
        with CaptureQueriesContext(connection) as queries:
            response = sam.post(reverse("identity:bulk"), form, headers=HTMX)
        assert response.status_code == 200
        return response.content.decode(), len(queries)

    people(0, 1)
    preview()  # sessions, templates
    text, for_one = preview()
    assert "1 change" in text
    people(1, 4999)
    text, for_all = preview()
    assert "5000 changes" in text and "and 4500 more rows" in text
    assert for_all == for_one


def test_bulk_preview_reads_the_chosen_group_once(acme: Acme) -> None:
    """The picker shows the group its field already read while validating the form: no
    second lookup of the chosen row when the page is drawn again with the preview."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sam = client_for(acme.u["sam"])
    backend = acme_group_id("Engineering - Backend")
    form = {"department": "Engineering", "action": "group_add", "target_group_id": backend}
    sam.post(reverse("identity:bulk"), form)  # sessions, templates
    with CaptureQueriesContext(connection) as queries:
        text = sam.post(reverse("identity:bulk"), form).content.decode()
    assert 'data-testid="preview-summary"' in text
    assert f'value="{backend}" checked' in text and "Engineering - Backend" in text
    lookups = [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "okta_oktagroup"' in q["sql"] and backend in q["sql"] and " IN (" in q["sql"]
    ]
    assert len(lookups) == 1, lookups


def test_bulk_run_second_admin_page(acme: Acme, no_broker: list[Any]) -> None:
    ActionPolicy.objects.filter(action=Action.USER_SUSPEND).update(bulk_confirm_threshold=3)
    _, run = bulk_start(acme.u["sam"], "suspend", FINANCE_STALE)
    page = client_for(acme.u["sam"]).get(reverse("identity:bulk_run", args=[run.pk]))
    text = page.content.decode()
    assert "Waiting for a second admin" in text and 'data-testid="awaiting-preview"' in text
    assert text.count("<td>Suspend</td>") == 8
    client_for(acme.u["sam"]).post(reverse("identity:bulk_run_confirm", args=[run.pk]))
    assert not Operation.objects.filter(correlation=run.correlation).exists()
    client_for(acme.u["dana"]).post(reverse("identity:bulk_run_confirm", args=[run.pk]))
    ops = Operation.objects.filter(correlation=run.correlation)
    assert ops.count() == 8 and set(ops.values_list("status", flat=True)) == {
        OperationStatus.PENDING
    }


def test_my_profile_form_changes_only_self_service_fields(acme: Acme, no_broker: list[Any]) -> None:
    response = client_for(acme.u["maya"]).post(
        reverse("identity:person_profile", args=[acme.id["maya"]]),
        {"mobilePhone": "+1 555 0101"},
    )
    assert response.status_code == 302
    op = Operation.objects.get(kind="user.update")
    assert op.params["profile"] == {"mobilePhone": "+1 555 0101"}


def test_app_page_assigns_by_login_htmx(acme: Acme, run_ops: Run) -> None:
    sam = client_for(acme.u["sam"])
    assert "Zoom" in sam.get(reverse("identity:apps")).content.decode()
    zoom = acme_app_id("Zoom")
    response = sam.post(
        reverse("identity:app", args=[zoom]),
        {"logins": "john.doe@acme.com, nobody@acme.com", "variant": "assign"},
        headers=HTMX,
    )
    text = response.content.decode()
    assert "<html" not in text and "queued" in text and "not in the directory" in text
    run_ops(ActionRequest.objects.get(action="app_assignment").correlation)
    assert "Zoom" in acme.state("john")["apps"]
    assert client_for(acme.u["jordan"]).get(reverse("identity:app", args=[zoom])).status_code == 403


def test_bulk_run_page_filters_failures_and_bulk_form_takes_a_group(
    acme: Acme, no_broker: list[Any]
) -> None:
    group = acme_group_id("New Hires - April")
    sam = client_for(acme.u["sam"])
    page = sam.get(reverse("identity:bulk"), {"group_id": group}).content.decode()
    assert f'name="group_id" id="id_group_id-{group}" value="{group}" checked>' in page
    preview, run = bulk_start(acme.u["sam"], "sessions_clear", {"group_id": group})
    first = run.items.order_by("id").first()
    assert first is not None and first.operation_id is not None
    Operation.objects.filter(pk=first.operation_id).update(
        status=OperationStatus.FAILED, error_code="E0000007", error_summary="Not found"
    )
    url = reverse("identity:bulk_run", args=[run.pk])
    failed = sam.get(url, {"failed": "1"}).content.decode()
    assert failed.count("E0000007: Not found") == 1 and first.label in failed
    assert sam.get(url).content.decode().count("<tr>") == preview.changing + 1


def test_bulk_form_pickers_show_the_choice_escaped_and_no_list_of_everything(
    acme: Acme,
) -> None:
    group = acme_group_id("New Hires - April")
    OktaGroup.objects.filter(pk=group).update(name="New Hires <b>& co</b>")
    apps = list(OktaApp.objects.order_by("label").values_list("id", flat=True)[:2])
    form = BulkForm(
        {"group_id": group, "action": "app_assign", "app_ids": apps, "target_group_id": ""}
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["app_ids"] == apps and form.cleaned_data["group_id"] == group
    groups = str(form["group_id"])
    assert "New Hires &lt;b&gt;&amp; co&lt;/b&gt;" in groups and "<b>" not in groups
    assert groups.count(" checked") == 1 and f'value="{group}" checked' in groups
    assert 'name="group_id_q"' in groups and 'hx-trigger="input changed delay:300ms' in groups
    assert "Engineering" not in groups  # the other groups are not listed
    chosen = str(form["app_ids"])
    assert chosen.count('type="checkbox"') == 2 and chosen.count(" checked") == 2


def _groups(count: int, prefix: str = "Picker") -> None:
    OktaGroup.objects.bulk_create(
        OktaGroup(id=f"00g{prefix[:4]}{i:09d}", name=f"{prefix} {i:04d}", type="OKTA_GROUP")
        for i in range(count)
    )


def test_bulk_page_does_not_grow_with_the_number_of_groups(acme: Acme) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sam = client_for(acme.u["sam"])
    sam.get(reverse("identity:bulk"))  # sessions, roles cache

    def measure() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            page = sam.get(reverse("identity:bulk"))
        return len(page.content), len(queries)

    _groups(10)
    few = measure()
    _groups(990, prefix="More")
    OktaApp.objects.bulk_create(
        OktaApp(id=f"0oapick{i:09d}", name="app", label=f"App {i}", status="ACTIVE")
        for i in range(200)
    )
    assert OktaGroup.objects.count() > 1000
    assert measure() == few


def test_pick_lists_at_most_twenty_matches_with_constant_queries(acme: Acme) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _groups(30)
    OktaGroup.objects.create(id="00gpickapp", name="Picker app group", type="APP_GROUP")
    OktaGroup.objects.create(id="00gpickmid", name="The Picker Team", type="OKTA_GROUP")
    sam = client_for(acme.u["sam"])
    url = reverse("identity:pick", args=["okta_group"])
    query = {"name": "target_group_id", "id": "id_target_group_id", "target_group_id_q": "PICK"}

    def get(params: dict[str, str]) -> tuple[str, int]:
        with CaptureQueriesContext(connection) as queries:
            text = sam.get(url, params, headers=HTMX).content.decode()
        return text, len(queries)

    get(query)  # sessions, roles cache
    # The signed-in account (its session may come from the cache) and nothing else.
    _, account = get({**query, "target_group_id_q": ""})
    assert account <= 2
    text, searched = get(query)
    assert searched == account + 1  # the search
    assert "<html" not in text and text.count('type="radio"') == 20
    assert "Picker 0000" in text and "type more to narrow" in text
    assert "Picker app group" not in text  # only OKTA_GROUPs may be changed
    assert "The Picker Team" not in text  # names starting with the text come first
    # What is chosen stays chosen (and first) whatever is typed now.
    chosen = {**query, "target_group_id": "00gpickmid", "target_group_id_q": "0029"}
    text, with_choice = get(chosen)
    assert with_choice == account + 2  # the chosen, the search
    assert text.count('type="radio"') == 2 and 'value="00gpickmid" checked' in text
    assert text.index("The Picker Team") < text.index("Picker 0029")
    # Part of a name matches too; a group of any type where any group will do.
    anywhere = reverse("identity:pick", args=["group"])
    text = sam.get(anywhere, {**query, "target_group_id_q": "app gr"}).content.decode()
    assert "Picker app group" in text and "APP_GROUP" in text


def test_pick_refuses_strangers_and_bad_input(acme: Acme) -> None:
    url = reverse("identity:pick", args=["app"])
    good = {"name": "app_id", "id": "id_app_id", "app_id_q": "zo"}
    assert client_for(acme.u["jordan"]).get(url, good).status_code == 403
    sam = client_for(acme.u["sam"])
    assert "Zoom" in sam.get(url, good).content.decode()
    bad = sam.get(url, {**good, "id": '"><script>'})
    assert bad.status_code == 400 and b"<script>" not in bad.content
    assert sam.get(reverse("identity:pick", args=["person"]), good).status_code == 404


def test_bulk_form_refuses_unknown_and_app_group_ids_and_changes_nothing(acme: Acme) -> None:
    sam = client_for(acme.u["sam"])
    app_group = acme_group_id("Salesforce - Sales Reps")
    base = {"department": "Finance", "action": "group_add", "preview": "1"}
    cases = {
        "is an APP_GROUP group: Okta lets only OKTA_GROUP groups be changed": {
            "target_group_id": app_group
        },
        "A chosen group is not in the directory.": {"target_group_id": "00gnosuchgroup"},
        "That is not a group from the directory.": {"target_group_id": "x' OR 1=1 --"},
        "Choose one of the groups matching “Marketing” below.": {"target_group_id_q": "Marketing"},
    }
    for message, posted in cases.items():
        page = sam.post(reverse("identity:bulk"), {**base, **posted}).content.decode()
        assert message in page.replace("&#x27;", "'"), message
        assert 'data-testid="preview-summary"' not in page
    # Without JavaScript the search shows the matches to choose from.
    page = sam.post(
        reverse("identity:bulk"), {**base, "target_group_id_q": "Marketing"}
    ).content.decode()
    assert f'value="{acme_group_id("Marketing")}"' in page
    assert not BulkRun.objects.exists() and not Operation.objects.exists()


def test_person_page_pickers_and_bad_ids_change_nothing(acme: Acme) -> None:
    sam = client_for(acme.u["sam"])
    url = reverse("identity:person", args=[acme.id["john"]])
    page = sam.get(url).content.decode()
    assert 'data-testid="picker-group_id"' in page and "<select" not in page
    act = reverse("identity:person_act", args=[acme.id["john"]])
    app_group = acme_group_id("Salesforce - Sales Reps")
    for posted, message in (
        ({"group_id": app_group}, "is an APP_GROUP group"),
        ({"group_id": "00gnosuchgroup"}, "That group is not in the directory."),
    ):
        response = sam.post(
            act, {"action": "group_membership", "variant": "add", **posted}, headers=HTMX
        )
        assert response.status_code == 400 and message in response.content.decode()
    assert not ActionRequest.objects.exists()
    # Without JavaScript: the search comes back to the page with its matches.
    response = sam.post(
        act, {"action": "group_membership", "variant": "add", "group_id_q": "market"}
    )
    assert response.status_code == 302 and response["Location"] == f"{url}?group_id_q=market"
    page = sam.get(response["Location"]).content.decode()
    assert f'value="{acme_group_id("Marketing")}"' in page
    assert "Choose one of the matches" in page and not ActionRequest.objects.exists()


@pytest.mark.parametrize("name", ["people", "admin_roles", "bulk_runs", "groups"])
def test_list_pages_use_a_constant_number_of_queries(
    acme: Acme, name: str, django_assert_max_num_queries: Any
) -> None:
    sam = client_for(acme.u["sam"])
    sam.get(reverse(f"identity:{name}"))  # sessions, roles cache
    with django_assert_max_num_queries(12):
        assert sam.get(reverse(f"identity:{name}")).status_code == 200


def test_person_page_query_count_does_not_grow_with_history(
    acme: Acme, no_broker: list[Any]
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sam = client_for(acme.u["sam"])
    url = reverse("identity:person", args=[acme.id["john"]])

    def ask(times: int) -> None:
        for _ in range(times):
            services.action_submit(
                actor=acme.u["jordan"],
                action=Action.SESSIONS_CLEAR,
                variant="clear",
                target_user_id=acme.id["john"],
            )
            # Done, so the next is not a repeat of an open one.
            Operation.objects.update(status=OperationStatus.SUCCEEDED)

    def count() -> int:
        sam.get(url)
        with CaptureQueriesContext(connection) as queries:
            page = sam.get(url)
        assert page.status_code == 200
        return len(queries)

    ask(1)
    few = count()
    ask(5)
    assert count() == few


def test_pending_actions_show_in_the_approvals_inbox_and_badge(acme: Acme) -> None:
    req = services.action_submit(
        actor=acme.u["sam"],
        action=Action.USER_SUSPEND,
        variant="suspend",
        target_user_id=acme.id["john"],
    )
    page = client_for(acme.u["dana"]).get(reverse("approvals:inbox")).content.decode()
    row = f"inbox-row-{req.approval_request_id}"
    assert row in page and 'data-testid="inbox-count">1' in page
    sam_page = client_for(acme.u["sam"]).get(reverse("approvals:inbox")).content.decode()
    assert row not in sam_page


def test_refusal_never_redirects_off_site(acme: Acme) -> None:
    response = client_for(acme.u["maya"]).post(
        reverse("identity:person_act", args=[acme.id["maya"]]),
        {"action": "user_suspend", "variant": "suspend"},
        headers={"Referer": "https://evil.example/phish"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("identity:my_account")
    assert not ActionRequest.objects.exists()


def test_person_act_bad_referer_falls_back_to_my_account(acme: Acme) -> None:
    maya = acme.u["maya"]
    response = client_for(maya).post(
        reverse("identity:person_act", args=[maya.okta_id]),
        {"action": "no-such-action"},
        HTTP_REFERER="0",
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("identity:my_account")


def test_person_act_repeat_links_to_the_open_action(acme: Acme) -> None:
    sam = client_for(acme.u["sam"])
    act = reverse("identity:person_act", args=[acme.id["john"]])
    ask = {"action": "user_suspend", "variant": "suspend"}
    assert sam.post(act, ask).status_code == 302
    first = ActionRequest.objects.get()
    link = f'<a href="{reverse("identity:action_detail", args=[first.pk])}">'
    response = sam.post(act, ask, headers=HTMX)
    text = response.content.decode()
    assert response.status_code == 400 and "already asked for" in text and link in text
    person = reverse("identity:person", args=[acme.id["john"]])
    page = sam.post(act, ask, HTTP_REFERER=f"http://testserver{person}", follow=True)
    assert link in page.content.decode() and "See the open request" in page.content.decode()
    assert ActionRequest.objects.count() == 1
