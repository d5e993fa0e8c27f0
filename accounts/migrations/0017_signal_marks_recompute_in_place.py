"""The signal marks' removal trigger recomputes the marks in place (review of 0016).

0016 deleted the marks a removed signal was at, then inserted them again. Two transactions
removing signals of the same account and metric then went wrong: the second one, waiting
for the first one's lock, found the mark deleted (not updated), so it skipped it, never
saw the re-inserted one and recomputed nothing; the mark kept pointing at its removed
signal. Now every mark of the pairs a statement removed signals of is locked first (FOR
UPDATE, in sorted order), then, in a second statement that sees what committed meanwhile,
the marks the removed signals were at are recomputed in place; only a pair left without
signals loses its mark. The signals of those pairs are read once."""

from django.db import migrations

# The marks a removed signal was at one of the moments of (hit), and the marks of those pairs'
# signals now (fresh: one row per pair that still has signals; the signals read once).
FRESH = """
hit AS (
    SELECT m.metric_id, m.account_id FROM accounts_signalmark m
    JOIN (SELECT metric_id, account_id, array_agg(observed_at) AS moments
          FROM gone GROUP BY metric_id, account_id) g
        ON m.metric_id = g.metric_id AND m.account_id = g.account_id
    WHERE m.newest_at = ANY (g.moments) OR m.positive_at = ANY (g.moments)
        OR m.nonpositive_at = ANY (g.moments)
),
picked AS MATERIALIZED (
    SELECT s.account_id, s.metric_id, s.observed_at, s.value
    FROM hit p JOIN accounts_signal s ON s.account_id = p.account_id AND s.metric_id = p.metric_id
),
g AS (
    SELECT account_id, metric_id, MAX(observed_at) AS newest_at,
           MAX(observed_at) FILTER (WHERE value > 0) AS positive_at,
           MAX(observed_at) FILTER (WHERE value <= 0) AS nonpositive_at
    FROM picked GROUP BY account_id, metric_id
),
fresh AS MATERIALIZED (
    SELECT g.metric_id, g.account_id, g.newest_at, MAX(r.value) AS newest_value,
           g.positive_at, g.nonpositive_at
    FROM g JOIN picked r ON r.account_id = g.account_id AND r.metric_id = g.metric_id
        AND r.observed_at = g.newest_at
    GROUP BY g.metric_id, g.account_id, g.newest_at, g.positive_at, g.nonpositive_at
)
"""

UPSERT_ADDED = """
INSERT INTO accounts_signalmark AS m (metric_id, account_id, newest_at, newest_value,
    positive_at, nonpositive_at)
WITH g AS (
    SELECT account_id, metric_id, MAX(observed_at) AS newest_at,
           MAX(observed_at) FILTER (WHERE value > 0) AS positive_at,
           MAX(observed_at) FILTER (WHERE value <= 0) AS nonpositive_at
    FROM added AS each_signal GROUP BY account_id, metric_id
)
SELECT g.metric_id, g.account_id, g.newest_at, MAX(r.value), g.positive_at, g.nonpositive_at
FROM g JOIN added r ON r.account_id = g.account_id AND r.metric_id = g.metric_id
    AND r.observed_at = g.newest_at
GROUP BY g.metric_id, g.account_id, g.newest_at, g.positive_at, g.nonpositive_at
ORDER BY 1, 2
ON CONFLICT (metric_id, account_id) DO UPDATE SET
    newest_value = CASE
        WHEN EXCLUDED.newest_at > m.newest_at THEN EXCLUDED.newest_value
        WHEN EXCLUDED.newest_at < m.newest_at THEN m.newest_value
        ELSE GREATEST(m.newest_value, EXCLUDED.newest_value) END,
    newest_at = GREATEST(m.newest_at, EXCLUDED.newest_at),
    positive_at = GREATEST(m.positive_at, EXCLUDED.positive_at),
    nonpositive_at = GREATEST(m.nonpositive_at, EXCLUDED.nonpositive_at)
"""

REMOVED = f"""
CREATE OR REPLACE FUNCTION accounts_signalmark_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Lock the marks of every pair a removed signal belonged to, in sorted order, whatever
    -- their moments: a mark that another transaction is recomputing may only become one
    -- this removal changes once that transaction has committed.
    PERFORM 1 FROM accounts_signalmark m
    JOIN (SELECT DISTINCT metric_id, account_id FROM gone) g
        ON m.metric_id = g.metric_id AND m.account_id = g.account_id
    ORDER BY m.metric_id, m.account_id
    FOR UPDATE OF m;
    -- A new statement: its snapshot sees what committed while this one waited. The marks
    -- are recomputed in place; a pair left without signals loses its mark.
    WITH {FRESH},
    updated AS (
        UPDATE accounts_signalmark m SET newest_at = f.newest_at,
            newest_value = f.newest_value, positive_at = f.positive_at,
            nonpositive_at = f.nonpositive_at
        FROM fresh f WHERE m.metric_id = f.metric_id AND m.account_id = f.account_id
        RETURNING m.metric_id
    )
    DELETE FROM accounts_signalmark m USING hit p
    WHERE m.metric_id = p.metric_id AND m.account_id = p.account_id
        AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.metric_id = p.metric_id
                        AND f.account_id = p.account_id);
    IF TG_OP = 'UPDATE' THEN
        {UPSERT_ADDED};
    END IF;
    RETURN NULL;
END $$;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REMOVED)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0016_signal_marks"),
    ]

    # Going back keeps this version: 0016's had the defect above (and unapplying 0016
    # drops the function).
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
