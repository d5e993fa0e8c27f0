"""A chunk's raw values stored as they are, not compressed (PostgreSQL).

They live from the chunk's read to the run's publication, a few seconds to minutes, and
PostgreSQL compressed each (880 KB for 5,000 accounts) before writing it: 38 ms a chunk, a
tenth of its read, against 5–14 ms uncompressed. Elsewhere nothing changes.
"""

from django.db import migrations

SQL = (
    'ALTER TABLE "scoring_scorechunk" ALTER COLUMN "raw" SET STORAGE {0}, '
    'ALTER COLUMN "ranked" SET STORAGE {0}'
)


def uncompressed(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SQL.format("EXTERNAL"))


def compressed(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SQL.format("EXTENDED"))


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0032_score_details_as_text"),
    ]

    operations = [migrations.RunPython(uncompressed, compressed)]
