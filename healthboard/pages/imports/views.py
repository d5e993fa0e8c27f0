"""CSV imports for Admins (accounts.import_data): upload a file, see its preview (encoding,
delimiter, column mapping, first rows, every row error) before anything is written, import
it in a Celery worker while a progress bar polls the job, and read the history of imports.
Checking a file for its preview reads all of it, so it runs in a worker as well.

The upload waits on disk, tied to a pending ImportJob (accounts.imports.jobs), between its
preview and its import: one URL per job shows the preview while it waits and the progress
or the result once it is committed.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from accounts import tasks
from accounts.audit import audit_record
from accounts.imports import FileRefused, ImportOptions, kind_columns
from accounts.imports import jobs as services
from accounts.models import AuditEvent, ImportJob
from healthboard.lib import htmx
from healthboard.lib.roles import permission_required
from healthboard.lib.uploads import UploadLimit
from healthboard.pages.audited import export_recorded
from healthboard.pages.imports import selectors
from healthboard.pages.imports.forms import MappingForm, UploadForm

IMPORT = "accounts.import_data"
UPLOAD, CHECKING, PREVIEW, JOB, HISTORY = (
    "imports/upload.html",
    "imports/checking.html",
    "imports/preview.html",
    "imports/job.html",
    "imports/history.html",
)
CHECKING_REGION = "import-checking"


# CSRF is checked inside, once the upload handlers are in place: the CSRF check reads the
# body, and with it the whole file (Django's own pattern for changing upload handlers).
@csrf_exempt
@require_http_methods(["GET", "POST"])
@permission_required(IMPORT)
def import_upload(request: HttpRequest) -> HttpResponse:
    # A file over the limit is refused as it arrives, not after a copy of it was stored.
    request.upload_handlers.insert(0, UploadLimit(request, settings.IMPORT_MAX_FILE_BYTES))
    return _upload(request)


@csrf_protect
def _upload(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, UPLOAD, {"form": UploadForm(), "kinds": _kinds()})
    form = UploadForm(request.POST, request.FILES, too_large=request.upload_over_limit)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = services.import_job_create(
                kind=form.cleaned_data["kind"],
                chunks=upload.chunks(),
                file_name=Path(upload.name).name,
                options=form.options(),
                user=request.user,
            )
        except FileRefused as exc:
            form.add_error("file", str(exc))
        else:
            _check(request, job)
            return redirect("imports:job", pk=job.pk)
    return render(request, UPLOAD, {"form": form, "kinds": _kinds()}, status=400)


def _kinds() -> list[tuple[str, str, list]]:
    return [(value, label, kind_columns(value)) for value, label in ImportJob.Kind.choices]


def _check(request: HttpRequest, job: ImportJob) -> None:
    """Have the upload previewed by a worker (in-process without REDIS_URL)."""
    try:
        tasks.import_job_check(job=job)
    except tasks.QueueDown:
        messages.error(
            request,
            _(
                "The file is uploaded but could not be checked: the task queue (Redis) does not "
                "answer. It is kept here: press Check the file in a minute."
            ),
        )


@require_GET
@permission_required(IMPORT)
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    """While the upload waits: it being checked, then its preview. Once committed: the
    progress, then the result."""
    job = selectors.import_job(pk=pk)
    if not selectors.is_waiting(job):
        return _job(request, job)
    if "preview" in job.result:
        if htmx.is_fragment(request) and request.htmx.target == CHECKING_REGION:
            # The check being watched has finished: show its preview, the whole page.
            return HttpResponseClientRefresh()
        return _preview(request, job, _mapping_form(job))
    context = {"job": job, "checking": services.is_checking(job)}
    return htmx.render(request, CHECKING, context, partial="checking")


def _mapping_form(job: ImportJob, data=None) -> MappingForm:
    preview = job.result.get("preview", {})
    options = ImportOptions.from_json(job.options)
    return MappingForm(
        data,
        kind=job.kind,
        header=preview.get("header", []),
        initial=MappingForm.initial_for(options, preview.get("mapping", {})),
    )


def _preview(request: HttpRequest, job: ImportJob, form: MappingForm, *, status=None):
    preview = job.result.get("preview", {})
    errors, problem = selectors.errors_page(preview.get("errors", []), page=request.GET.get("page"))
    options = ImportOptions.from_json(job.options)
    context = {
        "job": job,
        "preview": preview,
        "options": options,
        "form": form,
        "columns": kind_columns(job.kind),
        "errors": errors,
        "problem": problem,
        # All or nothing with bad rows would import nothing: say so instead of offering it.
        "can_import": preview.get("ok", False),
    }
    return htmx.render(request, PREVIEW, context, partial="errors", status=status)


def _job(request: HttpRequest, job: ImportJob) -> HttpResponse:
    errors, problem = selectors.errors_page(
        job.result.get("errors", []) if job.is_finished else [], page=request.GET.get("page")
    )
    settling = selectors.is_settling(job)
    context = {
        "job": job,
        "errors": errors,
        "problem": problem,
        "has_rejects": selectors.has_rejects(job),
        "rescore": job.result.get("rescore_scheduled"),
        "settling": settling,
        "polling": settling or not job.is_finished,
    }
    return htmx.render(request, JOB, context, partial="progress")


@require_POST
@permission_required(IMPORT)
def import_remap(request: HttpRequest, pk: int) -> HttpResponse:
    """Preview the waiting upload again with the choices and the column mapping edited."""
    job = selectors.import_job(pk=pk)
    if not selectors.is_waiting(job):
        messages.info(request, _("This file has been imported already; its choices are final."))
        return redirect("imports:job", pk=pk)
    form = _mapping_form(job, request.POST)
    if not form.is_valid():
        messages.error(request, _("Not previewed again: fix the choices marked below."))
        return _preview(request, job, form, status=400)
    if services.import_job_remap(job=job, options=form.options(mapping=form.mapping())):
        _check(request, job)
    return redirect("imports:job", pk=pk)


@require_POST
@permission_required(IMPORT)
def import_check(request: HttpRequest, pk: int) -> HttpResponse:
    """Check the waiting upload again (its check could not start, or was lost)."""
    job = selectors.import_job(pk=pk)
    if selectors.is_waiting(job):
        _check(request, job)
    return redirect("imports:job", pk=pk)


@require_POST
@permission_required(IMPORT)
def import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.import_job(pk=pk)
    started = timezone.now()
    try:
        queued = tasks.import_job_enqueue(job=job)
    except tasks.QueueDown:
        messages.error(
            request,
            _(
                "The import could not start: the task queue (Redis) does not answer. Nothing was "
                "imported and your file is kept here: press Import again in a minute, or ask "
                "whoever runs Healthboard to check Redis and the Celery workers."
            ),
        )
    else:
        if not queued:
            messages.info(request, _("This file was already sent to be imported."))
        else:
            # Recorded once the queue took it (a refused start is not an import), at the
            # time it was asked for: a demo without Redis has already run it by now.
            audit_record(
                type=AuditEvent.Type.IMPORT_COMMITTED,
                request=request,
                obj=job,
                message=job.file_name,
                details={"kind": job.kind, "file_size": job.file_size},
                at=started,
            )
    return redirect("imports:job", pk=pk)


@require_POST
@permission_required(IMPORT)
def import_discard(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.import_job(pk=pk)
    if services.import_job_discard(job=job):
        messages.success(
            request,
            _("“%(file_name)s” was discarded; nothing was imported.")
            % {"file_name": job.file_name},
        )
        return redirect("imports:upload")
    messages.info(request, _("This file was already sent to be imported; it cannot be discarded."))
    return redirect("imports:job", pk=pk)


@require_GET
@permission_required(IMPORT)
@export_recorded
def import_rejects(request: HttpRequest, pk: int) -> FileResponse:
    """The rows an import left out or that refused it, as the file had them, with why."""
    job = selectors.import_job(pk=pk)
    if not selectors.has_rejects(job):
        raise Http404(_("No rejected rows are kept for this import."))
    stem = Path(job.file_name).stem or f"import-{job.pk}"
    return FileResponse(
        open(services.rejects_path(job), "rb"),  # noqa: SIM115 (FileResponse closes it)
        as_attachment=True,
        filename=f"{stem}-rejected-rows.csv",
        content_type="text/csv; charset=utf-8",
    )


@require_GET
@permission_required(IMPORT)
def import_history(request: HttpRequest) -> HttpResponse:
    page, problem = selectors.import_history(page=request.GET.get("page"))
    context = {"page": page, "problem": problem}
    return htmx.render(request, HISTORY, context, partial="history")
