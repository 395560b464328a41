"""``manage.py okta_sandbox`` starts the server and prints where it listens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[3]


def test_okta_sandbox_command_serves_the_requested_org() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            str(BASE_DIR / "manage.py"),
            "okta_sandbox",
            "--port",
            "0",
            "--org",
            "empty",
            "--token",
            "cmd-token",
        ],
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "DEBUG": "1", "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        assert "listening on http://127.0.0.1:" in line
        url = line.split("listening on ", 1)[1].split()[0]
        request = urllib.request.Request(
            url + "/api/v1/users/me", headers={"Authorization": "SSWS cmd-token"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            me = json.loads(response.read())
        assert me["profile"]["login"] == "gatehouse.api@empty.example"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()
