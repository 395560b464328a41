from django.http import HttpRequest

from accounts.roles import Role, roles_for


def roles(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"roles": frozenset(), "Role": Role}
    return {"roles": roles_for(user), "Role": Role}
