"""The actions the viewer may take on a person, for pages outside identity that show one (the
directory's person page): the same buttons as the person page, under the same policy."""

from __future__ import annotations

from typing import Any

from django import template

from identity import services
from okta.models import OktaUser

register = template.Library()


@register.inclusion_tag("identity/_person_actions.html", takes_context=True)
def person_actions(context: template.Context, person: OktaUser) -> dict[str, Any]:
    request = context["request"]
    user = request.user
    may_act = bool(
        user.is_authenticated and person.pk != user.okta_id and services.may_act_on(user, person)
    )
    return {
        "person": person,
        "may_act": may_act,
        "actions": services.actions_offered(user, person) if may_act else [],
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }
