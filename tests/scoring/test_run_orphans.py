"""A nightly run cut off anywhere is resumed, revived or taken over, never left orphaned:
a claim redelivered or retried, a claim that fails midway, a run abandoned by its workers,
a run stalled on a dead worker (the watchdog), and the beat's date."""

import datetime as dt

import pytest
from celery.beat import BeatLazyFunc
from celery.exceptions import Retry
from django.db import DatabaseError
from django.utils import timezone
from kombu.exceptions import OperationalError

from healthboard.celery import app as celery_app
from scoring import services, tasks
from scoring.models import HealthScore, RunSnapshot, ScoreChunk, ScoreRun
from scoring.pipeline import runs
from tests.scoring.test_runs import TODAY, portfolio, read_all  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("portfolio")


def _age(run: ScoreRun, by: dt.timedelta) -> None:
    ScoreRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - by)


def _published_day() -> ScoreRun:
    """The date's one published run, with exactly one row per account."""
    run = ScoreRun.objects.get(date=TODAY, status=ScoreRun.Status.DONE)
    assert HealthScore.objects.filter(date=TODAY).count() == 3
    assert HealthScore.objects.filter(run=run).count() == 3
    return run


def test_a_redelivered_claim_resumes_its_run():
    # The first delivery claimed the date, then its worker died before sending the chunks.
    orphan = runs.run_start(as_of=TODAY, claim="task-1")
    # Redelivered (same task id): it resumes its own run instead of meeting "in progress".
    assert tasks.nightly_run.apply((TODAY.isoformat(),), task_id="task-1").get() == orphan.pk
    assert _published_day() == orphan
    assert ScoreRun.objects.filter(date=TODAY).count() == 1


def test_another_claim_still_meets_the_run_in_progress():
    runs.run_start(as_of=TODAY, claim="task-1")
    assert tasks.nightly_run.apply((TODAY.isoformat(),), task_id="task-2").get() is None
    assert ScoreRun.objects.filter(date=TODAY).count() == 1


def test_a_broker_error_after_the_claim_is_retried_and_resumes_the_run(monkeypatch):
    real = tasks.run_pipeline
    calls = []

    def broker_down_once(run):
        calls.append(run.pk)
        if len(calls) == 1:
            raise OperationalError("Connection refused")
        return real(run)

    monkeypatch.setattr(tasks, "run_pipeline", broker_down_once)
    with pytest.raises(Retry):
        tasks.nightly_run.apply((TODAY.isoformat(),), task_id="task-1")
    # The retry (a new message with the same task id) meets its own claim and sends the
    # same run's steps.
    tasks.nightly_run.apply((TODAY.isoformat(),), task_id="task-1")
    assert len(calls) == 2 and calls[0] == calls[1]
    assert _published_day().pk == calls[0]
    assert ScoreRun.objects.filter(date=TODAY).count() == 1


def test_a_database_error_in_the_claim_leaves_nothing_claimed(monkeypatch):
    def fails(*args, **kwargs):
        raise DatabaseError("connection lost")

    with monkeypatch.context() as patch:
        patch.setattr(ScoreChunk.objects, "bulk_create", fails)
        with pytest.raises(DatabaseError):
            runs.run_start(as_of=TODAY)
    assert not ScoreRun.objects.exists() and not ScoreChunk.objects.exists()
    # Nothing blocks the date: the next run scores it whole.
    runs.run_sync(as_of=TODAY)
    _published_day()


def test_an_abandoned_run_counts_as_not_running():
    run = runs.run_start(as_of=TODAY)
    assert services.scorecard_run_running() == run and run.is_running
    _age(run, ScoreRun.STALE_AFTER + dt.timedelta(minutes=1))
    run.refresh_from_db()
    assert services.scorecard_run_running() is None and not run.is_running
    assert not ScoreRun.objects.running().exists()


def test_a_take_over_drops_the_abandoned_runs_rows_and_chunks():
    stuck = runs.run_start(as_of=TODAY, chunk_size=2)
    read_all(stuck)
    first, late = stuck.chunks.order_by("first_account_id").values_list("pk", flat=True)
    runs.run_chunk(chunk_id=first)
    assert HealthScore.objects.filter(run=stuck).count() == 2
    _age(stuck, ScoreRun.STALE_AFTER + dt.timedelta(minutes=1))

    run = runs.run_sync(as_of=TODAY, chunk_size=2)
    stuck.refresh_from_db()
    assert stuck.status == ScoreRun.Status.FAILED and "Abandoned" in stuck.error
    assert not HealthScore.objects.filter(run=stuck).exists()
    assert not ScoreChunk.objects.filter(run=stuck).exists()
    assert _published_day() == run
    # A late step of the old run finds nothing to do and writes nothing.
    assert runs.run_chunk_aggregate(chunk_id=late) == 0 and runs.run_chunk(chunk_id=late) == 0


def test_the_watchdog_sends_a_stalled_runs_unfinished_steps_once(settings):
    settings.SCORING_WATCHDOG_SECONDS = 60
    run = runs.run_start(as_of=TODAY, chunk_size=2)
    read_all(run)
    first = run.chunks.order_by("first_account_id").first()
    runs.run_chunk(chunk_id=first.pk)
    # Moving within the threshold: left alone.
    assert tasks.watch_runs.apply().get() == 0
    _age(run, dt.timedelta(minutes=2))
    assert [r.pk for r in runs.runs_stalled(after=dt.timedelta(minutes=1))] == [run.pk]
    # Found once: its heartbeat was renewed for the steps just sent.
    assert runs.runs_stalled(after=dt.timedelta(minutes=1)) == []

    _age(run, dt.timedelta(minutes=2))
    pipeline = tasks.run_pipeline(ScoreRun.objects.get(pk=run.pk))
    # Only what is undone: the unscored chunk and the publication.
    assert [t.args for t in pipeline.tasks] == [(run.chunks.get(done=False).pk,)]
    assert tasks.watch_runs.apply().get() == 1
    assert _published_day() == run
    assert ScoreRun.objects.get(pk=run.pk).chunks_done == 2


def test_publishing_happens_once_however_often_finalize_is_sent(monkeypatch):
    run = runs.run_start(as_of=TODAY)
    read_all(run)
    runs.run_chunk(chunk_id=run.chunks.get().pk)
    # A second finalize (the watchdog sent the steps again) read the run before the first
    # published it: it passed the first check, and stops at the run's row lock.
    before = ScoreRun.objects.get(pk=run.pk)
    runs.run_finalize(run_id=run.pk)
    published = ScoreRun.objects.get(pk=run.pk)
    monkeypatch.setattr(ScoreRun.objects, "get", lambda **kwargs: before)
    runs.run_finalize(run_id=run.pk)
    monkeypatch.undo()
    assert ScoreRun.objects.get(pk=run.pk).finished_at == published.finished_at
    assert RunSnapshot.objects.filter(run=run).count() == 1
    assert _published_day() == run
    # And a late copy of the whole canvas does nothing.
    tasks.run_pipeline(published).apply()
    assert ScoreRun.objects.get(pk=run.pk).finished_at == published.finished_at


def test_the_beat_sends_the_date_it_means(time_machine):
    entry = celery_app.conf.beat_schedule["nightly-scores"]
    [lazy] = entry["args"]
    assert isinstance(lazy, BeatLazyFunc)
    time_machine.move_to(timezone.make_aware(dt.datetime.combine(TODAY, dt.time(2))), tick=False)
    sent = lazy()
    assert sent == TODAY.isoformat()
    # Held in the queue past midnight, the message still scores the night it was sent for.
    time_machine.move_to(timezone.make_aware(dt.datetime.combine(TODAY, dt.time(23, 59))))
    time_machine.shift(dt.timedelta(minutes=2))
    assert timezone.localdate() > TODAY
    run_id = tasks.nightly_run.apply((sent,)).get()
    assert ScoreRun.objects.get(pk=run_id).date == TODAY
    _published_day()
