"""Browser tests: headless Chromium (Playwright, never a downloaded browser) against
pytest-django's live server, signing in through the real local OIDC provider.

Fixtures: ``browser`` (session), ``page`` (a fresh context per test; a screenshot lands in
var/test-artifacts/ when the test fails), ``gatehouse`` (live server URL + OIDC settings + the
Okta sandbox settings) and ``sign_in(page, login_or_sub)``. Celery work is done by the real
worker from tests/browser/plugin.py (``celery_worker``). Mark tests ``@pytest.mark.browser``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.plugin import OidcProvider

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run beside one
# unless told that this (test-only) use is safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not Path(executable).exists():
        raise RuntimeError(f"Chromium not found at {executable}: install it or set CHROMIUM_PATH")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        try:
            tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            (ARTIFACTS / f"{name}.html").write_text(tab.content())
        except Exception as exc:  # a crashed page must not hide the test's own failure
            print(f"could not save the failure screenshot: {exc}")
    context.close()


@dataclass
class Gatehouse:
    """The running system a browser test talks to."""

    url: str
    oidc: OidcProvider
    okta: Any  # the okta_sandbox fixture's object (url, token, control helpers)


@pytest.fixture
def gatehouse(live_server: Any, oidc: OidcProvider, okta_sandbox: Any) -> Gatehouse:
    return Gatehouse(url=live_server.url, oidc=oidc, okta=okta_sandbox)


@pytest.fixture
def sign_in(gatehouse: Gatehouse) -> Callable[[Page, str], None]:
    """Sign in as a person (login or Okta id) by clicking through the OIDC provider."""

    def go(page: Page, who: str) -> None:
        sub = who if "@" not in who else gatehouse.oidc.sub_for(who)
        page.goto(f"{gatehouse.url}/login/")
        page.get_by_test_id("sign-in").click()
        page.get_by_role("button", name=f"Authorize as {sub}").click()
        page.wait_for_url(f"{gatehouse.url}/**")

    return go
