"""How a request that is not for a catalog item is carried out once approved.

Another app (identity) asks for approval of its own kind of request with
``services.approval_request_open(kind=…)`` and registers, when its app is ready, the hooks
approvals calls for that kind. Approvals keeps the whole approval life (routing, stages,
decisions, timeline, notifications, expiry, the inbox) and the outbox: the hooks only say which
Okta operations to write, so approvals never imports the app that registered them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from approvals.models import AccessRequest
    from okta.models import Operation

# (operation kind, params) for okta.operations.operation_enqueue
OperationSpec = tuple[str, dict[str, Any]]


def _no_followups(req: AccessRequest, op: Operation) -> list[OperationSpec]:
    return []


@dataclass(frozen=True)
class Fulfilment:
    kind: str
    # At final approval, inside its transaction (the request row is locked): check what may
    # have changed while it waited and say which operations to write. Raising
    # ``ApprovalError`` refuses the approval and changes nothing.
    operations: Callable[[AccessRequest, Any], list[OperationSpec]]
    # The page that shows what the request does, for the request's own page.
    link: Callable[[AccessRequest], str]
    # After one of its operations succeeded: more operations that depend on its result (a new
    # user's app assignments). Called again for a repeated callback, so it must not repeat
    # itself.
    followups: Callable[[AccessRequest, Operation], list[OperationSpec]] = _no_followups


_REGISTRY: dict[str, Fulfilment] = {}


def fulfilment_register(fulfilment: Fulfilment) -> None:
    _REGISTRY[fulfilment.kind] = fulfilment


def fulfilment_for(kind: str) -> Fulfilment:
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise LookupError(f"No fulfilment is registered for requests of kind {kind!r}.") from None
