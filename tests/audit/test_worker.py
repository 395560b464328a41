"""The verification of a large trail, carried out by a real Celery worker."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent, AuditVerification
from audit.services import audit_record_many


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_verify_large_trail_is_finished_by_the_worker(
    client: Client, auditor: Any, settings: Any, celery_worker: Any
) -> None:
    settings.AUDIT_VERIFY_SYNC_LIMIT = 0  # every trail counts as large: the task path
    audit_record_many(events=[{"action": "request.submitted"} for _ in range(25)])
    client.force_login(auditor)
    response = client.post(reverse("audit:verify"))
    assert response.status_code == 302
    verification = AuditVerification.objects.get()

    def finished() -> bool:
        return AuditVerification.objects.get(pk=verification.pk).is_finished

    celery_worker.wait_for(finished, what="the audit verification task")
    verification.refresh_from_db()
    assert verification.status == "passed"
    assert verification.checked == 25
    event = AuditEvent.objects.get(action="audit.verified")
    assert event.actor == "tessa.nguyen@acme.com" and event.outcome == "success"
