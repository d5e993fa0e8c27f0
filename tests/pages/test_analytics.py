"""The Analytics page: roles, stored results shown with their charts and words, not enough
data explained, analyses run through the queue with a progress bar, a suggestion applied as
a draft (never active), and a bounded number of queries per tab."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from scoring.analytics.services import analysis_create, analysis_run_now
from scoring.models import AnalysisRun, Scorecard, ScorecardVersion
from tests.pages.analytics_history import history_day, labelled_history

TABS = [
    "analytics:backtest",
    "analytics:lifecycle",
    "analytics:suggestion",
    "analytics:surveys",
    "analytics:plays",
]
# The session and user, the role, the newest done analysis, one running, the newest attempt
# (when none runs), the versions for the form, messages: whatever the stored result holds.
MAX_QUERIES = 10
HTMX = {"HTTP_HX_REQUEST": "true"}
Kind = AnalysisRun.Kind


def _period(day: dt.date) -> dict:
    return {"scorecard": "Standard", "from": str(day), "to": str(day), "horizon": 90}


def _figures(html: str) -> list[dict]:
    return [
        json.loads(raw.replace("&quot;", '"').replace("&amp;", "&").replace("&#x27;", "'"))
        for raw in re.findall(r'data-plotly-figure="([^"]*)"', html)
    ]


def _asked(day: dt.date) -> dict:
    return {
        Kind.BACKTEST: _period(day),
        Kind.RETENTION: {},
        Kind.SURVEYS: {"from": str(day - dt.timedelta(days=200))},
        Kind.SUGGESTION: {**_period(day), "from": str(day - dt.timedelta(days=31))},
        Kind.PLAYS: {},
    }


@pytest.fixture(scope="module")
def results(django_db_setup, django_db_blocker) -> dict:
    """Every tab's analysis of a small labelled history, computed once for the module (a
    suggestion cross-validates: seconds), in a transaction rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        day = history_day()
        labelled_history(day)
        out = {}
        for kind, parameters in _asked(day).items():
            run = analysis_run_now(kind=kind, parameters=parameters)
            assert run.status == AnalysisRun.Status.DONE, run.error
            out[kind] = (run.parameters, run.result)
        transaction.set_rollback(True)
    return out


@pytest.fixture
def analysed(db, results) -> dict:
    """The results stored as each tab's newest analysis (as a worker leaves them)."""
    labelled_history(history_day())
    card = Scorecard.objects.get(name="Standard")
    return {
        kind: AnalysisRun.objects.create(
            kind=kind,
            status=AnalysisRun.Status.DONE,
            parameters=parameters,
            scorecard=card if parameters else None,
            version=card.versions.get(status="active") if parameters else None,
            result=result,
            progress=100,
            computed_at=timezone.now(),
        )
        for kind, (parameters, result) in results.items()
    }


@pytest.mark.parametrize("name", TABS)
def test_anonymous_visitors_are_sent_to_log_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("name", TABS)
def test_csms_are_refused(csm_client, name):
    assert csm_client.get(reverse(name)).status_code == 403


def test_csms_and_managers_cannot_run_or_apply(csm_client, manager_client, analysed):
    suggestion = analysed[Kind.SUGGESTION]
    for client in (csm_client, manager_client):
        run = client.post(reverse("analytics:run", args=["backtest"]), _period(history_day()))
        apply = client.post(reverse("analytics:apply", args=[suggestion.pk]))
        assert (run.status_code, apply.status_code) == (403, 403)
    assert AnalysisRun.objects.count() == len(TABS)
    assert not ScorecardVersion.objects.filter(status="draft").exists()


@pytest.mark.parametrize("name", TABS)
def test_managers_read_every_tab_without_the_admins_buttons(
    manager_client, analysed, django_assert_max_num_queries, name
):
    with django_assert_max_num_queries(MAX_QUERIES):
        response = manager_client.get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Computed " in html
    assert "Refresh" not in html and "Apply as draft" not in html
    assert 'action="/analytics/' not in html


@pytest.mark.parametrize("name", TABS)
def test_an_empty_tab_says_what_it_would_show_and_offers_a_run(
    admin_role_client, django_assert_max_num_queries, name
):
    with django_assert_max_num_queries(MAX_QUERIES):
        response = admin_role_client.get(reverse(name))
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r"<h2>No [a-z -]+ yet</h2>", html)
    assert f'action="{reverse("analytics:run", args=[name.split(":")[1]])}"' in html


def test_the_back_test_shows_its_figures_charts_and_words(admin_role_client, analysed):
    result = analysed[Kind.BACKTEST].result
    assert result["status"] == "ok", result["missing"]
    html = admin_role_client.get(reverse("analytics:backtest")).content.decode()

    assert f"{result['auc']:.2f}" in html
    assert f"{result['auc_low']:.2f}–{result['auc_high']:.2f}" in html
    for line in result["interpretation"]:
        assert line.replace("'", "&#x27;") in html
    bars, roc = _figures(html)
    rates = result["churn_rate_by_band"]
    shown = [b for b in ("green", "yellow", "red", "none") if rates[b]["n"]]
    assert bars["data"][0]["y"] == pytest.approx([100 * rates[b]["rate"] for b in shown])
    # The whiskers reach each band's interval.
    bar = bars["data"][0]
    tops = [y + e for y, e in zip(bar["y"], bar["error_y"]["array"], strict=True)]
    assert tops == pytest.approx([100 * rates[b]["high"] for b in shown])
    assert roc["data"][1]["x"] == [p["false_positive_rate"] for p in result["roc"]]
    # The table beside the chart: each band's scores and churners, in the bands' order.
    cells = [
        f'<td class="num">{rates[b]["n"]}</td><td class="num">{rates[b]["k"]}</td>' for b in shown
    ]
    assert all(cell in html for cell in cells)
    assert [html.index(cell) for cell in cells] == sorted(html.index(cell) for cell in cells)
    for measure in result["measures"]:
        assert measure["name"] in html
    # The form refreshes the analysis as it was asked.
    assert f'value="{analysed[Kind.BACKTEST].parameters["from"]}"' in html


def test_not_enough_data_is_explained_not_a_number(admin_role_client, db):
    labelled_history(history_day())
    today = timezone.localdate()
    run = analysis_run_now(kind=Kind.BACKTEST, parameters={**_period(today), "from": str(today)})
    assert run.result["status"] == "not_enough_data"

    response = admin_role_client.get(reverse("analytics:backtest"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Not enough data for a back-test" in html
    assert run.result["missing"][0] in html
    assert "data-plotly-figure" not in html and "AUC" not in html


def test_lifecycle_draws_retention_with_intervals_and_churn_by_month(manager_client, analysed):
    result = analysed[Kind.RETENTION].result
    html = manager_client.get(reverse("analytics:lifecycle")).content.decode()
    figures = _figures(html)
    curves = [c for key in ("by_band", "by_tenure", "by_cohort") for c in result[key]]
    assert curves
    drawn = [t for f in figures for t in f["data"] if t.get("fill") == "tonexty"]
    assert len(drawn) == len(curves)  # each curve's interval shaded
    assert "Churn by month of tenure" in html or not result["tenure_months"]


def test_surveys_show_each_figure_with_its_answers(manager_client, analysed):
    result = analysed[Kind.SURVEYS].result
    csat = next(s for s in result["series"] if s["kind"] == "csat")
    html = manager_client.get(reverse("analytics:surveys")).content.decode()
    assert f"<strong>{csat['total']['value']:.0f} %</strong> satisfied" in html
    assert f"{csat['total']['responses']} answers" in html
    chart = next(f for f in _figures(html) if f["data"][2]["name"] == "Portfolio")
    assert chart["data"][2]["y"] == [m["value"] for m in csat["months"]]
    assert {t["name"] for t in chart["data"][3:]} == set(csat["segments"])


def test_the_suggestion_compares_aucs_and_lists_weights(manager_client, analysed):
    result = analysed[Kind.SUGGESTION].result
    assert result["status"] == "ok", result["missing"]
    html = manager_client.get(reverse("analytics:suggestion")).content.decode()
    for key in ("auc_current_cv", "auc_suggested_cv", "auc_logistic_cv"):
        assert f"{result[key]:.3f}" in html
    for measure in result["weights"]:
        assert measure["name"] in html and f"± {measure['weight_sd']:.1f}" in html
    for dropped in result["dropped"]:
        assert dropped["name"] in html


def test_an_admin_runs_a_back_test_through_the_queue(
    admin_role_client, admin_role_user, db, django_capture_on_commit_callbacks
):
    day = history_day()
    labelled_history(day)
    form = {
        "version": f"{Scorecard.objects.get(name='Standard').pk}:active",
        "start": day,
        "end": day,
        "horizon": 90,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_role_client.post(reverse("analytics:run", args=["backtest"]), form)
    assert response.status_code == 302 and response.url == reverse("analytics:backtest")
    run = AnalysisRun.objects.get()
    assert run.status == AnalysisRun.Status.DONE and run.created_by == admin_role_user
    assert run.parameters == {**_period(day), "draft": None}
    assert f"{run.result['auc']:.2f}" in admin_role_client.get(response.url).content.decode()


def test_bad_parameters_are_named_and_nothing_is_stored(admin_role_client, db):
    card = Scorecard.objects.get(name="Standard")
    form = {
        "version": f"{card.pk}:active",
        "start": "2026-05-01",
        "end": "2026-01-01",
        "horizon": 90,
    }
    response = admin_role_client.post(reverse("analytics:run", args=["backtest"]), form)
    assert response.status_code == 400
    assert "The period ends before it starts." in response.content.decode()
    form.update(start="2010-01-01", end="2026-01-01")
    response = admin_role_client.post(reverse("analytics:run", args=["backtest"]), form)
    assert response.status_code == 400 and "longer than" in response.content.decode()
    assert not AnalysisRun.objects.exists()


def test_the_progress_bar_polls_until_the_analysis_ends(admin_role_client, manager_client, db):
    run = analysis_create(kind=Kind.RETENTION, parameters={})
    AnalysisRun.objects.filter(pk=run.pk).update(status="running", progress=40, message="Curves")
    page = manager_client.get(reverse("analytics:lifecycle")).content.decode()
    poll = reverse("analytics:progress", args=[run.pk])
    assert f'hx-get="{poll}"' in page and 'value="40"' in page

    region = manager_client.get(poll, **HTMX)
    assert region.status_code == 200 and "Curves — 40%" in region.content.decode()
    assert "<html" not in region.content.decode()
    # Asking for another while it runs is refused with a word, nothing queued.
    admin_role_client.post(reverse("analytics:run", args=["lifecycle"]))
    assert AnalysisRun.objects.count() == 1

    AnalysisRun.objects.filter(pk=run.pk).update(status="done", progress=100)
    done = manager_client.get(poll, **HTMX)
    assert done.headers["HX-Refresh"] == "true"  # the tab reloads with the result
    assert (
        'hx-trigger="every 1s"'
        not in manager_client.get(reverse("analytics:lifecycle")).content.decode()
    )


def test_applying_a_suggestion_makes_a_draft_and_opens_its_preview(admin_role_client, analysed):
    run = analysed[Kind.SUGGESTION]
    active = ScorecardVersion.objects.get(scorecard__name="Standard", status="active")
    response = admin_role_client.post(reverse("analytics:apply", args=[run.pk]))

    draft = ScorecardVersion.objects.get(status="draft")
    editor = reverse("scoring:scorecard_draft", args=[draft.scorecard_id, draft.number])
    assert response.url == editor
    assert ScorecardVersion.objects.get(scorecard__name="Standard", status="active") == active
    assert sorted(draft.measures.values_list("name", flat=True)) == sorted(
        w["name"] for w in run.result["weights"]
    )
    # Applied once: the tab links the draft, and a second press opens it again.
    page = admin_role_client.get(reverse("analytics:suggestion")).content.decode()
    assert f"draft v{draft.number}" in page and "Apply as draft" not in page
    again = admin_role_client.post(reverse("analytics:apply", args=[run.pk]))
    assert again.url == response.url
    assert ScorecardVersion.objects.filter(status="draft").count() == 1
