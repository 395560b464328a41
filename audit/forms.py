from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from audit.models import AuditEventQuerySet

OUTCOME_CHOICES = [
    ("", "Any outcome"),
    ("success", "Success"),
    ("failure", "Failure"),
    ("denied", "Denied"),
]


# The hint the action filter shows: a prefix real events have (access requests' actions).
ACTION_EXAMPLE = "access_request.*"


class AuditFilterForm(forms.Form):
    """The audit page's filters (also the export's); every field is optional."""

    actor = forms.CharField(required=False, max_length=254, label="Actor")
    action = forms.CharField(
        required=False,
        max_length=64,
        label="Action",
        help_text=f"Exact, or a prefix ending in * ({ACTION_EXAMPLE})",
    )
    target_type = forms.CharField(required=False, max_length=64, label="Target type")
    target_id = forms.CharField(required=False, max_length=128, label="Target id")
    outcome = forms.ChoiceField(required=False, choices=OUTCOME_CHOICES, label="Outcome")
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )
    q = forms.CharField(required=False, max_length=200, label="Target name contains")
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError("The start date is after the end date.")
        if data.get("before") and data.get("after") is not None:
            raise forms.ValidationError("Page either before or after an event, not both.")
        return data

    def apply(self, queryset: AuditEventQuerySet) -> AuditEventQuerySet:
        """``queryset`` narrowed by the cleaned filters (paging is the caller's business)."""
        data = self.cleaned_data
        zone = timezone.get_current_timezone()

        def start_of(day: dt.date | None) -> dt.datetime | None:
            return dt.datetime.combine(day, dt.time.min, tzinfo=zone) if day else None

        day_after_end = data["date_to"] + dt.timedelta(days=1) if data["date_to"] else None
        return queryset.filter_by(
            actor=data["actor"].strip(),
            action=data["action"].strip(),
            target_type=data["target_type"].strip(),
            target_id=data["target_id"].strip(),
            outcome=data["outcome"],
            occurred_from=start_of(data["date_from"]),
            occurred_to=start_of(day_after_end),
            text=data["q"].strip(),
        )

    def filter_params(self) -> dict[str, str]:
        """The filters as query parameters (without paging), for links and exports."""
        return {
            name: str(value)
            for name, value in self.data.items()
            if name in self.fields and name not in ("before", "after") and value
        }
