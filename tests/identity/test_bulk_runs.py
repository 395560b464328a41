"""The list of bulk runs says where each run stands, from what Okta answered for its changes:
finished, finished with failures, still running, or waiting for a second admin."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from identity import bulk
from identity.models import Action, ActionPolicy, BulkRun
from tests.identity.conftest import FINANCE_STALE, LOGINS, Acme, Run, bulk_start, client_for

pytestmark = pytest.mark.django_db


def states(page: str) -> dict[int, str]:
    """Each listed run's state cell, by run id."""
    found = re.findall(
        r'/runs/(\d+)/">\d+</a></td>.*?<td data-testid="bulk-run-state">([^<]*)</td>', page
    )
    return {int(pk): state for pk, state in found}


def test_bulk_runs_page_shows_finished_failed_running_and_waiting_runs(
    acme: Acme, run_ops: Run
) -> None:
    sam = acme.u["sam"]
    _, finished = bulk_start(sam, "sessions_clear", FINANCE_STALE)
    _, failing = bulk_start(sam, "sessions_clear", {"logins": [LOGINS["john"], LOGINS["maya"]]})
    _, running = bulk_start(sam, "sessions_clear", {"logins": [LOGINS["priya"]]})
    ActionPolicy.objects.filter(action=Action.USER_SUSPEND).update(bulk_confirm_threshold=3)
    _, waiting = bulk_start(sam, "suspend", FINANCE_STALE)
    # john leaves Okta before his change is sent: Okta answers 404, the change fails.
    john = f"/api/v1/users/{acme.id['john']}"
    assert acme.sandbox.api("DELETE", john).status == 204  # deactivated
    assert acme.sandbox.api("DELETE", john).status == 204  # deleted
    run_ops(finished.correlation)
    run_ops(failing.correlation)

    client = client_for(sam)
    url = reverse("identity:bulk_runs")
    client.get(url)  # sessions, roles cache
    asked = len(_queries(client, url))
    page = client.get(url).content.decode()
    assert states(page) == {
        finished.pk: "Finished",
        failing.pk: "Finished with 1 failure",
        running.pk: "Running: 0 of 1 done",
        waiting.pk: "Waiting for a second admin",
    }
    progress = client.get(reverse("identity:bulk_run", args=[failing.pk])).content.decode()
    assert "2 of 2 done · 1 succeeded · 1 failed · finished with 1 failure" in progress

    # One more run, the same number of queries.
    bulk_start(sam, "sessions_clear", {"logins": [LOGINS["tessa"]]})
    assert len(_queries(client, url)) == asked
    assert len(states(client.get(url).content.decode())) == BulkRun.objects.count() == 5


def _queries(client: Any, url: str) -> list[Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return list(queries.captured_queries)


def test_progress_state_reads_for_a_person() -> None:
    assert bulk.Progress(3, 3, 0, 0).state == "Finished"
    assert bulk.Progress(3, 1, 2, 0).state == "Finished with 2 failures"
    assert bulk.Progress(3, 1, 0, 2).state == "Running: 1 of 3 done"
    assert bulk.Progress(3, 0, 0, 3, status="CANCELLED").state == "Cancelled"
