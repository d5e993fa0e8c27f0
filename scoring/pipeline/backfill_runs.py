"""A back-fill: one published run per day over a range of dates, set-based over the days.

A run per day (runs.run_sync) costs a dozen round trips a day: claim, chunks, their raw
values, the previous week's scores, the rows, the publication, the snapshot. A year of them
is minutes even for a few thousand accounts. Here a block of days is read with one pass over
the signals (backfill.DailyAggregates), scored in memory day after day with the same
functions a run uses (so the results are the same, tested), and written at once: the block's
runs claimed in one statement, its rows in one insert (COPY on PostgreSQL), published with
their snapshots in one transaction. The week-over-week change comes from the days scored
before, not read back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account
from scoring import engine
from scoring.actions.hooks import rules_apply_after_run
from scoring.aggregates import Aggregated
from scoring.bands import code_of
from scoring.models import HealthScore, ScoreRun
from scoring.pipeline import compute
from scoring.pipeline.backfill import DailyAggregates
from scoring.pipeline.chunks import ChunkRaw, population_references
from scoring.pipeline.runs import (
    RunInProgress,
    insert_scores,
    score_rows,
    take_over_abandoned,
    versions_that_score,
)
from scoring.pipeline.upkeep import upkeep_soon
from scoring.rollups.snapshots import RunColumns, runs_rollup_written
from scoring.rollups.totals import run_totals_publish
from scoring.rollups.weeks import writers_lock_before_dropping
from scoring.specs import ScorecardAssignment, VersionConfig

# A block of days' signals are read once, BACKFILL_ACCOUNTS_PER_BLOCK accounts per query. Its
# days' windows reach back before it: the fewer blocks, the fewer signals read twice. Memory
# grows with accounts × days (backfill.py: ~475 MB at peak for 2,000 accounts × 365 days),
# so a block holds at most BACKFILL_CELLS of them; rows are written (and their runs
# published) BACKFILL_ROWS_PER_WRITE at a time.
BACKFILL_DAYS_PER_BLOCK = 366
BACKFILL_ACCOUNTS_PER_BLOCK = 2000
BACKFILL_CELLS = 750_000
BACKFILL_ROWS_PER_WRITE = 200_000


class _Blocks:
    """aggregate() for any date of a block, answered from DailyAggregates built up front."""

    def __init__(self, dailies: list[DailyAggregates]):
        self.dailies = dailies

    def __call__(self, *, as_of: dt.date, requests, account_ids) -> Aggregated:
        account_ids = np.asarray(account_ids, dtype=np.int64)
        parts = []
        for daily in self.dailies:
            mine = account_ids[np.isin(account_ids, daily.account_ids)]
            if len(mine):
                parts.append(daily.for_date(as_of, account_ids=mine))
        if len(parts) == 1:
            part = parts[0]
            return Aggregated(
                part.account_ids, {r: part.values[r] for r in requests}, part.has_signals
            )
        ids = np.concatenate([p.account_ids for p in parts]) if parts else account_ids[:0]
        order = np.argsort(ids)
        values = {
            r: np.concatenate([p.values[r] for p in parts])[order] if parts else np.array([])
            for r in requests
        }
        has = np.concatenate([p.has_signals for p in parts])[order] if parts else np.array([], bool)
        return Aggregated(ids[order], values, has)


@dataclass
class _Customers:
    """Every account that was a customer on some day of the range, as arrays by id, to tell
    each day's customers (Account.objects.customers_on) without a query a day."""

    ids: np.ndarray
    segments: np.ndarray
    seats: np.ndarray
    start: np.ndarray  # datetime64[D]
    gone: np.ndarray  # datetime64[D]: the churn date; the far past if churned without one
    arr: dict

    @classmethod
    def between(cls, first: dt.date, last: dt.date) -> _Customers:
        rows = list(
            Account.objects.filter(start_date__lte=last)
            .filter(
                Q(status=Account.Status.ACTIVE, churn_date__isnull=True) | Q(churn_date__gt=first)
            )
            .order_by("pk")
            .values_list("pk", "segment_id", "seats", "start_date", "churn_date", "status", "arr")
        )
        never, ever = np.datetime64("0001-01-01"), np.datetime64("9999-12-31")
        return cls(
            ids=np.array([r[0] for r in rows], dtype=np.int64),
            segments=np.array([r[1] for r in rows], dtype=np.int64),
            seats=np.array([r[2] for r in rows], dtype=np.float64),
            start=np.array([r[3] for r in rows], dtype="datetime64[D]"),
            gone=np.array(
                [
                    r[4] if r[4] else (ever if r[5] == Account.Status.ACTIVE else never)
                    for r in rows
                ],
                dtype="datetime64[D]",
            ),
            arr={r[0]: r[6] for r in rows},
        )

    def on(self, day: dt.date) -> np.ndarray:
        """Positions of the customers on `day` (customers_on): started, not yet gone."""
        d = np.datetime64(day, "D")
        return np.flatnonzero((self.start <= d) & (self.gone > d))


def _previous_week(first: dt.date) -> dict[dt.date, dict[int, float]]:
    """The published scores of the seven days before `first`, by date and account: the
    week-over-week change of the range's first week. One query."""
    found: dict[dt.date, dict[int, float]] = {}
    rows = HealthScore.objects.filter(
        run__status=ScoreRun.Status.DONE,
        date__gte=first - dt.timedelta(days=7),
        date__lt=first,
        score__isnull=False,
    ).values_list("date", "account_id", "score")
    for day, account_id, score in rows:
        found.setdefault(day, {})[account_id] = score
    return found


@dataclass
class _Day:
    run: ScoreRun
    rows: list[tuple]
    reference: dict


def _score_day(
    run: ScoreRun,
    customers: _Customers,
    versions: list[VersionConfig],
    provider: _Blocks,
    previous: dict[int, float],
) -> _Day:
    """What run_sync computes for the run's date, in one chunk: raw values, the percentile
    references, scores, bands (percentile bands over the stored, rounded values, as
    run_finalize takes them) and the rows to write."""
    at = customers.on(run.date)
    parts = compute.raw_by_version(
        as_of=run.date,
        account_ids=customers.ids[at],
        segment_ids=customers.segments[at],
        seats=customers.seats[at],
        assignment=ScorecardAssignment(versions),
        aggregate_fn=provider,
    )
    raw = ChunkRaw.from_version_raws(parts)
    measures = population_references([raw.percentile_values(versions)])
    references = {key: np.asarray(values) for key, values in measures.items()}
    results = [compute.score_raw(p.version, p.account_ids, p.raw, references) for p in parts]
    # As run_finalize: every percentile version has its cuts, None where it scored nobody.
    cuts = {str(v.id): None for v in versions if v.band_mode == "percentile"}
    for result in results:
        if result.version.band_mode == "percentile":
            score = np.round(result.scores.score, 2)
            result.bands = engine.assign_bands(
                score,
                np.round(result.scores.coverage, 4),
                tiebreak=result.account_ids,
                **result.version.band_kwargs(),
            )
            cuts[str(result.version.id)] = engine.band_cuts(score, result.bands)
    rows = score_rows(run, results, previous)
    # The rows in account order, as a one-chunk run writes them (snapshots keep that order).
    rows.sort(key=lambda row: row[0])
    return _Day(run, rows, {**run.reference, "measures": measures, "band_cuts": cuts})


def _claim(
    days: list[dt.date], versions: list[VersionConfig], span: tuple[dt.date, dt.date]
) -> list[ScoreRun]:
    """The block's runs, claimed at once; abandoned runs of its dates taken over. Each names
    the whole back-fill's first and last day (`span`), for backfill_progress."""
    with transaction.atomic():
        take_over_abandoned(days[0], days[-1])
        try:
            with transaction.atomic():
                return ScoreRun.objects.bulk_create(
                    ScoreRun(
                        date=day,
                        trigger="backfill",
                        reference={
                            "versions": [v.id for v in versions],
                            "claim": None,
                            "backfill": [span[0].isoformat(), span[1].isoformat()],
                        },
                    )
                    for day in days
                )
        except IntegrityError as exc:
            raise RunInProgress(
                f"A score run between {days[0]} and {days[-1]} is already running."
            ) from exc


def _publish(scored: list[_Day], customers: _Customers) -> None:
    """Write the block's rows and publish its runs in place of their dates' old ones, with
    their snapshots, in one transaction (what run_finalize does for one run)."""
    runs = [day.run for day in scored]
    now = timezone.now()
    with transaction.atomic():
        insert_scores([row for day in scored for row in day.rows])
        previous = ScoreRun.objects.filter(
            date__in=[r.date for r in runs], status=ScoreRun.Status.DONE
        ).exclude(pk__in=[r.pk for r in runs])
        previous_ids = list(previous.select_for_update().values_list("pk", flat=True))
        ScoreRun.objects.filter(pk__in=previous_ids).update(status=ScoreRun.Status.SUPERSEDED)
        writers_lock_before_dropping(previous_ids)
        HealthScore.objects.filter(run_id__in=previous_ids).delete()
        for day in scored:
            n = len(day.rows)
            day.run.status = ScoreRun.Status.DONE
            day.run.finished_at = day.run.heartbeat_at = now
            day.run.accounts_total = day.run.accounts_done = n
            day.run.chunks_total = day.run.chunks_done = 1 if n else 0
            day.run.reference = day.reference
        ScoreRun.objects.bulk_update(
            runs,
            [
                "status",
                "finished_at",
                "heartbeat_at",
                "accounts_total",
                "accounts_done",
                "chunks_total",
                "chunks_done",
                "reference",
            ],
        )
        code = {band: code_of(band) for band in {row[5] for day in scored for row in day.rows}}
        columns = {
            day.run.pk: RunColumns(
                np.array([row[0] for row in day.rows], dtype=np.int64),
                np.array([code[row[5]] for row in day.rows], dtype=np.uint8),
                np.array([np.nan if row[4] is None else row[4] for row in day.rows]),
            )
            for day in scored
        }
        runs_rollup_written(runs=runs, columns=columns, arr=customers.arr)
        for run in runs:
            run_totals_publish(run=run)


def _fail(runs: list[ScoreRun], exc: BaseException) -> None:
    """Mark claimed runs that were not published failed (they wrote nothing)."""
    ScoreRun.objects.filter(pk__in=[r.pk for r in runs], status=ScoreRun.Status.RUNNING).update(
        status=ScoreRun.Status.FAILED,
        error=f"{type(exc).__name__}: {exc}"[:5000],
        finished_at=timezone.now(),
    )


def run_backfill(
    *, first: dt.date, last: dt.date, progress=None, rows_per_write: int | None = None
) -> list[ScoreRun]:
    """One published run per day from `first` to `last` (same results as run_sync for each
    date, one date after the other), reading the signals once per block of dates; each write
    of rows_per_write (default BACKFILL_ROWS_PER_WRITE) rows is one transaction."""
    rows_per_write = rows_per_write or BACKFILL_ROWS_PER_WRITE
    if last < first:
        return []
    versions = versions_that_score()
    requests = [r for v in versions for r in compute.requests_for(v)]
    customers = _Customers.between(first, last)
    # Memory stays bounded in the number of accounts: fewer days a block for more accounts.
    per_block = max(1, min(BACKFILL_DAYS_PER_BLOCK, BACKFILL_CELLS // max(1, len(customers.ids))))
    week = _previous_week(first)  # scores by date and account, for the change in a week
    done: list[ScoreRun] = []
    block_start = first
    while block_start <= last:
        block_end = min(block_start + dt.timedelta(days=per_block - 1), last)
        days = [block_start + dt.timedelta(days=i) for i in range((block_end - block_start).days)]
        days.append(block_end)
        ids = customers.ids[np.unique(np.concatenate([customers.on(day) for day in days]))]
        step = BACKFILL_ACCOUNTS_PER_BLOCK
        provider = _Blocks(
            [
                DailyAggregates.build(
                    requests=requests,
                    account_ids=ids[i : i + step],
                    first=block_start,
                    last=block_end,
                )
                for i in range(0, len(ids), step)
            ]
        )
        claimed = _claim(days, versions, (first, last))
        scored: list[_Day] = []
        try:
            for run in claimed:
                before = week.pop(run.date - dt.timedelta(days=7), {})
                day = _score_day(run, customers, versions, provider, before)
                week[run.date] = {row[0]: row[4] for row in day.rows if row[4] is not None}
                scored.append(day)
                if sum(len(d.rows) for d in scored) >= rows_per_write:
                    _publish(scored, customers)
                    done += [d.run for d in scored]
                    scored = []
                if progress:
                    progress(1)
            _publish(scored, customers)
            done += [d.run for d in scored]
        except BaseException as exc:
            _fail(claimed, exc)
            raise
        block_start = block_end + dt.timedelta(days=1)
    if done:
        rules_apply_after_run(run=done[-1])
        upkeep_soon()
    return done


@dataclass(frozen=True)
class BackfillProgress:
    """A back-fill running now: its days, the day it is at, how many of them are published."""

    first: dt.date
    last: dt.date
    at: dt.date
    scored: int

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def backfill_progress() -> BackfillProgress | None:
    """The back-fill running now (make run fills the demo's year this way while the pages
    answer), or None: one query when none runs, two when one does."""
    running = (
        ScoreRun.objects.running()
        .filter(trigger="backfill")
        .order_by("date")
        .values_list("date", "reference")
        .first()
    )
    if running is None or "backfill" not in (running[1] or {}):
        return None
    first, last = (dt.date.fromisoformat(day) for day in running[1]["backfill"])
    scored = ScoreRun.objects.filter(
        status=ScoreRun.Status.DONE, date__gte=first, date__lte=last
    ).count()
    return BackfillProgress(first=first, last=last, at=running[0], scored=scored)
