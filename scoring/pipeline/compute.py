"""Score a set of accounts for one date: aggregate their signals, then run the engine."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import orjson

from scoring import engine
from scoring.aggregates import AggRequest, aggregate
from scoring.specs import VersionConfig


@dataclass
class VersionScores:
    """One version's results for the accounts it scores (rows aligned with account_ids)."""

    version: VersionConfig
    account_ids: np.ndarray
    raw: np.ndarray  # (accounts, measures)
    scores: engine.Scores
    bands: np.ndarray


def requests_for(version: VersionConfig) -> list[AggRequest]:
    return [AggRequest(m.metric_id, m.window_days, m.aggregation) for m in version.measures]


def raw_matrix(
    version: VersionConfig, aggregated, rows: np.ndarray, seats: np.ndarray
) -> np.ndarray:
    columns = []
    for m in version.measures:
        column = aggregated.column(AggRequest(m.metric_id, m.window_days, m.aggregation))[rows]
        if m.per_seat:
            with np.errstate(divide="ignore", invalid="ignore"):
                column = np.where(seats > 0, column / np.where(seats > 0, seats, 1), np.nan)
        columns.append(column)
    return np.column_stack(columns) if columns else np.empty((len(rows), 0))


def score_raw(
    version: VersionConfig,
    account_ids: np.ndarray,
    raw: np.ndarray,
    references: dict[str, np.ndarray] | None = None,
) -> VersionScores:
    scores = engine.score_accounts(raw, version.specs, references)
    bands = engine.assign_bands(
        scores.score, scores.coverage, tiebreak=account_ids, **version.band_kwargs()
    )
    return VersionScores(version, account_ids, raw, scores, bands)


@dataclass
class VersionRaw:
    """The raw measure values of the accounts one version scores (rows aligned with ids)."""

    version: VersionConfig
    account_ids: np.ndarray
    raw: np.ndarray  # (accounts, measures)


def raw_by_version(
    *,
    as_of: dt.date,
    account_ids: np.ndarray,
    segment_ids: np.ndarray,
    seats: np.ndarray,
    assignment,
    aggregate_fn=aggregate,
) -> list[VersionRaw]:
    """Raw values for the given accounts (sorted ids), grouped by the version that scores them.

    `aggregate_fn` stands in for aggregate() (a back-fill reads many dates at once)."""
    versions = {}
    version_of = np.full(len(account_ids), -1, dtype=np.int64)
    for segment in np.unique(segment_ids):
        version = assignment.for_segment(int(segment))
        if version is None:
            continue
        versions[version.id] = version
        version_of[segment_ids == segment] = version.id
    # Every version's requests, not only those of the versions in this slice: whether an
    # account "reports signals" (so an empty count is 0, not no data) must not depend on
    # which other accounts share its chunk.
    requests = [r for v in assignment.versions for r in requests_for(v)]
    aggregated = aggregate_fn(as_of=as_of, requests=requests, account_ids=account_ids)
    parts = []
    for version in versions.values():
        rows = np.flatnonzero(version_of == version.id)
        raw = raw_matrix(version, aggregated, rows, seats[rows])
        parts.append(VersionRaw(version, account_ids[rows], raw))
    return parts


def score_accounts(
    *,
    as_of: dt.date,
    account_ids: np.ndarray,
    segment_ids: np.ndarray,
    seats: np.ndarray,
    assignment,
    references: dict[str, np.ndarray] | None = None,
    aggregate_fn=aggregate,
) -> list[VersionScores]:
    """Scores for the given accounts (sorted ids), grouped by the version that scores them."""
    parts = raw_by_version(
        as_of=as_of,
        account_ids=account_ids,
        segment_ids=segment_ids,
        seats=seats,
        assignment=assignment,
        aggregate_fn=aggregate_fn,
    )
    return [score_raw(p.version, p.account_ids, p.raw, references) for p in parts]


def _round(value: float, digits: int = 4):
    return None if math.isnan(value) else round(float(value), digits)


def details_json(raw_row: np.ndarray, sub_row: np.ndarray) -> dict:
    """What a snapshot keeps of each measure, in the version's measure order."""
    return {"raw": [_round(v) for v in raw_row], "sub": [_round(v, 2) for v in sub_row]}


def details_json_rows(raw: np.ndarray, sub: np.ndarray) -> list[str]:
    """details_json for many accounts at once, as JSON text (what COPY and the ORM store)."""
    if not len(raw):
        return []
    # orjson writes the whole matrices at once (a missing value, NaN, as null, as JSON wants):
    # this runs for every account every night and every day of a back-fill. Each is cut into
    # its rows after: they hold numbers only, so "],[" only ever ends one.
    numpy = orjson.OPT_SERIALIZE_NUMPY
    raws = _json_rows(orjson.dumps(np.round(np.asarray(raw, np.float64), 4), option=numpy))
    subs = _json_rows(orjson.dumps(np.round(np.asarray(sub, np.float64), 2), option=numpy))
    return [f'{{"raw":[{r}],"sub":[{s}]}}' for r, s in zip(raws, subs, strict=True)]


def _json_rows(matrix: bytes) -> list[str]:
    """The rows of a JSON matrix of numbers ("[[1.0,null],[2.5,3.0]]"), each without brackets."""
    return matrix.decode()[2:-2].split("],[")


def raw_from_details(details: dict, n_measures: int) -> list[float]:
    raw = details.get("raw") or []
    return [np.nan if v is None else v for v in raw] + [np.nan] * (n_measures - len(raw))
