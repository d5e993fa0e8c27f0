"""Celery tasks of accounts: thin wrappers that take ids and call the import services."""

from __future__ import annotations

import uuid

from celery import shared_task

from accounts import partitions
from accounts.imports import jobs
from accounts.models import ImportJob
from healthboard.lib.queue import QUEUE_DOWN


# acks_late: a worker killed mid-import leaves the task to another; import_job_run is safe
# to repeat (a cut-short import wrote nothing, a repeated one stores nothing twice). No
# automatic retry: an import that failed fails the same way again, and says why.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_job_run(job_id: int) -> str | None:
    job = jobs.import_job_run(job_id=job_id)
    return job.status if job else None


# Safe to repeat: a preview writes nothing but its findings, kept only for its own token.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_job_preview(job_id: int, token: str) -> int | None:
    job = jobs.import_job_preview(job_id=job_id, token=token)
    return job.rows_read if job else None


@shared_task
def import_uploads_cleanup() -> int:
    return jobs.import_uploads_cleanup()


class QueueDown(Exception):
    """The task queue could not take the import; the upload is kept, waiting."""


def import_job_check(*, job: ImportJob) -> bool:
    """Preview a waiting upload (again, after its choices changed) in a worker. False when
    it was committed meanwhile; QueueDown when the broker cannot be reached (the job says
    so, and the upload stays to be checked again)."""
    token = uuid.uuid4().hex
    if not jobs.import_job_mark_checking(job=job, token=token):
        return False
    try:
        import_job_preview.delay(job.pk, token)
    except QUEUE_DOWN as exc:
        jobs.import_job_check_failed(
            job=job,
            token=token,
            problem="The file could not be checked: the task queue (Redis) does not answer.",
        )
        raise QueueDown(str(exc)) from exc
    return True


def import_job_enqueue(*, job: ImportJob) -> bool:
    """Commit a previewed upload: hand it to a worker. False when it was queued already
    (a double click). QueueDown when the broker cannot be reached: the upload stays, waiting
    to be committed again. It is not run in the web process instead: a large file takes
    minutes, longer than a web request may last, and a request cut short would leave the
    job looking as if it still ran. Without REDIS_URL (the demo) tasks run in-process
    anyway, eagerly."""
    if not jobs.import_job_mark_queued(job=job):
        return False
    try:
        import_job_run.delay(job.pk)
    except QUEUE_DOWN as exc:
        jobs.import_job_unmark_queued(job=job)
        raise QueueDown(str(exc)) from exc
    return True


# Daily (healthboard.celery): the coming months' partitions of the signals exist before the
# first signal of theirs arrives. Safe to repeat.
@shared_task(ignore_result=True)
def signal_partitions_ensure() -> int:
    return len(partitions.signal_partitions_ensure())
