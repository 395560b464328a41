"""``python manage.py demo``: everything Gatehouse needs, in one terminal; Ctrl-C stops it all.

Children: the Okta sandbox (acme org) on 127.0.0.1:8900, a local OIDC provider on
127.0.0.1:9400 offering the demo people for one-click sign-in (gatehouse/signin_provider), the
web app on 127.0.0.1:8000 (DEBUG off, as deployed: Gatehouse's own error pages), a Celery
worker, Celery beat, and the Slack emulator on 127.0.0.1:8902 (chat/emulator: approvers get
their Approve / Deny messages there, http://127.0.0.1:8902 lists them with buttons, and the
Teams channel's cards). Embedded defaults only (SQLite and Celery's filesystem transport under
var/), so no database or broker server is needed. The first full mirror sync runs as soon as
the sandbox answers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gatehouse import signin_provider
from gatehouse.management.oidc_claims import acme_refused_people, claims_file_write
from okta.crypto import _derived_key

HOST = "127.0.0.1"
WEB_PORT = 8000
SANDBOX_PORT = 8900
OIDC_PORT = 9400
SLACK_PORT = 8902
# Fixed demo credentials for the local sandbox only: they open nothing outside this machine.
SANDBOX_TOKEN = "demo-sandbox-token"
EVENT_HOOK_SECRET = "demo-event-hook-secret"
SLACK_TOKEN = "xoxb-demo-slack-token"
SLACK_SECRET = "demo-slack-signing-secret"

DEMO_LOGINS = [
    "maya.chen@acme.com",
    "priya.patel@acme.com",
    "john.doe@acme.com",
    "omar.haddad@acme.com",
    "jordan.lee@acme.com",
    "sam.rivera@acme.com",
    "tessa.nguyen@acme.com",
]

COLOURS = ["36", "33", "32", "35", "34", "31", "96"]


def demo_people() -> list[dict[str, Any]]:
    """The demo people from the sandbox's acme seed: login, names and Okta id (the OIDC sub)."""
    from okta.sandbox import seed

    by_login = {person["login"].lower(): person for person in seed.demo_people()}
    missing = [login for login in DEMO_LOGINS if login not in by_login]
    if missing:
        raise CommandError(f"the acme seed lacks demo people: {', '.join(missing)}")
    # One SUSPENDED person too, so visitors can see how a refusal looks.
    suspended = acme_refused_people()["SUSPENDED"]
    return [*(by_login[login] for login in DEMO_LOGINS), suspended]


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


@dataclass
class Child:
    name: str
    args: list[str]
    colour: str
    process: subprocess.Popen[bytes] | None = None
    pump: threading.Thread | None = field(default=None, repr=False)

    def start(self, env: dict[str, str], out: IO[str], lock: threading.Lock) -> None:
        # Each child leads its own process group: Ctrl-C reaches only the supervisor, which
        # then stops the children in order (and their own children with them).
        self.process = subprocess.Popen(
            self.args,
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pump = threading.Thread(target=self._pump, args=(out, lock), daemon=True)
        self.pump.start()

    def _pump(self, out: IO[str], lock: threading.Lock) -> None:
        assert self.process is not None and self.process.stdout is not None
        prefix = (
            f"\033[{self.colour}m{self.name:>8} |\033[0m " if out.isatty() else f"{self.name:>8} | "
        )
        for raw in iter(self.process.stdout.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            with lock:
                out.write(prefix + line + "\n")
                out.flush()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        if self.running():
            assert self.process is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)

    def wait(self, timeout: float) -> bool:
        if self.process is None:
            return True
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        if self.pump is not None:
            self.pump.join(1)
        return True


class _Stopped(Exception):
    """Ctrl-C (or SIGTERM) arrived while starting up."""


class Command(BaseCommand):
    help = "Run the demo: Okta sandbox, OIDC provider, web app, Celery worker and beat."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-sync", action="store_true", help="skip the first full mirror sync"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for port in (WEB_PORT, SANDBOX_PORT, OIDC_PORT, SLACK_PORT):
            if not port_free(port):
                raise CommandError(
                    f"{HOST}:{port} is already in use: is another demo running? Stop it first."
                )
        self.lock = threading.Lock()
        self.children: list[Child] = []
        self.stopping = False
        var = Path(settings.VAR_DIR)

        people = demo_people()
        claims_file_write(var / "demo" / "oidc-people.json", people)
        env = self.child_env(people)

        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)

        previous = {
            sig: signal.signal(sig, self.on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            commands = self.commands(var)
            web_env = self.web_env(env)
            # The web app's static files, collected while the sandbox starts and the sync runs.
            static = self.spawn("static", commands["static"], web_env)
            self.spawn("sandbox", commands["sandbox"], env)
            self.spawn("oidc", commands["oidc"], {**env, "NO_COLOR": "1"})
            self.spawn("slack", commands["slack"], env)
            self.wait_for("sandbox", self.sandbox_ready, 60)
            self.wait_for("oidc", self.oidc_ready, 30)
            self.wait_for("slack", self.slack_ready, 60)
            if not options["no_sync"]:
                self.say("Running the first full mirror sync from the sandbox...")
                self.finish(self.spawn("sync", commands["sync"], env), "the first mirror sync")
                # A starter catalog, so the request → approve → fulfil journey works at once.
                call_command("approvals_demo_catalog", verbosity=0)
            self.finish(static, "collecting the static files")
            self.spawn("web", commands["web"], web_env)
            for name in ("worker", "beat"):
                self.spawn(name, commands[name], env)
            self.wait_for("web", lambda: http_ok(f"http://{HOST}:{WEB_PORT}/healthz"), 60)
            self.banner(people)
            self.supervise()
        except _Stopped:
            pass
        finally:
            self.stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # --- children -------------------------------------------------------------------------

    def commands(self, var: Path) -> dict[str, list[str]]:
        """Each child's command line."""
        py = sys.executable
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        celery = [py, "-m", "celery", "-A", "gatehouse.celery"]
        return {
            "sandbox": [
                *(py, manage, "okta_sandbox", "--org", "acme", "--token", SANDBOX_TOKEN),
                *("--host", HOST, "--port", str(SANDBOX_PORT)),
            ],
            "slack": [
                *(py, "-m", "chat.emulator", "--host", HOST, "--port", str(SLACK_PORT)),
                *("--token", SLACK_TOKEN, "--signing-secret", SLACK_SECRET),
                *("--interactions-url", f"http://{HOST}:{WEB_PORT}/chat/slack/interactions/"),
            ],
            "oidc": signin_provider.command(
                host=HOST, port=OIDC_PORT, claims_file=var / "demo" / "oidc-people.json"
            ),
            # A progress bar redrawn with carriage returns is noise in prefixed output.
            "sync": [py, manage, "okta_sync", "--full", "--no-progress"],
            "static": [py, manage, "collectstatic", "--noinput", "--verbosity", "0"],
            "web": [py, manage, "runserver", f"{HOST}:{WEB_PORT}", "--noreload", "--skip-checks"],
            "worker": [*celery, "worker", "--pool=solo", "-l", "INFO"],
            # Beat's INFO is a line for every periodic task it sends; the worker's say the same.
            "beat": [
                *celery,
                "beat",
                "-l",
                "WARNING",
                "--schedule",
                str(var / "celerybeat-schedule"),
            ],
        }

    def child_env(self, people: list[dict[str, Any]]) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DEBUG="1",
            PYTHONUNBUFFERED="1",
            OKTA_ORG_URL=f"http://{HOST}:{SANDBOX_PORT}",
            OKTA_API_TOKEN=SANDBOX_TOKEN,
            OKTA_EVENT_HOOK_SECRET=EVENT_HOOK_SECRET,
            OIDC_OP_ISSUER=f"http://{HOST}:{OIDC_PORT}",
            SLACK_API_URL=f"http://{HOST}:{SLACK_PORT}/api/",
            SLACK_BOT_TOKEN=SLACK_TOKEN,
            SLACK_SIGNING_SECRET=SLACK_SECRET,
            TEAMS_WEBHOOK_URL=f"http://{HOST}:{SLACK_PORT}/teams/webhook/approvals",
            SITE_URL=f"http://{HOST}:{WEB_PORT}",
            DEMO_PEOPLE=",".join(person["login"] for person in people),
            # What DEBUG fills in, stated for every child alike: the web app runs without it.
            SECRET_KEY=settings.SECRET_KEY,
            OIDC_RP_CLIENT_SECRET=settings.OIDC_RP_CLIENT_SECRET,
            EMAIL_BACKEND=env.get("EMAIL_BACKEND", "gatehouse.mail.LogBackend"),
            FIELD_ENCRYPTION_KEYS=",".join(
                # The key DEBUG derives: secrets stored by earlier demo runs stay readable.
                settings.FIELD_ENCRYPTION_KEYS or [_derived_key().decode()]
            ),
        )
        # The demo talks to its sandbox only; DATABASE_URL / CELERY_BROKER_URL, when set, are
        # kept (this process migrated that database) and otherwise the embedded defaults apply.
        for name in (
            "OKTA_API_TOKEN_FILE",
            "OKTA_CLIENT_ID",
            "OKTA_PRIVATE_KEY",
            "OKTA_PRIVATE_KEY_FILE",
            "OIDC_OP_AUTHORIZATION_ENDPOINT",
            "OIDC_OP_TOKEN_ENDPOINT",
            "OIDC_OP_USER_ENDPOINT",
            "OIDC_OP_JWKS_ENDPOINT",
            "SLACK_BOT_TOKEN_FILE",
            "SLACK_SIGNING_SECRET_FILE",
            "TEAMS_WEBHOOK_URL_FILE",
        ):
            env.pop(name, None)
        return env

    def web_env(self, env: dict[str, str]) -> dict[str, str]:
        """The web app runs with DEBUG off, as deployed: people meet Gatehouse's own 404, 403
        and 500 pages, not Django's debug pages, and WhiteNoise serves the collected static
        files. It is plain HTTP on loopback, so cookies are not marked Secure."""
        return {
            **env,
            "DEBUG": "0",
            "ALLOWED_HOSTS": f"{HOST},localhost",
            "SECURE_COOKIES": "0",
        }

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> Child:
        child = Child(name=name, args=args, colour=COLOURS[len(self.children) % len(COLOURS)])
        child.start(env, sys.stdout, self.lock)
        self.children.append(child)
        return child

    def say(self, text: str) -> None:
        with self.lock:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    def wait_for(self, name: str, ready: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        child = next(c for c in self.children if c.name == name)
        while time.monotonic() < deadline:
            if self.stopping:
                raise _Stopped
            if not child.running():
                raise CommandError(f"{name} exited before it was ready (see its output above)")
            if ready():
                return
            time.sleep(0.2)
        raise CommandError(f"{name} was not ready after {timeout:.0f}s")

    def sandbox_ready(self) -> bool:
        from okta.client import OktaError, get_client

        try:
            with get_client(
                org_url=f"http://{HOST}:{SANDBOX_PORT}", token=SANDBOX_TOKEN, governor=None
            ) as client:
                client.get_user("me")
        except OktaError:
            return False
        return True

    def slack_ready(self) -> bool:
        return http_ok(f"http://{HOST}:{SLACK_PORT}/__emulator__/config")

    def oidc_ready(self) -> bool:
        return http_ok(f"http://{HOST}:{OIDC_PORT}/.well-known/openid-configuration")

    def finish(self, child: Child, what: str) -> None:
        """Wait for a one-off child (the sync, collectstatic) to end; stop the demo if it failed."""
        while child.running() and not self.stopping:
            time.sleep(0.2)
        if self.stopping:
            raise _Stopped
        child.wait(5)
        self.children.remove(child)
        code = child.process.returncode if child.process else None
        if code != 0:
            raise CommandError(f"{what} failed (exit code {code})")

    def banner(self, people: list[dict[str, Any]]) -> None:
        lines = [
            "",
            "Gatehouse demo is running. Open http://127.0.0.1:8000 and sign in as one of:",
        ]
        for person in people:
            name = person.get("name") or f"{person['given_name']} {person['family_name']}"
            if person.get("status"):
                name += f" ({person['status']})"
            lines.append(f"  {person['login']:<24} {name:<16} pick {person['sub']}")
        lines += [
            "Okta sandbox: http://127.0.0.1:8900 (token demo-sandbox-token)",
            "Slack emulator: http://127.0.0.1:8902 (approvers' messages, with Approve / Deny)",
            "OIDC provider: http://127.0.0.1:9400 · Press Ctrl-C to stop everything.",
            "",
        ]
        self.say("\n".join(lines))

    def supervise(self) -> None:
        while not self.stopping:
            for child in self.children:
                if not child.running():
                    code = child.process.returncode if child.process else None
                    raise CommandError(f"{child.name} exited (code {code}); stopping the demo")
            time.sleep(0.5)

    def on_signal(self, signum: int, frame: Any) -> None:
        self.stopping = True

    def stop_all(self) -> None:
        self.stopping = True
        for child in reversed(self.children):
            child.signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in reversed(self.children):
            if not child.wait(max(0.1, deadline - time.monotonic())):
                child.signal(signal.SIGKILL)
                child.wait(5)
        if self.children:
            self.say("Demo stopped.")


def http_ok(url: str) -> bool:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"the demo only probes loopback URLs, not {url!r}")
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (checked above)
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError):
        return False
