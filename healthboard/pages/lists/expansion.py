"""Expansion: healthy accounts that are outgrowing what they bought (near their licence
limit) or that use the product widely and talk about doing more with it."""

from __future__ import annotations

import datetime as dt

from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from healthboard.lib.csvfile import Cell, number
from healthboard.lib.numbers import number_text, percent_text
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
    title = _("Expansion")
    purpose = _("Upsell candidates: more seats, more products.")
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
        Column("utilisation", _("Licence utilisation"), "num", True),
        Column("adoption", _("Adoption"), "num", True),
        Column(
            "talks", format_lazy(_("Expansion talks ({days} days)"), days=TALK_DAYS), "num", True
        ),
    )
    csv_header = (
        *CSV_ACCOUNT,
        _("Licence utilisation %"),
        _("Active users"),
        _("Seats"),
        _("Feature adoption %"),
        format_lazy(_("Expansion talks ({days} days)"), days=TALK_DAYS),
        _("Last expansion talk on"),
    )

    def rule(self) -> str:
        return gettext(
            "Healthy accounts using at least %(utilisation)g %% of their licences "
            "(latest licence utilisation, or active users over seats, in the past "
            "%(usage_days)s days), or with feature adoption at %(adoption)g %% or more and an "
            "expansion talk in the past %(talk_days)s days."
        ) % {
            "utilisation": UTILISATION_AT,
            "usage_days": USAGE_DAYS,
            "adoption": ADOPTION_AT,
            "talk_days": TALK_DAYS,
        }

    def missing(self, ids: dict[str, int]) -> list[str]:
        near_limit = UTILISATION in ids or ACTIVE_USERS in ids
        talking = ADOPTION in ids and TALKS in ids
        if near_limit or talking:
            return []
        return [
            gettext("%(first)s or %(second)s")
            % {"first": metric_label(UTILISATION), "second": metric_label(ACTIVE_USERS)},
            gettext("%(first)s and %(second)s")
            % {"first": metric_label(ADOPTION), "second": metric_label(TALKS)},
        ]

    def limits(self, ids: dict[str, int]) -> list[str]:
        notes = []
        if UTILISATION not in ids and ACTIVE_USERS not in ids:
            notes.append(
                gettext(
                    "The catalogue has neither %(first)s nor %(second)s: nearness to the licence "
                    "limit is not checked."
                )
                % {"first": metric_label(UTILISATION), "second": metric_label(ACTIVE_USERS)}
            )
        for key in (ADOPTION, TALKS):
            if key not in ids:
                notes.append(
                    gettext(
                        "The catalogue has no %(metric)s metric: adoption with expansion talk is "
                        "not checked."
                    )
                    % {"metric": metric_label(key)}
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
            users = gettext("%(users)s of %(seats)s seats") % {
                "users": figure(row["users"]),
                "seats": number_text(row["seats"]),
            }
        utilisation = percent_text(row["utilisation"])
        adoption = percent_text(row["adoption"])
        talking = row["talks"] > 0 and (row["adoption"] or 0) >= ADOPTION_AT
        return [
            Cell_(
                utilisation,
                users,
                met(row["utilisation"], UTILISATION_AT),
            ),
            Cell_(adoption, "", "num ls-met" if talking else "num"),
            Cell_(
                number_text(row["talks"]) if row["talks"] else "—",
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
