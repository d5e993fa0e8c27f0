"""The back-test: labels, stored and computed scores as of a date, and not-enough-data."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Metric
from scoring.analytics import labels as lab
from scoring.analytics.asof import scores_as_of
from scoring.analytics.backtest import backtest, version_accounts
from scoring.models import AnalysisRun
from scoring.services import analysis_request
from scoring.specs import version_config, versions_queryset
from tests.factories import AccountFactory, SegmentFactory, SignalFactory
from tests.scoring.analytics.conftest import standard_version, stored_history

SCORES = [float(s) for s in range(5, 105, 5)]  # 20 accounts scored 5, 10, …, 100
CHURNED = {5.0, 10.0, 15.0, 75.0}
PERIOD = ("--from", "2026-01-01", "--to", "2026-02-01")


def _config():
    return version_config(versions_queryset().get(pk=standard_version().pk))


@pytest.mark.django_db
def test_it_backtests_stored_scores_as_computed_by_hand(day):
    stored_history(day, SCORES, CHURNED)
    result = backtest(_config(), start=day, end=day)
    assert result.status == "ok", result.missing
    # Churned scored 5, 10, 15, 75; the 16 others stayed. The 11 stayed scoring 20–70 beat
    # 3 churners each (33), the 5 scoring 80–100 beat all 4 (20): AUC = 53 / 64.
    assert result.auc == pytest.approx(53 / 64)
    assert result.n_accounts == 20 and result.n_churned == 4 and result.n_observations == 20
    assert result.stored_rows == 20 and result.computed_rows == 0
    # Bands (healthy from 70, unhealthy below 40): red 5–35 (7, 3 churned), yellow 40–65 (6, 0),
    # green 70–100 (7, 1: the 75).
    bands = result.churn_rate_by_band
    assert (bands["red"]["k"], bands["red"]["n"]) == (3, 7)
    assert (bands["yellow"]["k"], bands["yellow"]["n"]) == (0, 6)
    assert (bands["green"]["k"], bands["green"]["n"]) == (1, 7)
    assert bands["red"]["low"] < 3 / 7 < bands["red"]["high"]
    assert result.red_to_green == pytest.approx(3)
    # The lowest decile (2 accounts: 5 and 10) all churned: 1 / 0.2 = 5 times the average.
    assert result.lift["lift"] == pytest.approx(5.0)
    assert result.interpretation and "AUC 0.83" in result.interpretation[1]
    assert json.loads(json.dumps(result.to_json()))["auc"] == result.auc


@pytest.mark.django_db
def test_an_account_churning_after_the_horizon_counts_as_stayed(day):
    accounts = stored_history(day, SCORES, CHURNED)
    late = accounts[0]  # scored 5
    late.churn_date = day + dt.timedelta(days=91)
    late.save()
    pop = lab.population()
    labels = pop.churned_within(day, 90)
    assert not labels[pop.ids == late.pk][0]
    assert labels[pop.ids == accounts[1].pk][0]


@pytest.mark.django_db
def test_no_churn_in_the_period_is_not_enough_data(day):
    stored_history(day, SCORES, set())
    result = backtest(_config(), start=day, end=day)
    assert result.status == "not_enough_data"
    assert any("No account churned" in m for m in result.missing)
    assert result.auc is None and result.roc == [] and result.measures == []


@pytest.mark.django_db
def test_too_few_accounts_and_one_band_only_say_what_is_missing(day):
    stored_history(day, [80.0, 85.0, 90.0, 95.0, 100.0, 75.0], {75.0})
    result = backtest(_config(), start=day, end=day)
    assert result.status == "not_enough_data"
    text = " ".join(result.missing)
    assert "Too few accounts: 6 scored" in text
    assert "Only one band" in text and "Healthy" in text


@pytest.mark.django_db
def test_a_period_too_recent_for_its_horizon_has_no_dates():
    today = timezone.localdate()
    result = backtest(_config(), start=today - dt.timedelta(days=30), end=today)
    assert result.status == "not_enough_data"
    assert result.dates == [] and len(result.dates_too_recent) == 2
    assert "horizon has passed" in result.missing[0]


@pytest.mark.django_db
def test_no_signal_after_the_evaluation_date_reaches_a_computed_score(day):
    version = _config()
    segment = SegmentFactory(slug="mid-market")
    start = day - dt.timedelta(days=300)
    accounts = [AccountFactory(segment=segment, start_date=start) for _ in range(3)]
    before = timezone.make_aware(dt.datetime.combine(day, dt.time(12)))
    metrics = {m.metric_id for m in version.measures}
    for account in accounts:
        for metric in Metric.objects.filter(pk__in=metrics):
            SignalFactory(account=account, metric=metric, observed_at=before, value=3)
    ids = np.array(sorted(a.pk for a in accounts))
    seats = np.full(3, 50.0)
    first = scores_as_of(version, day, ids, seats, use_stored=False)
    # Signals from the next day on, wildly different, must change nothing as of `day`.
    after = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0)))
    for account in accounts:
        for metric in Metric.objects.filter(pk__in=metrics):
            SignalFactory(account=account, metric=metric, observed_at=after, value=1000)
    second = scores_as_of(version, day, ids, seats, use_stored=False)
    assert first.computed == 3
    np.testing.assert_array_equal(first.raw, second.raw)
    np.testing.assert_array_equal(first.score, second.score)
    # ...while the next day's scores do see them.
    later = scores_as_of(version, day + dt.timedelta(days=1), ids, seats, use_stored=False)
    assert not np.array_equal(np.nan_to_num(first.raw), np.nan_to_num(later.raw))


@pytest.mark.django_db
def test_computed_scores_match_the_stored_ones_of_a_real_run(day):
    from scoring.pipeline.runs import run_sync

    version = _config()
    segment = SegmentFactory(slug="mid-market")
    at = timezone.make_aware(dt.datetime.combine(day - dt.timedelta(days=3), dt.time(9)))
    for i in range(6):
        account = AccountFactory(segment=segment, start_date=day - dt.timedelta(days=300))
        for metric in Metric.objects.filter(pk__in={m.metric_id for m in version.measures}):
            SignalFactory(account=account, metric=metric, observed_at=at, value=i + 1)
    run_sync(as_of=day)
    pop = lab.population()
    mask = pop.customers_on(day) & version_accounts(version, pop)
    stored = scores_as_of(version, day, pop.ids[mask], pop.seats[mask])
    computed = scores_as_of(version, day, pop.ids[mask], pop.seats[mask], use_stored=False)
    assert stored.stored == 6 and computed.computed == 6
    np.testing.assert_allclose(stored.score, computed.score, atol=0.01)
    assert list(stored.band) == list(computed.band)


@pytest.mark.django_db
def test_the_command_prints_json_last(day, capsys):
    stored_history(day, SCORES, CHURNED)
    call_command(
        "backtest", "--scorecard", "Standard", "--from", str(day), "--to", str(day), "--json"
    )
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    assert result["auc"] == pytest.approx(53 / 64)
    assert result["n_accounts"] == 20 and result["n_churned"] == 4
    assert result["churn_rate_by_band"]["red"]["rate"] == pytest.approx(3 / 7)
    assert AnalysisRun.objects.get().status == AnalysisRun.Status.DONE


@pytest.mark.django_db
def test_the_command_names_a_bad_scorecard_or_draft():
    with pytest.raises(CommandError, match="No scorecard named “Nope”"):
        call_command("backtest", "--scorecard", "Nope", *PERIOD)
    with pytest.raises(CommandError, match="has no draft number 99"):
        call_command(
            "backtest",
            "--scorecard",
            "Standard",
            "--draft",
            "99",
            "--from",
            "2026-01-01",
            "--to",
            "2026-02-01",
        )
    with pytest.raises(CommandError, match="before it starts"):
        backwards = ("--from", "2026-02-01", "--to", "2026-01-01")
        call_command("backtest", "--scorecard", "Standard", *backwards)
    assert not AnalysisRun.objects.exists()


@pytest.mark.django_db
def test_a_requested_analysis_runs_on_commit_and_stores_its_result(
    day, django_capture_on_commit_callbacks
):
    stored_history(day, SCORES, CHURNED)
    with django_capture_on_commit_callbacks(execute=True):
        run = analysis_request(
            kind=AnalysisRun.Kind.BACKTEST,
            parameters={"scorecard": "Standard", "from": str(day), "to": str(day)},
        )
    run.refresh_from_db()
    assert run.status == AnalysisRun.Status.DONE and run.progress == 100
    assert run.result["auc"] == pytest.approx(53 / 64)
    assert run.computed_at is not None and run.version == standard_version()


@pytest.mark.django_db
def test_signals_only_after_the_period_say_so(day):
    segment = SegmentFactory(slug="mid-market")
    later = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=10), dt.time(9)))
    logins = Metric.objects.get(key="logins")
    for i in range(25):
        account = AccountFactory(
            segment=segment,
            start_date=day - dt.timedelta(days=300),
            status="churned" if i < 5 else "active",
            churn_date=day + dt.timedelta(days=20) if i < 5 else None,
        )
        SignalFactory(account=account, metric=logins, observed_at=later, value=10)
    result = backtest(_config(), start=day, end=day)
    assert result.status == "not_enough_data"
    assert any("after the period" in m for m in result.missing), result.missing
