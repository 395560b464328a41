"""Sign-in looks up people the mirror does not know in Okta itself (the sandbox, over HTTP)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.auth import SignInRefused, person_find, signin_complete
from gatehouse.management.oidc_claims import acme_refused_people
from okta.models import OktaUser

pytestmark = pytest.mark.django_db


def test_person_find_new_joiner_looked_up_by_sub_and_mirrored(okta_sandbox: Any) -> None:
    maya_id = okta_sandbox.user_id("maya.chen@acme.com")
    person = person_find(claims={"sub": maya_id, "email": "maya.chen@acme.com"})
    assert person.id == maya_id
    mirrored = OktaUser.objects.get(pk=maya_id)
    assert (mirrored.login, mirrored.status) == ("maya.chen@acme.com", "ACTIVE")
    assert mirrored.title == "Software Engineer"
    assert mirrored.manager_id == okta_sandbox.user_id("priya.patel@acme.com")


def test_person_find_new_joiner_looked_up_by_email(okta_sandbox: Any) -> None:
    person = person_find(claims={"sub": "elsewhere|123", "email": "john.doe@acme.com"})
    assert person.id == okta_sandbox.user_id("john.doe@acme.com")


def test_person_find_unknown_to_okta_refused(okta_sandbox: Any) -> None:
    with pytest.raises(SignInRefused) as refused:
        person_find(claims={"sub": "00unobody0000000000", "email": "nobody@acme.com"})
    assert refused.value.code == "not_in_directory"
    assert not OktaUser.objects.exists()


def test_person_find_suspended_in_okta_refused(okta_sandbox: Any) -> None:
    suspended = acme_refused_people()["SUSPENDED"]
    with pytest.raises(SignInRefused) as refused:
        person_find(claims={"sub": suspended["sub"], "email": suspended["email"]})
    assert refused.value.code == "status_suspended"


def test_person_find_sub_matching_another_login_is_not_trusted(okta_sandbox: Any) -> None:
    # A provider whose sub happens to be someone's Okta login must not sign in as them.
    with pytest.raises(SignInRefused) as refused:
        person_find(claims={"sub": "maya.chen@acme.com", "email": "intruder@example.com"})
    assert refused.value.code == "not_in_directory"


def test_person_find_okta_failing_refused_as_unavailable(okta_sandbox: Any) -> None:
    okta_sandbox.set_faults(error_rate=1.0, seed=1)
    with pytest.raises(SignInRefused) as refused:
        person_find(claims={"sub": okta_sandbox.user_id("maya.chen@acme.com")})
    assert refused.value.code == "directory_unavailable"


def test_signin_complete_new_joiner_gets_account_linked(okta_sandbox: Any) -> None:
    sam_id = okta_sandbox.user_id("sam.rivera@acme.com")
    user = signin_complete(claims={"sub": sam_id}, request=None)
    assert (user.okta_id, user.username, str(user)) == (sam_id, "sam.rivera@acme.com", "Sam Rivera")


def test_person_find_email_okta_cannot_name_is_not_found(okta_sandbox: Any) -> None:
    with pytest.raises(SignInRefused) as refused:
        person_find(claims={"sub": "x", "email": "we ird/../@acme.com"})
    assert refused.value.code == "not_in_directory"
