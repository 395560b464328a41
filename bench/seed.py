"""Benchmark data: portal groups in the sandbox (before the full sync mirrors them), then
people, a catalog, access requests and audit events in the portal's database."""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from bench.env import BENCH_DIR, BenchEnv
from bench.sandbox import Sandbox

ADMIN_GROUP = "Gatehouse Admins"
APPROVER_GROUP = "Bench Approvers"
PROVISION_GROUP = "Bench Provision"
HOOK_GROUP = "Bench Hooks"  # hook_latency adds people to it through Okta's API
BULK_SOURCE_GROUP = "Bench Bulk Source"  # the bulk run's selection: "members of this group"
BULK_TARGET_GROUP = "Bench Bulk Target"  # what the bulk run adds them to
EMPLOYEES = 40
APPROVERS = 5
# What the last seeding made, so ``--reuse`` can measure the pages again without reseeding.
SEEDED_FILE = BENCH_DIR / "seeded.json"


@dataclass
class People:
    admin: str = ""
    second_admin: str = ""  # confirms bulk runs above the policy's size
    approvers: list[str] = field(default_factory=list)
    employees: list[str] = field(default_factory=list)
    groups: dict[str, str] = field(default_factory=dict)  # name -> id


PEOPLE = People()


def _group(sandbox: Sandbox, name: str) -> str:
    found = [
        g
        for g in sandbox.api("GET", f"/api/v1/groups?q={name.replace(' ', '%20')}&limit=10")
        if g["profile"]["name"] == name
    ]
    if found:
        return str(found[0]["id"])
    created = sandbox.api(
        "POST", "/api/v1/groups", {"profile": {"name": name, "description": "Benchmark group"}}
    )
    return str(created["id"])


def portal_groups(sandbox: Sandbox) -> People:
    """Admins, approvers and an empty group to provision into, made through Okta's API."""
    active = [
        u["id"] for u in sandbox.api("GET", "/api/v1/users?limit=200") if u["status"] == "ACTIVE"
    ]
    PEOPLE.admin = active[0]
    PEOPLE.approvers = active[1 : 1 + APPROVERS]
    PEOPLE.employees = active[1 + APPROVERS : 1 + APPROVERS + EMPLOYEES]
    PEOPLE.second_admin = active[1 + APPROVERS + EMPLOYEES]
    for name in (ADMIN_GROUP, APPROVER_GROUP, PROVISION_GROUP, HOOK_GROUP):
        PEOPLE.groups[name] = _group(sandbox, name)
    for uid in (PEOPLE.admin, PEOPLE.second_admin):
        sandbox.api("PUT", f"/api/v1/groups/{PEOPLE.groups[ADMIN_GROUP]}/users/{uid}")
    for uid in PEOPLE.approvers:
        sandbox.api("PUT", f"/api/v1/groups/{PEOPLE.groups[APPROVER_GROUP]}/users/{uid}")
    return PEOPLE


def bulk_groups(sandbox: Sandbox, count: int) -> list[str]:
    """The bulk benchmark's groups, made through Okta's API before the full sync mirrors them:
    ``count`` ACTIVE people (not the portal's own) in the source group, an empty target."""
    portal_people = {PEOPLE.admin, PEOPLE.second_admin, *PEOPLE.approvers, *PEOPLE.employees}
    for name in (BULK_SOURCE_GROUP, BULK_TARGET_GROUP):
        PEOPLE.groups[name] = _group(sandbox, name)
    chosen: list[str] = []
    after = ""
    while len(chosen) < count:
        page = sandbox.api("GET", f"/api/v1/users?limit=200{after}")
        if not page:
            break
        chosen += [
            u["id"] for u in page if u["status"] == "ACTIVE" and u["id"] not in portal_people
        ]
        after = f"&after={page[-1]['id']}"
    chosen = chosen[:count]
    source = PEOPLE.groups[BULK_SOURCE_GROUP]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(lambda uid: sandbox.api("PUT", f"/api/v1/groups/{source}/users/{uid}"), chosen)
        )
    return chosen


def portal_users(okta_ids: list[str]) -> dict[str, int]:
    """Portal accounts linked to these Okta users (as first sign-in would make them)."""
    from accounts.models import User
    from okta.models import OktaUser

    existing = {
        str(okta_id): pk
        for okta_id, pk in User.objects.filter(okta_id__in=okta_ids).values_list("okta_id", "pk")
    }
    missing = OktaUser.objects.filter(pk__in=set(okta_ids) - set(existing))
    User.objects.bulk_create(
        [
            User(
                username=u.login,
                email=u.email,
                okta_id=u.id,
                first_name=u.first_name,
                last_name=u.last_name,
                display_name=u.display_name,
            )
            for u in missing
        ],
        batch_size=2000,
    )
    return {
        str(okta_id): pk
        for okta_id, pk in User.objects.filter(okta_id__in=okta_ids).values_list("okta_id", "pk")
    }


def policy() -> Any:
    from approvals.models import ApproverKind, Policy, PolicyStage

    item_policy, created = Policy.objects.get_or_create(
        name="Bench: approver group", defaults={"description": "One stage: the approver group."}
    )
    if created:
        PolicyStage.objects.create(
            policy=item_policy, position=1, approvers=ApproverKind.APPROVER_GROUP
        )
    return item_policy


def catalog(max_groups: int, max_apps: int) -> list[int]:
    """Publish OKTA_GROUPs and apps as catalog items approved by the approver group."""
    from approvals.models import CatalogItem, ItemKind
    from okta.models import OktaApp, OktaGroup

    item_policy = policy()
    approver_group = PEOPLE.groups[APPROVER_GROUP]
    skip = set(PEOPLE.groups.values())
    groups = (
        OktaGroup.objects.filter(type="OKTA_GROUP", catalog_item__isnull=True)
        .exclude(pk__in=skip)
        .exclude(name="Everyone")
        .order_by("name")[:max_groups]
    )
    departments = ["Engineering", "Finance", "Sales", "Marketing", "Support", "People"]
    items = [
        CatalogItem(
            kind=ItemKind.GROUP,
            group=g,
            name=g.name,
            description=f"Access to {g.name} for day-to-day work",
            department=departments[n % len(departments)],
            approver_group_id=approver_group,
            policy=item_policy,
            default_duration_days=30,
            max_duration_days=365,
            reason_required=True,
            published=True,
        )
        for n, g in enumerate(groups)
    ]
    apps = OktaApp.objects.filter(catalog_item__isnull=True).order_by("label")[:max_apps]
    items += [
        CatalogItem(
            kind=ItemKind.APP,
            app=a,
            name=a.label,
            description=f"The {a.label} application",
            department=departments[n % len(departments)],
            approver_group_id=approver_group,
            policy=item_policy,
            default_duration_days=30,
            max_duration_days=365,
            published=True,
        )
        for n, a in enumerate(apps)
    ]
    CatalogItem.objects.bulk_create(items, batch_size=1000)
    return list(CatalogItem.objects.order_by("pk").values_list("pk", flat=True))


def access_requests(count: int, requester_ids: dict[str, int], item_ids: list[int]) -> int:
    """History: mostly decided requests, plus pending ones waiting for each approver."""
    from django.utils import timezone

    from approvals.models import AccessRequest, ApproverKind, RequestApprover, RequestStatus
    from okta.models import OktaUser

    rng = random.Random(3)
    now = timezone.now()
    subjects = list(
        OktaUser.objects.filter(status="ACTIVE").order_by("id").values_list("id", flat=True)[:20000]
    )
    requesters = list(requester_ids.values())
    stages = [{"approvers": ApproverKind.APPROVER_GROUP, "rule": "ANY"}]
    closed = [RequestStatus.COMPLETED] * 6 + [
        RequestStatus.DENIED,
        RequestStatus.CANCELLED,
        RequestStatus.EXPIRED,
        RequestStatus.FAILED,
    ]
    pending_target = min(count // 20, 5000)
    open_pairs: set[tuple[str, int]] = set()
    batch: list[AccessRequest] = []
    made = 0
    for n in range(count):
        subject = rng.choice(subjects)
        item = rng.choice(item_ids)
        pending = n < pending_target and (subject, item) not in open_pairs
        if pending:
            open_pairs.add((subject, item))
        created = now - timedelta(minutes=rng.randrange(1, 525_600))
        batch.append(
            AccessRequest(
                item_id=item,
                requester_id=rng.choice(requesters),
                subject_id=subject,
                subject_label=subject,
                status=RequestStatus.PENDING if pending else rng.choice(closed),
                reason="Needed for project work",
                duration_days=30,
                policy_name="Bench: approver group",
                stages=stages,
                created_at=created,
                pending_until=created + timedelta(days=3650 if pending else 14),
                decided_at=None if pending else created + timedelta(hours=2),
            )
        )
        if len(batch) >= 5000:
            AccessRequest.objects.bulk_create(batch)
            made += len(batch)
            batch = []
    AccessRequest.objects.bulk_create(batch)
    made += len(batch)
    pending_ids = AccessRequest.objects.filter(status=RequestStatus.PENDING).values_list(
        "pk", flat=True
    )
    RequestApprover.objects.bulk_create(
        [
            RequestApprover(request_id=pk, stage=1, okta_id=uid, tier=ApproverKind.APPROVER_GROUP)
            for pk in pending_ids
            for uid in PEOPLE.approvers
        ],
        batch_size=5000,
        ignore_conflicts=True,
    )
    return made


@dataclass
class PortalData:
    users: dict[str, int]  # okta id -> portal user pk
    items: list[int]
    requests: int
    audit_events: int


def analyze() -> None:
    """Refresh the planner's statistics after a bulk load, as autovacuum would in a while:
    measured pages should see a steady state, not the minutes after an import."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def portal_data(env: BenchEnv, requests: int, audit_events: int) -> PortalData:
    people = [PEOPLE.admin, *PEOPLE.approvers, *PEOPLE.employees]
    users = portal_users(people)
    items = catalog(max_groups=2000, max_apps=500)
    made = access_requests(requests, users, items)
    env.manage("audit_seed", "--count", str(audit_events))
    analyze()
    from audit.models import AuditEvent

    data = PortalData(
        users=users, items=items, requests=made, audit_events=AuditEvent.objects.count()
    )
    SEEDED_FILE.write_text(
        json.dumps({"database_url": env.database_url, "people": asdict(PEOPLE), **asdict(data)})
    )
    return data


def seeded_data(env: BenchEnv) -> PortalData:
    """The people and portal data the last run seeded into this database (``--reuse``)."""
    from audit.models import AuditEvent

    saved = json.loads(SEEDED_FILE.read_text()) if SEEDED_FILE.exists() else {}
    if saved.get("database_url") != env.database_url:
        raise RuntimeError(
            f"--reuse: no seeded data recorded for {env.database}; run without --reuse once"
        )
    for name, value in saved.pop("people").items():
        setattr(PEOPLE, name, value)
    saved.pop("database_url")
    saved["audit_events"] = AuditEvent.objects.count()
    return PortalData(**saved)
