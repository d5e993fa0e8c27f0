"""The audit log: Admins browse security-relevant events (sign-ins, lockouts, users and
roles, account edits, imports, exports, API tokens), filter them and export them. Read
only: nothing here writes but the export's own audit event."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from healthboard.lib import htmx
from healthboard.lib.csvfile import csv_response
from healthboard.lib.roles import permission_required
from healthboard.pages.audit import selectors
from healthboard.pages.audit.forms import AuditFilterForm
from healthboard.pages.audited import export_recorded

VIEW = "accounts.view_auditevent"
PAGE = "audit/log.html"
CSV_HEADER = [
    _("When"),
    _("Event"),
    _("User"),
    _("IP address"),
    _("Object type"),
    _("Object id"),
    _("Object"),
    _("What"),
]


@require_GET
@permission_required(VIEW)
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    events = selectors.audit_events(**form.applied)
    page, problem = selectors.audit_page(events=events, page=request.GET.get("page"))
    query = form.query()
    context = {
        "form": form,
        "page": page,
        "problem": problem,
        "notices": form.ignored,
        "query": query.urlencode(),
        "filtered": bool(query),
    }
    return htmx.render(request, PAGE, context, partial="events")


@require_GET
@permission_required(VIEW)
@export_recorded
def audit_log_csv(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    events = selectors.audit_events(**form.applied)
    return csv_response(
        filename=f"audit-log-{timezone.localdate():%Y-%m-%d}.csv",
        header=CSV_HEADER,
        rows=selectors.audit_csv_rows(events=events),
    )
