"""The suggested scorecard: folds by account, no leakage, readable rules, and the draft."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Account
from scoring import engine
from scoring.analytics import features, metrics, suggest
from scoring.analytics.labels import add_months
from scoring.analytics.suggestion import suggestion_compute
from scoring.models import AnalysisRun, Scorecard, ScorecardVersion
from scoring.services import SuggestionNotApplicable, scorecard_draft_suggest
from scoring.specs import version_config, versions_queryset
from tests.factories import AccountFactory, MetricFactory, SegmentFactory, SignalFactory
from tests.scoring.analytics.conftest import standard_version


def _synthetic(n_accounts: int = 300, dates: int = 3, seed: int = 0):
    """Metric 0 (columns 0, 1) separates churners, column 0 best; metric 1 (column 2) is noise.
    Each account has `dates` rows with the same label."""
    rng = np.random.default_rng(seed)
    churn = rng.random(n_accounts) < 0.25
    groups = np.repeat(np.arange(n_accounts), dates)
    y = np.repeat(churn, dates)
    health = np.where(y, 30.0, 60.0) + rng.normal(0, 15, len(y))
    values = np.column_stack(
        [
            health,  # strong, more is better
            health + rng.normal(0, 40, len(y)),  # the same, noisier
            rng.normal(0, 1, len(y)),  # noise
        ]
    )
    return values, y, groups, [[0, 1], [2]]


def test_folds_keep_each_account_on_one_side():
    values, y, groups, _ = _synthetic()
    for train, test in suggest.folds(y, groups):
        assert not set(groups[train]) & set(groups[test])
        assert y[test].any()  # stratified: every fold is judged on churners


def test_no_label_from_a_test_fold_reaches_training(monkeypatch):
    values, y, groups, columns = _synthetic()
    fixed = suggest.folds(y, groups)
    monkeypatch.setattr(suggest, "folds", lambda *a, **k: fixed)
    seen = []

    def spy(x, labels, metric_columns, accounts):
        seen.append((x.copy(), labels.copy(), accounts.copy()))
        return suggest.fit(x, labels, metric_columns, accounts)

    current = values[:, 0]
    _, _, oof, logistic = suggest.cross_validate(values, y, groups, columns, current, fit_fn=spy)
    for (x, labels, accounts), (train, test) in zip(seen, fixed, strict=True):
        np.testing.assert_array_equal(labels, y[train])
        np.testing.assert_array_equal(x, values[train])
        assert not set(accounts) & set(groups[test])
    # Flip every label of the first test fold: its held-out scores must not move.
    train, test = fixed[0]
    flipped = y.copy()
    flipped[test] = ~flipped[test]
    _, _, oof2, logistic2 = suggest.cross_validate(values, flipped, groups, columns, current)
    np.testing.assert_array_equal(oof[test], oof2[test])
    np.testing.assert_array_equal(logistic[test], logistic2[test])


def test_the_fit_picks_the_strong_candidate_its_direction_and_drops_noise():
    values, y, groups, columns = _synthetic()
    model = suggest.fit(values, y, columns, groups)
    kept = [c for c, k in zip(model.chosen, model.kept, strict=True) if k]
    assert [c.column for c in kept] == [0]
    assert kept[0].direction == engine.POSITIVE and kept[0].rule == engine.PERCENTILE
    assert model.weights[model.kept][0] > 0


def test_the_scorecard_comes_within_half_a_point_of_a_plain_logistic_regression():
    values, y, groups, columns = _synthetic(seed=3)
    current = np.zeros(len(y))  # a scorecard that knows nothing: AUC 0.5
    folds, weights, _, _ = suggest.cross_validate(values, y, groups, columns, current)
    suggested = suggest.mean_auc(folds, "auc_suggested")
    assert suggested >= suggest.mean_auc(folds, "auc_logistic") - 0.005
    assert suggest.mean_auc(folds, "auc_current") == 0.5
    assert suggested > 0.8


def test_few_distinct_values_get_thresholds_at_the_observed_ends():
    rng = np.random.default_rng(0)
    plan = rng.choice([1.0, 12.0, 24.0], 400)  # contract months: a static attribute
    y = (plan == 1) & (rng.random(400) < 0.6)
    model = suggest.fit(plan[:, None], y, [[0]])
    choice = model.chosen[0]
    assert choice.rule == engine.THRESHOLD and (choice.red, choice.green) == (1.0, 24.0)


def test_scorecard_scores_are_the_engines_weighted_mean_of_present_sub_scores():
    sub = np.array([[100.0, 0.0], [100.0, np.nan]])
    scores = suggest.scorecard_scores(sub, np.array([3.0, 1.0]))
    # (3·100 + 1·0) / 4 = 75; the second has only the first measure: 100.
    np.testing.assert_allclose(scores, [75.0, 100.0])


# ---------------------------------------------------------------- on the database


def _unlike_the_demo(day: dt.date, n: int = 60):
    """Accounts whose only signal is a static attribute imported once, long before (contract
    months, a metric no scorecard knows); month-to-month accounts churn, most others stay."""
    segment = SegmentFactory(slug="mid-market")
    contract = MetricFactory(key="contract_months", name="Contract months", category="Financial")
    imported = timezone.make_aware(dt.datetime.combine(day - dt.timedelta(days=100), dt.time(8)))
    for i in range(n):
        months = (1, 12, 24)[i % 3]
        churns = months == 1 and i % 2 == 0 or i == 5  # one 12-month account churns too
        account = AccountFactory(
            segment=segment,
            start_date=day - dt.timedelta(days=400),
            status=Account.Status.CHURNED if churns else Account.Status.ACTIVE,
            churn_date=day + dt.timedelta(days=40) if churns else None,
        )
        SignalFactory(account=account, metric=contract, observed_at=imported, value=months)


def _config():
    return version_config(versions_queryset().get(pk=standard_version().pk))


@pytest.mark.django_db
def test_it_learns_a_static_attribute_no_scorecard_knows_from_few_dates(day):
    _unlike_the_demo(day)
    start = add_months(day, -1)
    result = suggestion_compute(_config(), start=start, end=day, horizon_days=90)
    assert result.status == "ok", result.missing
    assert result.dates == [str(start), str(day)]
    assert result.n_accounts == 60 and result.n_churned == 11
    learned = {w["metric"]: w for w in result.weights}
    assert set(learned) == {"contract_months"}
    assert learned["contract_months"]["direction"] == 1
    assert learned["contract_months"]["rule"] == "threshold"
    # The current scorecard has no data for these accounts: mid-scale, a coin toss.
    assert result.auc_current_cv == 0.5
    assert result.auc_suggested_cv > 0.8
    assert result.auc_suggested_cv >= result.auc_logistic_cv - 0.005


@pytest.mark.django_db
def test_no_churn_is_not_enough_data_to_suggest(day):
    _unlike_the_demo(day)
    Account.objects.update(status=Account.Status.ACTIVE, churn_date=None)
    result = suggestion_compute(_config(), start=day, end=day, horizon_days=90)
    assert result.status == "not_enough_data"
    assert "Too few churned accounts to learn from: 0" in result.missing[0]
    assert result.weights == [] and result.auc is None


@pytest.mark.django_db
def test_candidates_read_no_signal_after_the_date(day):
    account = AccountFactory()
    metric = MetricFactory(key="seats_used", name="Seats used")
    noon = timezone.make_aware(dt.datetime.combine(day, dt.time(12)))
    SignalFactory(account=account, metric=metric, observed_at=noon, value=5)
    midnight = noon + dt.timedelta(hours=12)  # the next day's first instant
    SignalFactory(account=account, metric=metric, observed_at=midnight, value=99)
    candidates = features.candidates_for([metric])
    values = features.candidate_matrix(candidates, day, np.array([account.pk]))
    last = next(i for i, c in enumerate(candidates) if c.aggregation == "last")
    maximum = next(i for i, c in enumerate(candidates) if c.aggregation == "max")
    assert values[0, last] == 5 and values[0, maximum] == 5


def _suggestion_run(day) -> AnalysisRun:
    _unlike_the_demo(day)
    result = suggestion_compute(_config(), start=add_months(day, -1), end=day, horizon_days=90)
    return AnalysisRun.objects.create(
        kind=AnalysisRun.Kind.SUGGESTION,
        status=AnalysisRun.Status.DONE,
        scorecard=Scorecard.objects.get(is_default=True),
        result=result.to_json(),
    )


@pytest.mark.django_db
def test_applying_a_suggestion_creates_a_draft_and_never_an_active_version(day, admin_role_user):
    analysis = _suggestion_run(day)
    active = standard_version()
    draft = scorecard_draft_suggest(analysis=analysis, user=admin_role_user)
    assert draft.status == ScorecardVersion.Status.DRAFT
    assert standard_version() == active  # still the active one
    assert ScorecardVersion.objects.filter(scorecard=active.scorecard, status="active").count() == 1
    config = version_config(versions_queryset().get(pk=draft.pk))
    assert not config.problems()
    assert [m.name for m in config.measures] == [w["name"] for w in analysis.result["weights"]]
    assert draft.changes.filter(action="saved").exists()
    analysis.refresh_from_db()
    assert analysis.draft == draft and analysis.result["draft_id"] == draft.pk


@pytest.mark.django_db
def test_a_suggestion_without_measures_cannot_be_applied(day):
    analysis = AnalysisRun.objects.create(
        kind=AnalysisRun.Kind.SUGGESTION,
        status=AnalysisRun.Status.DONE,
        scorecard=Scorecard.objects.get(is_default=True),
        result={"status": "not_enough_data", "weights": []},
    )
    versions = ScorecardVersion.objects.count()
    with pytest.raises(SuggestionNotApplicable):
        scorecard_draft_suggest(analysis=analysis, user=None)
    assert ScorecardVersion.objects.count() == versions


def test_auc_helper_agrees_with_the_fold_auc_convention():
    # Higher = healthier in both the scorecard and the regression's minus log-odds.
    assert metrics.auc([80, 20], [False, True]) == 1.0


@pytest.mark.django_db
def test_the_command_saves_a_draft_and_prints_json_last(day, capsys):
    _unlike_the_demo(day)
    start = add_months(day, -1)
    call_command(
        "suggest_scorecard",
        "--scorecard",
        "Standard",
        "--from",
        str(start),
        "--to",
        str(day),
        "--json",
    )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("auc", "churn_rate_by_band", "n_accounts", "n_churned", "auc_current_cv"):
        assert key in result
    assert result["auc_suggested_cv"] >= result["auc_logistic_cv"] - 0.005
    assert [w["metric"] for w in result["weights"]] == ["contract_months"]
    draft = ScorecardVersion.objects.get(pk=result["draft_id"])
    assert draft.status == ScorecardVersion.Status.DRAFT


@pytest.mark.django_db
def test_too_many_rows_read_a_sample_of_accounts_with_all_their_dates(day, monkeypatch):
    from scoring.analytics import suggestion

    _unlike_the_demo(day)
    monkeypatch.setattr(suggestion, "MAX_ROWS", 60)  # 60 accounts × 2 dates = 120 rows
    result = suggestion_compute(_config(), start=add_months(day, -1), end=day, horizon_days=90)
    assert result.sampled
    assert result.n_observations == 2 * result.n_accounts < 120


def test_the_best_of_many_noise_candidates_is_rarely_picked():
    # 200 candidates of pure noise, ten times: the bar rises with the candidates (Bonferroni,
    # 5 % a fit), so noise gets through once or twice at most, not every time as at z = 2.
    picked = 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        y = rng.random(600) < 0.2
        values = rng.normal(size=(600, 200))
        picked += bool(suggest.fit(values, y, [list(range(100)), list(range(100, 200))]).chosen)
    assert picked <= 2
