"""Reads for the managers' weekly review (selectors) and its renewal forecast.

The review compares two done snapshots: the one at the end of the chosen week (its Sunday,
or the latest done date before it) and the one seven days earlier. Every read below is a
fixed number of queries whatever the number of accounts:

- review_runs: the two runs (one query);
- band_history: accounts and ARR per band per day over 26 weeks — the runs with the band
  totals their snapshots keep (scoring.rollups.snapshots; one query), a day without one
  counted from its scores;
- week_review: both runs' scores as columns (scoring.rollups.snapshots) and the active
  accounts' owner, ARR and renewal date as columns, read live (one query each), combined
  in numpy into the transition matrix, each CSM's book, ARR at risk now and a week before,
  the renewals of the next 90 days by band and the biggest drops and gains of score; one
  more query reads the movers' snapshots;
- churn_basis: each band's churn rate from the latest back-tests, else over the past year
  (four small queries).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.db.models import Count, Max, Min, OuterRef, Q, Subquery

from accounts.models import Account
from healthboard.lib.columns import DATE, FLOAT, INT, columns_of, days_of
from scoring.bands import AT_RISK, CODES, ORDER, Band
from scoring.models import AnalysisRun, HealthScore, ScoreRun
from scoring.rollups.snapshots import RunColumns, run_bands, runs_columns
from scoring.rollups.weeks import (
    MOVERS_KEPT,
    RENEWAL_DAYS,
    WEEK,
    KeptWeek,
    kept_week,
    week_before_span,
)

HISTORY_WEEKS = 26
MOVERS = 10

# The churn rate of a band is observed from the snapshot a year before the review, or, with
# less history, the oldest snapshot at least this old.
CHURN_YEAR_DAYS = 365
CHURN_MIN_AGE_DAYS = 90
# Fewer accounts than this in a band at the baseline: its observed rate is noise.
CHURN_MIN_SAMPLE = 20
# Back-tests read for their churn rates: the newest of each scorecard is among these.
BACKTESTS_READ = 50
# Used where there is no observed rate; a round guess in line with SaaS benchmarks, said so
# on the page.
DEFAULT_CHURN: dict[str, float] = {
    Band.GREEN: 0.05,
    Band.YELLOW: 0.15,
    Band.RED: 0.35,
    Band.NO_DATA: 0.15,
}


# ---------------------------------------------------------------- weeks and runs


def week_end_default(today: dt.date) -> dt.date:
    """The week just ended: the last Sunday before today (a Sunday's own week is not over)."""
    return today - dt.timedelta(days=today.isoweekday() % 7 or 7)


@dataclass(frozen=True)
class ReviewRuns:
    week_end: dt.date  # the Sunday of the chosen week
    end: ScoreRun  # the done run on that Sunday, or the latest before it
    previous: ScoreRun | None  # the done run seven days before `end` (or up to 14)

    @property
    def exact(self) -> bool:
        """Whether the previous run is exactly seven days before: the portfolio's
        `prev_band` filter (what the matrix cells link to) compares with that day."""
        return self.previous is not None and self.previous.date == self.end.date - WEEK


def review_runs(*, week_end: dt.date) -> ReviewRuns | None:
    """The runs the review compares; None when no run is done by that Sunday. One query:
    with daily runs, the fifteen newest hold both; a "week before" more than fourteen days
    back is no week before."""
    runs = list(
        ScoreRun.objects.filter(status=ScoreRun.Status.DONE, date__lte=week_end)
        .order_by("-date")
        .only("id", "date", "status", "finished_at")[:15]
    )
    if not runs:
        return None
    end = runs[0]
    first, last = week_before_span(end.date)
    previous = next((r for r in runs if first <= r.date <= last), None)
    return ReviewRuns(week_end=week_end, end=end, previous=previous)


def review_span() -> tuple[dt.date, dt.date] | None:
    """The first and last dates with a done run (the week picker's range). One query."""
    span = ScoreRun.objects.filter(status=ScoreRun.Status.DONE).aggregate(
        first=Min("date"), last=Max("date")
    )
    if span["first"] is None:
        return None
    return span["first"], span["last"]


# ---------------------------------------------------------------- band history


@dataclass(frozen=True)
class DayBands:
    date: dt.date
    n: dict[str, int]  # band → accounts
    arr: dict[str, float]  # band → ARR


def band_history(
    *, end: dt.date, weeks: int = HISTORY_WEEKS, summarise: bool = True
) -> list[DayBands] | None:
    """Accounts and ARR per band on each day with a done run in the `weeks` weeks up to
    `end`, oldest first. Every account scored that day counts (those that churned since
    too: they were customers then), as the day's run published it, each at its ARR then
    (scoring.rollups.snapshots).

    One query for the runs and their snapshots' totals. A day without a snapshot (a run
    published before they were kept) is counted from its scores — seconds for months of
    days at 100,000 accounts; with summarise=False, None instead (the page then loads the
    chart on its own)."""
    start = end - dt.timedelta(days=7 * weeks - 1)
    runs = ScoreRun.objects.filter(status=ScoreRun.Status.DONE, date__gte=start, date__lte=end)
    days = run_bands(runs=runs, count_missing=summarise)
    if days is None:
        return None
    return [
        DayBands(
            date=day,
            n={band: totals[band][0] for band in ORDER},
            arr={band: totals[band][1] for band in ORDER},
        )
        for _run_id, day, totals in days
    ]


# ---------------------------------------------------------------- the week, in numpy


@dataclass
class Tally:
    n: int = 0
    arr: Decimal = Decimal(0)

    def add(self, n: int, arr: Decimal) -> None:
        self.n += n
        self.arr += arr


@dataclass
class Book:
    """One owner's accounts in the review (owner_id None: unassigned)."""

    owner_id: int | None
    n: int = 0
    arr: Decimal = Decimal(0)
    score_sum: float = 0.0
    scored: int = 0
    red: int = 0
    delta_sum: float = 0.0
    compared: int = 0  # accounts with a score in both snapshots

    @property
    def average_score(self) -> float | None:
        return self.score_sum / self.scored if self.scored else None

    @property
    def red_share(self) -> float | None:
        return 100 * self.red / self.n if self.n else None

    @property
    def average_change(self) -> float | None:
        return self.delta_sum / self.compared if self.compared else None


@dataclass
class WeekSummary:
    # (band a week before, band now) → accounts scored in both snapshots
    matrix: dict[tuple[str, str], Tally] = field(default_factory=dict)
    now: dict[str, Tally] = field(default_factory=dict)  # band now, every scored account
    before: dict[str, Tally] = field(default_factory=dict)  # band a week before, same accounts
    renewals: dict[str, Tally] = field(default_factory=dict)  # band now, renewing soon
    books: dict[int | None, Book] = field(default_factory=dict)

    @property
    def compared(self) -> int:
        return sum(t.n for t in self.matrix.values())

    @property
    def total(self) -> Tally:
        total = Tally()
        for tally in self.now.values():
            total.add(tally.n, tally.arr)
        return total

    def at_risk(self, when: str = "now") -> Decimal:
        tallies = self.now if when == "now" else self.before
        return sum((tallies[band].arr for band in AT_RISK), Decimal(0))


@dataclass
class WeekMover:
    account: Account  # with owner
    change: float
    current: HealthScore
    previous: HealthScore
    measures: list = field(default_factory=list)  # scoring.explain.MeasureMover, filled by the view


@dataclass
class WeekReview:
    summary: WeekSummary
    drops: list[WeekMover]  # biggest fall first
    gains: list[WeekMover]  # biggest rise first


# A band code for "not scored a week before" (the snapshots' codes are 0–255).
NOT_SCORED = -1


@dataclass(frozen=True)
class _Week:
    """One entry per account in the review: the active accounts scored at the end of the
    week — the portfolio's population, so the matrix's links list exactly the accounts
    counted."""

    ids: np.ndarray
    owners: np.ndarray  # columns.NO_INT: unassigned
    arr: np.ndarray
    renews: np.ndarray  # bool: renews in the RENEWAL_DAYS after the week's end
    band: np.ndarray  # codes (scoring.bands.CODES)
    score: np.ndarray  # NaN: no score
    band_before: np.ndarray  # NOT_SCORED where not scored a week before
    score_before: np.ndarray

    @property
    def change(self) -> np.ndarray:
        """Score now − score a week before; NaN unless both have a score."""
        return self.score - self.score_before


def _week(runs: ReviewRuns) -> _Week:
    """Two to four queries: both runs' scores (scoring.rollups.snapshots: their snapshots,
    the rows re-scored since, the rows of a run without one), and the active accounts'
    columns."""
    found = runs_columns(runs=[r for r in (runs.end, runs.previous) if r is not None])
    end = found[runs.end.pk]
    accounts = columns_of(
        Account.objects.active(),
        id=INT,
        owner_id=INT,
        arr=FLOAT,
        renewal_date=DATE,
    )
    scored, at = end.find(accounts["id"])
    ids, at = accounts["id"][scored], at[scored]
    renewal = accounts["renewal_date"][scored]
    band_before = np.full(len(ids), NOT_SCORED, dtype=np.int64)
    score_before = np.full(len(ids), np.nan)
    if runs.previous is not None:
        before: RunColumns = found[runs.previous.pk]
        had, then = before.find(ids)
        band_before[had] = before.bands[then[had]]
        score_before[had] = before.scores[then[had]]
    return _Week(
        ids=ids,
        owners=accounts["owner_id"][scored],
        arr=accounts["arr"][scored],
        renews=(renewal > days_of(runs.end.date))
        & (renewal <= days_of(runs.end.date + dt.timedelta(days=RENEWAL_DAYS))),
        band=end.bands[at].astype(np.int64),
        score=end.scores[at],
        band_before=band_before,
        score_before=score_before,
    )


def _band_name(code: int) -> str | None:
    """A band by its code; None for NOT_SCORED; "?" for a code this version does not know
    (counted nowhere, like an unknown band in the database)."""
    if code == NOT_SCORED:
        return None
    return CODES[code] if 0 <= code < len(CODES) else "?"


def _money(value: float) -> Decimal:
    # Summed as a float (exact to the cent far beyond any portfolio's total): back to money.
    return Decimal(str(round(value, 2)))


def _summary(week: _Week) -> WeekSummary:
    """The week's totals by owner, band now, band a week before and renewing or not."""
    summary = WeekSummary(
        now={band: Tally() for band in ORDER},
        before={band: Tally() for band in ORDER},
        renewals={band: Tally() for band in ORDER},
    )
    if not len(week.ids):
        return summary
    # One group per distinct (owner, band, band before, renews): a handful per owner. Band
    # codes are below 256 (NOT_SCORED is -1), owner ids positive (NO_INT is -1).
    key = (((week.owners + 1) * 512 + week.band) * 512 + week.band_before + 1) * 2 + week.renews
    groups, first, group = np.unique(key, return_index=True, return_inverse=True)
    scored = ~np.isnan(week.score)
    change = week.change
    compared = ~np.isnan(change)

    def per_group(weights=None) -> np.ndarray:
        return np.bincount(group, weights=weights, minlength=len(groups))

    n = per_group()
    arr = per_group(week.arr)
    score_sum = per_group(np.where(scored, week.score, 0.0))
    scored_n = per_group(scored)
    delta_sum = per_group(np.where(compared, change, 0.0))
    compared_n = per_group(compared)
    for g, row in enumerate(first):
        band, before = _band_name(int(week.band[row])), _band_name(int(week.band_before[row]))
        if band not in summary.now:
            continue
        owner = int(week.owners[row])
        owner = None if owner < 0 else owner
        count, money = int(n[g]), _money(arr[g])
        summary.now[band].add(count, money)
        if week.renews[row]:
            summary.renewals[band].add(count, money)
        if before in summary.before:
            summary.before[before].add(count, money)
            summary.matrix.setdefault((before, band), Tally()).add(count, money)
        book = summary.books.setdefault(owner, Book(owner_id=owner))
        book.n += count
        book.arr += money
        book.score_sum += float(score_sum[g])
        book.scored += int(scored_n[g])
        book.red += count if band == Band.RED else 0
        book.delta_sum += float(delta_sum[g])
        book.compared += int(compared_n[g])
    return summary


def _movers(week: _Week, movers: int) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """(account id, change) of the biggest drops and gains, ties by account id."""
    change = week.change
    falls = np.flatnonzero(change < 0)
    rises = np.flatnonzero(change > 0)
    falls = falls[np.lexsort((week.ids[falls], change[falls]))][:movers]
    rises = rises[np.lexsort((week.ids[rises], -change[rises]))][:movers]
    return (
        [(int(week.ids[i]), float(change[i])) for i in falls],
        [(int(week.ids[i]), float(change[i])) for i in rises],
    )


def week_review(*, runs: ReviewRuns, movers: int = MOVERS) -> WeekReview:
    """The matrix, the books, ARR at risk and renewals by band, and the biggest drops and
    gains of score between the two snapshots. From the week kept for these two runs
    (scoring.rollups.weeks: its cells, then the movers' accounts), else counted live (both
    runs' scores and the accounts, see _week); one more query reads the movers' snapshots
    (for "what moved")."""
    kept = kept_week(runs.end, runs.previous)
    week = _week(runs) if kept is None else None
    summary = _summary(week) if kept is None else _summary_kept(kept)
    if runs.previous is None:
        return WeekReview(summary=summary, drops=[], gains=[])
    chosen = _movers_kept(kept, runs, movers) if kept is not None else None
    drops, gains = chosen if chosen is not None else _movers(week or _week(runs), movers)
    snapshots = _snapshots(runs, [account for account, _ in drops + gains])

    def week_movers(chosen: list[tuple[int, float]]) -> list[WeekMover]:
        found = []
        for account_id, change in chosen:
            current = snapshots.get((runs.end.pk, account_id))
            previous = snapshots.get((runs.previous.pk, account_id))
            if current is not None and previous is not None:
                found.append(WeekMover(current.account, change, current, previous))
        return found

    return WeekReview(summary=summary, drops=week_movers(drops), gains=week_movers(gains))


def _summary_kept(kept: KeptWeek) -> WeekSummary:
    """_summary from a kept week's cells (the same groups, counted by the database)."""
    summary = WeekSummary(
        now={band: Tally() for band in ORDER},
        before={band: Tally() for band in ORDER},
        renewals={band: Tally() for band in ORDER},
    )
    for cell in kept.cells:
        if cell.band not in summary.now:
            continue  # a band this version does not know, counted nowhere (as _summary)
        money = Decimal(cell.arr)
        summary.now[cell.band].add(cell.n, money)
        if cell.renews:
            summary.renewals[cell.band].add(cell.n, money)
        if cell.band_before in summary.before:
            summary.before[cell.band_before].add(cell.n, money)
            summary.matrix.setdefault((cell.band_before, cell.band), Tally()).add(cell.n, money)
        book = summary.books.setdefault(cell.owner_id, Book(owner_id=cell.owner_id))
        book.n += cell.n
        book.arr += money
        book.score_sum += cell.score_sum
        book.scored += cell.scored
        book.red += cell.n if cell.band == Band.RED else 0
        book.delta_sum += cell.change_sum
        book.compared += cell.compared
    return summary


def _movers_kept(
    kept: KeptWeek, runs: ReviewRuns, movers: int
) -> tuple[list[tuple[int, float]], list[tuple[int, float]]] | None:
    """_movers from a kept week: its biggest falls and rises as counted, and the accounts
    re-scored since, each looked at again as it is now (one query). None when that cannot
    tell (too many accounts re-scored, or too many of the kept ones churned or re-scored):
    count them live."""
    if kept.touched is None:
        return None
    touched = set(kept.touched)
    ids = {a for a, _ in kept.drops} | {a for a, _ in kept.gains} | touched
    now = _changes(runs, ids)
    result = []
    for listed, falls in ((kept.drops, True), (kept.gains, False)):
        untouched = sum(1 for a, _ in listed if a not in touched and a in now)
        # An account neither listed nor re-scored changed less than every listed one: the
        # list answers if enough of it still counts, or if it held every such change.
        if untouched < movers and len(listed) >= MOVERS_KEPT:
            return None
        found = [(a, c) for a, c in now.items() if (c < 0 if falls else c > 0)]
        found.sort(key=lambda item: (item[1], item[0]) if falls else (-item[1], item[0]))
        result.append(found[:movers])
    return result[0], result[1]


def _changes(runs: ReviewRuns, account_ids: set[int]) -> dict[int, float]:
    """The change of score between the two runs of those accounts that are active and have a
    score in both. One query (none without accounts)."""
    if not account_ids:
        return {}
    rows = HealthScore.objects.filter(
        run=runs.end,
        account_id__in=sorted(account_ids),
        account__status=Account.Status.ACTIVE,
        score__isnull=False,
    ).values_list("account_id", "score")
    before = HealthScore.objects.filter(
        run=runs.previous, account_id=OuterRef("account_id"), score__isnull=False
    ).values("score")[:1]
    return {
        account_id: score - previous
        for account_id, score, previous in rows.annotate(previous=Subquery(before))
        .values_list("account_id", "score", "previous")
        .order_by()
        if previous is not None
    }


def _snapshots(runs: ReviewRuns, account_ids: list[int]) -> dict[tuple[int, int], HealthScore]:
    """The accounts' snapshots in both runs, by (run id, account id), with the account and
    its owner. One query (none without accounts)."""
    if not account_ids:
        return {}
    wanted = Q(run=runs.end, account_id__in=account_ids) | Q(
        run=runs.previous, account_id__in=account_ids
    )
    return {
        (s.run_id, s.account_id): s
        for s in HealthScore.objects.filter(wanted)
        .select_related("account__owner")
        .only(
            "id",
            "run_id",
            "account_id",
            "date",
            "score",
            "band",
            "coverage",
            "details",
            "version_id",
            "account__id",
            "account__name",
            "account__arr",
            "account__owner__username",
            "account__owner__first_name",
            "account__owner__last_name",
        )
    }


# ---------------------------------------------------------------- churn and the forecast


@dataclass(frozen=True)
class ChurnRate:
    band: str
    accounts: int  # in the band on the baseline snapshot (the sample); back-test: scores
    churned: int  # of those, churned within the window
    default: bool  # True: too few accounts (or no history), DEFAULT_CHURN is used
    source: str = "snapshot"  # "snapshot" | "backtest" (the latest back-tests' rate)

    @property
    def observed(self) -> float | None:
        return self.churned / self.accounts if self.accounts else None

    @property
    def rate(self) -> float:
        observed = self.observed
        return DEFAULT_CHURN[self.band] if self.default or observed is None else observed

    @property
    def percent(self) -> float:
        return 100 * self.rate


@dataclass(frozen=True)
class ChurnBasis:
    baseline: dt.date | None  # the snapshot the rates are observed from
    window_end: dt.date | None  # churn counted up to this day
    rates: dict[str, ChurnRate]
    # The back-tests whose observed rates some bands use: {computed_at, horizon_days}.
    backtest: dict | None = None

    @property
    def window_days(self) -> int:
        if self.baseline is None or self.window_end is None:
            return 0
        return (self.window_end - self.baseline).days

    @property
    def any_default(self) -> bool:
        return any(rate.default for rate in self.rates.values())


def _snapshot_basis(*, as_of: dt.date) -> ChurnBasis:
    """Each band's churn rate: of the accounts in that band on the done snapshot a year
    before `as_of` (or, with less history, the oldest one at least 90 days old), the share
    whose account churned (status churned, churn date) within the following year. Bands
    with fewer than CHURN_MIN_SAMPLE accounts, or no baseline at all, use DEFAULT_CHURN.
    Three queries, none of which joins every account."""
    dates = ScoreRun.objects.filter(status=ScoreRun.Status.DONE).aggregate(
        year=Max("date", filter=Q(date__lte=as_of - dt.timedelta(days=CHURN_YEAR_DAYS))),
        oldest=Min("date", filter=Q(date__lte=as_of - dt.timedelta(days=CHURN_MIN_AGE_DAYS))),
    )
    baseline = dates["year"] or dates["oldest"]
    if baseline is None:
        return ChurnBasis(
            baseline=None,
            window_end=None,
            rates={b: ChurnRate(band=b, accounts=0, churned=0, default=True) for b in ORDER},
        )
    window_end = min(baseline + dt.timedelta(days=CHURN_YEAR_DAYS), as_of)
    # The sample: every account scored that day, from the day's band totals (kept when the
    # day ended). The churned: the few accounts that churned in the window, looked up by
    # account and date.
    (run_id, _day, samples), *_ = run_bands(
        runs=ScoreRun.objects.filter(status=ScoreRun.Status.DONE, date=baseline)
    )
    churned = dict(
        HealthScore.objects.filter(
            run_id=run_id,
            account__status=Account.Status.CHURNED,
            account__churn_date__gt=baseline,
            account__churn_date__lte=window_end,
        )
        .values_list("band")
        .annotate(n=Count("*"))
        .order_by()
    )
    rates = {}
    for band in ORDER:
        n = samples[band][0]
        rates[band] = ChurnRate(
            band=band,
            accounts=n,
            churned=churned.get(band, 0),
            default=n < CHURN_MIN_SAMPLE,
        )
    return ChurnBasis(baseline=baseline, window_end=window_end, rates=rates)


def backtested_rates() -> tuple[dict[str, list[int]], dict | None]:
    """{band: [churned, scored]} pooled over the newest finished back-test of each scorecard's
    published version that had enough data, and what they were (one query, JSON keys only)."""
    rows = (
        AnalysisRun.objects.filter(
            kind=AnalysisRun.Kind.BACKTEST,
            status=AnalysisRun.Status.DONE,
            result__status="ok",
            result__is_draft=False,
        )
        .order_by("-computed_at", "-id")
        .values_list(
            "scorecard_id", "computed_at", "result__horizon_days", "result__churn_rate_by_band"
        )[:BACKTESTS_READ]
    )
    pooled: dict[str, list[int]] = {b: [0, 0] for b in ORDER}
    seen, newest, horizons = set(), None, set()
    for card, computed_at, horizon, bands in rows:
        if card in seen or not isinstance(bands, dict):
            continue
        seen.add(card)
        newest = newest or computed_at
        horizons.add(horizon)
        for band in ORDER:
            cell = bands.get(str(band)) or {}
            pooled[band][0] += int(cell.get("k") or 0)
            pooled[band][1] += int(cell.get("n") or 0)
    if not seen:
        return pooled, None
    about = {"computed_at": newest, "horizon_days": sorted(horizons), "scorecards": len(seen)}
    return pooled, about


def churn_basis(*, as_of: dt.date) -> ChurnBasis:
    """Each band's churn rate: from the latest back-tests (scoring.analytics) where a band has
    at least CHURN_MIN_SAMPLE back-tested scores, else as observed from a snapshot a year
    before (_snapshot_basis), else DEFAULT_CHURN. Four queries."""
    basis = _snapshot_basis(as_of=as_of)
    pooled, about = backtested_rates()
    if about is None:
        return basis
    rates = dict(basis.rates)
    used = False
    for band, (churned, scored) in pooled.items():
        if scored >= CHURN_MIN_SAMPLE:
            rates[band] = ChurnRate(band, scored, churned, default=False, source="backtest")
            used = True
    if not used:
        return basis
    return ChurnBasis(basis.baseline, basis.window_end, rates, backtest=about)


@dataclass(frozen=True)
class ForecastRow:
    band: str
    accounts: int
    arr: Decimal
    rate: ChurnRate
    expected: Decimal  # ARR × (1 − churn rate)


@dataclass(frozen=True)
class RenewalForecast:
    rows: list[ForecastRow]
    basis: ChurnBasis

    @property
    def accounts(self) -> int:
        return sum(row.accounts for row in self.rows)

    @property
    def arr(self) -> Decimal:
        return sum((row.arr for row in self.rows), Decimal(0))

    @property
    def expected(self) -> Decimal:
        return sum((row.expected for row in self.rows), Decimal(0))

    @property
    def at_stake(self) -> Decimal:
        return self.arr - self.expected


def renewal_forecast(*, renewals: dict[str, Tally], basis: ChurnBasis) -> RenewalForecast:
    """Expected renewing ARR = Σ ARR × (1 − churn rate of the account's band)."""
    rows = []
    for band in ORDER:
        tally = renewals.get(band, Tally())
        rate = basis.rates[band]
        keep = Decimal(str(round(1 - rate.rate, 6)))
        rows.append(
            ForecastRow(
                band=band,
                accounts=tally.n,
                arr=tally.arr,
                rate=rate,
                expected=(tally.arr * keep).quantize(Decimal("0.01")),
            )
        )
    return RenewalForecast(rows=rows, basis=basis)
