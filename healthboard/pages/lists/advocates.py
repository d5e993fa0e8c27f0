"""Advocates: healthy accounts whose people say so, with no complaint open — the ones to ask
for a review, a case study or a referral."""

from __future__ import annotations

import datetime as dt

from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from healthboard.lib.csvfile import Cell, number
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
    last_on,
    met,
)
from healthboard.pages.lists.selectors import (
    LAST,
    LAST_AT,
    MEAN,
    Fact,
    candidates_sql,
    facts_sql,
    metric_label,
)
from scoring.bands import Band
from scoring.models import ScoreRun

NPS, CSAT, COMPLAINTS = "nps", "csat", "unresolved_complaints"
# A promoter answers 9 or 10 (of 0–10), as NPS counts them; answers older than this
# window say little about today.
PROMOTER_AT = 9
NPS_DAYS = 180
# Satisfied: a mean CSAT of 4 or more (of 1–5) over the window (the default scorecard's).
CSAT_AT = 4.0
CSAT_DAYS = 90
# A complaint is open while the latest count of unresolved complaints is above zero.
COMPLAINT_DAYS = 90

FACTS = (
    Fact("nps", NPS, NPS_DAYS, LAST),
    Fact("nps_at", NPS, NPS_DAYS, LAST_AT),
    Fact("csat", CSAT, CSAT_DAYS, MEAN),
    Fact("csat_at", CSAT, CSAT_DAYS, LAST_AT),
    Fact("complaints", COMPLAINTS, COMPLAINT_DAYS, LAST),
)


class Advocates(AccountList):
    slug = "advocates"
    title = _("Advocates")
    purpose = _("Candidates for reviews, case studies and referrals.")
    metrics = (NPS, CSAT, COMPLAINTS)
    any_of = (NPS, CSAT)
    band_filter = False
    sorts = {**ACCOUNT_SORTS, "nps": "q.nps", "csat": "q.csat"}
    default_sort = "-arr"
    columns = (
        Column("nps", _("Last NPS"), "num", True),
        Column("csat", format_lazy(_("CSAT ({days} days)"), days=CSAT_DAYS), "num", True),
    )
    csv_header = (
        *CSV_ACCOUNT,
        _("Last NPS answer"),
        _("NPS answered on"),
        format_lazy(_("Mean CSAT ({days} days)"), days=CSAT_DAYS),
        _("Last CSAT on"),
    )

    def rule(self) -> str:
        return gettext(
            "Healthy accounts whose last NPS answer in the past %(nps_days)s days was "
            "%(promoter)s–10, or whose CSAT averaged %(csat)g or more of 5 over "
            "%(csat_days)s days, and with no complaint open at their latest count "
            "(past %(complaint_days)s days)."
        ) % {
            "nps_days": NPS_DAYS,
            "promoter": PROMOTER_AT,
            "csat": CSAT_AT,
            "csat_days": CSAT_DAYS,
            "complaint_days": COMPLAINT_DAYS,
        }

    def limits(self, ids: dict[str, int]) -> list[str]:
        return [
            text % {"metric": metric_label(key)}
            for key, text in (
                (
                    NPS,
                    gettext("The catalogue has no %(metric)s metric: only CSAT picks advocates."),
                ),
                (
                    CSAT,
                    gettext("The catalogue has no %(metric)s metric: only NPS picks advocates."),
                ),
                (
                    COMPLAINTS,
                    gettext(
                        "The catalogue has no %(metric)s metric: open complaints are not checked."
                    ),
                ),
            )
            if key not in ids
        ]

    def sql(
        self, *, ids: dict[str, int], run: ScoreRun, filters: AccountFilters, today: dt.date
    ) -> tuple[str, list]:
        candidates = candidates_sql(run=run, filters=filters, today=today, bands=[Band.GREEN])
        sql, params = facts_sql(facts=FACTS, ids=ids, candidates=candidates)
        # A metric the catalogue lacks leaves its facts NULL: its comparison fails.
        return (
            f"SELECT * FROM ({sql}) a WHERE (a.nps >= %s OR a.csat >= %s) "
            "AND coalesce(a.complaints, 0) = 0",
            [*params, PROMOTER_AT, CSAT_AT],
        )

    def cells(self, row: dict) -> list[Cell_]:
        return [
            Cell_(figure(row["nps"]), day_text(row["nps_at"]), met(row["nps"], PROMOTER_AT)),
            Cell_(figure(row["csat"], 1), last_on(row["csat_at"]), met(row["csat"], CSAT_AT)),
        ]

    def csv_row(self, row: dict) -> list[Cell]:
        return [
            *csv_account(row),
            number(row["nps"], 0),
            as_date(row["nps_at"]),
            number(row["csat"], 2),
            as_date(row["csat_at"]),
        ]
