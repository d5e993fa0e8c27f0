"""How well a score separates the accounts that churned from those that stayed: AUC, the ROC
curve, lift, and intervals for proportions. Pure numpy (no ORM), tested by hand.

One convention throughout: a higher score means a healthier account, and "positive" means
churned. So the AUC is the chance that an account that stayed scored higher than one that
churned (ties count half): 0.5 is a coin toss, 1 a perfect ranking, below 0.5 the score points
the wrong way.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

Z95 = 1.959963984540054  # the normal quantile of a two-sided 95 % interval


def _arrays(scores: npt.ArrayLike, churned: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(churned, dtype=bool)
    if s.shape != y.shape or s.ndim != 1:
        raise ValueError(f"scores and churned must be 1-D of equal length: {s.shape}, {y.shape}.")
    keep = ~np.isnan(s)
    return s[keep], y[keep]


def auc(
    scores: npt.ArrayLike, churned: npt.ArrayLike, weights: npt.ArrayLike | None = None
) -> float | None:
    """P(score of a retained account > score of a churned one), ties half; rows without a score
    are left out. None when either class is missing (no AUC can be said then). `weights` count
    each row that many times (the account bootstrap uses them)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(churned, dtype=bool)
    w = np.ones_like(s) if weights is None else np.asarray(weights, dtype=np.float64)
    keep = ~np.isnan(s)
    s, y, w = s[keep], y[keep], w[keep]
    return _auc_grouped(*np.unique(s, return_inverse=True), y, w)


def _auc_grouped(unique: np.ndarray, inverse: np.ndarray, y: np.ndarray, w: np.ndarray):
    """AUC from rows grouped by distinct score (np.unique's inverse): O(rows) per call."""
    k = len(unique)
    churn_w = np.bincount(inverse, weights=w * y, minlength=k)
    stay_w = np.bincount(inverse, weights=w * ~y, minlength=k)
    total_churn, total_stay = churn_w.sum(), stay_w.sum()
    if total_churn <= 0 or total_stay <= 0:
        return None
    churn_below = np.cumsum(churn_w) - churn_w  # churned weight strictly below each score
    wins = (stay_w * (churn_below + 0.5 * churn_w)).sum()
    return float(wins / (total_churn * total_stay))


def auc_standard_error(value: float, n_churned: int, n_stayed: int) -> float:
    """Hanley & McNeil (1982): the AUC's standard error from its value and the class sizes."""
    a = value
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_churned - 1) * (q1 - a * a) + (n_stayed - 1) * (q2 - a * a)) / max(
        n_churned * n_stayed, 1
    )
    return math.sqrt(max(var, 0.0))


def auc_interval_by_account(
    scores: npt.ArrayLike,
    churned: npt.ArrayLike,
    groups: npt.ArrayLike,
    *,
    reps: int = 200,
    seed: int = 0,
) -> tuple[float, float] | None:
    """A 95 % percentile interval of the AUC, resampling accounts (`groups`), not rows: the
    same account seen at several dates is one piece of evidence, not several."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(churned, dtype=bool)
    g = np.asarray(groups)
    keep = ~np.isnan(s)
    s, y, g = s[keep], y[keep], g[keep]
    if not y.any() or y.all():
        return None
    unique, inverse = np.unique(s, return_inverse=True)
    accounts, row_account = np.unique(g, return_inverse=True)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(reps):
        # Each account drawn k times counts k times: rows weigh their account's draw count.
        draws = np.bincount(rng.integers(0, len(accounts), len(accounts)), minlength=len(accounts))
        value = _auc_grouped(unique, inverse, y, draws[row_account].astype(np.float64))
        if value is not None:
            values.append(value)
    if len(values) < reps // 2:
        return None
    low, high = np.quantile(values, [0.025, 0.975])
    return float(low), float(high)


@dataclass(frozen=True)
class RocPoint:
    threshold: float  # accounts scoring at or below this are flagged as churn risks
    false_positive_rate: float  # share of the accounts that stayed that are flagged
    true_positive_rate: float  # share of the churned accounts that are flagged


def roc_curve(scores: npt.ArrayLike, churned: npt.ArrayLike, *, max_points: int = 201) -> list:
    """The ROC curve from (0, 0) to (1, 1), flagging the lowest scores first, thinned to at most
    `max_points` points (the first and last kept) so a stored result stays small."""
    s, y = _arrays(scores, churned)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return []
    unique, inverse = np.unique(s, return_inverse=True)
    tp = np.cumsum(np.bincount(inverse, weights=y, minlength=len(unique)))
    fp = np.cumsum(np.bincount(inverse, weights=~y, minlength=len(unique)))
    points = [RocPoint(float(unique[0]) - 1, 0.0, 0.0)] + [
        RocPoint(float(t), float(f / n_neg), float(p / n_pos))
        for t, f, p in zip(unique, fp, tp, strict=True)
    ]
    if len(points) > max_points:
        keep = np.unique(np.linspace(0, len(points) - 1, max_points).round().astype(int))
        points = [points[i] for i in keep]
    return [asdict(p) for p in points]


@dataclass(frozen=True)
class Proportion:
    """k of n, with a 95 % interval: Wilson's, which behaves with small n and k = 0 or n."""

    k: int
    n: int
    rate: float | None
    low: float | None
    high: float | None

    def to_json(self) -> dict:
        return asdict(self)


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    if n <= 0:
        return None
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def clopper_pearson_interval(k: int, n: int, alpha: float = 0.05) -> tuple[float, float] | None:
    """The exact (conservative) binomial interval, from the beta distribution's quantiles."""
    if n <= 0:
        return None
    from scipy.stats import beta

    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def proportion(k: int, n: int) -> Proportion:
    interval = wilson_interval(k, n)
    if interval is None:
        return Proportion(int(k), int(n), None, None, None)
    return Proportion(int(k), int(n), k / n, interval[0], interval[1])


@dataclass(frozen=True)
class Lift:
    """Churn among the lowest-scored share of accounts against churn among all of them."""

    share: float
    flagged: int
    churned_flagged: int
    rate_flagged: float | None
    rate_all: float | None
    lift: float | None  # rate_flagged / rate_all: 3 = the flagged churn three times as often
    captured: float | None  # share of all churners that are among the flagged

    def to_json(self) -> dict:
        return asdict(self)


def lift_lowest(scores: npt.ArrayLike, churned: npt.ArrayLike, share: float = 0.1) -> Lift:
    """The lift of the lowest-scored `share` (a decile by default). Accounts tied at the cut
    are taken in the order given (stable), so the flagged group has exactly round(n·share)."""
    s, y = _arrays(scores, churned)
    n = len(s)
    take = max(1, round(n * share)) if n else 0
    if n == 0:
        return Lift(share, 0, 0, None, None, None, None)
    flagged = np.argsort(s, kind="stable")[:take]
    churned_flagged = int(y[flagged].sum())
    rate_all = float(y.mean())
    rate_flagged = churned_flagged / take
    total = int(y.sum())
    return Lift(
        share=share,
        flagged=take,
        churned_flagged=churned_flagged,
        rate_flagged=rate_flagged,
        rate_all=rate_all,
        lift=rate_flagged / rate_all if rate_all > 0 else None,
        captured=churned_flagged / total if total else None,
    )
