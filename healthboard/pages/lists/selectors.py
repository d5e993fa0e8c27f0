"""What the action lists share: the accounts they choose from, the catalogue metrics they
read, and the one query that reads a page of a list.

A list is the accounts of the latest done run (as the portfolio shows them) that match the
filters, joined to facts read from their signals by one grouped query, kept where the list's
rule holds. The facts are SQL written by each list's module (advocates, expansion,
collections, pain_points); this module runs it, sorted and sliced, with the number of rows
and their ARR counted by the same query (window functions), so a page is one query whatever
the number of accounts. The SQL is portable: PostgreSQL in production, SQLite on a fresh
machine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import F, FilteredRelation, Q
from django.utils import timezone
from django.utils.translation import gettext

from accounts.catalogue import METRICS
from accounts.models import Account, Metric
from healthboard.pages.filters import AccountFilters
from scoring.models import ScoreRun

PAGE_SIZE = 50

# The candidates' columns, in this order (the `c` table of every list's SQL).
CANDIDATE_COLUMNS = (
    "id",
    "name",
    "external_id",
    "arr",
    "seats",
    "renewal_date",
    "owner_id",
    "owner_first",
    "owner_last",
    "owner_username",
    "segment_name",
    "stage_name",
    "stage_order",
    "band",
    "score",
)
CATALOGUE_NAMES = {key: name for key, name, *_rest in METRICS}


def metric_ids(*, keys: Sequence[str]) -> dict[str, int]:
    """The catalogue metrics among `keys` that exist: key → id. One query."""
    return dict(Metric.objects.filter(key__in=keys).values_list("key", "id"))


def metric_label(key: str) -> str:
    """A catalogue metric as the empty states name it: “NPS answer” (nps)."""
    name = CATALOGUE_NAMES.get(key)
    return f"“{gettext(name)}” ({key})" if name else key


def since(days: int, *, now: dt.datetime | None = None) -> object:
    """The start of a window of `days` days up to now, as the database compares it."""
    start = (now or timezone.now()) - dt.timedelta(days=days)
    return connection.ops.adapt_datetimefield_value(start)


def candidates_sql(
    *, run: ScoreRun, filters: AccountFilters, today: dt.date, bands: Sequence[str] = ()
) -> tuple[str, list]:
    """The active accounts scored in `run` that match the filters (and are in `bands`, when
    given; the filters' own bands always apply), as SQL selecting CANDIDATE_COLUMNS."""
    where = [Q(cur__run=run)]
    wanted = set(bands) if bands else None
    if filters.bands:
        wanted = set(filters.bands) & wanted if wanted is not None else set(filters.bands)
    if wanted is not None:
        where.append(Q(cur__band__in=sorted(wanted)))
    qs = (
        Account.objects.annotate(cur=FilteredRelation("scores", condition=Q(scores__run=run)))
        .active()
        # One filter() call: a second on the relation would join it again.
        .filter(*where, *filters.conditions(today))
        .annotate(
            owner_first=F("owner__first_name"),
            owner_last=F("owner__last_name"),
            owner_username=F("owner__username"),
            segment_name=F("segment__name"),
            stage_name=F("stage__name"),
            stage_order=F("stage__order"),
            band=F("cur__band"),
            score=F("cur__score"),
        )
        .order_by()
        .values_list(*CANDIDATE_COLUMNS)
    )
    return qs.query.sql_with_params()


@dataclass
class ListPage:
    """A page of a list: its rows (dicts of the SQL's columns), how many rows the whole
    list has and their ARR."""

    rows: list[dict]
    total: int = 0
    arr: Decimal = Decimal(0)
    number: int = 1
    notices: list[str] = field(default_factory=list)

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    @property
    def start_index(self) -> int:
        return (self.number - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * PAGE_SIZE + len(self.rows)


def _typed(row: dict) -> dict:
    """The candidates' money and dates as Python types: SQLite returns raw SQL's decimals as
    numbers and its dates as text."""
    if "arr" in row and not isinstance(row["arr"], Decimal):
        row["arr"] = Decimal(str(row["arr"] or 0))
    if isinstance(row.get("renewal_date"), str):
        row["renewal_date"] = dt.date.fromisoformat(row["renewal_date"][:10])
    return row


def fetch_rows(sql: str, params: Sequence) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [_typed(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]


def _ordered(sql: str, order_by: str) -> str:
    # A unique tie-break keeps pages stable: no row on two pages, none skipped.
    return f"{sql} ORDER BY {order_by}"


def list_page(*, sql: str, params: Sequence, order_by: str, number: int) -> ListPage:
    """Page `number` of the rows `sql` selects, sorted by `order_by`, with their count and
    ARR (columns `total_n` and `total_arr` of every row). One query; three when the page is
    past the end (the first page learns the count, then the last page is read)."""
    counted = (
        f"SELECT q.*, count(*) OVER () AS total_n, sum(q.arr) OVER () AS total_arr FROM ({sql}) q"
    )

    def read(page: int) -> list[dict]:
        start = (page - 1) * PAGE_SIZE
        return fetch_rows(
            _ordered(counted, order_by) + " LIMIT %s OFFSET %s", [*params, PAGE_SIZE, start]
        )

    notices = []
    rows = read(number)
    if not rows and number > 1:
        first = read(1)
        if first:
            last = max(1, -(-first[0]["total_n"] // PAGE_SIZE))
            notices.append(
                gettext("There is no page %(number)s: showing the last page (%(last)s).")
                % {"number": number, "last": last}
            )
            rows, number = (first if last == 1 else read(last)), last
        else:
            number = 1
    if not rows:
        return ListPage(rows=[], number=number, notices=notices)
    return ListPage(
        rows=rows,
        total=rows[0]["total_n"],
        arr=Decimal(rows[0]["total_arr"] or 0),
        number=number,
        notices=notices,
    )


def list_rows(*, sql: str, params: Sequence, order_by: str) -> Iterator[dict]:
    """Every row `sql` selects, sorted (the CSV export), fetched in batches. One query."""
    with connection.cursor() as cursor:
        cursor.execute(_ordered(f"SELECT q.* FROM ({sql}) q", order_by), params)
        names = [column[0] for column in cursor.description]
        while batch := cursor.fetchmany(2000):
            for row in batch:
                yield _typed(dict(zip(names, row, strict=True)))


# ---------------------------------------------------------------- facts from signals

# How a fact sums up one metric's signals in its window.
LAST, LAST_AT, MEAN, COUNT, COUNT_POSITIVE, MAX = (
    "last",
    "last_at",
    "mean",
    "count",
    "count_positive",
    "max",
)
_AGGREGATES = {
    # rn = 1: the account's newest signal of the metric in the window.
    LAST: "max(CASE WHEN s.metric_id = %s AND s.rn = 1 THEN s.value END)",
    LAST_AT: "max(CASE WHEN s.metric_id = %s THEN s.observed_at END)",
    MEAN: "avg(CASE WHEN s.metric_id = %s THEN s.value END)",
    COUNT: "count(CASE WHEN s.metric_id = %s THEN 1 END)",
    COUNT_POSITIVE: "count(CASE WHEN s.metric_id = %s AND s.value > 0 THEN 1 END)",
    MAX: "max(CASE WHEN s.metric_id = %s THEN s.value END)",
}
# A metric the catalogue lacks: an id no signal has, so its facts are empty.
NO_METRIC = 0


@dataclass(frozen=True)
class Fact:
    """A column of a list read from the signals: `how` over metric `metric`'s signals of
    the last `days` days (one window per metric)."""

    name: str
    metric: str
    days: int
    how: str


def facts_sql(
    *, facts: Sequence[Fact], ids: dict[str, int], candidates: tuple[str, list]
) -> tuple[str, list]:
    """The candidates (candidates_sql) with their facts, as SQL selecting the candidates'
    columns and one column per fact; accounts without any of the signals are left out.

    One grouped pass over the signals of the facts' metrics in their windows, restricted
    to the candidates (an index range per metric, or each candidate's newest signals when
    they are few: the planner chooses). The newest signal per account and metric is ranked
    by a window function rather than PostgreSQL's DISTINCT ON, so SQLite reads it too.
    """
    windows: dict[str, int] = {}
    for fact in facts:
        if windows.setdefault(fact.metric, fact.days) != fact.days:
            raise ValueError(f"{fact.metric}: one window per metric")
    now = timezone.now()
    metric = {key: ids.get(key, NO_METRIC) for key in windows}
    candidate_sql, candidate_params = candidates
    ranges = " OR ".join("(metric_id = %s AND observed_at >= %s)" for _ in windows)
    range_params = [p for key, days in windows.items() for p in (metric[key], since(days, now=now))]
    aggregates = ", ".join(f"{_AGGREGATES[fact.how]} AS {fact.name}" for fact in facts)
    aggregate_params = [metric[fact.metric] for fact in facts]
    # The candidates twice rather than a WITH: PostgreSQL estimates a materialised WITH at
    # one row, and then re-runs the grouped signals once per candidate.
    sql = f"""
        SELECT c.*, {", ".join(f"f.{fact.name}" for fact in facts)}
        FROM ({candidate_sql}) c
        JOIN (
            SELECT s.account_id, {aggregates}
            FROM (
                SELECT account_id, metric_id, value, observed_at,
                       row_number() OVER (
                           PARTITION BY account_id, metric_id ORDER BY observed_at DESC, id DESC
                       ) AS rn
                FROM accounts_signal
                WHERE ({ranges}) AND account_id IN (SELECT c2.id FROM ({candidate_sql}) c2)
            ) s
            GROUP BY s.account_id
        ) f ON f.account_id = c.id
    """
    return sql, [*candidate_params, *aggregate_params, *range_params, *candidate_params]
