"""accounts_signalmark: per account and metric, when its signals were last reported (and the
value then), last above 0 and last at or below 0, kept by triggers on accounts_signal.
PostgreSQL only; see accounts.marks for what reads it and why."""

from django.db import migrations

TABLE = """
CREATE TABLE accounts_signalmark (
    metric_id bigint NOT NULL,
    account_id bigint NOT NULL,
    newest_at timestamp with time zone NOT NULL,
    newest_value double precision,
    positive_at timestamp with time zone,
    nonpositive_at timestamp with time zone,
    PRIMARY KEY (metric_id, account_id)
-- No other index, and room left on each page: a signal's upsert rewrites its mark in place
-- (a HOT update) instead of adding an index entry.
) WITH (fillfactor = 80);
"""

# The marks of a set of signals (`rows`: a table or transition table of accounts_signal's
# columns), one row per account and metric. The value at the newest moment is the highest
# of the signals reported then, NULLs aside.
MARKS_OF = """
WITH g AS (
    SELECT account_id, metric_id, MAX(observed_at) AS newest_at,
           MAX(observed_at) FILTER (WHERE value > 0) AS positive_at,
           MAX(observed_at) FILTER (WHERE value <= 0) AS nonpositive_at
    FROM {rows} AS each_signal GROUP BY account_id, metric_id
)
SELECT g.metric_id, g.account_id, g.newest_at, MAX(r.value), g.positive_at, g.nonpositive_at
FROM g JOIN {rows} r ON r.account_id = g.account_id AND r.metric_id = g.metric_id
    AND r.observed_at = g.newest_at
GROUP BY g.metric_id, g.account_id, g.newest_at, g.positive_at, g.nonpositive_at
"""

# Added signals only move marks later: the newer moment wins (GREATEST skips NULLs); at the
# same newest moment the higher value does. Sorted, so that two imports at once lock the
# marks they share in the same order.
UPSERT = """
INSERT INTO accounts_signalmark AS m (metric_id, account_id, newest_at, newest_value,
    positive_at, nonpositive_at)
{marks} ORDER BY 1, 2
ON CONFLICT (metric_id, account_id) DO UPDATE SET
    newest_value = CASE
        WHEN EXCLUDED.newest_at > m.newest_at THEN EXCLUDED.newest_value
        WHEN EXCLUDED.newest_at < m.newest_at THEN m.newest_value
        ELSE GREATEST(m.newest_value, EXCLUDED.newest_value) END,
    newest_at = GREATEST(m.newest_at, EXCLUDED.newest_at),
    positive_at = GREATEST(m.positive_at, EXCLUDED.positive_at),
    nonpositive_at = GREATEST(m.nonpositive_at, EXCLUDED.nonpositive_at)
"""

FUNCTIONS = f"""
CREATE FUNCTION accounts_signalmark_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {UPSERT.format(marks=MARKS_OF.format(rows="added"))};
    RETURN NULL;
END $$;

-- Removed (or changed) signals: only the marks a removed signal was at one of the moments
-- of can change. Those are deleted (which locks them), then recomputed from the signals in
-- a second statement: its fresh snapshot sees what another transaction committed while
-- this one waited for the lock.
CREATE FUNCTION accounts_signalmark_removed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    metrics bigint[];
    accounts bigint[];
BEGIN
    WITH hit AS (
        DELETE FROM accounts_signalmark m USING (SELECT DISTINCT metric_id, account_id,
            observed_at FROM gone) g
        WHERE m.metric_id = g.metric_id AND m.account_id = g.account_id
            AND (g.observed_at = m.newest_at OR g.observed_at = m.positive_at
                 OR g.observed_at = m.nonpositive_at)
        RETURNING m.metric_id, m.account_id
    )
    SELECT array_agg(metric_id), array_agg(account_id) INTO metrics, accounts FROM hit;
    IF metrics IS NOT NULL THEN
        {UPSERT.format(
            marks=MARKS_OF.format(
                rows="(SELECT s.* FROM unnest(metrics, accounts) AS p(metric_id, account_id) "
                "JOIN accounts_signal s ON s.account_id = p.account_id "
                "AND s.metric_id = p.metric_id)"
            )
        )};
    END IF;
    IF TG_OP = 'UPDATE' THEN
        {UPSERT.format(marks=MARKS_OF.format(rows="added"))};
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION accounts_signalmark_emptied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE accounts_signalmark;
    RETURN NULL;
END $$;

CREATE TRIGGER accounts_signalmark_insert AFTER INSERT ON accounts_signal
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION accounts_signalmark_added();
CREATE TRIGGER accounts_signalmark_delete AFTER DELETE ON accounts_signal
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
    EXECUTE FUNCTION accounts_signalmark_removed();
CREATE TRIGGER accounts_signalmark_update AFTER UPDATE ON accounts_signal
    REFERENCING OLD TABLE AS gone NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION accounts_signalmark_removed();
CREATE TRIGGER accounts_signalmark_truncate AFTER TRUNCATE ON accounts_signal
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_signalmark_emptied();
"""

DROP = """
DROP TRIGGER IF EXISTS accounts_signalmark_insert ON accounts_signal;
DROP TRIGGER IF EXISTS accounts_signalmark_delete ON accounts_signal;
DROP TRIGGER IF EXISTS accounts_signalmark_update ON accounts_signal;
DROP TRIGGER IF EXISTS accounts_signalmark_truncate ON accounts_signal;
DROP FUNCTION IF EXISTS accounts_signalmark_added();
DROP FUNCTION IF EXISTS accounts_signalmark_removed();
DROP FUNCTION IF EXISTS accounts_signalmark_emptied();
DROP TABLE IF EXISTS accounts_signalmark;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(TABLE)
    schema_editor.execute(FUNCTIONS)
    # The signals stored so far: one pass.
    schema_editor.execute(
        "INSERT INTO accounts_signalmark (metric_id, account_id, newest_at, newest_value, "
        f"positive_at, nonpositive_at) {MARKS_OF.format(rows='accounts_signal')}"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0015_signal_value_null_closes_a_sentiment"),
    ]

    operations = [migrations.RunPython(create, drop)]
