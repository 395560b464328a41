"""A starter catalog for the demo org (acme), published from the mirror after the first sync.

Idempotent: items that exist are left alone. Groups or apps missing from the mirror are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from approvals.models import CatalogItem, ItemKind, Policy, RiskLevel
from audit.services import audit_record
from okta.models import OktaApp, OktaGroup, OktaUser


@dataclass(frozen=True)
class Starter:
    kind: str
    name: str
    description: str
    policy: str
    risk: str = RiskLevel.MEDIUM
    default_days: int | None = 30
    max_days: int | None = 90
    department: str = ""
    owners: list[str] = field(default_factory=list)
    approver_group: str = ""


STARTERS = [
    Starter(
        ItemKind.GROUP,
        "Engineering - Backend",
        "Backend services: repositories, CI and staging environments.",
        "Manager approval",
        department="Engineering",
        owners=["priya.patel@acme.com"],
        approver_group="Backend Leads",
    ),
    Starter(
        ItemKind.GROUP,
        "Engineering - Frontend",
        "Frontend web and mobile applications.",
        "Manager approval",
        department="Engineering",
        owners=["dana.brooks@acme.com"],
    ),
    Starter(
        ItemKind.GROUP,
        "AWS Production",
        "Access to the production AWS account. Time-bound only.",
        "Manager then owners",
        risk=RiskLevel.HIGH,
        default_days=1,
        max_days=7,
        department="Engineering",
        owners=["sam.rivera@acme.com"],
    ),
    Starter(
        ItemKind.GROUP,
        "Data Warehouse Readers",
        "Read-only queries on the data warehouse.",
        "Manager approval",
        department="Finance",
        owners=["omar.haddad@acme.com"],
    ),
    Starter(
        ItemKind.GROUP,
        "VPN Users",
        "Remote network access.",
        "Auto-approve low risk",
        risk=RiskLevel.LOW,
        default_days=None,
        max_days=None,
        department="IT",
    ),
    Starter(
        ItemKind.APP,
        "Notion",
        "Team wiki and documents.",
        "Auto-approve low risk",
        risk=RiskLevel.LOW,
        default_days=None,
        max_days=None,
    ),
    Starter(
        ItemKind.APP,
        "Workday",
        "HR and finance system.",
        "Manager then owners",
        risk=RiskLevel.HIGH,
        department="People",
        owners=["omar.haddad@acme.com"],
    ),
]


def demo_catalog_publish() -> int:
    """Publish the starter items that exist in the mirror; returns how many were created."""
    created = 0
    with transaction.atomic():
        for s in STARTERS:
            policy = Policy.objects.filter(name=s.policy).first()
            if policy is None:
                continue
            owners = list(OktaUser.objects.filter(login__in=s.owners).values_list("id", flat=True))
            approver_group = OktaGroup.objects.filter(name=s.approver_group).first()
            item = CatalogItem(
                kind=s.kind,
                name=s.name,
                description=s.description,
                department=s.department,
                owners=owners,
                approver_group=approver_group if s.approver_group else None,
                policy=policy,
                risk=s.risk,
                default_duration_days=s.default_days,
                max_duration_days=s.max_days,
                published=True,
            )
            if s.kind == ItemKind.GROUP:
                group = OktaGroup.objects.filter(name=s.name, type="OKTA_GROUP").first()
                if group is None or CatalogItem.objects.filter(group=group).exists():
                    continue
                item.group = group
            else:
                app = OktaApp.objects.filter(label=s.name).first()
                if app is None or CatalogItem.objects.filter(app=app).exists():
                    continue
                item.app = app
            item.save()
            audit_record(
                action="catalog.item.created",
                actor="system",
                target_type="catalog_item",
                target_id=str(item.pk),
                target_label=item.name,
                detail={"source": "demo starter catalog", "policy": policy.name},
            )
            created += 1
    return created
