"""Pain points: the subjects of support tickets ranked by how many at-risk accounts and
how much ARR they touch; each category opens the list of the accounts it touched."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from healthboard.lib.csvfile import Cell, number
from healthboard.lib.numbers import number_text
from healthboard.pages.filters import AccountFilters
from healthboard.pages.lists.base import (
    ACCOUNT_SORTS,
    CSV_ACCOUNT,
    AccountList,
    Cell_,
    Column,
    as_date,
    csv_account,
    decimal,
    last_on,
)
from healthboard.pages.lists.selectors import (
    NO_METRIC,
    candidates_sql,
    fetch_rows,
    since,
)
from scoring.bands import AT_RISK, Band
from scoring.models import ScoreRun

TICKETS = "support_tickets"
TICKET_DAYS = 90
# The accounts a category row names before "all N accounts"; and the most categories shown.
TOP_ACCOUNTS = 5
MAX_CATEGORIES = 100
# The category parameter of tickets without one.
NO_CATEGORY = "(none)"
TICKETS_LABEL = format_lazy(_("Tickets ({days} days)"), days=TICKET_DAYS)
NO_CATEGORY_LABEL = _("No category")

# category sort key → how the categories are ordered (Python, on the summed rows).
CATEGORY_SORTS = {
    "accounts": lambda c: (c.accounts, c.arr),
    "arr": lambda c: (c.arr, c.accounts),
    "tickets": lambda c: (c.tickets, c.accounts),
    "unhealthy": lambda c: (c.unhealthy, c.accounts),
    "category": lambda c: c.label.lower(),
}
CATEGORY_DEFAULT_SORT = "-accounts"


def category_label(category: str) -> str:
    return category or NO_CATEGORY_LABEL


def category_param(category: str) -> str:
    return category or NO_CATEGORY


def _tickets_sql(
    *, ids: dict[str, int], run: ScoreRun, filters: AccountFilters, today: dt.date
) -> tuple[str, list]:
    """A FROM clause: the at-risk candidates (c) joined to their tickets of the window,
    counted per category (t: tickets, last_at)."""
    candidate_sql, candidate_params = candidates_sql(
        run=run, filters=filters, today=today, bands=AT_RISK
    )
    # The candidates twice rather than a WITH: PostgreSQL estimates a materialised WITH at
    # one row, and then re-runs the grouped tickets once per candidate.
    sql = f"""
        (
            SELECT account_id, category, count(*) AS tickets, max(observed_at) AS last_at
            FROM accounts_signal
            WHERE metric_id = %s AND observed_at >= %s
              AND account_id IN (SELECT c2.id FROM ({candidate_sql}) c2)
            GROUP BY account_id, category
        ) t
        JOIN ({candidate_sql}) c ON c.id = t.account_id
    """
    params = [ids.get(TICKETS, NO_METRIC), since(TICKET_DAYS), *candidate_params]
    return sql, [*params, *candidate_params]


@dataclass
class Category:
    category: str
    accounts: int
    arr: Decimal
    tickets: int
    unhealthy: int
    top: list[dict] = field(default_factory=list)

    @property
    def label(self) -> str:
        return category_label(self.category)

    @property
    def param(self) -> str:
        return category_param(self.category)


def pain_point_categories(
    *, ids: dict[str, int], run: ScoreRun, filters: AccountFilters, today: dt.date, sort: str
) -> list[Category]:
    """Every ticket category of the at-risk accounts that match the filters, with the
    accounts, ARR, tickets and unhealthy accounts it touches and its TOP_ACCOUNTS largest
    accounts, sorted by `sort`. One query (a category has one row per named account)."""
    sql, params = _tickets_sql(ids=ids, run=run, filters=filters, today=today)
    rows = fetch_rows(
        f"""
        SELECT * FROM (
            SELECT t.category, c.id, c.name, c.arr, c.band, t.tickets,
                   count(*) OVER w AS n_accounts, sum(c.arr) OVER w AS n_arr,
                   sum(t.tickets) OVER w AS n_tickets,
                   sum(CASE WHEN c.band = %s THEN 1 ELSE 0 END) OVER w AS n_unhealthy,
                   row_number() OVER (
                       PARTITION BY t.category ORDER BY c.arr DESC, c.name, c.id
                   ) AS rn
            FROM {sql}
            WINDOW w AS (PARTITION BY t.category)
        ) x WHERE x.rn <= %s
        """,
        [Band.RED.value, *params, TOP_ACCOUNTS],
    )
    categories: dict[str, Category] = {}
    for row in rows:
        category = categories.get(row["category"])
        if category is None:
            category = categories[row["category"]] = Category(
                category=row["category"],
                accounts=row["n_accounts"],
                arr=decimal(row["n_arr"]),
                tickets=int(row["n_tickets"]),
                unhealthy=int(row["n_unhealthy"]),
            )
        category.top.append(row)
    key = CATEGORY_SORTS.get(sort.removeprefix("-"), CATEGORY_SORTS["accounts"])
    ordered = sorted(categories.values(), key=lambda c: c.label.lower())
    ordered.sort(key=key, reverse=sort.startswith("-"))
    return ordered


class CategoryAccounts(AccountList):
    """The at-risk accounts with tickets in one category (the category row's link)."""

    slug = "pain-points"
    title = _("Pain points")
    purpose = _("What at-risk accounts ask support about.")
    metrics = (TICKETS,)
    any_of = (TICKETS,)
    band_filter = False
    sorts = {
        **ACCOUNT_SORTS,
        "tickets": "q.tickets",
        "last_ticket": "q.last_at",
    }
    default_sort = "-arr"
    columns = (Column("tickets", TICKETS_LABEL, "num", True),)
    csv_header = (*CSV_ACCOUNT, _("Category"), TICKETS_LABEL, _("Last ticket on"))

    def __init__(self, category: str = "") -> None:
        self.category = category

    def rule(self) -> str:
        return gettext(
            "At-risk and unhealthy accounts, ranked by the support-ticket categories of "
            "their tickets in the past %(days)s days: how many accounts and how much "
            "ARR each category touches."
        ) % {"days": TICKET_DAYS}

    def sql(
        self, *, ids: dict[str, int], run: ScoreRun, filters: AccountFilters, today: dt.date
    ) -> tuple[str, list]:
        sql, params = _tickets_sql(ids=ids, run=run, filters=filters, today=today)
        return (
            f"SELECT c.*, t.category, t.tickets, t.last_at FROM {sql} WHERE t.category = %s",
            [*params, self.category],
        )

    def cells(self, row: dict) -> list[Cell_]:
        return [Cell_(number_text(row["tickets"]), last_on(row["last_at"]), "num")]

    def csv_row(self, row: dict) -> list[Cell]:
        return [
            *csv_account(row),
            category_label(row["category"]),
            row["tickets"],
            as_date(row["last_at"]),
        ]


CATEGORY_CSV_HEADER = (
    _("Category"),
    _("At-risk accounts"),
    _("Unhealthy accounts"),
    _("ARR"),
    TICKETS_LABEL,
)


def category_csv_row(category: Category) -> list[Cell]:
    return [
        category.label,
        category.accounts,
        category.unhealthy,
        number(category.arr, 2),
        category.tickets,
    ]
