"""A scorecard version's scores on a past date: its stored snapshots where they exist,
computed from the signals observed up to the end of that date where not (never a later one).

Stored rows come from that date's done run (one query); the other accounts are aggregated in
slices with the nightly run's set-based aggregation (scoring.aggregates) and scored by the
engine as a run scores them (population-wide percentile references, percentile bands).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from scoring import engine
from scoring.aggregates import aggregate
from scoring.bands import Band
from scoring.editor.preview import score_population
from scoring.models import HealthScore, ScoreRun
from scoring.pipeline import compute
from scoring.specs import VersionConfig

CHUNK_ACCOUNTS = 20_000


@dataclass
class DateScores:
    """One date's scores of the given accounts (sorted ids), rows aligned with them."""

    day: dt.date
    account_ids: np.ndarray
    score: np.ndarray  # NaN: no data
    band: np.ndarray  # Band values (object)
    raw: np.ndarray  # (accounts × measures) raw values
    sub: np.ndarray  # (accounts × measures) sub-scores, NaN where no data
    stored: int  # rows read from snapshots
    computed: int  # rows computed from signals


def _stored(version: VersionConfig, day: dt.date, ids: np.ndarray):
    """(row positions, scores, bands, raw, sub) of the accounts the day's done run stored for
    this version."""
    n = len(version.measures)
    run = ScoreRun.objects.filter(status=ScoreRun.Status.DONE, date=day).only("pk").first()
    empty = (np.array([], np.int64), np.array([]), np.array([], object))
    if run is None or not len(ids):
        return (*empty, np.empty((0, n)), np.empty((0, n)))
    rows = list(
        HealthScore.objects.filter(
            run_id=run.pk,
            version_id=version.id,
            account_id__gte=int(ids[0]),
            account_id__lte=int(ids[-1]),
        ).values_list("account_id", "score", "band", "details")
    )
    found = np.array([r[0] for r in rows], dtype=np.int64)
    pos = np.searchsorted(ids, found)
    ok = (pos < len(ids)) & (ids[np.minimum(pos, len(ids) - 1)] == found)
    keep = [r for r, k in zip(rows, ok, strict=True) if k]
    raw = np.array(
        [compute.raw_from_details(r[3] or {}, n)[:n] for r in keep], dtype=np.float64
    ).reshape(len(keep), n)
    sub = np.array(
        [compute.raw_from_details({"raw": (r[3] or {}).get("sub") or []}, n)[:n] for r in keep],
        dtype=np.float64,
    ).reshape(len(keep), n)
    scores = np.array([np.nan if r[1] is None else r[1] for r in keep], dtype=np.float64)
    return pos[ok], scores, np.array([r[2] for r in keep], dtype=object), raw, sub


def raw_as_of(
    version: VersionConfig, day: dt.date, ids: np.ndarray, seats: np.ndarray, chunk: int
) -> np.ndarray:
    """The version's raw measure values for these accounts (sorted) from signals observed up
    to the end of `day`: one aggregation pass per slice of accounts."""
    requests = compute.requests_for(version)
    parts = []
    for start in range(0, len(ids), chunk):
        sub_ids, sub_seats = ids[start : start + chunk], seats[start : start + chunk]
        aggregated = aggregate(as_of=day, requests=requests, account_ids=sub_ids)
        parts.append(compute.raw_matrix(version, aggregated, np.arange(len(sub_ids)), sub_seats))
    return np.vstack(parts) if parts else np.empty((0, len(version.measures)))


def scores_as_of(
    version: VersionConfig,
    day: dt.date,
    ids: np.ndarray,
    seats: np.ndarray,
    *,
    use_stored: bool = True,
    chunk: int = CHUNK_ACCOUNTS,
) -> DateScores:
    """The version's scores of these accounts (sorted ids) on `day`."""
    n, m = len(ids), len(version.measures)
    score, band = np.full(n, np.nan), np.full(n, Band.NO_DATA, dtype=object)
    raw, sub = np.full((n, m), np.nan), np.full((n, m), np.nan)
    pos = np.array([], np.int64)
    if use_stored:
        pos, s, b, r, u = _stored(version, day, ids)
        score[pos], band[pos], raw[pos], sub[pos] = s, b, r, u
    missing = np.setdiff1d(np.arange(n), pos, assume_unique=True)
    if len(missing):
        raw[missing] = raw_as_of(version, day, ids[missing], seats[missing], chunk)
        if not len(pos):
            scored = score_population(version, ids, raw)
            score, band = scored.scores, scored.bands
            references = _references(version, raw)
            sub = engine.sub_scores(raw, version.specs, references)
        else:
            _score_missing(version, ids, raw, score, band, sub, pos, missing)
    return DateScores(day, ids, score, band, raw, sub, int(len(pos)), int(len(missing)))


def _references(version: VersionConfig, raw: np.ndarray) -> dict[str, np.ndarray]:
    return {
        m.spec.key: engine.reference_sample(raw[:, j]).round(6)
        for j, m in enumerate(version.measures)
        if m.spec.rule == engine.PERCENTILE
    }


def _score_missing(version, ids, raw, score, band, sub, pos, missing) -> None:
    """Score the accounts without a snapshot against the whole population (stored and
    computed) and, for percentile bands, at the cut-offs the stored day was banded at."""
    result = compute.score_raw(version, ids[missing], raw[missing], _references(version, raw))
    score[missing] = np.round(result.scores.score, 2)
    sub[missing] = result.scores.sub
    if version.band_mode == "percentile":
        red_max, green_min = engine.band_cuts(score[pos], band[pos])
        known = ~np.isnan(score[missing]) & (result.scores.coverage >= version.min_coverage)
        computed = np.full(len(missing), Band.NO_DATA, dtype=object)
        computed[known] = Band.YELLOW
        s = score[missing]
        if green_min is not None:
            computed[known & (s >= green_min)] = Band.GREEN
        if red_max is not None:
            computed[known & (s <= red_max)] = Band.RED
        band[missing] = computed
    else:
        band[missing] = result.bands
