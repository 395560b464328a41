"""Make the audit table append-only in the database: triggers refuse UPDATE, DELETE, TRUNCATE."""

from django.db import migrations

from audit import guards


def install(apps, schema_editor):
    guards.install(schema_editor.connection)


def remove(apps, schema_editor):
    guards.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, remove, elidable=False)]
