"""Live-system fixtures shared by every test that needs real processes (loaded from the root
conftest, so any test module may use them):

- ``oidc_provider`` (session): oidc-provider-mock as a subprocess on a free loopback port, with
  the acme demo people (and a few people the directory refuses) as one-click users whose ``sub``
  is their sandbox Okta id. ``oidc`` (function) also points the OIDC_* settings at it.
- ``celery_var_dir`` (session, autouse): with the filesystem broker, tests send Celery messages
  to a temporary folder, never var/celery/ where a demo worker would run them.
- ``celery_worker`` (session): a real ``celery worker`` subprocess on the test database and an
  isolated broker (filesystem:// in a temporary folder, or the configured Redis). Tests that use
  it must use a transactional database (``@pytest.mark.django_db(transaction=True)``, or
  ``live_server``) so the worker sees their rows; ``celery_worker.wait_for(...)`` polls.
- the test database is a file (not SQLite's in-memory default) whenever the session holds a test
  marked ``browser`` or ``worker``, so subprocesses can open it.
- browser tests (``@pytest.mark.browser``): ``browser`` (one headless Chromium per test process,
  however many modules import the fixture: Playwright's sync API cannot start twice), ``page``
  (a fresh context per test; on failure a screenshot and the HTML land in var/test-artifacts/),
  ``gatehouse`` (live server URL + OIDC provider + Okta sandbox) and
  ``sign_in(page, "maya.chen@acme.com")`` (or an Okta id), which clicks through the provider.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from django.conf import settings
from django.db import connections
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from gatehouse import signin_provider
from gatehouse.management.oidc_claims import acme_refused_people, claims_file_write

REPO = Path(__file__).resolve().parents[2]


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Child:
    """A subprocess in its own process group, logging to a file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if not self.alive():
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


def child_start(name: str, args: list[str], *, env: dict[str, str], log_dir: Path) -> Child:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Child(name=name, process=process, log_path=log_path)


def wait_until(
    check: Callable[[], bool], *, timeout: float, what: str, child: Child | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if child is not None and not child.alive():
            raise RuntimeError(f"{child.name} exited while waiting for {what}:\n{child.log()}")
        time.sleep(0.1)
    log = f":\n{child.log()}" if child is not None else ""
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}{log}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # loopback only
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError):
        return False


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DEBUG", "1")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


# --- a file database when subprocesses need to see it ----------------------------------------


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None,
    request: pytest.FixtureRequest,
) -> Iterator[None]:
    needs_shared_db = any(
        item.get_closest_marker("browser") or item.get_closest_marker("worker")
        for item in request.session.items
    )
    database = settings.DATABASES["default"]
    if not (needs_shared_db and database["ENGINE"] == "django.db.backends.sqlite3"):
        yield
        return
    # In memory when the machine has a tmpfs (every flush of a transactional test is cheap).
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="gatehouse-test-db-", dir=shm if shm.is_dir() else None))
    database.setdefault("TEST", {})["NAME"] = str(folder / "test.sqlite3")
    yield
    shutil.rmtree(folder, ignore_errors=True)


def database_url() -> str:
    """A DATABASE_URL for subprocesses: the test database this session created."""
    db = connections["default"].settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        name = str(db["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            raise RuntimeError(
                "the test database is in memory, so a subprocess cannot see it: mark the test "
                "@pytest.mark.browser or @pytest.mark.worker"
            )
        return f"sqlite:///{name}"
    if db["ENGINE"] == "django.db.backends.postgresql":
        user = quote(str(db.get("USER") or ""), safe="")
        password = quote(str(db.get("PASSWORD") or ""), safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        return f"postgres://{auth}{host}:{port}/{db['NAME']}"
    raise RuntimeError(f"no subprocess URL for database engine {db['ENGINE']}")


# --- the OIDC provider ----------------------------------------------------------------------


def signin_people() -> list[dict[str, Any]]:
    """The demo people plus one acme person per refused status (SUSPENDED, …)."""
    from okta.sandbox.seed import demo_people

    return [*demo_people(), *acme_refused_people().values()]


@dataclass
class OidcProvider:
    url: str
    claims: list[dict[str, Any]] = field(default_factory=list)

    def refused(self, status: str) -> dict[str, Any]:
        """The claims of the provider's person whose acme status is ``status``."""
        wanted = acme_refused_people()[status]["sub"]
        return next(person for person in self.claims if person["sub"] == wanted)

    def sub_for(self, login: str) -> str:
        for person in self.claims:
            if person["preferred_username"].lower() == login.lower():
                return str(person["sub"])
        raise KeyError(f"{login} is not one of the provider's people")

    def person_add(self, claims: dict[str, Any]) -> None:
        """Make (or replace) a person the provider knows, by their claims (``sub`` required)."""
        body = {key: value for key, value in claims.items() if key != "sub"}
        request = urllib.request.Request(
            f"{self.url}/users/{quote(str(claims['sub']), safe='')}",
            data=json.dumps(body).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5):  # loopback only
            pass

    def authorize(self, authorize_url: str, sub: str) -> str:
        """Press "authorize as <sub>" on the provider's page; returns the redirect (callback) URL.

        This is what the browser does, for tests that drive Django's test client through the
        real provider instead of a browser.
        """
        parts = urlsplit(authorize_url)
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=10
        )
        try:
            connection.request(
                "POST",
                f"{parts.path}?{parts.query}",
                body=urlencode({"sub": sub}),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            response = connection.getresponse()
            response.read()
            location = response.getheader("Location")
        finally:
            connection.close()
        if response.status not in (302, 303) or not location:
            raise RuntimeError(f"the provider answered {response.status} without a redirect")
        return location

    def settings_apply(self, django_settings: Any) -> None:
        # Only the issuer: the endpoints come from the provider's discovery document, as in
        # production (accounts/oidc.py).
        django_settings.OIDC_OP_ISSUER = self.url
        django_settings.OIDC_OP_AUTHORIZATION_ENDPOINT = ""
        django_settings.OIDC_OP_TOKEN_ENDPOINT = ""
        django_settings.OIDC_OP_USER_ENDPOINT = ""
        django_settings.OIDC_OP_JWKS_ENDPOINT = ""
        django_settings.OIDC_RP_CLIENT_ID = "gatehouse-tests"
        django_settings.OIDC_RP_CLIENT_SECRET = "gatehouse-tests-secret"


def oidc_provider_start(
    people: list[dict[str, Any]], log_dir: Path, attempts: int = 3
) -> tuple[Child, OidcProvider]:
    claims_path = log_dir / "oidc-claims.json"
    claims = claims_file_write(claims_path, people)
    for _ in range(attempts):
        port = free_port()
        child = child_start(
            "oidc-provider",
            signin_provider.command(host="127.0.0.1", port=port, claims_file=claims_path),
            env=child_env(NO_COLOR="1"),
            log_dir=log_dir,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(
                lambda url=url: http_ok(f"{url}/.well-known/openid-configuration"),  # type: ignore[misc]
                timeout=20,
                what="the OIDC provider",
                child=child,
            )
        except RuntimeError:
            child.stop()
            continue  # most likely someone took the port between our probe and its bind
        return child, OidcProvider(url=url, claims=claims)
    raise RuntimeError(f"the OIDC provider did not start:\n{child.log()}")


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    log_dir = tmp_path_factory.mktemp("oidc")
    child, provider = oidc_provider_start(signin_people(), log_dir)
    yield provider
    child.stop()


@pytest.fixture
def oidc(oidc_provider: OidcProvider, settings: Any) -> OidcProvider:
    """The OIDC provider, with this test's settings pointing at it."""
    oidc_provider.settings_apply(settings)
    return oidc_provider


# --- a real Celery worker -------------------------------------------------------------------


def celery_connections_drop(app: Any) -> None:
    """Forget the app's pooled broker connections: the next message opens one to the broker
    the configuration names now (kombu keys its pools by URL and transport options)."""
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def celery_broker(url: str, transport_options: dict[str, Any]) -> Iterator[None]:
    """Point this process's Celery app (and children started with its environment) at another
    broker, then put back exactly the broker it had.

    Celery reads CELERY_BROKER_URL from the environment before its configuration, so the
    variable is set too; what is put back is the URL in force *before* either changed."""
    from gatehouse.celery import app

    saved_url = app.conf.broker_url
    saved_options = dict(app.conf.broker_transport_options or {})
    saved_env = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = url
    app.conf.broker_url = url
    app.conf.broker_transport_options = transport_options
    celery_connections_drop(app)
    try:
        yield
    finally:
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        app.conf.broker_url = saved_url
        app.conf.broker_transport_options = saved_options
        celery_connections_drop(app)


@pytest.fixture(scope="session", autouse=True)
def celery_var_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Tests send Celery messages into a folder of their own, never the demo's var/celery/
    (where a running demo worker would pick them up); ``celery_worker`` reads the same folder.
    With a Redis broker, CI's own database number keeps runs apart."""
    from gatehouse.celery import app

    var_dir = tmp_path_factory.mktemp("celery-var")
    original = dict(app.conf.broker_transport_options or {})
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        home = str(settings.VAR_DIR)
        moved: dict[str, Any] = {}
        for key, value in original.items():
            if isinstance(value, str) and value.startswith(home):
                value = str(var_dir) + value[len(home) :]
                Path(value).mkdir(parents=True, exist_ok=True)
            moved[key] = value
        app.conf.broker_transport_options = moved
        celery_connections_drop(app)  # connections opened before keep the old folder
    yield var_dir
    app.conf.broker_transport_options = original


@pytest.fixture(autouse=True)
def celery_broker_unchanged() -> Iterator[None]:
    """A test that points Celery at a broker of its own must put the configured one back: the
    worker tests after it would otherwise publish to a broker that is gone (and only a run
    without CELERY_BROKER_URL in the environment would show it)."""
    from gatehouse.celery import app

    yield
    configured = settings.CELERY_BROKER_URL
    assert app.conf.broker_url == configured, (
        f"this test left Celery's broker at {app.conf.broker_url!r}, not {configured!r}"
    )


@dataclass
class Worker:
    child: Child
    env: dict[str, str]

    def wait_for(self, check: Callable[[], bool], *, timeout: float = 30, what: str = "") -> None:
        """Poll ``check`` (e.g. a database query) until it is true or the worker dies."""
        wait_until(check, timeout=timeout, what=what or "the worker", child=self.child)

    def log(self) -> str:
        return self.child.log()


def _sandbox_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The Okta sandbox's URL and token, when the sandbox fixtures are installed."""
    try:
        server = request.getfixturevalue("okta_sandbox_server")
    except pytest.FixtureLookupError:
        return {}
    return {"OKTA_ORG_URL": str(server.url), "OKTA_API_TOKEN": str(server.token)}


def _slack_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The Slack emulator's API URL, token and signing secret, when its fixtures are installed
    (Gatehouse's own settings decide whether a test sends Slack work at all)."""
    try:
        server = request.getfixturevalue("slack_emulator_server")
    except pytest.FixtureLookupError:
        return {}
    return {
        "SLACK_API_URL": str(server.api_url),
        "SLACK_BOT_TOKEN": str(server.token),
        "SLACK_SIGNING_SECRET": str(server.signing_secret),
        "TEAMS_WEBHOOK_URL": str(server.teams_webhook_url),
    }


@pytest.fixture(scope="session")
def celery_worker(
    celery_var_dir: Path,
    django_db_setup: None,
    django_db_blocker: Any,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Worker]:
    var_dir = celery_var_dir
    with django_db_blocker.unblock():
        db_url = database_url()
    env = child_env(
        DATABASE_URL=db_url,
        GATEHOUSE_VAR_DIR=str(var_dir),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        **_sandbox_env(request),
        **_slack_env(request),
    )
    child = child_start(
        "celery-worker",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "gatehouse.celery",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"tests-{os.getpid()}@%h",
        ],
        env=env,
        log_dir=tmp_path_factory.mktemp("worker-log"),
    )
    wait_until(lambda: " ready." in child.log(), timeout=120, what="the worker", child=child)
    yield Worker(child=child, env=env)
    child.stop()


def json_get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:  # loopback only
        return json.loads(response.read())


# --- browser tests --------------------------------------------------------------------------

ARTIFACTS = REPO / "var" / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
_chromium: dict[str, Any] = {}


def shared_browser() -> Browser:
    """The process's one headless Chromium, started on first use, closed at session end."""
    if "browser" in _chromium:
        return _chromium["browser"]
    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not Path(executable).exists():
        raise RuntimeError(f"Chromium not found at {executable}: install it or set CHROMIUM_PATH")
    # Playwright's sync API keeps an event loop marked running in this thread; Django's ORM
    # refuses to run beside one unless told that this (test-only) use is safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    playwright: Playwright = sync_playwright().start()
    _chromium["playwright"] = playwright
    _chromium["browser"] = playwright.chromium.launch(
        executable_path=executable, headless=True, args=CHROMIUM_ARGS
    )
    return _chromium["browser"]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    browser = _chromium.pop("browser", None)
    playwright = _chromium.pop("playwright", None)
    if browser is not None:
        browser.close()
    if playwright is not None:
        playwright.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Browser:
    return shared_browser()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # Generous: a step on a loaded two-core machine can take seconds; waits end on a condition.
    context.set_default_timeout(30_000)
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
