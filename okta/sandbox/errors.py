"""Okta's error body and the few codes the sandbox answers with.

Status codes and summaries follow Okta's catalog (shared/okta/error-codes.json); the sandbox keeps
its own copy of the handful it needs so it runs without the shared folder.
"""

from __future__ import annotations

import secrets
from typing import Any

CATALOG: dict[str, tuple[int, str]] = {
    "E0000001": (400, "Api validation failed: {0}"),
    "E0000003": (400, "The request body was not well-formed."),
    "E0000006": (403, "You do not have permission to perform the requested action"),
    "E0000007": (404, "Not found: {0}"),
    "E0000009": (500, "Internal Server Error"),
    "E0000011": (401, "Invalid token provided"),
    "E0000016": (403, "Activation failed because the user is already active"),
    "E0000022": (405, "The endpoint does not support the provided HTTP method"),
    "E0000031": (400, "Invalid search criteria."),
    "E0000038": (403, "This operation is not allowed in the user's current status."),
    "E0000047": (429, "API call exceeded rate limit due to too many requests."),
}


class OktaError(Exception):
    """An error answered with Okta's body; ``detail`` fills the summary's ``{0}``."""

    def __init__(
        self,
        code: str,
        detail: str = "",
        causes: list[str] | None = None,
        status: int | None = None,
    ) -> None:
        default_status, template = CATALOG[code]
        self.code = code
        self.status = status or default_status
        self.summary = template.replace("{0}", detail) if "{0}" in template else template
        self.causes = causes or []
        super().__init__(f"{code} {self.summary}")

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.summary, self.causes)


def error_body(code: str, summary: str, causes: list[str] | None = None) -> dict[str, Any]:
    return {
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": "oae" + secrets.token_urlsafe(16).replace("-", "a").replace("_", "b")[:19],
        "errorCauses": [{"errorSummary": c} for c in (causes or [])],
    }


def not_found(what: str) -> OktaError:
    return OktaError("E0000007", f"Resource not found: {what}")


def validation(summary: str, *causes: str) -> OktaError:
    return OktaError("E0000001", summary, list(causes))
