"""The labelled history: who was a customer at each evaluation date, and whether they churned
within the horizon after it. Every analysis (back-test, suggestion, retention) starts here.

Accounts are read once, as numpy columns; each date's population and labels are masks over
them, so twelve dates cost one query, not twelve per account.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.utils import timezone

from accounts.models import Account

DAY = np.timedelta64(1, "D")


def _day(value: dt.date) -> np.datetime64:
    return np.datetime64(value.isoformat(), "D")


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day of the month `months` later (the month's last day where it has none)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def evaluation_dates(start: dt.date, end: dt.date, *, step_months: int = 1) -> list[dt.date]:
    """start, start + a month, … up to end (inclusive): the dates scores are judged at."""
    if step_months < 1:
        raise ValueError("step_months must be at least 1.")
    dates, k = [], 0
    while (day := add_months(start, k * step_months)) <= end:
        dates.append(day)
        k += 1
    return dates


@dataclass
class Population:
    """Every account as columns (sorted by id). churn: NaT where there is no churn date."""

    ids: np.ndarray
    segment_ids: np.ndarray
    seats: np.ndarray
    start: np.ndarray  # datetime64[D]
    churn: np.ndarray  # datetime64[D], NaT = none
    churned_undated: np.ndarray  # status churned without a churn date: gone on every day

    def customers_on(self, day: dt.date) -> np.ndarray:
        """Mask of the accounts that were customers on `day`: Account.objects.customers_on."""
        d = _day(day)
        not_gone = np.isnat(self.churn) & ~self.churned_undated
        with np.errstate(invalid="ignore"):
            later = ~np.isnat(self.churn) & (self.churn > d)
        return (self.start <= d) & (not_gone | later)

    def churned_within(self, day: dt.date, horizon_days: int) -> np.ndarray:
        """Mask of the accounts whose churn date falls in (day, day + horizon]."""
        d = _day(day)
        dated = ~np.isnat(self.churn)
        out = np.zeros(len(self.ids), bool)
        out[dated] = (self.churn[dated] > d) & (self.churn[dated] <= d + horizon_days * DAY)
        return out

    def __len__(self) -> int:
        return len(self.ids)


def population() -> Population:
    """All accounts in one query."""
    rows = list(
        Account.objects.order_by("pk").values_list(
            "pk", "segment_id", "seats", "start_date", "churn_date", "status"
        )
    )
    n = len(rows)
    ids = np.fromiter((r[0] for r in rows), np.int64, n)
    return Population(
        ids=ids,
        segment_ids=np.fromiter((r[1] for r in rows), np.int64, n),
        seats=np.fromiter((r[2] or 0 for r in rows), np.float64, n),
        start=np.array([r[3] for r in rows], dtype="datetime64[D]"),
        churn=np.array([r[4] if r[4] else None for r in rows], dtype="datetime64[D]"),
        churned_undated=np.fromiter(
            (r[5] == Account.Status.CHURNED and r[4] is None for r in rows), bool, n
        ),
    )


@dataclass
class LabelledDates:
    """The evaluation dates whose horizon has passed, and the ones left out (with why)."""

    dates: list[dt.date]
    too_recent: list[dt.date]
    horizon_days: int
    known_until: dt.date


def labelled_dates(
    start: dt.date,
    end: dt.date,
    *,
    horizon_days: int,
    step_months: int = 1,
    today: dt.date | None = None,
) -> LabelledDates:
    """Evaluation dates from start to end whose whole horizon lies in the past: an account
    scored later cannot yet be called "stayed" (it may still churn within the horizon)."""
    if horizon_days < 1:
        raise ValueError("The horizon must be at least one day.")
    today = today or timezone.localdate()
    dates = evaluation_dates(start, end, step_months=step_months)
    ok = [d for d in dates if d + dt.timedelta(days=horizon_days) <= today]
    return LabelledDates(ok, [d for d in dates if d not in ok], horizon_days, today)
