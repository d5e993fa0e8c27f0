"""Retention curves: Kaplan–Meier with Greenwood intervals, and churn by month of tenure.
Pure numpy, tested against small cases computed by hand.

An account's *duration* is how long it was watched (days, or months) and its *event* whether
that watching ended in churn (True) or in the present / the end of the data (censored).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import numpy.typing as npt

from scoring.analytics.metrics import Z95, proportion


@dataclass
class KaplanMeier:
    """S(t) at each distinct event time, with the numbers behind each step.

    `low`/`high`: a 95 % interval per step. Greenwood's variance of S is
    S² · Σ d / (n (n − d)); the interval is taken on log(−log S) (Kalbfleisch & Prentice), which
    stays inside [0, 1] and is the usual choice with few accounts; `plain` intervals
    (S ± z·√Var) are kept beside it for readers who expect those."""

    label: str
    n: int  # accounts in the curve
    events: int  # churned among them
    times: list[float] = field(default_factory=list)
    at_risk: list[int] = field(default_factory=list)
    churned: list[int] = field(default_factory=list)
    censored: list[int] = field(default_factory=list)  # leaving the risk set after this time
    survival: list[float] = field(default_factory=list)
    variance: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)
    high: list[float] = field(default_factory=list)
    plain_low: list[float] = field(default_factory=list)
    plain_high: list[float] = field(default_factory=list)

    def at(self, t: float) -> float:
        """S(t): the share still a customer after t (1 before the first churn)."""
        value = 1.0
        for time, s in zip(self.times, self.survival, strict=True):
            if time > t:
                break
            value = s
        return value

    def to_json(self) -> dict:
        return asdict(self)


def kaplan_meier(
    durations: npt.ArrayLike, events: npt.ArrayLike, *, label: str = "", z: float = Z95
) -> KaplanMeier:
    """The Kaplan–Meier estimate. An account churning at t is at risk at t; one censored at t
    also counts as at risk at t (the usual convention: censoring after the events of t)."""
    t = np.asarray(durations, dtype=np.float64)
    e = np.asarray(events, dtype=bool)
    if t.shape != e.shape or t.ndim != 1:
        raise ValueError("durations and events must be 1-D of equal length.")
    if (t < 0).any() or np.isnan(t).any():
        raise ValueError("durations must be non-negative numbers.")
    result = KaplanMeier(label=label, n=int(t.size), events=int(e.sum()))
    if not t.size:
        return result
    times = np.unique(t)
    # At risk at time u: durations ≥ u.
    order = np.sort(t)
    at_risk = t.size - np.searchsorted(order, times, side="left")
    deaths = np.bincount(np.searchsorted(times, t[e]), minlength=times.size)
    censored = np.bincount(np.searchsorted(times, t[~e]), minlength=times.size)
    s, greenwood = 1.0, 0.0
    for u, n, d, c in zip(times, at_risk, deaths, censored, strict=True):
        if d == 0:
            # Censoring alone does not step the curve; it is folded into the next step's n.
            if result.censored:
                result.censored[-1] += int(c)
            continue
        s *= 1 - d / n
        if n > d:
            greenwood += d / (n * (n - d))
        var = s * s * greenwood
        result.times.append(float(u))
        result.at_risk.append(int(n))
        result.churned.append(int(d))
        result.censored.append(int(c))
        result.survival.append(float(s))
        result.variance.append(float(var))
        sd = math.sqrt(var)
        result.plain_low.append(max(0.0, s - z * sd))
        result.plain_high.append(min(1.0, s + z * sd))
        low, high = _log_log(s, greenwood, z)
        result.low.append(low)
        result.high.append(high)
    return result


def _log_log(s: float, greenwood: float, z: float) -> tuple[float, float]:
    """The interval of S on the log(−log S) scale: S^exp(±z·σ), σ = √Σ / |log S|."""
    if s <= 0.0:
        return 0.0, 0.0
    if s >= 1.0 or greenwood <= 0:
        return s, s
    sigma = math.sqrt(greenwood) / abs(math.log(s))
    return s ** math.exp(z * sigma), s ** math.exp(-z * sigma)


@dataclass(frozen=True)
class MonthRate:
    month: int  # month of tenure, 1 = the first month
    at_risk: int  # accounts that reached the month's start
    churned: int  # of those, churned during the month
    rate: float | None
    low: float | None
    high: float | None


def churn_by_tenure_month(
    durations_months: npt.ArrayLike, events: npt.ArrayLike, *, months: int | None = None
) -> list[dict]:
    """Per month of tenure: of the accounts that reached it (and were still watched), the share
    that churned within it, with Wilson intervals. "They leave after a year" shows as a bump
    at month 12–13. Accounts censored during a month count as at risk for that month only if
    they were watched to its end (a part-month would understate the rate)."""
    t = np.asarray(durations_months, dtype=np.float64)
    e = np.asarray(events, dtype=bool)
    if not t.size:
        return []
    last = int(np.ceil(t.max())) if months is None else months
    out = []
    for m in range(last):
        start, stop = float(m), float(m + 1)
        churned_here = e & (t >= start) & (t < stop)
        watched_through = t >= stop
        at_risk = int((churned_here | watched_through).sum())
        k = int(churned_here.sum())
        p = proportion(k, at_risk)
        out.append(asdict(MonthRate(m + 1, at_risk, k, p.rate, p.low, p.high)))
    return out
