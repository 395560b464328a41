"""The demo's sign-in provider: oidc-provider-mock, with pages that load nothing from outside.

The package's own pages link their stylesheet (Pico CSS) from a CDN, so offline they render
unstyled, and online each sign-in asks a third party for it. Here the same provider (its
endpoints, tokens and one-click people untouched) is built with templates of our own in front
of the package's: the sign-in and error pages, styled with Bootstrap and Gatehouse's stylesheet
as installed (django-bootstrap-static, portal/static), served by the provider itself.

``python -m gatehouse.signin_provider --host H --port P --user-claims-file people.json``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bootstrap
import flask
import jinja2
import oidc_provider_mock
import uvicorn
from oidc_provider_mock import User

import core

TEMPLATES = Path(__file__).resolve().parent / "templates"
PACKAGE_TEMPLATES = Path(oidc_provider_mock.__file__).resolve().parent / "templates"
# The only files /assets/ serves, each from the package that ships it.
ASSETS = {
    "bootstrap.min.css": Path(bootstrap.__file__).resolve().parent
    / "static"
    / "bootstrap"
    / "css"
    / "bootstrap.min.css",
    "gatehouse.css": Path(core.__file__).resolve().parent / "static" / "portal" / "gatehouse.css",
    "favicon.svg": Path(core.__file__).resolve().parent / "static" / "portal" / "favicon.svg",
}


def command(*, host: str, port: int, claims_file: Path) -> list[str]:
    """The command line that runs the provider (the demo's and the browser tests')."""
    options = ["--host", host, "--port", str(port), "--user-claims-file", str(claims_file)]
    return [sys.executable, "-m", __name__, *options]


def people_load(path: Path) -> list[User]:
    """The one-click people: a JSON list of claims, each with its ``sub`` (oidc_claims.py)."""
    people = []
    for claims in json.loads(path.read_text()):
        claims = dict(claims)
        sub = claims.pop("sub", None)
        if not isinstance(sub, str) or not sub:
            raise ValueError(f"{path}: a person without a sub: {claims!r}")
        people.append(User(sub=sub, claims=claims))
    return people


def provider_app(people: Sequence[User]) -> flask.Flask:
    app = oidc_provider_mock.app(user_claims=people)
    # Ours first; the package's for the pages we leave as they are.
    app.jinja_loader = jinja2.ChoiceLoader(
        [jinja2.FileSystemLoader(TEMPLATES), jinja2.FileSystemLoader(PACKAGE_TEMPLATES)]
    )
    claims_by_sub = {person.sub: person.claims for person in people}

    @app.context_processor
    def people_claims() -> dict[str, Any]:
        return {"claims_by_sub": claims_by_sub}

    @app.get("/assets/<name>")
    def asset(name: str) -> flask.Response:
        path = ASSETS.get(name)
        if path is None:
            flask.abort(404)
        return flask.send_file(path, max_age=3600)

    return app


class PlainFormatter(logging.Formatter):
    """One short line a record; the package's "issued authorization code" says for whom."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        user = getattr(record, "user", None)
        if isinstance(user, User):
            line += f" for {user.claims.get('email') or user.sub}"
        return line


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gatehouse.signin_provider")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9400)
    parser.add_argument("--user-claims-file", type=Path, required=True)
    args = parser.parse_args(argv)

    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain HTTP on loopback, as the package does
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(PlainFormatter("%(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    uvicorn.run(
        provider_app(people_load(args.user_claims_file)),
        interface="wsgi",
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,  # five lines a sign-in, with the whole query string
    )
