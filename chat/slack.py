"""Gatehouse's side of Slack's Web API and request signing, through the official slack_sdk.

Off unless ``SLACK_BOT_TOKEN`` and ``SLACK_SIGNING_SECRET`` are both set. ``SLACK_API_URL``
points the client at Slack (https://slack.com/api/) or at the local emulator (chat/emulator).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

logger = logging.getLogger(__name__)

# Slack's documented window: a request whose timestamp is further than this from now is stale.
SIGNATURE_WINDOW_SECONDS = 5 * 60


class SlackUnavailable(Exception):
    """Slack could not be reached or answered with a server error: try again later."""


def enabled() -> bool:
    return bool(settings.SLACK_BOT_TOKEN and settings.SLACK_SIGNING_SECRET)


def client() -> WebClient:
    return WebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=settings.SLACK_API_URL,
        timeout=settings.SLACK_TIMEOUT_SECONDS,
    )


def signature_valid(body: bytes, timestamp: str | None, signature: str | None) -> bool:
    """Slack's check: ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the signing secret,
    compared in constant time, and the timestamp within five minutes of now."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    return SignatureVerifier(settings.SLACK_SIGNING_SECRET).is_valid(
        body=body, timestamp=timestamp, signature=signature
    )


def _call(method: str, **kwargs: Any) -> dict[str, Any]:
    """One Web API call; ``SlackApiError`` for Slack's refusals (``ok: false``),
    ``SlackUnavailable`` when it cannot be reached or fails on its side."""
    try:
        response = getattr(client(), method)(**kwargs)
    except SlackApiError as exc:
        status = exc.response.status_code if exc.response is not None else 0
        if status == 429 or status >= 500:
            raise SlackUnavailable(f"Slack {method}: HTTP {status}") from exc
        raise
    except OSError as exc:  # urllib's URLError, timeouts, refused connections
        raise SlackUnavailable(f"Slack {method}: {exc}") from exc
    return dict(response.data) if isinstance(response.data, dict) else {}


def user_id_for_email(email: str) -> str:
    """The Slack user with this email, or "" when Slack has nobody with it."""
    if not email:
        return ""
    try:
        return str(_call("users_lookupByEmail", email=email)["user"]["id"])
    except SlackApiError as exc:
        if exc.response is not None and exc.response.get("error") == "users_not_found":
            return ""
        raise


def post_message(channel: str, text: str, blocks: list[dict[str, Any]] | None = None) -> dict:
    """chat.postMessage; a user id as ``channel`` posts in the app's DM with that person.
    Returns Slack's answer (``channel`` and ``ts`` address the message)."""
    return _call("chat_postMessage", channel=channel, text=text, blocks=blocks)


def update_message(
    channel: str, ts: str, text: str, blocks: list[dict[str, Any]] | None = None
) -> dict:
    return _call("chat_update", channel=channel, ts=ts, text=text, blocks=blocks)
