"""The scoring engine: raw measure values in, sub-scores, overall scores and bands out.

Pure numpy, no database, so it can score a whole portfolio (100k accounts x ~20 measures)
in one vectorised pass and be tested without a database. Callers build the
(accounts x measures) matrix of raw values; NaN means "no data" for that cell.

The one home of the scoring rules: effective weights, whether a scorecard can score
(`problems`), and banding (`assign_bands` for a population, `band_for` for one account);
the bands themselves are scoring.bands.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeGuard

import numpy as np
import numpy.typing as npt

from scoring.bands import Band

POSITIVE, NEGATIVE = 1, -1
THRESHOLD, RANGE, PERCENTILE = "threshold", "range", "percentile"
# A category the scorecard gives no weight of its own weighs this much.
DEFAULT_CATEGORY_WEIGHT = 1.0

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


def effective_weights(
    measures: Sequence[tuple[str, float]],
    category_weights: Mapping[str, float],
    *,
    unlisted: float = DEFAULT_CATEGORY_WEIGHT,
) -> list[float]:
    """Each measure's effective weight from (category, own weight) pairs: a category's weight
    is shared by its measures in proportion to their own weights. A category missing from
    `category_weights` weighs `unlisted`; measures of a category whose weights add up to 0
    get 0 (a zero weight switches a measure, or a whole category, off)."""
    totals: dict[str, float] = defaultdict(float)
    for category, weight in measures:
        totals[category] += weight
    return [
        category_weights.get(category, unlisted) * weight / totals[category]
        if totals[category] > 0
        else 0.0
        for category, weight in measures
    ]


def _measure_problem(measures: Sequence[MeasureSpec], names: Mapping[str, str]) -> str | None:
    """The first reason the measures cannot be scored, naming the measure; None if none."""
    if not measures:
        return "The scorecard has no measures with a positive weight."
    seen: set[str] = set()
    for m in measures:
        name = f"Measure “{names[m.key]}”" if m.key in names else f"Measure {m.key!r}"
        # Callers map results back by key: a duplicate would silently merge two.
        if m.key in seen:
            return f"{name} appears more than once."
        seen.add(m.key)
        if not _finite(m.weight) or m.weight <= 0:
            return f"{name}: weight must be a positive number, got {m.weight!r}."
        if m.direction not in (POSITIVE, NEGATIVE):
            return f"{name}: unknown direction {m.direction!r}."
        if m.rule == THRESHOLD:
            if not (_finite(m.red) and _finite(m.green)):
                return f"{name}: threshold rule needs both red and green values."
            # Equal thresholds would divide by zero; swapped ones would silently flip
            # the measure's direction.
            if (m.green - m.red) * m.direction <= 0:
                kind, side = ("better", "below") if m.direction > 0 else ("worse", "above")
                return (
                    f"{name}: thresholds are inverted: when more is {kind}, "
                    f"red ({m.red}) must be {side} green ({m.green})."
                )
        elif m.rule == RANGE:
            if not (_finite(m.low) and _finite(m.high)):
                return f"{name}: range rule needs both low and high values."
            if not m.low < m.high:
                return f"{name}: range low ({m.low}) must be below high ({m.high})."
        elif m.rule != PERCENTILE:
            return f"{name}: unknown scoring rule {m.rule!r}."
    return None


def validate_measures(measures: Sequence[MeasureSpec]) -> None:
    """Raise ScorecardError, naming the measure, if the scorecard can't be scored."""
    problem = _measure_problem(measures, {})
    if problem:
        raise ScorecardError(problem)


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


def validate_bands(
    *,
    min_coverage: float,
    mode: str = "fixed",
    green_at: float = 70,
    red_below: float = 40,
    top_share: float = 0.25,
    bottom_share: float = 0.25,
) -> None:
    """Raise ScorecardError if these band settings cannot band a population."""
    if not (_finite(min_coverage) and 0 <= min_coverage <= 1):
        raise ScorecardError(f"min_coverage must be between 0 and 1, got {min_coverage}.")
    if mode == "fixed":
        _check_fixed_cutoffs(green_at, red_below)
    elif mode == "percentile":
        _check_shares(top_share, bottom_share)
    else:
        raise ScorecardError(f"Unknown band mode {mode!r}; expected 'fixed' or 'percentile'.")


def problems(
    measures: Sequence[MeasureSpec],
    *,
    names: Mapping[str, str] | None = None,
    **band_settings: float | str,
) -> list[str]:
    """Everything that stops a scorecard from scoring, in words an admin can act on: the
    first broken measure (called by `names[key]` where given) and the band settings
    (assign_bands' keywords). Empty when it can score."""
    found = []
    problem = _measure_problem(measures, names or {})
    if problem:
        found.append(problem)
    try:
        validate_bands(**band_settings)  # type: ignore[arg-type]
    except ScorecardError as exc:
        found.append(str(exc))
    return found


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
    validate_bands(
        min_coverage=min_coverage,
        mode=mode,
        green_at=green_at,
        red_below=red_below,
        top_share=top_share,
        bottom_share=bottom_share,
    )

    bands = np.full(s.shape, Band.NO_DATA, dtype=object)
    # Thin evidence must read as "no data", never as a confident red or green.
    # (NaN compares False, so NaN coverage also lands here.)
    known = ~np.isnan(s) & (cov >= min_coverage)

    if mode == "fixed":
        bands[known] = Band.YELLOW
        bands[known & (s >= green_at)] = Band.GREEN
        bands[known & (s < red_below)] = Band.RED
    else:  # percentile: validate_bands refused any other mode
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
        bands[ordered] = Band.YELLOW
        bands[ordered[:n_red]] = Band.RED
        bands[ordered[n - n_green :]] = Band.GREEN
    return bands


def band_cuts(score: npt.ArrayLike, bands: npt.ArrayLike) -> list[float | None]:
    """[the highest red score, the lowest green score] of a banded population (None where
    no account has that band): what percentile bands come to, as scores."""
    s, b = np.asarray(score, dtype=np.float64), np.asarray(bands, dtype=object)
    red, green = s[b == Band.RED], s[b == Band.GREEN]
    return [float(red.max()) if red.size else None, float(green.min()) if green.size else None]


def band_for(
    score: float | None,
    coverage: float,
    *,
    min_coverage: float,
    green_at: float = 70,
    red_below: float = 40,
    cuts: Sequence[float | None] | None = None,
) -> Band:
    """One account's band; None or NaN means no data. By the fixed cut-offs, or, given the
    `cuts` of the population it belongs to (band_cuts of percentile bands), as that
    population was banded: a lone account cannot be ranked, so it is green from the lowest
    green score and red up to the highest red one."""
    if cuts is None:
        bands = assign_bands(
            np.array([np.nan if score is None else score], dtype=np.float64),
            np.array([coverage], dtype=np.float64),
            min_coverage=min_coverage,
            green_at=green_at,
            red_below=red_below,
        )
        return bands[0]
    validate_bands(min_coverage=min_coverage, mode="percentile")
    if score is None or math.isnan(score) or not coverage >= min_coverage:
        return Band.NO_DATA
    red_max, green_min = cuts
    if green_min is not None and score >= green_min:
        return Band.GREEN
    if red_max is not None and score <= red_max:
        return Band.RED
    return Band.YELLOW
