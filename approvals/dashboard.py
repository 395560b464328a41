"""The home page: a dashboard of what matters to the signed-in person right now.

It lives beside the requests it summarises (portal knows nothing of approvals); its query count
does not grow with the data: a fixed handful of short, limited queries per role.
"""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import User
from accounts.roles import Role, roles_for
from approvals.models import OPEN_STATUSES, AccessRequest, Grant, GrantStatus, RequestStatus
from okta.models import OktaUser, SyncRun

EXPIRING_WITHIN = timedelta(days=14)
LIST_LIMIT = 5


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    roles = roles_for(user)
    now = timezone.now()
    person = OktaUser.objects.filter(pk=user.okta_id).first() if user.okta_id else None
    context: dict[str, object] = {"person": person, "expiring_days": EXPIRING_WITHIN.days}
    if user.okta_id:
        mine = AccessRequest.objects.filter(
            Q(requester=user) | Q(subject_id=user.okta_id)
        ).select_related("item")
        context["my_open"] = list(mine.filter(status__in=OPEN_STATUSES)[:LIST_LIMIT])
        context["recently_closed"] = list(mine.exclude(status__in=OPEN_STATUSES)[:3])
        context["waiting"] = list(
            AccessRequest.objects.decidable_by(user)
            .select_related("item")
            .order_by("created_at")[:LIST_LIMIT]
        )
        context["expiring"] = list(
            Grant.objects.filter(
                subject_id=user.okta_id,
                status=GrantStatus.ACTIVE,
                expires_at__isnull=False,
                expires_at__lte=now + EXPIRING_WITHIN,
            )
            .select_related("item")
            .order_by("expires_at")[:LIST_LIMIT]
        )
    if Role.ADMIN in roles:
        context["failed_count"] = AccessRequest.objects.filter(status=RequestStatus.FAILED).count()
        context["last_sync"] = SyncRun.objects.order_by("-started_at").first()
    return render(request, "portal/home.html", context)
