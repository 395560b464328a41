"""Trigram indexes on lower-cased group names and app labels, for the identity pages' pickers.

A picker finds at most 20 groups or apps whose name contains what was typed
(``LOWER(name) LIKE '%text%'``); on PostgreSQL these indexes answer it for 10,000 groups
without reading them all. SQLite has neither the operator class nor the need.
"""

from django.db import migrations

INDEXES = (
    ("okta_group_name_trgm", "okta_oktagroup", "name"),
    ("okta_app_label_trgm", "okta_oktaapp", "label"),
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for index, table, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {index} ON {table} "
            f'USING gin (LOWER("{column}") gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index, _, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {index}")


class Migration(migrations.Migration):
    dependencies = [("okta", "0007_user_search")]

    operations = [migrations.RunPython(create, drop)]
