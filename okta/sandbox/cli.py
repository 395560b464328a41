"""Command-line entry point shared by ``python -m okta.sandbox`` and ``manage.py okta_sandbox``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from okta.sandbox.seed import ORGS

# Kept here (not imported from the server) so --help needs no ASGI stack; a test keeps the
# two lists the same.
LIMITS = ("unlimited", "okta-workforce")

DEFAULT_TOKEN = "demo-sandbox-token"
DEFAULT_SCOPES = (
    "okta.users.read okta.users.manage okta.groups.read okta.groups.manage okta.apps.read "
    "okta.apps.manage okta.logs.read okta.roles.read okta.eventHooks.read okta.eventHooks.manage"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8900, help="port (0 picks a free one)")
    parser.add_argument("--org", choices=ORGS, default="acme", help="seed to serve")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the SSWS API token to accept")
    parser.add_argument(
        "--limits",
        choices=LIMITS,
        default="unlimited",
        help="rate-limit profile: unlimited (default) or okta-workforce (Okta's published "
        "per-minute limits and concurrency cap of a Workforce Identity org)",
    )
    parser.add_argument(
        "--oauth-client-id", default="", help="register an OAuth service app with this client id"
    )
    parser.add_argument(
        "--oauth-public-key",
        default="",
        help="file with the client's public key: a PEM or a JWK (JSON)",
    )
    parser.add_argument(
        "--oauth-scopes", default=DEFAULT_SCOPES, help="space-separated scopes the client may ask"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed for injected faults that do not name their own (deterministic fault runs)",
    )
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when the parent process dies (used by the test fixtures)",
    )
    parser.add_argument("--log-level", default="warning")


def load_public_key(path: str) -> Any:
    text = Path(path).read_text()
    if text.lstrip().startswith("{"):
        return json.loads(text)
    return text


def run(options: dict[str, Any]) -> None:
    from okta.sandbox.server import serve

    clients = []
    if options.get("oauth_client_id"):
        if not options.get("oauth_public_key"):
            raise SystemExit("--oauth-client-id needs --oauth-public-key")
        key = load_public_key(options["oauth_public_key"])
        clients.append((options["oauth_client_id"], key, options["oauth_scopes"].split()))
    serve(
        host=options["host"],
        port=options["port"],
        org=options["org"],
        token=options["token"],
        clients=clients,
        log_level=options.get("log_level") or "warning",
        fault_seed=options.get("seed"),
        exit_with_parent=bool(options.get("exit_with_parent")),
        limits=options.get("limits") or "unlimited",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m okta.sandbox", description=__doc__)
    add_arguments(parser)
    run(vars(parser.parse_args(argv)))
