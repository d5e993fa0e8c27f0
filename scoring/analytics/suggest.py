"""The suggested scorecard, fitted to the labelled history: pure numpy + scikit-learn, no ORM.

For every metric, choose one candidate (aggregation and window) and its direction by how well
it alone separates churners (its AUC, weighted by how many rows it has data for); turn it into
a 0–100 sub-score with a rule a person can read (percentile rank, or thresholds fitted to the
data when the metric has few distinct values); then fit the weights with an L2-regularised
logistic regression on the sub-scores. A measure whose fitted weight points the wrong way, or
is nil, is dropped and the rest refitted. The scorecard scores as the engine does: the
weighted mean of the sub-scores an account has data for.

Everything is cross-validated with folds split by account (StratifiedGroupKFold): choices,
references and weights are made on the training accounts only, and judged on the held-out
ones. Beside it, a plain logistic regression on the same candidates (raw values, imputed and
standardised) shows what an unexplainable model would get.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from django.utils.translation import gettext as _

from scoring import engine
from scoring.analytics import metrics

FOLDS = 5
C = 1.0  # inverse L2 strength of the logistic regressions
MIN_COVERAGE = 0.05  # a candidate with data for fewer rows is not considered
FEW_VALUES = 12  # at most this many distinct values: fitted thresholds instead of a percentile
MIN_STRENGTH = 0.01  # |AUC − 0.5| × coverage below this: the metric says nothing
# |AUC − 0.5| must exceed this many standard errors (counted in accounts, not rows: an
# account's dates are one piece of evidence), or the metric is noise; with many candidates
# the bar rises (Bonferroni over them), so the best of a thousand noisy ones is not picked.
MIN_Z = 2.0
SEED = 0


@dataclass(frozen=True)
class Choice:
    """One measure of a suggestion: which candidate, which way, which rule."""

    column: int  # the candidate's column
    direction: int  # engine.POSITIVE or NEGATIVE
    rule: str  # engine.PERCENTILE or engine.THRESHOLD
    red: float | None
    green: float | None
    auc: float  # the candidate's own AUC (after direction), on the rows with data
    coverage: float

    def spec(self, key: str, weight: float = 1.0) -> engine.MeasureSpec:
        return engine.MeasureSpec(
            key=key,
            weight=weight,
            rule=self.rule,
            direction=self.direction,
            red=self.red,
            green=self.green,
        )


# _sklearn_imported_late: scikit-learn is imported where a suggestion is fitted, not with
# this module: the URLs import it, and its second and a half went to every manage.py
# command and every server start (make run starts six).


def folds(y: np.ndarray, groups: np.ndarray, n_splits: int = FOLDS):
    """(train rows, test rows) per fold; an account's rows are all on one side."""
    from sklearn.model_selection import StratifiedGroupKFold  # see _sklearn_imported_late

    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=SEED)
    return list(splitter.split(np.zeros(len(y)), y, groups))


def _choose(
    values: np.ndarray, y: np.ndarray, metric_columns: list[list[int]], groups: np.ndarray
) -> list[Choice]:
    """Per metric, its strongest candidate on these rows (and its direction and rule)."""
    from scipy.stats import norm

    tried = max(sum(len(c) for c in metric_columns), 1)
    min_z = max(MIN_Z, float(norm.ppf(1 - 0.025 / tried)))
    chosen = []
    for columns in metric_columns:
        best, best_strength = None, MIN_STRENGTH
        for j in columns:
            col = values[:, j]
            has = ~np.isnan(col)
            coverage = has.mean() if len(col) else 0.0
            if coverage < MIN_COVERAGE or np.unique(col[has]).size < 2:
                continue
            # metrics.auc: higher = stayed; above 0.5 means "more is better".
            value = metrics.auc(col[has], y[has])
            if value is None:
                continue
            strength = abs(value - 0.5) * coverage
            churned = np.unique(groups[has & y]).size
            stayed = np.unique(groups[has & ~y]).size
            se = metrics.auc_standard_error(max(value, 1 - value), churned, stayed)
            if strength > best_strength and abs(value - 0.5) > min_z * se:
                best, best_strength = (j, value, coverage), strength
        if best is not None:
            chosen.append(_rule(values[:, best[0]], *best))
    return chosen


def _rule(col: np.ndarray, j: int, value: float, coverage: float) -> Choice:
    direction = engine.POSITIVE if value >= 0.5 else engine.NEGATIVE
    present = col[~np.isnan(col)]
    distinct = np.unique(present)
    if distinct.size <= FEW_VALUES:
        # Few values (survey answers, flags, plan tiers): 0 at the worse end of the
        # observed values, 100 at the better end, linear between: readable as thresholds.
        low, high = float(distinct[0]), float(distinct[-1])
        red, green = (low, high) if direction > 0 else (high, low)
        return Choice(j, direction, engine.THRESHOLD, red, green, max(value, 1 - value), coverage)
    return Choice(j, direction, engine.PERCENTILE, None, None, max(value, 1 - value), coverage)


def sub_scores(values: np.ndarray, chosen: list[Choice], reference_rows: np.ndarray) -> np.ndarray:
    """(rows × chosen) 0–100 sub-scores; percentiles rank against the reference rows' values
    (the training accounts), as a run ranks against its population."""
    specs = [c.spec(str(i)) for i, c in enumerate(chosen)]
    raw = values[:, [c.column for c in chosen]] if chosen else np.empty((len(values), 0))
    references = {
        str(i): engine.reference_sample(values[reference_rows, c.column])
        for i, c in enumerate(chosen)
        if c.rule == engine.PERCENTILE
    }
    if not specs:
        return raw
    return engine.sub_scores(raw, specs, references)


def _fit_weights(sub: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative weights (health points per sub-score point) by logistic regression on the
    sub-scores (missing = 50, the middle); measures that come out pointing the wrong way are
    dropped and the rest refitted. Returns (weights, kept mask)."""
    from sklearn.linear_model import LogisticRegression  # see _sklearn_imported_late

    kept = np.ones(sub.shape[1], bool)
    weights = np.zeros(sub.shape[1])
    x = np.nan_to_num(sub, nan=50.0) / 100.0
    while kept.any():
        model = LogisticRegression(C=C, max_iter=2000)
        model.fit(x[:, kept], y)
        # A higher sub-score should mean less churn: a negative coefficient on churn.
        w = -model.coef_[0]
        if (w > 1e-6).all():
            weights[kept] = w
            break
        kept[np.flatnonzero(kept)[w <= 1e-6]] = False
    return weights, kept


def scorecard_scores(sub: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The engine's score: weighted mean of the sub-scores with data (NaN: none)."""
    use = weights > 0
    if not use.any():
        return np.full(len(sub), np.nan)
    specs = [
        engine.MeasureSpec(str(i), float(w), engine.RANGE, engine.POSITIVE, low=0, high=100)
        for i, w in enumerate(weights[use])
    ]
    return engine.score_accounts(sub[:, use], specs).score


def _logistic(values: np.ndarray, train: np.ndarray, test: np.ndarray, y: np.ndarray, cols):
    """A plain L2 logistic regression on the raw candidate values: the yardstick."""
    from sklearn.linear_model import LogisticRegression  # see _sklearn_imported_late
    from sklearn.preprocessing import StandardScaler

    x = values[:, cols]
    median = np.nanmedian(x[train], axis=0)
    median = np.where(np.isnan(median), 0.0, median)
    x = np.where(np.isnan(x), median, x)
    scaler = StandardScaler().fit(x[train])
    model = LogisticRegression(C=C, max_iter=2000).fit(scaler.transform(x[train]), y[train])
    # Minus the churn log-odds: higher = healthier, as the scores.
    return -model.decision_function(scaler.transform(x[test]))


@dataclass
class Fold:
    train_rows: int
    test_rows: int
    test_churned: int
    auc_current: float | None
    auc_suggested: float | None
    auc_logistic: float | None


@dataclass
class Fit:
    chosen: list[Choice]
    weights: np.ndarray
    kept: np.ndarray


def fit(
    values: np.ndarray,
    y: np.ndarray,
    metric_columns: list[list[int]],
    groups: np.ndarray | None = None,
) -> Fit:
    """Choose and weigh the measures on these rows (`groups`: their accounts; default one
    account a row)."""
    groups = np.arange(len(y)) if groups is None else groups
    chosen = _choose(values, y, metric_columns, groups)
    if not chosen:
        return Fit([], np.zeros(0), np.zeros(0, bool))
    sub = sub_scores(values, chosen, np.arange(len(values)))
    weights, kept = _fit_weights(sub, y)
    return Fit(chosen, weights, kept)


def cross_validate(
    values: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    metric_columns: list[list[int]],
    current: np.ndarray,
    *,
    n_splits: int = FOLDS,
    fit_fn: Callable = fit,
    progress: Callable[[float, str], None] | None = None,
) -> tuple[list[Fold], list[np.ndarray], np.ndarray, np.ndarray]:
    """Per fold, fit on the training accounts and score the held-out ones: the current
    scorecard's scores (`current`, fixed), the suggestion's, the plain regression's. Returns
    the folds, each fold's normalised weights per metric (NaN: not chosen), and the out-of-fold
    suggested and logistic scores (for the pooled figures)."""
    out, fold_weights = [], []
    suggested_oof = np.full(len(y), np.nan)
    logistic_oof = np.full(len(y), np.nan)
    for k, (train, test) in enumerate(folds(y, groups, n_splits)):
        if progress:
            progress(
                k / n_splits,
                _("Cross-validating: fold %(fold)s of %(folds)s")
                % {"fold": k + 1, "folds": n_splits},
            )
        model = fit_fn(values[train], y[train], metric_columns, groups[train])
        scores = np.full(len(test), np.nan)
        if model.chosen:
            # Rank the held-out rows against the training rows' values, never their own.
            sub = _sub_against(values, model.chosen, train, test)
            scores = scorecard_scores(sub, model.weights)
        suggested_oof[test] = scores
        cols = [c.column for c in model.chosen] or [0]
        logistic = _logistic(values, train, test, y, cols)
        logistic_oof[test] = logistic
        per_metric = np.full(len(metric_columns), np.nan)
        total = model.weights.sum() if model.chosen else 0
        for c, w in zip(model.chosen, model.weights, strict=True):
            m = next(i for i, cols_ in enumerate(metric_columns) if c.column in cols_)
            per_metric[m] = w / total if total else np.nan
        fold_weights.append(per_metric)
        out.append(
            Fold(
                train_rows=len(train),
                test_rows=len(test),
                test_churned=int(y[test].sum()),
                auc_current=metrics.auc(current[test], y[test]),
                auc_suggested=metrics.auc(scores, y[test]),
                auc_logistic=metrics.auc(logistic, y[test]),
            )
        )
    return out, fold_weights, suggested_oof, logistic_oof


def _sub_against(values, chosen, train, test) -> np.ndarray:
    both = np.concatenate([values[train], values[test]])
    sub = sub_scores(both, chosen, np.arange(len(train)))
    return sub[len(train) :]


def mean_auc(folds_: list[Fold], attr: str) -> float | None:
    found = [getattr(f, attr) for f in folds_ if getattr(f, attr) is not None]
    return float(np.mean(found)) if found else None


def fold_json(folds_: list[Fold]) -> list[dict]:
    return [asdict(f) for f in folds_]
