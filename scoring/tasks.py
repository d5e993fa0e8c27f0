"""Celery tasks: thin wrappers that take ids and call the run services."""

from __future__ import annotations

import datetime as dt
import logging

from celery import Signature, chain, chord, group, shared_task
from django.conf import settings
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone

from scoring.actions.tasks import apply_rules  # noqa: F401  (registered with the worker)
from scoring.aggregates import aggregate_alongside
from scoring.engine import ScorecardError
from scoring.pipeline import backfill_runs, runs
from scoring.pipeline.upkeep import publication_upkeep  # noqa: F401  (registered with the worker)

logger = logging.getLogger(__name__)


# Redelivered (acks_late) or retried after it claimed the date, the task resumes its own
# run: the claim is the task's id, the same in every delivery and retry.
@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(Exception,),
    dont_autoretry_for=(ScorecardError,),
    retry_backoff=True,
    max_retries=3,
)
def nightly_run(self, as_of: str | None = None, trigger: str = "nightly") -> int | None:
    """Claim the date and fan its chunks out to the workers, twice: every chunk is read
    before the percentile references are taken, and every chunk is scored before the run
    is published (see scoring/runs.py). The beat names its date
    (healthboard.celery.scheduled_date); without one, the task scores the day it runs."""
    date = dt.date.fromisoformat(as_of) if as_of else timezone.localdate()
    try:
        run = runs.run_start(as_of=date, trigger=trigger, claim=self.request.id)
    except runs.RunInProgress as exc:
        logger.warning("%s", exc)
        return None
    run_pipeline(run).delay()
    return run.pk


# Delivered twice, the second back-fill supersedes the first's runs (or, while the first still
# runs, finds its days claimed and gives way). No retry: the caller waits, and should hear.
@shared_task(bind=True, acks_late=True)
def run_backfill(self, first: str, last: str) -> list[int] | None:
    """One published run per day from `first` to `last`, set-based (backfill_runs); the days
    scored so far in the task's state meta (PROGRESS, {"days": n}). Returns the runs' ids,
    or None if a run of one of those days is already running."""
    scored = 0

    def progress(days: int) -> None:
        nonlocal scored
        scored += days
        self.update_state(state="PROGRESS", meta={"days": scored})

    try:
        done = backfill_runs.run_backfill(
            first=dt.date.fromisoformat(first), last=dt.date.fromisoformat(last), progress=progress
        )
    except runs.RunInProgress as exc:
        logger.warning("%s", exc)
        return None
    return [run.pk for run in done]


@shared_task
def watch_runs() -> int:
    """The watchdog (a beat every minute): send again the unfinished steps of every run no
    step has moved for SCORING_WATCHDOG_SECONDS, so a run finishes within minutes of losing
    a worker instead of waiting for the broker to hand the dead worker's message on.
    Returns the runs revived."""
    stalled = runs.runs_stalled(after=dt.timedelta(seconds=settings.SCORING_WATCHDOG_SECONDS))
    for run in stalled:
        run_pipeline(run).delay()
    return len(stalled)


def run_pipeline(run) -> Signature:
    """The run's unfinished steps, as one canvas: its chunks' two passes and its publication.
    For a new run that is everything; for one the watchdog revives, what the database shows
    undone (every step is safe to repeat, and publishing happens once)."""
    chunks = run.chunks.order_by("first_account_id").annotate(
        read=ExpressionWrapper(Q(raw__isnull=False), output_field=BooleanField())
    )
    state = list(chunks.values_list("pk", "read", "done"))
    to_read = [pk for pk, read, done in state if not (read or done)]
    to_score = [pk for pk, _read, done in state if not done]
    failed = fail_run.s(run.pk)
    rank = take_references.si(run.pk).on_error(failed)
    finish = finalize_run.si(run.pk).on_error(failed)
    steps = []
    if to_read:
        steps.append(chord(group(read_chunk.si(c) for c in to_read), rank))
    elif "measures" not in run.reference:
        steps.append(rank)
    if to_score:
        steps.append(chord(group(score_chunk.si(c) for c in to_score), finish))
    else:
        steps.append(finish)
    return steps[0] if len(steps) == 1 else chain(*steps)


# A chunk's task may run twice (a worker killed mid-chunk is redelivered): both passes are
# idempotent per chunk.
CHUNK_TASK = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (Exception,),
    "retry_backoff": True,
    "max_retries": 3,
}


@shared_task(**CHUNK_TASK)
def read_chunk(chunk_id: int) -> int:
    return runs.run_chunk_aggregate(chunk_id=chunk_id, aggregate_fn=aggregate_alongside)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def take_references(run_id: int) -> int:
    return runs.run_references(run_id=run_id).pk


@shared_task(**CHUNK_TASK)
def score_chunk(chunk_id: int) -> int:
    return runs.run_chunk(chunk_id=chunk_id)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def finalize_run(run_id: int) -> int:
    return runs.run_finalize(run_id=run_id).pk


@shared_task
def fail_run(request, exc, traceback, run_id: int) -> None:
    runs.run_fail(run_id=run_id, error=f"{type(exc).__name__}: {exc}")


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def rescore_account(account_id: int) -> float | None:
    score = runs.account_rescore(account_id=account_id)
    return score.score if score else None


@shared_task(acks_late=True)
def run_analysis(run_id: int) -> int | None:
    """A stored analysis (back-test, suggestion, retention, surveys); safe to deliver twice."""
    from scoring.analytics.services import analysis_execute

    run = analysis_execute(run_id=run_id)
    return run.pk if run else None


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def rescore_accounts(account_ids: list[int]) -> int:
    return runs.accounts_rescore(account_ids=account_ids)


@shared_task
def send_digests() -> int:
    """The e-mail digests due now (a beat every quarter of an hour); safe to run twice or at
    once in two workers: each user's day is claimed before their e-mail goes."""
    from scoring.digest.send import digests_send

    return digests_send()
