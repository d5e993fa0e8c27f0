"""Reads for the managers' weekly review (selectors) and its renewal forecast.

The review compares two done snapshots: the one at the end of the chosen week (its Sunday,
or the latest done date before it) and the one seven days earlier. Every read below is a
fixed number of queries whatever the number of accounts:

- review_runs: the two runs (one query);
- band_history: accounts and ARR per band per day over 26 weeks — one aggregate query over
  the snapshots, of which only the days not summarised before are read (a done run of a past
  day never changes: a re-run is a new run; only today's run is re-scored in place);
- week_review: one pass over the week's snapshots gives the transition matrix, each CSM's
  book, ARR at risk now and a week before, the renewals of the next 90 days by band and the
  biggest drops and gains of score; one more query reads the movers' snapshots;
- churn_basis: each band's churn rate over the past year (three small queries).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    F,
    FilteredRelation,
    FloatField,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast

from accounts.models import Account
from accounts.selectors import BAND_ORDER
from scoring.models import Band, HealthScore, ScoreRun

WEEK = dt.timedelta(days=7)
HISTORY_WEEKS = 26
RENEWAL_DAYS = 90
MOVERS = 10
AT_RISK = (Band.YELLOW, Band.RED)

# The churn rate of a band is observed from the snapshot a year before the review, or, with
# less history, the oldest snapshot at least this old.
CHURN_YEAR_DAYS = 365
CHURN_MIN_AGE_DAYS = 90
# Fewer accounts than this in a band at the baseline: its observed rate is noise.
CHURN_MIN_SAMPLE = 20
# Used where there is no observed rate; a round guess in line with SaaS benchmarks, said so
# on the page.
DEFAULT_CHURN: dict[str, float] = {
    Band.GREEN: 0.05,
    Band.YELLOW: 0.15,
    Band.RED: 0.35,
    Band.NO_DATA: 0.15,
}


# ---------------------------------------------------------------- weeks and runs


def week_end_of(day: dt.date) -> dt.date:
    """The Sunday that ends the (ISO, Monday-first) week of `day`."""
    return day + dt.timedelta(days=7 - day.isoweekday())


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
    previous = next(
        (r for r in runs if end.date - 2 * WEEK <= r.date <= end.date - WEEK),
        None,
    )
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


HISTORY_CACHE_KEY = "weekly:bands:v1:{}"
HISTORY_CACHE_SECONDS = 60 * 60 * 24 * 30


def band_history(
    *, end: dt.date, today: dt.date, weeks: int = HISTORY_WEEKS, summarise: bool = True
) -> list[DayBands] | None:
    """Accounts and ARR per band on each day with a done run in the `weeks` weeks up to
    `end`, oldest first. Every account scored that day counts (those that churned since
    too: they were customers then), at its current ARR.

    One query lists the runs; one aggregate query reads the days not summarised before.
    Past days are kept in the cache under their run's id: a done run of a past day never
    changes (re-running a day makes a new run), while today's is re-scored in place.
    Summarising months of days takes seconds at 100,000 accounts: with summarise=False,
    None when a past day is not summarised yet (the page then loads the chart on its own).
    """
    start = end - dt.timedelta(days=7 * weeks - 1)
    runs = list(
        ScoreRun.objects.filter(status=ScoreRun.Status.DONE, date__gte=start, date__lte=end)
        .order_by("date")
        .values_list("id", "date")
    )
    if not runs:
        return []
    keys = {run_id: HISTORY_CACHE_KEY.format(run_id) for run_id, day in runs if day < today}
    found = cache.get_many(list(keys.values())) if keys else {}
    days: dict[int, dict] = {}
    for run_id, key in keys.items():
        if key in found:
            days[run_id] = found[key]
    missing = [run_id for run_id, _day in runs if run_id not in days]
    if not summarise and any(run_id in keys for run_id in missing):
        return None
    if missing:
        fresh: dict[int, dict] = {run_id: {"n": {}, "arr": {}} for run_id in missing}
        rows = (
            HealthScore.objects.filter(run_id__in=missing, run__status=ScoreRun.Status.DONE)
            .values("run_id", "band")
            .annotate(n=Count("id"), arr=Sum(Cast("account__arr", FloatField())))
            .order_by()
        )
        for row in rows:
            fresh[row["run_id"]]["n"][row["band"]] = row["n"]
            fresh[row["run_id"]]["arr"][row["band"]] = float(row["arr"] or 0)
        days.update(fresh)
        cache.set_many(
            {keys[run_id]: fresh[run_id] for run_id in missing if run_id in keys},
            HISTORY_CACHE_SECONDS,
        )
    return [
        DayBands(
            date=day,
            n={band: days[run_id]["n"].get(band, 0) for band in BAND_ORDER},
            arr={band: days[run_id]["arr"].get(band, 0.0) for band in BAND_ORDER},
        )
        for run_id, day in runs
    ]


# ---------------------------------------------------------------- the week in one query


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


def _review_accounts(runs: ReviewRuns) -> QuerySet[Account]:
    """Active accounts scored at the end of the week (`cur`), with their score a week
    before (`prev`, a left join) — the portfolio's population, so the matrix's links list
    exactly the accounts counted."""
    qs = Account.objects.annotate(cur=FilteredRelation("scores", condition=Q(scores__run=runs.end)))
    if runs.previous is not None:
        qs = qs.annotate(prev=FilteredRelation("scores", condition=Q(scores__run=runs.previous)))
    return qs.filter(status=Account.Status.ACTIVE, cur__run=runs.end)


# The columns of one account's week, in the order of the SQL below.
WEEK_COLUMNS = (
    "w_owner",
    "w_arr",
    "w_renews",
    "w_band",
    "w_score",
    "w_cur",
    "w_prev_band",
    "w_prev_score",
    "w_prev",
    "w_id",
)

# One pass over the week's snapshots: the accounts' rows (the CTE, built by the ORM) are
# read once and give the grouped totals and both ends of the score changes. A CTE named
# twice is computed once (PostgreSQL materialises it; SQLite reads it as it likes). The
# movers' rows repeat real columns where the totals have sums: PostgreSQL types a NULL in
# a subquery as text, which would not match the totals' numbers.
WEEK_SQL = """
WITH week ({columns}) AS ({accounts})
SELECT 'total', w_owner, w_band, w_prev_band, w_renews, COUNT(*), SUM(w_arr), SUM(w_score),
       COUNT(w_score), SUM(w_score - w_prev_score), COUNT(w_score - w_prev_score),
       NULL, NULL, NULL
FROM week GROUP BY w_owner, w_band, w_prev_band, w_renews
UNION ALL
SELECT * FROM (
    SELECT 'drop', w_owner, w_band, w_prev_band, w_renews, 1, w_arr, w_score, 1,
           w_score - w_prev_score, 1, w_score - w_prev_score, w_cur, w_prev
    FROM week WHERE w_score < w_prev_score ORDER BY w_score - w_prev_score, w_id LIMIT %s
) AS drops
UNION ALL
SELECT * FROM (
    SELECT 'gain', w_owner, w_band, w_prev_band, w_renews, 1, w_arr, w_score, 1,
           w_score - w_prev_score, 1, w_score - w_prev_score, w_cur, w_prev
    FROM week WHERE w_score > w_prev_score ORDER BY w_prev_score - w_score, w_id LIMIT %s
) AS gains
"""


def _week_accounts_sql(runs: ReviewRuns) -> tuple[str, tuple]:
    """The SQL of one row per account in the review: owner, ARR, whether it renews in the
    next RENEWAL_DAYS, band, score and snapshot now and a week before."""
    horizon = runs.end.date + dt.timedelta(days=RENEWAL_DAYS)
    renews = Case(
        When(renewal_date__gt=runs.end.date, renewal_date__lte=horizon, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    if runs.previous is not None:
        before = {
            "w_prev_band": F("prev__band"),
            "w_prev_score": F("prev__score"),
            "w_prev": F("prev__id"),
        }
    else:
        # Typed NULLs: PostgreSQL would read a bare NULL in the CTE as text.
        before = {
            "w_prev_band": Cast(Value(None), CharField()),
            "w_prev_score": Cast(Value(None), FloatField()),
            "w_prev": Cast(Value(None), BigIntegerField()),
        }
    # Annotations only, in WEEK_COLUMNS order: values() then selects exactly these, in order.
    qs = (
        _review_accounts(runs)
        .annotate(
            w_owner=F("owner_id"),
            w_arr=Cast("arr", FloatField()),
            w_renews=renews,
            w_band=F("cur__band"),
            w_score=F("cur__score"),
            w_cur=F("cur__id"),
            **before,
            w_id=F("id"),
        )
        .order_by()
        .values(*WEEK_COLUMNS)
    )
    return qs.query.sql_with_params()


@dataclass
class WeekMover:
    account: Account  # with owner
    change: float
    current: HealthScore
    previous: HealthScore
    measures: list = field(default_factory=list)  # scoring.explain.Mover, filled by the view


@dataclass
class WeekReview:
    summary: WeekSummary
    drops: list[WeekMover]  # biggest fall first
    gains: list[WeekMover]  # biggest rise first


REVIEW_CACHE_KEY = "weekly:review:v1:{}:{}:{}"
# A finished week's snapshots never change; the accounts' owner, ARR, renewal date and
# status may, and show within this long.
REVIEW_CACHE_SECONDS = 60 * 10


def _week_rows(runs: ReviewRuns, movers: int) -> list[tuple]:
    accounts, params = _week_accounts_sql(runs)
    sql = WEEK_SQL.format(columns=", ".join(WEEK_COLUMNS), accounts=accounts)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, movers, movers])
        return cursor.fetchall()


def week_review(
    *, runs: ReviewRuns, today: dt.date | None = None, movers: int = MOVERS
) -> WeekReview:
    """The matrix, the books, ARR at risk and renewals by band, and the biggest drops and
    gains of score between the two snapshots. Two queries: one pass over the week's
    snapshots (WEEK_SQL), then the movers' snapshots (for "what moved").

    With `today`, a week whose last snapshot is before today is kept in the cache for
    REVIEW_CACHE_SECONDS (the meeting reopens, prints and exports it); the pass then costs
    no query. This week's runs are re-scored in place, so it is always read afresh."""
    cacheable = today is not None and runs.end.date < today
    key = REVIEW_CACHE_KEY.format(runs.end.pk, runs.previous.pk if runs.previous else 0, movers)
    rows = cache.get(key) if cacheable else None
    if rows is None:
        rows = _week_rows(runs, movers)
        if cacheable:
            cache.set(key, rows, REVIEW_CACHE_SECONDS)
    summary = _summary([row for row in rows if row[0] == "total"])
    ends = [row for row in rows if row[0] != "total"]
    snapshots = _snapshots([pk for row in ends for pk in row[12:14]])

    def week_movers(kind: str) -> list[WeekMover]:
        return [
            WeekMover(
                account=snapshots[row[12]].account,
                change=row[11],
                current=snapshots[row[12]],
                previous=snapshots[row[13]],
            )
            for row in ends
            if row[0] == kind
        ]

    drops = sorted(week_movers("drop"), key=lambda m: (m.change, m.account.pk))
    gains = sorted(week_movers("gain"), key=lambda m: (-m.change, m.account.pk))
    return WeekReview(summary=summary, drops=drops, gains=gains)


def _summary(rows: list[tuple]) -> WeekSummary:
    summary = WeekSummary(
        now={band: Tally() for band in BAND_ORDER},
        before={band: Tally() for band in BAND_ORDER},
        renewals={band: Tally() for band in BAND_ORDER},
    )
    for _kind, owner, band, before, renews, n, arr, total, scored, delta, compared, *_ in rows:
        if band not in summary.now:
            continue
        # Summed as a float (several times faster than numeric, exact to the cent far
        # beyond any portfolio's total): back to money.
        arr = Decimal(str(round(arr or 0, 2)))
        summary.now[band].add(n, arr)
        if renews:
            summary.renewals[band].add(n, arr)
        if before in summary.before:
            summary.before[before].add(n, arr)
            summary.matrix.setdefault((before, band), Tally()).add(n, arr)
        book = summary.books.setdefault(owner, Book(owner_id=owner))
        book.n += n
        book.arr += arr
        book.score_sum += total or 0.0
        book.scored += scored
        book.red += n if band == Band.RED else 0
        book.delta_sum += delta or 0.0
        book.compared += compared or 0
    return summary


def _snapshots(ids: list[int]) -> dict[int, HealthScore]:
    """Snapshots by id with their account and its owner. One query."""
    if not ids:
        return {}
    return {
        s.pk: s
        for s in HealthScore.objects.filter(pk__in=ids)
        .select_related("account__owner")
        .only(
            "id",
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
    accounts: int  # in the band on the baseline snapshot (the sample)
    churned: int  # of those, churned within the window
    default: bool  # True: too few accounts (or no history), DEFAULT_CHURN is used

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

    @property
    def window_days(self) -> int:
        if self.baseline is None or self.window_end is None:
            return 0
        return (self.window_end - self.baseline).days

    @property
    def any_default(self) -> bool:
        return any(rate.default for rate in self.rates.values())


SAMPLES_CACHE_KEY = "weekly:churn-sample:v1:{}"
SAMPLES_CACHE_SECONDS = 60 * 60 * 24


def churn_basis(*, as_of: dt.date) -> ChurnBasis:
    """Each band's churn rate: of the accounts in that band on the done snapshot a year
    before `as_of` (or, with less history, the oldest one at least 90 days old), the share
    whose account churned (status churned, churn date) within the following year. Bands
    with fewer than CHURN_MIN_SAMPLE accounts, or no baseline at all, use DEFAULT_CHURN.
    At most three queries, none of which joins every account."""
    dates = ScoreRun.objects.filter(status=ScoreRun.Status.DONE).aggregate(
        year=Max("date", filter=Q(date__lte=as_of - dt.timedelta(days=CHURN_YEAR_DAYS))),
        oldest=Min("date", filter=Q(date__lte=as_of - dt.timedelta(days=CHURN_MIN_AGE_DAYS))),
    )
    baseline = dates["year"] or dates["oldest"]
    if baseline is None:
        return ChurnBasis(
            baseline=None,
            window_end=None,
            rates={b: ChurnRate(band=b, accounts=0, churned=0, default=True) for b in BAND_ORDER},
        )
    window_end = min(baseline + dt.timedelta(days=CHURN_YEAR_DAYS), as_of)
    # The sample: every account scored that day, counted on the (run, band) index; a past
    # day's snapshot does not change, so the counts are kept for a day. The churned: the
    # few accounts that churned in the window, looked up by account and date, every time.
    run = ScoreRun.objects.filter(status=ScoreRun.Status.DONE, date=baseline).values("id")[:1]
    samples_key = SAMPLES_CACHE_KEY.format(baseline.isoformat())
    samples = cache.get(samples_key)
    if samples is None:
        samples = dict(
            HealthScore.objects.filter(run=Subquery(run))
            .values_list("band")
            .annotate(n=Count("*"))
            .order_by()
        )
        cache.set(samples_key, samples, SAMPLES_CACHE_SECONDS)
    churned = dict(
        HealthScore.objects.filter(
            run=Subquery(run),
            account__status=Account.Status.CHURNED,
            account__churn_date__gt=baseline,
            account__churn_date__lte=window_end,
        )
        .values_list("band")
        .annotate(n=Count("*"))
        .order_by()
    )
    found = {band: {"n": n, "churned": churned.get(band, 0)} for band, n in samples.items()}
    rates = {}
    for band in BAND_ORDER:
        row = found.get(band, {"n": 0, "churned": 0})
        rates[band] = ChurnRate(
            band=band,
            accounts=row["n"],
            churned=row["churned"],
            default=row["n"] < CHURN_MIN_SAMPLE,
        )
    return ChurnBasis(baseline=baseline, window_end=window_end, rates=rates)


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
    for band in BAND_ORDER:
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
