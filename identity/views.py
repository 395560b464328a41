"""Thin function views: parse, authorize, call a service, render.

Pages for a role's work are guarded by ``core.permissions.permission_required`` (the permission
names are listed in identity/services.py); pages about one person or action show it only to
those it concerns (one helper per access path, 404 to anyone else)."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from accounts.models import User
from approvals.models import Policy, RequestApprover
from core.permissions import permission_required
from identity import pickers, services
from identity.actions import PROFILE_FIELDS, needs_confirmation
from identity.bulk import (
    bulk_confirm,
    bulk_preview,
    bulk_progress,
    bulk_progress_of,
    bulk_retry_failures,
    bulk_run_preview,
    bulk_second_confirm,
)
from identity.forms import (
    ActionForm,
    BulkForm,
    GroupForm,
    LoginsForm,
    PersonAppForm,
    PersonGroupForm,
    PersonSearchForm,
    PolicyForm,
    ProfileForm,
    UserCreateForm,
)
from identity.guardrails import ActionRefused
from identity.models import Action, ActionPolicy, ActionRequest, BulkItem, BulkRun, BulkStatus
from identity.wording import action_story, confirm_question
from okta.models import (
    AdminRole,
    AppAssignment,
    OktaApp,
    OktaGroup,
    OktaUser,
    Operation,
)

# Okta profile attribute -> mirror column, for showing current values in forms.
_MIRROR = {
    "firstName": "first_name",
    "lastName": "last_name",
    "displayName": "display_name",
    "title": "title",
    "department": "department",
    "email": "email",
    "managerId": "manager_id",
}


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _render(request: HttpRequest, template: str, context: dict[str, Any], region: str) -> Any:
    if request.htmx and not request.htmx.boosted:  # type: ignore[attr-defined]
        template = f"{template}#{region}"
    return render(request, template, context)


def _profile_of(person: OktaUser) -> dict[str, Any]:
    profile = dict(person.profile or {})
    for attr, column in _MIRROR.items():
        profile.setdefault(attr, getattr(person, column, ""))
    return profile


def _history(qs: Any) -> list[tuple[ActionRequest, str, list[Operation]]]:
    """Action requests with their approval, operations and outcome: two queries."""
    reqs = list(qs.select_related("approval_request")[:20])
    ops: dict[str, list[Operation]] = {}
    for op in Operation.objects.filter(correlation__in=[r.correlation for r in reqs]).order_by(
        "id"
    ):
        ops.setdefault(op.correlation, []).append(op)
    return [
        (r, services.action_outcome(r, ops.get(r.correlation, [])), ops.get(r.correlation, []))
        for r in reqs
    ]


# --- self-service --------------------------------------------------------------------------


@require_GET
@login_required
def my_account(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    person = OktaUser.objects.filter(pk=user.okta_id or "-").first()
    if person is None:
        raise Http404("Your account is not in the directory yet.")
    policy = ActionPolicy.objects.filter(action=Action.USER_UPDATE, enabled=True).first()
    fields = list(policy.self_service_fields) if policy and "self" in policy.requesters else []
    return render(
        request,
        "identity/my_account.html",
        {
            "person": person,
            "manager": OktaUser.objects.filter(pk=person.manager_id).first()
            if person.manager_id
            else None,
            "actions": services.actions_offered(user, person),
            "profile_form": ProfileForm(fields=fields, initial_profile=_profile_of(person))
            if fields
            else None,
            "history": _history(ActionRequest.objects.filter(target_user_id=person.pk)),
        },
    )


# --- on behalf ------------------------------------------------------------------------------


@require_GET
@login_required
def people(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not services.may_search_people(user):
        raise PermissionDenied
    form = PersonSearchForm(request.GET)
    text = form.cleaned_data["q"] if form.is_valid() else ""
    qs = OktaUser.objects.only(
        "id", "login", "first_name", "last_name", "display_name", "status", "department"
    )
    if not user.has_perm("okta.view_directory"):  # managers: their reports
        qs = qs.filter(manager_id=user.okta_id or "-")
    if text:
        for term in text.split()[:4]:
            qs = qs.filter(
                Q(first_name__istartswith=term)
                | Q(last_name__istartswith=term)
                | Q(login__istartswith=term)
            )
    found = list(qs.exclude(pk=user.okta_id or "-").order_by("last_name", "first_name", "id")[:50])
    return _render(
        request, "identity/people.html", {"form": form, "found": found, "q": text}, "results"
    )


def _get_person_for_actor(request: HttpRequest, user_id: str) -> OktaUser:
    """The person the actor may act on; a stranger gets 404 (not a hint they exist)."""
    person = get_object_or_404(OktaUser, pk=user_id)
    if person.pk != _user(request).okta_id and not services.may_act_on(_user(request), person):
        raise Http404
    return person


def _person_context(request: HttpRequest, person: OktaUser) -> dict[str, Any]:
    user = _user(request)
    admin = user.has_perm("identity.manage_directory")
    editable = admin and person.pk != user.okta_id
    return {
        "person": person,
        "actions": services.actions_offered(user, person),
        "admin_roles": AdminRole.objects.filter(user_id=person.pk).order_by("type"),
        "groups": OktaGroup.objects.filter(memberships__user_id=person.pk).order_by("name"),
        "apps": AppAssignment.objects.filter(user_id=person.pk)
        .select_related("app")
        .order_by("app__label"),
        "is_admin": admin,
        "directory": user.has_perm("okta.view_directory"),
        # Without JavaScript a picker's search comes back here as ?group_id_q=… (person_act).
        "group_form": PersonGroupForm(initial=request.GET.dict()) if editable else None,
        "app_form": PersonAppForm(initial=request.GET.dict()) if editable else None,
        "profile_form": ProfileForm(
            fields=list(PROFILE_FIELDS), initial_profile=_profile_of(person)
        )
        if editable
        else None,
        "history": _history(ActionRequest.objects.filter(target_user_id=person.pk)),
    }


@require_GET
@login_required
def person(request: HttpRequest, user_id: str) -> HttpResponse:
    target = _get_person_for_actor(request, user_id)
    if target.pk == _user(request).okta_id:
        return redirect("identity:my_account")
    # After an action, htmx asks again for the header (status and actions), now from the
    # mirror as the action's outcome left it.
    return _render(request, "identity/person.html", _person_context(request, target), "header")


def _after_action(request: HttpRequest, req: ActionRequest) -> HttpResponse:
    if request.htmx:  # type: ignore[attr-defined]
        return _action_fragment(request, req)
    return redirect("identity:action_detail", pk=req.pk)


def _back(request: HttpRequest, default: str) -> str:
    """The page the form was on, if it is one of ours."""
    referer = request.META.get("HTTP_REFERER", "")
    # A bare word (no slash) would be taken by redirect() for a URL name and fail.
    if "/" in referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return default


def _refusal(exc: ActionRefused) -> str:
    """The refusal's sentence, linking to the open action when it repeats one."""
    if exc.open_pk is None:
        return exc.message
    url = reverse("identity:action_detail", args=[exc.open_pk])
    return format_html('{} <a href="{}">See the open request</a>.', exc.message, url)


def _refused(request: HttpRequest, exc: ActionRefused, back: str) -> HttpResponse:
    if request.htmx:  # type: ignore[attr-defined]
        return render(
            request, "identity/action_detail.html#refusal", {"message": _refusal(exc)}, status=400
        )
    messages.error(request, _refusal(exc))
    return redirect(back)


@require_POST
@login_required
def person_act(request: HttpRequest, user_id: str) -> HttpResponse:
    target = _get_person_for_actor(request, user_id)
    form = ActionForm(request.POST)
    back = _back(request, reverse("identity:my_account"))
    if not form.is_valid():
        return _refused(request, ActionRefused("That request was not understood."), back)
    for field in ("group_id", "app_id"):
        query = request.POST.get(f"{field}_q", "").strip()[:100]
        if query and not form.cleaned_data[field]:
            # A search sent without JavaScript: show its matches to choose from.
            messages.info(request, "Choose one of the matches, then send again.")
            url = reverse("identity:person", args=[target.pk])
            return redirect(f"{url}?{urlencode({f'{field}_q': query})}")
    action, variant = form.cleaned_data["action"], form.cleaned_data["variant"]
    if not form.cleaned_data["confirmed"] and _offered_with_confirmation(
        _user(request), target, action, variant
    ):
        # Asked without the confirmation step (a stale page, or a hand-made POST): ask first.
        return _confirm_page(request, target, action, variant)
    try:
        req = services.action_submit(
            actor=_user(request),
            action=action,
            variant=variant,
            target_user_id=target.pk,
            params=form.params(),
            reason=form.cleaned_data["reason"],
            request=request,
        )
    except ActionRefused as exc:
        return _refused(request, exc, back)
    return _after_action(request, req)


def _confirm_page(request: HttpRequest, target: OktaUser, action: str, variant: str) -> Any:
    question, effect, button = confirm_question(action, variant, target.full_name or target.login)
    context = {
        "person": target,
        "action": action,
        "variant": variant,
        "question": question,
        "effect": effect,
        "button": button,
        "form": ActionForm(),
    }
    return _render(request, "identity/confirm.html", context, "confirm")


@require_GET
@login_required
def person_confirm(request: HttpRequest, user_id: str) -> HttpResponse:
    """The confirmation step of a sensitive action on someone else: who, what it does, and an
    optional ticket or reason. The action itself is asked for by its POST to ``person_act``."""
    target = _get_person_for_actor(request, user_id)
    action, variant = request.GET.get("action", ""), request.GET.get("variant", "")
    if not _offered_with_confirmation(_user(request), target, action, variant):
        raise Http404
    return _confirm_page(request, target, action, variant)


def _offered_with_confirmation(user: User, target: OktaUser, action: str, variant: str) -> bool:
    """Whether the person page offers this action behind a confirmation step. An action not
    offered goes straight to the service, whose refusal says why."""
    return needs_confirmation(user, action, variant, target) and any(
        (a, v) == (action, variant) for a, v, _ in services.allowed_variants(user, target)
    )


@require_POST
@login_required
def person_profile(request: HttpRequest, user_id: str) -> HttpResponse:
    target = _get_person_for_actor(request, user_id)
    form = ProfileForm(
        request.POST, fields=list(PROFILE_FIELDS), initial_profile=_profile_of(target)
    )
    back = _back(request, reverse("identity:my_account"))
    if not form.is_valid():
        return _refused(request, ActionRefused("Check the profile values."), back)
    try:
        req = services.action_submit(
            actor=_user(request),
            action=Action.USER_UPDATE,
            variant="update",
            target_user_id=target.pk,
            params={"profile": form.profile()},
            request=request,
        )
    except ActionRefused as exc:
        return _refused(request, exc, back)
    return _after_action(request, req)


# --- action results and approvals ------------------------------------------------------------


def _get_action_for_viewer(request: HttpRequest, pk: int) -> ActionRequest:
    """The asker, the person it is about, admins and the approvers of its approval request;
    anyone else gets 404."""
    req = get_object_or_404(ActionRequest.objects.select_related("approval_request"), pk=pk)
    user = _user(request)
    if not (
        req.requested_by == user.username
        or user.has_perm("identity.view_all_actions")
        or (user.okta_id and req.target_user_id == user.okta_id)
        or (
            req.approval_request_id
            and user.okta_id
            and RequestApprover.objects.filter(
                request_id=req.approval_request_id, okta_id=user.okta_id
            ).exists()
        )
    ):
        raise Http404
    return req


def _shown_elsewhere(request: HttpRequest, req: ActionRequest) -> bool:
    htmx = request.htmx  # type: ignore[attr-defined]
    if not htmx:
        return False
    own = reverse("identity:action_detail", args=[req.pk])
    return urlsplit(htmx.current_url or "").path != own


def _action_context(request: HttpRequest, req: ActionRequest) -> dict[str, Any]:
    ops = list(Operation.objects.filter(correlation=req.correlation).order_by("id"))
    outcome = services.action_outcome(req, ops)
    mine = req.requested_by == _user(request).username
    return {
        "req": req,
        "ops": ops,
        "outcome": outcome,
        "story": action_story(
            req, ops, outcome, viewer_okta_id=_user(request).okta_id or "", mine=mine
        ),
        "mine": mine,
        # The fragment in a person page links to the action's own page; the page does not.
        "elsewhere": _shown_elsewhere(request, req),
    }


# Sent with an action's result once it is over: the page's header reads the person again.
PERSON_CHANGED = "person-changed"


def _action_fragment(request: HttpRequest, req: ActionRequest) -> HttpResponse:
    context = _action_context(request, req)
    response = render(request, "identity/action_detail.html#result", context)
    if context["outcome"] in ("Done", "Failed"):
        trigger_client_event(response, PERSON_CHANGED)
    return response


@require_GET
@login_required
def action_detail(request: HttpRequest, pk: int) -> HttpResponse:
    req = _get_action_for_viewer(request, pk)
    if request.htmx:  # type: ignore[attr-defined]
        return _action_fragment(request, req)
    return render(request, "identity/action_detail.html", _action_context(request, req))


@require_POST
@login_required
def action_reveal(request: HttpRequest, pk: int, operation_id: int) -> HttpResponse:
    req = _get_action_for_viewer(request, pk)
    try:
        secrets = services.action_reveal_secret(
            actor=_user(request), request_id=req.pk, operation_id=operation_id
        )
    except ActionRefused as exc:
        raise Http404 from exc
    return render(request, "identity/action_detail.html#secret", {"secrets": secrets})


# --- admin console -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@permission_required("identity.manage_directory")
def user_create(request: HttpRequest) -> HttpResponse:
    actor = _user(request)
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        profile = {
            "login": d["login"],
            "email": d["email"],
            "firstName": d["first_name"],
            "lastName": d["last_name"],
        }
        for key, attr in (("department", "department"), ("title", "title")):
            if d[key]:
                profile[attr] = d[key]
        if d["manager_login"]:
            manager = OktaUser.objects.filter(login__iexact=d["manager_login"]).first()
            if manager is None:
                form.add_error("manager_login", "No such person in the directory.")
                return render(request, "identity/user_create.html", {"form": form})
            profile["managerId"] = manager.pk
            profile["manager"] = manager.login
        try:
            req = services.action_submit(
                actor=actor,
                action=Action.USER_CREATE,
                variant="create",
                params={
                    "profile": {k: v for k, v in profile.items() if k != "manager"},
                    "activation": d["activation"],
                    "group_ids": d["groups"],
                    "app_ids": d["apps"],
                },
                request=request,
            )
        except ActionRefused as exc:
            form.add_error(None, _refusal(exc))
        else:
            return redirect("identity:action_detail", pk=req.pk)
    return render(request, "identity/user_create.html", {"form": form})


@require_http_methods(["GET", "POST"])
@permission_required("identity.manage_directory")
def groups(request: HttpRequest) -> HttpResponse:
    actor = _user(request)
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            req = services.action_submit(
                actor=actor,
                action=Action.GROUP_MANAGE,
                variant="create",
                params=form.cleaned_data,
                request=request,
            )
        except ActionRefused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, _refusal(exc))
        else:
            return redirect("identity:action_detail", pk=req.pk)
    rows = OktaGroup.objects.filter(type="OKTA_GROUP").order_by("name")[:500]
    return render(request, "identity/groups.html", {"form": form, "rows": rows})


@require_GET
@permission_required("identity.manage_directory")
def group_page(request: HttpRequest, group_id: str) -> HttpResponse:
    group = get_object_or_404(OktaGroup, pk=group_id)
    members = (
        OktaUser.objects.filter(memberships__group_id=group.pk)
        .only("id", "login", "first_name", "last_name", "display_name", "status")
        .order_by("last_name", "first_name", "id")[:500]
    )
    return render(
        request,
        "identity/group.html",
        {
            "group": group,
            "members": members,
            "rename_form": GroupForm(
                initial={"name": group.name, "description": group.description}
            ),
            "logins_form": LoginsForm(),
            "results": [],
        },
    )


@require_POST
@permission_required("identity.manage_directory")
def group_change(request: HttpRequest, group_id: str) -> HttpResponse:
    """Rename or delete the group."""
    group = get_object_or_404(OktaGroup, pk=group_id)
    variant = request.POST.get("variant", "")
    params: dict[str, Any] = {"group_id": group.pk}
    if variant == "update":
        form = GroupForm(request.POST)
        if not form.is_valid():
            return _refused(request, ActionRefused("A group needs a name."), request.path)
        params.update(form.cleaned_data)
    try:
        req = services.action_submit(
            actor=_user(request),
            action=Action.GROUP_MANAGE,
            variant=variant,
            params=params,
            request=request,
        )
    except ActionRefused as exc:
        messages.error(request, _refusal(exc))
        return redirect("identity:group", group_id=group.pk)
    return redirect("identity:action_detail", pk=req.pk)


def _people_by_login(logins: list[str]) -> tuple[list[OktaUser], list[str]]:
    lowered = [x.lower() for x in logins]
    found = list(OktaUser.objects.filter(Q(login__in=lowered) | Q(email__in=lowered)))
    known = {p.login.lower() for p in found} | {p.email.lower() for p in found}
    return found, [x for x in logins if x.lower() not in known]


def _act_on_many(
    request: HttpRequest, *, action: str, variant: str, params: dict[str, Any], logins: list[str]
) -> list[tuple[str, str, int | None]]:
    """One action per person; one refusal never stops the rest. (label, message, action pk)."""
    found, unknown = _people_by_login(logins)
    results: list[tuple[str, str, int | None]] = [
        (x, "not in the directory", None) for x in unknown
    ]
    for target in found:
        try:
            req = services.action_submit(
                actor=_user(request),
                action=action,
                variant=variant,
                target_user_id=target.pk,
                params=params,
                request=request,
            )
        except ActionRefused as exc:
            # A repeat links to the action already open.
            results.append((target.login, exc.message, exc.open_pk))
        else:
            results.append((target.login, "queued", req.pk))
    return results


@require_POST
@permission_required("identity.manage_directory")
def group_members(request: HttpRequest, group_id: str) -> HttpResponse:
    group = get_object_or_404(OktaGroup, pk=group_id)
    variant = "remove" if request.POST.get("variant") == "remove" else "add"
    form = LoginsForm(request.POST)
    results: list[tuple[str, str, int | None]] = []
    if form.is_valid():
        results = _act_on_many(
            request,
            action=Action.GROUP_MEMBERSHIP,
            variant=variant,
            params={"group_id": group.pk},
            logins=form.cleaned_data["logins"],
        )
    return _render(
        request,
        "identity/group.html",
        {
            "group": group,
            "members": OktaUser.objects.filter(memberships__group_id=group.pk).order_by(
                "last_name", "first_name", "id"
            )[:500],
            "rename_form": GroupForm(
                initial={"name": group.name, "description": group.description}
            ),
            "logins_form": form,
            "results": results,
        },
        "member-results",
    )


@require_GET
@permission_required("identity.manage_directory")
def apps(request: HttpRequest) -> HttpResponse:
    rows = OktaApp.objects.only("id", "label", "status").order_by("label")[:2000]
    return render(request, "identity/apps.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
@permission_required("identity.manage_directory")
def app_page(request: HttpRequest, app_id: str) -> HttpResponse:
    app = get_object_or_404(OktaApp, pk=app_id)
    form = LoginsForm(request.POST or None)
    results: list[tuple[str, str, int | None]] = []
    if request.method == "POST" and form.is_valid():
        variant = "unassign" if request.POST.get("variant") == "unassign" else "assign"
        results = _act_on_many(
            request,
            action=Action.APP_ASSIGNMENT,
            variant=variant,
            params={"app_id": app.pk},
            logins=form.cleaned_data["logins"],
        )
    assigned = (
        AppAssignment.objects.filter(app_id=app.pk, scope="USER")
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user_id")[:500]
    )
    return _render(
        request,
        "identity/app.html",
        {"app": app, "assigned": assigned, "form": form, "results": results},
        "app-results",
    )


@require_GET
@permission_required("identity.manage_directory", "identity.run_bulk")
def pick(request: HttpRequest, kind: str) -> HttpResponse:
    """A picker's choices for what was typed: what is chosen plus the first matches."""
    name, html_id = request.GET.get("name", ""), request.GET.get("id", "")
    if kind not in pickers.KINDS:
        raise Http404
    if not pickers.FIELD_NAME.match(name) or not pickers.FIELD_NAME.match(html_id):
        return HttpResponse("That picker was not understood.", status=400)
    multiple = request.GET.get("multiple") == "1"
    # Rendered without the request: the fragment needs no context processors (their queries).
    return HttpResponse(
        render_to_string(
            "identity/_picker.html#results",
            pickers.context(
                kind_name=kind,
                name=name,
                html_id=html_id,
                label="",
                multiple=multiple,
                required=request.GET.get("optional") != "1",
                query=request.GET.get(f"{name}_q", "")[:100],
                chosen_ids=request.GET.getlist(name)[: 200 if multiple else 1],
            ),
        )
    )


# --- bulk -------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@permission_required("identity.run_bulk")
def bulk(request: HttpRequest) -> HttpResponse:
    actor = _user(request)
    form = (
        BulkForm(request.POST) if request.method == "POST" else BulkForm(initial=request.GET.dict())
    )
    preview = None
    if request.method == "POST" and form.is_valid():
        try:
            if request.POST.get("confirm") and form.cleaned_data["preview_hash"]:
                run = bulk_confirm(
                    actor=actor,
                    action=form.cleaned_data["action"],
                    params=form.action_params(),
                    selection=form.selection(),
                    preview_hash=form.cleaned_data["preview_hash"],
                )
                return redirect("identity:bulk_run", pk=run.pk)
            preview = bulk_preview(
                actor=actor,
                action=form.cleaned_data["action"],
                params=form.action_params(),
                selection=form.selection(),
            )
        except ActionRefused as exc:
            form.add_error(None, exc.message)
    return _render(request, "identity/bulk.html", {"form": form, "preview": preview}, "preview")


@require_GET
@permission_required("identity.run_bulk")
def bulk_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(BulkRun, pk=pk)
    progress = bulk_progress(run)
    failed_only = request.GET.get("failed") == "1"
    items_qs = BulkItem.objects.filter(run=run)
    if failed_only:
        items_qs = items_qs.filter(
            operation_id__in=Operation.objects.filter(
                correlation=run.correlation, status="FAILED"
            ).values("pk")
        )
    items = list(items_qs.order_by("id")[:500])
    ops = Operation.objects.in_bulk([i.operation_id for i in items if i.operation_id])
    rows = [(i, ops.get(i.operation_id or 0)) for i in items]
    preview = None
    if run.status == BulkStatus.AWAITING_CONFIRMATION:
        try:
            preview = bulk_run_preview(run)
        except ActionRefused as exc:
            messages.error(request, exc.message)
    return _render(
        request,
        "identity/bulk_run.html",
        {
            "run": run,
            "progress": progress,
            "rows": rows,
            "awaiting": run.status == BulkStatus.AWAITING_CONFIRMATION,
            "failed_only": failed_only,
            "preview": preview,
        },
        "progress",
    )


@require_POST
@permission_required("identity.run_bulk")
def bulk_run_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(BulkRun, pk=pk)
    try:
        bulk_second_confirm(actor=_user(request), run_id=run.pk)
    except ActionRefused as exc:
        messages.error(request, exc.message)
    return redirect("identity:bulk_run", pk=run.pk)


@require_POST
@permission_required("identity.run_bulk")
def bulk_run_retry(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(BulkRun, pk=pk)
    count = bulk_retry_failures(actor=_user(request), run_id=run.pk)
    messages.info(request, f"{count} failed changes sent to Okta again.")
    return redirect("identity:bulk_run", pk=run.pk)


@require_GET
@permission_required("identity.run_bulk")
def bulk_runs(request: HttpRequest) -> HttpResponse:
    runs = list(BulkRun.objects.all()[:100])
    progress = bulk_progress_of(runs)
    rows = [(run, progress[run.pk]) for run in runs]
    return render(request, "identity/bulk_runs.html", {"rows": rows})


# --- reports and policies ---------------------------------------------------------------------

REPORT_ROLES = ["SUPER_ADMIN", "ORG_ADMIN", "HELP_DESK_ADMIN", "READ_ONLY_ADMIN", "APP_ADMIN"]


@require_GET
@permission_required("identity.view_admin_roles")
def admin_roles_report(request: HttpRequest) -> HttpResponse:
    chosen = [t for t in request.GET.getlist("type") if t in REPORT_ROLES] or [
        "HELP_DESK_ADMIN",
        "SUPER_ADMIN",
    ]
    rows = list(services.admin_role_report(chosen))
    return _render(
        request,
        "identity/admin_roles.html",
        {"rows": rows, "chosen": chosen, "all_roles": REPORT_ROLES},
        "report",
    )


def _approval_policies() -> Any:
    return Policy.objects.order_by("name")


@require_GET
@permission_required("identity.manage_policies")
def policies(request: HttpRequest) -> HttpResponse:
    chains = _approval_policies()
    rows = [
        (
            p,
            PolicyForm(
                policies=chains,
                initial={
                    "enabled": p.enabled,
                    "requesters": p.requesters,
                    "approval_policy": p.approval_policy_id,
                    "approval_for_self": p.approval_for_self,
                    "allow_privileged_targets": p.allow_privileged_targets,
                    "self_service_fields": p.self_service_fields,
                    "bulk_confirm_threshold": p.bulk_confirm_threshold,
                },
                prefix=p.action,
            ),
        )
        for p in ActionPolicy.objects.select_related("approval_policy")
    ]
    return render(request, "identity/policies.html", {"rows": rows})


@require_POST
@permission_required("identity.manage_policies")
def policy_edit(request: HttpRequest, action: str) -> HttpResponse:
    actor = _user(request)
    policy = get_object_or_404(ActionPolicy, action=action)
    form = PolicyForm(request.POST, prefix=policy.action, policies=_approval_policies())
    if not form.is_valid():
        messages.error(request, f"{policy}: check the values.")
        return redirect("identity:policies")
    try:
        services.action_policy_save(actor=actor, policy=policy, changes=form.cleaned_data)
    except ActionRefused as exc:
        messages.error(request, f"{policy}: {exc.message}")
    else:
        messages.success(request, f"{policy}: saved.")
    return redirect("identity:policies")
