"""The scoring engine: raw measure values in, sub-scores, overall scores and bands out.

Pure numpy, no Django, so it can score a whole portfolio (100k accounts x ~20 measures)
in one vectorised pass and be tested without a database. Callers build the
(accounts x measures) matrix of raw values; NaN means "no data" for that cell.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeGuard

import numpy as np
import numpy.typing as npt

POSITIVE, NEGATIVE = 1, -1
THRESHOLD, RANGE, PERCENTILE = "threshold", "range", "percentile"
GREEN, YELLOW, RED, NO_DATA = "green", "yellow", "red", "none"

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MeasureSpec:
    key: str  # stable id, e.g. str(measure.pk)
    weight: float  # effective weight (> 0); the engine normalises
    rule: str  # THRESHOLD | RANGE | PERCENTILE
    direction: int  # POSITIVE: more raw is better; NEGATIVE: more raw is worse
    red: float | None = None  # THRESHOLD: raw value at/beyond which sub-score is 0
    green: float | None = None  # THRESHOLD: raw value at/beyond which sub-score is 100
    low: float | None = None  # RANGE: raw low end
    high: float | None = None  # RANGE: raw high end


class ScorecardError(ValueError):
    """A scorecard or band configuration that cannot produce a meaningful score."""


def _finite(x: float | None) -> TypeGuard[float]:
    return x is not None and math.isfinite(x)


def validate_measures(measures: Sequence[MeasureSpec]) -> None:
    """Raise ScorecardError, naming the measure, if the scorecard can't be scored."""
    if not measures:
        raise ScorecardError("The scorecard has no measures.")
    seen: set[str] = set()
    for m in measures:
        name = f"Measure {m.key!r}"
        # Callers map results back by key: a duplicate would silently merge two.
        if m.key in seen:
            raise ScorecardError(f"{name} appears more than once.")
        seen.add(m.key)
        if not _finite(m.weight) or m.weight <= 0:
            raise ScorecardError(f"{name}: weight must be a positive number, got {m.weight!r}.")
        if m.direction not in (POSITIVE, NEGATIVE):
            raise ScorecardError(f"{name}: unknown direction {m.direction!r}.")
        if m.rule == THRESHOLD:
            if not (_finite(m.red) and _finite(m.green)):
                raise ScorecardError(f"{name}: threshold rule needs both red and green values.")
            # Equal thresholds would divide by zero; swapped ones would silently flip
            # the measure's direction.
            if (m.green - m.red) * m.direction <= 0:
                kind, side = ("better", "below") if m.direction > 0 else ("worse", "above")
                raise ScorecardError(
                    f"{name}: thresholds are inverted: when more is {kind}, "
                    f"red ({m.red}) must be {side} green ({m.green})."
                )
        elif m.rule == RANGE:
            if not (_finite(m.low) and _finite(m.high)):
                raise ScorecardError(f"{name}: range rule needs both low and high values.")
            if not m.low < m.high:
                raise ScorecardError(f"{name}: range low ({m.low}) must be below high ({m.high}).")
        elif m.rule != PERCENTILE:
            raise ScorecardError(f"{name}: unknown scoring rule {m.rule!r}.")


def _percentile_rank(col: FloatArray) -> FloatArray:
    """Mid-rank percentile among the column's non-NaN values: (below + equal/2) / n.

    This gives 50 for a lone account or an all-equal column, and ties share a rank,
    so nobody is ranked above a peer with the same raw value.
    """
    out = np.full(col.shape, np.nan)
    has = ~np.isnan(col)
    present = col[has]
    if present.size:
        # Searching the sorted values themselves (then scattering back) is about twice
        # as fast as searching them in account order: the lookups stay cache-local.
        order = np.argsort(present)
        ordered = present[order]
        below = np.searchsorted(ordered, ordered, side="left")
        at_or_below = np.searchsorted(ordered, ordered, side="right")
        rank = np.empty_like(present)
        rank[order] = 50.0 * (below + at_or_below) / present.size
        out[has] = rank
    return out


def reference_sample(col: npt.ArrayLike, size: int = 1001) -> FloatArray:
    """A compact, sorted stand-in for a population's values (exact when it is small), so
    a percentile rank can be taken against the whole population from a slice of it."""
    present = np.sort(np.asarray(col, dtype=np.float64))
    present = present[~np.isnan(present)]
    if present.size <= size:
        return present
    return np.quantile(present, np.linspace(0.0, 1.0, size))


def _rank_against(col: FloatArray, reference: FloatArray) -> FloatArray:
    out = np.full(col.shape, np.nan)
    has = ~np.isnan(col)
    if reference.size:
        below = np.searchsorted(reference, col[has], side="left")
        at_or_below = np.searchsorted(reference, col[has], side="right")
        out[has] = 50.0 * (below + at_or_below) / reference.size
    return out


def sub_scores(
    values: npt.ArrayLike,
    measures: Sequence[MeasureSpec],
    references: Mapping[str, FloatArray] | None = None,
) -> FloatArray:
    """0-100 sub-score per account and measure; NaN where the raw value is NaN.

    Percentile measures rank each account among the accounts given, or, where
    `references` has the measure's key, against that sorted population sample."""
    validate_measures(measures)
    raw = np.asarray(values, dtype=np.float64)
    if raw.ndim != 2 or raw.shape[1] != len(measures):
        raise ValueError(f"values must be (n_accounts, {len(measures)}), got {raw.shape}.")
    sub = np.empty_like(raw)
    for j, m in enumerate(measures):
        col = raw[:, j]
        if m.rule == THRESHOLD:
            # red/green are already ordered by direction, so one formula serves both.
            red, green = float(m.red), float(m.green)  # type: ignore[arg-type]
            sub[:, j] = 100.0 * np.clip((col - red) / (green - red), 0.0, 1.0)
        elif m.rule == RANGE:
            low, high = float(m.low), float(m.high)  # type: ignore[arg-type]
            p = 100.0 * np.clip((col - low) / (high - low), 0.0, 1.0)
            sub[:, j] = p if m.direction == POSITIVE else 100.0 - p
        else:
            if references is not None and m.key in references:
                rank = _rank_against(col, np.asarray(references[m.key], dtype=np.float64))
            else:
                rank = _percentile_rank(col)
            sub[:, j] = rank if m.direction == POSITIVE else 100.0 - rank
    return sub


@dataclass
class Scores:
    sub: FloatArray  # (n, m) sub-scores, NaN = no data
    score: FloatArray  # (n,) overall 0..100, NaN when no measure has data
    coverage: FloatArray  # (n,) 0..1 share of total weight that had data
    contributions: FloatArray  # (n, m) weight share * sub-score; NaN where no data
    weights: FloatArray  # (n, m) normalised weight share per account (0 where no data)


def score_accounts(
    values: npt.ArrayLike,
    measures: Sequence[MeasureSpec],
    references: Mapping[str, FloatArray] | None = None,
) -> Scores:
    """Weighted mean of the sub-scores each account has data for, with its breakdown."""
    sub = sub_scores(values, measures, references)
    w = np.array([m.weight for m in measures], dtype=np.float64)
    has = ~np.isnan(sub)
    present_w = np.where(has, w, 0.0)
    total = present_w.sum(axis=1)
    coverage = total / w.sum()
    # Missing measures are dropped and the rest renormalised, so an account is judged
    # on what we know; coverage says how much that was.
    # Rows with no data divide 0 by 1, leaving their weights at 0 instead of NaN.
    weights = present_w / np.where(total > 0, total, 1.0)[:, None]
    contributions = np.where(has, weights * np.nan_to_num(sub), np.nan)
    # Summing the contributions (rather than a separate weighted mean) keeps the
    # explanation exact: the parts shown on the page add up to the score shown.
    # Rounding away float noise keeps a perfect account at exactly 100 (not
    # 100.00000000000003) and a score that is really 70 from missing the band edge.
    summed = np.round(np.nansum(contributions, axis=1), 9)
    score = np.where(total > 0, summed, np.nan)
    return Scores(sub, score, coverage, contributions, weights)


def _check_fixed_cutoffs(green_at: float, red_below: float) -> None:
    if not (_finite(green_at) and _finite(red_below) and 0 <= red_below <= green_at <= 100):
        raise ScorecardError(
            f"Band cut-offs must satisfy 0 <= red_below <= green_at <= 100, "
            f"got red_below={red_below}, green_at={green_at}."
        )


def _check_shares(top_share: float, bottom_share: float) -> None:
    for label, share in (("top_share", top_share), ("bottom_share", bottom_share)):
        if not (_finite(share) and 0 <= share <= 1):
            raise ScorecardError(f"Percentile band {label} must be between 0 and 1, got {share}.")
    if top_share + bottom_share > 1:
        raise ScorecardError(
            f"Percentile band shares overlap: top_share ({top_share}) + "
            f"bottom_share ({bottom_share}) exceeds 1."
        )


def assign_bands(
    score: npt.ArrayLike,
    coverage: npt.ArrayLike,
    *,
    min_coverage: float,
    mode: str = "fixed",
    green_at: float = 70,
    red_below: float = 40,
    top_share: float = 0.25,
    bottom_share: float = 0.25,
    tiebreak: npt.ArrayLike | None = None,
) -> npt.NDArray[np.object_]:
    """GREEN/YELLOW/RED per account by fixed cut-offs or population share; NO_DATA
    where there is no score or coverage is below min_coverage."""
    s = np.asarray(score, dtype=np.float64)
    cov = np.asarray(coverage, dtype=np.float64)
    if s.ndim != 1 or cov.shape != s.shape:
        raise ValueError(
            f"score and coverage must be 1-D of equal length, got {s.shape}, {cov.shape}."
        )
    if not (_finite(min_coverage) and 0 <= min_coverage <= 1):
        raise ScorecardError(f"min_coverage must be between 0 and 1, got {min_coverage}.")

    bands = np.full(s.shape, NO_DATA, dtype=object)
    # Thin evidence must read as "no data", never as a confident red or green.
    # (NaN compares False, so NaN coverage also lands here.)
    known = ~np.isnan(s) & (cov >= min_coverage)

    if mode == "fixed":
        _check_fixed_cutoffs(green_at, red_below)
        bands[known] = YELLOW
        bands[known & (s >= green_at)] = GREEN
        bands[known & (s < red_below)] = RED
    elif mode == "percentile":
        _check_shares(top_share, bottom_share)
        tb = np.arange(s.size) if tiebreak is None else np.asarray(tiebreak)
        if tb.shape != s.shape:
            raise ValueError(f"tiebreak must match score's shape {s.shape}, got {tb.shape}.")
        idx = np.flatnonzero(known)
        n = idx.size
        # Tied scores are split by tiebreak so band sizes are exact and repeatable.
        ordered = idx[np.lexsort((tb[idx], s[idx]))]
        n_red = math.floor(n * bottom_share + 0.5)
        # Both shares round half up, so e.g. 0.5/0.5 of an odd n could overlap by one;
        # red wins that single account.
        n_green = min(math.floor(n * top_share + 0.5), n - n_red)
        bands[ordered] = YELLOW
        bands[ordered[:n_red]] = RED
        bands[ordered[n - n_green :]] = GREEN
    else:
        raise ScorecardError(f"Unknown band mode {mode!r}; expected 'fixed' or 'percentile'.")
    return bands


def band_for(
    score: float | None,
    coverage: float,
    *,
    min_coverage: float,
    green_at: float = 70,
    red_below: float = 40,
) -> str:
    """Fixed band for one score; None or NaN means no data."""
    bands = assign_bands(
        np.array([np.nan if score is None else score], dtype=np.float64),
        np.array([coverage], dtype=np.float64),
        min_coverage=min_coverage,
        green_at=green_at,
        red_below=red_below,
    )
    return str(bands[0])
