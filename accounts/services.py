"""Gatehouse accounts following the directory: sessions end when Okta takes a person's access away.

Sign-in (accounts.auth) decides who may come in; this module decides who may stay. A session
lasts ``SESSION_COOKIE_AGE`` (8 hours by default), so a person suspended or deactivated in Okta
would otherwise keep using Gatehouse until it expired. Whenever the mirror learns of status
changes (full and incremental sync, event hooks, Gatehouse's own lifecycle operations) it calls
``accounts_sessions_end``, which raises the ``session_epoch`` of every account whose person is
now in a status that ends sessions: Django then refuses their session cookie on the next
request, whatever the session store holds.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db import transaction
from django.db.models import F

from accounts.models import User
from audit.services import audit_record_many
from okta.models import OktaUser, UserStatus

# Sessions outlive only the states that are about the password, not about the person's access:
# ACTIVE and PASSWORD_EXPIRED (the sign-in statuses), RECOVERY (a password reset under way, which
# people start themselves from Gatehouse) and LOCKED_OUT (too many wrong passwords, which anyone
# who knows the login can cause: ending sessions on it would let a stranger sign people out).
# SUSPENDED and DEPROVISIONED end them, and so do STAGED and PROVISIONED, which an account that
# once signed in only reaches through deactivation and reactivation.
SESSION_STATUSES = frozenset(
    {UserStatus.ACTIVE, UserStatus.PASSWORD_EXPIRED, UserStatus.RECOVERY, UserStatus.LOCKED_OUT}
)
ENDS_SESSIONS = frozenset(UserStatus) - SESSION_STATUSES


def accounts_sessions_end(
    *, source: str, gone: Collection[str] = (), mirror_complete: bool = False
) -> int:
    """End the sessions of every active account whose person's mirrored status ends sessions,
    or whose Okta id is in ``gone`` (removed from the mirror: deleted in Okta, or no longer
    mirrored), or, when ``mirror_complete`` (a full sync has just read every user), whose
    person is not in the mirror at all. The accounts become inactive until their next allowed
    sign-in; one audit event each (``account.sessions_ended``). Returns how many were ended.

    A set-based query over Gatehouse's own accounts; the session table is never read."""
    ending = OktaUser.objects.filter(status__in=ENDS_SESSIONS).values("pk")
    with transaction.atomic():
        accounts = list(
            User.objects.select_for_update()
            .filter(is_active=True, okta_id__in=ending)
            .values_list("pk", "okta_id", "username")
        )
        if mirror_complete:
            accounts += (
                User.objects.select_for_update()
                .filter(is_active=True, okta_id__isnull=False)
                .exclude(okta_id__in=OktaUser.objects.values("pk"))
                .values_list("pk", "okta_id", "username")
            )
        if gone:
            accounts += (
                User.objects.select_for_update()
                .filter(is_active=True, okta_id__in=list(gone))
                .values_list("pk", "okta_id", "username")
            )
        accounts = list(dict.fromkeys(accounts))
        if not accounts:
            return 0
        statuses = dict(
            OktaUser.objects.filter(pk__in=[okta_id for _, okta_id, _ in accounts]).values_list(
                "pk", "status"
            )
        )
        User.objects.filter(pk__in={pk for pk, _, _ in accounts}).update(
            is_active=False, session_epoch=F("session_epoch") + 1
        )
        audit_record_many(
            events=[
                {
                    "action": "account.sessions_ended",
                    "actor": "okta",
                    "target_type": "user",
                    "target_id": okta_id,
                    "target_label": username,
                    "detail": {
                        "status": statuses.get(okta_id or "", "not in the directory"),
                        "source": source,
                    },
                }
                for _, okta_id, username in accounts
            ]
        )
    return len(accounts)
