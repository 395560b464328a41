"""The demo command's pieces: who the provider offers and what the children are told."""

from __future__ import annotations

import json
from pathlib import Path

from gatehouse.management.commands.demo import DEMO_LOGINS, Command, demo_people
from gatehouse.management.oidc_claims import claims_file_write, person_claims
from okta.sandbox.seed import acme_user_id


def test_demo_people_are_the_seven_plus_one_suspended() -> None:
    people = demo_people()
    assert [p["login"] for p in people[:7]] == DEMO_LOGINS
    assert all(p["sub"] == acme_user_id(p["login"]) for p in people)
    assert people[7]["status"] == "SUSPENDED"


def test_person_claims_use_okta_id_as_sub() -> None:
    claims = person_claims(
        {
            "sub": "00uabc",
            "login": "maya.chen@acme.com",
            "given_name": "Maya",
            "family_name": "Chen",
        }
    )
    assert claims == {
        "sub": "00uabc",
        "email": "maya.chen@acme.com",
        "email_verified": True,
        "preferred_username": "maya.chen@acme.com",
        "name": "Maya Chen",
        "given_name": "Maya",
        "family_name": "Chen",
    }


def test_claims_file_write_lists_every_person(tmp_path: Path) -> None:
    path = tmp_path / "people.json"
    claims_file_write(path, demo_people())
    written = json.loads(path.read_text())
    assert [c["preferred_username"] for c in written][:7] == DEMO_LOGINS


def test_demo_child_env_points_at_local_services() -> None:
    env = Command().child_env(demo_people())
    assert env["OKTA_ORG_URL"] == "http://127.0.0.1:8900"
    assert env["OKTA_API_TOKEN"] == "demo-sandbox-token"
    assert env["OIDC_OP_ISSUER"] == "http://127.0.0.1:9400"
    assert env["DEBUG"] == "1"
    assert env["OKTA_EVENT_HOOK_SECRET"]
    assert env["DEMO_PEOPLE"].split(",")[:7] == DEMO_LOGINS


def test_demo_beat_logs_warnings_only_and_the_sync_draws_no_bar(tmp_path: Path) -> None:
    commands = Command().commands(tmp_path)
    beat = commands["beat"]
    assert beat[beat.index("-l") + 1] == "WARNING"  # not a line per periodic task sent
    assert "--no-progress" in commands["sync"]
