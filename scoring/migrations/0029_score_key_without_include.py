"""One score per run and account on databases without covering indexes (SQLite).

0028 gave the unique constraint one_score_per_run_account INCLUDE columns (band, score).
Django skips a constraint with INCLUDE where the database has no covering indexes (SQLite,
warning models.W039), so on SQLite 0028 dropped the run and account's unique index and put
nothing in its place: nothing refused a second score for an account in a run, and every
lookup of a run's account read the whole table (the demo's analysis of the plays took
minutes instead of seconds). This adds the plain unique index there, under the constraint's
name; PostgreSQL keeps the covering one.

Django does not know of this index on SQLite: a later migration that rebuilds the table
there (SQLite's way of altering one) drops it, and must add it again.
"""

from django.db import migrations

TABLE = "scoring_healthscore"
NAME = "one_score_per_run_account"


def key_add(apps, schema_editor):
    if not schema_editor.connection.features.supports_covering_indexes:
        # A second score of an account in a run, written while nothing refused it, would
        # fail the index: the newest written is kept (nothing refers to a score's row).
        schema_editor.execute(
            f'DELETE FROM "{TABLE}" WHERE id NOT IN '
            f'(SELECT MAX(id) FROM "{TABLE}" GROUP BY run_id, account_id)'
        )
        schema_editor.execute(
            f'CREATE UNIQUE INDEX IF NOT EXISTS "{NAME}" ON "{TABLE}" ("run_id", "account_id")'
        )


def key_remove(apps, schema_editor):
    if not schema_editor.connection.features.supports_covering_indexes:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{NAME}"')


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0028_score_keys_carry_band"),
    ]

    operations = [migrations.RunPython(key_add, key_remove)]
