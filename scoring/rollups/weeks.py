"""The weekly review's comparison of a run with the run a week before it, counted once and
kept exact: what the managers' review reads instead of both runs' scores and every account.

The review (healthboard.pages.weekly) compares the done run at the end of a week with the
done run a week before it (week_before), over the active accounts the first one scored: a
matrix of bands then × now, each CSM's book, ARR at risk, the renewals of the next 90 days
by band, and the accounts whose score fell or rose most. Counted live from both runs' scores
and every account's owner, ARR, status and renewal date, that took 1.1–1.8 s at a million
accounts (machines differ). Kept here, it is one read of a few thousand cells and of a few
hundred accounts:

- RunWeek: the pair of runs, and the accounts with the biggest falls and rises of score
  between them when it was counted (MOVERS_KEPT each way, whatever their status);
- RunWeekCell: per owner × band now × band a week before × renewing or not, the active
  accounts' number, ARR, scores summed and changes of score summed;
- RunWeekTouched: the accounts whose score in either run was written since (a re-score of
  today's run), whose change of score the movers look at again.

As for the portfolio's totals (scoring.rollups.totals, which says why triggers), PostgreSQL
triggers (migration scoring/0030_week_cells) keep the cells exact through every write to
the accounts' owner, status, ARR and renewal date and to either run's scores, bulk updates
included, one writer at a time. The weeks are counted on a worker after a run is published
(scoring.pipeline.upkeep, after the scores' VACUUM): the newest run's (the week so far) and
those of the last runs of the WEEKS_KEPT weeks before it (the week just ended, the review's
default, and the ones its picker offers first). Until then, and for older weeks, the review
counts live. SQLite (the demo) keeps none.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL

from scoring.models import RunTotal, RunWeek, RunWeekCell, RunWeekTouched, ScoreRun
from scoring.models.rollups import NO_OWNER
from scoring.rollups.totals import run_totals_supported, writers_lock

logger = logging.getLogger(__name__)

WEEK = dt.timedelta(days=7)
# The review's renewals: those within this many days after the week's end.
RENEWAL_DAYS = 90
# Falls and rises kept each way: the review shows ten, and an account that churned since or
# was re-scored gives its place to the next.
MOVERS_KEPT = 100
# The weeks kept before the newest run's own (_wanted).
WEEKS_KEPT = 4
# A write touching more of a week's accounts than this (a whole run replaced) marks its
# movers stale instead of listing every account in RunWeekTouched.
TOUCHED_MAX = 10_000


def week_before_span(day: dt.date) -> tuple[dt.date, dt.date]:
    """The dates a run of `day` is compared with, the newest done one first: seven to fourteen
    days before it (a "week before" further back is no week before)."""
    return day - 2 * WEEK, day - WEEK


def week_before(run: ScoreRun) -> ScoreRun | None:
    """The done run the weekly review compares `run` with (week_before_span). One query."""
    first, last = week_before_span(run.date)
    return (
        ScoreRun.objects.filter(status=ScoreRun.Status.DONE, date__gte=first, date__lte=last)
        .order_by("-date")
        .only("id", "date", "status")
        .first()
    )


# ---------------------------------------------------------------- counting

# A week's cells from both runs and the accounts as they are now (the triggers' own cells,
# counted in one pass).
CELLS_SQL = f"""
    INSERT INTO scoring_runweekcell (run_id, owner_id, band, band_before, renews, n, arr,
                                     scored, score_sum, compared, change_sum)
    SELECT %(run)s, coalesce(a.owner_id, {NO_OWNER}), e.band, coalesce(p.band, ''),
           coalesce(a.renewal_date > %(day)s AND a.renewal_date <= %(renew_by)s, false),
           count(*), sum(a.arr), count(e.score), coalesce(sum(e.score), 0),
           count(e.score - p.score), coalesce(sum(e.score - p.score), 0)
    FROM scoring_healthscore e
    JOIN accounts_account a ON a.id = e.account_id AND a.status = 'active'
    LEFT JOIN scoring_healthscore p ON p.run_id = %(before)s AND p.account_id = e.account_id
    WHERE e.run_id = %(run)s
    GROUP BY 2, 3, 4, 5
"""
# The biggest falls and rises between the two runs, ties by account id, as the review
# orders them (healthboard.pages.weekly.selectors).
MOVERS_SQL = """
    WITH changes AS MATERIALIZED (
        SELECT e.account_id, e.score - p.score AS change
        FROM scoring_healthscore e
        JOIN scoring_healthscore p ON p.run_id = %(before)s AND p.account_id = e.account_id
        WHERE e.run_id = %(run)s AND e.score <> p.score
    )
    (SELECT 0, account_id, change FROM changes WHERE change < 0
     ORDER BY change, account_id LIMIT %(kept)s)
    UNION ALL
    (SELECT 1, account_id, change FROM changes WHERE change > 0
     ORDER BY change DESC, account_id LIMIT %(kept)s)
"""


def _count(run: ScoreRun, before: ScoreRun | None) -> None:
    drops, gains = [], []
    params = {
        "run": run.pk,
        "before": before.pk if before else None,
        "day": run.date,
        "renew_by": run.date + dt.timedelta(days=RENEWAL_DAYS),
        "kept": MOVERS_KEPT,
    }
    with connection.cursor() as cursor:
        if before is not None:
            cursor.execute(MOVERS_SQL, params)
            for rise, account_id, change in cursor.fetchall():
                (gains if rise else drops).append([account_id, change])
        RunWeek.objects.create(run=run, before=before, drops=drops, gains=gains)
        cursor.execute(CELLS_SQL, params)


def week_end_of(day: dt.date) -> dt.date:
    """The Sunday that ends the (ISO, Monday-first) week of `day`."""
    return day + dt.timedelta(days=7 - day.isoweekday())


def _wanted() -> list[ScoreRun]:
    """The runs whose weeks are kept: the newest done run (the review of the week so far)
    and the last done run of each of the WEEKS_KEPT weeks before its week (the weeks the
    review opens on and its picker offers first). One query."""
    newest = ScoreRun.objects.filter(status=ScoreRun.Status.DONE).order_by("-date").first()
    if newest is None:
        return []
    last_sunday = week_end_of(newest.date) - WEEK
    oldest = last_sunday - WEEKS_KEPT * WEEK + dt.timedelta(days=1)
    ends: dict[dt.date, ScoreRun] = {}
    for run in ScoreRun.objects.filter(
        status=ScoreRun.Status.DONE, date__gte=oldest, date__lte=last_sunday
    ).order_by("date"):
        ends[week_end_of(run.date)] = run  # the last of its week wins
    return [newest, *ends.values()]


def _drop(run_ids) -> None:
    """The weeks of these runs, their cells and touched accounts, deleted in bulk (Django's
    cascade would read every cell first)."""
    for model in (RunWeekCell, RunWeekTouched, RunWeek):
        model.objects.filter(run_id__in=run_ids).delete()


def weeks_keep(*, afresh: bool = False) -> int:
    """Count the weeks of the runs the review opens on (_wanted) that have none (or whose run
    a week before is no longer the one they compared with) and drop the others; afresh:
    count every one again (after a load that bypassed the triggers). Returns the weeks
    counted. Never raises for a database error: without them the review is only
    slower, so a failure (a writer holding the lock) is logged and leaves it counting live."""
    if not run_totals_supported():
        return 0
    try:
        with transaction.atomic():
            writers_lock()
            if afresh:
                _drop(RunWeek.objects.values("run_id"))
            kept = {w.run_id: w.before_id for w in RunWeek.objects.all()}
            wanted = {run.pk: (run, week_before(run)) for run in _wanted()}
            stale = [
                run_id
                for run_id, before_id in kept.items()
                if run_id not in wanted
                or before_id != (wanted[run_id][1].pk if wanted[run_id][1] else None)
            ]
            _drop(stale)
            counted = 0
            for run_id, (run, before) in sorted(wanted.items()):
                if run_id in kept and run_id not in stale:
                    continue
                _count(run, before)
                counted += 1
            return counted
    except DatabaseError:
        logger.warning("Weeks not counted; the weekly review counts live", exc_info=True)
        return 0


def writers_lock_before_dropping(run_ids: list[int]) -> None:
    """Before deleting the scores of runs with kept cells (a re-run day's old run), in a
    transaction that stores totals afterwards: lock the writers out first. The cells'
    triggers take turns with other writers until commit (migration 0030); a re-score waiting
    for its turn holds a write lock on the scores that the totals' table lock would then wait
    for, behind a turn this transaction holds. Two queries (none without such runs)."""
    if not run_ids or not run_totals_supported():
        return
    kept = RunTotal.objects.filter(run_id__in=run_ids).exists() or (
        RunWeek.objects.filter(Q(run_id__in=run_ids) | Q(before_id__in=run_ids)).exists()
    )
    if kept:
        writers_lock()


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class WeekCell:
    owner_id: int | None
    band: str
    band_before: str | None  # None: not scored a week before
    renews: bool
    n: int
    arr: Decimal
    scored: int
    score_sum: float
    compared: int
    change_sum: float


@dataclass(frozen=True)
class KeptWeek:
    cells: list[WeekCell]
    drops: list[tuple[int, float]]  # (account id, change) as counted, biggest fall first
    gains: list[tuple[int, float]]
    touched: list[int] | None  # accounts re-scored since; None: too many, movers stale


def kept_week(run: ScoreRun, before: ScoreRun | None) -> KeptWeek | None:
    """The kept comparison of `run` with `before`, if it was counted for exactly these two
    runs; None otherwise (count live). Two queries (one without a week; none where weeks
    are not kept)."""
    if not run_totals_supported():
        return None
    week = (
        RunWeek.objects.filter(run=run)
        .annotate(
            touched_ids=RawSQL(
                "ARRAY(SELECT t.account_id FROM scoring_runweektouched t "
                "WHERE t.run_id = scoring_runweek.run_id)",
                [],
            )
        )
        .first()
    )
    if week is None or week.before_id != (before.pk if before else None):
        return None
    cells = [
        WeekCell(
            owner_id=None if owner == NO_OWNER else owner,
            band=band,
            band_before=band_before or None,
            renews=renews,
            n=n,
            arr=arr,
            scored=scored,
            score_sum=score_sum,
            compared=compared,
            change_sum=change_sum,
        )
        for owner, band, band_before, renews, n, arr, scored, score_sum, compared, change_sum in (
            RunWeekCell.objects.filter(run=week, n__gt=0)
            .order_by()
            .values_list(
                "owner_id",
                "band",
                "band_before",
                "renews",
                "n",
                "arr",
                "scored",
                "score_sum",
                "compared",
                "change_sum",
            )
        )
    ]
    touched = None if week.movers_stale else [int(a) for a in week.touched_ids]
    return KeptWeek(
        cells=cells,
        drops=[(int(a), float(c)) for a, c in week.drops],
        gains=[(int(a), float(c)) for a, c in week.gains],
        touched=touched,
    )
