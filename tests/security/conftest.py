"""A small world for the security suites, on the one cast of tests/world.py: one person per
portal role, and one object of each kind the URLconf can address, all belonging to maya (the
employee) so that "another employee" (stan, the stranger) must see none of them.

Roles: anonymous, employee (maya), other (stan), manager (priya, maya's manager), approver
(john, in the item's approver group), helpdesk (jordan), admin (sam), auditor (tessa); omar owns
the items. Everything lives in the directory mirror; no Okta is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from api.models import ApiToken
from api.tokens import token_create
from approvals.models import AccessRequest, CatalogItem, Grant, Policy, RequestStatus
from approvals.services.requests import access_request_submit
from audit.models import AuditEvent, AuditVerification
from identity.models import ActionRequest, BulkRun, BulkStatus
from okta.models import Operation, SyncRun
from reviews.models import Campaign, ReviewItem
from tests.approvals.conftest import ensure_default_policies, group_make, item_make, join
from tests.world import Cast, client_as

ROLES = ("anonymous", "employee", "other", "manager", "approver", "helpdesk", "admin", "auditor")
ROLE_PEOPLE = {
    "employee": "maya",
    "other": "stan",
    "manager": "priya",
    "approver": "john",
    "helpdesk": "jordan",
    "admin": "sam",
    "auditor": "tessa",
}


@dataclass
class World:
    people: Cast
    users: dict[str, User]
    item: CatalogItem
    app_item: CatalogItem
    request: AccessRequest
    grant: Grant
    policy: Policy
    sync_run: SyncRun
    event: AuditEvent
    verification: AuditVerification
    action: ActionRequest
    operation: Operation
    bulk_run: BulkRun
    campaign: Campaign
    review_item: ReviewItem
    token: ApiToken
    ids: dict[str, Any] = field(default_factory=dict)

    def client(self, role: str, **kwargs: Any) -> Client:
        return client_as(ROLE_PEOPLE.get(role), **kwargs)


def world_make() -> World:
    ensure_default_policies()
    people = Cast()
    approvers = group_make("Backend Approvers")
    join(people.john, approvers)
    users = {role: people.u[name] for role, name in ROLE_PEOPLE.items()}

    item = item_make(owners=[people.omar.id], approver_group=approvers)
    app_item = item_make("Figma", kind="APP", approver_group=approvers)
    request = access_request_submit(
        requester=people.u["maya"], item=item, reason="on-call", duration_days=30
    )
    done = access_request_submit(
        requester=people.u["maya"], item=app_item, reason="design reviews", duration_days=30
    )
    AccessRequest.objects.filter(pk=done.pk).update(status=RequestStatus.COMPLETED)
    grant = Grant.objects.create(
        request=done,
        item=app_item,
        subject=people.maya,
        expires_at=timezone.now() + timedelta(days=3),
    )
    sync_run = SyncRun.objects.create(
        kind="full", status="succeeded", triggered_by="sam", started_at=timezone.now()
    )
    verification = AuditVerification.objects.create()
    action = ActionRequest.objects.create(
        action="reset_password",
        requested_by=people.u["maya"].username,
        requested_by_okta_id=people.maya.id,
        target_user_id=people.maya.id,
        target_label=str(people.maya),
    )
    operation = Operation.objects.create(
        kind="user.unlock",
        params={"user_id": people.maya.id},
        correlation=action.correlation,
        status="SUCCEEDED",
    )
    bulk_run = BulkRun.objects.create(
        action="suspend",
        preview_hash="0" * 64,
        status=BulkStatus.AWAITING_CONFIRMATION,
        requested_by=people.u["sam"].username,
        requested_by_okta_id=people.sam.id,
    )
    # An access review of maya's app grant, for her manager priya to decide.
    campaign = Campaign.objects.create(
        name="Q4 review",
        status="active",
        reviewer_rule="manager",
        starts_at=timezone.now(),
        due_at=timezone.now() + timedelta(days=14),
        created_by=people.u["sam"].username,
        item_count=1,
    )
    review_item = ReviewItem.objects.create(
        campaign=campaign,
        kind="APP",
        resource_id=str(app_item.app_id),
        resource_label=app_item.name,
        subject_id=people.maya.id,
        subject_label=str(people.maya),
        subject_login=people.maya.login,
        subject_status="ACTIVE",
        subject_manager_id=people.priya.id,
        grant=grant,
        reviewer_okta_id=people.priya.id,
    )
    return World(
        people=people,
        users=users,
        item=item,
        app_item=app_item,
        request=request,
        grant=grant,
        policy=item.policy,
        sync_run=sync_run,
        event=AuditEvent.objects.order_by("pk").first(),  # type: ignore[arg-type]
        verification=verification,
        action=action,
        operation=operation,
        bulk_run=bulk_run,
        campaign=campaign,
        review_item=review_item,
        token=token_create(
            actor=people.u["maya"],
            name="maya's script",
            kind="personal",
            scopes=["catalog:read"],
            days=30,
        )[0],
    )


@pytest.fixture
def world(db: None) -> World:
    return world_make()


@pytest.fixture(autouse=True)
def _signin_provider_endpoints(settings: Any) -> None:
    """The sign-in provider named by its endpoints, so /oidc/authenticate/ redirects to it
    without discovery (which would need a provider listening; see tests/accounts)."""
    for name in ("AUTHORIZATION", "TOKEN", "USER", "JWKS"):
        setattr(settings, f"OIDC_OP_{name}_ENDPOINT", f"https://idp.example.com/{name.lower()}")
