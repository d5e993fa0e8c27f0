from django.db import migrations, models

SENTIMENT_METRIC_KEY = "csm_sentiment"  # accounts.models.Sentiment.METRIC_KEY


def closers_to_null(apps, schema_editor):
    # A sentiment's closing signal was NaN (PostgreSQL only: SQLite could not store it, and
    # setting a sentiment failed there). Through the (metric, …) index: that metric's rows.
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "UPDATE accounts_signal SET value = NULL WHERE metric_id IN "
        "(SELECT id FROM accounts_metric WHERE key = %s) AND value = 'NaN'::float8",
        [SENTIMENT_METRIC_KEY],
    )


def closers_to_nan(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "UPDATE accounts_signal SET value = 'NaN'::float8 WHERE metric_id IN "
        "(SELECT id FROM accounts_metric WHERE key = %s) AND value IS NULL",
        [SENTIMENT_METRIC_KEY],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0014_audit_signals_pruned"),
    ]

    operations = [
        migrations.AlterField(
            model_name="signal",
            name="value",
            field=models.FloatField(null=True),
        ),
        migrations.RunPython(closers_to_null, closers_to_nan),
    ]
