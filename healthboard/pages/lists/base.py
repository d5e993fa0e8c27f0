"""What each action list declares: its rule, the catalogue metrics it reads, its SQL, its
columns and sorts, and its CSV. The views (healthboard/pages/lists/views.py) serve any of
them the same way."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from healthboard.lib.csvfile import Cell, number
from healthboard.lib.dates import short_day_text
from healthboard.lib.numbers import number_text
from healthboard.pages.filters import AccountFilters
from healthboard.pages.lists.selectors import metric_label
from scoring.bands import Band
from scoring.models import ScoreRun

# The sorts every list of accounts offers.
OWNER_SORT = ("q.owner_first", "q.owner_last", "q.owner_username")
ACCOUNT_SORTS: dict[str, str | tuple[str, ...]] = {
    "name": "q.name",
    "owner": OWNER_SORT,
    "arr": "q.arr",
    "score": "q.score",
    "renewal": "q.renewal_date",
}


@dataclass(frozen=True)
class Column:
    """A table column: its sort key (None: not sortable), heading, CSS classes, and whether
    the first click sorts descending (biggest first)."""

    key: str | None
    label: str
    css: str = ""
    descending_first: bool = False


@dataclass(frozen=True)
class Cell_:
    """One table cell as the template writes it: a line and a smaller second line."""

    text: str
    sub: str = ""
    css: str = ""


class AccountList:
    """One action list. Subclasses set the class attributes and write sql(), cells() and
    csv_row()."""

    slug = ""
    title = ""
    # The lists' tabs and the page's heading say what the list is for.
    purpose = ""
    # The catalogue metrics the list reads; `any_of` are the ones it cannot do without (at
    # least one of them), the others only narrow or explain it.
    metrics: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    # Whether the health filter is offered (lists of healthy accounts fix the band).
    band_filter = True
    # sort key → SQL expressions over the list's columns (q.<column>), ascending.
    sorts: dict[str, str | tuple[str, ...]] = {}
    default_sort = "-arr"
    columns: tuple[Column, ...] = ()
    csv_header: tuple[str, ...] = ()

    def rule(self) -> str:
        """The list's rule in one sentence, with its thresholds."""
        raise NotImplementedError

    def missing(self, ids: dict[str, int]) -> list[str]:
        """The metrics the list needs and the catalogue lacks (empty: the list can run)."""
        if any(key in ids for key in self.any_of):
            return []
        return [metric_label(key) for key in self.any_of]

    def limits(self, ids: dict[str, int]) -> list[str]:
        """What the list cannot check for want of a metric, in words."""
        return []

    def sql(
        self, *, ids: dict[str, int], run: ScoreRun, filters: AccountFilters, today: dt.date
    ) -> tuple[str, list]:
        raise NotImplementedError

    def cells(self, row: dict) -> list[Cell_]:
        """The list's own cells of a row, after the account, owner and health."""
        raise NotImplementedError

    def csv_row(self, row: dict) -> list[Cell]:
        raise NotImplementedError

    def order_by(self, sort: str) -> str:
        """The SQL ORDER BY of a sort key ("-key" descending), missing values last, with a
        unique tie-break."""
        key = sort.removeprefix("-")
        expressions = self.sorts.get(key) or self.sorts[self.default_sort.removeprefix("-")]
        if isinstance(expressions, str):
            expressions = (expressions,)
        direction = "DESC" if sort.startswith("-") else "ASC"
        order = [f"{expression} {direction} NULLS LAST" for expression in expressions]
        return ", ".join([*order, "q.name ASC", "q.id ASC"])

    def sort_is_valid(self, sort: str) -> bool:
        return sort.removeprefix("-") in self.sorts


# ---------------------------------------------------------------- row values


def as_date(value) -> dt.date | None:
    """A timestamp as the database returned it (an aware datetime on PostgreSQL, text on
    SQLite) as the local date."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
        if timezone.is_naive(value):
            value = timezone.make_aware(value, dt.UTC)
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date()
    return value


def day_text(value) -> str:
    day = as_date(value)
    return short_day_text(day) if day else ""


def met(value, threshold: float) -> str:
    """The class of a figure that meets the list's rule (shown stronger)."""
    return "num ls-met" if value is not None and value >= threshold else "num"


def last_on(value) -> str:
    text = day_text(value)
    return gettext("last %(day)s") % {"day": text} if text else ""


def owner_text(row: dict) -> str:
    if row["owner_id"] is None:
        return ""
    first, last = row["owner_first"] or "", row["owner_last"] or ""
    full = f"{first} {last}".strip()
    return full or row["owner_username"]


def decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value or 0))


def figure(value, digits: int = 0) -> str:
    """A number as a cell shows it, in the reader's language: 92, 4.5 (4,5); "" when
    missing."""
    if value is None:
        return ""
    return number_text(value, digits)


def csv_account(row: dict) -> list[Cell]:
    """The CSV columns every list starts with."""
    return [
        row["name"],
        row["external_id"],
        owner_text(row),
        row["segment_name"],
        row["stage_name"],
        number(decimal(row["arr"]), 2),
        row["renewal_date"],
        Band(row["band"]).label,
    ]


CSV_ACCOUNT = (
    _("Name"),
    _("External id"),
    _("Owner"),
    _("Segment"),
    _("Stage"),
    _("ARR"),
    _("Renewal date"),
    _("Health"),
)
