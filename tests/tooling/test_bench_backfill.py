"""The back-fill benchmark at a small size: it back-fills from no runs, each round, and
reports its figures (never timed here)."""

import json
from io import StringIO

from django.core.management import call_command

from scoring.models import HealthScore, ScoreRun
from tests.factories import AccountFactory


def test_the_backfill_benchmark_starts_from_no_runs_each_round_and_reports(db):
    accounts = [AccountFactory() for _ in range(3)]
    out = StringIO()
    call_command("bench_backfill", days=4, repeat=2, json=True, stdout=out)

    figures = json.loads(out.getvalue().strip().splitlines()[-1])
    assert figures["days"] == 5 and figures["accounts"] == 3
    assert figures["seed_demo_s"] is None  # the accounts were there: no demo seeded
    assert len(figures["backfill_rounds_s"]) == 2 and figures["backfill_demo_year_s"] >= 0
    # The second round replaced the first: one done run a day, each account once.
    assert ScoreRun.objects.count() == 5
    assert HealthScore.objects.count() == 5 * len(accounts)
