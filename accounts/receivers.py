"""accounts follows the mirror: okta announces status changes, accounts ends sessions."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.dispatch import receiver

from accounts.services import accounts_sessions_end
from okta.signals import statuses_changed


@receiver(statuses_changed, dispatch_uid="accounts.sessions_end")
def sessions_end_on_status_change(
    *, source: str, gone: Collection[str], mirror_complete: bool, **_: Any
) -> int:
    return accounts_sessions_end(source=source, gone=gone, mirror_complete=mirror_complete)
