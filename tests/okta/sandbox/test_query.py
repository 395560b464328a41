"""The search/filter expression parser and evaluator."""

from __future__ import annotations

import pytest

from okta.sandbox import query

USER = {
    "id": "00uABC",
    "status": "ACTIVE",
    "lastUpdated": "2026-03-01T10:00:00.000Z",
    "profile": {"department": "Finance", "login": "john.doe@acme.com", "level": 3},
    "target": [{"id": "a"}, {"id": "b"}],
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('status eq "ACTIVE"', True),
        ('status eq "active"', True),
        ('status ne "ACTIVE"', False),
        ('profile.login sw "john"', True),
        ('profile.login co "doe@"', True),
        ('profile.login ew "acme.com"', True),
        ("profile.department pr", True),
        ("profile.missing pr", False),
        ('lastUpdated gt "2026-02-28T00:00:00Z"', True),
        ('lastUpdated lt "2026-03-01T10:00:00+00:00"', False),
        ('lastUpdated ge "2026-03-01T10:00:00Z"', True),
        ("profile.level ge 3", True),
        ("profile.level lt 3", False),
        ('status eq "X" or status eq "ACTIVE" and profile.department eq "Finance"', True),
        ('(status eq "X" or status eq "ACTIVE") and profile.department eq "Sales"', False),
        ('not (status eq "X")', True),
        ('target.id eq "b"', True),
        ('profile.login eq "say \\"hi\\""', False),
        ("profile.level eq null", False),
    ],
)
def test_query_evaluates_expressions(text: str, expected: bool) -> None:
    assert query.predicate(query.parse(text))(USER) is expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "status",
        "status eq",
        'status zz "A"',
        '(status eq "A"',
        'status eq "A")',
        'status eq "A" and',
        'lastUpdated gt "not a date"',
        '"A" eq status',
        'status eq "unterminated',
        "status eq #",
    ],
)
def test_query_rejects_malformed_expressions(text: str) -> None:
    with pytest.raises(query.QueryError):
        query.parse(text)


def test_query_restrict_refuses_attributes_outside_the_filter() -> None:
    node = query.parse('profile.department eq "Finance"')
    with pytest.raises(query.QueryError):
        query.restrict(node, {"status"}, {"eq"})
    query.restrict(query.parse('status eq "ACTIVE"'), {"status"}, {"eq"})
