"""The history benchmark's command on a small data set: it builds one and three years of
signals, runs the night on each and reports the ratio."""

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
    assert figures["history_1y_build_s"] > 0 and figures["history_3y_build_s"] > 0
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
