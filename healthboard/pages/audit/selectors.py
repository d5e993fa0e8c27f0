"""Reads for the audit log page: the events, filtered, newest first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import AuditEvent
from healthboard.pages.imports.selectors import page_number

PER_PAGE = 50
# An export is bounded too: the newest this many events matching the filters.
EXPORT_LIMIT = 50_000


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audit_events(
    *,
    type: str | None = None,
    user_id: int | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[AuditEvent]:
    """The events matching the filters (days inclusive, in the site's time zone), newest
    first. The actor's current name is not joined: actor_label is who they were then."""
    events = AuditEvent.objects.order_by("-at", "-id")
    if type:
        events = events.filter(type=type)
    if user_id is not None:
        events = events.filter(actor_id=user_id)
    if since:
        events = events.filter(at__gte=_start_of(since))
    if until:
        events = events.filter(at__lt=_start_of(until + dt.timedelta(days=1)))
    return events


def audit_page(*, events: QuerySet[AuditEvent], page: str | None) -> tuple[Page, str]:
    """One page of events (2 queries: the count and the page)."""
    paginator = Paginator(events, PER_PAGE)
    number, problem = page_number(page, paginator.num_pages)
    return paginator.page(number), problem


def audit_csv_rows(*, events: QuerySet[AuditEvent]) -> Iterator[list]:
    """The export's rows, read in chunks (memory flat in the number of events)."""
    for event in events[:EXPORT_LIMIT].iterator(chunk_size=2000):
        yield [
            timezone.localtime(event.at).isoformat(timespec="seconds"),
            event.get_type_display(),
            event.actor_label,
            event.ip,
            event.object_type,
            event.object_id,
            event.object_label,
            event.message,
        ]
