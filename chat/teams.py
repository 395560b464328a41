"""Microsoft Teams notifications through an incoming webhook (a channel's Workflows or
connector URL): when a stage opens and when a request is decided, the channel gets an Adaptive
Card with the request's context and an "Open in Gatehouse" button. Notifications only: an
incoming webhook cannot carry a click back, so deciding stays in Gatehouse (or Slack).

Off unless ``TEAMS_WEBHOOK_URL`` is set. The URL is a secret (whoever holds it can post).
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from django.conf import settings

logger = logging.getLogger(__name__)


class TeamsUnavailable(Exception):
    """Teams could not be reached or answered 429 / 5xx: try again later."""


def enabled() -> bool:
    return bool(settings.TEAMS_WEBHOOK_URL)


def card_message(title: str, facts: list[tuple[str, str]], link: str) -> dict[str, Any]:
    """A message with one Adaptive Card, as Teams' incoming webhooks take it."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {"type": "TextBlock", "text": title, "weight": "Bolder", "wrap": True},
                        {
                            "type": "FactSet",
                            "facts": [{"title": k, "value": v} for k, v in facts if v],
                        },
                    ],
                    "actions": [
                        {"type": "Action.OpenUrl", "title": "Open in Gatehouse", "url": link}
                    ],
                },
            }
        ],
    }


def post(message: dict[str, Any]) -> bool:
    """POST one message to the webhook; False when Teams refused it for good (logged), and
    ``TeamsUnavailable`` when it should be tried again."""
    try:
        response = requests.post(
            settings.TEAMS_WEBHOOK_URL, json=message, timeout=settings.SLACK_TIMEOUT_SECONDS
        )
    except requests.RequestException as exc:
        raise TeamsUnavailable(f"Teams webhook: {exc.__class__.__name__}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise TeamsUnavailable(f"Teams webhook: HTTP {response.status_code}")
    if response.status_code >= 400:
        logger.error(
            "Teams refused a notification: HTTP %s %s", response.status_code, response.text[:200]
        )
        return False
    return True
