"""Asking is never a way around a rule: for each role, what the ask page offers to confirm is
what the services it calls allow, and a forged confirmation is refused with nothing changed."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from identity.models import ActionRequest, BulkRun
from okta.models import Operation
from tests.security.conftest import World

pytestmark = pytest.mark.django_db
ASK = reverse("assistant:ask")
CONFIRM = reverse("assistant:confirm")
CONFIRM_BUTTON = 'data-testid="ask-confirm"'


@pytest.mark.parametrize("role", ["employee", "other", "manager", "approver", "auditor"])
def test_suspending_someone_is_refused_to_non_admins(world: World, role: str) -> None:
    client = world.client(role)
    page = client.get(ASK, {"q": "suspend omar haddad"}).content.decode()
    assert "Refused: Policy does not let you ask for" in page
    assert CONFIRM_BUTTON not in page
    forged = client.post(CONFIRM, {"q": "suspend omar haddad", "fingerprint": "0" * 64})
    assert forged.status_code == 409
    assert not ActionRequest.objects.filter(target_user_id=world.people.id["omar"]).exists()
    assert not Operation.objects.filter(kind="user.suspend").exists()


def test_an_admin_is_offered_the_suspension_under_its_policy(world: World) -> None:
    page = world.client("admin").get(ASK, {"q": "suspend omar haddad"}).content.decode()
    assert "Suspend: Omar Haddad" in page and CONFIRM_BUTTON in page
    assert re.search(r"Waits for .*admins", page)


@pytest.mark.parametrize("role", ["employee", "other", "manager", "approver", "auditor"])
def test_directory_reports_and_bulk_runs_are_refused_to_non_admins(world: World, role: str) -> None:
    client = world.client(role)
    report = client.get(ASK, {"q": "show users in the Finance department"}).content.decode()
    assert "Only admins and the help desk see the directory." in report
    csv = client.get(reverse("assistant:report_csv"), {"q": "show users in the Finance department"})
    assert csv.status_code == 403
    page = client.get(ASK, {"q": "suspend everyone in the Finance department"}).content.decode()
    assert "Only admins run bulk operations." in page and CONFIRM_BUTTON not in page
    assert not BulkRun.objects.exclude(pk=world.bulk_run.pk).exists()
