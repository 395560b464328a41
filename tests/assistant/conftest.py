"""Ask Gatehouse is tested on the acme sandbox: the mirror is a full sync of the seed (real
names, groups, apps and admin roles), the demo's starter catalog is published from it, and
write steps are run to Okta's state by okta's executor (tests/identity/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from approvals.demo import demo_catalog_publish
from tests.identity.conftest import Acme, _process_local_cache, run_ops  # noqa: F401


@pytest.fixture
def acme(okta_sandbox: Any, db: None) -> Acme:
    world = Acme(okta_sandbox)
    demo_catalog_publish()
    return world
