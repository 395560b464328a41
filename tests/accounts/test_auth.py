"""Sign-in: matching OIDC claims to the directory, linking accounts, refusals and audit."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.auth import SignInRefused, account_link, person_find, signin_complete
from accounts.models import User
from audit.models import AuditEvent
from okta.models import OktaUser
from tests.accounts.conftest import person_make

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_okta(settings: Any) -> None:
    settings.OKTA_ORG_URL = ""  # the mirror is the whole directory in these tests


def test_person_find_matches_by_sub(maya: OktaUser) -> None:
    found = person_find(claims={"sub": maya.id, "email": "someone.else@example.com"})
    assert found == maya


def test_person_find_prefers_sub_over_email(maya: OktaUser) -> None:
    other = person_make("other.person@acme.com")
    found = person_find(claims={"sub": maya.id, "email": other.email, "email_verified": True})
    assert found == maya


def test_person_find_matches_by_email_when_sub_unknown(maya: OktaUser) -> None:
    found = person_find(claims={"sub": "not-an-okta-id", "email": "MAYA.CHEN@acme.com"})
    assert found == maya


def test_person_find_matches_by_email_field_when_login_differs(db: None) -> None:
    person = person_make("mchen", email="maya.chen@acme.com")
    found = person_find(claims={"sub": "elsewhere-123", "email": "maya.chen@acme.com"})
    assert found == person


def test_person_find_ignores_unverified_email(maya: OktaUser) -> None:
    with pytest.raises(SignInRefused) as refused:
        person_find(claims={"sub": "x", "email": maya.email, "email_verified": False})
    assert refused.value.code == "not_in_directory"


def test_person_find_refuses_unknown_person(db: None) -> None:
    with pytest.raises(SignInRefused) as refused:
        person_find(claims={"sub": "00unobody", "email": "nobody@acme.com"})
    assert refused.value.code == "not_in_directory"
    assert "not found in the company directory" in refused.value.message


def test_person_find_refuses_claims_without_identity(db: None) -> None:
    with pytest.raises(SignInRefused) as refused:
        person_find(claims={})
    assert refused.value.code == "no_identity"


def test_person_find_refuses_ambiguous_email(db: None) -> None:
    person_make("a.one@acme.com", email="shared@acme.com")
    person_make("b.two@acme.com", email="shared@acme.com")
    with pytest.raises(SignInRefused) as refused:
        person_find(claims={"sub": "x", "email": "shared@acme.com"})
    assert refused.value.code == "ambiguous_email"


@pytest.mark.parametrize(
    ("status", "says"),
    [
        ("SUSPENDED", "Your account is suspended in the company directory"),
        ("DEPROVISIONED", "Your account has been deactivated in the company directory"),
        ("STAGED", "Your account in the company directory has not been activated yet"),
        ("PROVISIONED", "Your account in the company directory has not been activated yet"),
    ],
)
def test_person_find_refuses_inactive_status_in_plain_words(
    db: None, status: str, says: str
) -> None:
    person = person_make("sam.inactive@acme.com", status=status)
    with pytest.raises(SignInRefused) as refused:
        person_find(claims={"sub": person.id})
    assert refused.value.code == f"status_{status.lower()}"
    assert refused.value.message.startswith(f"{says}, so you cannot sign in to Gatehouse. ")


@pytest.mark.parametrize("status", ["PASSWORD_EXPIRED", "RECOVERY", "LOCKED_OUT"])
def test_person_find_allows_statuses_about_the_password(db: None, status: str) -> None:
    """A reset under way (RECOVERY, which people start themselves from Gatehouse), an expired
    password or a lockout is about the password: whoever Okta let in keeps the portal."""
    person = person_make("pat.password@acme.com", status=status)
    assert person_find(claims={"sub": person.id}) == person


def test_signin_complete_creates_linked_account(maya: OktaUser, claims_of: Any) -> None:
    user = signin_complete(claims=claims_of(maya), request=None)
    user.refresh_from_db()
    assert user.okta_id == maya.id
    assert user.username == "maya.chen@acme.com"
    assert user.email == "maya.chen@acme.com"
    assert (user.first_name, user.last_name) == ("Maya", "Chen")
    assert str(user) == "Maya Chen"
    assert not user.has_usable_password()


def test_signin_complete_audits_success(maya: OktaUser, claims_of: Any) -> None:
    signin_complete(claims=claims_of(maya), request=None)
    event = AuditEvent.objects.get(action="signin.succeeded")
    assert event.actor == "maya.chen@acme.com"
    assert event.actor_okta_id == maya.id
    assert event.target_id == maya.id
    assert event.outcome == "success"


def test_signin_complete_refreshes_account_from_directory(maya: OktaUser, claims_of: Any) -> None:
    first = signin_complete(claims=claims_of(maya), request=None)
    OktaUser.objects.filter(pk=maya.pk).update(
        login="maya.lee@acme.com", email="maya.lee@acme.com", last_name="Lee"
    )
    maya.refresh_from_db()
    again = signin_complete(claims=claims_of(maya), request=None)
    assert again.pk == first.pk
    again.refresh_from_db()
    assert again.username == "maya.lee@acme.com"
    assert again.last_name == "Lee"
    assert User.objects.count() == 1


def test_signin_complete_links_existing_unlinked_account(maya: OktaUser, claims_of: Any) -> None:
    existing = User.objects.create_user("maya.chen@acme.com", email="old@acme.com")
    user = signin_complete(claims=claims_of(maya), request=None)
    assert user.pk == existing.pk
    existing.refresh_from_db()
    assert existing.okta_id == maya.id
    assert existing.email == "maya.chen@acme.com"


def test_signin_complete_refuses_login_reused_by_new_okta_user(
    maya: OktaUser, claims_of: Any
) -> None:
    User.objects.create_user("maya.chen@acme.com", okta_id="00uformerowner000000")
    with pytest.raises(SignInRefused) as refused:
        signin_complete(claims=claims_of(maya), request=None)
    assert refused.value.code == "login_reused"
    assert User.objects.filter(okta_id=maya.id).count() == 0


def test_signin_complete_refusal_creates_no_account_and_is_audited(db: None) -> None:
    person = person_make("sam.suspended@acme.com", status="SUSPENDED")
    with pytest.raises(SignInRefused):
        signin_complete(claims={"sub": person.id, "email": person.email}, request=None)
    assert not User.objects.exists()
    event = AuditEvent.objects.get(action="signin.refused")
    assert event.outcome == "denied"
    assert event.target_id == person.id
    assert event.detail["reason"] == "status_suspended"


def test_account_link_reactivates_deactivated_account(maya: OktaUser) -> None:
    User.objects.create_user("maya.chen@acme.com", okta_id=maya.id, is_active=False)
    user = account_link(person=maya)
    assert user.is_active


def test_person_find_refuses_when_okta_unreachable(settings: Any) -> None:
    from tests.browser.plugin import free_port

    settings.OKTA_ORG_URL = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    settings.OKTA_API_TOKEN = "unused-token"
    with pytest.raises(SignInRefused) as refused:
        person_find(claims={"sub": "00unewjoiner00000000", "email": "new@acme.com"})
    assert refused.value.code == "directory_unavailable"
    assert not OktaUser.objects.exists()
