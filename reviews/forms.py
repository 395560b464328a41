"""Forms parse what people send; the services decide what it means."""

from __future__ import annotations

from typing import Any

from django import forms

from approvals.models import CatalogItem
from okta.models import OktaUser
from reviews.models import EndRule, ReviewerRule

DECISIONS = [("keep", "Keep"), ("revoke", "Revoke")]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=DECISIONS)
    note = forms.CharField(required=False, max_length=2000)


class BulkDecisionForm(DecisionForm):
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        # Any whole number is a candidate: the service answers "not found" for the rest.
        self.fields["ids"].choices = [(v, v) for v in raw if v.isdigit() and len(v) < 19]  # type: ignore[attr-defined]


def _names(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    items = forms.ModelMultipleChoiceField(
        queryset=CatalogItem.objects.order_by("name", "id"),
        required=False,
        label="Catalog items",
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    groups = forms.CharField(
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Okta groups",
        help_text="Exact names, one a line.",
    )
    apps = forms.CharField(
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Okta apps",
        help_text="Exact labels, one a line.",
    )
    reviewer_rule = forms.ChoiceField(choices=ReviewerRule.choices, label="Who reviews")
    reviewer = forms.CharField(
        required=False,
        max_length=255,
        label="Named reviewer",
        help_text="Okta login, when a named person reviews. Anyone the rule names nobody for, "
        "or only themselves, is reviewed by the admins.",
    )
    end_rule = forms.ChoiceField(choices=EndRule.choices, label="At the end")
    starts_at = forms.DateTimeField(
        required=False,
        label="Starts",
        help_text="Empty: now.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    due_at = forms.DateTimeField(
        label="Due", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def clean_reviewer(self) -> str:
        login = self.cleaned_data["reviewer"].strip()
        if not login:
            return ""
        found = OktaUser.objects.filter(login__iexact=login).values_list("pk", flat=True).first()
        if found is None:
            raise forms.ValidationError("Nobody in the directory signs in with that login.")
        return str(found)

    def scope(self) -> dict[str, Any]:
        return {
            "catalog_item_ids": [item.pk for item in self.cleaned_data["items"]],
            "group_names": _names(self.cleaned_data["groups"]),
            "app_names": _names(self.cleaned_data["apps"]),
        }


class DelegateForm(forms.Form):
    login = forms.CharField(max_length=255, label="Hand over to (Okta login)")
    note = forms.CharField(required=False, max_length=2000)

    def clean_login(self) -> str:
        login = self.cleaned_data["login"].strip()
        found = OktaUser.objects.filter(login__iexact=login).values_list("pk", flat=True).first()
        if found is None:
            raise forms.ValidationError("Nobody in the directory signs in with that login.")
        return str(found)
