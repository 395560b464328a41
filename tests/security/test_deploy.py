"""Production settings pass ``manage.py check --deploy``; every page carries the security
headers and a Content-Security-Policy without ``unsafe-inline``, and no page needs one (no
inline scripts, styles or event handlers)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.security.conftest import ROLES, World
from tests.security.test_authorization_matrix import EXPECTED, address

REPO = Path(__file__).resolve().parents[2]

# Every GET page, fetched by the first role that may see it.
GET_PAGES = [
    (name, ROLES[outcomes.split().index("ok")])
    for name, (method, outcomes) in sorted(EXPECTED.items())
    if method == "GET" and "ok" in outcomes.split()
]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def production_env() -> dict[str, str]:
    """What a production deployment sets: no DEBUG, a real secret key, its host name; the
    secure-cookie, SSL-redirect and HSTS settings follow from DEBUG being off."""
    keep = ("PATH", "HOME", "LANG", "SYSTEMROOT", "VIRTUAL_ENV")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="gatehouse.example.com",
        CSRF_TRUSTED_ORIGINS="https://gatehouse.example.com",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def manage_check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``manage.py check`` in a fresh process with ``env`` as its whole environment."""
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_with_production_settings_reports_nothing() -> None:
    result = manage_check(production_env(), "--deploy", "--fail-level", "DEBUG")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output, output


def test_production_settings_refuse_to_start_without_secret_key() -> None:
    env = production_env()
    del env["SECRET_KEY"]
    result = manage_check(env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_settings_refuse_a_request_limit_below_the_form_limit() -> None:
    env = production_env()
    env.update(REQUEST_MAX_BYTES="1000", DATA_UPLOAD_MAX_MEMORY_SIZE="2000")
    result = manage_check(env)
    assert result.returncode != 0
    assert "REQUEST_MAX_BYTES must be at least DATA_UPLOAD_MAX_MEMORY_SIZE" in result.stderr


@pytest.fixture
def secure_settings(settings: Any) -> Any:
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    return settings


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "role"), GET_PAGES)
def test_page_security_headers_and_csp_without_unsafe_inline(
    name: str, role: str, world: World, secure_settings: Any
) -> None:
    response = world.client(role).get(address(name, world), secure=True)
    assert response.status_code in (200, 302), response.status_code
    csp = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    if response.headers.get("Content-Type", "").startswith("text/html"):
        html = response.content.decode()
        assert not INLINE_SCRIPT.findall(html), INLINE_SCRIPT.findall(html)
        assert not INLINE_STYLE.findall(html), INLINE_STYLE.findall(html)
        assert not INLINE_HANDLER.findall(html), INLINE_HANDLER.findall(html)
