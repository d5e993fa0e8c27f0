"""Reads for the import pages: the history of imports, one job, its errors a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Substr
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from accounts.imports.jobs import is_queued, rejects_path, upload_path
from accounts.models import ImportJob

HISTORY_PER_PAGE = 25
ERRORS_PER_PAGE = 50


def page_number(raw: str | None, num_pages: int) -> tuple[int, str]:
    """The page asked for, or the nearest real one and a sentence saying so."""
    try:
        number = int(raw) if raw not in (None, "") else 1
    except ValueError:
        return 1, _("“%(page)s” is not a page number; showing the first page.") % {"page": raw}
    if number < 1:
        return 1, _("Pages start at 1; showing the first page.")
    if number > num_pages:
        return num_pages, _("There is no page %(number)s: showing the last one, %(last)s.") % {
            "number": number,
            "last": num_pages,
        }
    return number, ""


def _page(items, per_page: int, raw: str | None) -> tuple[Page, str]:
    paginator = Paginator(items, per_page)
    number, message = page_number(raw, paginator.num_pages)
    return paginator.page(number), message


def import_history(*, page: str | None) -> tuple[Page, str]:
    """One page of every import, newest first (2 queries: the count and the page, with
    who imported each file). The jobs' JSON (every row error) stays in the database; the
    first line of why an import was refused comes along."""
    jobs = (
        ImportJob.objects.select_related("user")
        .defer("result", "error_summary", "options")
        .annotate(
            queued_at=KeyTextTransform("queued_at", "result"),
            why=Substr("error_summary", 1, 300),
        )
        .order_by("-created_at", "-pk")
    )
    return _page(jobs, HISTORY_PER_PAGE, page)


def import_job(*, pk: int) -> ImportJob:
    """One job, with whoever imported it (1 query)."""
    return get_object_or_404(ImportJob.objects.select_related("user"), pk=pk)


@dataclass(frozen=True)
class ErrorLine:
    row: int
    column: str
    reason: str


def errors_page(errors: list[list[object]], *, page: str | None) -> tuple[Page, str]:
    """A page of row errors as kept on a job ([row, column, reason], by row)."""
    lines = [ErrorLine(int(row), str(column), str(reason)) for row, column, reason in errors]
    return _page(lines, ERRORS_PER_PAGE, page)


def has_rejects(job: ImportJob) -> bool:
    """Whether the file of rejected rows can be downloaded (it is kept for a while)."""
    return job.is_finished and job.error_count > 0 and rejects_path(job).exists()


def is_settling(job: ImportJob) -> bool:
    """Imported, but its worker is still keeping the row errors and the rejected rows: the
    upload is deleted last, once they are kept (jobs from the shell have none)."""
    return job.is_finished and upload_path(job).exists()


def is_waiting(job: ImportJob) -> bool:
    """Uploaded and previewed, not committed."""
    return not is_queued(job)
