"""Uploads waiting for their import (accounts.imports.jobs): kept on disk, run once, cleaned
up when abandoned; and the Celery task that runs them, on a real worker."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from django.utils import timezone

from accounts import tasks
from accounts.imports import ImportOptions
from accounts.imports import jobs as services
from accounts.models import ImportJob, Signal
from tests.factories import AccountFactory, MetricFactory

TEXT = "account,metric,observed_at,value,external_id\nCRM-1,logins,2026-11-01,12,e-1\n"


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"
    return settings.IMPORT_UPLOAD_DIR


@pytest.fixture
def crm1(db):
    MetricFactory(key="logins")
    return AccountFactory(external_id="CRM-1")


def waiting(text: str = TEXT, **options) -> ImportJob:
    """Uploaded and checked (in-process when eager, else on the worker: waited for)."""
    job = services.import_job_create(
        kind="signals",
        chunks=[text[:10].encode(), text[10:].encode()],
        file_name="s.csv",
        options=ImportOptions(source="crm", **options),
        user=None,
    )
    assert tasks.import_job_check(job=job) is True
    until(job, lambda: "preview" in job.result)
    return job


def until(job: ImportJob, done, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        job.refresh_from_db()
        if done() or time.monotonic() > deadline:
            return
        time.sleep(0.2)


def test_an_upload_is_streamed_to_disk_and_previewed(crm1) -> None:
    job = waiting()

    assert services.upload_path(job).read_text() == TEXT
    assert job.file_size == len(TEXT) and job.rows_read == 1
    assert job.result["preview"]["ok"] and job.result["preview"]["created"] == 1
    assert not list(services.upload_dir().glob("*.part"))


def test_an_upload_over_the_limit_keeps_nothing(crm1, settings) -> None:
    settings.IMPORT_MAX_FILE_BYTES = 20
    with pytest.raises(services.FileRefused, match="larger than 20 bytes"):
        waiting()
    assert not ImportJob.objects.exists()
    assert not list(services.upload_dir().glob("*"))


def test_a_stale_preview_is_not_kept_over_a_newer_one(crm1) -> None:
    job = waiting()
    services.import_job_mark_checking(job=job, token="old")
    services.import_job_mark_checking(job=job, token="new")

    assert services.import_job_preview(job_id=job.pk, token="old") is None
    job.refresh_from_db()
    assert job.result == {"checking": "new"}
    services.import_job_preview(job_id=job.pk, token="new")
    job.refresh_from_db()
    assert job.result["preview"]["created"] == 1


def test_an_upload_still_being_checked_cannot_be_committed(crm1) -> None:
    job = waiting()
    services.import_job_mark_checking(job=job, token="t")

    assert tasks.import_job_enqueue(job=job) is False
    assert Signal.objects.count() == 0


def test_a_job_runs_once_and_deletes_its_upload(crm1) -> None:
    job = waiting()
    assert tasks.import_job_enqueue(job=job) is True

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and Signal.objects.count() == 1
    assert not services.upload_path(job).exists()
    # Delivered again (a worker lost mid-task): a finished job is left alone.
    assert services.import_job_run(job_id=job.pk).status == ImportJob.Status.DONE
    assert tasks.import_job_enqueue(job=job) is False
    assert Signal.objects.count() == 1


def test_a_job_whose_upload_is_gone_fails_with_why(crm1) -> None:
    job = waiting()
    services.upload_path(job).unlink()

    tasks.import_job_enqueue(job=job)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert "no longer on the server" in job.error_summary


def test_cleanup_drops_abandoned_uploads_and_old_rejects_only(crm1) -> None:
    old, fresh, committed = waiting(), waiting(), waiting()
    ImportJob.objects.filter(pk__in=[old.pk, committed.pk]).update(
        created_at=timezone.now() - dt.timedelta(days=2)
    )
    services.import_job_mark_queued(job=committed)
    stale_rejects = services.upload_dir() / "1-rejects.csv"
    stale_rejects.write_text("row,errors\n")
    month_ago = time.time() - 40 * 86400
    os.utime(stale_rejects, (month_ago, month_ago))
    recent_rejects = services.upload_dir() / "2-rejects.csv"
    recent_rejects.write_text("row,errors\n")

    assert services.import_uploads_cleanup() == 2

    assert set(ImportJob.objects.values_list("pk", flat=True)) == {fresh.pk, committed.pk}
    assert not services.upload_path(old).exists()
    assert services.upload_path(fresh).exists() and services.upload_path(committed).exists()
    assert not stale_rejects.exists() and recent_rejects.exists()


def test_the_task_runs_on_a_real_worker(real_celery_worker, settings) -> None:
    MetricFactory(key="logins")
    AccountFactory(external_id="CRM-1")
    job = waiting(TEXT + "NOPE,logins,2026-11-01,1,e-2\n", skip_bad_rows=True)

    assert tasks.import_job_enqueue(job=job) is True

    # Finished once its row errors are kept and its upload deleted, the last steps.
    until(job, lambda: job.is_finished and not services.upload_path(job).exists())
    assert (job.status, job.rows_written, job.rows_skipped) == ("done", 1, 1)
    assert Signal.objects.get().external_id == "e-1"
    assert job.result["errors"][0][:2] == [3, "account"]
    assert services.rejects_path(job).exists() and not services.upload_path(job).exists()
    # The touched account's re-score was handed to the queue after the commit.
    assert job.result["rescore_scheduled"] is True
