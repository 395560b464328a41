"""The approvals test people for the fault suites' service-level tests."""

from tests.approvals.conftest import backend, people

__all__ = ["backend", "people"]
