"""Collections: accounts whose latest invoice was paid late, by days late and ARR."""

from __future__ import annotations

import datetime as dt

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
    day_text,
    figure,
)
from healthboard.pages.lists.selectors import (
    COUNT_POSITIVE,
    LAST,
    LAST_AT,
    MAX,
    Fact,
    candidates_sql,
    facts_sql,
)
from scoring.models import ScoreRun

INVOICES = "invoice_days_late"
# Invoices are monthly: three months show whether lateness is a habit.
INVOICE_DAYS = 90

FACTS = (
    Fact("days_late", INVOICES, INVOICE_DAYS, LAST),
    Fact("invoice_at", INVOICES, INVOICE_DAYS, LAST_AT),
    Fact("late_invoices", INVOICES, INVOICE_DAYS, COUNT_POSITIVE),
    Fact("worst", INVOICES, INVOICE_DAYS, MAX),
)


class Collections(AccountList):
    slug = "collections"
    title = _("Collections")
    purpose = _("Late payers to chase, the latest and largest first.")
    metrics = (INVOICES,)
    any_of = (INVOICES,)
    sorts = {
        **ACCOUNT_SORTS,
        "days_late": "q.days_late",
        "late_invoices": "q.late_invoices",
    }
    default_sort = "-days_late"
    columns = (
        Column("days_late", _("Days late"), "num", True),
        Column(
            "late_invoices", format_lazy(_("Late in {days} days"), days=INVOICE_DAYS), "num", True
        ),
    )
    csv_header = (
        *CSV_ACCOUNT,
        _("Days late (latest invoice)"),
        _("Latest invoice on"),
        format_lazy(_("Late invoices ({days} days)"), days=INVOICE_DAYS),
        format_lazy(_("Most days late ({days} days)"), days=INVOICE_DAYS),
    )

    def rule(self) -> str:
        return gettext(
            "Accounts whose latest invoice in the past %(days)s days was paid after its "
            "due date (invoice days late above 0), whatever their health."
        ) % {"days": INVOICE_DAYS}

    def sql(
        self, *, ids: dict[str, int], run: ScoreRun, filters: AccountFilters, today: dt.date
    ) -> tuple[str, list]:
        candidates = candidates_sql(run=run, filters=filters, today=today)
        sql, params = facts_sql(facts=FACTS, ids=ids, candidates=candidates)
        return f"SELECT * FROM ({sql}) a WHERE a.days_late > 0", params

    def cells(self, row: dict) -> list[Cell_]:
        return [
            Cell_(figure(row["days_late"]), day_text(row["invoice_at"]), "num"),
            Cell_(
                number_text(row["late_invoices"]),
                gettext("worst %(days)s days") % {"days": figure(row["worst"])},
                "num",
            ),
        ]

    def csv_row(self, row: dict) -> list[Cell]:
        return [
            *csv_account(row),
            number(row["days_late"], 0),
            as_date(row["invoice_at"]),
            row["late_invoices"],
            number(row["worst"], 0),
        ]
