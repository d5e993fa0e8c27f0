"""CSV exports recorded in the audit log: who took which data out, with which filters.

The one exception to "reads never write": an export is a GET, and it writes its audit event
(tests/pages/test_reads_never_write.py allows exactly that INSERT, on exports only). Written
before the rows stream, so a download cut short is still on record."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse

from accounts.audit import audit_record
from accounts.models import AuditEvent


def export_recorded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Record an EXPORT event when `view` answers with a CSV file (not for a refusal or a
    redirect)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and response.get("Content-Type", "").startswith("text/csv"):
            disposition = response.get("Content-Disposition", "")
            filename = disposition.partition('filename="')[2].rstrip('"')
            audit_record(
                type=AuditEvent.Type.EXPORT,
                request=request,
                message=filename,
                details={
                    "view": request.resolver_match.view_name if request.resolver_match else "",
                    "path": request.path,
                    "query": request.GET.urlencode()[:1000],
                },
            )
        return response

    return wrapper
