"""System checks run before the database exists (``check``, and ``migrate``'s own checks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_check_passes_without_a_database_server() -> None:
    """``OktaUser.search`` is a generated column; Django's check for it asked PostgreSQL for
    its version. Nothing listens on port 1, so any check that connects fails here."""
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": "postgres://gatehouse@127.0.0.1:1/gatehouse_not_created",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--database", "default"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout
