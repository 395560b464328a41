from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from accounts.auth import REFUSAL_SESSION_KEY
from okta.models import OktaUser


def _demo_people() -> list[dict[str, str]]:
    """The people the demo's OIDC provider offers, with the Okta id it shows for each."""
    logins = settings.DEMO_PEOPLE
    if not logins:
        return []
    known = {
        person.login.lower(): person
        for person in OktaUser.objects.filter(login__in=logins).only(
            "id", "login", "first_name", "last_name", "display_name", "title", "status"
        )
    }
    people = []
    for login in logins:
        person = known.get(login.lower())
        people.append(
            {
                "login": login,
                "name": person.full_name if person else "",
                "title": person.title if person else "",
                "okta_id": person.id if person else "",
                "status": person.status if person else "",
            }
        )
    return people


@require_GET
def login(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    return render(
        request, "portal/login.html", {"demo_people": _demo_people(), "next_url": next_url}
    )


@require_GET
def signin_refused(request: HttpRequest) -> HttpResponse:
    reason = request.session.pop(REFUSAL_SESSION_KEY, "")
    return render(request, "portal/signin_refused.html", {"reason": reason}, status=403)
