"""The Analytics page: does the score predict churn, when do customers leave, what would
predict better, how do customers feel, which plays save accounts. Five tabs, each showing
the newest stored analysis of its kind (scoring/analytics/, stored as AnalysisRun), so a tab
opens instantly; an Admin runs a fresh one in Celery and the tab polls its progress.
Managers and Admins read (accounts.view_team); only Admins run analyses and apply a
suggestion as a draft (scoring.add_scorecardversion: they make drafts in the editor too)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from healthboard.lib import htmx
from healthboard.lib.roles import permission_required
from healthboard.pages.analytics import charts
from healthboard.pages.analytics.forms import AnalysisForm
from healthboard.pages.analytics.selectors import analyses_shown, version_choices
from healthboard.pages.charts import figure_json
from scoring import services
from scoring.analytics.retention import MIN_MONTH_AT_RISK
from scoring.analytics.services import AnalysisInputError
from scoring.bands import ORDER
from scoring.models import AnalysisRun

READ = "accounts.view_team"
RUN = "scoring.add_scorecardversion"
PAGE = "analytics/analytics.html"
Kind = AnalysisRun.Kind


@dataclass(frozen=True)
class Tab:
    slug: str
    kind: str
    title: str
    url_name: str
    has_form: bool  # asks for a scorecard and a period (back-test, suggestion)


TABS = {
    tab.kind: tab
    for tab in (
        Tab("backtest", Kind.BACKTEST, gettext_lazy("Back-test"), "analytics:backtest", True),
        Tab("lifecycle", Kind.RETENTION, gettext_lazy("Lifecycle"), "analytics:lifecycle", False),
        Tab(
            "suggestion",
            Kind.SUGGESTION,
            gettext_lazy("Suggested scorecard"),
            "analytics:suggestion",
            True,
        ),
        Tab("surveys", Kind.SURVEYS, gettext_lazy("Surveys"), "analytics:surveys", False),
        Tab("plays", Kind.PLAYS, gettext_lazy("Plays"), "analytics:plays", False),
    )
}


def _form(request: HttpRequest, tab: Tab, latest: AnalysisRun | None, data=None):
    if not tab.has_form or not request.user.has_perm(RUN):
        return None, None
    # A suggestion learns from the published version; a back-test can try a draft.
    versions = version_choices(drafts=tab.kind == Kind.BACKTEST)
    initial = {"version": versions.default}
    if latest:
        initial = AnalysisForm.initial_from(latest.parameters, names=versions.names) or initial
    form = AnalysisForm(data, initial=initial, choices=versions.choices, today=timezone.localdate())
    return form, versions


def _figures(kind: str, result: dict) -> dict:
    """The tab's charts (JSON for data-plotly-figure), from the stored result."""
    if not result or result.get("status") == "not_enough_data":
        return {}
    if kind == Kind.BACKTEST:
        return {
            "bands": figure_json(charts.band_rates_figure(result["churn_rate_by_band"])),
            "roc": figure_json(charts.roc_figure(result["roc"], result["auc"])),
        }
    if kind == Kind.RETENTION:
        figures = {
            key: figure_json(charts.retention_figure(result[key], by_band=key == "by_band"))
            for key in ("by_band", "by_tenure", "by_cohort")
            if result.get(key)
        }
        if result.get("tenure_months"):
            figures["months"] = figure_json(
                charts.tenure_months_figure(result["tenure_months"], min_at_risk=MIN_MONTH_AT_RISK)
            )
        return figures
    if kind == Kind.SURVEYS:
        series = result.get("series", [])
        return {"series": [(s, figure_json(charts.survey_figure(s))) for s in series]}
    return {}


def _page(request: HttpRequest, tab: Tab, *, form=None, status: int | None = None):
    shown = analyses_shown(kind=tab.kind)
    if form is None:
        form, _unused = _form(request, tab, shown.latest)
    result = shown.latest.result if shown.latest else {}
    context = {
        "tab": tab,
        "tabs": TABS.values(),
        "shown": shown,
        "run": shown.latest,
        "result": result,
        "figures": _figures(tab.kind, result),
        # Stored JSON keeps no key order (jsonb): the bands in their usual order.
        "band_rows": [
            (band, result["churn_rate_by_band"][band])
            for band in ORDER
            if band in result.get("churn_rate_by_band", {})
        ],
        "form": form,
        "can_run": request.user.has_perm(RUN),
    }
    if tab.kind == Kind.PLAYS:
        context["groups"] = [
            (_("By rule"), result.get("by_rule", []), _("Rule")),
            (_("By playbook"), result.get("by_playbook", []), _("Playbook")),
        ]
    return htmx.render(request, PAGE, context, partial="results", status=status)


def _tab_view(kind: str):
    @permission_required(READ)
    @require_GET
    def view(request: HttpRequest) -> HttpResponse:
        return _page(request, TABS[kind])

    view.__name__ = f"analytics_{TABS[kind].slug}"
    view.__doc__ = f"The {TABS[kind].slug} tab: the newest stored analysis and its progress."
    return view


backtest = _tab_view(Kind.BACKTEST)
lifecycle = _tab_view(Kind.RETENTION)
suggestion = _tab_view(Kind.SUGGESTION)
surveys = _tab_view(Kind.SURVEYS)
plays = _tab_view(Kind.PLAYS)


@permission_required(RUN)
@require_POST
def analysis_run(request: HttpRequest, slug: str) -> HttpResponse:
    """Store an analysis and queue it; the tab then shows its progress. Bad parameters: the
    form again with what is wrong (400), nothing stored."""
    tab = next((t for t in TABS.values() if t.slug == slug), None)
    if tab is None:
        return redirect("analytics:backtest")
    if running := analyses_shown(kind=tab.kind).running:
        started = timezone.localtime(running.created_at)
        messages.warning(
            request,
            _(
                "A %(analysis)s asked for at %(time)s is still running: its result shows here "
                "when it ends."
            )
            % {"analysis": str(tab.title).lower(), "time": date_format(started, "H:i")},
        )
        return redirect(tab.url_name)
    parameters: dict = {}
    form = None
    if tab.has_form:
        form, versions = _form(request, tab, None, data=request.POST)
        if not form.is_valid():
            return _page(request, tab, form=form, status=400)
        parameters = form.parameters(names=versions.names)
    try:
        services.analysis_request(kind=tab.kind, parameters=parameters, user=request.user)
    except AnalysisInputError as exc:
        if form is None:
            raise
        form.add_error(None, str(exc))
        return _page(request, tab, form=form, status=400)
    return redirect(tab.url_name)


@permission_required(READ)
@require_GET
def analysis_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar of an analysis under way (polled by HTMX). Once it has finished the
    answer reloads the tab, which then shows the result (or the failure)."""
    run = get_object_or_404(AnalysisRun, pk=pk)
    tab = TABS[run.kind]
    if run.is_finished or not htmx.is_fragment(request):
        return HttpResponseClientRefresh() if htmx.is_fragment(request) else redirect(tab.url_name)
    return htmx.render(request, PAGE, {"tab": tab, "running": run}, partial="progress")


@permission_required(RUN)
@require_POST
def suggestion_apply(request: HttpRequest, pk: int) -> HttpResponse:
    """Apply a suggestion as a new draft (never active) and open it in the editor, whose
    what-if preview shows what it changes. Applied once: a second press opens that draft."""
    run = get_object_or_404(AnalysisRun, pk=pk, kind=Kind.SUGGESTION)
    if run.draft_id is not None:
        draft = run.draft
        messages.info(
            request, _("This suggestion is already draft v%(number)s.") % {"number": draft.number}
        )
    else:
        try:
            draft = services.scorecard_draft_suggest(analysis=run, user=request.user)
        except services.SuggestionNotApplicable as exc:
            messages.error(request, str(exc))
            return redirect("analytics:suggestion")
        messages.success(
            request,
            _(
                "The suggested measures are draft v%(number)s of %(name)s: the preview below "
                "shows what they change. Nothing is published."
            )
            % {"number": draft.number, "name": run.scorecard.name},
        )
    return redirect("scoring:scorecard_draft", pk=draft.scorecard_id, number=draft.number)
