"""The one test world: the acme people the demo shows, a stranger and a second admin, and one
way to sign in as any of them (``client_for("priya")``).

=========  =====================  ==========================================================
who        login                  who they are in Gatehouse
=========  =====================  ==========================================================
maya       maya.chen@acme.com     employee, Software Engineer, reports to priya
priya      priya.patel@acme.com   manager, Engineering Manager
john       john.doe@acme.com      employee, Financial Analyst, reports to omar
omar       omar.haddad@acme.com   manager, Finance Director
jordan     jordan.lee@acme.com    helpdesk, in "Gatehouse Helpdesk"
sam        sam.rivera@acme.com    admin, in "Gatehouse Admins"
tessa      tessa.nguyen@acme.com  auditor, in "Gatehouse Auditors"
dana       dana.brooks@acme.com   the second admin (for what needs two), VP Engineering
stan       stan.gers@acme.com     a stranger: an employee in Sales, in no portal group, who
                                  manages nobody and must see nothing of anyone else's
=========  =====================  ==========================================================

Ids are the sandbox's (``acme_user_id(login)``), so the same names work on a mirror synced from
the acme sandbox: ``client_for`` signs in by login and needs only the person's account. The
``cast`` fixture puts the people in the directory mirror for tests that need no Okta; anyone
else a test needs comes from a factory (tests/approvals/conftest.py ``person_make``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from okta.models import GroupMembership, GroupType, OktaGroup, OktaUser
from okta.sandbox.seed import acme_user_id


@dataclass(frozen=True)
class Person:
    login: str
    title: str
    department: str
    manager: str = ""  # who, in this cast
    portal_group: str = ""  # the setting naming the Okta group that gives a portal role


CAST: dict[str, Person] = {
    "maya": Person("maya.chen@acme.com", "Software Engineer", "Engineering", manager="priya"),
    "priya": Person("priya.patel@acme.com", "Engineering Manager", "Engineering"),
    "john": Person("john.doe@acme.com", "Financial Analyst", "Finance", manager="omar"),
    "omar": Person("omar.haddad@acme.com", "Finance Director", "Finance"),
    "jordan": Person("jordan.lee@acme.com", "IT Help Desk", "IT", portal_group="HELPDESK"),
    "sam": Person("sam.rivera@acme.com", "IT Admin", "IT", portal_group="ADMIN"),
    "tessa": Person(
        "tessa.nguyen@acme.com", "Security Auditor", "Security", portal_group="AUDITOR"
    ),
    "dana": Person("dana.brooks@acme.com", "VP Engineering", "Engineering", portal_group="ADMIN"),
    "stan": Person("stan.gers@acme.com", "Account Executive", "Sales"),
}


def okta_id(who: str) -> str:
    return acme_user_id(CAST[who].login)


def account(who: str) -> User:
    """The Gatehouse account of ``who`` (made on first use, as signing in would)."""
    person = CAST[who]
    first, _, last = person.login.split("@")[0].partition(".")
    user, _ = User.objects.get_or_create(
        username=person.login,
        defaults={
            "email": person.login,
            "okta_id": okta_id(who),
            "display_name": f"{first.title()} {last.title()}",
        },
    )
    return user


class Accounts(dict[str, User]):
    """``cast.u["maya"]``: accounts made on first use, so a person who has not signed in in a
    test has no account (signing in makes it)."""

    def __missing__(self, who: str) -> User:
        self[who] = account(who)
        return self[who]


def portal_group(setting: str) -> OktaGroup:
    name = getattr(settings, f"GATEHOUSE_{setting}_GROUP")
    group, _ = OktaGroup.objects.get_or_create(
        name=name,
        defaults={"id": "00g" + name.replace(" ", "").lower()[:17], "type": GroupType.OKTA_GROUP},
    )
    return group


class Cast:
    """The cast in the directory mirror: ``cast.maya`` is her Okta person, ``cast.u["maya"]``
    her account, ``cast.id["maya"]`` her Okta id."""

    def __init__(self) -> None:
        self.id = {who: okta_id(who) for who in CAST}
        self.u = Accounts()
        for who, person in CAST.items():
            first, _, last = person.login.split("@")[0].partition(".")
            okta_person = OktaUser.objects.create(
                id=self.id[who],
                login=person.login,
                email=person.login,
                status="ACTIVE",
                first_name=first.title(),
                last_name=last.title(),
                title=person.title,
                department=person.department,
                manager_id=self.id[person.manager] if person.manager else "",
            )
            setattr(self, who, okta_person)
            if person.portal_group:
                GroupMembership.objects.create(
                    group=portal_group(person.portal_group), user=okta_person
                )

    def __getattr__(self, who: str) -> OktaUser:  # for the type checker: the people above
        raise AttributeError(who)


@pytest.fixture
def cast(db: None) -> Cast:
    return Cast()


ClientFor = Callable[..., Client]


def client_as(who: str | None, **kwargs: Any) -> Client:
    """A browser signed in as ``who`` of the cast (signed out for None); keyword arguments go
    to Django's test ``Client``. Tests take it as the ``client_for`` fixture."""
    client = Client(**kwargs)
    if who is not None:
        client.force_login(account(who))
    return client


@pytest.fixture
def client_for(db: None) -> ClientFor:
    """``client_for("priya")``: a browser signed in as one of the cast."""
    return client_as
