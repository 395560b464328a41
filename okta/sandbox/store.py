"""The sandbox org's in-memory state and every rule about changing it.

One ``Org`` holds users, groups, apps, memberships, assignments, admin roles, the System Log and
event hooks. All methods are synchronous and fast; the server calls them from its single event
loop, so no locking is needed. Collections keep a sorted list of ids so the opaque ``after``
cursor (the last id returned) resumes exactly, even when that object was deleted since.
Objects are stored in Okta's JSON shape and their serialised bytes are cached until they change,
so a page of 200 users or 1000 members costs a join, not a serialisation.
"""

from __future__ import annotations

import json
import secrets
import uuid
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from okta.sandbox.errors import OktaError, not_found, validation
from okta.sandbox.ids import now_iso, okta_id

Obj = dict[str, Any]
Actor = dict[str, Any]

READ_ONLY_GROUP_TYPES = ("APP_GROUP", "BUILT_IN")
USER_REQUIRED_PROFILE = ("login", "email", "firstName", "lastName")

DISPLAY_MESSAGES = {
    "user.lifecycle.create": "Create Okta user",
    "user.lifecycle.activate": "Activate Okta user",
    "user.lifecycle.reactivate": "Reactivate Okta user",
    "user.lifecycle.deactivate": "Deactivate Okta user",
    "user.lifecycle.suspend": "Suspend Okta user",
    "user.lifecycle.unsuspend": "Unsuspend Okta user",
    "user.lifecycle.delete.initiated": "Delete Okta user initiated",
    "user.lifecycle.delete.completed": "Delete Okta user completed",
    "user.account.unlock_by_admin": "Unlock user account by admin",
    "user.account.lock": "Max sign in attempts exceeded",
    "user.account.reset_password": "Reset password for Okta user",
    "user.account.expire_password": "Expire password for Okta user",
    "user.account.update_profile": "Update user profile for Okta",
    "user.mfa.factor.reset_all": "Reset all factors for user",
    "user.session.clear": "Clear user session",
    "user.session.start": "User login to Okta",
    "user.authentication.sso": "User single sign on to app",
    "user.account.privilege.grant": "Grant user privilege",
    "group.lifecycle.create": "Create Okta group",
    "group.lifecycle.delete": "Delete Okta group",
    "group.profile.update": "Update Okta group profile",
    "group.user_membership.add": "Add user to group membership",
    "group.user_membership.remove": "Remove user from group membership",
    "application.user_membership.add": "Add user to application membership",
    "application.user_membership.remove": "Remove user from application membership",
    "event_hook.created": "Event hook created",
    "event_hook.updated": "Event hook updated",
    "event_hook.deleted": "Event hook deleted",
    "event_hook.activated": "Event hook activated",
    "event_hook.deactivated": "Event hook deactivated",
    "event_hook.verified": "Event hook verified",
}

# Event types an event hook may subscribe to (the catalog's "event-hook-eligible" ones we emit).
HOOK_ELIGIBLE = {
    "user.lifecycle.create",
    "user.lifecycle.activate",
    "user.lifecycle.reactivate",
    "user.lifecycle.deactivate",
    "user.lifecycle.suspend",
    "user.lifecycle.unsuspend",
    "user.lifecycle.delete.initiated",
    "user.account.unlock_by_admin",
    "user.account.lock",
    "user.account.reset_password",
    "user.account.update_profile",
    "user.account.privilege.grant",
    "user.mfa.factor.reset_all",
    "user.session.clear",
    "user.session.start",
    "user.authentication.sso",
    "group.lifecycle.create",
    "group.lifecycle.delete",
    "group.profile.update",
    "group.user_membership.add",
    "group.user_membership.remove",
    "application.user_membership.add",
    "application.user_membership.remove",
}


@dataclass(frozen=True, slots=True)
class LifecycleMove:
    """A lifecycle action that only changes the status (and logs one event).

    ``sources`` are the statuses it may start from (empty: any but ``to``). Okta refuses the
    others with E0000001 and ``refusal`` as the summary when one is given, else E0000038.
    """

    to: str
    event_type: str
    sources: frozenset[str] = frozenset()
    refusal: str = ""

    def allowed_from(self, status: str) -> bool:
        return status in self.sources if self.sources else status != self.to


LIFECYCLE_MOVES = {
    "deactivate": LifecycleMove("DEPROVISIONED", "user.lifecycle.deactivate"),
    "suspend": LifecycleMove(
        "SUSPENDED",
        "user.lifecycle.suspend",
        frozenset({"ACTIVE"}),
        "Cannot suspend a user that is not active",
    ),
    "unsuspend": LifecycleMove(
        "ACTIVE",
        "user.lifecycle.unsuspend",
        frozenset({"SUSPENDED"}),
        "Cannot unsuspend a user that is not suspended",
    ),
    "unlock": LifecycleMove("ACTIVE", "user.account.unlock_by_admin", frozenset({"LOCKED_OUT"})),
}


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def page(
    order: list[str], after: str | None, limit: int, keep: Callable[[str], bool] | None = None
) -> tuple[list[str], str | None]:
    """One page of ``order`` after the cursor, and the next cursor (None on the last page)."""
    start = bisect_right(order, after) if after else 0
    if keep is None:
        ids = order[start : start + limit]
        more = start + limit < len(order)
        return ids, (ids[-1] if more and ids else None)
    ids = []
    index, total = start, len(order)
    while index < total and len(ids) < limit:
        candidate = order[index]
        index += 1
        if keep(candidate):
            ids.append(candidate)
    return ids, (ids[-1] if len(ids) == limit and index < total else None)


def _insert(order: list[str], item: str) -> None:
    index = bisect_left(order, item)
    if index == len(order) or order[index] != item:
        order.insert(index, item)


def _remove(order: list[str], item: str) -> bool:
    index = bisect_left(order, item)
    if index < len(order) and order[index] == item:
        del order[index]
        return True
    return False


def _contains(order: list[str], item: str) -> bool:
    index = bisect_left(order, item)
    return index < len(order) and order[index] == item


class Org:
    def __init__(self, name: str, base_url: str) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.users: dict[str, Obj] = {}
        self.user_order: list[str] = []
        self.logins: dict[str, str] = {}
        self.passwords: set[str] = set()
        self.groups: dict[str, Obj] = {}
        self.group_order: list[str] = []
        self.members: dict[str, list[str]] = {}
        self.user_groups: dict[str, set[str]] = {}
        self.apps: dict[str, Obj] = {}
        self.app_order: list[str] = []
        self.app_users: dict[str, dict[str, Obj]] = {}
        self.app_groups: dict[str, dict[str, Obj]] = {}
        self.user_apps: dict[str, set[str]] = {}
        self.group_apps: dict[str, set[str]] = {}
        self.roles: dict[str, list[Obj]] = {}
        self.events: list[Obj] = []
        self.event_times: list[str] = []
        self.hooks: dict[str, Obj] = {}
        self.hook_order: list[str] = []
        self.everyone_id = ""
        self.admin_id = ""
        self.listeners: list[Callable[[Obj], None]] = []
        self._json: dict[str, bytes] = {}
        self._created = 0

    def _new_id(self, prefix: str, key: str) -> str:
        """Ids of objects created at run time: deterministic for the same calls after a reset."""
        self._created += 1
        return okta_id(prefix, f"{self.name}/created/{self._created}/{key}")

    # --- serialisation ----------------------------------------------------------------------
    def json_of(self, obj_id: str) -> bytes:
        cached = self._json.get(obj_id)
        if cached is None:
            obj = self.users.get(obj_id) or self.groups.get(obj_id) or self.apps[obj_id]
            cached = self._json[obj_id] = dumps(obj)
        return cached

    def json_list(self, ids: Iterable[str]) -> bytes:
        return b"[" + b",".join(self.json_of(i) for i in ids) + b"]"

    def _dirty(self, obj_id: str) -> None:
        self._json.pop(obj_id, None)

    def href(self, path: str) -> str:
        return f"{self.base_url}{path}"

    # --- building (used by seeds; no events) ------------------------------------------------
    def add_user(self, user: Obj, *, password: bool | None = None) -> Obj:
        uid = user["id"]
        user.setdefault("_links", {"self": {"href": self.href(f"/api/v1/users/{uid}")}})
        self.users[uid] = user
        self.logins[user["profile"]["login"].lower()] = uid
        self.user_groups.setdefault(uid, set())
        if password is None:
            password = "password" in user.get("credentials", {})
        if password:
            self.passwords.add(uid)
        return user

    def add_group(self, group: Obj) -> Obj:
        gid = group["id"]
        group.setdefault(
            "_links",
            {
                "logo": [
                    {
                        "name": "medium",
                        "href": self.href("/img/logos/groups/okta-medium.png"),
                        "type": "image/png",
                    }
                ],
                "users": {"href": self.href(f"/api/v1/groups/{gid}/users")},
                "apps": {"href": self.href(f"/api/v1/groups/{gid}/apps")},
            },
        )
        self.groups[gid] = group
        self.members.setdefault(gid, [])
        if group["type"] == "BUILT_IN" and group["profile"]["name"] == "Everyone":
            self.everyone_id = gid
        return group

    def add_app(self, app: Obj) -> Obj:
        self.apps[app["id"]] = app
        self.app_users.setdefault(app["id"], {})
        self.app_groups.setdefault(app["id"], {})
        return app

    def finish_build(self) -> None:
        """Sort the orders after bulk building."""
        self.user_order = sorted(self.users)
        self.group_order = sorted(self.groups)
        self.app_order = sorted(self.apps)
        for members in self.members.values():
            members.sort()

    # --- lookups ----------------------------------------------------------------------------
    def user(self, key: str, *, me: str | None = None) -> Obj:
        if key == "me" and me:
            key = me
        user = self.users.get(key)
        if user is None:
            uid = self.logins.get(key.lower())
            user = self.users.get(uid) if uid else None
        if user is None:
            raise not_found(f"{key} (User)")
        return user

    def group(self, gid: str) -> Obj:
        group = self.groups.get(gid)
        if group is None:
            raise not_found(f"{gid} (UserGroup)")
        return group

    def app(self, app_id: str) -> Obj:
        app = self.apps.get(app_id)
        if app is None:
            raise not_found(f"{app_id} (AppInstance)")
        return app

    def is_member(self, gid: str, uid: str) -> bool:
        return _contains(self.members.get(gid, []), uid)

    def groups_of(self, uid: str) -> list[str]:
        return sorted(self.user_groups.get(uid, ()))

    def apps_of(self, uid: str) -> set[str]:
        found = set(self.user_apps.get(uid, ()))
        for gid in self.user_groups.get(uid, ()):
            found |= self.group_apps.get(gid, set())
        return found

    def apps_of_group(self, gid: str) -> set[str]:
        return set(self.group_apps.get(gid, ()))

    # --- System Log -------------------------------------------------------------------------
    def target(self, kind: str, obj_id: str) -> Obj:
        if kind == "User":
            user = self.users.get(obj_id)
            profile = user["profile"] if user else {}
            name = f"{profile.get('firstName', '')} {profile.get('lastName', '')}".strip()
            return {
                "id": obj_id,
                "type": "User",
                "alternateId": profile.get("login", "unknown"),
                "displayName": name or obj_id,
            }
        if kind == "UserGroup":
            group = self.groups.get(obj_id)
            name = group["profile"]["name"] if group else obj_id
            return {
                "id": obj_id,
                "type": "UserGroup",
                "alternateId": "unknown",
                "displayName": name,
            }
        if kind == "AppInstance":
            app = self.apps.get(obj_id)
            return {
                "id": obj_id,
                "type": "AppInstance",
                "alternateId": app["label"] if app else obj_id,
                "displayName": app["label"] if app else obj_id,
            }
        return {"id": obj_id, "type": kind, "alternateId": obj_id, "displayName": obj_id}

    def actor_for_user(self, uid: str) -> Actor:
        target = self.target("User", uid)
        return target

    def log(
        self,
        event_type: str,
        actor: Actor,
        targets: list[Obj],
        *,
        published: str | None = None,
        outcome: str = "SUCCESS",
        request_id: str | None = None,
        notify: bool = True,
    ) -> Obj:
        published = published or now_iso()
        transaction_id = request_id or secrets.token_hex(12)
        event: Obj = {
            "uuid": str(uuid.uuid4())
            if notify
            else str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.name}/{len(self.events)}")),
            "published": published,
            "eventType": event_type,
            "version": "0",
            "severity": "INFO",
            "displayMessage": DISPLAY_MESSAGES.get(event_type, event_type),
            "actor": actor,
            "client": {
                "userAgent": {
                    "rawUserAgent": "Gatehouse sandbox",
                    "os": "Unknown",
                    "browser": "UNKNOWN",
                },
                "zone": "null",
                "device": "Unknown",
                "ipAddress": "127.0.0.1",
            },
            "outcome": {"result": outcome},
            "target": [dict(t) for t in targets],
            "transaction": {"type": "WEB", "id": transaction_id, "detail": {}},
            "debugContext": {"debugData": {"requestId": transaction_id}},
            "authenticationContext": {
                "authenticationStep": 0,
                "externalSessionId": "unknown",
            },
            "securityContext": {},
            "request": {"ipChain": []},
        }
        if self.event_times and published < self.event_times[-1]:
            index = bisect_right(self.event_times, published)
            self.events.insert(index, event)
            self.event_times.insert(index, published)
        else:
            self.events.append(event)
            self.event_times.append(published)
        if notify:
            for listener in self.listeners:
                listener(event)
        return event

    # --- users ------------------------------------------------------------------------------
    def _touch(self, user: Obj, *, status: str | None = None) -> None:
        moment = now_iso()
        user["lastUpdated"] = moment
        if status is not None and status != user["status"]:
            user["status"] = status
            user["statusChanged"] = moment
            if status == "ACTIVE" and not user.get("activated"):
                user["activated"] = moment
        self._dirty(user["id"])

    def user_create(
        self,
        *,
        actor: Actor,
        body: Obj,
        activate: bool = True,
        next_login: str | None = None,
        request_id: str | None = None,
    ) -> Obj:
        profile = body.get("profile")
        if not isinstance(profile, dict):
            raise validation("profile", "profile: The field cannot be left blank")
        missing = [f for f in USER_REQUIRED_PROFILE if not str(profile.get(f) or "").strip()]
        if missing:
            raise validation(
                ", ".join(missing),
                *[f"{field}: The field cannot be left blank" for field in missing],
            )
        login = str(profile["login"]).strip()
        if "@" not in login:
            raise validation("login", "login: Username must be in the form of an email address")
        if login.lower() in self.logins:
            raise validation(
                "login: An object with this field already exists in the current organization",
                "login: An object with this field already exists in the current organization",
            )
        group_ids = body.get("groupIds") or []
        if not isinstance(group_ids, list):
            raise validation("groupIds", "groupIds: must be a list")
        for gid in group_ids:
            group = self.group(str(gid))
            if group["type"] != "OKTA_GROUP":
                raise OktaError("E0000006")
        credentials = body.get("credentials") or {}
        has_password = bool((credentials.get("password") or {}).get("value"))
        moment = now_iso()
        uid = self._new_id("00u", login.lower())
        status = "STAGED"
        if activate:
            status = "ACTIVE" if has_password else "PROVISIONED"
            if has_password and next_login == "changePassword":
                status = "PASSWORD_EXPIRED"
        user = {
            "id": uid,
            "status": status,
            "created": moment,
            "activated": moment if activate else None,
            "statusChanged": moment if activate else None,
            "lastLogin": None,
            "lastUpdated": moment,
            "passwordChanged": moment if has_password else None,
            "type": {"id": okta_id("oty", f"{self.name}/default")},
            "profile": {k: v for k, v in profile.items()},
            "credentials": _credentials(has_password),
        }
        self.add_user(user, password=has_password)
        _insert(self.user_order, uid)
        target = [self.target("User", uid)]
        self.log("user.lifecycle.create", actor, target, request_id=request_id)
        if activate:
            self.log("user.lifecycle.activate", actor, target, request_id=request_id)
        if self.everyone_id:
            self._member_add(self.everyone_id, uid, actor, request_id, event=False)
        for gid in group_ids:
            self._member_add(str(gid), uid, actor, request_id)
        return user

    def user_update(
        self, *, actor: Actor, key: str, body: Obj, replace: bool, request_id: str | None = None
    ) -> Obj:
        user = self.user(key)
        profile = body.get("profile")
        if profile is None and not replace:
            profile = {}
        if not isinstance(profile, dict):
            raise validation("profile", "profile: The field cannot be left blank")
        new_profile = dict(profile) if replace else {**user["profile"], **profile}
        missing = [f for f in USER_REQUIRED_PROFILE if not str(new_profile.get(f) or "").strip()]
        if missing:
            raise validation(
                ", ".join(missing),
                *[f"{field}: The field cannot be left blank" for field in missing],
            )
        new_login = str(new_profile["login"]).lower()
        old_login = user["profile"]["login"].lower()
        if new_login != old_login:
            if new_login in self.logins:
                raise validation(
                    "login: An object with this field already exists in the current organization",
                    "login: An object with this field already exists in the current organization",
                )
            del self.logins[old_login]
            self.logins[new_login] = user["id"]
        user["profile"] = new_profile
        password = ((body.get("credentials") or {}).get("password") or {}).get("value")
        if password:
            self.passwords.add(user["id"])
            user["credentials"] = _credentials(True)
            user["passwordChanged"] = now_iso()
        self._touch(user)
        self.log(
            "user.account.update_profile",
            actor,
            [self.target("User", user["id"])],
            request_id=request_id,
        )
        return user

    def user_delete(self, *, actor: Actor, key: str, request_id: str | None = None) -> None:
        """Okta's two-step delete: the first call deactivates, the second deletes."""
        user = self.user(key)
        uid = user["id"]
        if user["status"] != "DEPROVISIONED":
            self.user_lifecycle(actor=actor, key=uid, action="deactivate", request_id=request_id)
            return
        target = [self.target("User", uid)]
        self.log("user.lifecycle.delete.initiated", actor, target, request_id=request_id)
        self.log("user.lifecycle.delete.completed", actor, target, request_id=request_id)
        for gid in list(self.user_groups.get(uid, ())):
            _remove(self.members[gid], uid)
            self._dirty(gid)
        for app_id in self.user_apps.pop(uid, set()):
            self.app_users[app_id].pop(uid, None)
        self.user_groups.pop(uid, None)
        self.roles.pop(uid, None)
        self.logins.pop(user["profile"]["login"].lower(), None)
        self.passwords.discard(uid)
        del self.users[uid]
        _remove(self.user_order, uid)
        self._dirty(uid)

    def user_lifecycle(
        self,
        *,
        actor: Actor,
        key: str,
        action: str,
        send_email: bool = True,
        request_id: str | None = None,
    ) -> Obj:
        """Apply one lifecycle action; returns the response body Okta gives for it."""
        user = self.user(key)
        uid = user["id"]
        status = user["status"]
        target = [self.target("User", uid)]

        def event(event_type: str) -> None:
            self.log(event_type, actor, target, request_id=request_id)

        if action == "activate":
            if status == "ACTIVE":
                raise OktaError("E0000016")
            if status not in ("STAGED", "DEPROVISIONED", "PROVISIONED"):
                raise OktaError("E0000038")
            self._touch(user, status="ACTIVE" if uid in self.passwords else "PROVISIONED")
            event("user.lifecycle.activate")
            return {} if send_email else _activation_token(self)
        if action == "reactivate":
            if status != "PROVISIONED":
                raise OktaError("E0000038")
            self._touch(user)
            event("user.lifecycle.reactivate")
            return {} if send_email else _activation_token(self)
        move = LIFECYCLE_MOVES.get(action)
        if move is not None:
            if not move.allowed_from(status):
                if move.refusal:
                    raise validation(move.refusal, f"status: {move.refusal}")
                raise OktaError("E0000038")
            self._touch(user, status=move.to)
            event(move.event_type)
            return {}
        if action == "reset_password":
            if status not in ("ACTIVE", "LOCKED_OUT", "PASSWORD_EXPIRED", "RECOVERY"):
                raise OktaError("E0000038")
            self._touch(user, status="RECOVERY")
            event("user.account.reset_password")
            if send_email:
                return {}
            token = secrets.token_urlsafe(15)
            return {"resetPasswordUrl": self.href(f"/signin/reset-password/{token}")}
        if action in ("expire_password", "expire_password_with_temp_password"):
            if status not in ("ACTIVE", "PASSWORD_EXPIRED", "RECOVERY", "LOCKED_OUT"):
                raise OktaError("E0000038")
            self._touch(user, status="PASSWORD_EXPIRED")
            event("user.account.expire_password")
            if action == "expire_password":
                return user
            return {"tempPassword": secrets.token_urlsafe(6)}
        if action == "reset_factors":
            if status in ("DEPROVISIONED", "STAGED"):
                raise OktaError("E0000038")
            event("user.mfa.factor.reset_all")
            return {}
        raise not_found(f"lifecycle/{action} (Path)")

    def sessions_clear(self, *, actor: Actor, key: str, request_id: str | None = None) -> None:
        user = self.user(key)
        self.log(
            "user.session.clear", actor, [self.target("User", user["id"])], request_id=request_id
        )

    # --- groups -----------------------------------------------------------------------------
    def _check_group_name(self, name: Any, *, exclude: str | None = None) -> str:
        if not isinstance(name, str) or not name.strip():
            raise validation("name", "name: The field cannot be left blank")
        lowered = name.strip().lower()
        for gid, group in self.groups.items():
            if (
                gid != exclude
                and group["type"] == "OKTA_GROUP"
                and group["profile"]["name"].lower() == lowered
            ):
                raise validation(
                    "name: An object with this field already exists in the current organization",
                    "name: An object with this field already exists in the current organization",
                )
        return name.strip()

    def group_create(self, *, actor: Actor, body: Obj, request_id: str | None = None) -> Obj:
        profile = body.get("profile")
        if not isinstance(profile, dict):
            raise validation("profile", "profile: The field cannot be left blank")
        name = self._check_group_name(profile.get("name"))
        moment = now_iso()
        gid = self._new_id("00g", name)
        group = {
            "id": gid,
            "created": moment,
            "lastUpdated": moment,
            "lastMembershipUpdated": moment,
            "objectClass": ["okta:user_group"],
            "type": "OKTA_GROUP",
            "profile": {**profile, "name": name, "description": profile.get("description") or ""},
        }
        self.add_group(group)
        _insert(self.group_order, gid)
        self.log(
            "group.lifecycle.create", actor, [self.target("UserGroup", gid)], request_id=request_id
        )
        return group

    def group_update(
        self, *, actor: Actor, gid: str, body: Obj, request_id: str | None = None
    ) -> Obj:
        group = self.group(gid)
        if group["type"] in READ_ONLY_GROUP_TYPES:
            raise OktaError("E0000006")
        profile = body.get("profile")
        if not isinstance(profile, dict):
            raise validation("profile", "profile: The field cannot be left blank")
        name = self._check_group_name(profile.get("name"), exclude=gid)
        group["profile"] = {
            **profile,
            "name": name,
            "description": profile.get("description") or "",
        }
        group["lastUpdated"] = now_iso()
        self._dirty(gid)
        self.log(
            "group.profile.update", actor, [self.target("UserGroup", gid)], request_id=request_id
        )
        return group

    def group_delete(self, *, actor: Actor, gid: str, request_id: str | None = None) -> None:
        group = self.group(gid)
        if group["type"] in READ_ONLY_GROUP_TYPES:
            raise OktaError("E0000006")
        self.log(
            "group.lifecycle.delete", actor, [self.target("UserGroup", gid)], request_id=request_id
        )
        for uid in self.members.pop(gid, []):
            self.user_groups.get(uid, set()).discard(gid)
        for app_id in self.group_apps.pop(gid, set()):
            self.app_groups[app_id].pop(gid, None)
        del self.groups[gid]
        _remove(self.group_order, gid)
        self._dirty(gid)

    def _member_add(
        self, gid: str, uid: str, actor: Actor, request_id: str | None, *, event: bool = True
    ) -> bool:
        members = self.members[gid]
        if _contains(members, uid):
            return False
        insort(members, uid)
        self.user_groups.setdefault(uid, set()).add(gid)
        self.groups[gid]["lastMembershipUpdated"] = now_iso()
        self._dirty(gid)
        if event:
            self.log(
                "group.user_membership.add",
                actor,
                [self.target("User", uid), self.target("UserGroup", gid)],
                request_id=request_id,
            )
        return True

    def membership_add(
        self, *, actor: Actor, gid: str, uid: str, request_id: str | None = None
    ) -> bool:
        group = self.group(gid)
        user = self.user(uid)
        if group["type"] in READ_ONLY_GROUP_TYPES:
            raise OktaError("E0000006")
        return self._member_add(gid, user["id"], actor, request_id)

    def membership_remove(
        self, *, actor: Actor, gid: str, uid: str, request_id: str | None = None
    ) -> bool:
        group = self.group(gid)
        user = self.user(uid)
        if group["type"] in READ_ONLY_GROUP_TYPES:
            raise OktaError("E0000006")
        if not _remove(self.members[gid], user["id"]):
            return False
        self.user_groups.get(user["id"], set()).discard(gid)
        group["lastMembershipUpdated"] = now_iso()
        self._dirty(gid)
        self.log(
            "group.user_membership.remove",
            actor,
            [self.target("User", user["id"]), self.target("UserGroup", gid)],
            request_id=request_id,
        )
        return True

    # --- apps -------------------------------------------------------------------------------
    def app_user_ids(self, app_id: str) -> list[str]:
        """Everyone assigned to the app, directly or through a group, in id order."""
        direct = self.app_users[app_id]
        groups = self.app_groups[app_id]
        if not groups:
            return sorted(direct)
        found = set(direct)
        for gid in groups:
            found.update(self.members.get(gid, ()))
        return sorted(found)

    def app_user(self, app_id: str, uid: str) -> Obj:
        """The AppUser object, direct (scope USER) or inherited from a group (scope GROUP)."""
        app = self.apps[app_id]
        user = self.users[uid]
        record = self.app_users[app_id].get(uid)
        via_group = None
        if record is None:
            for gid in sorted(self.user_groups.get(uid, ())):
                if gid in self.app_groups[app_id]:
                    via_group = gid
                    break
            if via_group is None:
                raise not_found(f"{uid} (AppUser)")
            assignment = self.app_groups[app_id][via_group]
            created = updated = assignment["lastUpdated"]
        else:
            created, updated = record["created"], record["lastUpdated"]
        links: Obj = {
            "app": {"href": self.href(f"/api/v1/apps/{app_id}")},
            "user": {"href": self.href(f"/api/v1/users/{uid}")},
        }
        if via_group:
            links["group"] = {
                "name": self.groups[via_group]["profile"]["name"],
                "href": self.href(f"/api/v1/groups/{via_group}"),
            }
        return {
            "id": uid,
            "created": created,
            "lastUpdated": updated,
            "scope": "GROUP" if via_group else "USER",
            "status": "PROVISIONED" if app["status"] == "ACTIVE" else "INACTIVE",
            "statusChanged": updated,
            "passwordChanged": None,
            "syncState": "DISABLED",
            "credentials": {"userName": user["profile"]["login"]},
            "profile": dict(record.get("profile") or {}) if record else {},
            "_links": links,
        }

    def app_assign(
        self, *, actor: Actor, app_id: str, body: Obj, request_id: str | None = None
    ) -> Obj:
        self.app(app_id)
        uid = body.get("id")
        if not isinstance(uid, str) or not uid:
            raise validation("id", "id: The field cannot be left blank")
        scope = body.get("scope", "USER")
        if scope not in ("USER", None):
            raise validation("scope", "scope: Only USER scope can be assigned directly")
        user = self.user(uid)
        uid = user["id"]
        if user["status"] == "DEPROVISIONED":
            raise OktaError("E0000038")
        if uid not in self.app_users[app_id]:
            moment = now_iso()
            profile = body.get("profile") if isinstance(body.get("profile"), dict) else {}
            self.app_users[app_id][uid] = {
                "created": moment,
                "lastUpdated": moment,
                "profile": profile,
            }
            self.user_apps.setdefault(uid, set()).add(app_id)
            self.log(
                "application.user_membership.add",
                actor,
                [self.target("AppInstance", app_id), self.target("User", uid)],
                request_id=request_id,
            )
        return self.app_user(app_id, uid)

    def app_unassign(
        self, *, actor: Actor, app_id: str, uid: str, request_id: str | None = None
    ) -> None:
        self.app(app_id)
        user = self.user(uid)
        uid = user["id"]
        if uid not in self.app_users[app_id]:
            if any(gid in self.app_groups[app_id] for gid in self.user_groups.get(uid, ())):
                raise OktaError("E0000006")
            raise not_found(f"{uid} (AppUser)")
        del self.app_users[app_id][uid]
        self.user_apps.get(uid, set()).discard(app_id)
        self.log(
            "application.user_membership.remove",
            actor,
            [self.target("AppInstance", app_id), self.target("User", uid)],
            request_id=request_id,
        )

    def app_group_assignment(self, app_id: str, gid: str) -> Obj:
        assignment = self.app_groups[app_id][gid]
        return {
            "id": gid,
            "priority": assignment.get("priority", 0),
            "lastUpdated": assignment["lastUpdated"],
            "profile": {},
            "_links": {
                "app": {"href": self.href(f"/api/v1/apps/{app_id}")},
                "group": {"href": self.href(f"/api/v1/groups/{gid}")},
            },
        }

    # --- admin roles ------------------------------------------------------------------------
    def role_grant(self, uid: str, role_type: str, label: str, moment: str) -> Obj:
        role = {
            "id": okta_id("ra1", f"{self.name}/role/{uid}/{role_type}"),
            "label": label,
            "type": role_type,
            "status": "ACTIVE",
            "created": moment,
            "lastUpdated": moment,
            "assignmentType": "USER",
            "_links": {"assignee": {"href": self.href(f"/api/v1/users/{uid}")}},
        }
        self.roles.setdefault(uid, []).append(role)
        return role

    # --- event hooks ------------------------------------------------------------------------
    def hook(self, hook_id: str) -> Obj:
        hook = self.hooks.get(hook_id)
        if hook is None:
            raise not_found(f"{hook_id} (EventHook)")
        return hook

    def _hook_fields(self, body: Obj) -> tuple[str, list[str], Obj]:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise validation("name", "name: The field cannot be left blank")
        events = body.get("events")
        items = events.get("items") if isinstance(events, dict) else None
        if (
            not isinstance(events, dict)
            or events.get("type") != "EVENT_TYPE"
            or not isinstance(items, list)
            or not items
        ):
            raise validation("events", "events: must be {type: EVENT_TYPE, items: [...]}")
        bad = [i for i in items if i not in HOOK_ELIGIBLE]
        if bad:
            raise validation(
                "events",
                *[f"events.items: {i} is not an event hook eligible event type" for i in bad],
            )
        channel = body.get("channel")
        config = channel.get("config") if isinstance(channel, dict) else None
        uri = config.get("uri") if isinstance(config, dict) else None
        if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
            raise validation("channel.config.uri", "channel.config.uri: must be an http(s) URL")
        assert isinstance(channel, dict) and isinstance(config, dict)
        auth = config.get("authScheme")
        headers = config.get("headers") or []
        if auth is not None and not (
            isinstance(auth, dict) and isinstance(auth.get("key"), str) and "value" in auth
        ):
            raise validation("authScheme", "channel.config.authScheme: key and value required")
        if not isinstance(headers, list):
            raise validation("headers", "channel.config.headers: must be a list")
        stored_channel = {
            "type": "HTTP",
            "version": channel.get("version") or "1.0.0",
            "config": {
                "uri": uri,
                "method": "POST",
                "headers": [{"key": h.get("key"), "value": h.get("value")} for h in headers],
                # The secret is kept for delivery but never echoed back (as Okta does).
                "authScheme": (
                    {"type": "HEADER", "key": auth["key"], "value": str(auth["value"])}
                    if auth
                    else None
                ),
            },
        }
        return name.strip(), [str(i) for i in items], stored_channel

    def hook_public(self, hook: Obj) -> Obj:
        shown = json.loads(json.dumps(hook))
        auth = shown["channel"]["config"].get("authScheme")
        if auth:
            auth.pop("value", None)
        else:
            shown["channel"]["config"].pop("authScheme", None)
        return shown

    def hook_create(self, *, actor: Actor, body: Obj, request_id: str | None = None) -> Obj:
        name, items, channel = self._hook_fields(body)
        moment = now_iso()
        hook_id = self._new_id("who", name)
        hook = {
            "id": hook_id,
            "status": "ACTIVE",
            "verificationStatus": "UNVERIFIED",
            "name": name,
            "description": body.get("description"),
            "created": moment,
            "createdBy": actor["id"],
            "lastUpdated": moment,
            "events": {"type": "EVENT_TYPE", "items": items, "filter": None},
            "channel": channel,
            "_links": {
                "self": {"href": self.href(f"/api/v1/eventHooks/{hook_id}")},
                "verify": {
                    "href": self.href(f"/api/v1/eventHooks/{hook_id}/lifecycle/verify"),
                    "hints": {"allow": ["POST"]},
                },
                "deactivate": {
                    "href": self.href(f"/api/v1/eventHooks/{hook_id}/lifecycle/deactivate"),
                    "hints": {"allow": ["POST"]},
                },
            },
        }
        self.hooks[hook_id] = hook
        _insert(self.hook_order, hook_id)
        self.log("event_hook.created", actor, [self._hook_target(hook)], request_id=request_id)
        return hook

    def _hook_target(self, hook: Obj) -> Obj:
        return {
            "id": hook["id"],
            "type": "EventHook",
            "alternateId": hook["name"],
            "displayName": hook["name"],
        }

    def hook_update(
        self, *, actor: Actor, hook_id: str, body: Obj, request_id: str | None = None
    ) -> Obj:
        hook = self.hook(hook_id)
        name, items, channel = self._hook_fields(body)
        if channel["config"]["authScheme"] is None:
            channel["config"]["authScheme"] = hook["channel"]["config"].get("authScheme")
        if channel["config"]["uri"] != hook["channel"]["config"]["uri"]:
            hook["verificationStatus"] = "UNVERIFIED"
        hook.update(
            name=name,
            description=body.get("description"),
            events={"type": "EVENT_TYPE", "items": items, "filter": None},
            channel=channel,
            lastUpdated=now_iso(),
        )
        self.log("event_hook.updated", actor, [self._hook_target(hook)], request_id=request_id)
        return hook

    def hook_set_status(
        self, *, actor: Actor, hook_id: str, status: str, request_id: str | None = None
    ) -> Obj:
        hook = self.hook(hook_id)
        hook["status"] = status
        hook["lastUpdated"] = now_iso()
        kind = "event_hook.activated" if status == "ACTIVE" else "event_hook.deactivated"
        self.log(kind, actor, [self._hook_target(hook)], request_id=request_id)
        return hook

    def hook_delete(self, *, actor: Actor, hook_id: str, request_id: str | None = None) -> None:
        hook = self.hook(hook_id)
        if hook["status"] == "ACTIVE":
            raise validation(
                "Cannot delete an active event hook",
                "status: Deactivate the event hook before deleting it",
            )
        del self.hooks[hook_id]
        _remove(self.hook_order, hook_id)
        self.log("event_hook.deleted", actor, [self._hook_target(hook)], request_id=request_id)


def _credentials(has_password: bool) -> Obj:
    credentials: Obj = {"provider": {"type": "OKTA", "name": "OKTA"}}
    if has_password:
        credentials["password"] = {}
    return credentials


def _activation_token(org: Org) -> Obj:
    token = secrets.token_urlsafe(15)
    return {"activationToken": token, "activationUrl": org.href(f"/tokens/{token}/activate")}
