"""prev_hash unique by a constraint (one index, not two on PostgreSQL)."""

from django.db import migrations, models

from audit import guards


def reinstall_sqlite_guards(apps, schema_editor):
    # SQLite rebuilt the table for AlterField, and its triggers went with the old one.
    if schema_editor.connection.vendor == "sqlite":
        guards.install(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0004_target_label_trigram_index'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='prev_hash',
            field=models.CharField(max_length=64),
        ),
        migrations.AddConstraint(
            model_name='auditevent',
            constraint=models.UniqueConstraint(fields=('prev_hash',), name='audit_prev_hash_unique'),
        ),
        migrations.RunPython(reinstall_sqlite_guards, migrations.RunPython.noop, elidable=False),
    ]
