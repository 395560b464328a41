"""Development email (DEBUG, so the demo): logged at INFO as a person reads it, not as MIME."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.mail import EmailMessage

from gatehouse.management.commands.demo import Command, demo_people

BODY = (
    "Maya Chen asks for “Engineering - Backend” for 30 days: on-call rotation starts Monday, "
    "and the deploy runbook needs the group.\n\nDecide: http://127.0.0.1:8000/requests/12/?a=b\n"
)


def test_the_log_backend_writes_the_decoded_text_at_info(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.MAILERS = {"default": {"BACKEND": "gatehouse.mail.LogBackend"}}
    message = EmailMessage(
        "[Gatehouse] Maya Chen asks for “Engineering - Backend”",
        BODY,
        "Gatehouse <gatehouse@localhost>",
        ["priya.patel@acme.com"],
    )
    with caplog.at_level(logging.DEBUG):
        assert message.send() == 1
    (record,) = [r for r in caplog.records if r.name == "gatehouse.mail"]
    assert record.levelno == logging.INFO
    text = record.getMessage()
    assert "To: priya.patel@acme.com\n" in text
    assert "Subject: [Gatehouse] Maya Chen asks for “Engineering - Backend”\n" in text
    assert text.endswith("\n\n" + BODY.rstrip("\n"))  # the body as written: no =E2=80=9C, no =\n
    assert "quoted-printable" not in text and "Content-Transfer-Encoding" not in text


def test_the_demo_children_log_their_email() -> None:
    """What the demo's worker is configured with, read by a process with the demo's env."""
    env = Command().child_env(demo_people())
    probe = (
        "import json, django; django.setup(); from django.conf import settings; "
        "import logging; print(json.dumps([settings.MAILERS['default']['BACKEND'], "
        "logging.getLogger('gatehouse.mail').getEffectiveLevel()]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={**env, "DJANGO_SETTINGS_MODULE": "gatehouse.settings", "LOG_LEVEL": "WARNING"},
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    backend, level = json.loads(out.stdout.strip().splitlines()[-1])
    assert backend == "gatehouse.mail.LogBackend"
    assert level == logging.INFO  # shown even when the rest of the log is at WARNING
