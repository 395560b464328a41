"""1,000 approved requests are fulfilled exactly once while everything around them fails.

The sandbox answers Okta's group-membership calls with 5xx, 429 and dropped connections; the
real Celery worker process is SIGKILLed and restarted several times mid-run; the broker (a
private redis-server on a free port, when the machine has the binary) is restarted once. The
test process plays beat: it runs the outbox reaper and the approvals reconciler (requests whose
operation callback was lost) every few seconds, as the periodic tasks would. Afterwards every request is final (COMPLETED), the sandbox holds exactly the approved
memberships, its System Log shows each one added exactly once (no missing change, no doubled
change), there is exactly one operation per request, and ``audit_verify`` passes.

With the embedded filesystem transport (no redis-server on the machine) there is no broker
process to restart: the parametrisation says so in the test id.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import transaction

from accounts.models import User
from approvals.models import AccessRequest, CatalogItem, ItemKind, Policy, RequestStatus
from approvals.services.decisions import access_request_decide
from approvals.services.outcomes import access_requests_reconcile
from approvals.services.requests import access_request_submit
from gatehouse.celery import app as celery_app
from okta import operations
from okta.actors import SystemActor
from okta.models import GroupMembership, GroupType, OktaGroup, OktaUser, Operation
from okta.sync.runs import sync_run_execute, sync_run_start
from tests.approvals.conftest import ensure_default_policies
from tests.browser.plugin import (
    Child,
    celery_broker,
    child_env,
    child_start,
    database_url,
    free_port,
    wait_until,
)
from tests.fixtures.sandbox import SandboxServer

REQUESTS = 1_000
BATCH = 50  # approvals per round, when fewer than this many are in flight
FAULTS: dict[str, Any] = {
    "path_prefix": "/api/v1/groups/",
    "method": "PUT",
    "error_rate": 0.08,
    "rate_429": 0.02,
    "drop_rate": 0.06,
    "seed": 11,
}
GROUPS = 20
FINAL = {RequestStatus.COMPLETED, RequestStatus.FAILED, RequestStatus.DENIED}
REDIS = shutil.which("redis-server")
BROKER = "redis-restarted-once" if REDIS else "filesystem-no-broker-to-restart"
# The worker counts a claim older than this as abandoned (a SIGKILLed worker's); the reaper
# re-queues a pending operation whose message is older than the grace.
RUNNING_DEADLINE_S = 12
LOST_GRACE_S = 20
# Messages a killed worker had taken but not acknowledged come back from Redis after this.
VISIBILITY_S = 15


class RedisServer:
    """A private redis-server (append-only file, so a restart keeps queued messages)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.child: Child | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS is not None
        args = [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        args += ["--appendonly", "yes", "--save", "", "--protected-mode", "no"]
        self.child = child_start("redis", args, env=child_env(), log_dir=self.folder)
        wait_until(
            lambda: "Ready to accept connections" in self.child.log(),  # type: ignore[union-attr]
            timeout=20,
            what="redis-server",
            child=self.child,
        )

    def restart(self) -> None:
        assert self.child is not None
        self.child.stop()
        with (self.folder / "redis.log").open("ab") as log:
            log.write(b"\n--- restarted by the test ---\n")
        self.start()

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()


@pytest.fixture
def broker(tmp_path: Path, celery_var_dir: Path) -> Iterator[RedisServer | None]:
    """Point this process's Celery app (and the workers this test starts) at the broker."""
    if REDIS is None:
        yield None
        return
    redis = RedisServer(tmp_path)
    redis.start()
    # Approvals and the reaper publish from this process; its workers inherit the environment.
    try:
        with celery_broker(redis.url, {"visibility_timeout": VISIBILITY_S}):
            yield redis
    finally:
        redis.stop()


class Workers:
    """One Celery worker (prefork, 4 processes) that the test kills and restarts."""

    def __init__(self, sandbox: SandboxServer, broker_url: str, var_dir: Path, logs: Path) -> None:
        self.logs = logs
        self.generation = 0
        self.env = child_env(
            DATABASE_URL=database_url(),
            GATEHOUSE_VAR_DIR=str(var_dir),
            CELERY_BROKER_URL=broker_url,
            OKTA_ORG_URL=sandbox.url,
            OKTA_API_TOKEN=sandbox.token,
            OKTA_OPERATION_RUNNING_DEADLINE=str(RUNNING_DEADLINE_S),
            OKTA_OPERATION_LOST_GRACE=str(LOST_GRACE_S),
            OKTA_TIMEOUT_SECONDS="5",
        )
        self.child: Child | None = None

    def start(self) -> None:
        self.generation += 1
        self.child = child_start(
            f"worker-{self.generation}",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "gatehouse.celery",
                "worker",
                "--pool=prefork",
                "--concurrency=4",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"faults-{os.getpid()}-{self.generation}@%h",
            ],
            env=self.env,
            log_dir=self.logs,
        )
        wait_until(
            lambda: " ready." in self.child.log(),  # type: ignore[union-attr]
            timeout=60,
            what="the worker",
            child=self.child,
        )

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children): no cleanup, no acks."""
        assert self.child is not None
        os.killpg(self.child.process.pid, signal.SIGKILL)
        self.child.process.wait(10)

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()


def world_make() -> tuple[list[AccessRequest], User, list[tuple[str, str]]]:
    """Mirror the acme org, publish 20 Okta groups under an approver-group policy, and have 50
    people ask for them: 1,000 pending requests, each for a membership not yet held."""
    ensure_default_policies()
    sync_run_execute(run_id=sync_run_start(actor=SystemActor("test"), kind="full").pk)
    groups = list(
        OktaGroup.objects.filter(type=GroupType.OKTA_GROUP)
        .exclude(name__startswith="Gatehouse")
        .order_by("name")[:GROUPS]
    )
    assert len(groups) == GROUPS
    approvers = OktaGroup.objects.create(id="00gfaultapprovers00", name="Fault approvers")
    approver_person = OktaUser.objects.filter(status="ACTIVE").order_by("login").first()
    assert approver_person is not None
    GroupMembership.objects.create(group=approvers, user=approver_person)
    approver = User.objects.create(username=approver_person.login, okta_id=approver_person.id)
    policy = Policy.objects.get(name="Approver group")
    items = [
        CatalogItem.objects.create(
            kind=ItemKind.GROUP,
            group=group,
            name=group.name,
            policy=policy,
            approver_group=approvers,
            default_duration_days=30,
            max_duration_days=90,
            published=True,
        )
        for group in groups
    ]
    held = set(GroupMembership.objects.values_list("user_id", "group_id"))
    requests: list[AccessRequest] = []
    pairs: list[tuple[str, str]] = []
    people = OktaUser.objects.filter(status="ACTIVE").exclude(pk=approver_person.pk)
    for person in people.order_by("login").iterator():
        wanted = [item for item in items if (person.id, item.group_id) not in held]
        if len(wanted) < GROUPS // 2:
            continue
        account = User.objects.create(username=person.login, okta_id=person.id)
        for item in wanted:
            if len(requests) == REQUESTS:
                break
            requests.append(
                access_request_submit(
                    requester=account, item=item, reason="fault drill", duration_days=30
                )
            )
            pairs.append((person.id, str(item.group_id)))
        if len(requests) == REQUESTS:
            break
    assert len(requests) == REQUESTS, f"only {len(requests)} requests could be made"
    return requests, approver, pairs


def membership_adds_since(sandbox: SandboxServer, since: str) -> Counter[tuple[str, str]]:
    """(user, group) -> how many ``group.user_membership.add`` events the System Log holds."""
    query = 'eventType eq "group.user_membership.add"'
    path = f"/api/v1/logs?since={quote(since)}&limit=1000&filter={quote(query)}"
    adds: Counter[tuple[str, str]] = Counter()
    while path:
        response = sandbox.api("GET", path)
        assert response.status == 200, response.body
        for event in response.body:
            targets = {t["type"]: t["id"] for t in event["target"]}
            adds[(targets["User"], targets["UserGroup"])] += 1
        path = ""
        if not response.body:  # the System Log always links a next page (for polling)
            break
        for link in response.headers.get("link", "").split(","):
            if 'rel="next"' in link:
                path = link.split(">")[0].strip(" <").removeprefix(sandbox.url)
    return adds


def approve(requests: list[AccessRequest], approver: User) -> None:
    for req in requests:
        with transaction.atomic():
            access_request_decide(
                actor=approver, request_id=req.pk, outcome="APPROVE", comment="ok"
            )


def settle(
    requests: list[AccessRequest],
    approver: User,
    workers: Workers,
    redis: RedisServer | None,
    sandbox: SandboxServer,
    *,
    timeout: float,
) -> dict[str, Any]:
    """Approve in batches while the worker runs; SIGKILL and restart it each time another
    fifth of the requests is done (the broker restarts with the second kill); inject 429s until
    Okta has answered one; run the reaper as beat would; stop when every request is final."""
    ids = [r.pk for r in requests]
    deadline = time.monotonic() + timeout
    kill_at = [len(ids) * n // 5 for n in (1, 2, 3, 4)]
    done_kills, broker_restarted, reaped, reconciled = 0, False, 0, 0
    waiting = list(requests)
    last_reap = 0.0
    rate_limiting = True
    while time.monotonic() < deadline:
        # Approvals arrive at the pace the worker keeps up with (a trickle, as in real life),
        # so the reaper's "lost message" rule meets only messages that really were lost.
        in_flight = AccessRequest.objects.filter(
            pk__in=ids, status__in=[RequestStatus.APPROVED, RequestStatus.FULFILLING]
        ).count()
        batch: list[AccessRequest] = []
        if in_flight < BATCH:
            batch, waiting = waiting[:BATCH], waiting[BATCH:]
            approve(batch, approver)
        final = AccessRequest.objects.filter(pk__in=ids, status__in=FINAL).count()
        if rate_limiting and sandbox.counters()["rate_limited"] > 0:
            # A 429 stalls its bucket until the minute's reset (up to a minute of waiting): one
            # proves the wait-and-retry, more would only add minutes.
            sandbox.set_faults(**{**FAULTS, "rate_429": 0.0})
            rate_limiting = False
        if done_kills < len(kill_at) and final >= kill_at[done_kills]:
            workers.kill()
            done_kills += 1
            if done_kills == 2 and redis is not None:
                redis.restart()  # the broker goes away; queued messages survive on disk
                celery_app._pool = None
                celery_app.amqp._producer_pool = None
                broker_restarted = True
            workers.start()
        if time.monotonic() - last_reap > 3:
            last_reap = time.monotonic()
            try:
                reaped += operations.operations_reap()
                reconciled += access_requests_reconcile(grace=timedelta(seconds=LOST_GRACE_S))
            except Exception:
                celery_app._pool = None
                celery_app.amqp._producer_pool = None
        if final == len(ids):
            break
        if not batch:
            time.sleep(0.5)
    return {
        "kills": done_kills,
        "broker_restarted": broker_restarted,
        "reaped": reaped,
        "reconciled": reconciled,
    }


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(900)
@pytest.mark.parametrize("broker_mode", [BROKER])
def test_thousand_approved_requests_fulfilled_once_through_faults_kills_and_broker_restart(
    broker_mode: str,
    okta_sandbox: SandboxServer,
    broker: RedisServer | None,
    celery_var_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    monkeypatch.setattr(operations, "RUNNING_DEADLINE", timedelta(seconds=RUNNING_DEADLINE_S))
    monkeypatch.setattr(operations, "LOST_MESSAGE_GRACE", timedelta(seconds=LOST_GRACE_S))
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    requests, approver, pairs = world_make()

    okta_sandbox.set_faults(**FAULTS)
    broker_url = broker.url if broker is not None else settings.CELERY_BROKER_URL
    workers = Workers(okta_sandbox, broker_url, celery_var_dir, tmp_path / "logs")
    try:
        workers.start()
        chaos = settle(requests, approver, workers, broker, okta_sandbox, timeout=600)
    finally:
        workers.stop()
    okta_sandbox.clear_faults()
    counters = okta_sandbox.counters()

    statuses = Counter(
        AccessRequest.objects.filter(pk__in=[r.pk for r in requests]).values_list(
            "status", flat=True
        )
    )
    assert statuses == {RequestStatus.COMPLETED: REQUESTS}, (statuses, chaos)
    assert chaos["kills"] == 4
    assert chaos["broker_restarted"] is (broker is not None)
    # The faults really happened.
    assert counters["server_errors"] > 0 and counters["dropped"] > 0
    assert counters["rate_limited"] > 0

    # One operation per request, all succeeded.
    ops = Operation.objects.filter(correlation__in=[f"request:{r.pk}" for r in requests])
    assert ops.count() == REQUESTS
    assert set(ops.values_list("status", flat=True)) == {"SUCCEEDED"}

    # Okta holds exactly what was approved, each added once.
    adds = membership_adds_since(okta_sandbox, started)
    approved = Counter(pairs)
    assert {pair: n for pair, n in adds.items() if pair in approved} == approved
    assert set(adds) == set(approved), set(adds) ^ set(approved)
    for user_id in {user for user, _ in pairs}:
        groups = set(okta_sandbox.user_state(user_id)["groups"])
        want = {OktaGroup.objects.get(pk=g).name for u, g in pairs if u == user_id}
        assert want <= groups

    call_command("audit_verify")
