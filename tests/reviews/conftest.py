"""A small mirror for review tests (no Okta needed; the sandbox tests cover Okta), on the one
cast of tests/world.py.

priya reviews her reports (maya, and ivy who is suspended) in "Engineering - Backend"; omar has
no manager, so his membership falls to the admins (sam, dana); sam's own membership too, which
he must not review; john owns the catalog item; stan is a stranger who must see nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from approvals.models import AccessRequest, CatalogItem, Grant, RequestStatus
from reviews import services
from reviews.models import ReviewItem
from tests.approvals.conftest import ensure_default_policies, item_make, join, person_make
from tests.world import Cast


class World:
    def __init__(self, people: Cast) -> None:
        ensure_default_policies()
        self.p = people
        self.ivy = person_make("ivy.stone@acme.com", manager=people.priya, status="SUSPENDED")
        self.item: CatalogItem = item_make(owners=[people.john.id])
        group = self.item.group
        assert group is not None
        people.maya.last_login = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
        people.maya.save(update_fields=["last_login"])
        for person in (people.maya, self.ivy, people.omar, people.sam):
            join(person, group)
        request = AccessRequest.objects.create(
            item=self.item,
            requester=people.u["maya"],
            subject=people.maya,
            subject_label=str(people.maya),
            status=RequestStatus.COMPLETED,
            reason="on-call for the payments service",
            policy_name="Manager approval",
            pending_until=timezone.now(),
        )
        self.grant = Grant.objects.create(
            request=request,
            item=self.item,
            subject=people.maya,
            expires_at=timezone.now() + timedelta(days=20),
        )
        self.campaign = services.campaign_create(
            actor=people.u["sam"],
            name="Backend review",
            catalog_item_ids=[self.item.pk],
            reviewer_rule="manager",
            due_at=timezone.now() + timedelta(days=14),
        )

    def item_of(self, person: Any) -> ReviewItem:
        return ReviewItem.objects.get(campaign=self.campaign, subject_id=person.id)


@pytest.fixture
def world(cast: Cast) -> World:
    return World(cast)
