"""The journey board: one column per journey stage, the accounts in it by health, the
stage's KPIs and playbook, and a control to move an account to another stage.

Every role reads the board; moving an account is for whoever can work on it
(healthboard.roles.can_work_on) and goes through accounts.services.stage_change. The filter
form is a plain GET form; HTMX requests get the board region (templates/journey/journey.html
#board-update), everything else the page.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from accounts import services
from accounts.i18n import builtin
from accounts.models import JourneyStage, Segment
from healthboard.lib import htmx
from healthboard.lib.csvfile import csv_response, number
from healthboard.lib.roles import can_work_on, role_of
from healthboard.pages.account import selectors as drilldown
from healthboard.pages.account.forms import StageForm
from healthboard.pages.audited import export_recorded
from healthboard.pages.charts import figure_json
from healthboard.pages.filters import ACCOUNTS, ALL, ARR, MEASURES, user_label
from healthboard.pages.journey.charts import stage_bands_figure, stage_bands_summary
from healthboard.pages.journey.forms import JourneyFilterForm
from healthboard.pages.journey.selectors import (
    StageColumn,
    journey_board,
    journey_rows,
    journey_stages,
)
from healthboard.pages.portfolio.selectors import score_run_latest
from scoring.bands import Band

PAGE = "journey/journey.html"
FORM_ID = "journey-filters"
# The alert classes of base.html's messages, for the status shown in the board itself.
LEVEL_TAGS = {messages.SUCCESS: "success", messages.INFO: "info", messages.ERROR: "error"}


def _require_role(request: HttpRequest) -> None:
    # Every role reads the board; role_of's query is the one the layout makes anyway.
    if role_of(request.user) is None:
        raise PermissionDenied


def _url(path: str, query: QueryDict) -> str:
    return f"{path}?{query.urlencode()}" if query else path


def _stage_options(stages: list[JourneyStage]) -> dict[int, str]:
    """The move control's <option>s with each stage selected: built once per stage rather
    than looped over in every card's template (a board shows up to 180 cards)."""
    return {
        current.pk: format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (s.pk, mark_safe(" selected") if s.pk == current.pk else "", builtin(s.name))
                for s in stages
            ),
        )
        for current in stages
    }


def _decorate(
    request: HttpRequest,
    columns: list[StageColumn],
    form: JourneyFilterForm,
    stages: list[JourneyStage],
) -> None:
    """What the template shows per column and card beyond the selectors' numbers."""
    today = timezone.localdate()
    board_query = f"?{form.query().urlencode()}"
    home = reverse("home")
    options = _stage_options(stages)
    past_target = gettext("· past target")
    # Every card's owner owns an active account, so is among the form's owners.
    owners = {owner.pk: user_label(owner) for owner in form.owners}
    # reverse() once, not per card: the paths differ only by the account id.
    detail = reverse("accounts:detail", args=[0]).removesuffix("0/")
    move = reverse("accounts:journey_move", args=[0]).removesuffix("0/move/")
    for column in columns:
        column.portfolio_url = _url(home, form.portfolio_query(column.stage.slug))
        column.practices = column.stage.practices()
        column.band_list = [column.bands[band] for band in column.bands]
        for card in column.cards:
            account = card.account
            card.url = f"{detail}{account.pk}/"
            card.days = account.days_in_stage(today)
            card.past_target = card.days is not None and card.days > column.stage.target_days
            if card.days is not None:
                card.days_text = ngettext(
                    "%(days)s day in stage", "%(days)s days in stage", card.days
                ) % {"days": card.days}
                if card.past_target:
                    card.days_text += f" {past_target}"
            card.owner_name = owners.get(account.owner_id, gettext("Unassigned"))
            card.can_move = can_work_on(request.user, account)
            if card.can_move:
                card.move_label = gettext("Move %(name)s to stage") % {"name": account.name}
                card.move_url = f"{move}{account.pk}/move/{board_query}"
                card.stage_options = options.get(account.stage_id, "")


def _context(request: HttpRequest, data: QueryDict) -> dict:
    form = JourneyFilterForm.for_request(request, data)
    notices = form.ignored_notices()
    path = reverse("accounts:journey")
    query = form.query()
    context: dict = {
        "form": form,
        "form_id": FORM_ID,
        "notices": notices,
        "owner": form.owner_choice,
        "owner_name": form.owner_name(),
        "clear_url": path,
        "move_text": gettext("Move"),
        "run": score_run_latest(),
    }
    if context["run"] is None:
        return context
    stages = journey_stages()
    filters = form.filters()
    columns = journey_board(
        run=context["run"], stages=stages, filters=filters, today=timezone.localdate()
    )
    _decorate(request, columns, form, stages)
    measure = form.chart_measure
    toggles = []
    for key, label in MEASURES.items():
        toggle = query.copy()
        toggle.pop("measure", None)
        if key != ACCOUNTS:
            toggle["measure"] = key
        toggles.append({"key": key, "label": label, "url": _url(path, toggle)})
    everyone = query.copy()
    everyone["owner"] = ALL
    # The export lists the board's accounts: what the chart counts does not change them.
    export_query = query.copy()
    export_query.pop("measure", None)
    context.update(
        stages=stages,
        columns=columns,
        filters=filters,
        total=sum(column.n for column in columns),
        total_arr=sum(column.arr for column in columns),
        measure=measure,
        toggles=toggles,
        figure_json=figure_json(stage_bands_figure(columns, measure=measure)),
        chart_summary=stage_bands_summary(columns, measure=measure),
        everyone_url=_url(path, everyone),
        export_url=_url(reverse("accounts:journey_csv"), export_query),
        filtered=bool(filters.bands or filters.segment_id or filters.owner_id is not None),
        is_arr=measure == ARR,
    )
    return context


def _render_board(
    request: HttpRequest, data: QueryDict, *, status: str = "", level: str = "success"
) -> HttpResponse:
    context = _context(request, data)
    context.update(status=status, status_level=level)
    # A link (the chart toggle, "all accounts") changed the filters: the form follows.
    # When the form itself changed them, swapping it would eat the user's input.
    context["refresh_form"] = request.htmx.trigger != FORM_ID
    return htmx.render(request, PAGE, context, partial="board-update")


@require_GET
def journey(request: HttpRequest) -> HttpResponse:
    _require_role(request)
    return _render_board(request, request.GET)


@require_POST
@htmx.vary_on_htmx
def journey_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move one account to another stage from its card. The board's filters ride along in
    the query string, so the refreshed board (or the redirect) shows what it showed."""
    account = drilldown.account_get(pk=pk)
    if not can_work_on(request.user, account):
        raise PermissionDenied(
            gettext("Only the account's owner, a manager or an admin can move it.")
        )
    stages = list(JourneyStage.objects.order_by("order"))
    form = StageForm(request.POST, stages=stages)
    if not form.is_valid():
        problem = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        status = gettext("%(account)s was not moved: %(problem)s") % {
            "account": account.name,
            "problem": problem,
        }
        level = messages.ERROR
    else:
        from_stage = account.stage
        to_stage = form.cleaned_data["stage"]
        change = services.stage_change(
            account=account,
            to_stage=to_stage,
            user=request.user,
            comment=form.cleaned_data.get("comment") or "",
        )
        if change is None:
            status = gettext("%(account)s is already in %(stage)s; nothing changed.") % {
                "account": account.name,
                "stage": builtin(to_stage.name),
            }
            level = messages.INFO
        else:
            status = gettext("Moved %(account)s from %(from)s to %(to)s.") % {
                "account": account.name,
                "from": builtin(from_stage.name),
                "to": builtin(to_stage.name),
            }
            level = messages.SUCCESS
    if htmx.is_fragment(request):
        return _render_board(request, request.GET, status=status, level=LEVEL_TAGS[level])
    messages.add_message(request, level, status)
    return redirect(_url(reverse("accounts:journey"), request.GET.copy()))


# ---------------------------------------------------------------- CSV export

CSV_HEADER = [
    _("Stage"),
    _("Account"),
    _("External id"),
    _("Owner"),
    _("Segment"),
    _("Health"),
    _("Score"),
    _("ARR"),
    _("Renewal date"),
    _("Days in stage"),
    _("Past the stage's target"),
]


def _csv_rows(rows, *, owners: dict[int, str], segments: dict[int, str]):
    for row in rows:
        days = row.days_in_stage
        yield [
            builtin(row.stage.name),
            row.name,
            row.external_id,
            owners.get(row.owner_id, ""),
            segments.get(row.segment_id, ""),
            Band(row.band).label,
            number(row.score, 1),
            number(row.arr, 2),
            row.renewal_date,
            days,
            ""
            if days is None
            else (gettext("yes") if days > row.stage.target_days else gettext("no")),
        ]


@require_GET
@export_recorded
def journey_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every account the board places for the same filters, stage by stage, most at risk
    first: the columns' cards and the ones behind "show all"."""
    _require_role(request)
    form = JourneyFilterForm.for_request(request, request.GET)
    run = score_run_latest()
    if run is None:
        return csv_response(
            filename=f"journey-{timezone.localdate():%Y-%m-%d}.csv", header=CSV_HEADER, rows=[]
        )
    rows = journey_rows(
        run=run, stages=journey_stages(), filters=form.filters(), today=timezone.localdate()
    )
    # Every owner of an active account is among the form's owners; segments are a few rows:
    # both read once, not joined on every row.
    owners = {owner.pk: user_label(owner) for owner in form.owners}
    segments = dict(Segment.objects.values_list("pk", "name"))
    return csv_response(
        filename=f"journey-{run.date:%Y-%m-%d}.csv",
        header=CSV_HEADER,
        rows=_csv_rows(rows, owners=owners, segments=segments),
    )
