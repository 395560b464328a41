"""One open identity action per ask: ``ActionRequest.open_key`` and its partial unique
constraint, so the same action on the same person is not asked twice while the first waits
for approval or runs (actions asked before this migration are not keyed)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('approvals', '0004_action_requests'),
        ('identity', '0003_approvals_engine'),
    ]

    operations = [
        migrations.AddField(
            model_name='actionrequest',
            name='open_key',
            field=models.CharField(blank=True, default=None, max_length=255, null=True),
        ),
        migrations.AddConstraint(
            model_name='actionrequest',
            constraint=models.UniqueConstraint(condition=models.Q(('open_key__isnull', False)), fields=('open_key',), name='identity_one_open_action'),
        ),
    ]
