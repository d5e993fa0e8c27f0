"""The portfolio (the home page): every active account's health, filtered, sorted, paged.

The filter form is a plain GET form, so every view of the portfolio is a URL. HTMX requests
get the table region with the band summary (and, when a link rather than the form changed
the filters, the form) swapped out of band; everything else gets the whole page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from functools import cached_property

from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from accounts.exports import account_rows, export_header
from accounts.i18n import builtin
from accounts.models import Account
from healthboard.lib import htmx
from healthboard.lib.csvfile import csv_response, number
from healthboard.lib.dates import day_text, short_day_text
from healthboard.lib.numbers import number_text
from healthboard.lib.roles import ADMIN, permission_required, role_grants, role_of
from healthboard.pages.audited import export_recorded
from healthboard.pages.filters import ALL, ME, user_label
from healthboard.pages.portfolio.forms import PortfolioFilterForm
from healthboard.pages.portfolio.selectors import (
    PAGE_SIZE,
    PortfolioFilters,
    RunPair,
    portfolio_accounts,
    portfolio_page,
    portfolio_summary,
    score_runs_for,
    score_sparklines,
)
from healthboard.pages.sparklines import sparkline_svg
from healthboard.pages.templatetags.healthboard import band_chip, renewal_note
from scoring.bands import Band
from scoring.pipeline.backfill_runs import backfill_progress

PAGE = "portfolio/portfolio.html"
FORM_ID = "portfolio-filters"

# (sort key, heading, CSS class, whether the first click sorts descending). The first click
# puts what needs attention first: lowest scores, biggest drops, largest ARR, next renewals.
COLUMNS = [
    ("name", _("Account"), "pf-col-name", False),
    ("owner", _("Owner"), "pf-col-owner pf-wide", False),
    ("segment", _("Segment"), "pf-col-segment pf-wide", False),
    ("stage", _("Stage"), "pf-col-stage pf-wide", False),
    ("arr", _("ARR"), "num pf-col-arr pf-medium", True),
    ("renewal", _("Renewal"), "pf-col-renewal pf-medium", False),
    ("score", _("Health"), "pf-col-score", False),
    ("delta", _("7-day change"), "num pf-col-delta pf-medium", False),
    (None, _("30 days"), "pf-col-spark pf-medium", False),
    ("coverage", _("Coverage"), "num pf-col-coverage pf-wide", False),
]


# Reversed once per request with a stand-in pk, then filled in: fifty reverse() calls
# cost more than the rest of a row.
_PK = 987654321


def account_url_pattern() -> str:
    """The drilldown's URL with a stand-in pk; the literal path if the URL is missing."""
    try:
        return reverse("accounts:detail", kwargs={"pk": _PK})
    except NoReverseMatch:
        return f"/accounts/{_PK}/"


def account_url(pk: int, pattern: str | None = None) -> str:
    return (pattern or account_url_pattern()).replace(str(_PK), str(pk))


class CountedPaginator(Paginator):
    """A paginator told its count: the band summary has already counted the filtered rows,
    so no second COUNT(*) over the joined rows."""

    def __init__(self, object_list, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


class _PageRows:
    """What the paginator slices: a slice is one query for just that page's rows."""

    def __init__(self, fetch) -> None:
        self.fetch = fetch

    def __getitem__(self, page: slice) -> list[Account]:
        return self.fetch(page.start, page.stop)


def _require_role(request: HttpRequest) -> None:
    # Every role reads every account; role_of's query is the one the layout makes anyway,
    # where has_perm would cost two more.
    if role_of(request.user) is None:
        raise PermissionDenied


def _runs(form: PortfolioFilterForm, notices: list[str]) -> RunPair | None:
    if form.scores_on is None:
        return score_runs_for()
    runs = score_runs_for(on=form.scores_on)
    if runs is None:
        notices.append(
            gettext("There are no scores for %(day)s: showing the latest instead.")
            % {"day": day_text(form.scores_on)}
        )
        form.data.pop("date")
        runs = score_runs_for()
    return runs


def _page(paginator: Paginator, raw: str | None, notices: list[str]) -> Page:
    if not raw:
        return paginator.page(1)
    try:
        number = int(raw)
    except ValueError:
        notices.append(
            gettext("“%(page)s” is not a page number: showing page 1.") % {"page": raw[:20]}
        )
        return paginator.page(1)
    if number < 1:
        notices.append(gettext("There is no page %(page)s: showing page 1.") % {"page": number})
        return paginator.page(1)
    if number > paginator.num_pages:
        notices.append(
            gettext("There is no page %(number)s: showing the last page (%(last)s).")
            % {"number": number, "last": paginator.num_pages}
        )
        return paginator.page(paginator.num_pages)
    return paginator.page(number)


class Links:
    """URLs of this page with some parameters changed, built on the applied filters only
    (an ignored value is not carried into the next link)."""

    def __init__(self, path: str, query: QueryDict) -> None:
        self.path, self.query = path, query

    def with_(self, **changes) -> str:
        query = self.query.copy()
        query.pop("page", None)
        for key, value in changes.items():
            query.pop(key, None)
            if isinstance(value, list | tuple):
                query.setlist(key, [str(v) for v in value])
            elif value is not None:
                query[key] = str(value)
        return f"{self.path}?{query.urlencode()}" if query else self.path

    def page(self, number: int) -> str:
        query = self.query.copy()
        query["page"] = str(number)
        return f"{self.path}?{query.urlencode()}"


def _columns(links: Links, sort: str) -> list[dict]:
    columns = []
    for key, label, css, descending_first in COLUMNS:
        column = {"key": key, "label": label, "css": css, "url": None, "aria_sort": None}
        if key is not None:
            if sort == key:
                column["aria_sort"], column["indicator"], next_sort = "ascending", "▲", f"-{key}"
            elif sort == f"-{key}":
                column["aria_sort"], column["indicator"], next_sort = "descending", "▼", key
            else:
                next_sort = f"-{key}" if descending_first else key
            column["url"] = links.with_(sort=next_sort)
        columns.append(column)
    return columns


def _band_cards(summary: dict, filters: PortfolioFilters, links: Links) -> None:
    """Each band of the summary strip links to the table filtered to it (or, when it is
    already picked, to the table without it)."""
    for row in summary["rows"]:
        band = row["band"]
        row["selected"] = band in filters.bands
        if row["selected"]:
            row["url"] = links.with_(band=[b for b in filters.bands if b != band])
        else:
            row["url"] = links.with_(band=[band])


def _decorate(rows: list[Account], history: dict, today: dt.date) -> None:
    """What the template shows per row beyond the model's fields."""
    pattern = account_url_pattern()
    for row in rows:
        row.url = account_url(row.pk, pattern)
        row.chip = band_chip(row.band, row.score)
        row.renewal_text = short_day_text(row.renewal_date) if row.renewal_date else ""
        row.renewal_note = renewal_note(row.days_to_renewal(today))
        row.renewal_soon = row.renews_soon(today)
        row.coverage_pct = round(100 * row.coverage) if row.coverage is not None else None
        # Same rule as the `arrow` filter: no direction for a change shown as 0.0.
        delta = row.delta_7d
        row.delta_dir = (
            "" if delta is None or round(delta, 1) == 0 else "up" if delta > 0 else "down"
        )
        row.sparkline = sparkline_svg(history[row.pk], css_class=f"spark-{row.band}")


def _filling(notices: list[str]) -> None:
    """Say so while a back-fill runs (the demo's first minutes): earlier days, the trends and
    the comparisons with them are still coming."""
    filling = backfill_progress()
    if filling is not None:
        notices.append(
            gettext(
                "History is being filled in: %(scored)s of %(days)s days scored so far, now "
                "at %(day)s. Trends and comparisons with earlier days complete as it goes."
            )
            % {
                "scored": number_text(filling.scored),
                "days": number_text(filling.days),
                "day": day_text(filling.at),
            }
        )


def _context(request: HttpRequest) -> dict:
    form = PortfolioFilterForm.for_request(request)
    notices: list[str] = form.ignored_notices()
    _filling(notices)
    runs = _runs(form, notices)
    filters = form.filters()
    links = Links(request.path, form.query())
    context = {
        "form": form,
        "form_id": FORM_ID,
        "runs": runs,
        "filters": filters,
        "notices": notices,
        "owner": form.owner_choice,
        "clear_url": request.path,
    }
    if runs is None:
        return context

    today = timezone.localdate()
    summary = portfolio_summary(runs=runs, filters=filters, today=today)
    _band_cards(summary, filters, links)
    shown = [row for row in summary["rows"] if not filters.bands or row["band"] in filters.bands]
    paginator = CountedPaginator(
        _PageRows(
            lambda start, stop: portfolio_page(
                runs=runs, filters=filters, today=today, start=start, stop=stop
            )
        ),
        PAGE_SIZE,
        count=sum(row["n"] for row in shown),
    )
    page = _page(paginator, request.GET.get("page"), notices)
    rows = list(page.object_list)
    _decorate(rows, score_sparklines(account_ids=[r.pk for r in rows], until=runs.run.date), today)

    context.update(
        # Nothing to filter: the run scored no active account at all.
        nothing_scored=summary["n"] == 0 and filters == PortfolioFilters(sort=filters.sort),
        today=today,
        summary=summary,
        shown_arr=sum((row["arr"] for row in shown), Decimal(0)),
        page=page,
        paginator=paginator,
        rows=rows,
        columns=_columns(links, filters.sort),
        owner_name=form.owner_name(),
        # The toggle is for people with a book; "me" stays reachable from the owner list.
        show_book_toggle=any(o.pk == request.user.pk for o in form.owners)
        or context["owner"] == ME,
        first_url=links.page(1),
        previous_url=links.page(page.number - 1),
        next_url=links.page(page.number + 1),
        last_url=links.page(paginator.num_pages),
        me_url=links.with_(owner=ME),
        all_url=links.with_(owner=ALL),
        prev_band_labels=[Band(b).label for b in filters.prev_bands],
        without_prev_band_url=links.with_(prev_band=None),
        everyone_url=links.with_(owner=ALL),
        # Ticking rows and reassigning them (Managers); the owners' list loads when needed.
        can_reassign=role_grants(request.user, "accounts.reassign_owner"),
        export_url=reverse("accounts:portfolio_csv")
        + (f"?{links.query.urlencode()}" if links.query else ""),
        reimport_url=reverse("accounts:portfolio_accounts_csv")
        + (f"?{links.query.urlencode()}" if links.query else "")
        # The role says it without has_perm's two queries; the view asks the permission.
        if role_of(request.user) == ADMIN
        else None,
    )
    return context


@require_GET
def portfolio(request: HttpRequest) -> HttpResponse:
    _require_role(request)
    context = _context(request)
    # The form changed the filters itself: swapping it would eat the user's typing.
    context["refresh_form"] = request.htmx.trigger != FORM_ID
    return htmx.render(request, PAGE, context, partial="table-update")


@require_GET
def portfolio_redirect(request: HttpRequest) -> HttpResponse:
    """/accounts/ is the portfolio too; it lives at the home page."""
    url = reverse("home")
    return redirect(f"{url}?{request.GET.urlencode()}" if request.GET else url)


# ---------------------------------------------------------------- CSV export

CSV_HEADER = [
    _("Name"),
    _("External id"),
    _("Owner"),
    _("Segment"),
    _("Stage"),
    _("ARR"),
    _("Renewal date"),
    _("Score"),
    _("Health"),
    _("7-day change"),
    _("Coverage %"),
]


def _csv_rows(rows) -> Iterator[list]:
    for row in rows.iterator(chunk_size=2000):
        yield [
            row.name,
            row.external_id,
            user_label(row.owner) if row.owner else "",
            row.segment.name,
            builtin(row.stage.name),
            number(row.arr, 2),
            row.renewal_date,
            number(row.score, 1),
            Band(row.band).label,
            number(row.delta_7d, 1),
            number(None if row.coverage is None else 100 * row.coverage, 0),
        ]


@require_GET
@export_recorded
def portfolio_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Exactly the rows the portfolio shows for the same parameters, every page of them."""
    _require_role(request)
    rows, date = _filtered_accounts(request)
    return csv_response(
        filename=f"portfolio-{date:%Y-%m-%d}.csv", header=CSV_HEADER, rows=_csv_rows(rows)
    )


def _filtered_accounts(request: HttpRequest) -> tuple[QuerySet[Account], dt.date]:
    """The rows of the portfolio for the request's parameters, and the day they are of."""
    form = PortfolioFilterForm.for_request(request)
    runs = _runs(form, [])
    if runs is None:
        return Account.objects.none(), timezone.localdate()
    rows = portfolio_accounts(runs=runs, filters=form.filters(), today=timezone.localdate())
    return rows, runs.run.date


# The accounts import's own format is for the people who import: it carries the owners'
# e-mail addresses and every field the import writes.
REIMPORT_PERMISSION = "accounts.import_data"


@require_GET
@permission_required(REIMPORT_PERMISSION)
@export_recorded
def portfolio_accounts_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The portfolio's filtered accounts in the accounts import's columns ("export for
    re-import"): importing the file again changes nothing."""
    rows, date = _filtered_accounts(request)
    return csv_response(
        filename=f"accounts-{date:%Y-%m-%d}.csv",
        header=export_header("accounts"),
        rows=account_rows(rows),
    )
