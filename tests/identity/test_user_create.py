"""Creating a user (as sam, an admin, against the Okta sandbox over real HTTP): the pickers
offer every group and app Gatehouse may give, and the new user's page shows what Okta answered
(status, groups, apps) without waiting for the next sync."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from identity import services
from identity.models import Action, ActionRequest
from okta.models import AppAssignment, GroupMembership, OktaUser, Operation, OperationStatus
from okta.sandbox.seed import acme_app_id, acme_group_id
from tests.identity.conftest import HTMX, Acme, Run, client_for, new_person

pytestmark = pytest.mark.django_db

NINA = "nina.new@acme.com"


def _pick(client: Any, kind: str, name: str, text: str) -> str:
    url = reverse("identity:pick", args=[kind])
    query = {"name": name, "id": f"id_{name}", "multiple": "1", f"{name}_q": text}
    return str(client.get(url, query, headers=HTMX).content.decode())


def _publish_the_demo_catalog() -> None:
    """Some groups and apps published, most not (Design and Zoom are not)."""
    from approvals.demo import demo_catalog_publish
    from approvals.models import CatalogItem
    from tests.approvals.conftest import ensure_default_policies as approvals_policies

    approvals_policies()
    assert demo_catalog_publish() >= 1
    assert not CatalogItem.objects.filter(group__name="Design").exists()
    assert not CatalogItem.objects.filter(app__label="Zoom").exists()


def test_user_create_pickers_search_every_changeable_group_and_app(acme: Acme) -> None:
    _publish_the_demo_catalog()
    sam = client_for(acme.u["sam"])
    form_url = reverse("identity:user_create")
    page = sam.get(form_url).content.decode()
    assert (
        'data-testid="picker-groups"' in page and "Engineering - Backend" not in page
    )  # nothing listed yet
    design = _pick(sam, "okta_group", "groups", "Design")
    assert f'value="{acme_group_id("Design")}"' in design and "No group" not in design
    assert "Zoom" in _pick(sam, "app", "apps", "zoom")
    # The form's own pickers ask for those kinds.
    assert reverse("identity:pick", args=["okta_group"]) + "?name=groups" in page
    assert reverse("identity:pick", args=["app"]) + "?name=apps" in page

    # Without JavaScript: the search is sent with the form, the matches come back to choose.
    searched = sam.post(
        form_url,
        {
            "login": "kim@acme.com",
            "email": "kim@acme.com",
            "first_name": "Kim",
            "last_name": "Lee",
            "activation": "email",
            "groups_q": "Design",
        },
    ).content.decode()
    assert "Choose one of the groups matching “Design” below." in searched
    assert f'value="{acme_group_id("Design")}"' in searched
    assert not ActionRequest.objects.exists()

    chosen = sam.post(
        form_url,
        {
            "login": "kim@acme.com",
            "email": "kim@acme.com",
            "first_name": "Kim",
            "last_name": "Lee",
            "activation": "email",
            "groups": [acme_group_id("Design")],
            "apps": [acme_app_id("Zoom")],
        },
    )
    assert chosen.status_code == 302
    req = ActionRequest.objects.get()
    assert req.params["group_ids"] == [acme_group_id("Design")]
    assert req.params["app_ids"] == [acme_app_id("Zoom")]


def test_group_picker_says_why_a_group_that_exists_is_not_offered(acme: Acme) -> None:
    sam = client_for(acme.u["sam"])
    answer = _pick(sam, "okta_group", "groups", "Salesforce")
    assert 'type="checkbox"' not in answer
    assert (
        "No group that can be changed matches “Salesforce”: Okta lets only OKTA_GROUP groups "
        "be changed, not Salesforce - Sales Reps (APP_GROUP)."
    ) in answer
    nothing = _pick(sam, "okta_group", "groups", "Nonexistent")
    assert "No group matches “Nonexistent”." in nothing


def _log_request_id(acme: Acme, event_type: str, user_id: str) -> str:
    """The request id Okta's System Log records for ``event_type`` on ``user_id``."""
    query = urlencode({"filter": f'eventType eq "{event_type}"', "q": user_id})
    events = acme.sandbox.api("GET", f"/api/v1/logs?{query}").body
    (event,) = events
    return str(event["transaction"]["id"])


def test_user_create_mirrors_okta_answers_status_and_groups(acme: Acme, run_ops: Run) -> None:
    req = services.action_submit(
        actor=acme.u["sam"],
        action=Action.USER_CREATE,
        variant="create",
        params=new_person(
            NINA,
            activation="url",
            group_ids=[acme_group_id("Design")],
            app_ids=[acme_app_id("Slack")],
        ),
    )
    ops = run_ops(req.correlation)
    assert [o.status for o in ops] == [OperationStatus.SUCCEEDED] * 3, [
        (o.kind, o.error_summary) for o in ops
    ]
    okta = acme.state(NINA)
    nina = OktaUser.objects.get(login=NINA)
    # Activated without email and without a password: Okta says PROVISIONED, not ACTIVE.
    assert okta["status"] == "PROVISIONED" and nina.status == "PROVISIONED"
    mirrored = set(
        GroupMembership.objects.filter(user_id=nina.pk).values_list("group__name", flat=True)
    )
    assert mirrored == set(okta["groups"]) == {"Everyone", "Design"}
    apps = AppAssignment.objects.filter(user_id=nina.pk).values_list("app__label", flat=True)
    assert set(apps) == {"Slack"} and "Slack" in okta["apps"]  # the one assigned directly
    # Each operation records Okta's answer to its own write, not to a read that followed it.
    create, activate = (Operation.objects.get(pk=o.pk) for o in (ops[0], ops[-1]))
    assert create.kind == "user.create" and activate.kind == "user.activate"
    assert create.okta_request_id == _log_request_id(acme, "user.lifecycle.create", nina.pk)
    assert activate.okta_request_id == _log_request_id(acme, "user.lifecycle.activate", nina.pk)

    page = client_for(acme.u["sam"]).get(reverse("identity:person", args=[nina.pk]))
    status = page.content.decode().split('data-testid="person-status"', 1)[1][:200]
    assert "PROVISIONED" in status
    groups = [g.name for g in page.context["groups"]]
    assert sorted(groups) == ["Design", "Everyone"]
