"""The managers' weekly review: a week's movement of the portfolio against the week before.

Managers and Admins only (accounts.view_team). One GET view: the page, the review region
for HTMX (the week picker), the chart alone for HTMX (its accounts/ARR toggle), and the CSV
exports (?export=movers, ?export=csms) of what the page shows. The reads are in
scoring/weekly.py; this module turns them into what the templates show.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from healthboard.lib import htmx
from healthboard.lib.csvfile import csv_response, number
from healthboard.lib.dates import day_text
from healthboard.lib.roles import permission_required
from healthboard.pages.account.selectors import versions_load
from healthboard.pages.actions.selectors import overdue_per_owner
from healthboard.pages.audited import export_recorded
from healthboard.pages.charts import figure_json
from healthboard.pages.filters import ALL, ARR, MEASURES, UNASSIGNED, portfolio_url, user_label
from healthboard.pages.weekly.charts import band_history_figure, band_history_summary
from healthboard.pages.weekly.forms import WeekChoice
from healthboard.pages.weekly.selectors import (
    CHURN_MIN_AGE_DAYS,
    CHURN_MIN_SAMPLE,
    DEFAULT_CHURN,
    HISTORY_WEEKS,
    RENEWAL_DAYS,
    ReviewRuns,
    WeekMover,
    WeekSummary,
    band_history,
    churn_basis,
    renewal_forecast,
    review_runs,
    review_span,
    week_review,
)
from scoring import bands, explain
from scoring.bands import Band
from scoring.rollups.weeks import week_end_of
from scoring.specs import version_config

PAGE = "weekly/weekly.html"
PICKER_ID = "weekly-picker"
DISTRIBUTION_ID = "weekly-distribution"


def _url(path: str, query) -> str:
    return f"{path}?{query.urlencode()}" if query else path


def _runs(choice: WeekChoice, span: tuple[dt.date, dt.date] | None) -> ReviewRuns | None:
    """The runs of the chosen week; an explicit week without scores falls back to the
    default, and a default week without scores (the first runs are this week's) to this
    week so far."""
    if span is None:
        return None
    runs = review_runs(week_end=choice.week_end)
    if runs is None and choice.explicit:
        choice.fall_back(
            gettext(
                "There are no scores for the week ending %(week)s: showing the week ending "
                "%(default)s."
            )
            % {"week": day_text(choice.week_end), "default": day_text(choice.default_week)}
        )
        runs = review_runs(week_end=choice.week_end)
    if runs is None:
        choice.week_end = week_end_of(span[1])
        choice.explicit = True
        choice.ignored.append(
            gettext("There are no scores for last week yet: showing this week so far.")
        )
        runs = review_runs(week_end=choice.week_end)
    return runs


# ---------------------------------------------------------------- regions


def _distribution(choice: WeekChoice, runs: ReviewRuns, *, summarise: bool = True) -> dict:
    """The band history chart. summarise=False (the page): when past days have no band
    totals (runs published before their snapshots were kept: seconds to count at 100,000
    accounts), a placeholder that asks for the chart itself (HTMX), so the rest of the
    review shows at once."""
    path = reverse("scoring:weekly")
    days = band_history(end=runs.end.date, summarise=summarise)
    if days is None:
        return {
            "distribution_pending": True,
            "distribution_url": _url(path, choice.query()),
            "history_weeks": HISTORY_WEEKS,
        }
    week = (runs.previous.date, runs.end.date) if runs.previous else None
    return {
        "measure": choice.chart_measure,
        "is_arr": choice.chart_measure == ARR,
        "history_weeks": HISTORY_WEEKS,
        "history_days": len(days),
        "history_first": days[0].date if days else None,
        "distribution_json": figure_json(
            band_history_figure(days, measure=choice.chart_measure, week=week)
        )
        if days
        else "",
        "distribution_summary": band_history_summary(days, measure=choice.chart_measure),
        "measure_toggles": [
            {
                "key": key,
                "label": label,
                "url": _url(path, choice.query(measure=key if key == ARR else None)),
            }
            for key, label in MEASURES.items()
        ],
    }


def _matrix(summary: WeekSummary, runs: ReviewRuns) -> dict:
    """From-band rows × to-band columns; each cell links to exactly its accounts in the
    portfolio (when the week before is exactly seven days back, the portfolio's contract)."""
    rows = []
    for before in bands.ORDER:
        cells = []
        for now in bands.ORDER:
            tally = summary.matrix.get((before, now))
            n = tally.n if tally else 0
            url = None
            if n and runs.exact:
                url = portfolio_url(
                    date=runs.end.date.isoformat(), prev_band=before, band=now, owner=ALL
                )
            trend = bands.change(before, now)
            cells.append(
                {
                    "before": before,
                    "now": now,
                    "n": n,
                    "arr": tally.arr if tally else Decimal(0),
                    "url": url,
                    "trend": trend,
                    "stayed": before == now,
                }
            )
        rows.append(
            {
                "band": before,
                "cells": cells,
                "n": summary.before[before].n,
                "arr": summary.before[before].arr,
            }
        )
    columns = [
        {
            "band": now,
            "n": sum(t.n for (b, n_), t in summary.matrix.items() if n_ == now),
            "arr": sum((t.arr for (b, n_), t in summary.matrix.items() if n_ == now), Decimal(0)),
        }
        for now in bands.ORDER
    ]
    moved = sum(t.n for (b, n_), t in summary.matrix.items() if b != n_)
    return {
        "matrix_rows": rows,
        "matrix_columns": columns,
        "matrix_total": summary.compared,
        "matrix_arr": sum((t.arr for t in summary.matrix.values()), Decimal(0)),
        "matrix_moved": moved,
        "matrix_new": summary.total.n - summary.compared,
    }


def _explain_movers(movers: list[WeekMover]) -> None:
    """The measures that moved each mover's score: the drilldown's "what moved". A fixed
    number of queries for all of them (the versions, the metric units)."""
    if not movers:
        return
    wanted = {m.current.version_id for m in movers} | {m.previous.version_id for m in movers}
    configs = {pk: version_config(v) for pk, v in versions_load(wanted).items()}
    units = explain.metric_units()
    for mover in movers:
        mover.measures = explain.score_movers(
            current=mover.current,
            previous=mover.previous,
            version_current=configs[mover.current.version_id],
            version_previous=configs[mover.previous.version_id],
            units=units,
            limit=3,
        )
        mover.url = reverse("accounts:detail", args=[mover.account.pk])
        owner = mover.account.owner
        mover.owner_name = user_label(owner) if owner else gettext("Unassigned")


def _books(summary: WeekSummary) -> list:
    """Each owner's book, by name; unassigned accounts last."""
    User = get_user_model()
    ids = [pk for pk in summary.books if pk is not None]
    users = {
        u.pk: u
        for u in User.objects.filter(pk__in=ids).only("id", "username", "first_name", "last_name")
    }
    books = []
    for owner_id, book in summary.books.items():
        book.name = user_label(users[owner_id]) if owner_id in users else gettext("Unassigned")
        book.url = portfolio_url(owner=owner_id if owner_id in users else UNASSIGNED)
        books.append(book)
    books.sort(key=lambda b: (b.owner_id is None, b.name.casefold()))
    return books


def _review(choice: WeekChoice, runs: ReviewRuns) -> dict:
    week = week_review(runs=runs)
    summary, drops, gains = week.summary, week.drops, week.gains
    _explain_movers(drops + gains)
    basis = churn_basis(as_of=runs.end.date)
    forecast = renewal_forecast(renewals=summary.renewals, basis=basis)
    compared = runs.previous is not None
    at_risk_now = summary.at_risk("now")
    at_risk_before = summary.at_risk("before") if compared else None
    path = reverse("scoring:weekly")
    context = {
        "summary": summary,
        "band_totals": [
            {"band": b, "n": summary.now[b].n, "arr": summary.now[b].arr} for b in bands.ORDER
        ],
        "at_risk_now": at_risk_now,
        "at_risk_before": at_risk_before,
        "at_risk_change": at_risk_now - at_risk_before if compared else None,
        "at_risk_accounts": sum(summary.now[b].n for b in bands.AT_RISK),
        "red_arr": summary.now[Band.RED].arr,
        "drops": drops,
        "gains": gains,
        "forecast": forecast,
        "basis": basis,
        "renewal_days": RENEWAL_DAYS,
        "renewal_until": runs.end.date + dt.timedelta(days=RENEWAL_DAYS),
        "renewals_url": portfolio_url(renewal=RENEWAL_DAYS, owner=ALL),
        "churn_min_sample": CHURN_MIN_SAMPLE,
        "churn_min_age": CHURN_MIN_AGE_DAYS,
        "default_rates": [{"band": b, "percent": 100 * DEFAULT_CHURN[b]} for b in bands.ORDER],
        "books": _books(summary),
        "export_movers_url": _url(path, choice.query(export="movers", measure=None)),
        "export_csms_url": _url(path, choice.query(export="csms", measure=None)),
    }
    context.update(_matrix(summary, runs))
    context.update(_distribution(choice, runs, summarise=False))
    # The state of the work today, whatever the week shown. One query.
    context["overdue"] = overdue_per_owner(today=timezone.localdate())
    return context


def _picker(choice: WeekChoice, span, runs: ReviewRuns | None) -> dict:
    path = reverse("scoring:weekly")
    context = {"weeks": choice.weeks(first=span[0], last=span[1]) if span else []}
    if runs is not None and span is not None:
        earlier = choice.week_end - dt.timedelta(days=7)
        later = choice.week_end + dt.timedelta(days=7)
        if earlier >= week_end_of(span[0]):
            context["earlier_url"] = _url(path, choice.query(week=earlier.isoformat()))
        if later <= week_end_of(span[1]):
            context["later_url"] = _url(path, choice.query(week=later.isoformat()))
    return context


# ---------------------------------------------------------------- CSV


def _export(choice: WeekChoice, runs: ReviewRuns | None) -> StreamingHttpResponse:
    day = runs.end.date if runs else choice.week_end
    if choice.export == "movers":
        header = [
            gettext("Direction"),
            gettext("Account"),
            gettext("Owner"),
            gettext("ARR"),
            gettext("Score before"),
            gettext("Score now"),
            gettext("Change"),
            gettext("Health before"),
            gettext("Health now"),
            gettext("What moved"),
        ]
        rows = []
        if runs is not None:
            week = week_review(runs=runs)
            drops, gains = week.drops, week.gains
            _explain_movers(drops + gains)
            for direction, movers in ((gettext("drop"), drops), (gettext("gain"), gains)):
                for m in movers:
                    rows.append(
                        [
                            direction,
                            m.account.name,
                            m.owner_name,
                            number(m.account.arr, 2),
                            number(m.previous.score, 1),
                            number(m.current.score, 1),
                            number(m.change, 1),
                            Band(m.previous.band).label,
                            Band(m.current.band).label,
                            "; ".join(x.sentence for x in m.measures),
                        ]
                    )
        return csv_response(filename=f"weekly-movers-{day:%Y-%m-%d}.csv", header=header, rows=rows)
    header = [
        gettext("Owner"),
        gettext("Accounts"),
        gettext("ARR"),
        gettext("Average score"),
        gettext("Unhealthy %"),
        gettext("Change this week (points)"),
        gettext("Accounts compared"),
    ]
    rows = []
    if runs is not None:
        for book in _books(week_review(runs=runs).summary):
            rows.append(
                [
                    book.name,
                    book.n,
                    number(book.arr, 2),
                    number(book.average_score, 1),
                    number(book.red_share, 1),
                    number(book.average_change, 1),
                    book.compared,
                ]
            )
    return csv_response(filename=f"weekly-csms-{day:%Y-%m-%d}.csv", header=header, rows=rows)


# ---------------------------------------------------------------- the view


@require_GET
@permission_required("accounts.view_team")
@export_recorded
def weekly_review(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    choice = WeekChoice(request.GET, today=today)
    span = review_span()
    runs = _runs(choice, span)
    if choice.export:
        return _export(choice, runs)
    if htmx.is_fragment(request) and runs is not None and request.htmx.target == DISTRIBUTION_ID:
        # The chart, and the picker out of band: its links and hidden field carry the measure.
        context = {"choice": choice, "picker_id": PICKER_ID}
        context.update(_picker(choice, span, runs), **_distribution(choice, runs))
        return htmx.render(request, PAGE, context, partial="distribution-update")
    context = {
        "choice": choice,
        "runs": runs,
        "notices": choice.ignored,
        "picker_id": PICKER_ID,
        "today": today,
        # A link (earlier / later week) changed the week: the picker follows. When the picker
        # itself changed it, swapping it would fight the user's choice.
        "refresh_picker": request.htmx.trigger != PICKER_ID,
    }
    context.update(_picker(choice, span, runs))
    if runs is not None:
        context.update(_review(choice, runs))
    return htmx.render(request, PAGE, context, partial="review-update")
