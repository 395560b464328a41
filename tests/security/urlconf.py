"""Every URL pattern of the URLconf, with arguments that address the security world's objects."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.security.conftest import World


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    pattern: str
    params: tuple[str, ...]


def routes() -> list[Route]:
    """Every named URL pattern, walked from ``get_resolver()``; an unnamed one is an error."""
    found: list[Route] = []

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> Iterator[None]:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                yield from walk(entry, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                pattern = prefix + str(entry.pattern)
                if not entry.name:
                    raise AssertionError(f"URL pattern {pattern!r} has no name")
                name = f"{namespace}:{entry.name}" if namespace else entry.name
                params = tuple(entry.pattern.regex.groupindex)
                found.append(Route(name=name, pattern=pattern, params=params))
        yield None

    for _ in walk(get_resolver(), "", ""):
        pass
    return found


def url_for(route: Route, world: World, overrides: dict[str, Any] | None = None) -> str:
    """The route's address with the world's objects (maya's) in its parameters."""
    values = world_params(route.name, world)
    values.update(overrides or {})
    kwargs = {name: values[name] for name in route.params}
    return reverse(route.name, kwargs=kwargs)


def world_params(name: str, world: World) -> dict[str, Any]:
    p = world.people
    by_prefix: dict[str, dict[str, Any]] = {
        "approvals:request_": {"pk": world.request.pk, "item_id": world.item.pk},
        "approvals:grant_": {"pk": world.grant.pk},
        "approvals:admin_item_": {"pk": world.item.pk},
        "approvals:admin_grant_": {"pk": world.grant.pk},
        "approvals:admin_policy_": {"pk": world.policy.pk},
        "okta:sync_run": {"pk": world.sync_run.pk},
        "audit:": {"pk": world.event.pk, "fmt": "csv"},
        "audit:verification": {"pk": world.verification.pk},
        "identity:action_": {"pk": world.action.pk, "operation_id": world.operation.pk},
        "identity:bulk_run": {"pk": world.bulk_run.pk},
        "identity:policy_edit": {"action": "account_unlock"},
        "identity:pick": {"kind": "group"},
        "reviews:": {"pk": world.campaign.pk, "fmt": "csv"},
        "reviews:item_": {"pk": world.review_item.pk},
        "api:": {"request_id": world.request.pk},
        "api_tokens:": {"pk": world.token.pk},
    }
    values: dict[str, Any] = {
        "user_id": p.maya.id,
        "group_id": world.item.group_id,
        "app_id": world.app_item.app_id,
    }
    for prefix in sorted(by_prefix, key=len):
        if name.startswith(prefix):
            values.update(by_prefix[prefix])
    return values
