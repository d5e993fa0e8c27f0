"""Lifecycle patterns from the accounts' start and churn dates: retention (Kaplan–Meier) by band
at a date and by start cohort, and churn by month of tenure ("they leave after a year").

Durations are in months of 30.44 days. An account still a customer is censored today; one
marked churned without a churn date has no known duration and is left out (and counted).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass, field

import numpy as np
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from healthboard.lib.dates import day_text
from healthboard.lib.numbers import number_text, share_text
from scoring.analytics import labels as lab
from scoring.analytics.survival import churn_by_tenure_month, kaplan_meier
from scoring.bands import ORDER, Band
from scoring.models import HealthScore, ScoreRun

MONTH_DAYS = 30.4375
MIN_CURVE = 5  # a curve of fewer accounts says nothing
DEFAULT_BAND_DAYS = 182  # band curves start from a snapshot about six months old
# Tenure groups (months as a customer on the band date): label, from, to.
TENURE_GROUPS = (
    (gettext_noop("Under 6 months"), 0, 6),
    (gettext_noop("6–12 months"), 6, 12),
    (gettext_noop("1–2 years"), 12, 24),
    (gettext_noop("2 years or more"), 24, 10_000),
)
# A tenure month's churn rate worth calling out needs this many accounts at risk.
MIN_MONTH_AT_RISK = 20


@dataclass
class RetentionReport:
    today: str
    band_date: str | None  # the snapshot date the band curves start from
    n_accounts: int
    n_churned: int
    undated_churn: int  # churned accounts without a churn date (left out)
    by_band: list[dict] = field(default_factory=list)
    by_tenure: list[dict] = field(default_factory=list)  # from band_date, by tenure then
    by_cohort: list[dict] = field(default_factory=list)
    cohort_unit: str = "year"
    tenure_months: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    interpretation: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def _months(days: np.ndarray) -> np.ndarray:
    return days.astype(np.float64) / MONTH_DAYS


def _band_date(requested: dt.date | None, today: dt.date) -> dt.date | None:
    """The done snapshot on or before `requested`; by default the one six months ago, moved
    later a month at a time while most of its accounts had no data yet (a history's first
    days, before the measures' windows fill)."""
    runs = ScoreRun.objects.filter(status=ScoreRun.Status.DONE)

    def on_or_before(target: dt.date) -> dt.date | None:
        found = runs.filter(date__lte=target).order_by("-date").values_list("date", flat=True)
        return found.first() or runs.order_by("date").values_list("date", flat=True).first()

    if requested is not None:
        return on_or_before(requested)
    target = today - dt.timedelta(days=DEFAULT_BAND_DAYS)
    day = on_or_before(target)
    for _attempt in range(5):
        if day is None:
            return None
        scored = HealthScore.objects.filter(run__status=ScoreRun.Status.DONE, date=day)
        if scored.exclude(band=Band.NO_DATA).count() * 2 >= scored.count():
            break
        target += dt.timedelta(days=30)
        day = on_or_before(target)
    return day


def retention_report(
    *, band_date: dt.date | None = None, today: dt.date | None = None
) -> RetentionReport:
    today = today or timezone.localdate()
    pop = lab.population()
    now = np.datetime64(today.isoformat(), "D")
    dated = ~pop.churned_undated & (pop.start <= now)
    churned = dated & ~np.isnat(pop.churn) & (pop.churn <= now)
    end = np.where(churned, pop.churn, now)
    report = RetentionReport(
        today=today.isoformat(),
        band_date=None,
        n_accounts=int(dated.sum()),
        n_churned=int(churned.sum()),
        undated_churn=int(pop.churned_undated.sum()),
    )
    if report.n_accounts == 0:
        report.missing.append(_("No accounts with a start date on or before today."))
        return report
    if report.n_churned == 0:
        report.missing.append(_("No account has churned (with a churn date): retention is 100 %."))
    tenure = _months((end - pop.start)[dated] / lab.DAY)
    events = churned[dated]
    report.tenure_months = churn_by_tenure_month(tenure, events)
    report.by_cohort, report.cohort_unit = _cohorts(pop.start[dated], tenure, events)
    day = _band_date(band_date, today)
    if day is None:
        report.missing.append(_("No stored scores yet: retention by band needs a scored date."))
        return report
    report.band_date = day.isoformat()
    report.by_band = _by_band(pop, day, now, churned)
    report.by_tenure = _by_tenure(pop, day, now, churned)
    if not report.by_band:
        report.missing.append(
            _("Too few accounts per band on %(day)s for retention curves.") % {"day": day}
        )
    report.interpretation = _interpret(report)
    return report


def _by_tenure(pop: lab.Population, day: dt.date, now, churned: np.ndarray) -> list[dict]:
    """From `day`: months until churn (or today) of the then customers, by tenure then."""
    d = np.datetime64(day.isoformat(), "D")
    watched = pop.customers_on(day)
    tenure = _months((d - pop.start) / lab.DAY)
    months = _months((np.where(churned, pop.churn, now) - d) / lab.DAY)
    curves = []
    for label, low, high in TENURE_GROUPS:
        rows = watched & (tenure >= low) & (tenure < high)
        if rows.sum() >= MIN_CURVE:
            # Stored as JSON, in the language the analysis runs in.
            curves.append(kaplan_meier(months[rows], churned[rows], label=_(label)).to_json())
    return curves


def _interpret(r: RetentionReport) -> list[str]:
    lines = [
        _("%(accounts)s accounts, %(churned)s of them churned (a churn date known).")
        % {"accounts": number_text(r.n_accounts), "churned": number_text(r.n_churned)}
    ]
    months = [m for m in r.tenure_months if m["at_risk"] >= MIN_MONTH_AT_RISK and m["rate"]]
    if months:
        # By the interval's lower end: a high rate among a few dozen accounts is no peak.
        worst = max(months, key=lambda m: m["low"])
        lines.append(
            _(
                "Churn peaks in month %(month)s of tenure: %(rate)s of the %(at_risk)s "
                "accounts that reached it left during it (95 %% %(low)s–%(high)s)."
            )
            % {
                "month": worst["month"],
                "rate": share_text(worst["rate"], 1),
                "at_risk": number_text(worst["at_risk"]),
                "low": number_text(100 * worst["low"], 1),
                "high": share_text(worst["high"], 1),
            }
        )
    for curve in r.by_band:
        if curve["survival"]:
            lines.append(
                _(
                    "%(band)s on %(day)s: %(share)s still customers %(months).0f months "
                    "later (%(accounts)s accounts)."
                )
                % {
                    "band": curve["label"],
                    "day": day_text(dt.date.fromisoformat(r.band_date)),
                    "share": share_text(curve["survival"][-1]),
                    "months": curve["times"][-1],
                    "accounts": number_text(curve["n"]),
                }
            )
    if r.undated_churn:
        lines.append(
            _("%(count)s churned accounts have no churn date and are left out.")
            % {"count": number_text(r.undated_churn)}
        )
    return lines


def _cohorts(starts: np.ndarray, tenure: np.ndarray, events: np.ndarray):
    """Curves per start year; per quarter when every account started within two years."""
    years = starts.astype("datetime64[Y]").astype(int) + 1970
    quarterly = years.max() - years.min() < 2
    if quarterly:
        months = starts.astype("datetime64[M]").astype(int) % 12
        keys = [f"{y}-Q{m // 3 + 1}" for y, m in zip(years, months, strict=True)]
    else:
        keys = [str(y) for y in years]
    groups = defaultdict(list)
    for i, k in enumerate(keys):
        groups[k].append(i)
    curves = [
        kaplan_meier(tenure[rows], events[rows], label=k).to_json()
        for k, rows in sorted(groups.items())
        if len(rows) >= MIN_CURVE
    ]
    return curves, "quarter" if quarterly else "year"


def _by_band(pop: lab.Population, day: dt.date, now, churned: np.ndarray) -> list[dict]:
    """From each account's band on `day`: months until churn (or today) after it."""
    rows = HealthScore.objects.filter(run__status=ScoreRun.Status.DONE, date=day).values_list(
        "account_id", "band"
    )
    bands = dict(rows)
    pos = np.searchsorted(pop.ids, np.fromiter(bands.keys(), np.int64, len(bands)))
    band_of = np.full(len(pop), "", dtype=object)
    band_of[pos] = list(bands.values())
    d = np.datetime64(day.isoformat(), "D")
    watched = pop.customers_on(day) & (band_of != "")
    end = np.where(churned, pop.churn, now)
    months = _months((end - d) / lab.DAY)
    curves = []
    for band in ORDER:
        rows_ = watched & (band_of == band)
        if rows_.sum() >= MIN_CURVE:
            curves.append(
                {
                    "band": str(band),
                    **kaplan_meier(
                        months[rows_], churned[rows_], label=str(Band(band).label)
                    ).to_json(),
                }
            )
    return curves
