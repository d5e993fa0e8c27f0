"""The run totals' trigger on accounts (migration 0027) looks up each changed account's score
in each run with totals by the (run, account) key, without JIT.

Joined plainly, PostgreSQL read every day's score of each changed account (the index on
account and date) and kept the runs with totals: an update of 10,000 accounts' owners took
7.2 s at 1,000,000 accounts × 30 days of scores, 6.8 s of it in this trigger. Each lookup
is now a LATERAL subquery with LIMIT 1, which the planner keeps a lookup, and the function
runs without JIT, which compiled each statement for far more rows than a transition table
holds.

Both functions also take turns with every other writer of kept cells (the weeks' triggers of
migration 0030 too) until their transaction commits, as 0030 says why: a re-score and a change
of the same account's owner at once left the totals' cells off for good.
"""

import importlib

from django.db import migrations


def _stage():
    return importlib.import_module("scoring.migrations.0027_run_totals_by_stage")


# The runs with totals (a handful), then each changed account's score in each of them.
PLAIN = (
    "CROSS JOIN scoring_runtotal_runs() AS r(run_id)\n"
    "            JOIN scoring_healthscore h ON h.run_id = r.run_id AND h.account_id = {a}.id"
)
LOOKUP = (
    "CROSS JOIN (SELECT * FROM scoring_runtotal_runs() OFFSET 0) AS r(run_id)\n"
    "            CROSS JOIN LATERAL (\n"
    "                SELECT s.run_id, s.account_id, s.band, s.score FROM scoring_healthscore s\n"
    "                WHERE s.run_id = r.run_id AND s.account_id = {a}.id LIMIT 1\n"
    "            ) h"
)


# As migration 0030's CELLS_LOCK: one writer of kept cells at a time, whichever they are.
CELLS_LOCK = 4_711_300_031
TAKE_TURN = f"PERFORM pg_advisory_xact_lock({CELLS_LOCK});"
# Where each function has decided that the write changes cells: after its early exits.
EXITED = "RETURN NULL;\n        END IF;\n"
ACCOUNTS_EXITED = "RETURN NULL;\n    END IF;\n"


def _accounts_with_lookups() -> str:
    sql = _stage().ACCOUNTS
    for alias in ("a", "c"):
        plain = PLAIN.format(a=alias)
        assert plain in sql, plain
        sql = sql.replace(plain, LOOKUP.format(a=alias))
    assert sql.count(ACCOUNTS_EXITED) == 1
    sql = sql.replace(ACCOUNTS_EXITED, f"{ACCOUNTS_EXITED}    {TAKE_TURN}\n")
    sql = sql.replace("LANGUAGE plpgsql AS $$", "LANGUAGE plpgsql SET jit = off AS $$")
    return sql.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")


def _scores_taking_turns() -> str:
    sql = _stage().SCORES
    assert sql.count(EXITED) == 3  # one early exit per kind of statement
    return sql.replace(EXITED, f"{EXITED}        {TAKE_TURN}\n")


def lookups(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_accounts_with_lookups())
        schema_editor.execute(_scores_taking_turns())


def joins(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        # 0027's functions as they were (CREATE OR REPLACE keeps no SET of the newer one).
        schema_editor.execute(
            _stage().ACCOUNTS.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
        )
        schema_editor.execute("ALTER FUNCTION scoring_runtotal_accounts() RESET jit")
        schema_editor.execute(_stage().SCORES)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0030_week_cells")]

    operations = [migrations.RunPython(lookups, joins)]
