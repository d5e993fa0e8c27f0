"""Reads for an account's timelines (selectors): its signals and its notes, newest first, a
page at a time.

Pages are cut by keyset ("older than this (time, id)"), not OFFSET: the database walks the
(account, time) index from the cursor, so page 40 costs what page 1 costs, and a signal
arriving while someone reads does not shift the next page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db.models import Q, QuerySet

from accounts.models import Account, Metric, Note, Signal

SIGNALS_PER_PAGE = 25
NOTES_PER_PAGE = 20

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

T = TypeVar("T")


@dataclass(frozen=True)
class Cursor:
    """A position in a newest-first timeline: everything strictly older than (at, pk)."""

    at: dt.datetime
    pk: int

    def __str__(self) -> str:
        micros = (self.at - _EPOCH) // dt.timedelta(microseconds=1)
        return f"{micros}_{self.pk}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """A cursor from a URL; anything malformed is None (the first page), never an error."""
        try:
            micros, pk = (text or "").split("_")
            at = _EPOCH + dt.timedelta(microseconds=int(micros))
            cursor = cls(at, int(pk))
        except (ValueError, OverflowError):
            return None
        return cursor if cursor.pk > 0 else None


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    next: Cursor | None  # where the following (older) page starts; None at the end


def _page(qs: QuerySet, *, field: str, before: Cursor | None, size: int) -> Page:
    if before is not None:
        older = Q(**{f"{field}__lt": before.at}) | Q(**{field: before.at, "pk__lt": before.pk})
        # The redundant "<=" is a range the index can seek to; the OR alone makes the
        # database walk (and discard) every newer row first.
        qs = qs.filter(older, **{f"{field}__lte": before.at})
    # One row more than the page tells whether there is a next page without a COUNT.
    rows = list(qs.order_by(f"-{field}", "-pk")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, Cursor(getattr(rows[-1], field), rows[-1].pk) if more else None)


def metrics_all() -> dict[int, Metric]:
    """The metric catalogue by id (tens of rows). One query."""
    return {m.pk: m for m in Metric.objects.all()}


def signal_categories(metrics: dict[int, Metric]) -> list[str]:
    """The metric categories signals can be filtered by (Usage, Support, …), in order."""
    return sorted({m.category for m in metrics.values() if m.category})


def signals_page(
    *,
    account: Account,
    metrics: dict[int, Metric],
    category: str | None = None,
    before: Cursor | None = None,
    size: int = SIGNALS_PER_PAGE,
) -> Page[Signal]:
    """The account's signals newest first, optionally of one metric category. One query; each
    signal's metric comes from `metrics` (metrics_all()), not a join."""
    qs = Signal.objects.filter(account=account)
    if category:
        qs = qs.filter(metric_id__in=[pk for pk, m in metrics.items() if m.category == category])
    page = _page(qs, field="observed_at", before=before, size=size)
    for signal in page.rows:
        # Saves a query per signal when the template reads signal.metric.
        if signal.metric_id in metrics:
            signal.metric = metrics[signal.metric_id]
    return page


def notes_page(
    *, account: Account, before: Cursor | None = None, size: int = NOTES_PER_PAGE
) -> Page[Note]:
    """The account's notes (calls, meetings, stage changes) newest first. One query."""
    qs = Note.objects.filter(account=account).select_related("author")
    return _page(qs, field="created_at", before=before, size=size)
