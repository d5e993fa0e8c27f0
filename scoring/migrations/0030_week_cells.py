"""The weekly review's weeks (scoring/rollups/weeks.py) and the PostgreSQL triggers that keep
their cells exact, beside the run totals' (migrations 0011 and 0027) and built the same way:
statement-level, with transition tables, one set-based statement per write, an early exit
for the writes that concern no kept week (the nightly run's, into a running run), and cells
changed by INSERT … ON CONFLICT DO UPDATE in a fixed order, one writer at a time (CELLS_LOCK
below). Scores are never upserted (INSERT … ON CONFLICT DO UPDATE): its INSERT and UPDATE
triggers would each count the other's rows. Without JIT: PostgreSQL takes
transition tables and the weeks for far more rows than they hold, and compiled each
statement for 0.4 s of a 10,000-account update's 0.7 s.

An account counts in a week's cells while it is active and has a score in the week's run;
its cell is (owner, band in the run, band in the run a week before or "" where it has
none, renewing within 90 days of the run's date). A write moves it: −1 in the cell it was in
before the statement, +1 in the one it is in after. For scores, "before" is the rows the
statement left alone plus its old rows; "after" is the table as it is.

"active" below is Account.Status.ACTIVE.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


# The kept weeks: the run, the run a week before (NULL: none) and the run's date.
PAIRS = """
CREATE FUNCTION scoring_runweek_pairs() RETURNS TABLE (run_id bigint, before_id bigint, day date)
LANGUAGE sql STABLE AS $$
    SELECT w.run_id, w.before_id, r.date
    FROM scoring_runweek w JOIN scoring_scorerun r ON r.id = w.run_id
$$;
"""


# The accounts of a week named `x` (run_id, day, e_band, e_score, p_band, p_score), each
# with its account row `a`, counted `sign` times. Only the active ones with a score in the
# run count (the caller's WHERE).
def _cell(sign: str) -> str:
    return (
        "x.run_id, coalesce(a.owner_id, 0) AS owner_id, x.e_band AS band, "
        "coalesce(x.p_band, '') AS band_before, "
        "coalesce(a.renewal_date > x.day AND a.renewal_date <= x.day + 90, false) AS renews, "
        f"{sign} AS n, {sign} * a.arr AS arr, "
        f"{sign} * (x.e_score IS NOT NULL)::integer AS scored, "
        f"{sign} * coalesce(x.e_score, 0) AS score_sum, "
        f"{sign} * (x.e_score IS NOT NULL AND x.p_score IS NOT NULL)::integer AS compared, "
        f"{sign} * coalesce(x.e_score - x.p_score, 0) AS change_sum"
    )


COUNTED = "x.e_band IS NOT NULL AND a.status = 'active'"

UPSERT = """
    INSERT INTO scoring_runweekcell AS c (run_id, owner_id, band, band_before, renews, n, arr,
                                          scored, score_sum, compared, change_sum)
    SELECT run_id, owner_id, band, band_before, renews, sum(n), sum(arr), sum(scored),
           sum(score_sum), sum(compared), sum(change_sum)
    FROM delta
    GROUP BY 1, 2, 3, 4, 5
    HAVING sum(n) <> 0 OR sum(arr) <> 0 OR sum(scored) <> 0 OR sum(score_sum) <> 0
           OR sum(compared) <> 0 OR sum(change_sum) <> 0
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (run_id, owner_id, band, band_before, renews)
    DO UPDATE SET n = c.n + EXCLUDED.n, arr = c.arr + EXCLUDED.arr,
                  scored = c.scored + EXCLUDED.scored,
                  score_sum = c.score_sum + EXCLUDED.score_sum,
                  compared = c.compared + EXCLUDED.compared,
                  change_sum = c.change_sum + EXCLUDED.change_sum;
"""

# What a statement on the scores did to the kept weeks, from its new rows {new} and old rows
# {old} (an empty relation where the statement has none).
NONE = "(SELECT * FROM scoring_healthscore WHERE false)"
# Writers that change kept cells take turns, until they commit: each trigger reads the other
# table (a score's account, an account's scores) as committed, and two transactions changing
# one account's score and its owner at once would each count the other's old state (the cells
# then off for good), and two re-scores (a delete, then an insert) could each hold a cell the
# other wants. The same key as the run totals' triggers (migration 0031), so that a
# transaction takes one lock, whichever cells it changes first.
CELLS_LOCK = 4_711_300_031
# As scoring.rollups.weeks.TOUCHED_MAX.
TOUCHED_MAX = 10_000
SCORES_BODY = f"""
    IF NOT EXISTS (
        SELECT 1 FROM (SELECT run_id FROM {{new}} AS t_new UNION SELECT run_id FROM {{old}} AS t_old) s
        JOIN scoring_runweek_pairs() w ON s.run_id = w.run_id OR s.run_id = w.before_id
    ) THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock({CELLS_LOCK});
    WITH keys AS MATERIALIZED (
        SELECT DISTINCT w.run_id, w.before_id, w.day, c.account_id
        FROM (SELECT run_id, account_id FROM {{new}} AS t_new
              UNION SELECT run_id, account_id FROM {{old}} AS t_old) c
        JOIN scoring_runweek_pairs() w ON c.run_id = w.run_id OR c.run_id = w.before_id
    ), sizes AS MATERIALIZED (
        SELECT run_id, count(*) <= {TOUCHED_MAX} AS listed FROM keys GROUP BY run_id
    ), touched AS (
        INSERT INTO scoring_runweektouched (run_id, account_id)
        SELECT k.run_id, k.account_id FROM keys k JOIN sizes USING (run_id)
        WHERE sizes.listed
        ORDER BY 1, 2
        ON CONFLICT DO NOTHING
    ), stale AS (
        UPDATE scoring_runweek w SET movers_stale = true
        FROM sizes WHERE w.run_id = sizes.run_id AND NOT sizes.listed AND NOT w.movers_stale
    ), wanted AS (
        SELECT run_id, account_id FROM keys
        UNION SELECT before_id, account_id FROM keys WHERE before_id IS NOT NULL
    ), after_rows AS MATERIALIZED (
        SELECT h.run_id, h.account_id, h.band, h.score
        FROM wanted q JOIN scoring_healthscore h
            ON h.run_id = q.run_id AND h.account_id = q.account_id
    ), before_rows AS MATERIALIZED (
        SELECT h.run_id, h.account_id, h.band, h.score FROM after_rows h
        WHERE NOT EXISTS (
            SELECT 1 FROM {{new}} AS n WHERE n.run_id = h.run_id AND n.account_id = h.account_id
        )
        UNION ALL
        SELECT o.run_id, o.account_id, o.band, o.score
        FROM {{old}} AS o JOIN wanted q ON q.run_id = o.run_id AND q.account_id = o.account_id
    ), x AS (
        SELECT k.run_id, k.day, k.account_id, 1 AS sign, e.band AS e_band,
               e.score AS e_score, p.band AS p_band, p.score AS p_score
        FROM keys k
        LEFT JOIN after_rows e ON e.run_id = k.run_id AND e.account_id = k.account_id
        LEFT JOIN after_rows p ON p.run_id = k.before_id AND p.account_id = k.account_id
        UNION ALL
        SELECT k.run_id, k.day, k.account_id, -1, e.band, e.score, p.band, p.score
        FROM keys k
        LEFT JOIN before_rows e ON e.run_id = k.run_id AND e.account_id = k.account_id
        LEFT JOIN before_rows p ON p.run_id = k.before_id AND p.account_id = k.account_id
    ), delta AS (
        SELECT {_cell("x.sign")}
        FROM x JOIN accounts_account a ON a.id = x.account_id
        WHERE {COUNTED}
    )
    {UPSERT}
"""

SCORES = f"""
CREATE FUNCTION scoring_runweek_scores() RETURNS trigger
LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM scoring_runweek) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        {SCORES_BODY.format(new="new_scores", old=NONE)}
    ELSIF TG_OP = 'DELETE' THEN
        {SCORES_BODY.format(new=NONE, old="old_scores")}
    ELSE
        {SCORES_BODY.format(new="new_scores", old="old_scores")}
    END IF;
    RETURN NULL;
END $$;
"""


# An account's scores in the kept weeks, for the accounts named `accounts` (column id): one
# lookup of the (run, account) key per week and run. (LIMIT keeps each a lookup: joined
# plainly, PostgreSQL read every day's score of each account and kept the weeks' runs,
# 1.25 s for 10,000 accounts at 30 days of a million.)
def _scores_of(accounts: str) -> str:
    return f"""
        SELECT w.run_id, w.day, c.id AS account_id, e.band AS e_band, e.score AS e_score,
               p.band AS p_band, p.score AS p_score
        FROM {accounts} c
        CROSS JOIN (SELECT * FROM scoring_runweek_pairs() OFFSET 0) w
        JOIN LATERAL (
            SELECT h.band, h.score FROM scoring_healthscore h
            WHERE h.run_id = w.run_id AND h.account_id = c.id LIMIT 1
        ) e ON true
        LEFT JOIN LATERAL (
            SELECT h.band, h.score FROM scoring_healthscore h
            WHERE h.run_id = w.before_id AND h.account_id = c.id LIMIT 1
        ) p ON true
    """


# Accounts changed or deleted: out of their old cells, into their new ones.
ACCOUNTS = f"""
CREATE FUNCTION scoring_runweek_accounts() RETURNS trigger
LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM scoring_runweek) THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock({CELLS_LOCK});
    IF TG_OP = 'DELETE' THEN
        WITH x AS ({_scores_of("old_accounts")}), delta AS (
            SELECT {_cell("-1")} FROM x JOIN old_accounts a ON a.id = x.account_id
            WHERE {COUNTED}
        )
        {UPSERT}
    ELSE
        WITH changed AS (
            SELECT o.id FROM old_accounts o JOIN new_accounts n ON n.id = o.id
            WHERE (o.owner_id, o.status, o.arr, o.renewal_date)
                  IS DISTINCT FROM (n.owner_id, n.status, n.arr, n.renewal_date)
        ), x AS ({_scores_of("changed")}), delta AS (
            SELECT {_cell("-1")} FROM x JOIN old_accounts a ON a.id = x.account_id
            WHERE {COUNTED}
            UNION ALL
            SELECT {_cell("1")} FROM x JOIN new_accounts a ON a.id = x.account_id
            WHERE {COUNTED}
        )
        {UPSERT}
    END IF;
    RETURN NULL;
END $$;
"""

TRIGGERS = """
CREATE TRIGGER scoring_runweek_scores_insert AFTER INSERT ON scoring_healthscore
    REFERENCING NEW TABLE AS new_scores
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_runweek_scores();
CREATE TRIGGER scoring_runweek_scores_delete AFTER DELETE ON scoring_healthscore
    REFERENCING OLD TABLE AS old_scores
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_runweek_scores();
CREATE TRIGGER scoring_runweek_scores_update AFTER UPDATE ON scoring_healthscore
    REFERENCING OLD TABLE AS old_scores NEW TABLE AS new_scores
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_runweek_scores();
CREATE TRIGGER scoring_runweek_accounts_update AFTER UPDATE ON accounts_account
    REFERENCING OLD TABLE AS old_accounts NEW TABLE AS new_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_runweek_accounts();
CREATE TRIGGER scoring_runweek_accounts_delete AFTER DELETE ON accounts_account
    REFERENCING OLD TABLE AS old_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_runweek_accounts();
"""

DROP = """
DROP TRIGGER IF EXISTS scoring_runweek_scores_insert ON scoring_healthscore;
DROP TRIGGER IF EXISTS scoring_runweek_scores_delete ON scoring_healthscore;
DROP TRIGGER IF EXISTS scoring_runweek_scores_update ON scoring_healthscore;
DROP TRIGGER IF EXISTS scoring_runweek_accounts_update ON accounts_account;
DROP TRIGGER IF EXISTS scoring_runweek_accounts_delete ON accounts_account;
DROP FUNCTION IF EXISTS scoring_runweek_scores();
DROP FUNCTION IF EXISTS scoring_runweek_accounts();
DROP FUNCTION IF EXISTS scoring_runweek_pairs();
"""


def create_triggers(apps, schema_editor) -> None:
    # No weeks are counted here: the next published run's worker counts them (weeks_keep).
    if schema_editor.connection.vendor == "postgresql":
        for sql in (PAIRS, SCORES, ACCOUNTS, TRIGGERS):
            schema_editor.execute(sql)


def drop_triggers(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0029_score_key_without_include"),
    ]

    operations = [
        migrations.CreateModel(
            name="RunWeek",
            fields=[
                (
                    "run",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="week",
                        serialize=False,
                        to="scoring.scorerun",
                    ),
                ),
                ("drops", models.JSONField(default=list)),
                ("gains", models.JSONField(default=list)),
                ("movers_stale", models.BooleanField(default=False)),
                ("built_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "before",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="scoring.scorerun",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="RunWeekCell",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("owner_id", models.BigIntegerField()),
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
                ("band_before", models.CharField(blank=True, max_length=6)),
                ("renews", models.BooleanField()),
                ("n", models.IntegerField()),
                ("arr", models.DecimalField(decimal_places=2, max_digits=18)),
                ("scored", models.IntegerField(default=0)),
                ("score_sum", models.FloatField(default=0)),
                ("compared", models.IntegerField(default=0)),
                ("change_sum", models.FloatField(default=0)),
                (
                    "run",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="cells",
                        to="scoring.runweek",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("run", "owner_id", "band", "band_before", "renews"),
                        name="one_week_cell_per_run_cell",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="RunWeekTouched",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("account_id", models.BigIntegerField()),
                (
                    "run",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="touched",
                        to="scoring.runweek",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("run", "account_id"), name="one_touch_per_week")
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
