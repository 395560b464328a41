"""PostgreSQL: a trigram index so "target name contains" stays fast on millions of events."""

from django.db import migrations

from audit import search_index


def create(apps, schema_editor):
    search_index.create(schema_editor.connection)


def drop(apps, schema_editor):
    search_index.drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_drop_actor_okta_id_index")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
