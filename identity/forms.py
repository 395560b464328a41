"""Forms parse input only; the services decide what is allowed."""

from __future__ import annotations

import re
from html import escape
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString

from approvals.models import Policy
from identity.models import Requester
from identity.services import BULK_ACTIONS, PROFILE_FIELDS
from okta.models import GroupType, OktaApp, OktaGroup, UserStatus

_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")


class BootstrapForm(forms.Form):
    """Bootstrap classes on every widget (the templates loop over fields)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style()

    def style(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, (forms.CheckboxInput, forms.CheckboxSelectMultiple)):
                continue
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs.setdefault(
                "class",
                f"{css} form-control-sm" if css == "form-control" else f"{css} form-select-sm",
            )


class LongSelect(forms.Select):
    """A ``<select>`` rendered in one pass. Django renders each option through a template (and
    ``format_html`` per option is still slow), which costs seconds for the thousands of groups
    and apps of a large org that the bulk page lists; flat choices only."""

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        if self.allow_multiple_selected:
            final["multiple"] = True
        chosen = set(self.format_value(value))
        options = "".join(
            f'<option value="{_escape(key)}"{" selected" if str(key) in chosen else ""}>'
            f"{_escape(label)}</option>"
            for key, label in self.choices
        )
        return format_html("<select{}>{}</select>", flatatt(final), SafeString(options))


def _escape(value: Any) -> str:
    html = getattr(value, "__html__", None)
    return str(html()) if html is not None else escape(str(value))


class LongSelectMultiple(LongSelect, forms.SelectMultiple):
    allow_multiple_selected = True


class ActionForm(BootstrapForm):
    action = forms.CharField(max_length=30)
    variant = forms.CharField(max_length=30)
    group_id = forms.CharField(max_length=32, required=False)
    app_id = forms.CharField(max_length=32, required=False)

    def params(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {k: data[k] for k in ("group_id", "app_id") if data.get(k)}


# How Okta's profile attribute names read to a person.
PROFILE_LABELS = {
    "firstName": "First name",
    "lastName": "Last name",
    "displayName": "Display name",
    "nickName": "Nickname",
    "title": "Job title",
    "department": "Department",
    "mobilePhone": "Mobile phone",
    "primaryPhone": "Primary phone",
    "city": "City",
    "email": "Email",
    "managerId": "Manager (Okta user id)",
}


class ProfileForm(BootstrapForm):
    """Only the fields given by ``fields`` are shown; blank ones are left unchanged."""

    def __init__(self, *args: Any, fields: list[str], initial_profile: dict[str, Any], **kw: Any):
        super().__init__(*args, **kw)
        for name in fields:
            self.fields[name] = forms.CharField(
                max_length=PROFILE_FIELDS.get(name, 100),
                label=PROFILE_LABELS.get(name, name),
                required=False,
                initial=initial_profile.get(name, ""),
            )
        self.style()

    def profile(self) -> dict[str, str]:
        """The fields that were posted and differ from their current value."""
        return {
            k: v
            for k, v in self.cleaned_data.items()
            if k in self.data and v != self.fields[k].initial
        }


class PersonSearchForm(BootstrapForm):
    q = forms.CharField(max_length=100, required=False, label="Search people")


def _group_choices() -> list[tuple[str, str]]:
    return list(
        OktaGroup.objects.filter(type=GroupType.OKTA_GROUP)
        .order_by("name")
        .values_list("id", "name")[:2000]
    )


def _app_choices() -> list[tuple[str, str]]:
    return list(OktaApp.objects.order_by("label").values_list("id", "label")[:2000])


def _catalog_choices(kind: str) -> list[tuple[str, str]]:
    """Published catalog groups (OKTA_GROUP) or apps; the whole directory when nothing is
    published yet (a fresh install)."""
    from approvals.models import CatalogItem, ItemKind

    items = CatalogItem.objects.filter(published=True)
    if kind == "group":
        rows = items.filter(kind=ItemKind.GROUP, group__type=GroupType.OKTA_GROUP)
        found = list(rows.order_by("name").values_list("group_id", "name"))
        return found or _group_choices()
    found = list(items.filter(kind=ItemKind.APP).order_by("name").values_list("app_id", "name"))
    return found or _app_choices()


class UserCreateForm(BootstrapForm):
    login = forms.EmailField(max_length=100)
    email = forms.EmailField(max_length=100)
    first_name = forms.CharField(max_length=50)
    last_name = forms.CharField(max_length=50)
    department = forms.CharField(max_length=100, required=False)
    title = forms.CharField(max_length=100, required=False)
    manager_login = forms.CharField(max_length=100, required=False, label="Manager (login)")
    activation = forms.ChoiceField(
        choices=[
            ("email", "Activate and email the person"),
            ("url", "Activate without email (show me a one-time activation link)"),
            ("none", "Do not activate yet (STAGED)"),
        ]
    )
    groups = forms.MultipleChoiceField(required=False, choices=[])
    apps = forms.MultipleChoiceField(required=False, choices=[])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["groups"].choices = _catalog_choices("group")  # type: ignore[attr-defined]
        self.fields["apps"].choices = _catalog_choices("app")  # type: ignore[attr-defined]


class GroupForm(BootstrapForm):
    name = forms.CharField(max_length=255)
    description = forms.CharField(max_length=1024, required=False, widget=forms.Textarea)


class LoginsForm(BootstrapForm):
    logins = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        label="People (logins or emails, one per line or comma-separated)",
    )

    def clean_logins(self) -> list[str]:
        parts = [p.strip() for p in re.split(r"[\s,;]+", self.cleaned_data["logins"])]
        found = [p for p in parts if p]
        if not found:
            raise forms.ValidationError("Name at least one person.")
        if len(found) > 1000:
            raise forms.ValidationError("At most 1000 people at once: use a bulk operation.")
        return found


class BulkForm(BootstrapForm):
    department = forms.CharField(max_length=100, required=False)
    status = forms.ChoiceField(choices=[("", "any status"), *UserStatus.choices], required=False)
    inactive_days = forms.IntegerField(
        min_value=1, max_value=3650, required=False, label="No sign-in for (days)"
    )
    group_id = forms.ChoiceField(
        required=False, label="Members of group", choices=[], widget=LongSelect
    )
    logins = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Or these logins"
    )
    action = forms.ChoiceField(choices=[(k, v[2]) for k, v in BULK_ACTIONS.items()])
    target_group_id = forms.ChoiceField(
        required=False, label="Group to change", choices=[], widget=LongSelect
    )
    app_ids = forms.MultipleChoiceField(
        required=False, label="Apps", choices=[], widget=LongSelectMultiple
    )
    preview_hash = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        all_groups = [("", "—"), *OktaGroup.objects.order_by("name").values_list("id", "name")]
        self.fields["group_id"].choices = all_groups  # type: ignore[attr-defined]
        self.fields["target_group_id"].choices = [("", "—"), *_group_choices()]  # type: ignore[attr-defined]
        self.fields["app_ids"].choices = _app_choices()  # type: ignore[attr-defined]

    def selection(self) -> dict[str, Any]:
        d = self.cleaned_data
        logins = [p for p in re.split(r"[\s,;]+", d.get("logins") or "") if p]
        out: dict[str, Any] = {
            "department": d.get("department") or "",
            "status": d.get("status") or "",
            "inactive_days": d.get("inactive_days") or None,
            "group_id": d.get("group_id") or "",
            "logins": logins,
        }
        return {k: v for k, v in out.items() if v}

    def action_params(self) -> dict[str, Any]:
        d = self.cleaned_data
        if d["action"] in ("group_add", "group_remove"):
            return {"group_id": d.get("target_group_id") or ""}
        if d["action"] in ("app_assign", "app_unassign"):
            return {"app_ids": list(d.get("app_ids") or [])}
        return {}


class PolicyForm(BootstrapForm):
    enabled = forms.BooleanField(required=False)
    requesters = forms.MultipleChoiceField(
        choices=Requester.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    approval_policy: forms.ModelChoiceField[Policy] = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="No approval: straight to Okta",
        label="Approval chain",
        help_text="An approval policy's stages (edit them under Policies); its auto-approve "
        "rule applies to catalog items only.",
    )
    approval_for_self = forms.BooleanField(required=False, label="Approval also for self-service")
    allow_privileged_targets = forms.BooleanField(
        required=False, label="Allow acting on SUPER_ADMIN / ORG_ADMIN holders"
    )
    self_service_fields = forms.MultipleChoiceField(
        choices=[(f, f) for f in PROFILE_FIELDS if f != "managerId"],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    bulk_confirm_threshold = forms.IntegerField(min_value=0, max_value=1_000_000)

    def __init__(self, *args: Any, policies: QuerySet[Policy], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["approval_policy"]).queryset = policies


def valid_id(value: str) -> bool:
    return bool(_ID.match(value))
