"""Bulk ingestion of signals (CSV import, API): all rows valid or nothing written; re-sent
signals (same source and external id) are stored once."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts.models import Account, Metric, Signal
from accounts.signals import signals_ingested

FIELDS = ("account", "metric", "observed_at", "value", "category", "text", "external_id")
MAX_ERRORS = 50


@dataclass
class RowError:
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.message}"


class IngestError(ValueError):
    """Some rows are invalid; nothing was written."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        shown = "; ".join(str(e) for e in errors[:10])
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        super().__init__(f"{len(errors)} problem(s), nothing imported: {shown}{more}")


@dataclass
class IngestResult:
    received: int
    created: int
    duplicates: int
    accounts: set[int] = field(default_factory=set)


def _parse_when(raw: str) -> dt.datetime | None:
    raw = (raw or "").strip()
    when = parse_datetime(raw)
    if when is None:
        day = parse_date(raw)
        when = dt.datetime.combine(day, dt.time(12)) if day else None
    if when is not None and timezone.is_naive(when):
        when = timezone.make_aware(when)
    return when


def signals_ingest(
    *, rows: Iterable[Mapping[str, str]], source: str, first_row: int = 1
) -> IngestResult:
    """Validate every row, then write them all in one transaction.

    Each row names the account by its CRM external id and the metric by its key; an optional
    external_id makes a re-sent row a no-op."""
    source = (source or "").strip()
    if not source or len(source) > 40:
        raise IngestError([RowError(0, "source", "a source name of 1–40 characters is required")])
    rows = list(rows)
    accounts = dict(
        Account.objects.filter(
            external_id__in={str(r.get("account", "")).strip() for r in rows}
        ).values_list("external_id", "pk")
    )
    metrics = dict(Metric.objects.values_list("key", "pk"))
    errors: list[RowError] = []
    signals: list[Signal] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=first_row):
        problems = len(errors)
        account = accounts.get(str(row.get("account", "")).strip())
        if account is None:
            errors.append(
                RowError(number, "account", f"no account with external id {row.get('account')!r}")
            )
        metric = metrics.get(str(row.get("metric", "")).strip())
        if metric is None:
            errors.append(RowError(number, "metric", f"unknown metric {row.get('metric')!r}"))
        when = _parse_when(str(row.get("observed_at", "")))
        if when is None:
            errors.append(
                RowError(
                    number, "observed_at", f"{row.get('observed_at')!r} is not a date or date-time"
                )
            )
        elif when > timezone.now() + dt.timedelta(days=1):
            errors.append(
                RowError(number, "observed_at", f"{when:%Y-%m-%d %H:%M} is in the future")
            )
        try:
            value = float(str(row.get("value", "")).strip())
            if not math.isfinite(value):
                raise ValueError
        except ValueError:
            value = None
            errors.append(RowError(number, "value", f"{row.get('value')!r} is not a number"))
        external_id = str(row.get("external_id") or "").strip() or None
        if external_id and len(external_id) > 100:
            errors.append(RowError(number, "external_id", "longer than 100 characters"))
        elif external_id in seen:
            errors.append(
                RowError(number, "external_id", f"{external_id!r} appears twice in this import")
            )
        elif external_id:
            seen.add(external_id)
        category = str(row.get("category") or "").strip()
        if len(category) > 60:
            errors.append(RowError(number, "category", "longer than 60 characters"))
        if len(errors) >= MAX_ERRORS:
            break
        if len(errors) == problems:
            signals.append(
                Signal(
                    account_id=account,
                    metric_id=metric,
                    observed_at=when,
                    value=value,
                    category=category,
                    text=str(row.get("text") or "")[:2000],
                    source=source,
                    external_id=external_id,
                )
            )
    if errors:
        raise IngestError(errors)
    known = (
        set(
            Signal.objects.filter(source=source, external_id__in=seen).values_list(
                "external_id", flat=True
            )
        )
        if seen
        else set()
    )
    fresh = [s for s in signals if s.external_id is None or s.external_id not in known]
    with transaction.atomic():
        # ignore_conflicts covers a concurrent import of the same rows.
        Signal.objects.bulk_create(fresh, batch_size=5000, ignore_conflicts=True)
        touched = {s.account_id for s in fresh}
        transaction.on_commit(
            lambda: signals_ingested.send_robust(sender=Signal, account_ids=touched)
        )
    return IngestResult(
        received=len(signals),
        created=len(fresh),
        duplicates=len(signals) - len(fresh),
        accounts=touched,
    )
