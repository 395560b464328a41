"""Named people and small factories for approvals tests (a small mirror, no Okta needed).

maya (employee, Engineering) reports to priya (manager); omar and olive are in the
"Backend Approvers" group; otto owns the items; ada is a Gatehouse admin; stan is a stranger in
Sales who must see nothing of anyone else's requests.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.test import Client

from accounts.models import User
from approvals import notifications, tasks
from approvals.models import AccessRequest, CatalogItem, ItemKind, Policy, RiskLevel
from approvals.services.requests import access_request_submit
from okta.models import GroupMembership, GroupType, OktaApp, OktaGroup, OktaUser


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def person_make(
    login: str, *, manager: OktaUser | None = None, department: str = "Engineering", **fields: Any
) -> OktaUser:
    local = login.split("@")[0]
    first, _, last = local.partition(".")
    return OktaUser.objects.create(
        id="00u" + local.replace(".", "")[:14],
        login=login,
        email=login,
        status=fields.pop("status", "ACTIVE"),
        first_name=first.title(),
        last_name=last.title(),
        department=department,
        manager_id=manager.id if manager else "",
        **fields,
    )


def account_for(person: OktaUser) -> User:
    return User.objects.create(
        username=person.login, email=person.email, okta_id=person.id, display_name=str(person)
    )


def group_make(name: str, *, type: str = GroupType.OKTA_GROUP) -> OktaGroup:
    return OktaGroup.objects.create(id="00g" + _alnum(name)[:17], name=name, type=type)


def join(person: OktaUser, group: OktaGroup) -> None:
    GroupMembership.objects.create(group=group, user=person)


def item_make(
    name: str = "Engineering - Backend",
    *,
    policy: str = "Manager approval",
    kind: str = ItemKind.GROUP,
    published: bool = True,
    **fields: Any,
) -> CatalogItem:
    fields.setdefault("default_duration_days", 30)
    fields.setdefault("max_duration_days", 90)
    fields.setdefault("risk", RiskLevel.MEDIUM)
    if kind == ItemKind.GROUP:
        group = fields.pop("group", None) or group_make(name)
        fields["group"] = group
    else:
        app = fields.pop("app", None) or OktaApp.objects.create(
            id="0oa" + _alnum(name)[:17], name=name.lower(), label=name, status="ACTIVE"
        )
        fields["app"] = app
    return CatalogItem.objects.create(
        kind=kind, name=name, policy=Policy.objects.get(name=policy), published=published, **fields
    )


def ensure_default_policies() -> None:
    """The data migration's policies (a transactional test's flush may have removed them)."""
    migration = importlib.import_module("approvals.migrations.0002_default_policies")
    migration.create_defaults(django_apps, None)


class People:
    def __init__(self) -> None:
        ensure_default_policies()
        self.priya = person_make("priya.patel@acme.com", title="Engineering Manager")
        self.maya = person_make("maya.chen@acme.com", manager=self.priya)
        self.omar = person_make("omar.haddad@acme.com")
        self.olive = person_make("olive.jones@acme.com")
        self.otto = person_make("otto.berg@acme.com")
        self.ada = person_make("ada.admin@acme.com", department="IT")
        self.stan = person_make("stan.gers@acme.com", department="Sales")
        self.approvers = group_make("Backend Approvers")
        join(self.omar, self.approvers)
        join(self.olive, self.approvers)
        join(self.ada, group_make(settings.GATEHOUSE_ADMIN_GROUP))
        self.u = {
            name: account_for(getattr(self, name))
            for name in ("priya", "maya", "omar", "olive", "otto", "ada", "stan")
        }


HTMX = {"HX-Request": "true"}


def client_for(people: People, who: str) -> Client:
    """A browser signed in as one of the people."""
    client = Client()
    client.force_login(people.u[who])
    return client


def submit(people: People, item: CatalogItem, who: str = "maya") -> AccessRequest:
    """A request for ``item`` by ``who`` (maya unless told), for 30 days."""
    return access_request_submit(
        requester=people.u[who], item=item, reason="on-call", duration_days=30
    )


@pytest.fixture
def people(db: None) -> People:
    return People()


@pytest.fixture
def backend(people: People) -> CatalogItem:
    return item_make(owners=[people.otto.id], approver_group=people.approvers)


def mail_notes(callbacks: list[Callable[[], Any]]) -> list[list[Any]]:
    """The notes of the email tasks these on-commit callbacks would queue."""
    return [
        note
        for cb in callbacks
        if isinstance(cb, partial) and cb.args[:1] == (notifications.TASK,)
        for note in cb.args[1]
    ]


def run_mail_callbacks(callbacks: list[Callable[[], Any]]) -> None:
    """Run the email task itself (in this process, so ``mail.outbox`` sees what it sends) on
    the notes the on-commit callbacks would queue; other callbacks (Celery queueing) are not
    run."""
    notes = mail_notes(callbacks)
    if notes:
        tasks.send_notifications(notes)
