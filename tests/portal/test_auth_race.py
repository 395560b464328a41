"""Two tabs finishing the same person's first sign-in at once make one account.

Meant for PostgreSQL: DATABASE_URL=postgres://postgres@127.0.0.1:5432/gh_signin pytest ..."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from portal.auth import signin_complete
from portal.models import User
from tests.portal.conftest import person_make


@pytest.mark.django_db(transaction=True)
def test_signin_complete_concurrent_first_signins_make_one_account(settings: Any) -> None:
    settings.OKTA_ORG_URL = ""
    maya = person_make("maya.chen@acme.com")
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def sign_in() -> None:
        try:
            barrier.wait(5)
            results.append(signin_complete(claims={"sub": maya.id}, request=None).pk)
        except Exception as exc:
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_in) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 2
    accounts = {result for result in results if isinstance(result, int)}
    failures = [result for result in results if not isinstance(result, int)]
    # PostgreSQL: the loser's insert fails on the unique okta_id, it looks again and finds the
    # winner's account. SQLite's in-memory test database (shared cache) refuses the second
    # writer at once with a table lock, where a file database would make it wait.
    assert all(_sqlite_table_lock(failure) for failure in failures), failures
    assert len(accounts) == 1
    assert User.objects.filter(okta_id=maya.id).count() == 1


def _sqlite_table_lock(failure: Any) -> bool:
    return connection.vendor == "sqlite" and "database table is locked" in str(failure)
