"""The plan: what a sentence asked for, as typed steps, each one existing service call with its
arguments resolved against the mirror. The interpreter (``assistant.interpret``) makes it; the
preview and the confirmation (``assistant.services``) read it. Nothing here decides whether a step
is allowed: the services it names do, when previewed and again when confirmed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class CatalogRequest:
    """``approvals.services.requests.access_request_submit`` for a catalog item."""

    item_id: int
    item_name: str
    subject_id: str
    subject_label: str
    reason: str = ""
    duration_days: int | None = None
    kind: str = "catalog_request"


@dataclass
class IdentityAction:
    """``identity.services.action_submit`` for one action (one person, or a new user/group)."""

    action: str
    variant: str
    label: str
    target_user_id: str = ""
    target_label: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    kind: str = "identity_action"


@dataclass
class BulkAction:
    """``identity.bulk.bulk_preview`` then ``bulk_confirm`` on a selection of people."""

    action: str
    label: str
    selection: dict[str, Any]
    selection_label: str
    params: dict[str, Any] = field(default_factory=dict)
    kind: str = "bulk"


@dataclass
class Report:
    """A read of the mirror, shown at once (``assistant.reports``)."""

    report: str
    label: str
    args: dict[str, Any] = field(default_factory=dict)
    kind: str = "report"


@dataclass
class FollowUp:
    """What can be asked only once an earlier step is done in Okta (e.g. adding people to a
    group being created): shown as a sentence to ask next, never run by this plan."""

    text: str
    why: str
    kind: str = "follow_up"


Step = CatalogRequest | IdentityAction | BulkAction | Report | FollowUp


@dataclass
class Choice:
    """One way to settle an ambiguity: the label shown and the sentence it makes."""

    label: str
    text: str


@dataclass
class Problem:
    """Why the sentence cannot become a plan as it stands, with choices when they are known
    ("3 people match “Alex” — which?")."""

    message: str
    choices: list[Choice] = field(default_factory=list)


@dataclass
class Unknown:
    """A word the interpreter did not understand, with close words it knows."""

    word: str
    suggestions: list[str] = field(default_factory=list)


@dataclass
class Plan:
    text: str
    steps: list[Step] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unknown: list[Unknown] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how a word was read ("suspnd" as "suspend")

    @property
    def ok(self) -> bool:
        return bool(self.steps) and not self.problems

    @property
    def is_report(self) -> bool:
        return self.ok and all(isinstance(s, Report) for s in self.steps)

    @property
    def writes(self) -> list[Step]:
        return [s for s in self.steps if not isinstance(s, Report | FollowUp)]

    def as_json(self) -> dict[str, Any]:
        """What the audit trail keeps of the plan."""
        return {
            "steps": [asdict(s) for s in self.steps],
            "problems": [p.message for p in self.problems],
            "notes": list(self.notes),
        }
