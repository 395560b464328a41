"""Fixtures for the sandbox's own tests: ``contract`` validates every response against the spec."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures.sandbox import ApiResponse, SandboxServer
from tests.okta.sandbox import contract


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
