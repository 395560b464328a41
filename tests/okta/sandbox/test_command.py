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


def test_okta_sandbox_module_registers_an_oauth_client_from_flags(tmp_path: Path) -> None:
    import time
    import urllib.parse
    import uuid

    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = tmp_path / "client.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "okta.sandbox",
            "--port",
            "0",
            "--org",
            "empty",
            "--oauth-client-id",
            "0oaFlagClient",
            "--oauth-public-key",
            str(public),
            "--oauth-scopes",
            "okta.users.read",
        ],
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().decode().split("listening on ", 1)[1].split()[0]
        now = int(time.time())
        claims = {
            "iss": "0oaFlagClient",
            "sub": "0oaFlagClient",
            "aud": url + "/oauth2/v1/token",
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        form = {
            "grant_type": "client_credentials",
            "scope": "okta.users.read",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": jwt.encode(claims, key, algorithm="RS256"),
        }
        request = urllib.request.Request(
            url + "/oauth2/v1/token", data=urllib.parse.urlencode(form).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            token = json.loads(response.read())["access_token"]
        users = urllib.request.Request(
            url + "/api/v1/users", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(users, timeout=10) as response:
            assert len(json.loads(response.read())) == 1
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def test_okta_sandbox_exits_with_its_parent(tmp_path: Path) -> None:
    """A killed test run must not leave sandboxes behind: the child stops when its parent dies."""
    import signal
    import time

    script = (
        "import subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-m', 'okta.sandbox', '--port', '0', '--org', "
        "'empty', '--exit-with-parent'], stdout=subprocess.PIPE)\n"
        "print(p.stdout.readline().decode().strip(), p.pid, flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], cwd=BASE_DIR, stdout=subprocess.PIPE, env=os.environ.copy()
    )
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline().decode()
        assert "listening on" in line
        child = int(line.split()[-1])
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        if parent.stdout:
            parent.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(child, signal.SIGKILL)
    raise AssertionError("the sandbox outlived its parent")


def test_okta_sandbox_command_limits_flag_starts_with_the_workforce_profile() -> None:
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "okta.sandbox", "--port", "0", "--org", "empty"),
            *("--limits", "okta-workforce"),
        ],
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        assert "limits okta-workforce" in line
        url = line.split("listening on ", 1)[1].split()[0]
        with urllib.request.urlopen(url + "/__sandbox__/rate-limits", timeout=10) as response:
            limits = json.loads(response.read())
        assert limits["profile"] == "okta-workforce"
        assert limits["per_minute"]["/api/v1/logs"] == 120
        with urllib.request.urlopen(url + "/__sandbox__/reset", data=b"{}", timeout=10):
            pass
        with urllib.request.urlopen(url + "/__sandbox__/rate-limits", timeout=10) as response:
            assert json.loads(response.read())["profile"] == "okta-workforce"  # kept by a reset
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()
