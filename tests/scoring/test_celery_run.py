"""The nightly run on a real Celery worker over Redis, on PostgreSQL: the chord end to end."""

import time

import pytest
from celery.result import AsyncResult
from django.utils import timezone

from scoring.models import HealthScore, ScoreRun
from scoring.tasks import nightly_run
from tests.factories import AccountFactory, SegmentFactory
from tests.scoring.test_runs import add_signals

pytestmark = [pytest.mark.celery, pytest.mark.postgres]


def wait_for(run_id: int, timeout: float = 60) -> ScoreRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = ScoreRun.objects.get(pk=run_id)
        if run.status != ScoreRun.Status.RUNNING:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still running after {timeout} s")


def test_the_nightly_chord_scores_every_account_on_a_real_worker(real_celery_worker, settings):
    settings.SCORING_CHUNK_SIZE = 2
    segment = SegmentFactory(slug="mid-market")
    accounts = [AccountFactory(segment=segment) for _ in range(5)]
    for i, account in enumerate(accounts):
        add_signals(account, i / 4)

    result = nightly_run.delay()
    assert isinstance(result, AsyncResult) and not hasattr(result, "_cache_eager")  # not eager
    run_id = result.get(timeout=30)
    run = wait_for(run_id)

    assert run.status == ScoreRun.Status.DONE, run.error
    assert run.chunks_total == 3 and run.chunks_done == 3
    assert run.accounts_done == 5
    today = timezone.localdate()
    assert HealthScore.objects.filter(date=today).count() == 5
    scores = dict(HealthScore.objects.filter(run=run).values_list("account_id", "score"))
    assert scores[accounts[0].pk] < scores[accounts[-1].pk]


def test_a_second_nightly_run_replaces_the_day_on_a_real_worker(real_celery_worker):
    AccountFactory.create_batch(3)
    first = wait_for(nightly_run.delay().get(timeout=30))
    second = wait_for(nightly_run.delay().get(timeout=30))
    assert first.pk != second.pk and second.status == ScoreRun.Status.DONE
    assert HealthScore.objects.filter(date=timezone.localdate()).count() == 3
    assert ScoreRun.objects.get(pk=first.pk).status == ScoreRun.Status.SUPERSEDED


@pytest.mark.parametrize("step", ["run_chunk_aggregate", "run_chunk"])
def test_a_chunk_that_crashes_is_retried_and_the_run_completes(
    real_celery_worker, monkeypatch, settings, step
):
    from django.db import OperationalError

    from scoring.pipeline import runs
    from scoring.tasks import read_chunk, score_chunk

    # Redelivery after a killed worker relies on these; a crash inside the task on the retry.
    for task in (read_chunk, score_chunk):
        assert task.acks_late and task.reject_on_worker_lost
    settings.SCORING_CHUNK_SIZE = 2
    AccountFactory.create_batch(4)
    real_step, crashes = getattr(runs, step), []

    def crash_once(**kwargs):
        if not crashes:
            crashes.append(kwargs["chunk_id"])
            raise OperationalError("server closed the connection unexpectedly")
        return real_step(**kwargs)

    monkeypatch.setattr(runs, step, crash_once)
    monkeypatch.setattr(read_chunk, "retry_backoff", False)
    monkeypatch.setattr(score_chunk, "retry_backoff", False)
    run = wait_for(nightly_run.delay().get(timeout=30))
    assert crashes and run.status == ScoreRun.Status.DONE
    assert HealthScore.objects.filter(run=run).count() == 4
