"""recompute_scores --since on a real Celery worker: one set-based back-fill task for the
range, the same scores as --sync; a range overlapping a running back-fill is refused, and a
back-fill that fails says why (those in-process)."""

import datetime as dt
import io

import pytest
from celery.signals import before_task_publish
from django.core.management import CommandError, call_command
from django.utils import timezone

from scoring.engine import ScorecardError
from scoring.models import HealthScore, ScoreRun
from scoring.pipeline import backfill_runs
from tests.factories import AccountFactory, SegmentFactory
from tests.scoring.test_runs import add_signals

TODAY = timezone.localdate()
FIRST = TODAY - dt.timedelta(days=4)


@pytest.fixture
def accounts(real_celery_worker):
    segment = SegmentFactory(slug="mid-market")
    accounts = [AccountFactory(segment=segment) for _ in range(4)]
    for i, account in enumerate(accounts):
        add_signals(account, i / 3)
    return accounts


def published() -> dict:
    return {
        (s.date, s.account_id): (s.score, s.band, s.coverage, s.delta_7d)
        for s in HealthScore.objects.filter(run__status=ScoreRun.Status.DONE)
    }


@pytest.mark.celery
@pytest.mark.postgres
def test_the_days_are_back_filled_by_one_task_with_the_scores_of_sync(accounts):
    sent = []

    def record(sender=None, **kwargs):
        sent.append(sender)

    before_task_publish.connect(record, weak=False)
    out = io.StringIO()
    try:
        call_command("recompute_scores", since=FIRST, stdout=out, stderr=io.StringIO())
    finally:
        before_task_publish.disconnect(record)

    assert sent.count("scoring.tasks.run_backfill") == 1
    assert "scoring.tasks.nightly_run" not in sent
    runs = ScoreRun.objects.filter(status=ScoreRun.Status.DONE).order_by("date")
    assert [r.date for r in runs] == [FIRST + dt.timedelta(days=i) for i in range(5)]
    assert {r.trigger for r in runs} == {"backfill"}
    text = out.getvalue()
    for run in runs:
        assert f"{run.date}: 4 accounts scored (run {run.pk})." in text
    assert "Scored 5 day(s)" in text
    on_worker = published()
    assert len(on_worker) == 5 * 4

    call_command("recompute_scores", since=FIRST, sync=True, stdout=io.StringIO())
    assert published() == on_worker


@pytest.mark.celery
@pytest.mark.postgres
def test_a_range_overlapping_a_running_backfill_is_refused(accounts):
    ScoreRun.objects.create(date=FIRST + dt.timedelta(days=2), trigger="backfill")
    with pytest.raises(CommandError, match=f"between {FIRST} and {TODAY} is already running"):
        call_command("recompute_scores", since=FIRST, stdout=io.StringIO(), stderr=io.StringIO())
    assert not ScoreRun.objects.filter(status=ScoreRun.Status.DONE).exists()


@pytest.mark.parametrize(
    "error, message",
    [
        (ScorecardError("Weights sum to zero"), "^Weights sum to zero$"),
        (RuntimeError("disk full"), f"^The back-fill from {FIRST} to {TODAY} failed: Runtime"),
    ],
)
def test_a_back_fill_that_fails_says_why(db, monkeypatch, error, message):
    def broken(**kwargs):
        raise error

    monkeypatch.setattr(backfill_runs, "run_backfill", broken)
    with pytest.raises(CommandError, match=message):
        call_command("recompute_scores", since=FIRST, stdout=io.StringIO(), stderr=io.StringIO())
