"""Fixtures for the sandbox's own tests: ``contract`` validates every response against the spec."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from tests.fixtures.sandbox import ApiResponse, SandboxServer
from tests.okta.sandbox import contract


def asgi_get(
    app: Any,
    path: str,
    sent: list[dict[str, Any]],
    *,
    client_host: str = "127.0.0.1",
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> list[dict[str, Any]]:
    """One GET straight into the sandbox's ASGI app, no socket (so the client address can be
    any); the messages it sends land in ``sent``, which is returned."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": list(headers),
        "client": (client_host, 5555),
        "server": ("127.0.0.1", 8900),
    }
    asyncio.run(app(scope, receive, send))
    return sent


def answer(sent: list[dict[str, Any]]) -> tuple[int, Any]:
    """The status and JSON body of the answer an ASGI app sent."""
    return sent[0]["status"], json.loads(b"".join(m.get("body", b"") for m in sent[1:]))


class ContractClient:
    """The fixture's ``api()`` that also validates each response against Okta's spec."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self.checked = 0

    def __call__(self, method: str, path: str, body: Any = None, **kwargs: Any) -> ApiResponse:
        response = self.sandbox.api(method, path, body, **kwargs)
        contract.validate(
            method, self.sandbox.url + path, response.status, response.headers, response.raw
        )
        self.checked += 1
        return response


@pytest.fixture(scope="session")
def okta_openapi() -> Any:
    return contract.openapi()


@pytest.fixture
def okta(okta_sandbox: SandboxServer, okta_openapi: Any) -> Callable[..., ApiResponse]:
    """Call the sandbox's Management API; every answer is validated against the contract."""
    return ContractClient(okta_sandbox)
