"""Sign-in through OIDC (mozilla-django-oidc), matched to the Okta directory.

The provider proves who the person is; the Okta directory decides whether they may come in.
A person is matched by Okta user id (the OIDC ``sub``, which is the Okta id when Okta is the
provider) first, then by verified email. The directory is the mirror (okta.models.OktaUser);
someone missing from it is looked up live in Okta when Okta is configured, and the mirror row
is written. Only people whose Okta status is in ``SIGNIN_STATUSES`` get an account; everyone
else sees the refusal page (HTTP 403) with the reason, and both outcomes are audited.

The backend also answers ``user.has_perm(...)`` from the portal roles (accounts.roles).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts.models import User
from accounts.oidc import PROVIDER_UNAVAILABLE, DiscoveryFailed, oidc_endpoints
from accounts.roles import load_account, permissions_for
from accounts.services import SESSION_STATUSES
from audit.services import audit_record
from okta.models import OktaUser, UserStatus

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

logger = logging.getLogger(__name__)

# Whoever may keep a session may also sign in: ACTIVE people, and people whose status is only
# about their password (accounts.services.SESSION_STATUSES). PASSWORD_EXPIRED: Okta makes them
# choose a new password before it issues the token we are holding, so the mirror only lags.
# RECOVERY: a password reset under way, which people start themselves from Gatehouse; whoever
# still holds a valid Okta session must not lose the portal until they finish. LOCKED_OUT: too
# many wrong passwords, which anyone who knows the login can cause; the token shows Okta let
# them in all the same. STAGED, PROVISIONED, SUSPENDED and DEPROVISIONED are about the person's
# access, and are refused.
SIGNIN_STATUSES = SESSION_STATUSES

# Okta user ids: "00u" and 17 letters or digits. Only such a sub is looked up live, so a
# provider's sub can never be taken for somebody's login.
OKTA_USER_ID = re.compile(r"^00u[0-9A-Za-z]{17}$")
SIGNIN_OKTA_RETRIES = 1
SIGNIN_OKTA_RETRY_SECONDS = 5.0

# The refusal reason travels to the refusal page in the session under this key.
REFUSAL_SESSION_KEY = "gatehouse_signin_refusal"


class SignInRefused(Exception):
    """The person may not sign in; ``code`` is for the audit trail, ``message`` for them."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


NOT_IN_DIRECTORY = (
    "Your account was not found in the company directory. If you joined recently, try again "
    "in a few minutes; otherwise ask your IT team for help."
)
DIRECTORY_UNAVAILABLE = (
    "The company directory could not be reached to check your account. Please try again in a "
    "few minutes."
)


# Why a status keeps someone out, in words they can act on.
_REFUSED_BECAUSE: dict[str, str] = {
    UserStatus.SUSPENDED: "Your account is suspended in the company directory",
    UserStatus.DEPROVISIONED: "Your account has been deactivated in the company directory",
    UserStatus.STAGED: "Your account in the company directory has not been activated yet",
    UserStatus.PROVISIONED: "Your account in the company directory has not been activated yet",
}
_ASK_IT: dict[str, str] = {
    UserStatus.SUSPENDED: "Ask your IT team to unsuspend it.",
    UserStatus.DEPROVISIONED: "Ask your IT team if you think this is a mistake.",
    UserStatus.STAGED: "Look for the activation email, or ask your IT team to send it.",
    UserStatus.PROVISIONED: "Look for the activation email, or ask your IT team to send it.",
}


def _not_active_message(status: str) -> str:
    because = _REFUSED_BECAUSE.get(status, "Your account in the company directory is not active")
    then = _ASK_IT.get(status, "Ask your IT team for help.")
    return f"{because}, so you cannot sign in to Gatehouse. {then}"


@dataclass(frozen=True, slots=True)
class _Claims:
    sub: str
    email: str
    email_verified: bool

    @classmethod
    def parse(cls, claims: dict[str, Any]) -> _Claims:
        sub = claims.get("sub")
        email = claims.get("email")
        # A provider that says nothing about verification is trusted (Okta omits it for
        # admin-created people); one that says "not verified" is not, for email matching.
        verified = claims.get("email_verified", True)
        return cls(
            sub=sub.strip() if isinstance(sub, str) else "",
            email=email.strip() if isinstance(email, str) else "",
            email_verified=verified is True or verified == "true",
        )


def _mirror_person(claims: _Claims) -> OktaUser | None:
    if claims.sub:
        person = OktaUser.objects.filter(pk=claims.sub).first()
        if person is not None:
            return person
    if claims.email and claims.email_verified:
        by_login = list(OktaUser.objects.filter(login__iexact=claims.email)[:2])
        if len(by_login) == 1:
            return by_login[0]
        by_email = list(OktaUser.objects.filter(email__iexact=claims.email)[:2])
        if len(by_email) == 1:
            return by_email[0]
        if len(by_email) > 1:
            raise SignInRefused(
                "ambiguous_email",
                "More than one account in the company directory has your email address, so "
                "Gatehouse cannot tell which one is yours. Ask your IT team for help.",
            )
    return None


def _find(client: Any, id_or_login: str) -> Any:
    """The Okta user, or None when Okta has none (or the key cannot name one)."""
    from okta.client import OktaError

    try:
        return client.find_user(id_or_login)
    except OktaError as exc:
        if exc.status is None and not exc.retryable:
            return None  # refused before any request: not something Okta could find
        raise


def _live_person(claims: _Claims) -> OktaUser | None:
    """Ask Okta itself for someone the mirror does not know yet (a new joiner), and mirror them."""
    from okta.client import OktaError
    from okta.connection import active_client, is_configured
    from okta.sync.rows import user_from_typed

    if not is_configured():
        return None
    try:
        with active_client() as client:
            # Someone is waiting at the sign-in page: retry briefly, then say so.
            client.max_retries = min(client.max_retries, SIGNIN_OKTA_RETRIES)
            client.max_retry_seconds = min(client.max_retry_seconds, SIGNIN_OKTA_RETRY_SECONDS)
            remote = None
            if OKTA_USER_ID.match(claims.sub):
                remote = _find(client, claims.sub)
                if remote is not None and remote.id != claims.sub:
                    remote = None
            if remote is None and claims.email and claims.email_verified:
                remote = _find(client, claims.email)  # Okta finds users by login too
    except OktaError as exc:
        logger.warning("sign-in: Okta lookup failed: %r", exc)
        raise SignInRefused("directory_unavailable", DIRECTORY_UNAVAILABLE) from exc
    if remote is None:
        return None
    person = user_from_typed(remote)
    with transaction.atomic():
        person.save()
    return person


def person_find(*, claims: dict[str, Any]) -> OktaUser:
    """The directory person these OIDC claims belong to, or SignInRefused."""
    parsed = _Claims.parse(claims)
    if not parsed.sub and not parsed.email:
        raise SignInRefused("no_identity", NOT_IN_DIRECTORY)
    person = _mirror_person(parsed) or _live_person(parsed)
    if person is None:
        raise SignInRefused("not_in_directory", NOT_IN_DIRECTORY)
    if person.status not in SIGNIN_STATUSES:
        raise SignInRefused(f"status_{person.status.lower()}", _not_active_message(person.status))
    return person


def account_link(*, person: OktaUser) -> User:
    """The Django account for this directory person, created or refreshed from the directory.

    Call inside a transaction. The account is found by Okta id, else by username (an account
    made before it was linked, e.g. by ``createsuperuser`` with the Okta login).
    """
    user = User.objects.select_for_update().filter(okta_id=person.id).first()
    if user is None:
        user = User.objects.select_for_update().filter(username__iexact=person.login).first()
        if user is not None and user.okta_id and user.okta_id != person.id:
            # The login used to belong to another Okta user (Okta lets a login be reused after
            # the old user is deleted): never hand the old account to the new person.
            raise SignInRefused(
                "login_reused",
                "Your sign-in name belongs to an older Gatehouse account. Ask your IT team "
                "to retire the old account.",
            )
    if user is None:
        user = User(okta_id=person.id)
        user.set_unusable_password()
    clash = User.objects.filter(username__iexact=person.login).exclude(pk=user.pk).first()
    if clash is not None and clash.okta_id == person.id:
        # The same person's first sign-in in another tab made the account after our lookup:
        # the caller's retry looks again and finds it.
        raise IntegrityError("the account was created concurrently")
    if clash is not None:
        raise SignInRefused(
            "login_reused",
            "Your sign-in name belongs to an older Gatehouse account. Ask your IT team to "
            "retire the old account.",
        )
    user.okta_id = person.id
    user.username = person.login
    user.email = person.email
    user.first_name = person.first_name[:150]
    user.last_name = person.last_name[:150]
    user.display_name = person.full_name[:200]
    user.is_active = True
    user.save()
    return user


def signin_complete(*, claims: dict[str, Any], request: HttpRequest | None) -> User:
    """Match the claims to the directory, link the account and audit it; or refuse (audited)."""
    try:
        person = person_find(claims=claims)
        for attempt in (1, 2):
            try:
                with transaction.atomic():
                    user = account_link(person=person)
                    audit_record(
                        action="signin.succeeded",
                        actor=user,
                        target_type="user",
                        target_id=person.id,
                        target_label=person.login,
                        detail={"status": person.status},
                        request=request,
                    )
                return user
            except IntegrityError:
                # The same person's first sign-in in two tabs at once: the other tab made the
                # account between our lookup and our insert, so the second look finds it.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")
    except SignInRefused as refusal:
        parsed = _Claims.parse(claims)
        with transaction.atomic():
            audit_record(
                action="signin.refused",
                actor=parsed.email or parsed.sub or "unknown",
                target_type="user",
                target_id=parsed.sub,
                target_label=parsed.email,
                outcome="denied",
                detail={"reason": refusal.code},
                request=request,
            )
        raise


class OktaOIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc backend matching people to the Okta directory (see module doc)."""

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        if request is None or not request.GET.get("code") or not request.GET.get("state"):
            return None  # not an OIDC callback: no reason to ask the provider anything
        try:
            endpoints = oidc_endpoints()
        except DiscoveryFailed as exc:
            logger.error("sign-in provider discovery failed: %s", exc)
            request.session[REFUSAL_SESSION_KEY] = PROVIDER_UNAVAILABLE
            return None
        self.OIDC_OP_TOKEN_ENDPOINT = endpoints["OIDC_OP_TOKEN_ENDPOINT"]
        self.OIDC_OP_USER_ENDPOINT = endpoints["OIDC_OP_USER_ENDPOINT"]
        self.OIDC_OP_JWKS_ENDPOINT = endpoints["OIDC_OP_JWKS_ENDPOINT"]
        user: User | None = super().authenticate(request, **kwargs)
        return user

    def get_or_create_user(self, access_token: Any, id_token: Any, payload: Any) -> User | None:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        claims: dict[str, Any] = dict(userinfo) if isinstance(userinfo, dict) else {}
        token_sub = payload.get("sub") if isinstance(payload, dict) else None
        if token_sub and claims.get("sub", token_sub) != token_sub:
            # OIDC Core 5.3.2: a userinfo answer about someone else must not be used; keep
            # only what the signed ID token says.
            claims = {}
        if token_sub:
            claims["sub"] = token_sub
        request: HttpRequest | None = getattr(self, "request", None)
        try:
            return signin_complete(claims=claims, request=request)
        except SignInRefused as refusal:
            if request is not None:
                request.session[REFUSAL_SESSION_KEY] = refusal.message
            return None

    def get_user(self, user_id: Any) -> User | None:
        # Accounts whose sessions were ended (accounts.services) stay out until they sign in again.
        # The roles come in the same query: every page needs them for its navigation.
        user = load_account(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def has_perm(
        self,
        user_obj: AbstractBaseUser | AnonymousUser,
        perm: str,
        obj: Any = None,
    ) -> bool:
        if not user_obj.is_active or not user_obj.is_authenticated:
            return False
        # Roles alone grant permissions: Django's Permission tables are not consulted, which
        # also spares every page two queries for the navigation's permission checks.
        return isinstance(user_obj, User) and perm in permissions_for(user_obj)

    def has_module_perms(self, user_obj: AbstractBaseUser | AnonymousUser, app_label: str) -> bool:
        if not user_obj.is_active or not user_obj.is_authenticated:
            return False
        return isinstance(user_obj, User) and any(
            perm.startswith(f"{app_label}.") for perm in permissions_for(user_obj)
        )
