"""A score's details as json, not jsonb, on PostgreSQL (healthboard.lib.fields.TextJSONField):
writing a day of scores no longer parses every number of every account's details.

Only PostgreSQL's column changes. SQLite keeps JSON as text already, and altering a field
there rebuilds the table, which would drop the unique index scoring 0029 added behind
Django's back: its database side does nothing. On PostgreSQL the column is rewritten once
(jsonb converts to json by an assignment cast).
"""

from django.db import migrations

import healthboard.lib.fields

ALTER = 'ALTER TABLE "scoring_healthscore" ALTER COLUMN "details" TYPE {}'


def as_json(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ALTER.format("json"))


def as_jsonb(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ALTER.format("jsonb USING details::jsonb"))


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0031_run_totals_account_lookups"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="healthscore",
                    name="details",
                    field=healthboard.lib.fields.TextJSONField(default=dict),
                ),
            ],
            database_operations=[migrations.RunPython(as_json, as_jsonb)],
        ),
    ]
