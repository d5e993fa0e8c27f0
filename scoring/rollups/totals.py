"""Per-run band totals: what the portfolio's summary strip and the journey board add up,
stored once per run.

The strip shows accounts and ARR per band for the filtered accounts, and each band's count
on the run a week before; the journey board shows, per stage and band, accounts, ARR and the
average score, and per stage the median days in it and how many are past its target.
Counted live, that joins a whole day of scores to the accounts: over 100 ms at 100,000
accounts for the strip, 1.2 s at a million for the board. Stored per cell, it is a sum over
a few thousand rows:

- RunTotal: per band × owner × segment × stage × active, how many accounts, their ARR, how
  many have a score and the scores' sum;
- RunStageDay: the active accounts per stage × band × segment × day they entered the stage;
- RunBookDay: the same per owner, for one CSM's board (summing it for the whole portfolio
  would read every owner's rows; reading a book of 20,000 accounts and their scores live
  took a quarter of a second at a million accounts).

Totals are written when a run is published (run_totals_publish) and kept for the recent runs
only: the newest done run and the week before it, the runs the portfolio opens on. Other runs
have no totals and the page counts them live.

Stored totals stay exact without any caller's help: PostgreSQL triggers (migrations
scoring/0011_run_totals and 0027_run_totals_by_stage) move an account between cells when its
owner, segment, stage, stage entry, status or ARR changes (a CSM moving an account to another
stage moves one account's cells), and add or remove it when one of its scores in a run with
totals is
written, re-scored (scoring.pipeline.runs.account_rescore deletes and re-inserts the row)
or deleted. They are statement-level, so a bulk update costs one set-based query, not one
per row.

SQLite (the single-machine demo) has no such triggers: nothing is stored there, and the
page always counts live, which at that size is fast.

Why these totals, and their triggers, stay beside the runs' snapshots
(scoring.rollups.snapshots, the one store of a run as published): the strip must follow
every account edit at once, including bulk updates that no Python hook sees, and the
snapshot alone is too slow for it. Counting the strip from the two runs' snapshots and the
accounts read live as columns (exact, tried in issue 10) measured at 100,000 accounts on
PostgreSQL, on a machine loaded by a concurrent benchmark: 432 ms for a manager's whole
portfolio and 155 ms for a CSM's book (251 ms reading the accounts' columns, 120 ms the
two snapshots), against the portfolio's budget of 100 ms for the whole page; the live SQL
count took 567 ms a run. Summed from these cells, the strip is one query over a few
hundred rows.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import DatabaseError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from accounts.models import Account
from healthboard.lib.planner import new_run_plan
from scoring.models import RunBookDay, RunStageDay, RunTotal, ScoreRun
from scoring.models.rollups import NO_OWNER

logger = logging.getLogger(__name__)

# Totals are kept for the done runs this close to the newest one: the portfolio shows the
# newest run and compares it with the one a week before.
KEEP = dt.timedelta(days=7)
# What a run with totals keeps, written and dropped together.
KEPT = (RunTotal, RunStageDay, RunBookDay)


def run_totals_supported() -> bool:
    """Whether totals are stored: only PostgreSQL has the triggers that keep them exact."""
    return connection.vendor == "postgresql"


# The run's cells from its scores and the accounts as they are now, the three kinds from one
# pass over the run (a CTE grouped by every key, then summed): `kind` 1, the totals' cells;
# 0, the active accounts per owner by stage entry; 2, the same for everyone. Grouping sets
# over the joined rows instead took three times as long (a hash table or a sort each).
COUNT_SQL = """
    WITH fine AS (
        SELECT h.band, coalesce(a.owner_id, %(no_owner)s) AS owner_id, a.segment_id,
               a.status = {active} AS active, a.stage_id, a.stage_since, count(*) AS n,
               sum(a.arr) AS arr, coalesce(sum(h.score), 0) AS score_sum,
               count(h.score) AS scored, min(h.score) AS low
        FROM scoring_healthscore h JOIN accounts_account a ON a.id = h.account_id
        WHERE h.run_id = %(run)s
        GROUP BY 1, 2, 3, 4, 5, 6
    )
    SELECT 1, band, owner_id, segment_id, active, stage_id, NULL::date, sum(n), sum(arr),
           sum(score_sum), sum(scored), min(low)
    FROM fine GROUP BY 2, 3, 4, 5, 6
    UNION ALL
    SELECT 0, band, owner_id, segment_id, active, stage_id, stage_since, n, arr, score_sum,
           scored, low
    FROM fine WHERE active AND stage_since IS NOT NULL
    UNION ALL
    SELECT 2, band, NULL, segment_id, active, stage_id, stage_since, sum(n), sum(arr),
           sum(score_sum), sum(scored), min(low)
    FROM fine WHERE active AND stage_since IS NOT NULL GROUP BY 2, 4, 5, 6, 7
""".format(active=f"'{Account.Status.ACTIVE.value}'")
TOTALS, DAYS, BOOK_DAYS = 1, 2, 0
STORE_SQL = """
    INSERT INTO scoring_runtotal (run_id, band, owner_id, segment_id, active, stage_id, n, arr,
                                  score_sum, scored, score_low)
    SELECT %s, * FROM unnest(%s::varchar[], %s::bigint[], %s::bigint[], %s::boolean[],
                             %s::bigint[], %s::integer[], %s::numeric[],
                             %s::double precision[], %s::integer[], %s::double precision[])
"""
STORE_DAYS_SQL = """
    INSERT INTO scoring_runstageday (run_id, band, segment_id, stage_id, stage_since, n)
    SELECT %s, * FROM unnest(%s::varchar[], %s::bigint[], %s::bigint[], %s::date[],
                             %s::integer[])
"""
STORE_BOOK_DAYS_SQL = """
    INSERT INTO scoring_runbookday (run_id, band, owner_id, segment_id, stage_id, stage_since, n)
    SELECT %s, * FROM unnest(%s::varchar[], %s::bigint[], %s::bigint[], %s::bigint[],
                             %s::date[], %s::integer[])
"""


def _columns(rows: list[tuple]) -> list[list]:
    return [list(column) for column in zip(*rows, strict=True)]


def _store(run: ScoreRun) -> int:
    """Count the run's cells and store them. Four queries; returns the totals' cells."""
    with connection.cursor() as cursor:
        with new_run_plan():
            cursor.execute(COUNT_SQL, {"no_owner": NO_OWNER, "run": run.pk})
        totals, days, book_days = [], [], []
        for row in cursor.fetchall():
            kind, band, owner, segment, active, stage, since, *sums = row
            n, arr, score_sum, scored, low = sums
            if kind == TOTALS:
                totals.append((band, owner, segment, active, stage, n, arr, score_sum, scored, low))
            elif kind == DAYS:
                days.append((band, segment, stage, since, n))
            else:
                book_days.append((band, owner, segment, stage, since, n))
        for sql, rows in (
            (STORE_SQL, totals),
            (STORE_DAYS_SQL, days),
            (STORE_BOOK_DAYS_SQL, book_days),
        ):
            if rows:
                cursor.execute(sql, [run.pk, *_columns(rows)])
    return len(totals)


# How long publishing waits for writers that hold the accounts or the scores (an atomic
# import, say) before leaving the run to the live count rather than holding up the night.
LOCK_WAIT = "10s"


def writers_lock() -> None:
    # Counting and storing must see no write to scores or accounts in between: a write
    # committed after the count but before the totals exist would reach neither. SHARE
    # waits for open writers and holds new ones until the totals are stored. Scores first:
    # a cascade deleting an account holds the scores' lock before the accounts'.
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        callers = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_WAIT])
        cursor.execute("LOCK TABLE scoring_healthscore, accounts_account IN SHARE MODE")
        # The caller's transaction goes on with its own setting.
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [callers])


def _keep_from() -> dt.date | None:
    newest = ScoreRun.objects.filter(status=ScoreRun.Status.DONE).aggregate(d=Max("date"))["d"]
    return newest - KEEP if newest else None


def _drop_stale(keep_from: dt.date | None) -> None:
    """Totals of runs that are no longer done, or too old to be shown by default."""
    stale = ~Q(run__status=ScoreRun.Status.DONE)
    if keep_from is not None:
        stale |= Q(run__date__lt=keep_from)
    for model in KEPT:
        model.objects.filter(stale).delete()


def run_totals_publish(*, run: ScoreRun) -> int:
    """Store the totals of a run that has just been published, and drop those of runs that
    left the window. Returns the cells stored (0: not stored; the page counts live).

    Call it once the run is done. A run dated more than a week ago (a back-fill's) is not
    stored: the portfolio opens on the newest run, and a back-fill would otherwise count
    every day it publishes. Never raises for a database error: without totals the portfolio
    is only slower, so a failure (say, a writer holding the lock) is logged and leaves the
    run to the live count.
    """
    if not run_totals_supported() or run.date < timezone.localdate() - KEEP:
        return 0
    try:
        with transaction.atomic():
            writers_lock()
            keep_from = _keep_from()
            _drop_stale(keep_from)
            fresh = ScoreRun.objects.filter(pk=run.pk, status=ScoreRun.Status.DONE)
            if keep_from is None or run.date < keep_from or not fresh.exists():
                return 0
            for model in KEPT:
                model.objects.filter(run=run).delete()
            return _store(run)
    except DatabaseError:
        logger.warning(
            "Run %s: totals not stored; the portfolio counts it live", run.pk, exc_info=True
        )
        return 0


def run_totals_rebuild() -> int:
    """Recount the totals of every run in the window, from scratch (after a bulk load that
    bypassed the triggers, or to check them). Returns the cells stored."""
    if not run_totals_supported():
        return 0
    stored = 0
    with transaction.atomic():
        writers_lock()
        for model in KEPT:
            model.objects.all().delete()
        keep_from = _keep_from()
        if keep_from is None:
            return 0
        runs = ScoreRun.objects.filter(status=ScoreRun.Status.DONE, date__gte=keep_from)
        for run in runs.order_by("date"):
            stored += _store(run)
    return stored
