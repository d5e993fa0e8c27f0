"""Signal marks: for each account and metric, when its signals were last reported (and the
highest value reported at that moment), last reported above 0 and last at or below 0.

What the CTA rules ask of one metric's signals ("the latest invoice is 30 days late", "no
login above 0 in 30 days", "a complaint open since …"). Read from the signals, that is one
grouped pass over every signal of the metric per rule and night (a few hundred thousand at
100,000 accounts, 0.15–0.3 s each, most of the rules' time); folding it into the scoring's
read pass cost more than it saved (a CASE per signal for every metric: +2.2 s on 10
million).

So on PostgreSQL the marks are kept as the signals arrive: triggers on accounts_signal
(migration accounts 0016) upsert the marks of each statement's inserted rows (one grouped
pass over them) and recompute those a deleted or changed signal was at one of the moments of
(migration 0017). The rules then read one row per account. A mark counts every signal
stored, so it answers for a date only if none of the account's signals of the metric is
observed after it: the few accounts with one (a signal reported ahead, a typo in a year) are
read from their own signals; when more than FEW_AHEAD signals are (an earlier day
re-evaluated), and on SQLite (the demo, no triggers), the whole metric's marks are computed
from the signals, as before. A load that skips triggers (pg_restore --disable-triggers,
session_replication_role = replica) leaves them wrong: `manage.py rebuild_signal_marks`
recomputes them (a metric with signals and no marks at all is read from the signals
meanwhile).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import connection, transaction

from healthboard.lib.idranges import IdRange

TABLE = "accounts_signalmark"
COLUMNS = "account_id, newest_at, newest_value, positive_at, nonpositive_at"

# The marks of every signal stored, as the triggers keep them (the migration holds its own
# copy, as migrations do).
REBUILD = f"""
INSERT INTO {TABLE} (metric_id, account_id, newest_at, newest_value, positive_at,
    nonpositive_at)
WITH g AS (
    SELECT account_id, metric_id, MAX(observed_at) AS newest_at,
           MAX(observed_at) FILTER (WHERE value > 0) AS positive_at,
           MAX(observed_at) FILTER (WHERE value <= 0) AS nonpositive_at
    FROM accounts_signal GROUP BY account_id, metric_id
)
SELECT g.metric_id, g.account_id, g.newest_at, MAX(r.value), g.positive_at, g.nonpositive_at
FROM g JOIN accounts_signal r ON r.account_id = g.account_id AND r.metric_id = g.metric_id
    AND r.observed_at = g.newest_at
GROUP BY g.metric_id, g.account_id, g.newest_at, g.positive_at, g.nonpositive_at
"""


def _kept() -> bool:
    return connection.vendor == "postgresql"


def _ids_sql(
    alias: str, account_ids: Sequence[int] | None, account_range: IdRange | None = None
) -> tuple[str, list]:
    if account_ids is None:
        return account_range.sql(f"{alias}.account_id") if account_range else ("", [])
    ids = [int(a) for a in account_ids] or [0]
    return f" AND {alias}.account_id IN ({', '.join(['%s'] * len(ids))})", ids


# Accounts with a signal observed after the date evaluated are read one by one from their
# own signals, up to this many; more (an earlier day evaluated) and the whole metric is.
FEW_AHEAD = 1000


def marks_sql(
    metric_id: int,
    end: dt.datetime,
    account_ids: Sequence[int] | None = None,
    account_range: IdRange | None = None,
) -> tuple[str, list]:
    """A SELECT of the marks (COLUMNS) of one metric's signals observed before `end`, for
    every account with one (or those of `account_ids`, or of `account_range`): on
    PostgreSQL the kept marks where
    they answer for `end`, else (and on SQLite) computed from the signals. One statement, so
    one snapshot decides which."""
    at = connection.ops.adapt_datetimefield_value(end)
    scan, scan_params = _scan_sql(metric_id, at, account_ids, account_range)
    if not _kept():
        return scan, scan_params
    m_ids, m_ids_params = _ids_sql("m", account_ids, account_range)
    r_ids, r_ids_params = _ids_sql("r", account_ids, account_range)
    # A kept mark answers for `end` when the account has no signal of the metric observed at
    # or after it (the mark counts it, and a moment before `end` may be what is asked).
    # Uncorrelated conditions, which PostgreSQL evaluates once (a branch whose condition is
    # false is never run):
    # - marked: the metric has marks at all (a load that skipped the triggers leaves none);
    # - ahead: a signal of the metric is observed at or after `end` (one index probe);
    # - few: at most FEW_AHEAD signals are (so at most as many accounts).
    # Each probe reads its index's first entry (ordered as the index: a plain EXISTS on a
    # metric was planned as a table scan, 0.12 s for the marks of a metric stored late in
    # the table).
    marked = (
        f"((SELECT 1 FROM {TABLE} WHERE metric_id = %s "
        "ORDER BY metric_id, account_id LIMIT 1) IS NOT NULL)"
    )
    ahead = "EXISTS (SELECT 1 FROM accounts_signal WHERE metric_id = %s AND observed_at >= %s)"
    few = (
        "((SELECT COUNT(*) FROM (SELECT 1 FROM accounts_signal WHERE metric_id = %s "
        f"AND observed_at >= %s LIMIT {FEW_AHEAD + 1}) a) <= {FEW_AHEAD})"
    )
    marked_p, ahead_p, few_p = [metric_id], [metric_id, at], [metric_id, at]
    columns = ", ".join("m." + c.strip() for c in COLUMNS.split(","))
    # Two branches, each with conditions PostgreSQL can weigh before reading a mark.
    kept = (
        f"SELECT {columns} FROM {TABLE} m WHERE m.metric_id = %s{m_ids} AND {marked} "
        f"AND NOT {ahead} UNION ALL "
        f"SELECT {columns} FROM {TABLE} m WHERE m.metric_id = %s{m_ids} AND {marked} "
        f"AND {ahead} AND {few} AND m.newest_at < %s"
    )
    kept_p = [
        metric_id, *m_ids_params, *marked_p, *ahead_p,
        metric_id, *m_ids_params, *marked_p, *ahead_p, *few_p, at,
    ]  # fmt: skip
    # The few accounts ahead (found from their signals ahead, in the (metric, moment) index):
    # each from its own signals, through the (account, newest first) index.
    one_by_one = (
        "SELECT a.account_id, g.newest_at, (SELECT MAX(v.value) FROM accounts_signal v "
        "WHERE v.metric_id = %s AND v.observed_at = g.newest_at "
        "AND v.account_id = a.account_id) AS newest_value, g.positive_at, g.nonpositive_at "
        f"FROM (SELECT DISTINCT r.account_id FROM accounts_signal r WHERE r.metric_id = %s{r_ids} "
        "AND r.observed_at >= %s) a CROSS JOIN LATERAL (SELECT MAX(s.observed_at) AS newest_at, "
        "MAX(CASE WHEN s.value > 0 THEN s.observed_at END) AS positive_at, "
        "MAX(CASE WHEN s.value <= 0 THEN s.observed_at END) AS nonpositive_at "
        "FROM accounts_signal s WHERE s.account_id = a.account_id AND s.metric_id = %s "
        f"AND s.observed_at < %s) g WHERE g.newest_at IS NOT NULL AND {marked} AND {ahead} "
        f"AND {few}"
    )
    one_by_one_p = [
        metric_id, metric_id, *r_ids_params, at, metric_id, at, *marked_p, *ahead_p, *few_p
    ]  # fmt: skip
    computed = f"SELECT * FROM ({scan}) computed WHERE NOT {marked} OR ({ahead} AND NOT {few})"
    computed_p = [*scan_params, *marked_p, *ahead_p, *few_p]
    return (
        f"{kept} UNION ALL {one_by_one} UNION ALL {computed}",
        [*kept_p, *one_by_one_p, *computed_p],
    )


def _scan_sql(
    metric_id: int, at, account_ids: Sequence[int] | None, account_range: IdRange | None
) -> tuple[str, list]:
    """The marks computed from the signals: one grouped pass; the value at the newest moment
    looked up in the (metric, moment, account) index, the highest of several then."""
    ids, ids_params = _ids_sql("s", account_ids, account_range)
    return (
        "SELECT g.account_id, g.newest_at, (SELECT MAX(v.value) FROM accounts_signal v "
        "WHERE v.metric_id = %s AND v.observed_at = g.newest_at "
        "AND v.account_id = g.account_id) AS newest_value, g.positive_at, g.nonpositive_at "
        "FROM (SELECT s.account_id, MAX(s.observed_at) AS newest_at, "
        "MAX(CASE WHEN s.value > 0 THEN s.observed_at END) AS positive_at, "
        "MAX(CASE WHEN s.value <= 0 THEN s.observed_at END) AS nonpositive_at "
        f"FROM accounts_signal s WHERE s.metric_id = %s AND s.observed_at < %s{ids} "
        "GROUP BY s.account_id) g",
        [metric_id, metric_id, at, *ids_params],
    )


def metric_has_signals_sql(metric: str) -> str:
    """SQL: whether the metric (an SQL expression) has any signal, from the first entry of
    its (metric, moment) index."""
    # A scalar subquery, not EXISTS: EXISTS drops the ORDER BY that makes the index the
    # plan (see marks_sql).
    return (
        "((SELECT 1 FROM accounts_signal WHERE metric_id = "
        f"{metric} ORDER BY metric_id, observed_at LIMIT 1) IS NOT NULL)"
    )


def marks_rebuild() -> int:
    """Recompute every kept mark from the signals, in one transaction (PostgreSQL; nothing
    on SQLite). For a load that bypassed the triggers (session_replication_role = replica,
    pg_restore --disable-triggers), after which the marks would be wrong. Returns how many
    marks there are."""
    if not _kept():
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        # The signals must not change meanwhile: the triggers would write marks this
        # rebuild is about to replace.
        cursor.execute(f"LOCK TABLE accounts_signal IN SHARE MODE; DELETE FROM {TABLE}")
        cursor.execute(REBUILD)
        count = cursor.rowcount
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")
    return count
