"""Forms parse input only; the rules live in approvals/services/."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import Q

from approvals.models import (
    ApproverKind,
    CatalogItem,
    DecisionOutcome,
    ItemKind,
    Policy,
    RiskLevel,
    StageRule,
)
from okta.models import OktaGroup, OktaUser


class CatalogFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")
    kind = forms.ChoiceField(
        required=False, choices=[("", "Groups and apps"), *ItemKind.choices], label="Kind"
    )
    department = forms.CharField(required=False, max_length=100, label="Department")
    page = forms.IntegerField(required=False, min_value=1)


class RequestForm(forms.Form):
    subject = forms.ChoiceField(label="Who needs it")
    duration = forms.ChoiceField(
        label="For how long",
        required=False,
        help_text="Time-bound access is removed on its end date; you can ask to extend it.",
    )
    reason = forms.CharField(
        label="Why do you need it?",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
        help_text="Your approvers decide from this: name the project, ticket or task.",
        error_messages={"required": "Say why you need it: approvers cannot decide without it."},
    )

    def __init__(self, *args: Any, item: CatalogItem, subjects: list[OktaUser], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.item = item
        cast(forms.ChoiceField, self.fields["subject"]).choices = [
            (s.pk, f"{s} (me)" if i == 0 else f"{s} (your report)") for i, s in enumerate(subjects)
        ]
        cast(forms.ChoiceField, self.fields["duration"]).choices = item.duration_choices()
        if item.default_duration_days:
            self.fields["duration"].initial = str(item.default_duration_days)
        elif item.max_duration_days is None:
            self.fields["duration"].initial = ""
        if item.reason_required:
            self.fields["reason"].required = True
            self.fields["reason"].widget.attrs["required"] = True
        if subjects:
            self.fields["subject"].initial = subjects[0].pk
        if len(subjects) <= 1:
            self.fields["subject"].widget = forms.HiddenInput()

    def clean_duration(self) -> int | None:
        value = self.cleaned_data.get("duration") or ""
        return int(value) if value else None


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(choices=DecisionOutcome.choices)
    comment = forms.CharField(required=False, max_length=2000, label="Comment")


class BulkDecisionForm(forms.Form):
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[], label="Requests")
    outcome = forms.ChoiceField(choices=DecisionOutcome.choices)
    comment = forms.CharField(required=False, max_length=2000, label="Comment for all")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Any integer may be submitted; the service checks each id against the approver.
        ids = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        cast(forms.ChoiceField, self.fields["ids"]).choices = [
            (v, v) for v in ids if str(v).isdigit()
        ]


class OwnersField(forms.CharField):
    """Okta user ids or logins, separated by commas or whitespace."""

    def prepare_value(self, value: Any) -> Any:
        # The model keeps a list of ids; the box shows them as text (an empty list as nothing).
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        tokens = [t for t in text.replace(",", " ").split() if t]
        if not tokens:
            return []
        found = dict(OktaUser.objects.filter(login__in=tokens).values_list("login", "id")) | dict(
            OktaUser.objects.filter(id__in=tokens).values_list("id", "id")
        )
        missing = [t for t in tokens if t not in found]
        if missing:
            raise forms.ValidationError(f"Not in the directory: {', '.join(missing)}")
        return list(dict.fromkeys(found[t] for t in tokens))


class PolicyChoiceField(forms.ModelChoiceField):
    """Each policy with who approves at each stage, so the choice says what it means."""

    def label_from_instance(self, obj: Any) -> str:
        stages = " → ".join(s.get_approvers_display() for s in obj.stages.all())
        return f"{obj.name} ({stages})" if stages else str(obj.name)


class CatalogItemForm(forms.ModelForm):
    # No policy is chosen for a new item: who approves is a decision, not a default.
    policy = PolicyChoiceField(
        queryset=Policy.objects.prefetch_related("stages"),
        label="Policy",
        empty_label="Choose who approves…",
        error_messages={"required": "Choose the policy that decides who approves."},
    )
    owners = OwnersField(
        required=False,
        label="Owners",
        help_text="Okta logins or ids, separated by commas.",
    )
    approver_group = forms.CharField(
        required=False,
        max_length=255,
        label="Approver group",
        help_text=(
            "The Okta group's exact name or id. Needed when the policy has a stage for the "
            "approver group."
        ),
    )

    class Meta:
        model = CatalogItem
        fields = [
            "name",
            "description",
            "department",
            "owners",
            "approver_group",
            "policy",
            "risk",
            "reason_required",
            "default_duration_days",
            "max_duration_days",
        ]
        labels = {
            "default_duration_days": "Default duration (days, empty = permanent)",
            "max_duration_days": "Maximum duration (days, empty = permanent allowed)",
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False
        if self.instance.pk and self.instance.owners:
            logins = dict(
                OktaUser.objects.filter(id__in=self.instance.owners).values_list("id", "login")
            )
            self.initial["owners"] = ", ".join(logins.get(o, o) for o in self.instance.owners)
        if self.instance.approver_group_id:
            group = OktaGroup.objects.filter(pk=self.instance.approver_group_id).first()
            self.initial["approver_group"] = (
                group.name if group else self.instance.approver_group_id
            )

    def clean_approver_group(self) -> OktaGroup | None:
        text = (self.cleaned_data.get("approver_group") or "").strip()
        if not text:
            return None
        matches = list(OktaGroup.objects.filter(Q(pk=text) | Q(name=text))[:2])
        if len(matches) != 1:
            raise forms.ValidationError(
                "No such group." if not matches else "Several groups have that name: give its id."
            )
        return matches[0]


STAGE_CHOICES = [("", "— none —"), *ApproverKind.choices]


class PolicyForm(forms.ModelForm):
    auto_approve_departments_text = forms.CharField(
        required=False,
        label="Auto-approve only for these departments (comma separated, empty = everyone)",
    )
    requester_departments_text = forms.CharField(
        required=False,
        label="Who may ask: departments (comma separated, empty = everyone)",
    )
    stage1_approvers = forms.ChoiceField(choices=ApproverKind.choices, label="Stage 1 approvers")
    stage1_rule = forms.ChoiceField(choices=StageRule.choices, label="Stage 1 rule")
    stage2_approvers = forms.ChoiceField(
        choices=STAGE_CHOICES, required=False, label="Stage 2 approvers"
    )
    stage2_rule = forms.ChoiceField(choices=StageRule.choices, label="Stage 2 rule")
    stage3_approvers = forms.ChoiceField(
        choices=STAGE_CHOICES, required=False, label="Stage 3 approvers"
    )
    stage3_rule = forms.ChoiceField(choices=StageRule.choices, label="Stage 3 rule")

    class Meta:
        model = Policy
        fields = ["name", "description", "auto_approve_max_risk"]
        labels = {"auto_approve_max_risk": "Auto-approve items up to this risk (empty = never)"}
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["auto_approve_max_risk"] = forms.ChoiceField(
            choices=[("", "Never"), *RiskLevel.choices],
            required=False,
            label=self.Meta.labels["auto_approve_max_risk"],
        )
        policy = self.instance
        if policy.pk:
            self.initial["auto_approve_departments_text"] = ", ".join(
                policy.auto_approve_departments
            )
            self.initial["requester_departments_text"] = ", ".join(policy.requester_departments)
            for stage in policy.stages.all():
                self.initial[f"stage{stage.position}_approvers"] = stage.approvers
                self.initial[f"stage{stage.position}_rule"] = stage.rule

    @staticmethod
    def _split(text: str) -> list[str]:
        return [p.strip() for p in text.split(",") if p.strip()]

    def stages(self) -> list[tuple[str, str]]:
        data = self.cleaned_data
        result = []
        for n in (1, 2, 3):
            approvers = data.get(f"stage{n}_approvers")
            if approvers:
                result.append((approvers, data.get(f"stage{n}_rule") or StageRule.ANY))
        return result

    def save(self, commit: bool = False) -> Policy:
        policy: Policy = super().save(commit=False)
        policy.auto_approve_departments = self._split(
            self.cleaned_data["auto_approve_departments_text"]
        )
        policy.requester_departments = self._split(self.cleaned_data["requester_departments_text"])
        return policy


class GrantFilterForm(forms.Form):
    item = forms.CharField(required=False, max_length=100, label="Item")
    q = forms.CharField(required=False, max_length=100, label="Person")
    ends = forms.ChoiceField(
        required=False,
        choices=[("", "Any time"), ("week", "Within 7 days"), ("never", "Never (permanent)")],
        label="Ends",
    )
    before = forms.IntegerField(required=False, min_value=1)


class GrantEndForm(forms.Form):
    reason = forms.CharField(
        label="Why does this access end?",
        max_length=500,
        error_messages={"required": "Say why this access ends: the holder is told."},
    )
