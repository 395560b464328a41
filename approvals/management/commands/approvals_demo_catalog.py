from typing import Any

from django.core.management.base import BaseCommand

from approvals.demo import demo_catalog_publish


class Command(BaseCommand):
    help = "Publish a starter catalog (acme demo groups and apps) from the synced mirror."

    def handle(self, *args: Any, **options: Any) -> None:
        created = demo_catalog_publish()
        self.stdout.write(f"Published {created} new catalog item(s).")
