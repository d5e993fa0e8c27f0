"""The scoring benchmark's command on a small data set: it runs the real run and reports."""

import time
from multiprocessing.pool import ThreadPool

import pytest
from django.db import connection
from django.utils import timezone

from healthboard.bench.scoring import db_share
from scoring.models import CallToAction, HealthScore, ScoreChunk, ScoreRun
from tests.tooling.helpers import bench_figures

# The benchmark closes connections between its passes, as its forked workers must.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_bench_scoring_scores_every_account_and_prints_its_figures():
    # In a process of its own, as `make bench` runs it: the benchmark forks its workers, and
    # forking this test process (live servers' and Celery's threads from earlier tests may
    # hold locks) once hung a whole-suite run.
    figures = bench_figures(
        "bench_scoring",
        *["--accounts", "120", "--signals-per-account", "20", "--workers", "1"],
        *["--naive-sample", "5", "--rounds", "2", "--rules-rounds", "2"],
        SCORING_CHUNK_SIZE="40",  # several chunks, as at full size
    )
    assert figures["accounts"] == 120 and figures["signals"] == 2400
    for key in ("recompute_s", "raw_aggregate_s", "naive_loop_s", "ratio_recompute_to_raw"):
        assert figures[key] > 0
    # The floor and the run timed back to back in each round; the figures are the medians
    # (of two: their means), the ratio the median of the rounds' ratios.
    timed = figures["recompute_rounds_s"]
    assert len(timed) == 2 and all(raw > 0 and run > 0 for raw, run in timed)
    # (The rounds' figures are rounded to the millisecond: a few here.)
    ratios = [run / raw for raw, run in timed]
    assert 0.9 * min(ratios) <= figures["ratio_recompute_to_raw"] <= 1.1 * max(ratios)
    assert figures["raw_aggregate_s"] == pytest.approx(sum(r[0] for r in timed) / 2, abs=2e-3)
    assert figures["recompute_s"] in [pytest.approx(run, abs=1e-3) for _raw, run in timed]
    # The rules after the run: timed apart, on a night that opens CTAs and on the next one,
    # which updates each of them (the same data: each fires again) and opens none.
    assert figures["rules_first_night_s"] > 0 and figures["rules_next_night_s"] > 0
    # The vacuum after the run, timed apart from it (its own process: outside a transaction).
    assert figures["vacuum_after_run_s"] > 0
    assert figures["ratio_rules_to_recompute_first_night"] > 0
    assert figures["ratio_rules_to_recompute_next_night"] > 0
    opened = figures["rules_first_night_opened"]
    assert 0 < opened and figures["rules_next_night_updated"] == opened
    assert figures["rules_next_night_opened"] == figures["rules_next_night_closed"] == 0
    # Each night's figure is the median of the rounds (of two: their mean).
    rounds = figures["rules_rounds_s"]
    assert len(rounds) == 2 and all(first > 0 and again > 0 for first, again in rounds)
    assert figures["rules_first_night_s"] == pytest.approx(sum(r[0] for r in rounds) / 2, abs=2e-3)
    # The run on 1 worker (the one configured) and one more on 2, and how much of the
    # 2-worker passes PostgreSQL held.
    assert figures["recompute_1_worker_s"] == figures["recompute_s"]
    assert figures["recompute_2_workers_s"] > 0
    speedup = figures["recompute_1_worker_s"] / figures["recompute_2_workers_s"]
    assert figures["speedup_2_workers"] == pytest.approx(speedup, abs=0.01)
    assert 0 <= figures["db_share_read_pass"] <= 1 and 0 <= figures["db_share_score_pass"] <= 1
    assert CallToAction.objects.filter(account__external_id__startswith="BENCH-").exists()
    run = ScoreRun.objects.get(status=ScoreRun.Status.DONE, date=timezone.localdate())
    assert run.chunks_done == 3 and HealthScore.objects.filter(run=run).count() == 120
    assert not ScoreChunk.objects.filter(raw__isnull=False).exists()


def _in_database(seconds: float) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(%s)", [seconds])
    finally:
        connection.close()  # this thread's own connection


def _in_python(seconds: float) -> None:
    time.sleep(seconds)


# Threads stand in for the bench's forked workers (each has its own connection): forking
# this test process is what must not happen. Bounds with room for a loaded machine: a
# worker's connecting counts as time outside PostgreSQL, and another test's Celery worker may
# answer a task in the same database now and then.
@pytest.mark.parametrize(("work", "low", "high"), [(_in_database, 0.5, 1), (_in_python, 0, 0.1)])
def test_db_share_is_the_share_of_the_workers_time_postgresql_spends(work, low, high):
    with ThreadPool(2) as pool:
        share = db_share(pool.map_async(work, [1.5, 1.5], chunksize=1), workers=2)
    assert low <= share <= high
