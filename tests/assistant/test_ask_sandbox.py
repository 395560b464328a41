"""Ask Gatehouse through its pages, on the acme sandbox: each example of issue 14 and
paraphrases of it (typos included) make the right preview; confirming submits through the
services, and the write ones are followed to Okta's own state."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from approvals.models import AccessRequest, CatalogItem, Policy, RequestStatus
from approvals.services.decisions import access_request_decide
from audit.models import AuditEvent
from identity import bulk
from identity.models import ActionRequest, BulkRun, BulkStatus
from okta.models import OktaApp, OktaGroup, OktaUser, Operation
from okta.sandbox.seed import acme_group_id
from tests.identity.conftest import Acme, Run

pytestmark = pytest.mark.django_db
ASK = reverse("assistant:ask")
CONFIRM = reverse("assistant:confirm")


def browser(acme: Acme, who: str) -> Client:
    client = Client()
    client.force_login(acme.u[who])
    return client


def preview(client: Client, text: str) -> str:
    response = client.get(ASK, {"q": text})
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def confirm(client: Client, text: str) -> str:
    """Preview ``text``, then press Confirm on that preview; the result page."""
    page = preview(client, text)
    found = re.search(r'name="fingerprint" value="([0-9a-f]{64})"', page)
    assert found, f"no Confirm button in the preview of {text!r}: {_visible(page)}"
    response = client.post(CONFIRM, {"q": text, "fingerprint": found.group(1)})
    assert response.status_code == 200, _visible(response.content.decode())
    return response.content.decode()


def _visible(page: str) -> str:
    main = page.split('<main id="main"', 1)[-1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def visible(page: str) -> str:
    return _visible(page)


def last_event(text: str) -> AuditEvent:
    event = AuditEvent.objects.filter(action="assistant.confirmed").order_by("-id").first()
    assert event is not None and event.detail["text"] == text
    return event


# --- admins ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Suspend every user in the Finance department who hasn't signed in for 60 days",
        "suspend all active users in finance dept that have not logged in for sixty days",
        "Suspnd everyone in the Finanse department who hasnt signed in for 60 days",
    ],
)
def test_suspend_finance_stale_is_a_bulk_run_to_okta(acme: Acme, run_ops: Run, text: str) -> None:
    sam = browser(acme, "sam")
    page = visible(preview(sam, text))
    assert "Suspend: everyone in the Finance department" in page
    assert "who have not signed in for 60 days" in page
    assert "8 changes" in page  # the bulk preview's count: privileged and inactive ones skipped
    assert "Waits for a second admin" in page
    done = visible(confirm(sam, text))
    run = BulkRun.objects.get()
    assert f"Bulk run #{run.pk} for 8 people: waiting for a second admin" in done
    assert run.status == BulkStatus.AWAITING_CONFIRMATION and not Operation.objects.exists()
    bulk.bulk_second_confirm(actor=acme.u["dana"], run_id=run.pk)
    run_ops(run.correlation)
    suspended = [i.user_id for i in run.items.all()]
    assert len(suspended) == 8
    assert all(acme.state(i)["status"] == "SUSPENDED" for i in suspended)
    event = last_event(text)
    assert event.detail["plan"]["steps"][0]["selection"]["inactive_days"] == 60
    assert event.detail["confirmed"][0]["outcome"].startswith(f"Bulk run #{run.pk}")


def test_create_user_with_group_and_app(acme: Acme, run_ops: Run) -> None:
    text = (
        "Create an Okta user for ana.diaz@acme.com in the Engineering department with the "
        "Engineers group and Salesforce app assigned"
    )
    sam = browser(acme, "sam")
    page = visible(preview(sam, text))
    assert "Read “engineers” as “Engineering”." in page  # a fuzzy name is said, not hidden
    assert (
        "Create user Ana Diaz (ana.diaz@acme.com) with groups Engineering; apps Salesforce" in page
    )
    confirm(sam, text)
    req = ActionRequest.objects.get(action="user_create")
    run_ops(req.correlation)
    state = acme.state("ana.diaz@acme.com")
    assert state["status"] in ("ACTIVE", "PROVISIONED")
    assert "Engineering" in state["groups"] and "Salesforce" in state["apps"]
    assert OktaUser.objects.get(login="ana.diaz@acme.com").department == "Engineering"


@pytest.mark.parametrize(
    "text",
    [
        "Reset the password for john.doe@acme.com and send him the reset email",
        "reset john doe's password",
        "pls reset pasword for Jon Doe",
    ],
)
def test_reset_password_for_someone(acme: Acme, run_ops: Run, text: str) -> None:
    sam = browser(acme, "sam")
    page = visible(preview(sam, text))
    assert "Email a password reset link: John Doe" in page
    assert "Goes to Okta at once" in page
    confirm(sam, text)
    req = ActionRequest.objects.get(target_user_id=acme.id["john"])
    run_ops(req.correlation)
    assert acme.state("john")["status"] == "RECOVERY"


def test_new_hires_get_three_apps(acme: Acme, run_ops: Run) -> None:
    from identity.models import Action, ActionPolicy

    # Thirty changes: above the default size a second admin confirms, so raise it as the bulk
    # tests do, to follow the run straight to Okta.
    ActionPolicy.objects.filter(action=Action.APP_ASSIGNMENT).update(bulk_confirm_threshold=100)
    text = "Add everyone in the New Hires - April group to the Slack, Zoom and Notion apps"
    sam = browser(acme, "sam")
    page = visible(preview(sam, text))
    assert "Assign apps: everyone in the group New Hires - April" in page
    assert "30 changes" in page
    confirm(sam, text)
    run = BulkRun.objects.get()
    run_ops(run.correlation)
    members = OktaUser.objects.filter(memberships__group_id=acme_group_id("New Hires - April"))
    assert members.count() == 10
    for person in members:
        assert {"Slack", "Zoom", "Notion"} <= set(acme.state(person.pk)["apps"])


@pytest.mark.parametrize(
    "text",
    [
        "Show me all users with the HELP_DESK_ADMIN or SUPER_ADMIN role and which groups they "
        "belong to",
        "list super admins and help desk admins with their groups",
    ],
)
def test_admin_roles_report_with_csv(acme: Acme, text: str) -> None:
    sam = browser(acme, "sam")
    page = preview(sam, text)
    assert 'data-testid="ask-report"' in page and 'data-testid="ask-confirm"' not in page
    shown = visible(page)
    assert "sam.rivera@acme.com" in shown and "jordan.lee@acme.com" in shown
    assert "Gatehouse Admins" in shown and "HELP_DESK_ADMIN" in shown
    csv = sam.get(reverse("assistant:report_csv"), {"q": text})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().splitlines()
    assert lines[0] == "Person,Login,Status,Roles,Groups"
    assert any("jordan.lee@acme.com" in line and "HELP_DESK_ADMIN" in line for line in lines)
    # An employee is told who may see it, and the CSV is refused to them too.
    maya = browser(acme, "maya")
    assert "Only admins and auditors see who holds Okta admin roles." in visible(
        preview(maya, text)
    )
    assert maya.get(reverse("assistant:report_csv"), {"q": text}).status_code == 403


def test_create_group_then_add_the_listed_people(acme: Acme, run_ops: Run) -> None:
    people = [
        "maya.chen@acme.com",
        "john.doe@acme.com",
        "priya.patel@acme.com",
        "omar.haddad@acme.com",
        "tessa.nguyen@acme.com",
        "jordan.lee@acme.com",
        "dana.brooks@acme.com",
        "alex.morgan@acme.com",
    ]
    text = (
        "Create a new OKTA_GROUP called Contractors-Q2 and add these 8 users to it: "
        + ", ".join(people)
    )
    sam = browser(acme, "sam")
    page = visible(preview(sam, text))
    assert "Create the Okta group Contractors-Q2" in page
    assert "Contractors-Q2 does not exist yet" in page
    done = confirm(sam, text)
    req = ActionRequest.objects.get(action="group_manage")
    run_ops(req.correlation)
    group = OktaGroup.objects.get(name="Contractors-Q2")
    follow_up = re.search(r'href="/ask/\?q=([^"]+)" data-testid="ask-follow-up"', done)
    assert follow_up, visible(done)
    then = "Add " + ", ".join(people) + " to the Contractors-Q2 group"
    assert visible(done).count(then) == 1  # the sentence to ask next, offered as a link
    page = visible(preview(sam, then))
    assert page.count("Add to group Contractors-Q2") == 8
    confirm(sam, then)
    for req in ActionRequest.objects.filter(action="group_membership"):
        run_ops(req.correlation)
    assert all("Contractors-Q2" in acme.state(login)["groups"] for login in people)
    assert OktaUser.objects.filter(memberships__group_id=group.pk).count() == 8

    # Saying a number that does not match the list is a question, not a guess.
    wrong = visible(preview(sam, text.replace("these 8", "these 9").replace("Q2", "Q3")))
    assert "You said 9 people but listed 8" in wrong


# --- employees ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Reset my Okta password — I can't remember it",
        "I forgot my password",
        "plese reset my pasword",
    ],
)
def test_reset_my_password(acme: Acme, run_ops: Run, text: str) -> None:
    maya = browser(acme, "maya")
    assert "Email a password reset link: Maya Chen" in visible(preview(maya, text))
    confirm(maya, text)
    req = ActionRequest.objects.get(target_user_id=acme.id["maya"])
    run_ops(req.correlation)
    assert acme.state("maya")["status"] == "RECOVERY"


def test_unlock_my_account_is_refused_as_policy_says_and_a_manager_can(
    acme: Acme, run_ops: Run
) -> None:
    maya = browser(acme, "maya")
    page = preview(maya, "I'm locked out, please unlock my account")
    assert "Unlock: Maya Chen" in visible(page)
    assert 'data-testid="ask-refusal"' in page and 'data-testid="ask-confirm"' not in page
    acme.sandbox.lock_user(acme.id["maya"])
    OktaUser.objects.filter(pk=acme.id["maya"]).update(status="LOCKED_OUT")
    priya = browser(acme, "priya")
    assert "Unlock: Maya Chen" in visible(preview(priya, "maya chen is locked out, unlock her"))
    confirm(priya, "please unlock maya.chen@acme.com")
    req = ActionRequest.objects.get(target_user_id=acme.id["maya"])
    run_ops(req.correlation)
    assert acme.state("maya")["status"] == "ACTIVE"


@pytest.mark.parametrize(
    "text",
    [
        "Request access to the Engineering - Backend group so I can see our repos",
        "i need engineering backend for two weeks because I review backend code",
    ],
)
def test_request_a_catalog_group_through_approval_to_okta(
    acme: Acme, run_ops: Run, text: str
) -> None:
    maya = browser(acme, "maya")
    page = visible(preview(maya, text))
    assert "Ask for Engineering - Backend for Maya Chen" in page
    assert "Policy: Manager approval" in page and "Waits for Priya Patel" in page
    confirm(maya, text)
    req = AccessRequest.objects.get(subject_id=acme.id["maya"])
    assert req.status == RequestStatus.PENDING and req.reason
    if "two weeks" in text:
        assert req.duration_days == 14
    access_request_decide(actor=acme.u["priya"], request_id=req.pk, outcome="APPROVE")
    run_ops(req.correlation)
    assert "Engineering - Backend" in acme.state("maya")["groups"]


def test_give_me_access_to_figma(acme: Acme, run_ops: Run) -> None:
    maya = browser(acme, "maya")
    assert "Figma is not in the catalog" in visible(preview(maya, "Give me access to Figma"))
    CatalogItem.objects.create(
        kind="APP",
        app=OktaApp.objects.get(label="Figma"),
        name="Figma",
        policy=Policy.objects.get(name="Auto-approve low risk"),
        risk="LOW",
        reason_required=False,
        published=True,
    )
    text = "Give me acess to figma"
    page = visible(preview(maya, text))
    assert "Ask for Figma for Maya Chen permanently" in page and "Auto-approved" in page
    confirm(maya, text)
    req = AccessRequest.objects.get(subject_id=acme.id["maya"])
    run_ops(req.correlation)
    assert "Figma" in acme.state("maya")["apps"]


@pytest.mark.parametrize(
    "text",
    ["Show me every app I have access to", "which apps do i have", "sho me my aps"],
)
def test_my_apps(acme: Acme, text: str) -> None:
    page = preview(browser(acme, "maya"), text)
    shown = visible(page)
    assert "Every app you have access to" in shown
    assert "GitHub" in shown and "Slack" in shown and "Salesforce" not in shown


def test_employee_asking_to_suspend_is_refused_and_nothing_changes(acme: Acme) -> None:
    maya = browser(acme, "maya")
    page = preview(maya, "suspend john doe")
    assert "Refused: Policy does not let you ask for" in visible(page)
    assert 'data-testid="ask-confirm"' not in page
    # Posting a confirmation anyway (a forged form) is refused by the same service.
    fingerprint = re.search(r"[0-9a-f]{64}", page)
    response = maya.post(CONFIRM, {"q": "suspend john doe", "fingerprint": "0" * 64})
    assert response.status_code == 409 and fingerprint is None
    assert not ActionRequest.objects.exists() and not Operation.objects.exists()
    assert acme.state("john")["status"] == "ACTIVE"


def test_ambiguous_name_is_asked_never_guessed(acme: Acme) -> None:
    name = (
        OktaUser.objects.values_list("last_name", flat=True)
        .order_by("last_name")
        .exclude(last_name="")
    )
    common = next(n for n in name if OktaUser.objects.filter(last_name=n).count() >= 3)
    page = preview(browser(acme, "sam"), f"reset the password for {common}")
    count = OktaUser.objects.filter(last_name=common).count()
    assert f"match “{common.casefold()}” — which one?" in visible(page)
    assert page.count('data-testid="ask-choice"') == min(count, 8)
    assert 'data-testid="ask-confirm"' not in page


def test_stale_preview_is_refused(acme: Acme) -> None:
    text = "Suspend every user in the Finance department who hasn't signed in for 60 days"
    sam = browser(acme, "sam")
    page = preview(sam, text)
    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]{64})"', page)
    assert fingerprint
    victim = OktaUser.objects.filter(department="Finance", status="ACTIVE").first()
    assert victim is not None
    OktaUser.objects.filter(department="Finance", status="ACTIVE").update(department="Sales")
    response = sam.post(CONFIRM, {"q": text, "fingerprint": fingerprint.group(1)})
    assert response.status_code == 409
    assert "changed since the preview" in visible(response.content.decode())
    assert not BulkRun.objects.exists()


def _counts() -> dict[str, Any]:
    return {
        "actions": ActionRequest.objects.count(),
        "requests": AccessRequest.objects.count(),
        "runs": BulkRun.objects.count(),
        "ops": Operation.objects.count(),
        "events": AuditEvent.objects.count(),
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Type what you need"),
        ("   ", "Type what you need"),
        ("suspend john doe " * 600, "characters: ask in at most 500"),
        ("<script>alert(1)</script> suspend john", "HTML, markup and control characters"),
        ("reset \x00 my password", "HTML, markup and control characters"),
        ("blorp fizzle wibble", "I could not tell what you want done"),
        ("Réinitialiser mon mot de passe", "understands requests in English"),
        ("重置我的密码", "understands requests in English"),
    ],
)
def test_bad_input_says_why_and_changes_nothing(acme: Acme, text: str, message: str) -> None:
    before = _counts()
    sam = browser(acme, "sam")
    response = sam.get(ASK, {"q": text})
    assert response.status_code in (200, 400)
    page = response.content.decode()
    assert message in visible(page)
    assert "<script>alert" not in page
    posted = sam.post(CONFIRM, {"q": text, "fingerprint": "x"})
    assert posted.status_code in (400, 409)
    assert _counts() == before


def test_names_with_grammar_words_and_misspelt_groups(acme: Acme) -> None:
    maya = visible(
        preview(browser(acme, "maya"), "Give me access to VPN Users for two weeks so I can work")
    )
    assert "Ask for VPN Users for Maya Chen for 14 days, reason: “so I can work”" in maya
    sam = visible(
        preview(browser(acme, "sam"), "add maya.chen@acme.com to the Data Warehose Readers group")
    )
    assert "Read “data warehose readers” as “Data Warehouse Readers”." in sam
    assert "Add to group Data Warehouse Readers: Maya Chen" in sam
