"""The reports a "show me …" asks for: reads of the mirror, each as a header and rows (for the
page and its CSV), and who may see each one (the same people as the page it mirrors)."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import User
from approvals.models import AccessRequest
from assistant.plan import Report
from core.errors import ServiceError
from identity import bulk
from identity.services import admin_role_report
from okta.models import AppAssignment, OktaGroup

MAX_ROWS = 5000


class ReportRefused(ServiceError):
    pass


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]]
    truncated: bool = False


def report_table(*, actor: User, report: Report) -> Table:
    """The rows of ``report`` as ``actor`` may see them; ``ReportRefused`` when they may not."""
    if report.report == "my_apps":
        rows = [
            [a.app.label, "through a group" if a.scope == "GROUP" else "assigned to you"]
            for a in AppAssignment.objects.filter(user_id=actor.okta_id or "-")
            .select_related("app")
            .order_by("app__label")
        ]
        return Table(report.label, ["App", "How"], rows)
    if report.report == "my_groups":
        rows = [
            [g.name, g.type]
            for g in OktaGroup.objects.filter(memberships__user_id=actor.okta_id or "-").order_by(
                "name"
            )
        ]
        return Table(report.label, ["Group", "Type"], rows)
    if report.report == "my_requests":
        rows = [
            [f"#{r.pk}", r.label, r.get_status_display(), r.created_at.date().isoformat()]
            for r in AccessRequest.objects.filter(requester=actor)
            .select_related("item")
            .order_by("-created_at")[:MAX_ROWS]
        ]
        return Table(report.label, ["Request", "What", "Status", "Asked on"], rows)
    if report.report == "admin_roles":
        # The admin roles report's own rule (identity's page): admins and auditors.
        if not actor.has_perm("identity.view_admin_roles"):
            raise ReportRefused("Only admins and auditors see who holds Okta admin roles.")
        rows = [
            [p.full_name, p.login, p.status, ", ".join(roles), ", ".join(groups)]
            for p, roles, groups in admin_role_report(report.args["types"])
        ]
        return Table(report.label, ["Person", "Login", "Status", "Roles", "Groups"], rows)
    if report.report == "people":
        if not actor.has_perm("okta.view_directory"):
            raise ReportRefused("Only admins and the help desk see the directory.")
        qs = bulk.selection_queryset(report.args["selection"]).order_by(
            "last_name", "first_name", "id"
        )
        people = list(
            qs.values_list(
                "first_name", "last_name", "login", "department", "status", "last_login"
            )[: MAX_ROWS + 1]
        )
        rows = [
            [f"{f} {la}".strip(), login, dep, status, seen.date().isoformat() if seen else "never"]
            for f, la, login, dep, status, seen in people[:MAX_ROWS]
        ]
        return Table(
            report.label,
            ["Person", "Login", "Department", "Status", "Last sign-in"],
            rows,
            truncated=len(people) > MAX_ROWS,
        )
    raise ReportRefused("Unknown report.")
