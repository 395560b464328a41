"""The demo's web app, started as ``make demo`` starts it (its environment, collectstatic, then
runserver): a missing page is Gatehouse's own 404 page, not Django's debug page, and the
static files it links are still served."""

from __future__ import annotations

import re
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from gatehouse.management.commands.demo import HOST, WEB_PORT, Command, demo_people
from tests.browser.plugin import Child, child_start, free_port, http_ok, wait_until


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


@pytest.fixture(scope="module")
def demo_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    var = tmp_path_factory.mktemp("demo-var")
    command = Command()
    env = command.web_env(command.child_env(demo_people()))
    env.pop("DATABASE_URL", None)  # a database of its own, under this test's var/
    env["GATEHOUSE_VAR_DIR"] = str(var)
    commands = command.commands(var)
    subprocess.run(commands["static"], env=env, cwd=settings.BASE_DIR, check=True, timeout=180)
    port = free_port()
    web = [f"{HOST}:{port}" if arg == f"{HOST}:{WEB_PORT}" else arg for arg in commands["web"]]
    child: Child = child_start("demo-web", web, env=env, log_dir=Path(var) / "logs")
    url = f"http://{HOST}:{port}"
    try:
        wait_until(lambda: http_ok(f"{url}/healthz"), timeout=60, what="the web app", child=child)
        yield url
    finally:
        child.stop()


def test_the_demo_web_app_runs_without_debug() -> None:
    command = Command()
    env = command.web_env(command.child_env(demo_people()))
    assert env["DEBUG"] == "0" and env["SECURE_COOKIES"] == "0"
    assert env["SECRET_KEY"] == settings.SECRET_KEY  # the same key as the worker's
    assert env["FIELD_ENCRYPTION_KEYS"]  # DEBUG would derive it; without DEBUG it is given


def test_a_missing_page_is_gatehouse_s_404_page(demo_web: str) -> None:
    status, content_type, html = get(f"{demo_web}/no-such-page/")
    assert status == 404 and content_type.startswith("text/html")
    assert 'data-testid="error-page"' in html and "Nothing here" in html
    assert 'aria-label="Main"' in html  # in the portal's layout
    assert "URLconf" not in html and "DEBUG = True" not in html  # not Django's debug page
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert len(stylesheets) == 2
    for href in stylesheets:
        status, content_type, css = get(demo_web + href)
        assert status == 200 and content_type.startswith("text/css") and css
