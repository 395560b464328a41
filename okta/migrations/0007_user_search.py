"""The directory's people search as one column: ``OktaUser.search``.

On PostgreSQL a trigram index (pg_trgm, a trusted extension: the database owner may create it)
answers ``search LIKE '%<sep>term%'``; it replaces the five prefix indexes of 0004, which the
planner could not combine with the page's ORDER BY. SQLite has neither; there the search scans.
"""

import django.db.models.functions.text
from django.db import migrations, models

PREFIX_COLUMNS = ("first_name", "last_name", "display_name", "email", "login")


def trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in PREFIX_COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS okta_user_{column}_prefix")
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS okta_user_search_trgm "
        "ON okta_oktauser USING gin (search gin_trgm_ops)"
    )


def prefix_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS okta_user_search_trgm")
    for column in PREFIX_COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS okta_user_{column}_prefix "
            f'ON okta_oktauser (UPPER("{column}"::text) text_pattern_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [("okta", "0006_user_plain_indexes")]

    operations = [
        migrations.AddField(
            model_name="oktauser",
            name="search",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Lower(
                    django.db.models.functions.text.Concat(
                        models.Value("\n"),
                        "first_name",
                        models.Value("\n"),
                        "last_name",
                        models.Value("\n"),
                        "display_name",
                        models.Value("\n"),
                        "email",
                        models.Value("\n"),
                        "login",
                        output_field=models.TextField(),
                    )
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.RunPython(trigram_index, prefix_indexes),
    ]
