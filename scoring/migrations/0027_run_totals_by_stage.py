"""Run totals by journey stage, with the cells' scores summed, and the run's active accounts
by the day they entered their stage (RunStageDay, and per owner RunBookDay): the journey
board summed from cells instead of reading every account (scoring/rollups/totals.py).

The triggers of migration 0011 keep doing the work, with one more key (stage) and three more
sums (scores, scored accounts, and the days' cells); an account change that moves it to
another stage or changes its stage entry now moves it between cells too. One statement per
trigger still: the deltas feed both tables through a data-modifying WITH.

The cells stored so far have no stage: they are counted again, for the same runs.
"""

import importlib

import django.db.models.deletion
from django.db import migrations, models

# The key of a day's cell; accounts whose stage entry is unknown are in no day's cell.
DAYS_KEY = "run_id, stage_id, band, segment_id, stage_since"
BOOK_KEY = "run_id, owner_id, stage_id, band, segment_id, stage_since"

# Apply deltas (run, band, owner, segment, active, stage, stage since, n, arr, score sum,
# scored, lowest score added) from a query named `delta`, in a fixed order so that two writers lock shared cells
# in the same order.
UPSERT = f"""
    , totals AS (
        INSERT INTO scoring_runtotal AS t (run_id, band, owner_id, segment_id, active, stage_id,
                                           n, arr, score_sum, scored, score_low)
        SELECT run_id, band, owner_id, segment_id, active, stage_id, sum(n), sum(arr),
               sum(score_sum), sum(scored), min(score_low)
        FROM delta
        GROUP BY 1, 2, 3, 4, 5, 6
        HAVING sum(n) <> 0 OR sum(arr) <> 0 OR sum(score_sum) <> 0 OR sum(scored) <> 0
               OR min(score_low) IS NOT NULL
        ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (run_id, band, owner_id, segment_id, active, stage_id)
        DO UPDATE SET n = t.n + EXCLUDED.n, arr = t.arr + EXCLUDED.arr,
                      score_sum = t.score_sum + EXCLUDED.score_sum,
                      scored = t.scored + EXCLUDED.scored,
                      score_low = least(t.score_low, EXCLUDED.score_low)
    )
    , days AS (
        INSERT INTO scoring_runstageday AS d ({DAYS_KEY}, n)
        SELECT {DAYS_KEY}, sum(n)
        FROM delta
        WHERE active AND stage_since IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5
        HAVING sum(n) <> 0
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT ({DAYS_KEY}) DO UPDATE SET n = d.n + EXCLUDED.n
    )
    INSERT INTO scoring_runbookday AS b ({BOOK_KEY}, n)
    SELECT {BOOK_KEY}, sum(n)
    FROM delta
    WHERE active AND stage_since IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(n) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT ({BOOK_KEY}) DO UPDATE SET n = b.n + EXCLUDED.n;
"""


# One score row's cell, its account as `a`, counted `sign` times.
def _cell(score: str, sign: str) -> str:
    return (
        f"{score}.run_id, {score}.band, coalesce(a.owner_id, 0) AS owner_id, a.segment_id, "
        f"a.status = 'active' AS active, a.stage_id, a.stage_since, {sign} AS n, "
        f"{sign} * a.arr AS arr, "
        f"{sign} * coalesce({score}.score, 0) AS score_sum, "
        f"{sign} * ({score}.score IS NOT NULL)::integer AS scored, "
        # A score added may lower the cell's bound; one taken away leaves it.
        f"CASE WHEN {sign} > 0 THEN {score}.score END AS score_low"
    )


# Scores written or deleted: each row counts +1 (new) or −1 (old) in its account's cells.
SCORES = f"""
CREATE OR REPLACE FUNCTION scoring_runtotal_scores() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NOT EXISTS (
            SELECT 1 FROM (SELECT DISTINCT run_id FROM new_scores) s
            WHERE s.run_id IN (SELECT scoring_runtotal_runs())
        ) THEN
            RETURN NULL;
        END IF;
        WITH delta AS (
            SELECT {_cell("s", "1")}
            FROM new_scores s JOIN accounts_account a ON a.id = s.account_id
            WHERE s.run_id IN (SELECT scoring_runtotal_runs())
        )
        {UPSERT}
    ELSIF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (
            SELECT 1 FROM (SELECT DISTINCT run_id FROM old_scores) s
            WHERE s.run_id IN (SELECT scoring_runtotal_runs())
        ) THEN
            RETURN NULL;
        END IF;
        WITH delta AS (
            SELECT {_cell("s", "-1")}
            FROM old_scores s JOIN accounts_account a ON a.id = s.account_id
            WHERE s.run_id IN (SELECT scoring_runtotal_runs())
        )
        {UPSERT}
    ELSE
        IF NOT EXISTS (
            SELECT 1 FROM (
                SELECT run_id FROM new_scores UNION SELECT run_id FROM old_scores
            ) s
            WHERE s.run_id IN (SELECT scoring_runtotal_runs())
        ) THEN
            RETURN NULL;
        END IF;
        WITH moved AS (
            SELECT o.run_id AS old_run, o.account_id AS old_account, o.band AS old_band,
                   o.score AS old_score, s.run_id, s.account_id, s.band, s.score
            FROM old_scores o JOIN new_scores s ON s.id = o.id
            WHERE (o.run_id, o.account_id, o.band, o.score)
                  IS DISTINCT FROM (s.run_id, s.account_id, s.band, s.score)
        ), delta AS (
            SELECT {_cell("o", "-1")}
            FROM (SELECT old_run AS run_id, old_account AS account_id, old_band AS band,
                         old_score AS score FROM moved) o
            JOIN accounts_account a ON a.id = o.account_id
            WHERE o.run_id IN (SELECT scoring_runtotal_runs())
            UNION ALL
            SELECT {_cell("m", "1")}
            FROM moved m JOIN accounts_account a ON a.id = m.account_id
            WHERE m.run_id IN (SELECT scoring_runtotal_runs())
        )
        {UPSERT}
    END IF;
    RETURN NULL;
END $$;
"""

# Accounts changed or deleted: each of their scores in a run with totals leaves its old cells
# and, when the account still exists, joins its new ones.
ACCOUNTS = f"""
CREATE OR REPLACE FUNCTION scoring_runtotal_accounts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM scoring_runtotal_runs()) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        WITH delta AS (
            SELECT {_cell("h", "-1")}
            FROM old_accounts a
            CROSS JOIN scoring_runtotal_runs() AS r(run_id)
            JOIN scoring_healthscore h ON h.run_id = r.run_id AND h.account_id = a.id
        )
        {UPSERT}
    ELSE
        WITH changed AS (
            SELECT o.id FROM old_accounts o JOIN new_accounts a ON a.id = o.id
            WHERE (o.owner_id, o.segment_id, o.status, o.arr, o.stage_id, o.stage_since)
                  IS DISTINCT FROM (a.owner_id, a.segment_id, a.status, a.arr, a.stage_id,
                                    a.stage_since)
        ), scores AS (
            SELECT h.run_id, h.account_id, h.band, h.score
            FROM changed c
            CROSS JOIN scoring_runtotal_runs() AS r(run_id)
            JOIN scoring_healthscore h ON h.run_id = r.run_id AND h.account_id = c.id
        ), delta AS (
            SELECT {_cell("h", "-1")}
            FROM scores h JOIN old_accounts a ON a.id = h.account_id
            UNION ALL
            SELECT {_cell("h", "1")}
            FROM scores h JOIN new_accounts a ON a.id = h.account_id
        )
        {UPSERT}
    END IF;
    RETURN NULL;
END $$;
"""

# The totals of the runs already published in the window (as run_totals_rebuild counts them).
WINDOW = """
    FROM scoring_healthscore h
    JOIN accounts_account a ON a.id = h.account_id
    JOIN scoring_scorerun r ON r.id = h.run_id
    WHERE r.status = 'done'
      AND r.date >= (SELECT max(date) - 7 FROM scoring_scorerun WHERE status = 'done')
      AND EXISTS (SELECT 1 FROM scoring_runtotal t WHERE t.run_id = r.id)
"""
BACKFILL = f"""
CREATE TEMPORARY TABLE run_totals_window ON COMMIT DROP AS
SELECT h.run_id, h.band, coalesce(a.owner_id, 0) AS owner_id, a.segment_id,
       a.status = 'active' AS active, a.stage_id, a.stage_since, count(*) AS n,
       sum(a.arr) AS arr, coalesce(sum(h.score), 0) AS score_sum, count(h.score) AS scored,
       min(h.score) AS score_low
{WINDOW}
GROUP BY 1, 2, 3, 4, 5, 6, 7;
DELETE FROM scoring_runtotal;
INSERT INTO scoring_runtotal (run_id, band, owner_id, segment_id, active, stage_id, n, arr,
                              score_sum, scored, score_low)
SELECT run_id, band, owner_id, segment_id, active, stage_id, sum(n), sum(arr), sum(score_sum),
       sum(scored), min(score_low)
FROM run_totals_window GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO scoring_runstageday ({DAYS_KEY}, n)
SELECT {DAYS_KEY}, sum(n) FROM run_totals_window
WHERE active AND stage_since IS NOT NULL GROUP BY 1, 2, 3, 4, 5;
INSERT INTO scoring_runbookday ({BOOK_KEY}, n)
SELECT {BOOK_KEY}, sum(n) FROM run_totals_window
WHERE active AND stage_since IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6;
"""


def _before():
    return importlib.import_module("scoring.migrations.0011_run_totals")


# Until the migration commits, no write to scores or accounts: the old triggers would meet
# the new table (scores first, as run_totals_rebuild takes them).
LOCK = "LOCK TABLE scoring_healthscore, accounts_account IN SHARE MODE"
# The runs that have totals, kept while their cells are counted again.
RUNS_KEEP = (
    "CREATE TEMPORARY TABLE run_totals_runs ON COMMIT DROP AS "
    "SELECT DISTINCT run_id FROM scoring_runtotal; DELETE FROM scoring_runtotal"
)


def cells_keep(apps, schema_editor) -> None:
    """Before the cells get a stage: count the window's runs again, by stage (after)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(LOCK)
        schema_editor.execute(RUNS_KEEP)


def cells_restore(apps, schema_editor) -> None:
    """Back to cells without a stage: the same runs counted again as migration 0011 counts
    them."""
    if schema_editor.connection.vendor == "postgresql":
        old = _before().BACKFILL
        where = "WHERE r.status = 'done'"
        assert where in old
        schema_editor.execute(
            old.replace(where, f"{where} AND r.id IN (SELECT run_id FROM run_totals_runs)")
        )


def triggers_by_stage(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(SCORES)
    schema_editor.execute(ACCOUNTS)
    # The runs that had totals get them again (scoring_runtotal_runs finds runs by their
    # cells: one placeholder cell each until the backfill replaces them).
    schema_editor.execute(
        "INSERT INTO scoring_runtotal (run_id, band, owner_id, segment_id, active, stage_id, n, "
        "arr, score_sum, scored) SELECT run_id, 'none', 0, 0, false, 0, 0, 0, 0, 0 "
        "FROM run_totals_runs"
    )
    schema_editor.execute(BACKFILL)


def triggers_without_stage(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(LOCK)
    schema_editor.execute(RUNS_KEEP)
    for name in ("SCORES", "ACCOUNTS"):
        schema_editor.execute(
            getattr(_before(), name).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0020_signal_partitions_vacuum"),
        ("scoring", "0026_cta_references_locked_not_checked"),
    ]

    operations = [
        migrations.RunPython(cells_keep, cells_restore),
        migrations.CreateModel(
            name="RunBookDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("owner_id", models.BigIntegerField()),
                ("stage_id", models.BigIntegerField()),
                (
                    "band",
                    models.CharField(
                        choices=[
                            ("green", "Healthy"),
                            ("yellow", "At risk"),
                            ("red", "Unhealthy"),
                            ("none", "No data"),
                        ],
                        max_length=6,
                    ),
                ),
                ("segment_id", models.BigIntegerField()),
                ("stage_since", models.DateField()),
                ("n", models.IntegerField()),
            ],
        ),
        migrations.CreateModel(
            name="RunStageDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("stage_id", models.BigIntegerField()),
                (
                    "band",
                    models.CharField(
                        choices=[
                            ("green", "Healthy"),
                            ("yellow", "At risk"),
                            ("red", "Unhealthy"),
                            ("none", "No data"),
                        ],
                        max_length=6,
                    ),
                ),
                ("segment_id", models.BigIntegerField()),
                ("stage_since", models.DateField()),
                ("n", models.IntegerField()),
            ],
        ),
        migrations.RemoveConstraint(
            model_name="runtotal",
            name="one_total_per_run_cell",
        ),
        migrations.AddField(
            model_name="runtotal",
            name="score_low",
            field=models.FloatField(null=True),
        ),
        migrations.AddField(
            model_name="runtotal",
            name="score_sum",
            field=models.FloatField(default=0),
        ),
        migrations.AddField(
            model_name="runtotal",
            name="scored",
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name="runtotal",
            name="stage_id",
            field=models.BigIntegerField(default=0),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="healthscore",
            index=models.Index(
                condition=models.Q(("score__isnull", True)),
                fields=["run", "band", "account"],
                name="score_run_unscored",
            ),
        ),
        migrations.AddConstraint(
            model_name="runtotal",
            constraint=models.UniqueConstraint(
                fields=("run", "band", "owner_id", "segment_id", "active", "stage_id"),
                name="one_total_per_run_cell",
            ),
        ),
        migrations.AddField(
            model_name="runbookday",
            name="run",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="book_days",
                to="scoring.scorerun",
            ),
        ),
        migrations.AddField(
            model_name="runstageday",
            name="run",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="stage_days",
                to="scoring.scorerun",
            ),
        ),
        migrations.AddConstraint(
            model_name="runbookday",
            constraint=models.UniqueConstraint(
                fields=("run", "owner_id", "stage_id", "band", "segment_id", "stage_since"),
                name="one_book_day_per_run_cell",
            ),
        ),
        migrations.AddConstraint(
            model_name="runstageday",
            constraint=models.UniqueConstraint(
                fields=("run", "stage_id", "band", "segment_id", "stage_since"),
                name="one_stage_day_per_run_cell",
            ),
        ),
        migrations.RunPython(triggers_by_stage, triggers_without_stage),
    ]
