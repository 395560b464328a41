from __future__ import annotations

from typing import Any

from django import forms

from okta.models import AuthMethod, GroupType, UserStatus


class ConnectionForm(forms.Form):
    """Org URL and credentials. Secret fields are never filled back in (render_value=False)."""

    org_url = forms.URLField(
        label="Okta org URL",
        max_length=255,
        assume_scheme="https",
        help_text="https://acme.okta.com",
    )
    auth_method = forms.ChoiceField(choices=AuthMethod.choices, widget=forms.RadioSelect)
    api_token = forms.CharField(
        label="API token",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave blank to keep the stored token.",
    )
    client_id = forms.CharField(label="Client id", required=False, max_length=100)
    private_key = forms.CharField(
        label="Private key (PEM or JWK)",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave blank to keep the stored key.",
    )
    scopes = forms.CharField(
        required=False,
        max_length=1000,
        help_text="Space-separated, e.g. okta.users.read okta.groups.read",
    )

    def __init__(self, *args: Any, has_stored_secret: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.has_stored_secret = has_stored_secret
        for name, field in self.fields.items():
            if name != "auth_method":
                field.widget.attrs.setdefault("class", "form-control")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        method = data.get("auth_method")
        if (
            method == AuthMethod.API_TOKEN
            and not data.get("api_token")
            and not self.has_stored_secret
        ):
            self.add_error("api_token", "Enter the API token.")
        if method == AuthMethod.OAUTH:
            if not data.get("client_id"):
                self.add_error("client_id", "Enter the service app's client id.")
            if not data.get("private_key") and not self.has_stored_secret:
                self.add_error("private_key", "Enter the private key.")
        return data


class ScopeForm(forms.Form):
    group_types = forms.MultipleChoiceField(
        choices=GroupType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        help_text="None ticked: every type.",
    )
    group_name_patterns = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One pattern per line, * and ? wildcards, case-insensitive. Empty: all groups.",
    )
    user_statuses = forms.MultipleChoiceField(
        choices=UserStatus.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        help_text="None ticked: every status Okta lists by default (all but DEPROVISIONED).",
    )

    def clean_group_name_patterns(self) -> list[str]:
        raw = self.cleaned_data.get("group_name_patterns") or ""
        patterns = [line.strip() for line in raw.splitlines() if line.strip()]
        for pattern in patterns:
            if len(pattern) > 200:
                raise forms.ValidationError("A pattern is longer than 200 characters.")
        return patterns


class UserSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")
    status = forms.ChoiceField(
        choices=[("", "Any status"), *UserStatus.choices],
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    department = forms.CharField(required=False, max_length=100)
    after = forms.CharField(required=False, max_length=600, widget=forms.HiddenInput)


class NameSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")
    after = forms.CharField(required=False, max_length=600, widget=forms.HiddenInput)
