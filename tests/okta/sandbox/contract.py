"""Okta's OpenAPI spec, with a small documented overlay, for validating sandbox responses.

The overlay fixes the spec's known gaps (see shared/okta/README.md), nothing else:

1. Most operations do not declare 400 or 401 responses: each gets Okta's ``Error`` body for both.
2. Lifecycle 200s that return ``{}`` are declared as ``content: {}``: they get an
   ``application/json`` object schema. 204s declared with ``content: {}`` lose the key: no body
   and no Content-Type is what they answer (openapi-core would otherwise expect a media type).
3. ``OktaUserGroupProfile.description`` stays non-nullable: the sandbox never sends null.
4. Undeclared headers (``Link``, ``X-Rate-Limit-*``, ``X-Okta-Request-Id``) are not checked here:
   openapi-core ignores headers a response does not declare; tests assert them directly.
5. ``servers`` is replaced by "/" so responses from any loopback host match.

Parsing the 3.4 MB YAML takes seconds, so the overlaid dict is pickled under ``var/`` keyed by
the spec file's mtime and size.
"""

from __future__ import annotations

import copy
import pickle
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

BASE_DIR = Path(__file__).resolve().parents[3]
SPEC_PATH = BASE_DIR.parent / "shared" / "okta" / "management-minimal.yaml"
CACHE_DIR = BASE_DIR / "var" / "cache"
ERROR_REF = {"$ref": "#/components/schemas/Error"}
METHODS = ("get", "post", "put", "delete", "patch")
OVERLAY_VERSION = 2  # bump when overlay() changes, so the pickled cache is rebuilt


def overlay(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    spec["servers"] = [{"url": "/"}]
    for item in spec["paths"].values():
        for method in METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            for status, summary in (("400", "Bad Request"), ("401", "Unauthorized")):
                responses.setdefault(
                    status,
                    {
                        "description": summary,
                        "content": {"application/json": {"schema": ERROR_REF}},
                    },
                )
            empty = responses.get("204")
            if isinstance(empty, dict) and "$ref" not in empty and not empty.get("content"):
                empty.pop("content", None)
            ok = responses.get("200")
            if isinstance(ok, dict) and "$ref" not in ok and not ok.get("content"):
                ok["content"] = {"application/json": {"schema": {"type": "object"}}}
    return spec


def _load() -> dict[str, Any]:
    stat = SPEC_PATH.stat()
    cached = CACHE_DIR / f"okta-spec-{int(stat.st_mtime)}-{stat.st_size}-v{OVERLAY_VERSION}.pickle"
    if cached.exists():
        with cached.open("rb") as handle:
            return pickle.load(handle)  # our own cache file, written below
    with SPEC_PATH.open() as handle:
        raw = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    spec = overlay(raw)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".tmp")
    with partial.open("wb") as handle:
        pickle.dump(spec, handle, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(cached)
    return spec


@cache
def openapi() -> OpenAPI:
    return OpenAPI.from_dict(_load(), config=Config(spec_validator_cls=None))


def validate(method: str, url: str, status: int, headers: dict[str, str], raw: bytes) -> None:
    """Raise if the response does not match the operation's declared response in the spec."""
    parts = urlsplit(url)
    request = MockRequest(
        host_url=f"{parts.scheme}://{parts.netloc}",
        method=method,
        path=parts.path,
        args=dict(parse_qsl(parts.query)),
    )
    content_type = headers.get("content-type", "")
    response = MockResponse(
        raw, status_code=status, headers=headers, content_type=content_type.split(";")[0]
    )
    openapi().validate_response(request, response)
