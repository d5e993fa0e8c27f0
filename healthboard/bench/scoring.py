"""Times the full recompute against its floor (one raw aggregation) and a naive ORM loop."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import resource
import time
from multiprocessing.pool import AsyncResult
from unittest import mock

import numpy as np
from django.db import connection, connections

from accounts.models import Account, Signal
from scoring.aggregates import aggregate_alongside, aggregation_cursor, window_end
from scoring.models import HealthScore, ScoreRun
from scoring.pipeline import compute, runs, upkeep
from scoring.specs import ScorecardAssignment, active_versions


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def widest_window() -> int:
    return max(m.window_days for v in active_versions() for m in v.measures)


def raw_aggregate_s(as_of: dt.date) -> tuple[float, int]:
    """The floor: read every signal in the widest window once and return one row per account
    and metric with count, sum, min and max."""
    end = window_end(as_of)
    start = end - dt.timedelta(days=widest_window())
    started = time.perf_counter()
    with aggregation_cursor() as cursor:
        cursor.execute(
            "SELECT account_id, metric_id, count(*), sum(value), min(value), max(value) "
            "FROM accounts_signal WHERE observed_at >= %s AND observed_at < %s "
            "GROUP BY account_id, metric_id",
            [start, end],
        )
        rows = cursor.fetchall()
    return time.perf_counter() - started, len(rows)


def _read_chunk(chunk_id: int) -> int:
    return runs.run_chunk_aggregate(chunk_id=chunk_id, aggregate_fn=aggregate_alongside)


def _score_chunk(chunk_id: int) -> int:
    return runs.run_chunk(chunk_id=chunk_id)


def recompute_s(
    as_of: dt.date, workers: int
) -> tuple[float, ScoreRun, dict[str, float], dict[str, float | None]]:
    """The whole run as the Celery workers do it: start, both passes over the chunks on
    `workers` processes (each takes the next chunk when it is free, as a Celery worker
    with a prefetch of one does) with the references taken between them, finish.
    Returns the time, the run, the time of each step and each pass's db_share."""
    # A nightly run scores a new date: clear earlier bench runs of this date first (untimed),
    # so the timing does not include deleting the snapshots a re-run replaces.
    HealthScore.objects.filter(date=as_of).delete()
    ScoreRun.objects.filter(date=as_of).delete()
    steps: dict[str, float] = {}
    shares: dict[str, float | None] = {}
    started = last = time.perf_counter()

    def step(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        steps[name] = round(now - last, 3)
        last = now

    run = runs.run_start(as_of=as_of, trigger="bench")
    chunk_ids = list(run.chunks.order_by("first_account_id").values_list("pk", flat=True))
    # Forked workers must not share the parent's connection: they open their own.
    connections.close_all()
    step("start")
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            read = pool.map_async(_read_chunk, chunk_ids, chunksize=1)
            shares["read_pass"] = db_share(read, workers)
            step("read_pass")
            runs.run_references(run_id=run.pk)
            step("references")
            score = pool.map_async(_score_chunk, chunk_ids, chunksize=1)
            shares["score_pass"] = db_share(score, workers)
            step("score_pass")
        # The rules and the vacuum after a run are timed apart (bench/rules.py, vacuum_s):
        # keep the run's hand-off to them, which runs them in-process without a broker, out
        # of the run's time.
        with (
            mock.patch.object(runs, "rules_apply_after_run", lambda **kwargs: False),
            mock.patch.object(runs, "upkeep_soon", lambda: None),
        ):
            run = runs.run_finalize(run_id=run.pk)
        step("finalize")
    except BaseException as exc:
        runs.run_fail(run_id=run.pk, error=str(exc))
        raise
    return time.perf_counter() - started, run, steps, shares


# The workers' backends are this database's other clients (the bench owns its database);
# "active" is PostgreSQL's own word for a backend running a query, sending its rows included.
_BACKENDS_SQL = (
    "SELECT count(*) FILTER (WHERE state = 'active') FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND backend_type = 'client backend'"
)


def db_share(result: AsyncResult, workers: int, every_s: float = 0.05) -> float | None:
    """Wait for a pass of the workers while sampling pg_stat_activity: the share (0..1) of the
    workers' wall time their backends spent running a query, the rest being the workers'
    own Python and numpy (and waiting for a chunk). Sampled from this process rather than
    timed in the workers, so the figure is PostgreSQL's own and the workers run as they do
    under Celery (timed in the workers, a query also counts the round trip and the wait for
    a core after it: several times this share at 2,000 accounts under load). A sample costs
    about 0.9 ms of CPU, most of it the backend's: every 50 ms, under 1 % of two cores.
    None if the pass ended before the first sample."""
    busy = samples = 0
    with connection.cursor() as cursor:
        while not result.ready():
            cursor.execute(_BACKENDS_SQL)
            busy += min(cursor.fetchone()[0], workers)
            samples += 1
            result.wait(every_s)
    result.get()  # a worker's error is raised here
    return round(busy / (samples * workers), 3) if samples else None


def naive_loop_s(as_of: dt.date, sample: int) -> float:
    """What a per-account ORM loop would cost: one query per account and measure, per account
    scored with the same engine. Timed on a sample and returned per account."""
    versions = active_versions()
    assignment = ScorecardAssignment(versions)
    end = window_end(as_of)
    accounts = list(Account.objects.active().order_by("?")[:sample])
    started = time.perf_counter()
    for account in accounts:
        version = assignment.for_segment(account.segment_id)
        raw = []
        for m in version.measures:
            values = list(
                Signal.objects.filter(
                    account=account,
                    metric_id=m.metric_id,
                    observed_at__gte=end - dt.timedelta(days=m.window_days),
                    observed_at__lt=end,
                )
                .order_by("observed_at")
                .values_list("value", flat=True)
            )
            raw.append(
                _naive_aggregate(m.aggregation, values)
                / (account.seats if m.per_seat and account.seats else 1)
            )
        compute.score_raw(version, np.array([account.pk]), np.array([raw], dtype=float))
    return (time.perf_counter() - started) / max(len(accounts), 1)


def _naive_aggregate(aggregation: str, values: list[float]) -> float:
    if not values:
        return 0.0 if aggregation in ("sum", "count") else np.nan
    array = np.array(values)
    return {
        "sum": array.sum,
        "mean": array.mean,
        "count": lambda: float(len(array)),
        "min": array.min,
        "max": array.max,
        "last": lambda: array[-1],
        "nps": lambda: 100 * (np.sum(array >= 9) - np.sum(array <= 6)) / len(array),
        "trend": lambda: (
            np.polyfit(np.arange(len(array)), array, 1)[0] if len(array) > 1 else np.nan
        ),
    }[aggregation]()


def stored_scores(run: ScoreRun) -> int:
    return HealthScore.objects.filter(run=run).count()


def vacuum_s() -> float:
    """The VACUUM (ANALYZE) a worker runs after a published run (scoring.pipeline.upkeep)."""
    started = time.perf_counter()
    upkeep.scores_vacuum()
    return time.perf_counter() - started
