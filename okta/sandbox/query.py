"""Okta's search / filter expressions: a small SCIM-style parser and evaluator.

    expr    := term ("or" term)*
    term    := factor ("and" factor)*
    factor  := "not"? ( "(" expr ")" | attr "pr" | attr op value )
    op      := eq | ne | sw | co | ew | gt | ge | lt | le
    value   := "string" | number | true | false | null

String comparisons ignore case, as Okta's search does. Timestamps in the values are normalised to
Okta's format, so ``gt "2026-01-01T00:00:00Z"`` compares correctly with stored values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from okta.sandbox.ids import iso, parse_iso

OPERATORS = {"eq", "ne", "sw", "co", "ew", "gt", "ge", "lt", "le", "pr"}
DATE_ATTRIBUTES = {
    "created",
    "lastUpdated",
    "lastMembershipUpdated",
    "statusChanged",
    "activated",
    "lastLogin",
    "passwordChanged",
    "published",
}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lparen>\()|(?P<rparen>\))
      | "(?P<string>(?:[^"\\]|\\.)*)"
      | (?P<number>-?\d+(?:\.\d+)?)(?![\w.])
      | (?P<word>[A-Za-z_$][\w.$:-]*)
    )""",
    re.VERBOSE,
)


class QueryError(ValueError):
    pass


@dataclass(frozen=True)
class Compare:
    attr: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class Logical:
    op: str  # "and" | "or"
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    inner: Node


Node = Compare | Logical | Not


def _tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise QueryError(f"unexpected character at {pos}")
        pos = match.end()
        kind = match.lastgroup
        assert kind is not None
        raw = match.group(kind)
        if kind == "string":
            tokens.append(("value", re.sub(r"\\(.)", r"\1", raw)))
        elif kind == "number":
            tokens.append(("value", float(raw) if "." in raw else int(raw)))
        elif kind == "word":
            lowered = raw.lower()
            if lowered in ("true", "false"):
                tokens.append(("value", lowered == "true"))
            elif lowered == "null":
                tokens.append(("value", None))
            else:
                tokens.append(("word", raw))
        else:
            tokens.append((kind, raw))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek_word(self) -> str | None:
        if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "word":
            return str(self.tokens[self.pos][1]).lower()
        return None

    def take(self) -> tuple[str, Any]:
        if self.pos >= len(self.tokens):
            raise QueryError("unexpected end of expression")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expr(self) -> Node:
        node = self.term()
        while self.peek_word() == "or":
            self.pos += 1
            node = Logical("or", node, self.term())
        return node

    def term(self) -> Node:
        node = self.factor()
        while self.peek_word() == "and":
            self.pos += 1
            node = Logical("and", node, self.factor())
        return node

    def factor(self) -> Node:
        if self.peek_word() == "not":
            self.pos += 1
            return Not(self.factor())
        kind, raw = self.take()
        if kind == "lparen":
            node = self.expr()
            if self.take()[0] != "rparen":
                raise QueryError("expected )")
            return node
        if kind != "word" or raw.lower() in OPERATORS | {"and", "or"}:
            raise QueryError(f"expected an attribute, got {raw!r}")
        op_kind, op = self.take()
        if op_kind != "word" or op.lower() not in OPERATORS:
            raise QueryError(f"expected an operator after {raw}")
        op = op.lower()
        if op == "pr":
            return Compare(raw, "pr")
        value_kind, value = self.take()
        if value_kind != "value":
            raise QueryError(f"expected a value after {raw} {op}")
        leaf = raw.rsplit(".", 1)[-1]
        if leaf in DATE_ATTRIBUTES and isinstance(value, str):
            try:
                value = iso(parse_iso(value))
            except ValueError as exc:
                raise QueryError(f"bad timestamp {value!r}") from exc
        return Compare(raw, op, value)


def parse(text: str) -> Node:
    tokens = _tokenize(text)
    if not tokens:
        raise QueryError("empty expression")
    parser = _Parser(tokens)
    node = parser.expr()
    if parser.pos != len(tokens):
        raise QueryError("unexpected trailing input")
    return node


def comparisons(node: Node) -> Iterable[Compare]:
    if isinstance(node, Compare):
        yield node
    elif isinstance(node, Logical):
        yield from comparisons(node.left)
        yield from comparisons(node.right)
    else:
        yield from comparisons(node.inner)


def restrict(node: Node, attributes: set[str], operators: set[str]) -> None:
    """Refuse attributes or operators a ``filter`` (narrower than ``search``) does not allow."""
    for cmp in comparisons(node):
        if cmp.attr not in attributes or cmp.op not in operators:
            raise QueryError(f"{cmp.attr} {cmp.op} is not supported in this filter")


def resolve(obj: Any, path: str) -> Any:
    """The value at a dotted path; lists along the way give lists (any-match)."""
    value = obj
    for part in path.split("."):
        if isinstance(value, list):
            value = [v.get(part) if isinstance(v, dict) else None for v in value]
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if isinstance(actual, list):
        return any(_compare(a, op, expected) for a in actual)
    if op == "pr":
        return actual is not None and actual != ""
    if op == "eq":
        return _norm(actual) == _norm(expected)
    if op == "ne":
        return _norm(actual) != _norm(expected)
    if actual is None:
        return False
    if op in ("sw", "co", "ew"):
        if not isinstance(actual, str) or not isinstance(expected, str):
            return False
        a, e = actual.lower(), expected.lower()
        return a.startswith(e) if op == "sw" else a.endswith(e) if op == "ew" else e in a
    a, e = _norm(actual), _norm(expected)
    if type(a) is not type(e) and not (isinstance(a, int | float) and isinstance(e, int | float)):
        return False
    if op == "gt":
        return bool(a > e)
    if op == "ge":
        return bool(a >= e)
    if op == "lt":
        return bool(a < e)
    return bool(a <= e)


Resolver = Callable[[Any, str], Any]


def predicate(node: Node, resolver: Resolver = resolve) -> Callable[[Any], bool]:
    def check(obj: Any, n: Node = node) -> bool:
        if isinstance(n, Compare):
            return _compare(resolver(obj, n.attr), n.op, n.value)
        if isinstance(n, Not):
            return not check(obj, n.inner)
        if n.op == "and":
            return check(obj, n.left) and check(obj, n.right)
        return check(obj, n.left) or check(obj, n.right)

    return check
