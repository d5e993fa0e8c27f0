"""Stored analyses: claimed once, failures kept with their error, every kind runs."""

from __future__ import annotations

import pytest

from scoring.analytics import services
from scoring.analytics.services import AnalysisInputError, analysis_create, analysis_execute
from scoring.models import AnalysisRun


@pytest.mark.django_db
def test_an_analysis_runs_once_however_often_its_task_is_delivered():
    run = analysis_create(kind=AnalysisRun.Kind.RETENTION, parameters={})
    assert analysis_execute(run_id=run.pk).status == AnalysisRun.Status.DONE
    assert analysis_execute(run_id=run.pk) is None  # a second delivery finds it taken
    run.refresh_from_db()
    assert run.progress == 100 and run.computed_at is not None
    assert services.analysis_latest(kind=AnalysisRun.Kind.RETENTION) == run


@pytest.mark.django_db
def test_surveys_run_as_an_analysis():
    run = analysis_create(kind=AnalysisRun.Kind.SURVEYS, parameters={"from": "2026-01-01"})
    done = analysis_execute(run_id=run.pk)
    assert done.status == AnalysisRun.Status.DONE
    assert done.result["start"] == "2026-01-01" and "series" in done.result


@pytest.mark.django_db
def test_a_failing_analysis_is_stored_failed_with_its_error(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "retention_report", boom)
    run = analysis_create(kind=AnalysisRun.Kind.RETENTION, parameters={})
    failed = analysis_execute(run_id=run.pk)
    assert failed.status == AnalysisRun.Status.FAILED
    assert "the database went away" in failed.error
    assert services.analysis_latest(kind=AnalysisRun.Kind.RETENTION) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({}, "Name a scorecard"),
        ({"scorecard": "Standard", "horizon": "soon"}, "whole numbers"),
        ({"scorecard": "Standard", "horizon": 0}, "horizon must be 1 to 730"),
        ({"scorecard": "Standard", "from": "31/12/2025"}, "“from” must be a date"),
        ({"scorecard": "Standard", "from": "2010-01-01", "to": "2026-01-01"}, "longer than"),
    ],
)
def test_bad_parameters_are_named_and_nothing_is_stored(parameters, message):
    with pytest.raises(AnalysisInputError, match=message):
        analysis_create(kind=AnalysisRun.Kind.BACKTEST, parameters=parameters)
    assert not AnalysisRun.objects.exists()


def test_results_are_stored_without_nan_or_infinity():
    value = {"auc": float("nan"), "roc": [{"threshold": float("-inf")}, 0.5], "n": 3}
    assert services.json_safe(value) == {"auc": None, "roc": [{"threshold": None}, 0.5], "n": 3}


@pytest.mark.django_db(transaction=True)
def test_with_the_queue_down_a_requested_analysis_fails_saying_why(broker_down):
    from scoring.services import analysis_request

    run = analysis_request(kind=AnalysisRun.Kind.RETENTION, parameters={})

    run.refresh_from_db()
    assert run.status == AnalysisRun.Status.FAILED
    assert "task queue (Redis) did not answer" in run.error
