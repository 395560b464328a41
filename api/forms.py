from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator

from api.models import SCOPES, TokenKind


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “ServiceNow sync”.")
    kind = forms.ChoiceField(choices=TokenKind.choices, initial=TokenKind.PERSONAL)
    scopes = forms.MultipleChoiceField(
        choices=list(SCOPES.items()), widget=forms.CheckboxSelectMultiple
    )
    days = forms.IntegerField(min_value=1, initial=90, label="Expires after (days)")

    def __init__(self, *args: Any, may_make_service: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        days = self.fields["days"]
        assert isinstance(days, forms.IntegerField)
        days.max_value = int(settings.API_TOKEN_MAX_DAYS)
        days.validators.append(MaxValueValidator(days.max_value))
        self.fields["kind"].widget.attrs["class"] = "form-select"
        if not may_make_service:
            self.fields["kind"].choices = [(TokenKind.PERSONAL, "Personal")]  # type: ignore[attr-defined]
