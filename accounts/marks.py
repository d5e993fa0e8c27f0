"""Signal marks: for each account and metric, when its signals were last reported (and the
highest value reported at that moment), last reported above 0 and last at or below 0.

What the CTA rules ask of one metric's signals ("the latest invoice is 30 days late", "no
login above 0 in 30 days", "a complaint open since …"). Read from the signals, that is one
grouped pass over every signal of the metric per rule and night (a few hundred thousand at
100,000 accounts, 0.15–0.3 s each, most of the rules' time); folding it into the scoring's
read pass cost more than it saved (a CASE per signal for every metric: +2.2 s on 10 million).

So on PostgreSQL the marks are kept as the signals arrive: triggers on accounts_signal
(migration accounts 0016) upsert the marks of each statement's inserted rows (one grouped
pass over them) and recompute those a deleted or changed signal was at one of the moments
of. The rules then read one row per account. The marks count every signal stored, so they
answer for a date only if none of the metric's signals is observed after it (a signal
reported ahead, a re-evaluation of an earlier day); then, and on SQLite (the demo, no
triggers), the same marks are computed from the signals, as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import connection

TABLE = "accounts_signalmark"
COLUMNS = "account_id, newest_at, newest_value, positive_at, nonpositive_at"


def _kept() -> bool:
    return connection.vendor == "postgresql"


def _ids_sql(alias: str, account_ids: Sequence[int] | None) -> tuple[str, list]:
    if account_ids is None:
        return "", []
    ids = [int(a) for a in account_ids] or [0]
    return f" AND {alias}.account_id IN ({', '.join(['%s'] * len(ids))})", ids


def marks_sql(
    metric_id: int, end: dt.datetime, account_ids: Sequence[int] | None = None
) -> tuple[str, list]:
    """A SELECT of the marks (COLUMNS) of one metric's signals observed before `end`, for
    every account with one (or those of `account_ids`): from the kept marks where they hold
    for `end` (one query to find out), else from the signals."""
    at = connection.ops.adapt_datetimefield_value(end)
    if _kept() and not _ahead(metric_id, at):
        ids, ids_params = _ids_sql("m", account_ids)
        return (
            f"SELECT {', '.join('m.' + c.strip() for c in COLUMNS.split(','))} "
            f"FROM {TABLE} m WHERE m.metric_id = %s{ids}",
            [metric_id, *ids_params],
        )
    ids, ids_params = _ids_sql("s", account_ids)
    # One grouped pass; the value at the newest moment is looked up in the (metric, moment,
    # account) index, the highest of several at that moment.
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


def _ahead(metric_id: int, at) -> bool:
    """Whether a signal of the metric is observed at or after `at` (the kept marks count
    it, and a moment before `at` may be what is asked): one probe of the signals' (metric,
    moment) index."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM accounts_signal WHERE metric_id = %s "
            "AND observed_at >= %s)",
            [metric_id, at],
        )
        return bool(cursor.fetchone()[0])
