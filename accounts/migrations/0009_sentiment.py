"""CSM sentiment: the model, its catalogue metric (csm_sentiment) and the roles that may
set it (CSMs on their own accounts, Managers and Admins on any)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from accounts.catalogue import CSM_SENTIMENT
from healthboard.lib.roles import sync_role_groups


def add_metric(apps, schema_editor):
    Metric = apps.get_model("accounts", "Metric")
    key, name, unit, category, direction, description = CSM_SENTIMENT
    Metric.objects.get_or_create(
        key=key,
        defaults={"name": name, "unit": unit, "category": category,
                  "direction": direction, "description": description},
    )


def sync_roles(apps, schema_editor):
    sync_role_groups(apps)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0008_signal_checks_set_based'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        # The roles are synced whole: every scoring model must exist by then.
        ('scoring', '0018_calls_to_action_defaults'),
    ]

    operations = [
        migrations.CreateModel(
            name='Sentiment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('level', models.CharField(choices=[('healthy', 'Healthy'), ('at_risk', 'At risk'), ('unhealthy', 'Unhealthy')], max_length=10)),
                ('reason', models.TextField(max_length=1000)),
                ('set_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('expires_on', models.DateField(help_text='The first day it no longer counts.')),
                ('ended_at', models.DateTimeField(blank=True, null=True)),
                ('end', models.CharField(blank=True, choices=[('replaced', 'Replaced'), ('withdrawn', 'Withdrawn')], max_length=10)),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='sentiments', to='accounts.account')),
                ('ended_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('set_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-set_at', '-id'],
                'indexes': [models.Index(fields=['account', '-set_at'], name='sentiment_account_recent')],
            },
        ),
        migrations.RunPython(add_metric, migrations.RunPython.noop),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
