"""The scale benchmarks' commands on small data sets: history (one and three years of
signals) and the million-account run; each builds its data, runs the night and reports."""

import os
import subprocess
import sys

import pytest
from django.db import connection

from tests.tooling.helpers import ROOT, bench_figures
from tests.workers import database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_bench_history_measures_one_and_three_years_and_prints_the_ratio():
    # In a process of its own, as `make bench` runs it (the benchmark forks its workers). Both
    # data sets in the test's database, one after the other: each is rebuilt for its turn.
    url = database_url()
    connection.close()  # the children migrate and fill the test database
    figures = bench_figures(
        "bench_history",
        *["--accounts", "60", "--workers", "1", "--databases", url, url],
        SCORING_CHUNK_SIZE="40",
    )
    assert figures["history_1y_signals"] == 60 * (100 * 365 // 180)
    assert figures["history_3y_signals"] == 60 * (100 * 1095 // 180)
    assert None not in (figures["history_1y_build_s"], figures["history_3y_build_s"])
    assert figures["recompute_1y_s"] > 0 and figures["recompute_3y_s"] > 0
    ratio = figures["recompute_3y_s"] / figures["recompute_1y_s"]
    assert figures["ratio_history_3y_to_1y"] == round(ratio, 3)


def test_bench_history_asks_for_its_databases():
    done = subprocess.run(
        [sys.executable, "manage.py", "bench_history"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "true"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0 and "--databases" in done.stderr


def test_bench_million_times_the_run_against_its_floor_and_the_workers_memory():
    connection.close()  # the child fills the test database
    figures = bench_figures(
        "bench_million",
        *["--accounts", "80", "--signals-per-account", "10", "--workers", "2"],
        SCORING_CHUNK_SIZE="20",  # several chunks per worker, as at full size
    )
    assert figures["accounts_1m"] == 80 and figures["signals_1m"] == 800
    assert figures["build_1m_s"] is not None and figures["accounts_1m_recompute_s"] > 0
    assert figures["raw_aggregate_1m_s"] > 0 and figures["ratio_1m_recompute_to_raw"] > 0
    assert 0 < figures["peak_rss_mb_per_worker"] < 1024


@pytest.mark.django_db
def test_the_rules_bench_times_nothing_when_every_rule_is_off():
    from django.utils import timezone

    from healthboard.bench import rules as bench_rules
    from scoring.models import ActionRule

    ActionRule.objects.update(enabled=False)
    elapsed, counts = bench_rules._evaluate(timezone.localdate(), 2)
    assert elapsed == 0 and counts["rules"] == counts["opened"] == 0
