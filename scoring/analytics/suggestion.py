"""The suggestion as an analysis: the labelled history's candidate measures, the current
scorecard's scores on the same rows, the cross-validated fit (suggest.py), and the suggested
measures as plain data that scoring.services.scorecard_draft_suggest turns into a draft."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, dataclass, field

import numpy as np
from django.utils.translation import gettext as _

from healthboard.lib.dates import short_day_text
from healthboard.lib.numbers import number_text
from scoring import engine
from scoring.analytics import features as feat
from scoring.analytics import labels as lab
from scoring.analytics import metrics, suggest
from scoring.analytics.asof import scores_as_of
from scoring.analytics.backtest import Progress, no_progress, version_accounts
from scoring.bands import ORDER, Band
from scoring.models import Category
from scoring.specs import VersionConfig

MAX_ROWS = 300_000  # more (account, date) rows: a sample of accounts, all their dates
MIN_ACCOUNTS = 20
MIN_CHURNED = 2 * suggest.FOLDS  # each held-out fold needs churners to be judged on
NO_DATA_SCORE = 50.0  # an account without data counts as mid-scale when comparing AUCs


@dataclass
class SuggestionResult:
    scorecard: str
    version: int
    start: str
    end: str
    horizon_days: int
    dates: list[str]
    status: str = "ok"
    missing: list[str] = field(default_factory=list)
    n_accounts: int = 0
    n_churned: int = 0
    n_observations: int = 0
    n_candidates: int = 0
    n_metrics: int = 0
    sampled: bool = False
    auc: float | None = None  # the suggestion's cross-validated AUC (= auc_suggested_cv)
    auc_current_cv: float | None = None
    auc_suggested_cv: float | None = None
    auc_logistic_cv: float | None = None
    churn_rate_by_band: dict[str, dict] = field(default_factory=dict)
    folds: list[dict] = field(default_factory=list)
    weights: list[dict] = field(default_factory=list)  # the suggested measures
    dropped: list[dict] = field(default_factory=list)
    interpretation: list[str] = field(default_factory=list)
    draft_id: int | None = None
    draft_number: int | None = None
    seconds: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


def _category(metric_category: str) -> str:
    key = (metric_category or "").strip().lower()
    return key if key in Category.values else Category.OUTCOMES


def _rows(version, dates, horizon_days, pop, candidates, progress):
    """(accounts, current scores, candidate values, labels) per (account, date) row; with more
    than MAX_ROWS rows, those of a random sample of the accounts (all their dates), chosen
    before anything is read."""
    mine = version_accounts(version, pop)
    rows = sum(int((pop.customers_on(d) & mine).sum()) for d in dates)
    sampled = rows > MAX_ROWS
    if sampled:
        rng = np.random.default_rng(suggest.SEED)
        mine = mine & (rng.random(len(pop)) < MAX_ROWS / rows)
    parts = []
    for i, day in enumerate(dates):
        progress(
            0.6 * i / max(len(dates), 1),
            _("Reading %(day)s (%(number)s of %(count)s)")
            % {"day": short_day_text(day), "number": i + 1, "count": len(dates)},
        )
        mask = pop.customers_on(day) & mine
        ids, seats = pop.ids[mask], pop.seats[mask]
        current = scores_as_of(version, day, ids, seats)
        values = feat.candidate_matrix(candidates, day, ids)
        parts.append((ids, current.score, values, pop.churned_within(day, horizon_days)[mask]))
    if not parts:
        no_rows = np.array([], np.int64)
        return no_rows, no_rows * 1.0, np.empty((0, len(candidates))), no_rows.astype(bool), False
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.vstack([p[2] for p in parts]),
        np.concatenate([p[3] for p in parts]),
        sampled,
    )


def suggestion_compute(
    version: VersionConfig,
    *,
    start: dt.date,
    end: dt.date,
    horizon_days: int,
    today: dt.date | None = None,
    progress: Progress = no_progress,
) -> SuggestionResult:
    began = time.perf_counter()
    labelled = lab.labelled_dates(start, end, horizon_days=horizon_days, today=today)
    result = SuggestionResult(
        scorecard=version.scorecard_name,
        version=version.number,
        start=start.isoformat(),
        end=end.isoformat(),
        horizon_days=horizon_days,
        dates=[d.isoformat() for d in labelled.dates],
    )
    metric_rows = feat.metrics_with_data(start, end)
    candidates = feat.candidates_for(metric_rows)
    result.n_metrics, result.n_candidates = len(metric_rows), len(candidates)
    if not labelled.dates:
        result.missing.append(
            _("No evaluation date whose %(days)s-day horizon has passed in the period.")
            % {"days": horizon_days}
        )
    if not candidates:
        result.missing.append(
            " ".join(
                [
                    "No metric has signals in the period: nothing to learn from.",
                    feat.no_signals_hint(end),
                ]
            ).strip()
        )
    if result.missing:
        result.status = "not_enough_data"
        return result
    groups, current, values, y, result.sampled = _rows(
        version, labelled.dates, horizon_days, lab.population(), candidates, progress
    )
    result.n_observations = len(y)
    result.n_accounts = int(np.unique(groups).size)
    result.n_churned = int(np.unique(groups[y]).size)
    if result.n_accounts < MIN_ACCOUNTS:
        result.missing.append(
            _("Too few accounts: %(accounts)s, at least %(needed)s are needed.")
            % {"accounts": result.n_accounts, "needed": MIN_ACCOUNTS}
        )
    if result.n_churned < MIN_CHURNED:
        result.missing.append(
            _(
                "Too few churned accounts to learn from: %(churned)s, at least %(needed)s are "
                "needed (%(folds)s folds, each judged on churners)."
            )
            % {"churned": result.n_churned, "needed": MIN_CHURNED, "folds": suggest.FOLDS}
        )
    if (~y).sum() == 0 and len(y):
        result.missing.append(_("No account stayed: there is nothing to compare churners with."))
    if result.missing:
        result.status = "not_enough_data"
        return result

    metric_columns = [
        [j for j, c in enumerate(candidates) if c.metric_id == m.pk] for m in metric_rows
    ]
    current = np.where(np.isnan(current), NO_DATA_SCORE, current)
    folds, fold_weights, suggested_oof, _models = suggest.cross_validate(
        values,
        y,
        groups,
        metric_columns,
        current,
        progress=lambda f, m: progress(0.6 + 0.3 * f, m),
    )
    result.folds = suggest.fold_json(folds)
    result.auc_current_cv = suggest.mean_auc(folds, "auc_current")
    result.auc_suggested_cv = suggest.mean_auc(folds, "auc_suggested")
    result.auc_logistic_cv = suggest.mean_auc(folds, "auc_logistic")
    result.auc = result.auc_suggested_cv
    progress(0.92, _("Fitting on every account"))
    final = suggest.fit(values, y, metric_columns, groups)
    _describe(result, final, candidates, metric_rows, metric_columns, fold_weights)
    if not result.weights:
        result.status = "not_enough_data"
        result.missing.append(
            _(
                "No metric separates the churned accounts from the loyal ones beyond chance: "
                "there is no scorecard to suggest from this history."
            )
        )
    suggested = np.where(np.isnan(suggested_oof), NO_DATA_SCORE, suggested_oof)
    bands = engine.assign_bands(
        suggested, np.ones(len(suggested)), tiebreak=groups, **version.band_kwargs()
    )
    result.churn_rate_by_band = {
        str(b): {
            "label": str(Band(b).label),  # stored JSON: plain text
            **metrics.proportion(int(y[bands == b].sum()), int((bands == b).sum())).to_json(),
        }
        for b in ORDER
    }
    result.interpretation = _interpret(result)
    result.interpretation.append(
        _(
            "Accounts without data on a date count as %(score)g (mid-scale) for both scorecards "
            "in these comparisons, so neither gains by leaving accounts unscored."
        )
        % {"score": NO_DATA_SCORE}
    )
    result.seconds = round(time.perf_counter() - began, 2)
    progress(1.0, _("Done"))
    return result


def _describe(result, final, candidates, metric_rows, metric_columns, fold_weights) -> None:
    spread = np.array(fold_weights) if fold_weights else np.empty((0, len(metric_rows)))
    total = final.weights[final.kept].sum() if len(final.weights) else 0
    chosen_metrics = set()
    for choice, weight, kept in zip(final.chosen, final.weights, final.kept, strict=True):
        c = candidates[choice.column]
        m = next(i for i, cols in enumerate(metric_columns) if choice.column in cols)
        chosen_metrics.add(m)
        if not kept:
            result.dropped.append(
                {
                    "metric": c.metric_key,
                    "name": c.metric_name,
                    "reason": _(
                        "its weight came out nil or pointing the wrong way beside the "
                        "other measures (it adds nothing they do not already say)"
                    ),
                }
            )
            continue
        column = spread[:, m] if spread.size else np.array([])
        in_folds = column[~np.isnan(column)]
        result.weights.append(
            {
                "name": f"{c.metric_name} ({c.aggregation}, {c.window_days} d)",
                "metric": c.metric_key,
                "metric_name": c.metric_name,
                "category": _category(c.metric_category),
                "aggregation": c.aggregation,
                "window_days": c.window_days,
                "rule": choice.rule,
                "direction": choice.direction,
                "red": choice.red,
                "green": choice.green,
                "weight": round(100 * weight / total, 2),
                "weight_sd": round(100 * float(in_folds.std()), 2) if in_folds.size > 1 else None,
                "folds_chosen": int(in_folds.size),
                "auc": round(choice.auc, 4),
                "coverage": round(choice.coverage, 4),
                "catalogue_direction_agrees": choice.direction == c.metric_direction,
            }
        )
    for i, m in enumerate(metric_rows):
        if i not in chosen_metrics:
            result.dropped.append(
                {
                    "metric": m.key,
                    "name": m.name,
                    "reason": _(
                        "too little data, or no aggregation of it separates churners "
                        "from loyal accounts beyond chance"
                    ),
                }
            )
    result.weights.sort(key=lambda w: -w["weight"])


def _interpret(r: SuggestionResult) -> list[str]:
    lines = [
        _(
            "Learned from %(scores)s scores of %(accounts)s accounts (%(churned)s churned within "
            "%(days)s days), in %(folds)s folds split by account: each figure is measured on "
            "accounts the fit never saw."
        )
        % {
            "scores": number_text(r.n_observations),
            "accounts": number_text(r.n_accounts),
            "churned": number_text(r.n_churned),
            "days": r.horizon_days,
            "folds": suggest.FOLDS,
        }
    ]
    if r.auc_current_cv is not None and r.auc_suggested_cv is not None:
        better = r.auc_suggested_cv - r.auc_current_cv
        lines.append(
            _(
                "Out-of-sample AUC: current %(current)s, suggested %(suggested)s "
                "(%(change)s); a plain logistic regression on the same candidates: %(logistic)s."
            )
            % {
                "current": number_text(r.auc_current_cv, 3),
                "suggested": number_text(r.auc_suggested_cv, 3),
                "change": ("+" if better >= 0 else "") + number_text(better, 3),
                "logistic": number_text(r.auc_logistic_cv, 3),
            }
        )
        aucs = [f["auc_suggested"] for f in r.folds if f["auc_suggested"] is not None]
        if len(aucs) > 1:
            lines.append(
                _("Across folds the suggestion's AUC ranged %(min)s–%(max)s.")
                % {"min": number_text(min(aucs), 3), "max": number_text(max(aucs), 3)}
            )
    lines.append(
        _(
            "%(kept)s measures kept, %(dropped)s metrics dropped; weights are shares of 100 with "
            "their spread across folds."
        )
        % {"kept": len(r.weights), "dropped": len(r.dropped)}
    )
    if r.sampled:
        lines.append(_("A random sample of accounts (all their dates) was used."))
    return lines
