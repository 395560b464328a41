"""Prefix-search indexes for the directory's people search on PostgreSQL.

The directory searches with ``istartswith``, which Django writes on PostgreSQL as
``UPPER("col"::text) LIKE UPPER('term%')``; these expression indexes with text_pattern_ops let
each searched column answer from an index (combined with BitmapOr), so a rare prefix does not
scan 100,000 rows. SQLite has no such operator class; there the migration does nothing.
"""

from django.db import migrations

COLUMNS = ("first_name", "last_name", "display_name", "email", "login")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS okta_user_{column}_prefix "
            f'ON okta_oktauser (UPPER("{column}"::text) text_pattern_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS okta_user_{column}_prefix")


class Migration(migrations.Migration):
    dependencies = [("okta", "0003_sync_connection_hooks")]

    operations = [migrations.RunPython(create, drop)]
