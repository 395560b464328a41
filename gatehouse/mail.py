"""Development email (the default in DEBUG, so in ``make demo``): nothing is sent, each message
is logged as a person reads it.

Django's console backend prints the MIME text to stdout: quoted-printable or base64 bodies, and
in a Celery worker (whose stdout Celery logs at WARNING) a warning for every line.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger(__name__)


def email_text(message: EmailMessage) -> str:
    """The message as a reader sees it: who, what, and the text itself (decoded)."""
    lines = [f"From: {message.from_email}", f"To: {', '.join(message.to)}"]
    if message.cc:
        lines.append(f"Cc: {', '.join(message.cc)}")
    if message.reply_to:
        lines.append(f"Reply-To: {', '.join(message.reply_to)}")
    lines.append(f"Subject: {message.subject}")
    for attachment in message.attachments:
        name = attachment[0] if isinstance(attachment, tuple) else attachment.get_filename()
        lines.append(f"Attachment: {name}")
    return "\n".join([*lines, "", str(message.body).rstrip("\n")])


class LogBackend(BaseEmailBackend):
    """Logs each message (logger ``gatehouse.mail``, INFO) instead of sending it."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        for message in email_messages:
            message.message()  # the checks a real send makes (headers, addresses)
            logger.info("Email (not sent, development backend)\n%s", email_text(message))
            sent += 1
        return sent
