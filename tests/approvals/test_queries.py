"""Each function of approvals/queries.py returns what its ORM equivalent returns, on the same
data: the ORM query written here is the definition of what the SQL means (ADR 0004)."""

from __future__ import annotations

import pytest
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.models import User
from approvals import queries
from approvals.models import (
    OPEN_STATUSES,
    AccessRequest,
    CatalogItem,
    ItemKind,
    Policy,
    PolicyStage,
)
from approvals.services.decisions import access_request_decide
from approvals.services.requests import access_request_cancel
from okta.models import AppAssignment, GroupMembership, OktaUser
from tests.approvals.conftest import People, item_make, join, submit

pytestmark = pytest.mark.django_db


def catalog(people: People) -> list[CatalogItem]:
    """Items maya holds, has asked for, and neither; owned by otto, olive or nobody; an app."""
    held = item_make("Held", owners=[people.otto.id])
    join(people.maya, held.group)  # type: ignore[arg-type]
    asked = item_make("Asked", owners=[people.otto.id, people.olive.id], department="Sales")
    submit(people, asked)
    app = item_make("An app", kind=ItemKind.APP, department="Finance")
    AppAssignment.objects.create(app_id=app.resource_id, user=people.maya, scope="USER")
    item_make("Other app", kind=ItemKind.APP)
    item_make("Unpublished", department="Secret", published=False)
    item_make("Nobody's", policy="Manager then owners")
    return list(CatalogItem.objects.published().order_by("name"))


def test_catalog_held_and_open_is_the_memberships_assignments_and_open_requests(
    people: People,
) -> None:
    items = catalog(people)
    for who in ("maya", "priya", "stan"):
        okta_id = getattr(people, who).id
        found = queries.catalog_held_and_open(items, okta_id)
        groups = {item.group_id for item in items if item.group_id}
        apps = {item.app_id for item in items if item.app_id}
        assert found.groups == set(
            GroupMembership.objects.filter(user_id=okta_id, group_id__in=groups).values_list(
                "group_id", flat=True
            )
        ), who
        assert found.apps == set(
            AppAssignment.objects.filter(user_id=okta_id, app_id__in=apps).values_list(
                "app_id", flat=True
            )
        ), who
        assert found.open_requests == dict(
            AccessRequest.objects.filter(
                subject_id=okta_id, status__in=OPEN_STATUSES, item__in=items
            ).values_list("item_id", "pk")
        ), who
    maya = queries.catalog_held_and_open(items, people.maya.id)
    assert maya.groups and maya.apps and maya.open_requests  # the data has each kind
    assert queries.catalog_held_and_open([], people.maya.id) == queries.HeldAndOpen(
        set(), set(), {}
    )


def test_catalog_people_names_the_owners_and_the_manager(people: People) -> None:
    items = catalog(people)
    for who in ("maya", "priya", "stan"):
        person = getattr(people, who)
        found = queries.catalog_people(items, person.id)
        owners = {o for item in items for o in item.owners}
        assert found.owners == {
            u.pk: str(u) for u in OktaUser.objects.filter(pk__in=[*owners, person.manager_id])
        }, who
        manager = OktaUser.objects.filter(pk=person.manager_id).first()
        assert found.manager == (str(manager) if manager else ""), who
    assert queries.catalog_people(items, people.maya.id).manager == "Priya Patel"
    assert queries.catalog_people([], people.maya.id) == queries.CatalogPeople({}, "")


def test_catalog_policy_stages_are_each_policys_approvers_in_order(people: People) -> None:
    items = catalog(people)
    wanted = {item.policy_id for item in items}
    expected: dict[int, list[str]] = {}
    for stage in PolicyStage.objects.filter(policy_id__in=wanted).order_by("policy", "position"):
        expected.setdefault(stage.policy_id, []).append(stage.approvers)
    assert queries.catalog_policy_stages(wanted) == expected
    assert expected[Policy.objects.get(name="Manager then owners").pk] == ["MANAGER", "OWNERS"]
    assert queries.catalog_policy_stages(set()) == {}


def test_catalog_departments_are_the_published_items_departments(people: People) -> None:
    catalog(people)
    assert queries.catalog_departments() == list(
        CatalogItem.objects.published()
        .exclude(department="")
        .order_by("department")
        .values_list("department", flat=True)
        .distinct()
    )
    assert "Secret" not in queries.catalog_departments()  # unpublished


def test_subject_access_counts_are_the_subjects_groups_and_apps(people: People) -> None:
    catalog(people)
    submit(people, item_make("Priya's", owners=[people.otto.id]), who="priya")

    def count(model: type[GroupMembership] | type[AppAssignment]) -> Coalesce:
        per_user = (
            model.objects.filter(user_id=OuterRef("subject_id"))
            .values("user_id")
            .annotate(n=Count("*"))
            .values("n")
        )
        return Coalesce(Subquery(per_user), Value(0), output_field=IntegerField())

    raw = AccessRequest.objects.annotate(**queries.subject_access_counts())
    orm = AccessRequest.objects.annotate(
        subject_groups=count(GroupMembership), subject_apps=count(AppAssignment)
    )
    fields = ("pk", "subject_groups", "subject_apps")
    assert sorted(raw.values_list(*fields)) == sorted(orm.values_list(*fields))
    assert (1, 1) in {(g, a) for _, g, a in raw.values_list(*fields)}  # maya: a group, an app


def test_waiting_count_is_the_decidable_requests_counted_up_to_the_limit(
    people: People,
) -> None:
    two_stage = [
        submit(
            people, item_make(f"Item {n}", policy="Manager then owners", owners=[people.otto.id])
        )
        for n in range(3)
    ]
    access_request_decide(actor=people.u["priya"], request_id=two_stage[0].pk, outcome="APPROVE")
    access_request_cancel(actor=people.u["maya"], request_id=two_stage[1].pk)
    for who in ("priya", "otto", "maya", "ada", "stan"):
        user = people.u[who]
        assert queries.waiting_count(user) == AccessRequest.objects.decidable_by(user).count(), who
    assert queries.waiting_count(people.u["priya"]) == 1
    submit(people, item_make("More", policy="Manager approval"))
    assert queries.waiting_count(people.u["priya"], at_most=1) == 1
    assert queries.waiting_count(people.u["priya"]) == 2
    assert queries.waiting_count(User(username="no-okta-id")) == 0


def test_catalog_page_is_the_published_matches_by_name_a_page_at_a_time(people: People) -> None:
    catalog(people)
    for n in range(5):
        item_make(f"Extra {n}", department="Sales")
    for text, kind, department in (
        ("", "", ""),
        ("extra", "", ""),
        ("", ItemKind.APP, ""),
        ("", "", "Sales"),
        ("nothing like it", "", ""),
    ):
        matches = CatalogItem.objects.published().search(text)
        if kind:
            matches = matches.filter(kind=kind)
        if department:
            matches = matches.filter(department=department)
        expected = list(matches.order_by("name", "id").values_list("pk", flat=True))
        shown: list[int] = []
        for number in (1, 2, 3, 4):
            page = queries.catalog_page(
                text=text, kind=kind, department=department, number=number, size=3
            )
            assert page.paginator.count == len(expected), (text, kind, department)
            if page.number == number:
                shown += [item.pk for item in page.object_list]
        assert shown == expected, (text, kind, department)


def test_inbox_page_walks_the_decidable_requests_oldest_first(people: People) -> None:
    for n in range(5):
        submit(people, item_make(f"Item {n}"))
    submit(people, item_make("Priya's own"), who="priya")  # not hers to decide
    for who in ("priya", "omar", "stan"):
        user = people.u[who]
        expected = list(
            AccessRequest.objects.decidable_by(user)
            .order_by("created_at", "id")
            .values_list("pk", flat=True)
        )
        walked: list[int] = []
        after = None
        while True:
            rows, more = queries.inbox_page(user, after=after, size=2)
            walked += [row.pk for row in rows]
            assert more == (len(walked) < len(expected)), who
            if not more:
                break
            after = rows[-1].pk
        assert walked == expected, who
    rows, _ = queries.inbox_page(people.u["priya"], after=None, size=2)
    assert [(row.subject_groups, row.subject_apps) for row in rows] == [(0, 0), (0, 0)]  # type: ignore[attr-defined]
