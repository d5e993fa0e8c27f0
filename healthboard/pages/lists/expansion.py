"""Expansion: healthy accounts that are outgrowing what they bought (near their licence
limit) or that use the product widely and talk about doing more with it."""

from __future__ import annotations

import datetime as dt

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
    figure,
    last_on,
    met,
)
from healthboard.pages.lists.selectors import (
    COUNT,
    LAST,
    LAST_AT,
    Fact,
    candidates_sql,
    facts_sql,
    metric_label,
)
from scoring.bands import Band
from scoring.models import ScoreRun

UTILISATION, ACTIVE_USERS = "licence_utilisation", "active_users"
ADOPTION, TALKS = "feature_adoption", "expansion_talks"
# Near the licence limit: the latest utilisation (or active users over seats) at least this.
UTILISATION_AT = 85.0
USAGE_DAYS = 30
# High adoption: the latest share of key features in use at least this, with at least one
# expansion conversation ("future talk") in the window.
ADOPTION_AT = 70.0
ADOPTION_DAYS = 90
TALK_DAYS = 90

FACTS = (
    Fact("utilisation_reported", UTILISATION, USAGE_DAYS, LAST),
    Fact("users", ACTIVE_USERS, USAGE_DAYS, LAST),
    Fact("adoption", ADOPTION, ADOPTION_DAYS, LAST),
    Fact("talks", TALKS, TALK_DAYS, COUNT),
    Fact("talk_at", TALKS, TALK_DAYS, LAST_AT),
)


class Expansion(AccountList):
    slug = "expansion"
    title = "Expansion"
    purpose = "Upsell candidates: more seats, more products."
    metrics = (UTILISATION, ACTIVE_USERS, ADOPTION, TALKS)
    any_of = (UTILISATION, ACTIVE_USERS, TALKS)
    band_filter = False
    sorts = {
        **ACCOUNT_SORTS,
        "utilisation": "q.utilisation",
        "adoption": "q.adoption",
        "talks": "q.talks",
    }
    default_sort = "-utilisation"
    columns = (
        Column("utilisation", "Licence utilisation", "num", True),
        Column("adoption", "Adoption", "num", True),
        Column("talks", f"Expansion talks ({TALK_DAYS} days)", "num", True),
    )
    csv_header = (
        *CSV_ACCOUNT,
        "Licence utilisation %",
        "Active users",
        "Seats",
        "Feature adoption %",
        f"Expansion talks ({TALK_DAYS} days)",
        "Last expansion talk on",
    )

    def rule(self) -> str:
        return (
            f"Healthy accounts using at least {UTILISATION_AT:g} % of their licences "
            f"(latest licence utilisation, or active users over seats, in the past {USAGE_DAYS} "
            f"days), or with feature adoption at {ADOPTION_AT:g} % or more and an expansion "
            f"talk in the past {TALK_DAYS} days."
        )

    def missing(self, ids: dict[str, int]) -> list[str]:
        near_limit = UTILISATION in ids or ACTIVE_USERS in ids
        talking = ADOPTION in ids and TALKS in ids
        if near_limit or talking:
            return []
        return [
            f"{metric_label(UTILISATION)} or {metric_label(ACTIVE_USERS)}",
            f"{metric_label(ADOPTION)} and {metric_label(TALKS)}",
        ]

    def limits(self, ids: dict[str, int]) -> list[str]:
        notes = []
        if UTILISATION not in ids and ACTIVE_USERS not in ids:
            notes.append(
                f"The catalogue has neither {metric_label(UTILISATION)} nor "
                f"{metric_label(ACTIVE_USERS)}: nearness to the licence limit is not checked."
            )
        for key in (ADOPTION, TALKS):
            if key not in ids:
                notes.append(
                    f"The catalogue has no {metric_label(key)} metric: adoption with expansion "
                    "talk is not checked."
                )
        return notes

    def sql(
        self, *, ids: dict[str, int], run: ScoreRun, filters: AccountFilters, today: dt.date
    ) -> tuple[str, list]:
        candidates = candidates_sql(run=run, filters=filters, today=today, bands=[Band.GREEN])
        sql, params = facts_sql(facts=FACTS, ids=ids, candidates=candidates)
        # Utilisation as reported, else active users over the seats bought.
        utilisation = (
            "coalesce(a.utilisation_reported, "
            "CASE WHEN a.seats > 0 THEN 100.0 * a.users / a.seats END)"
        )
        return (
            f"SELECT * FROM (SELECT a.*, {utilisation} AS utilisation FROM ({sql}) a) b "
            "WHERE b.utilisation >= %s OR (b.adoption >= %s AND b.talks > 0)",
            [*params, UTILISATION_AT, ADOPTION_AT],
        )

    def cells(self, row: dict) -> list[Cell_]:
        users = ""
        if row["users"] is not None and row["seats"]:
            users = f"{figure(row['users'])} of {row['seats']:,} seats"
        utilisation = figure(row["utilisation"])
        adoption = figure(row["adoption"])
        talking = row["talks"] > 0 and (row["adoption"] or 0) >= ADOPTION_AT
        return [
            Cell_(
                f"{utilisation} %" if utilisation else "—",
                users,
                met(row["utilisation"], UTILISATION_AT),
            ),
            Cell_(f"{adoption} %" if adoption else "—", "", "num ls-met" if talking else "num"),
            Cell_(
                f"{row['talks']:,}" if row["talks"] else "—",
                last_on(row["talk_at"]),
                "num ls-met" if talking else "num",
            ),
        ]

    def csv_row(self, row: dict) -> list[Cell]:
        return [
            *csv_account(row),
            number(row["utilisation"], 1),
            number(row["users"], 0),
            row["seats"],
            number(row["adoption"], 1),
            row["talks"],
            as_date(row["talk_at"]),
        ]
