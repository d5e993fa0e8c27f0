from django.db import migrations


def fillfactor(apps, schema_editor):
    # Every night updates each firing rule's open CTA (evidence, last fired): with room left
    # on each page PostgreSQL rewrites the row in place (a HOT update) instead of adding an
    # entry to each of the table's indexes. PostgreSQL only; the SQLite demo has no such knob.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE scoring_calltoaction SET (fillfactor = 70)")


def fillfactor_reset(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE scoring_calltoaction RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0021_digest_language"),
    ]

    operations = [migrations.RunPython(fillfactor, fillfactor_reset)]
