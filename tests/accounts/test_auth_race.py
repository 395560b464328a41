"""Two tabs finishing the same person's first sign-in at once make one account.

Meant for PostgreSQL: DATABASE_URL=postgres://postgres@127.0.0.1:5432/gh_signin pytest ..."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.auth import signin_complete
from accounts.models import User
from tests.fixtures.concurrency import at_once, sqlite_table_locked
from tests.world import Cast


@pytest.mark.django_db(transaction=True)
def test_signin_complete_concurrent_first_signins_make_one_account(settings: Any) -> None:
    settings.OKTA_ORG_URL = ""
    maya = Cast().maya

    def sign_in() -> int:
        return signin_complete(claims={"sub": maya.id}, request=None).pk

    results = at_once([sign_in, sign_in])
    accounts = {result for result in results if isinstance(result, int)}
    failures = [result for result in results if not isinstance(result, int)]
    # PostgreSQL: the loser's insert fails on the unique okta_id, it looks again and finds the
    # winner's account. SQLite's in-memory test database (shared cache) refuses the second
    # writer at once with a table lock, where a file database would make it wait.
    assert all(sqlite_table_locked(failure) for failure in failures), failures
    assert len(accounts) == 1
    assert User.objects.filter(okta_id=maya.id).count() == 1
