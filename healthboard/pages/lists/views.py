"""The action lists: advocates, expansion, collections and pain points. Each is a page with
the portfolio's filters, sortable columns and a CSV export of every row.

Every role reads every list. The filter form is a plain GET form; HTMX requests get the
results region (templates/lists/list.html#results-update), everything else the page. A list
whose catalogue metrics are missing says which it needs instead of showing nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from healthboard.lib import htmx
from healthboard.lib.csvfile import csv_response
from healthboard.lib.dates import short_day_text
from healthboard.lib.roles import role_of
from healthboard.pages.audited import export_recorded
from healthboard.pages.filters import ALL, ME
from healthboard.pages.lists.advocates import Advocates
from healthboard.pages.lists.base import AccountList, Cell_, owner_text
from healthboard.pages.lists.collections import Collections
from healthboard.pages.lists.expansion import Expansion
from healthboard.pages.lists.forms import ListFilterForm, list_form
from healthboard.pages.lists.pain_points import (
    CATEGORY_CSV_HEADER,
    CATEGORY_DEFAULT_SORT,
    CATEGORY_SORTS,
    MAX_CATEGORIES,
    NO_CATEGORY,
    CategoryAccounts,
    category_csv_row,
    category_label,
    pain_point_categories,
)
from healthboard.pages.lists.selectors import list_page, list_rows, metric_ids
from healthboard.pages.portfolio.selectors import score_run_latest
from healthboard.pages.portfolio.views import Links, account_url, account_url_pattern

PAGE = "lists/list.html"
FORM_ID = "list-filters"

# The tabs, in order: (URL name, label, what the list is for).
TABS = (
    ("lists:advocates", Advocates),
    ("lists:expansion", Expansion),
    ("lists:collections", Collections),
    ("lists:pain_points", CategoryAccounts),
)

# The columns every list of accounts starts and ends with around its own.
LEAD_COLUMNS = (
    ("name", _("Account"), "ls-col-name", False),
    ("owner", _("Owner"), "pf-wide", False),
)
# On a phone the health chip moves under the name (templates/lists/list.html), leaving the
# width to the figures that put the account on the list.
HEALTH_COLUMN = ("score", _("Health"), "ls-col-health pf-medium", False)
TAIL_COLUMNS = (
    ("arr", _("ARR"), "num pf-medium", True),
    ("renewal", _("Renewal"), "pf-medium ls-nowrap", False),
)

CATEGORY_COLUMNS = (
    ("category", _("Category"), "ls-col-name", False),
    ("accounts", _("At-risk accounts"), "num", True),
    ("unhealthy", _("Unhealthy"), "num pf-medium", True),
    ("arr", _("ARR"), "num", True),
    ("tickets", _("Tickets"), "num pf-medium", True),
)


def _require_role(request: HttpRequest) -> None:
    # Every role reads the lists; role_of's query is the one the layout makes anyway.
    if role_of(request.user) is None:
        raise PermissionDenied


def _pain_points_form() -> type[ListFilterForm]:
    return list_form(
        CategoryAccounts,
        with_category=True,
        default_sort=CATEGORY_DEFAULT_SORT,
        extra_sorts=tuple(CATEGORY_SORTS),
    )


def _columns(links: Links, sort: str, columns) -> list[dict]:
    """The headings with their sort links: a first click sorts the column's natural way, a
    second reverses it."""
    out = []
    for key, label, css, descending_first in columns:
        column = {"label": label, "css": css, "url": None, "aria_sort": None, "indicator": ""}
        if key is not None:
            if sort == key:
                column["aria_sort"], column["indicator"], next_sort = "ascending", "▲", f"-{key}"
            elif sort == f"-{key}":
                column["aria_sort"], column["indicator"], next_sort = "descending", "▼", key
            else:
                next_sort = f"-{key}" if descending_first else key
            column["url"] = links.with_(sort=next_sort)
        out.append(column)
    return out


def _account_columns(action_list: AccountList) -> list[tuple]:
    own = [(c.key, c.label, c.css, c.descending_first) for c in action_list.columns]
    return [*LEAD_COLUMNS, HEALTH_COLUMN, *own, *TAIL_COLUMNS]


def _decorate(rows: list[dict], action_list: AccountList, today) -> None:
    pattern = account_url_pattern()
    for row in rows:
        row["url"] = account_url(row["id"], pattern)
        row["owner"] = owner_text(row)
        row["cells"] = action_list.cells(row)
        renewal = row["renewal_date"]
        row["renewal"] = Cell_(short_day_text(renewal)) if renewal else None


def _base_context(request: HttpRequest, form: ListFilterForm, active: str) -> dict:
    notices = form.ignored_notices()
    return {
        "form": form,
        "form_id": FORM_ID,
        "notices": notices,
        "owner": form.owner_choice,
        "owner_name": form.owner_name(),
        "clear_url": request.path,
        "tabs": [
            {"url": reverse(name), "title": cls.title, "current": cls.slug == active}
            for name, cls in TABS
        ],
        "run": score_run_latest(),
    }


def _list_context(request: HttpRequest, action_list: AccountList, form: ListFilterForm) -> dict:
    context = _base_context(request, form, action_list.slug)
    context.update(action_list=action_list, rule=action_list.rule())
    ids = metric_ids(keys=action_list.metrics)
    context["missing"] = action_list.missing(ids)
    if context["run"] is None or context["missing"]:
        return context
    context["limits"] = action_list.limits(ids)
    links = Links(request.path, form.query())
    filters = form.filters()
    today = timezone.localdate()
    sql, params = action_list.sql(ids=ids, run=context["run"], filters=filters, today=today)
    page = list_page(
        sql=sql,
        params=params,
        order_by=action_list.order_by(form.sort_key),
        number=_page_number(request, context["notices"]),
    )
    context["notices"] += page.notices
    _decorate(page.rows, action_list, today)
    context.update(
        page=page,
        rows=page.rows,
        columns=_columns(links, form.sort_key, _account_columns(action_list)),
        first_url=links.page(1),
        previous_url=links.page(page.number - 1),
        next_url=links.page(page.number + 1),
        last_url=links.page(page.num_pages),
        everyone_url=links.with_(owner=ALL),
        me_url=links.with_(owner=ME),
        export_url=_export_url(request, links),
    )
    return context


def _page_number(request: HttpRequest, notices: list[str]) -> int:
    raw = request.GET.get("page")
    if not raw:
        return 1
    try:
        number = int(raw)
    except ValueError:
        notices.append(
            gettext("“%(page)s” is not a page number: showing page 1.") % {"page": raw[:20]}
        )
        return 1
    if number < 1:
        notices.append(gettext("There is no page %(page)s: showing page 1.") % {"page": number})
        return 1
    return number


def _export_url(request: HttpRequest, links: Links) -> str:
    path = request.path.rstrip("/") + "/export.csv"
    query = links.query.urlencode()
    return f"{path}?{query}" if query else path


def _render(request: HttpRequest, context: dict) -> HttpResponse:
    # The form changed the filters itself: swapping it would eat the user's typing.
    context["refresh_form"] = request.htmx.trigger != FORM_ID
    return htmx.render(request, PAGE, context, partial="results-update")


def _account_list(request: HttpRequest, action_list: AccountList) -> HttpResponse:
    _require_role(request)
    form = list_form(type(action_list)).for_request(request)
    return _render(request, _list_context(request, action_list, form))


def _account_list_csv(
    request: HttpRequest, action_list: AccountList, form: ListFilterForm
) -> StreamingHttpResponse:
    run = score_run_latest()
    ids = metric_ids(keys=action_list.metrics)
    day = run.date if run else timezone.localdate()
    filename = f"{action_list.slug}-{day:%Y-%m-%d}.csv"
    if run is None or action_list.missing(ids):
        rows: Iterator = iter(())
    else:
        sql, params = action_list.sql(
            ids=ids, run=run, filters=form.filters(), today=timezone.localdate()
        )
        order_by = action_list.order_by(form.sort_key)
        rows = (
            action_list.csv_row(row) for row in list_rows(sql=sql, params=params, order_by=order_by)
        )
    return csv_response(filename=filename, header=action_list.csv_header, rows=rows)


@require_GET
def lists_index(request: HttpRequest) -> HttpResponse:
    """/lists/ opens the first list."""
    _require_role(request)
    return redirect("lists:advocates")


@require_GET
def advocates(request: HttpRequest) -> HttpResponse:
    return _account_list(request, Advocates())


@require_GET
def expansion(request: HttpRequest) -> HttpResponse:
    return _account_list(request, Expansion())


@require_GET
def collections(request: HttpRequest) -> HttpResponse:
    return _account_list(request, Collections())


def _csv_view(action_list_class: type[AccountList]):
    @require_GET
    @export_recorded
    def view(request: HttpRequest) -> StreamingHttpResponse:
        """Every row of the list for the same parameters, not only the page shown."""
        _require_role(request)
        form = list_form(action_list_class).for_request(request)
        return _account_list_csv(request, action_list_class(), form)

    view.__name__ = f"{action_list_class.slug.replace('-', '_')}_csv"
    return view


advocates_csv = _csv_view(Advocates)
expansion_csv = _csv_view(Expansion)
collections_csv = _csv_view(Collections)


# ---------------------------------------------------------------- pain points


def _category_of(form: ListFilterForm) -> str | None:
    category = form.chosen_category
    if category is None:
        return None
    return "" if category == NO_CATEGORY else category


def _account_sort(form: ListFilterForm) -> str:
    """The accounts of a category sort by their own columns; a category table's sort
    (accounts, tickets…) falls back to the largest ARR first."""
    sort = form.sort_key
    if sort.removeprefix("-") in CategoryAccounts.sorts:
        return sort
    return CategoryAccounts.default_sort


def _category_sort(form: ListFilterForm) -> str:
    """The categories' sort; an account column's sort falls back to the default."""
    sort = form.sort_key
    return sort if sort.removeprefix("-") in CATEGORY_SORTS else CATEGORY_DEFAULT_SORT


@require_GET
def pain_points(request: HttpRequest) -> HttpResponse:
    _require_role(request)
    form = _pain_points_form().for_request(request)
    category = _category_of(form)
    if category is not None:
        action_list = CategoryAccounts(category)
        form.cleaned_data["sort"] = _account_sort(form)
        context = _list_context(request, action_list, form)
        context.update(
            category=category_label(category),
            categories_url=Links(request.path, form.query()).with_(category=None, sort=None),
        )
        return _render(request, context)

    action_list = CategoryAccounts()
    context = _base_context(request, form, action_list.slug)
    context.update(action_list=action_list, rule=action_list.rule(), categories_page=True)
    ids = metric_ids(keys=action_list.metrics)
    context["missing"] = action_list.missing(ids)
    if context["run"] is None or context["missing"]:
        return _render(request, context)
    links = Links(request.path, form.query())
    sort = _category_sort(form)
    categories = pain_point_categories(
        ids=ids, run=context["run"], filters=form.filters(), today=timezone.localdate(), sort=sort
    )
    pattern = account_url_pattern()
    for category in categories[:MAX_CATEGORIES]:
        category.url = links.with_(category=category.param, sort=None)
        for account in category.top:
            account["url"] = account_url(account["id"], pattern)
    context.update(
        categories=categories[:MAX_CATEGORIES],
        categories_total=len(categories),
        max_categories=MAX_CATEGORIES,
        columns=_columns(links, sort, CATEGORY_COLUMNS),
        everyone_url=links.with_(owner=ALL),
        export_url=_export_url(request, links),
    )
    return _render(request, context)


@require_GET
@export_recorded
def pain_points_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The categories, or with ?category= the accounts of one category, for the same
    parameters."""
    _require_role(request)
    form = _pain_points_form().for_request(request)
    category = _category_of(form)
    if category is not None:
        form.cleaned_data["sort"] = _account_sort(form)
        return _account_list_csv(request, CategoryAccounts(category), form)
    run = score_run_latest()
    ids = metric_ids(keys=CategoryAccounts.metrics)
    day = run.date if run else timezone.localdate()
    categories = []
    if run is not None and not CategoryAccounts().missing(ids):
        sort = _category_sort(form)
        categories = pain_point_categories(
            ids=ids, run=run, filters=form.filters(), today=timezone.localdate(), sort=sort
        )
    return csv_response(
        filename=f"pain-points-{day:%Y-%m-%d}.csv",
        header=CATEGORY_CSV_HEADER,
        rows=(category_csv_row(category) for category in categories),
    )
