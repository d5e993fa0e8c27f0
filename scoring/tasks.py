"""Celery tasks: thin wrappers that take ids and call the run services."""

from __future__ import annotations

import datetime as dt
import logging

from celery import chord, shared_task
from django.utils import timezone

from scoring import runs

logger = logging.getLogger(__name__)


@shared_task
def nightly_run(as_of: str | None = None, trigger: str = "nightly") -> int | None:
    """Claim the date and fan its chunks out to the workers; the last one publishes."""
    date = dt.date.fromisoformat(as_of) if as_of else timezone.localdate()
    try:
        run = runs.run_start(as_of=date, trigger=trigger)
    except runs.RunInProgress as exc:
        logger.warning("%s", exc)
        return None
    chunk_ids = list(run.chunks.order_by("first_account_id").values_list("pk", flat=True))
    finish = finalize_run.si(run.pk).on_error(fail_run.s(run.pk))
    if chunk_ids:
        chord(score_chunk.si(chunk_id) for chunk_id in chunk_ids)(finish)
    else:
        finish.delay()
    return run.pk


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=3,
)
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
