"""Imports started from the upload page: the file waits on disk between its preview and its
import, tied to a pending ImportJob, so committing needs no second upload.

A job's life: `import_job_create` streams the upload to IMPORT_UPLOAD_DIR/<job id>.csv;
`import_job_preview` (in a worker) checks all of it and keeps its preview on the job;
`import_job_remap` changes its choices (a column mapping, day-first dates…) for the next
preview; the page queues it (accounts.tasks) and `import_job_run` imports it in a worker,
keeps every row error and a file of the rejected rows, and deletes the upload.
`import_job_discard` drops an upload that will not be imported; `import_uploads_cleanup`
drops the ones people walked away from.

The preview is stored on the job (result["preview"]) when it is made, so showing it again
(a page reload, the next page of errors) reads one row instead of the whole file.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

from accounts.audit import audit_record
from accounts.imports.columns import squash
from accounts.imports.errors import FileRefused
from accounts.imports.options import ImportOptions
from accounts.imports.pipeline import (
    ImportResult,
    Progress,
    import_preview,
    import_run,
    kind_columns,
)
from accounts.imports.reader import table_open
from accounts.imports.rejects import rejects_write
from accounts.models import AuditEvent, ImportJob
from healthboard.lib.numbers import number_text

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 20


# ---------------------------------------------------------------- where files live


def upload_dir() -> Path:
    return Path(settings.IMPORT_UPLOAD_DIR)


def upload_path(job: ImportJob) -> Path:
    return upload_dir() / f"{job.pk}.csv"


def rejects_path(job: ImportJob) -> Path:
    return upload_dir() / f"{job.pk}-rejects.csv"


def is_queued(job: ImportJob) -> bool:
    """Committed by its Admin: waiting for a worker, running, or finished."""
    return job.status != ImportJob.Status.PENDING or bool((job.result or {}).get("queued_at"))


# ---------------------------------------------------------------- upload and preview


def import_job_create(
    *,
    kind: str,
    chunks: Iterable[bytes],
    file_name: str,
    options: ImportOptions,
    user,
) -> ImportJob:
    """A pending job for an uploaded file: its bytes streamed to disk chunk by chunk (never
    whole in memory), to be previewed next (accounts.tasks.import_job_check). FileRefused
    (and nothing kept) when the file is over IMPORT_MAX_FILE_BYTES."""
    job = ImportJob.objects.create(
        kind=kind,
        user=user if getattr(user, "pk", None) else None,
        file_name=file_name[:255],
        options=options.to_json(),
    )
    path = upload_path(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    limit = settings.IMPORT_MAX_FILE_BYTES
    size = 0
    partial = path.with_suffix(".part")
    try:
        with open(partial, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise FileRefused(
                        gettext(
                            "The file is larger than %(limit)s bytes, the limit for one import "
                            "(IMPORT_MAX_FILE_BYTES): split it into smaller files."
                        )
                        % {"limit": number_text(limit)}
                    )
                out.write(chunk)
        # Renamed once complete: a half-written upload never looks like a whole one.
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        job.delete()
        raise
    job.file_size = size
    job.save(update_fields=["file_size"])
    return job


def import_job_remap(*, job: ImportJob, options: ImportOptions) -> bool:
    """Other choices for the waiting upload (a column mapping, day-first dates, skipping
    bad rows…): the ones its next preview and its import use. False when it was
    committed meanwhile."""
    job.options = options.to_json()
    return bool(_waiting().filter(pk=job.pk).update(options=job.options))


# ---------------------------------------------------------------- the preview
#
# Previewing reads and checks the whole file (every row error), which takes as long as
# reading it for the import: a large file's preview runs in a worker too. While it runs
# the job's result is {"checking": token}; the preview is kept only if that token is still
# there (a newer preview, asked for with other choices, replaces an older one).


def is_checking(job: ImportJob) -> bool:
    return "checking" in (job.result or {})


def import_job_mark_checking(*, job: ImportJob, token: str) -> bool:
    job.result = {"checking": token}
    job.rows_read = job.bytes_read = job.error_count = 0
    return bool(
        _waiting()
        .filter(pk=job.pk)
        .update(result=job.result, rows_read=0, bytes_read=0, error_count=0)
    )


def import_job_check_failed(*, job: ImportJob, token: str, problem: str) -> None:
    """The preview could not be started (the task queue is down): say so on the job."""
    job.result = {"check_problem": problem}
    _waiting().filter(pk=job.pk, result__checking=token).update(result=job.result)


def import_job_preview(*, job_id: int, token: str) -> ImportJob | None:
    """Preview a waiting upload (in a worker): read and check all of it, counting its rows
    on the job as it goes, and keep what was found on the job. Nothing is written."""
    job = _waiting().filter(pk=job_id, result__checking=token).first()
    if job is None:
        return None  # committed, discarded, or asked again with other choices

    def progress(step: Progress) -> None:
        _waiting().filter(pk=job.pk, result__checking=token).update(
            rows_read=step.rows_read, bytes_read=step.bytes_read, error_count=step.rows_bad
        )

    try:
        with open(upload_path(job), "rb") as file:
            result = import_preview(
                kind=job.kind,
                file=file,
                options=ImportOptions.from_json(job.options),
                rows=PREVIEW_ROWS,
                progress=progress,
            )
    except Exception as exc:
        # Never left "checking" for ever: the page says what happened.
        logger.exception("Preview of import job %s failed", job.pk)
        import_job_check_failed(
            job=job,
            token=token,
            problem=gettext("The file could not be checked (%(why)s): upload it again.")
            % {"why": exc},
        )
        return job
    preview = preview_json(result)
    if not preview["header"]:
        # Refused before its columns were matched (a required one missing): the mapping
        # form still needs the file's header, and the columns that did match.
        preview["header"] = _header(job)
        preview["mapping"] = _matches(job.kind, preview["header"])
    job.result = {"preview": preview}
    job.rows_read = result.rows_read
    job.error_count = len(result.errors)
    _waiting().filter(pk=job.pk, result__checking=token).update(
        result=job.result, rows_read=job.rows_read, error_count=job.error_count
    )
    return job


def _header(job: ImportJob) -> list[str]:
    try:
        with open(upload_path(job), "rb") as file:
            options = ImportOptions.from_json(job.options)
            return table_open(file, encoding=options.encoding, delimiter=options.delimiter).header
    except FileRefused:
        return []


def _matches(kind: str, header: list[str]) -> dict[str, str]:
    """field → the first header recognised by its names (one header per field)."""
    found: dict[str, str] = {}
    for column in kind_columns(kind):
        names = column.names()
        for name in header:
            if name not in found.values() and squash(name) in names:
                found[column.field] = name
                break
    return found


def preview_json(result: ImportResult) -> dict[str, object]:
    """What a preview found, as JSON to keep on the job."""
    return {
        "ok": result.ok,
        "message": result.message,
        "encoding": result.encoding,
        "delimiter": result.delimiter,
        "header": result.header,
        "mapping": result.mapping,
        "unused_columns": result.unused_columns,
        "rows_read": result.rows_read,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "skipped": result.skipped,
        "rejected_rows": len(result.rejected_rows),
        "notes": result.notes,
        "rows": [{k: _plain(v) for k, v in row.items()} for row in result.preview],
        "errors": errors_json(result),
    }


def errors_json(result: ImportResult) -> list[list[object]]:
    return [[e.row, e.column, e.reason] for e in result.errors]


def _plain(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)  # Decimal and the like, as the file would write them


# ---------------------------------------------------------------- queue, run, discard


def import_job_mark_queued(*, job: ImportJob) -> bool:
    """Mark a waiting upload as committed. A sort of optimistic lock: a conditional
    update, so a double click (or two tabs) queues the import once. False when it was
    queued already or is gone."""
    queued = {**(job.result or {}), "queued_at": timezone.now().isoformat()}
    # Only a previewed upload: not one still being checked.
    claimed = _waiting().filter(pk=job.pk, result__has_key="preview").update(result=queued)
    if claimed:
        job.result = queued
    return bool(claimed)


def _waiting():
    """Uploads previewed and not (yet) committed."""
    return ImportJob.objects.filter(status=ImportJob.Status.PENDING).exclude(
        result__has_key="queued_at"
    )


def import_job_unmark_queued(*, job: ImportJob) -> None:
    """The queue could not take it (the broker is down): back to waiting, file kept."""
    job.result = {k: v for k, v in (job.result or {}).items() if k != "queued_at"}
    ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PENDING).update(result=job.result)


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Import a committed upload (in a Celery worker). Safe to run twice, as a worker
    killed mid-import gets its task again: a finished job is left alone, and an import
    cut short wrote nothing (one transaction), while a repeated one stores nothing twice.
    Keeps every row error on the job and, when rows were rejected, a CSV of them; deletes
    the upload once imported."""
    job = ImportJob.objects.select_related("user").filter(pk=job_id).first()
    if job is None or job.is_finished:
        return job
    path = upload_path(job)
    if not path.exists():
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED,
            finished_at=timezone.now(),
            error_summary=gettext("The uploaded file is no longer on the server: upload it again."),
        )
        job.refresh_from_db()
        _audit_finished(job)
        return job
    try:
        with open(path, "rb") as file:
            result = import_run(
                kind=job.kind,
                file=file,
                job=job,
                user=job.user,
                file_name=job.file_name,
                file_size=job.file_size,
            )
    except Exception:
        # import_run has recorded the failure on the job (nothing was written): the page
        # says so, and a retry would fail the same way.
        logger.exception("Import job %s failed", job.pk)
        path.unlink(missing_ok=True)
        job.refresh_from_db()
        _audit_finished(job)
        return job
    if result.errors:
        _rejects_keep(job, result)
    job.refresh_from_db()
    job.result = {**job.result, "errors": errors_json(result)}
    job.save(update_fields=["result"])
    path.unlink(missing_ok=True)
    _audit_finished(job)
    return job


def _audit_finished(job: ImportJob) -> None:
    """How the import ended, in the audit log (the counts; the row errors stay on the job)."""
    audit_record(
        type=AuditEvent.Type.IMPORT_FINISHED,
        actor=job.user,
        obj=job,
        message=job.get_status_display(),
        details={
            "kind": job.kind,
            "status": job.status,
            "rows_read": job.rows_read,
            "rows_written": job.rows_written,
            "rows_skipped": job.rows_skipped,
        },
    )


def _rejects_keep(job: ImportJob, result: ImportResult) -> None:
    target = rejects_path(job)
    partial = target.with_suffix(".part")
    with (
        open(upload_path(job), "rb") as file,
        open(partial, "w", newline="", encoding="utf-8") as out,
    ):
        rejects_write(file=file, result=result, out=out)
    os.replace(partial, target)


def import_job_discard(*, job: ImportJob) -> bool:
    """Drop an upload that will not be imported: its file and its job (nothing was
    imported, so there is nothing to keep in the history). False when it was queued
    meanwhile."""
    deleted, _ = _waiting().filter(pk=job.pk).delete()
    if deleted:
        upload_path(job).unlink(missing_ok=True)
    return bool(deleted)


def import_uploads_cleanup(*, now: dt.datetime | None = None) -> int:
    """Delete uploads never imported after IMPORT_UPLOAD_KEEP_HOURS (and their jobs), and
    rejected rows' files after IMPORT_REJECTS_KEEP_DAYS. Returns the files deleted."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(hours=settings.IMPORT_UPLOAD_KEEP_HOURS)
    abandoned = list(_waiting().filter(created_at__lt=cutoff).values_list("pk", flat=True))
    _waiting().filter(pk__in=abandoned).delete()
    deleted = 0
    for pk in abandoned:
        path = upload_dir() / f"{pk}.csv"
        if path.exists():
            path.unlink(missing_ok=True)
            deleted += 1
    old_rejects = (now - dt.timedelta(days=settings.IMPORT_REJECTS_KEEP_DAYS)).timestamp()
    for path in upload_dir().glob("*-rejects.csv") if upload_dir().exists() else ():
        if path.stat().st_mtime < old_rejects:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted
