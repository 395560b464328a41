"""Ask Gatehouse (assistant/): the interpreter on the org's mirror, and the preview page of a
plan that selects thousands of people.

``run``: a dozen sentences made from the mirror's own names (a person by email, by name and by
a misspelt name, a department with "hasn't signed in for N days", a group and apps, a typo of a
group, a report, a catalog request, nonsense), each interpreted ``ROUNDS`` times after one
warm-up: milliseconds per sentence, entity resolution included (the target is p95 < 50 ms on
the large org: 100,000 people, 10,000 groups). Then the /ask/ preview page of "add everyone in
the <group of N> group to the <other> group" through HTTP, median of ``RENDERS`` renders, and
its SQL queries against the same sentence for a group of two.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.bulk import _admins
from bench.env import BenchEnv
from bench.seed import ADMIN_GROUP, BULK_SOURCE_GROUP, BULK_TARGET_GROUP

ROUNDS = 20
RENDERS = 5


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def _typo(word: str) -> str:
    """The word with two letters swapped in the middle (a common slip)."""
    if len(word) < 4:
        return word
    i = len(word) // 2
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def sentences() -> list[str]:
    from okta.models import OktaApp, OktaGroup, OktaUser

    person = OktaUser.objects.filter(status="ACTIVE").exclude(first_name="").order_by("-id").first()
    group = OktaGroup.objects.filter(type="OKTA_GROUP").order_by("-name").first()
    apps = list(OktaApp.objects.order_by("label").values_list("label", flat=True)[:3])
    department = (
        OktaUser.objects.exclude(department="").order_by("-id").values_list("department", flat=True)
    ).first()
    if person is None or group is None or len(apps) < 3 or not department:
        raise RuntimeError("the mirror lacks people, groups or apps to ask about")
    return [
        f"Reset the password for {person.login} and send them the reset email",
        f"suspend {person.first_name} {person.last_name}",
        f"suspnd {person.first_name} {_typo(person.last_name)}",
        f"Suspend every user in the {department} department who hasn't signed in for 60 days",
        f"add {person.login} to the {group.name} group",
        f"add {person.login} to the {_typo(group.name)} group",
        f"Add everyone in the {group.name} group to the {apps[0]}, {apps[1]} and {apps[2]} apps",
        "Show me all users with the HELP_DESK_ADMIN or SUPER_ADMIN role and their groups",
        "show me every app I have access to",
        f"Create an Okta user for new.person@example.com in the {department} department with "
        f"the {group.name} group and {apps[0]} app assigned",
        f"Give me access to {group.name} for two weeks so I can work",
        "blorp fizzle wibble",
    ]


def _render(client: Any, text: str) -> tuple[float, int, str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        began = time.perf_counter()
        response = client.get("/ask/", {"q": text})
        body = response.content.decode()
        elapsed = time.perf_counter() - began
    if response.status_code != 200 or 'data-testid="ask-count"' not in body:
        raise RuntimeError(f"the ask preview failed: HTTP {response.status_code}")
    return elapsed, len(captured), body


def run(env: BenchEnv, people: list[str]) -> dict[str, Any]:
    import re

    from django.test import Client

    from assistant.interpret import interpret

    admin, _ = _admins()
    per_sentence: dict[str, list[float]] = {}
    for text in sentences():
        interpret(text, actor=admin)  # warm-up: templates of queries, caches of the database
        times = []
        for _ in range(ROUNDS):
            began = time.perf_counter()
            interpret(text, actor=admin)
            times.append((time.perf_counter() - began) * 1000)
        per_sentence[text] = times
    every = [t for times in per_sentence.values() for t in times]
    slowest = max(per_sentence, key=lambda s: _p95(per_sentence[s]))

    client = Client()
    client.force_login(admin)
    big = f"Add everyone in the {BULK_SOURCE_GROUP} group to the {BULK_TARGET_GROUP} group"
    _render(client, big)
    renders = [_render(client, big) for _ in range(RENDERS)]
    seconds = [r[0] for r in renders]
    counted = re.search(r'data-testid="ask-count">([\d,]+) change', renders[-1][2])
    few = f"Add everyone in the {ADMIN_GROUP} group to the {BULK_TARGET_GROUP} group"
    _, few_queries, _ = _render(client, few)
    return {
        "sentences": len(per_sentence),
        "rounds": ROUNDS,
        "p50_ms": round(statistics.median(every), 2),
        "p95_ms": round(_p95(every), 2),
        "max_ms": round(max(every), 2),
        "slowest": slowest,
        "slowest_p95_ms": round(_p95(per_sentence[slowest]), 2),
        "people": len(people),
        "preview_changes": int(counted.group(1).replace(",", "")) if counted else 0,
        "preview_seconds": round(statistics.median(seconds), 3),
        "preview_max_seconds": round(max(seconds), 3),
        "preview_queries": renders[-1][1],
        "preview_queries_two_people": few_queries,
    }
