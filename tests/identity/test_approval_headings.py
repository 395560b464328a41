"""How identity actions that wait for approval read in the approvals inbox and on home: what
happens and to whom, once."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from approvals.models import AccessRequest
from identity import services
from identity.models import Action
from tests.identity.conftest import Acme, approval_of, client_for, new_person
from tests.identity.test_approval_engine import chain, john_suspend_asked

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_inbox_and_home_name_an_action_and_its_person_once(acme: Acme) -> None:
    chain(Action.USER_CREATE, "Second admin")
    create = services.action_submit(
        actor=acme.u["sam"],
        action=Action.USER_CREATE,
        variant="create",
        params=new_person("maya.lopez@acme.com"),
    )
    suspend = john_suspend_asked(acme)
    inbox = _text(client_for(acme.u["dana"]).get(reverse("approvals:inbox")).content.decode())
    assert "Create user Maya Lopez (maya.lopez@acme.com) Identity action" in inbox
    assert "Suspend John Doe Identity action" in inbox and "Suspend for" not in inbox
    waiting = _text(client_for(acme.u["dana"]).get("/").content.decode())
    mine = _text(client_for(acme.u["sam"]).get("/").content.decode())
    for page in (waiting, mine):
        assert "Create user Maya Lopez (maya.lopez@acme.com) #" in page
        assert "Suspend John Doe #" in page and " for #" not in page
    assert approval_of(create).label == "Create user Maya Lopez (maya.lopez@acme.com)"
    assert approval_of(suspend).label == "Suspend John Doe"


def test_an_action_asked_before_titles_named_the_person_still_names_them(acme: Acme) -> None:
    approval = approval_of(john_suspend_asked(acme))
    AccessRequest.objects.filter(pk=approval.pk).update(title="Suspend")
    approval.refresh_from_db()
    assert approval.label == "Suspend: John Doe"
