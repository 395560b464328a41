"""Full and incremental sync against the Okta sandbox over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from okta.actors import SystemActor
from okta.models import (
    AdminRole,
    AppAssignment,
    GroupMembership,
    OktaApp,
    OktaGroup,
    OktaUser,
    SyncRun,
    SyncStatus,
)
from okta.sync.bulk import MEMBERSHIPS, upsert_links
from okta.sync.runs import sync_run_execute, sync_run_start
from tests.fixtures.sandbox import SandboxServer

pytestmark = pytest.mark.django_db

MAYA = "maya.chen@acme.com"


@pytest.fixture(autouse=True)
def _shared_cache_in_memory(settings: Any) -> None:
    """Sync fetches on several threads, and the rate-limit governor shares state through the
    cache. The default database cache cannot be written from other threads while the test's
    in-memory SQLite transaction is open, so these tests use a process-local cache."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def run_sync(kind: str = "full") -> SyncRun:
    run = sync_run_start(actor=SystemActor("test"), kind=kind)
    return sync_run_execute(run_id=run.pk)


def mirror_of(user_id: str) -> dict[str, Any]:
    return {
        "groups": sorted(
            OktaGroup.objects.filter(memberships__user_id=user_id).values_list("name", flat=True)
        ),
        "apps": sorted(
            OktaApp.objects.filter(assignments__user_id=user_id).values_list("label", flat=True)
        ),
        "roles": sorted(AdminRole.objects.filter(user_id=user_id).values_list("type", flat=True)),
    }


def okta_users(sandbox: SandboxServer) -> set[str]:
    """Ids of users a plain Okta listing returns (everything but DEPROVISIONED)."""
    ids: set[str] = set()
    after = ""
    while True:
        page = sandbox.api("GET", f"/api/v1/users?limit=200{'&after=' + after if after else ''}")
        ids.update(u["id"] for u in page.body)
        link = page.headers.get("link", "")
        if 'rel="next"' not in link:
            return ids
        after = link.split("after=")[-1].split(">")[0].split("&")[0]


def test_full_sync_mirrors_the_org(okta_sandbox: SandboxServer) -> None:
    run = run_sync()
    assert run.status == SyncStatus.SUCCEEDED, run.errors
    state = okta_sandbox.state()
    assert set(OktaUser.objects.values_list("id", flat=True)) == okta_users(okta_sandbox)
    assert OktaGroup.objects.count() == state["groups"]
    assert OktaApp.objects.count() == state["apps"]
    assert GroupMembership.objects.count() == state["memberships"]
    assert run.counts["users"] == OktaUser.objects.count()
    assert run.counts["memberships"] == state["memberships"]
    maya = okta_sandbox.user_state(MAYA)
    assert mirror_of(maya["id"]) == {
        "groups": maya["groups"],
        "apps": maya["apps"],
        "roles": sorted(maya["roles"]),
    }
    mirrored = OktaUser.objects.get(pk=maya["id"])
    assert mirrored.login == MAYA
    assert mirrored.department
    assert AdminRole.objects.exists()
    assert run.finished_at is not None
    assert run.progress_percent == 100


def test_full_sync_twice_is_stable(okta_sandbox: SandboxServer) -> None:
    run_sync()
    before = GroupMembership.objects.count(), AppAssignment.objects.count()
    second = run_sync()
    assert second.status == SyncStatus.SUCCEEDED
    assert (GroupMembership.objects.count(), AppAssignment.objects.count()) == before
    assert second.counts["removed"]["memberships"] == 0


def test_full_sync_removes_what_okta_no_longer_has(okta_sandbox: SandboxServer) -> None:
    doomed = okta_sandbox.api("POST", "/api/v1/groups", {"profile": {"name": "Short-lived"}})
    run_sync()
    assert OktaGroup.objects.filter(pk=doomed.body["id"]).exists()
    maya = okta_sandbox.user_state(MAYA)
    group = OktaGroup.objects.filter(memberships__user_id=maya["id"], type="OKTA_GROUP").first()
    assert group is not None
    removed = okta_sandbox.api("DELETE", f"/api/v1/groups/{group.id}/users/{maya['id']}")
    assert removed.status == 204
    victim = OktaUser.objects.exclude(pk=maya["id"]).filter(status="ACTIVE").last()
    assert victim is not None
    assert okta_sandbox.api("POST", f"/api/v1/users/{victim.id}/lifecycle/deactivate").status == 200
    assert okta_sandbox.api("DELETE", f"/api/v1/users/{victim.id}").status == 204
    assert okta_sandbox.api("DELETE", f"/api/v1/groups/{doomed.body['id']}").status == 204

    run = run_sync()

    assert run.status == SyncStatus.SUCCEEDED
    assert not GroupMembership.objects.filter(group=group, user_id=maya["id"]).exists()
    assert not OktaUser.objects.filter(pk=victim.id).exists()
    assert not GroupMembership.objects.filter(user_id=victim.id).exists()
    assert not OktaGroup.objects.filter(pk=doomed.body["id"]).exists()
    assert run.counts["removed"]["users"] == 1
    assert run.counts["removed"]["groups"] == 1
    assert set(OktaUser.objects.values_list("id", flat=True)) == okta_users(okta_sandbox)


def test_full_sync_scope_limits_what_is_mirrored(okta_sandbox: SandboxServer) -> None:
    from okta.sync.scope import sync_scope_update

    sync_scope_update(
        actor=SystemActor("test"),
        group_types=["OKTA_GROUP"],
        group_name_patterns=["Gatehouse *"],
        user_statuses=["ACTIVE"],
    )
    run = run_sync()
    assert run.status == SyncStatus.SUCCEEDED
    names = set(OktaGroup.objects.values_list("name", flat=True))
    assert names and all(name.startswith("Gatehouse ") for name in names)
    assert set(OktaUser.objects.values_list("status", flat=True)) == {"ACTIVE"}
    assert not GroupMembership.objects.exclude(group__name__startswith="Gatehouse ").exists()


def test_incremental_sync_picks_up_changes_made_through_the_api(
    okta_sandbox: SandboxServer,
) -> None:
    run_sync()
    maya_id = okta_sandbox.user_id(MAYA)
    new_group = okta_sandbox.api(
        "POST", "/api/v1/groups", {"profile": {"name": "Incremental Club", "description": "x"}}
    ).body
    assert (
        okta_sandbox.api("PUT", f"/api/v1/groups/{new_group['id']}/users/{maya_id}").status == 204
    )
    app = OktaApp.objects.exclude(assignments__user_id=maya_id).order_by("label").first()
    assert app is not None
    assigned = okta_sandbox.api(
        "POST", f"/api/v1/apps/{app.id}/users", {"id": maya_id, "scope": "USER"}
    )
    assert assigned.status == 200
    created = okta_sandbox.api(
        "POST",
        "/api/v1/users?activate=true",
        {
            "profile": {
                "firstName": "Nora",
                "lastName": "New",
                "email": "nora.new@acme.com",
                "login": "nora.new@acme.com",
                "department": "Research",
            }
        },
    ).body
    other = OktaUser.objects.filter(status="ACTIVE").exclude(pk=maya_id).order_by("id").first()
    assert other is not None
    assert okta_sandbox.api("POST", f"/api/v1/users/{other.id}/lifecycle/suspend").status == 200
    requests_before = okta_sandbox.counters()["requests"]

    run = run_sync("incremental")

    assert run.status == SyncStatus.SUCCEEDED, run.errors
    assert run.kind == "incremental"
    assert GroupMembership.objects.filter(group_id=new_group["id"], user_id=maya_id).exists()
    assert AppAssignment.objects.filter(app=app, user_id=maya_id).exists()
    nora = OktaUser.objects.get(pk=created["id"])
    assert nora.department == "Research"
    assert OktaUser.objects.get(pk=other.id).status == "SUSPENDED"
    # cost follows the changes: a handful of requests, not one per group or user
    assert okta_sandbox.counters()["requests"] - requests_before < 30


def test_incremental_sync_applies_removals_from_the_system_log(
    okta_sandbox: SandboxServer,
) -> None:
    run_sync()
    maya_id = okta_sandbox.user_id(MAYA)
    assignment = AppAssignment.objects.filter(user_id=maya_id, scope="USER").first()
    assert assignment is not None
    assert (
        okta_sandbox.api("DELETE", f"/api/v1/apps/{assignment.app_id}/users/{maya_id}").status
        == 204
    )
    run = run_sync("incremental")
    assert run.status == SyncStatus.SUCCEEDED, run.errors
    assert not AppAssignment.objects.filter(app_id=assignment.app_id, user_id=maya_id).exists()


def test_incremental_sync_last_log_event_for_a_pair_decides(okta_sandbox: SandboxServer) -> None:
    """Within one System Log read, a pair added and removed (or removed and added again) ends
    as Okta has it: the log, not a re-read of the group, decides."""
    run_sync()
    maya_id = okta_sandbox.user_id(MAYA)
    groups = OktaGroup.objects.filter(type="OKTA_GROUP").order_by("name")
    held_group = groups.filter(memberships__user_id=maya_id).first()
    other_group = groups.exclude(memberships__user_id=maya_id).first()
    apps = OktaApp.objects.order_by("label")
    held_app = apps.filter(assignments__user_id=maya_id, assignments__scope="USER").first()
    other_app = apps.exclude(assignments__user_id=maya_id).first()
    assert held_group and other_group and held_app and other_app
    calls = [
        ("DELETE", f"/api/v1/groups/{held_group.id}/users/{maya_id}", None, 204),
        ("PUT", f"/api/v1/groups/{held_group.id}/users/{maya_id}", None, 204),
        ("PUT", f"/api/v1/groups/{other_group.id}/users/{maya_id}", None, 204),
        ("DELETE", f"/api/v1/groups/{other_group.id}/users/{maya_id}", None, 204),
        ("DELETE", f"/api/v1/apps/{held_app.id}/users/{maya_id}", None, 204),
        ("POST", f"/api/v1/apps/{held_app.id}/users", {"id": maya_id, "scope": "USER"}, 200),
        ("POST", f"/api/v1/apps/{other_app.id}/users", {"id": maya_id, "scope": "USER"}, 200),
        ("DELETE", f"/api/v1/apps/{other_app.id}/users/{maya_id}", None, 204),
    ]
    for method, path, body, status in calls:
        assert okta_sandbox.api(method, path, body).status == status, (method, path)

    run = run_sync("incremental")

    assert run.status == SyncStatus.SUCCEEDED, run.errors
    assert GroupMembership.objects.filter(group=held_group, user_id=maya_id).exists()
    assert not GroupMembership.objects.filter(group=other_group, user_id=maya_id).exists()
    assert AppAssignment.objects.filter(app=held_app, user_id=maya_id).exists()
    assert not AppAssignment.objects.filter(app=other_app, user_id=maya_id).exists()


def test_incremental_sync_without_previous_run_does_a_full_sync(
    okta_sandbox: SandboxServer,
) -> None:
    run = run_sync("incremental")
    assert run.kind == "full"
    assert run.status == SyncStatus.SUCCEEDED
    assert OktaUser.objects.filter(login=MAYA).exists()


def test_full_sync_with_faults_still_completes_with_the_right_data(
    okta_sandbox: SandboxServer,
) -> None:
    run_sync()
    expected = {
        "users": set(OktaUser.objects.values_list("id", flat=True)),
        "memberships": set(GroupMembership.objects.values_list("group_id", "user_id")),
        "assignments": set(AppAssignment.objects.values_list("app_id", "user_id")),
    }
    OktaUser.objects.all().delete()
    GroupMembership.objects.all().delete()
    AppAssignment.objects.all().delete()
    okta_sandbox.set_faults(error_rate=0.08, drop_rate=0.04, latency_ms=15, seed=7)
    # Okta's concurrent-request limit answers 429 with a reset a second away; the org-wide
    # per-minute 429s wait for the minute to end, which would make this test slow.
    okta_sandbox.set_rate_limits(concurrency=2)

    run = run_sync()

    counters = okta_sandbox.counters()
    okta_sandbox.clear_faults()
    assert counters["server_errors"] > 0
    assert counters["concurrency_limited"] > 0
    assert counters["dropped"] > 0
    assert run.status == SyncStatus.SUCCEEDED, run.errors
    assert set(OktaUser.objects.values_list("id", flat=True)) == expected["users"]
    assert (
        set(GroupMembership.objects.values_list("group_id", "user_id")) == expected["memberships"]
    )
    assert set(AppAssignment.objects.values_list("app_id", "user_id")) == expected["assignments"]


def test_full_sync_one_failing_group_is_reported_and_its_rows_kept(
    okta_sandbox: SandboxServer, settings: Any
) -> None:
    settings.OKTA_MAX_RETRIES = 1
    run_sync()
    maya_id = okta_sandbox.user_id(MAYA)
    broken = OktaGroup.objects.filter(memberships__user_id=maya_id).order_by("name").first()
    assert broken is not None
    kept = GroupMembership.objects.filter(group=broken).count()
    okta_sandbox.set_faults(
        error_rate=1.0, error_status=500, path_prefix=f"/api/v1/groups/{broken.id}/users"
    )

    run = run_sync()

    okta_sandbox.clear_faults()
    assert run.status == SyncStatus.PARTIAL
    assert len(run.errors) == 1
    assert broken.id in run.errors[0]
    assert GroupMembership.objects.filter(group=broken).count() == kept
    assert OktaGroup.objects.count() == okta_sandbox.state()["groups"]
    assert GroupMembership.objects.exclude(group=broken).count() > 0


def test_full_sync_wrong_token_fails_the_run_with_a_message(
    okta_sandbox: SandboxServer, settings: Any
) -> None:
    settings.OKTA_API_TOKEN = "wrong-token"
    run = run_sync()
    assert run.status == SyncStatus.FAILED
    assert "Sync failed" in run.message
    assert not OktaUser.objects.exists()


def test_okta_sync_command_runs_a_full_sync(okta_sandbox: SandboxServer, capsys: Any) -> None:
    call_command("okta_sync", "--full", "--no-progress")
    out = capsys.readouterr().out
    assert "Full sync #" in out
    assert "succeeded" in out
    assert OktaUser.objects.filter(login=MAYA).exists()


def test_full_sync_login_taken_over_by_another_user_does_not_fail(
    okta_sandbox: SandboxServer,
) -> None:
    """A deleted user's login reused by a new Okta user must not break the upsert."""
    OktaUser.objects.create(id="00ugoneuser0000000", login=MAYA, email=MAYA, status="ACTIVE")
    run = run_sync()
    assert run.status == SyncStatus.SUCCEEDED, run.errors
    assert OktaUser.objects.get(login=MAYA).id == okta_sandbox.user_id(MAYA)
    assert not OktaUser.objects.filter(pk="00ugoneuser0000000").exists()


def test_incremental_sync_purges_old_applied_hook_events(okta_sandbox: SandboxServer) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from okta.models import HookEvent

    run_sync()
    old = HookEvent.objects.create(
        uuid="old", event_type="x", payload={}, applied_at=timezone.now() - timedelta(days=8)
    )
    recent = HookEvent.objects.create(
        uuid="recent", event_type="x", payload={}, applied_at=timezone.now() - timedelta(days=1)
    )
    pending = HookEvent.objects.create(uuid="pending", event_type="x", payload={})
    run_sync("incremental")
    assert set(HookEvent.objects.values_list("pk", flat=True)) == {recent.pk, pending.pk}
    assert not HookEvent.objects.filter(pk=old.pk).exists()


def test_full_sync_again_updates_changed_users_and_assignments(
    okta_sandbox: SandboxServer,
) -> None:
    run_sync()
    maya_id = okta_sandbox.user_id(MAYA)
    unchanged = OktaUser.objects.exclude(pk=maya_id).order_by("id").first()
    assert unchanged is not None
    changed = okta_sandbox.api(
        "POST", f"/api/v1/users/{maya_id}", {"profile": {"title": "Principal Engineer"}}
    )
    assert changed.status == 200
    run = run_sync()
    assert run.status == SyncStatus.SUCCEEDED
    assert OktaUser.objects.get(pk=maya_id).title == "Principal Engineer"
    assert OktaUser.objects.get(pk=unchanged.pk).title == unchanged.title


def test_full_sync_member_fetch_threads_hold_one_slot_each(
    okta_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Concurrency slots cost cache round trips: each member-fetch thread takes one for all
    the member lists it reads, rather than one per list."""
    from okta.governor import CacheGovernor
    from okta.sync.full import MEMBER_FETCH_THREADS

    taken: list[str] = []
    real = CacheGovernor._cache

    def counted(self: CacheGovernor, name: str, *args: Any, default: Any = None) -> Any:
        answer = real(self, name, *args, default=default)
        if name == "add" and answer:
            taken.append(args[0])
        return answer

    monkeypatch.setattr(CacheGovernor, "_cache", counted)
    run = run_sync()
    assert run.status == SyncStatus.SUCCEEDED, run.errors
    walks = OktaGroup.objects.count() + OktaApp.objects.count()
    slots_taken = len(taken)
    # Two fetch phases (members, assignments), the users, groups and apps walks, and a slot
    # per admin-role request; one slot per list would be more than one per group and app.
    assert slots_taken <= 2 * MEMBER_FETCH_THREADS + 8 < walks, (slots_taken, walks)
    assert GroupMembership.objects.filter(user__login=MAYA).exists()


def test_full_sync_first_load_leaves_every_mirror_index_in_place(
    okta_sandbox: SandboxServer,
) -> None:
    """A first load (empty tables) may build secondary indexes after the rows; they must all
    be there when the run ends."""
    assert not GroupMembership.objects.exists()
    run = run_sync()
    assert run.status == SyncStatus.SUCCEEDED, run.errors
    assert GroupMembership.objects.exists()
    with connection.cursor() as cursor:
        for model in (OktaUser, GroupMembership, AppAssignment):
            present = connection.introspection.get_constraints(cursor, model._meta.db_table)
            assert {i.name for i in model._meta.indexes} <= set(present), model


def test_first_load_batch_with_a_duplicate_row_writes_it_once() -> None:
    stamp = timezone.now()
    rows = [("00gfirst", "00uone"), ("00gfirst", "00utwo"), ("00gfirst", "00uone")]
    upsert_links(MEMBERSHIPS, rows, stamp, fresh=True)
    assert sorted(GroupMembership.objects.values_list("group_id", "user_id")) == [
        ("00gfirst", "00uone"),
        ("00gfirst", "00utwo"),
    ]
