"""``python manage.py okta_sandbox --port 8900 --org acme --token TOKEN``: serve the Okta sandbox."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from okta.sandbox import cli


class Command(BaseCommand):
    help = "Run the local Okta org emulator (users, groups, apps, System Log, event hooks)."

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        cli.run(options)
