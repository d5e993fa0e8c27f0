"""The portfolio's default order (lowest score first) read from an index: the first page of
100,000 accounts walks fifty entries instead of sorting the whole run."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0011_run_totals"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="healthscore",
            index=models.Index(fields=["run", "score"], name="score_run_score"),
        ),
    ]
