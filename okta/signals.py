"""What the mirror tells the apps above it.

okta sits below accounts (accounts reads the mirror to sign people in and to give them roles),
so it cannot call accounts; it announces instead, and accounts listens (accounts/receivers.py).
"""

from __future__ import annotations

from collections.abc import Collection

from django.dispatch import Signal

# Sent whenever the mirror learns of status changes: full and incremental sync, event hooks,
# Gatehouse's own lifecycle operations. Arguments: ``source`` (what learned it, for the audit
# trail), ``gone`` (Okta ids just removed from the mirror), ``mirror_complete`` (a full sync has
# just read every user, so anyone not in the mirror is gone too). A receiver returns how many
# accounts it ended the sessions of.
statuses_changed = Signal()


def statuses_changed_send(
    *, source: str, gone: Collection[str] = (), mirror_complete: bool = False
) -> int:
    """Announce status changes; returns how many accounts' sessions the receivers ended."""
    answers = statuses_changed.send(
        sender=None, source=source, gone=tuple(gone), mirror_complete=mirror_complete
    )
    ended = 0
    for _, answer in answers:
        if isinstance(answer, int):
            ended += answer
    return ended
