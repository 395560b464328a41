"""Forms parse input only; the services decide what is allowed."""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.db.models import QuerySet

from approvals.models import Policy
from identity.actions import BULK_ACTIONS, PROFILE_FIELDS, REASON_MAX
from identity.models import Requester
from identity.pickers import PickerField, PickerForm
from okta.models import UserStatus

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


class ActionForm(BootstrapForm):
    action = forms.CharField(max_length=30)
    variant = forms.CharField(max_length=30)
    group_id = forms.CharField(max_length=32, required=False)
    app_id = forms.CharField(max_length=32, required=False)
    # Sent by the confirmation step (identity/confirm.html) only.
    confirmed = forms.BooleanField(required=False)
    reason = forms.CharField(
        max_length=REASON_MAX,
        required=False,
        label="Ticket or reason (optional)",
        help_text="Kept with the action in the audit trail.",
    )

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


class UserCreateForm(PickerForm, BootstrapForm):
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
    # Every group Okta lets Gatehouse change (OKTA_GROUP) and every app, as on the bulk page:
    # the catalog is what employees may ask for, not what an admin may give a new hire.
    groups = PickerField("okta_group", multiple=True, required=False, label="Groups")
    apps = PickerField("app", multiple=True, required=False, label="Apps")


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


class PersonGroupForm(PickerForm):
    group_id = PickerField("okta_group", label="Group (OKTA_GROUP)")


class PersonAppForm(PickerForm):
    app_id = PickerField("app", label="App")


class BulkForm(PickerForm, BootstrapForm):
    # A missing action is answered by the page, in words next to the field, like every
    # other mistake on this form (not by the browser's own "required" bubble).
    use_required_attribute = False

    department = forms.CharField(max_length=100, required=False)
    status = forms.ChoiceField(choices=[("", "any status"), *UserStatus.choices], required=False)
    inactive_days = forms.IntegerField(
        min_value=1, max_value=3650, required=False, label="No sign-in for (days)"
    )
    group_id = PickerField("group", required=False, label="Members of group")
    logins = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Or these logins"
    )
    # Nothing chosen until the admin chooses: a bulk change is never a default.
    action = forms.ChoiceField(
        choices=[("", "Choose an action…"), *((k, v[2]) for k, v in BULK_ACTIONS.items())],
        error_messages={"required": "Choose what to do to these people."},
    )
    target_group_id = PickerField("okta_group", required=False, label="Group to change")
    app_ids = PickerField("app", multiple=True, required=False, label="Apps")
    preview_hash = forms.CharField(required=False, widget=forms.HiddenInput)

    # The page's two questions, each field in exactly one of them.
    WHO = ("department", "status", "inactive_days", "group_id", "logins")
    WHAT = ("action", "target_group_id", "app_ids")

    def who(self) -> list[forms.BoundField]:
        return [self[name] for name in self.WHO]

    def what(self) -> list[forms.BoundField]:
        return [self[name] for name in self.WHAT]

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
