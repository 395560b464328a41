"""The Management API routes of the sandbox: users, groups, apps, roles, System Log, event hooks.

Handlers are thin: parse the query and body, call the ``Org``, answer in Okta's shape with
``Link`` pagination. Every handler is ``async`` so it runs on the event loop (no threads touch
the org).
"""

from __future__ import annotations

import json
import secrets
from bisect import bisect_left
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from okta.sandbox import query
from okta.sandbox.errors import OktaError, not_found, validation
from okta.sandbox.ids import iso, parse_iso
from okta.sandbox.store import Obj, Org, dumps, page

if TYPE_CHECKING:
    from okta.sandbox.server import Sandbox

USER_FILTER_ATTRIBUTES = {
    "status",
    "lastUpdated",
    "id",
    "profile.login",
    "profile.email",
    "profile.firstName",
    "profile.lastName",
}
GROUP_FILTER_ATTRIBUTES = {"type", "id", "lastUpdated", "lastMembershipUpdated", "profile.name"}
APP_FILTER_ATTRIBUTES = {"status", "name", "user.id", "group.id"}
FILTER_OPERATORS = {"eq", "gt", "ge", "lt", "le"}


# --- plumbing --------------------------------------------------------------------------------
def sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


def org(request: Request) -> Org:
    return sandbox(request).org


def actor(request: Request) -> Obj:
    return request.scope["okta.actor"]


def request_id(request: Request) -> str:
    return request.scope.get("okta.request_id", "")


def by(request: Request) -> dict[str, Any]:
    """Who is calling and the request id: what every write of the org records in its System Log."""
    return {"actor": actor(request), "request_id": request_id(request)}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = body if isinstance(body, bytes) else dumps(body)
    return Response(content, status_code=status, media_type="application/json", headers=headers)


def no_content() -> Response:
    return Response(status_code=204)


async def json_body(request: Request) -> Obj:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise OktaError("E0000003") from exc
    if not isinstance(body, dict):
        raise OktaError("E0000003")
    return body


def flag(request: Request, name: str, default: bool) -> bool:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise validation(f"{name}: must be true or false", f"{name}: must be true or false")


def limit_of(request: Request, default: int, maximum: int) -> int:
    raw = request.query_params.get("limit")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise validation("limit: must be a number", "limit: must be a number") from exc
    if value < 1:
        return default
    return min(value, maximum)


def links(request: Request, next_after: str | None) -> dict[str, str]:
    base = org(request).base_url + request.url.path
    query_string = request.url.query
    parts = [f'<{base}{"?" + query_string if query_string else ""}>; rel="self"']
    if next_after is not None:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "after"]
        params.append(("after", next_after))
        parts.append(f'<{base}?{urlencode(params)}>; rel="next"')
    return {"Link": ", ".join(parts)}


def parse_expression(text: str, *, allowed: set[str] | None = None) -> query.Node:
    try:
        node = query.parse(text)
        if allowed is not None:
            query.restrict(node, allowed, FILTER_OPERATORS)
    except query.QueryError as exc:
        raise OktaError("E0000031", causes=[str(exc)]) from exc
    return node


def expression_keep(
    request: Request, objects: dict[str, Obj], filter_attributes: set[str]
) -> Callable[[str], bool] | None:
    """The list's ``search`` (any attribute) or ``filter`` (``filter_attributes`` only)
    expression as a test of an id in ``objects``; None when the request has neither."""
    params = request.query_params
    if params.get("search"):
        check = query.predicate(parse_expression(params["search"]))
    elif params.get("filter"):
        check = query.predicate(parse_expression(params["filter"], allowed=filter_attributes))
    else:
        return None
    return lambda key: check(objects[key])


# --- users -----------------------------------------------------------------------------------
async def users_list(request: Request) -> Response:
    o = org(request)
    params = request.query_params
    limit = limit_of(request, 200, 200)
    keep = expression_keep(request, o.users, USER_FILTER_ATTRIBUTES)
    if keep is None:
        prefix = (params.get("q") or "").lower()

        def keep(uid: str) -> bool:
            user = o.users[uid]
            # Like Okta, ``q`` and a plain list leave out DEPROVISIONED users (search finds them).
            if user["status"] == "DEPROVISIONED":
                return False
            profile = user["profile"]
            return not prefix or any(
                str(profile.get(f) or "").lower().startswith(prefix)
                for f in ("firstName", "lastName", "email", "login")
            )

    ids, next_after = page(o.user_order, params.get("after"), limit, keep)
    return json_response(o.json_list(ids), headers=links(request, next_after))


async def users_create(request: Request) -> Response:
    body = await json_body(request)
    next_login = request.query_params.get("nextLogin")
    if next_login not in (None, "", "changePassword"):
        raise validation("nextLogin", "nextLogin: must be changePassword")
    user = org(request).user_create(
        body=body,
        activate=flag(request, "activate", True),
        next_login=next_login,
        **by(request),
    )
    return json_response(org(request).json_of(user["id"]))


def _me(request: Request) -> str | None:
    return request.scope.get("okta.user_id")


async def user_get(request: Request) -> Response:
    o = org(request)
    user = o.user(request.path_params["uid"], me=_me(request))
    return json_response(o.json_of(user["id"]))


async def user_update(request: Request) -> Response:
    body = await json_body(request)
    o = org(request)
    key = o.user(request.path_params["uid"], me=_me(request))["id"]
    user = o.user_update(
        key=key,
        body=body,
        replace=request.method == "PUT",
        **by(request),
    )
    return json_response(o.json_of(user["id"]))


async def user_delete(request: Request) -> Response:
    org(request).user_delete(key=request.path_params["uid"], **by(request))
    return no_content()


async def user_lifecycle(request: Request) -> Response:
    o = org(request)
    action = request.path_params["action"]
    result = o.user_lifecycle(
        key=request.path_params["uid"],
        action=action,
        send_email=flag(request, "sendEmail", True),
        **by(request),
    )
    if action == "expire_password" and flag(request, "tempPassword", False):
        return json_response({"tempPassword": secrets.token_urlsafe(6)})
    if result.get("id") in o.users:
        return json_response(o.json_of(result["id"]))
    return json_response(result)


async def user_sessions_clear(request: Request) -> Response:
    flag(request, "oauthTokens", False)
    org(request).sessions_clear(key=request.path_params["uid"], **by(request))
    return no_content()


async def user_groups(request: Request) -> Response:
    o = org(request)
    user = o.user(request.path_params["uid"], me=_me(request))
    ids, next_after = page(
        o.groups_of(user["id"]), request.query_params.get("after"), limit_of(request, 10000, 10000)
    )
    return json_response(o.json_list(ids), headers=links(request, next_after))


async def user_roles(request: Request) -> Response:
    o = org(request)
    user = o.user(request.path_params["uid"], me=_me(request))
    return json_response(o.roles.get(user["id"], []))


async def role_assignees(request: Request) -> Response:
    o = org(request)
    order = sorted(uid for uid, roles in o.roles.items() if roles and uid in o.users)
    ids, next_after = page(order, request.query_params.get("after"), limit_of(request, 100, 100))
    body: Obj = {
        "value": [
            {
                "id": uid,
                "orn": f"orn:okta:directory:{o.name}:users:{uid}",
                "_links": {
                    "self": {"href": o.href(f"/api/v1/users/{uid}")},
                    "roles": {"href": o.href(f"/api/v1/users/{uid}/roles")},
                },
            }
            for uid in ids
        ],
        "_links": {},
    }
    if next_after:
        body["_links"]["next"] = {
            "href": o.href(f"/api/v1/iam/assignees/users?{urlencode({'after': next_after})}")
        }
    return json_response(body, headers=links(request, next_after))


# --- groups ----------------------------------------------------------------------------------
def _group_json(o: Org, gid: str, stats: bool) -> bytes:
    if not stats:
        return o.json_of(gid)
    group = dict(o.groups[gid])
    group["_embedded"] = {
        "stats": {
            "usersCount": len(o.members.get(gid, ())),
            "appsCount": len(o.group_apps.get(gid, ())),
            "groupPushMappingsCount": 0,
            "hasAdminPrivilege": False,
        }
    }
    return dumps(group)


async def groups_list(request: Request) -> Response:
    o = org(request)
    params = request.query_params
    keep = expression_keep(request, o.groups, GROUP_FILTER_ATTRIBUTES)
    if keep is None and params.get("q"):
        prefix = params["q"].lower()
        keep = lambda gid: o.groups[gid]["profile"]["name"].lower().startswith(prefix)  # noqa: E731
    ids, next_after = page(
        o.group_order, params.get("after"), limit_of(request, 10000, 10000), keep
    )
    stats = "stats" in (params.get("expand") or "")
    body = b"[" + b",".join(_group_json(o, gid, stats) for gid in ids) + b"]"
    return json_response(body, headers=links(request, next_after))


async def groups_create(request: Request) -> Response:
    body = await json_body(request)
    group = org(request).group_create(body=body, **by(request))
    return json_response(org(request).json_of(group["id"]))


async def group_get(request: Request) -> Response:
    o = org(request)
    group = o.group(request.path_params["gid"])
    stats = "stats" in (request.query_params.get("expand") or "")
    return json_response(_group_json(o, group["id"], stats))


async def group_update(request: Request) -> Response:
    body = await json_body(request)
    group = org(request).group_update(
        gid=request.path_params["gid"],
        body=body,
        **by(request),
    )
    return json_response(org(request).json_of(group["id"]))


async def group_delete(request: Request) -> Response:
    org(request).group_delete(gid=request.path_params["gid"], **by(request))
    return no_content()


async def group_members(request: Request) -> Response:
    o = org(request)
    group = o.group(request.path_params["gid"])
    ids, next_after = page(
        o.members[group["id"]], request.query_params.get("after"), limit_of(request, 1000, 1000)
    )
    return json_response(o.json_list(ids), headers=links(request, next_after))


async def group_apps(request: Request) -> Response:
    o = org(request)
    group = o.group(request.path_params["gid"])
    order = sorted(o.apps_of_group(group["id"]))
    ids, next_after = page(order, request.query_params.get("after"), limit_of(request, 20, 200))
    return json_response(o.json_list(ids), headers=links(request, next_after))


async def group_member_put(request: Request) -> Response:
    org(request).membership_add(
        gid=request.path_params["gid"],
        uid=request.path_params["uid"],
        **by(request),
    )
    return no_content()


async def group_member_delete(request: Request) -> Response:
    org(request).membership_remove(
        gid=request.path_params["gid"],
        uid=request.path_params["uid"],
        **by(request),
    )
    return no_content()


# --- apps ------------------------------------------------------------------------------------
def _app_filter(o: Org, text: str) -> Callable[[str], bool]:
    node = parse_expression(text, allowed=APP_FILTER_ATTRIBUTES)
    sets: dict[tuple[str, str], set[str]] = {}
    for cmp in query.comparisons(node):
        if cmp.attr in ("user.id", "group.id"):
            if cmp.op != "eq" or not isinstance(cmp.value, str):
                raise OktaError("E0000031", causes=[f"{cmp.attr} supports only eq"])
            if cmp.attr == "user.id":
                uid = o.logins.get(cmp.value.lower(), cmp.value)
                sets[(cmp.attr, cmp.value)] = o.apps_of(uid) if uid in o.users else set()
            else:
                sets[(cmp.attr, cmp.value)] = o.apps_of_group(cmp.value)

    def resolve(app: Obj, path: str) -> Any:
        if path in ("user.id", "group.id"):
            return [
                value for (attr, value), ids in sets.items() if attr == path and app["id"] in ids
            ]
        return query.resolve(app, path)

    check = query.predicate(node, resolve)
    return lambda app_id: check(o.apps[app_id])


async def apps_list(request: Request) -> Response:
    o = org(request)
    params = request.query_params
    keep: Callable[[str], bool] | None = None
    if params.get("filter"):
        keep = _app_filter(o, params["filter"])
    if params.get("q"):
        prefix = params["q"].lower()
        by_filter = keep

        def keep(app_id: str) -> bool:
            app = o.apps[app_id]
            matched = app["label"].lower().startswith(prefix) or app["name"].lower().startswith(
                prefix
            )
            return matched and (by_filter is None or by_filter(app_id))

    ids, next_after = page(o.app_order, params.get("after"), limit_of(request, 20, 200), keep)
    return json_response(o.json_list(ids), headers=links(request, next_after))


async def app_get(request: Request) -> Response:
    o = org(request)
    return json_response(o.json_of(o.app(request.path_params["aid"])["id"]))


async def app_users(request: Request) -> Response:
    o = org(request)
    app = o.app(request.path_params["aid"])
    keep: Callable[[str], bool] | None = None
    if request.query_params.get("q"):
        prefix = request.query_params["q"].lower()

        def keep(uid: str) -> bool:
            profile = o.users[uid]["profile"]
            return any(
                str(profile.get(f) or "").lower().startswith(prefix)
                for f in ("login", "email", "firstName", "lastName")
            )

    ids, next_after = page(
        o.app_user_ids(app["id"]),
        request.query_params.get("after"),
        limit_of(request, 50, 500),
        keep,
    )
    body = [o.app_user(app["id"], uid) for uid in ids]
    return json_response(body, headers=links(request, next_after))


async def app_user_get(request: Request) -> Response:
    o = org(request)
    app = o.app(request.path_params["aid"])
    user = o.user(request.path_params["uid"])
    return json_response(o.app_user(app["id"], user["id"]))


async def app_assign(request: Request) -> Response:
    body = await json_body(request)
    result = org(request).app_assign(
        app_id=request.path_params["aid"],
        body=body,
        **by(request),
    )
    return json_response(result)


async def app_unassign(request: Request) -> Response:
    flag(request, "sendEmail", False)
    org(request).app_unassign(
        app_id=request.path_params["aid"],
        uid=request.path_params["uid"],
        **by(request),
    )
    return no_content()


async def app_groups(request: Request) -> Response:
    o = org(request)
    app = o.app(request.path_params["aid"])
    order = sorted(o.app_groups[app["id"]])
    ids, next_after = page(order, request.query_params.get("after"), limit_of(request, 20, 200))
    body = [o.app_group_assignment(app["id"], gid) for gid in ids]
    return json_response(body, headers=links(request, next_after))


# --- System Log ------------------------------------------------------------------------------
def _time_param(request: Request, name: str) -> str | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return iso(parse_iso(raw))
    except ValueError as exc:
        raise validation(
            f"{name}: must be an ISO 8601 timestamp", f"{name}: must be an ISO 8601 timestamp"
        ) from exc


def _log_text(event: Obj) -> str:
    parts = [event["eventType"], event["displayMessage"], event["outcome"]["result"]]
    for who in [event["actor"], *event["target"]]:
        parts.extend(str(who.get(k) or "") for k in ("id", "alternateId", "displayName"))
    return " ".join(parts).lower()


async def logs_list(request: Request) -> Response:
    o = org(request)
    params = request.query_params
    since = _time_param(request, "since")
    until = _time_param(request, "until")
    order = (params.get("sortOrder") or "ASCENDING").upper()
    if order not in ("ASCENDING", "DESCENDING"):
        raise validation("sortOrder", "sortOrder: must be ASCENDING or DESCENDING")
    limit = limit_of(request, 100, 1000)
    checks: list[Callable[[Obj], bool]] = []
    if params.get("filter"):
        checks.append(query.predicate(parse_expression(params["filter"])))
    if params.get("q"):
        words = params["q"].lower().split()
        checks.append(lambda e: all(w in _log_text(e) for w in words))
    if since is None:
        since = iso(datetime.now(UTC) - timedelta(days=7))
    after_raw = params.get("after")
    after: int | None = None
    if after_raw:
        try:
            after = int(after_raw)
        except ValueError as exc:
            raise validation("after: not a valid cursor", "after: not a valid cursor") from exc
    times = o.event_times
    low = bisect_left(times, since)
    high = bisect_left(times, until) if until else len(times)
    found: list[Obj] = []
    last_seen: int | None = None
    if order == "ASCENDING":
        index = max(low, after + 1) if after is not None else low
        while index < high and len(found) < limit:
            event = o.events[index]
            last_seen = index
            index += 1
            if all(check(event) for check in checks):
                found.append(event)
        full = len(found) == limit
        polling = until is None
        if last_seen is None:
            last_seen = after if after is not None else low - 1
        next_after = str(last_seen) if (polling or (full and index < high)) else None
    else:
        index = min(high - 1, after - 1) if after is not None else high - 1
        while index >= low and len(found) < limit:
            event = o.events[index]
            last_seen = index
            index -= 1
            if all(check(event) for check in checks):
                found.append(event)
        next_after = str(last_seen) if len(found) == limit and index >= low else None
    return json_response(found, headers=links(request, next_after))


# --- event hooks -----------------------------------------------------------------------------
async def hooks_list(request: Request) -> Response:
    o = org(request)
    return json_response([o.hook_public(o.hooks[h]) for h in o.hook_order])


async def hooks_create(request: Request) -> Response:
    body = await json_body(request)
    o = org(request)
    hook = o.hook_create(body=body, **by(request))
    return json_response(o.hook_public(hook))


async def hook_get(request: Request) -> Response:
    o = org(request)
    return json_response(o.hook_public(o.hook(request.path_params["hid"])))


async def hook_update(request: Request) -> Response:
    body = await json_body(request)
    o = org(request)
    hook = o.hook_update(
        hook_id=request.path_params["hid"],
        body=body,
        **by(request),
    )
    return json_response(o.hook_public(hook))


async def hook_delete(request: Request) -> Response:
    org(request).hook_delete(hook_id=request.path_params["hid"], **by(request))
    return no_content()


async def hook_lifecycle(request: Request) -> Response:
    o = org(request)
    hook_id = request.path_params["hid"]
    action = request.path_params["action"]
    if action in ("activate", "deactivate"):
        hook = o.hook_set_status(
            hook_id=hook_id,
            status="ACTIVE" if action == "activate" else "INACTIVE",
            **by(request),
        )
        return json_response(o.hook_public(hook))
    if action == "verify":
        hook = await sandbox(request).hook_verify(hook_id, actor(request), request_id(request))
        return json_response(o.hook_public(hook))
    raise not_found(f"lifecycle/{action} (Path)")


ROUTES = [
    Route("/api/v1/users", users_list, methods=["GET"]),
    Route("/api/v1/users", users_create, methods=["POST"]),
    Route("/api/v1/users/{uid}", user_get, methods=["GET"]),
    Route("/api/v1/users/{uid}", user_update, methods=["POST", "PUT"]),
    Route("/api/v1/users/{uid}", user_delete, methods=["DELETE"]),
    Route("/api/v1/users/{uid}/lifecycle/{action}", user_lifecycle, methods=["POST"]),
    Route("/api/v1/users/{uid}/sessions", user_sessions_clear, methods=["DELETE"]),
    Route("/api/v1/users/{uid}/groups", user_groups, methods=["GET"]),
    Route("/api/v1/users/{uid}/roles", user_roles, methods=["GET"]),
    Route("/api/v1/iam/assignees/users", role_assignees, methods=["GET"]),
    Route("/api/v1/groups", groups_list, methods=["GET"]),
    Route("/api/v1/groups", groups_create, methods=["POST"]),
    Route("/api/v1/groups/{gid}", group_get, methods=["GET"]),
    Route("/api/v1/groups/{gid}", group_update, methods=["PUT"]),
    Route("/api/v1/groups/{gid}", group_delete, methods=["DELETE"]),
    Route("/api/v1/groups/{gid}/users", group_members, methods=["GET"]),
    Route("/api/v1/groups/{gid}/apps", group_apps, methods=["GET"]),
    Route("/api/v1/groups/{gid}/users/{uid}", group_member_put, methods=["PUT"]),
    Route("/api/v1/groups/{gid}/users/{uid}", group_member_delete, methods=["DELETE"]),
    Route("/api/v1/apps", apps_list, methods=["GET"]),
    Route("/api/v1/apps/{aid}", app_get, methods=["GET"]),
    Route("/api/v1/apps/{aid}/users", app_users, methods=["GET"]),
    Route("/api/v1/apps/{aid}/users", app_assign, methods=["POST"]),
    Route("/api/v1/apps/{aid}/users/{uid}", app_user_get, methods=["GET"]),
    Route("/api/v1/apps/{aid}/users/{uid}", app_unassign, methods=["DELETE"]),
    Route("/api/v1/apps/{aid}/groups", app_groups, methods=["GET"]),
    Route("/api/v1/logs", logs_list, methods=["GET"]),
    Route("/api/v1/eventHooks", hooks_list, methods=["GET"]),
    Route("/api/v1/eventHooks", hooks_create, methods=["POST"]),
    Route("/api/v1/eventHooks/{hid}", hook_get, methods=["GET"]),
    Route("/api/v1/eventHooks/{hid}", hook_update, methods=["PUT"]),
    Route("/api/v1/eventHooks/{hid}", hook_delete, methods=["DELETE"]),
    Route("/api/v1/eventHooks/{hid}/lifecycle/{action}", hook_lifecycle, methods=["POST"]),
]
