"""Bad input never gets a stack trace: arbitrary expressions and bodies get Okta's errors."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okta.sandbox import query
from okta.sandbox.seed import acme_app_id, acme_group_id, acme_user_id

MAYA = acme_user_id("maya.chen@acme.com")
OKTA_ERROR_KEYS = {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)
expression_parts = st.sampled_from(
    [
        "status",
        "profile.department",
        "eq",
        "sw",
        "pr",
        "and",
        "or",
        "not",
        "(",
        ")",
        '"x"',
        "3",
        "gt",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40) | st.lists(expression_parts, max_size=8).map(" ".join))
def test_query_parser_raises_only_query_errors(text: str) -> None:
    try:
        node = query.parse(text)
    except query.QueryError:
        return
    query.predicate(node)({"status": "ACTIVE", "profile": {"department": "x"}})


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(min_size=1, max_size=30))
def test_users_search_with_any_text_answers_200_or_e0000031(okta_sandbox: Any, text: str) -> None:
    response = okta_sandbox.api("GET", "/api/v1/users?search=" + urllib.parse.quote(text))
    assert response.status in (200, 400)
    if response.status == 400:
        assert response.body["errorCode"] == "E0000031"


WRITE_PATHS = [
    ("POST", "/api/v1/users"),
    ("POST", f"/api/v1/users/{MAYA}"),
    ("PUT", f"/api/v1/users/{MAYA}"),
    ("POST", "/api/v1/groups"),
    ("PUT", f"/api/v1/groups/{acme_group_id('Finance')}"),
    ("POST", f"/api/v1/apps/{acme_app_id('Notion')}/users"),
    ("POST", "/api/v1/eventHooks"),
]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(target=st.sampled_from(WRITE_PATHS), body=json_values)
def test_writes_with_any_json_body_answer_okta_errors(
    okta_sandbox: Any, target: tuple[str, str], body: Any
) -> None:
    method, path = target
    response = okta_sandbox.api(method, path, body)
    assert response.status < 500
    if response.status >= 400:
        assert set(response.body) == OKTA_ERROR_KEYS
    json.dumps(response.body)
