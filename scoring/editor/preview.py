"""What-if: score today's accounts with an unsaved draft, next to the active version.

Nothing is stored. The draft's accounts are the ones its scorecard scores (its segments, or
for the default scorecard every segment without a scorecard of its own); their signals are
aggregated in one set-based pass per slice of accounts, and both versions are scored the way
a real run scores them (population-wide percentile references, percentile bands on rounded
scores), so "accounts changing band" is what a recompute after publishing would store.

A scorecard with more accounts than PREVIEW_SAMPLE_ACCOUNTS is previewed on a random sample
of that many (the same sample while the population stays the same, so successive edits
compare alike): its counts and ARR are scaled to the population and come with their margin
of error at 95 % confidence, which the page states. The answer stays within seconds at a
million accounts, where scoring all of them takes about as long as a nightly run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Account, Segment
from healthboard.lib.columns import FLOAT, INT, columns_of
from healthboard.lib.dates import short_day_text
from healthboard.lib.idranges import spread_thin
from scoring import engine
from scoring.aggregates import aggregate
from scoring.bands import ORDER, RANK, Band
from scoring.models import HealthScore, ScoreRun
from scoring.pipeline import compute
from scoring.specs import ScorecardAssignment, VersionConfig, active_versions

# Accounts aggregated at once: bounds the memory of one pass (rows × ring statistics).
CHUNK_ACCOUNTS = 20_000
MOVERS = 10
# Smaller score changes are rounding (stored values have 4 decimals), not movement.
MOVER_MIN_DELTA = 0.05
HISTOGRAM_BINS = 20
# The sample's fixed seed: the same population gives the same sample from one edit to the next.
SAMPLE_SEED = 20_260_101
# Two-sided 95 % confidence.
Z_95 = 1.96


@dataclass
class PreviewMover:
    account_id: int
    name: str
    segment: str
    arr: float
    before_score: float | None
    before_band: str
    after_score: float | None
    after_band: str
    delta: float


@dataclass
class Cell:
    n: int = 0
    arr: float = 0.0


@dataclass
class Preview:
    as_of: dt.date
    draft: VersionConfig
    active: VersionConfig | None
    accounts: int = 0
    arr_total: float = 0.0
    changed: int = 0
    changed_arr: float = 0.0
    better: int = 0
    worse: int = 0
    # {before band: {after band: Cell}}, every band listed.
    matrix: dict[str, dict[str, Cell]] = field(default_factory=dict)
    before_counts: dict[str, int] = field(default_factory=dict)
    after_counts: dict[str, int] = field(default_factory=dict)
    mean_before: float | None = None
    mean_after: float | None = None
    histogram_edges: list[float] = field(default_factory=list)
    histogram_before: list[int] = field(default_factory=list)
    histogram_after: list[int] = field(default_factory=list)
    movers: list[PreviewMover] = field(default_factory=list)
    before_source: str = ""
    error: str = ""
    seconds: float = 0.0
    stats: dict[str, float] = field(default_factory=dict)  # seconds per step, counts
    # Accounts actually scored when the figures are estimated from a sample (0: every
    # account was scored, the figures are exact). The counts and ARR above are then scaled
    # to all `accounts`, give or take these margins (95 % confidence).
    sampled: int = 0
    changed_margin: int = 0
    changed_arr_margin: float = 0.0
    # Per account, for tests, the benchmark and the movers' export: ids, both bands and
    # scores, ARR (aligned).
    account_ids: np.ndarray | None = None
    before_bands: np.ndarray | None = None
    after_bands: np.ndarray | None = None
    before_scores: np.ndarray | None = None
    after_scores: np.ndarray | None = None
    arr: np.ndarray | None = None

    @property
    def changed_share(self) -> float:
        return 100 * self.changed / self.accounts if self.accounts else 0.0

    @property
    def changed_share_margin(self) -> float:
        """The margin of changed_share, in percentage points (0 when exact)."""
        return 100 * self.changed_margin / self.accounts if self.accounts else 0.0

    @property
    def changed_accounts(self) -> dict[int, tuple[str, str]]:
        """{account id: (band before, band after)} of the accounts changing band."""
        if self.account_ids is None:
            return {}
        moved = self.before_bands != self.after_bands
        return {
            int(a): (str(b), str(c))
            for a, b, c in zip(
                self.account_ids[moved],
                self.before_bands[moved],
                self.after_bands[moved],
                strict=True,
            )
        }


def _population(draft: VersionConfig, actives: list[VersionConfig], as_of: dt.date) -> np.ndarray:
    """Sorted ids of today's active accounts that the draft's scorecard scores: one column,
    the accounts' segments matched in SQL (at a million accounts reading their segments and
    seats too cost 0.7 s of a preview that has 2)."""
    others = [v for v in actives if v.scorecard_id != draft.scorecard_id]
    assignment = ScorecardAssignment([*others, draft])
    segments = Segment.objects.values_list("pk", flat=True)
    mine = [s for s in segments if assignment.for_segment(s) is draft]
    accounts = Account.objects.customers_on(as_of).filter(segment_id__in=mine)
    return np.sort(columns_of(accounts, pk=INT)["pk"])


def _column(ids: np.ndarray, field: str) -> np.ndarray:
    """One numeric column of these accounts (sorted ids), NaN where missing: the range from
    the first to the last id, or just these accounts when they are spread thin (a sample)."""
    if not len(ids):
        return np.array([], dtype=np.float64)
    accounts = (
        Account.objects.filter(pk__in=ids.tolist())
        if spread_thin(ids)  # a sample: not every account in between
        else Account.objects.filter(pk__gte=int(ids[0]), pk__lte=int(ids[-1]))
    )
    found = columns_of(accounts.annotate(value=F(field)), pk=INT, value=FLOAT)
    lookup = dict(zip(found["pk"].tolist(), found["value"].tolist(), strict=True))
    return np.array([lookup.get(a, np.nan) for a in ids.tolist()], dtype=np.float64)


def _sample(ids: np.ndarray, size: int) -> np.ndarray:
    """`size` of the accounts, drawn at random without replacement, in id order."""
    rows = np.sort(np.random.default_rng(SAMPLE_SEED).choice(len(ids), size=size, replace=False))
    return ids[rows]


def _margin(values: np.ndarray, population: int) -> float:
    """The 95 % margin of error of a population total estimated from a simple random
    sample's `values` (with the finite population correction)."""
    n = len(values)
    if n < 2 or population <= n:
        return 0.0
    spread = float(np.std(values, ddof=1))
    return Z_95 * population * spread / np.sqrt(n) * np.sqrt((population - n) / (population - 1))


def _extrapolate(preview: Preview, population: int) -> None:
    """Scale a sample's figures (already compared) to the population, with their margins."""
    n = preview.accounts
    if not n or population <= n:
        return
    factor = population / n
    moved = preview.before_bands != preview.after_bands
    preview.sampled = n
    preview.changed_margin = round(_margin(moved.astype(np.float64), population))
    preview.changed_arr_margin = _margin(np.where(moved, preview.arr, 0.0), population)
    preview.accounts = population
    preview.arr_total *= factor
    preview.changed = round(preview.changed * factor)
    preview.changed_arr *= factor
    preview.better = round(preview.better * factor)
    preview.worse = round(preview.worse * factor)
    for row in preview.matrix.values():
        for cell in row.values():
            cell.n, cell.arr = round(cell.n * factor), cell.arr * factor
    for counts in (preview.before_counts, preview.after_counts):
        for band, count in counts.items():
            counts[band] = round(count * factor)
    preview.histogram_before = [round(c * factor) for c in preview.histogram_before]
    preview.histogram_after = [round(c * factor) for c in preview.histogram_after]


def _raw_matrices(configs: list[VersionConfig], as_of: dt.date, ids, seats, chunk_size: int):
    """{config id: (accounts × measures) raw values}: one aggregation pass per slice."""
    requests = list(dict.fromkeys(r for c in configs for r in compute.requests_for(c)))
    parts: dict[int, list[np.ndarray]] = {c.id: [] for c in configs}
    for start in range(0, len(ids), chunk_size):
        sub_ids, sub_seats = ids[start : start + chunk_size], seats[start : start + chunk_size]
        aggregated = aggregate(as_of=as_of, requests=requests, account_ids=sub_ids)
        rows = np.arange(len(sub_ids))
        for c in configs:
            parts[c.id].append(compute.raw_matrix(c, aggregated, rows, sub_seats))
    return {
        c.id: (np.vstack(parts[c.id]) if parts[c.id] else np.empty((0, len(c.measures))))
        for c in configs
    }


@dataclass
class Scored:
    scores: np.ndarray  # rounded as stored
    bands: np.ndarray
    weights: np.ndarray  # (accounts × measures) weight share of each measure in each score


def score_population(config: VersionConfig, ids: np.ndarray, raw: np.ndarray) -> Scored:
    """A whole population scored as a score run scores it: percentile measures ranked against
    the population's sample, percentile bands set on rounded scores."""
    references = {
        m.spec.key: engine.reference_sample(raw[:, j]).round(6)
        for j, m in enumerate(config.measures)
        if m.spec.rule == engine.PERCENTILE
    }
    result = compute.score_raw(config, ids, raw, references)
    scores = np.round(result.scores.score, 2)
    bands = result.bands
    if config.band_mode == "percentile":
        # A run bands percentile scorecards at the end, from the stored (rounded) values.
        bands = engine.assign_bands(
            scores, np.round(result.scores.coverage, 4), tiebreak=ids, **config.band_kwargs()
        )
    return Scored(scores, np.asarray(bands, dtype=object), result.scores.weights)


@dataclass
class Stored:
    """Today's published scores of the active version for the draft's accounts."""

    run: ScoreRun
    scores: np.ndarray
    bands: np.ndarray
    raw: np.ndarray  # (accounts × active measures), as stored: rounded to 4 decimals


def _stored_today(
    active: VersionConfig, ids: np.ndarray, as_of: dt.date, *, sampled: bool = False
) -> Stored | None:
    """None unless today's done run scored exactly these accounts (sampled: at least these
    accounts, of the population) with the active version."""
    run = ScoreRun.objects.filter(status=ScoreRun.Status.DONE, date=as_of).first()
    if run is None or active.id not in run.reference.get("versions", []):
        return None
    scores = HealthScore.objects.filter(run=run, version_id=active.id)
    if sampled:
        scores = scores.filter(account_id__in=ids.tolist())
    rows = list(
        scores.order_by("account_id").values_list("account_id", "score", "band", "details__raw")
    )
    if len(rows) != len(ids) or any(r[0] != a for r, a in zip(rows, ids.tolist(), strict=True)):
        return None
    n = len(active.measures)
    return Stored(
        run=run,
        scores=np.array([np.nan if r[1] is None else r[1] for r in rows], dtype=np.float64),
        bands=np.array([r[2] for r in rows], dtype=object),
        raw=np.array(
            [compute.raw_from_details({"raw": r[3] or []}, n)[:n] for r in rows], dtype=np.float64
        )
        if rows
        else np.empty((0, n)),
    )


# ---------------------------------------------------------------- reusing today's values
#
# A draft usually changes weights, thresholds or bands, not what is measured. Today's run
# stored every measure's raw value per account, so the draft's unchanged threshold and range
# measures need no signal read at all; new or changed measures (metric, aggregation, window,
# per seat) and percentile ones (a rank moves with any rounding of the values ranked) are
# aggregated, each metric through its own index. Stored values are rounded to 4 decimals:
# an account whose score could cross a band cut-off by that rounding is re-read from its
# signals, so the bands are exactly the recompute's (scores within a few hundredths).

ROUNDING = 0.5e-4
EXACT_ONE_BY_ONE = 20  # uncertain accounts re-read one by one; more of them: in one pass


def _measure_key(m) -> tuple:
    return (m.metric_id, m.aggregation, m.window_days, m.per_seat)


def _reuse_map(draft: VersionConfig, active: VersionConfig) -> dict[int, int]:
    """{draft measure index: active measure index} whose stored values the draft can use."""
    stored = {_measure_key(m): j for j, m in enumerate(active.measures)}
    return {
        i: stored[_measure_key(m)]
        for i, m in enumerate(draft.measures)
        if m.spec.rule != engine.PERCENTILE and _measure_key(m) in stored
    }


def _only(config: VersionConfig, indexes: list[int]) -> VersionConfig:
    return dataclasses.replace(config, measures=tuple(config.measures[i] for i in indexes))


def _input_error(draft: VersionConfig, reused: list[int]) -> np.ndarray:
    """Per measure, how far its sub-score moves when its value is off by the rounding."""
    error = np.zeros(len(draft.measures))
    for i in reused:
        spec = draft.measures[i].spec
        span = spec.green - spec.red if spec.rule == engine.THRESHOLD else spec.high - spec.low
        error[i] = 100 * ROUNDING / abs(span)
    return error


def _uncertain(draft: VersionConfig, scored: Scored, error: np.ndarray) -> np.ndarray:
    """Rows whose band a recompute from unrounded values could set differently (with a
    safety factor of 2, and the 0.01 of scores rounded to 2 decimals)."""
    per_account = 2 * (scored.weights * error).sum(axis=1) + 0.01
    scores, bands = scored.scores, scored.bands
    if draft.band_mode == "percentile":
        cuts = engine.band_cuts(scores, bands)
        # The account at the cut moves too.
        per_account = per_account + per_account.max(initial=0)
    else:
        cuts = [draft.red_below, draft.green_at]
    near = np.zeros(len(scores), dtype=bool)
    with np.errstate(invalid="ignore"):
        for cut in cuts:
            if cut is not None:
                near |= np.abs(scores - cut) <= per_account
    return np.flatnonzero(near)


def _exact_rows(config: VersionConfig, as_of, ids, seats, rows: np.ndarray) -> np.ndarray:
    """Some accounts' values of the config's measures, aggregated from their signals."""
    requests = compute.requests_for(config)
    if len(rows) <= EXACT_ONE_BY_ONE:
        # One account's signals come from the account index: cheap however large the table.
        parts = []
        for r in rows:
            aggregated = aggregate(as_of=as_of, requests=requests, account_ids=ids[r : r + 1])
            parts.append(compute.raw_matrix(config, aggregated, np.arange(1), seats[r : r + 1]))
        return np.vstack(parts)
    aggregated = aggregate(as_of=as_of, requests=requests, account_ids=ids[rows])
    return compute.raw_matrix(config, aggregated, np.arange(len(rows)), seats[rows])


def _score_reusing(draft, stored: Stored, reuse, as_of, ids, seats, chunk_size, preview):
    """The draft's scores from today's stored values where it can, signals where it must."""
    raw = np.full((len(ids), len(draft.measures)), np.nan)
    for i, j in reuse.items():
        raw[:, i] = stored.raw[:, j]
    fresh = [i for i in range(len(draft.measures)) if i not in reuse]
    if fresh:
        config = _only(draft, fresh)
        raw[:, fresh] = _raw_matrices([config], as_of, ids, seats, chunk_size)[config.id]
    scored = score_population(draft, ids, raw)
    reused = sorted(reuse)
    uncertain = _uncertain(draft, scored, _input_error(draft, reused))
    preview.stats["reused_measures"] = len(reused)
    preview.stats["exact_accounts"] = len(uncertain)
    if uncertain.size:
        exact = _exact_rows(_only(draft, reused), as_of, ids, seats, uncertain)
        raw[np.ix_(uncertain, reused)] = exact
        scored = score_population(draft, ids, raw)
    return scored


def _arr(ids: np.ndarray) -> np.ndarray:
    return np.nan_to_num(_column(ids, "arr"), nan=0.0)


def _mean(scores: np.ndarray) -> float | None:
    present = scores[~np.isnan(scores)]
    return float(present.mean()) if present.size else None


def _score_changes(arr, before, after) -> tuple[np.ndarray, np.ndarray]:
    """(every account whose score moves, largest change first and the larger account first
    among equal changes; the changes)."""
    with np.errstate(invalid="ignore"):
        delta = after - before
    known = np.flatnonzero(~np.isnan(delta) & (np.abs(delta) >= MOVER_MIN_DELTA))
    return known[np.lexsort((-arr[known], -np.abs(delta[known])))], delta


def _score(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _movers(ids, arr, before, before_bands, after, after_bands) -> list[PreviewMover]:
    moving, delta = _score_changes(arr, before, after)
    top = moving[:MOVERS]
    if not top.size:
        return []
    details = {
        row["pk"]: row
        for row in Account.objects.filter(pk__in=ids[top].tolist()).values(
            "pk", "name", "segment__name"
        )
    }
    return [
        PreviewMover(
            account_id=int(ids[i]),
            name=details.get(int(ids[i]), {}).get("name", f"Account {ids[i]}"),
            segment=details.get(int(ids[i]), {}).get("segment__name", ""),
            arr=float(arr[i]),
            before_score=_score(before[i]),
            before_band=str(before_bands[i]),
            after_score=_score(after[i]),
            after_band=str(after_bands[i]),
            delta=float(delta[i]),
        )
        for i in top
    ]


@dataclass(frozen=True)
class PreviewChange:
    """An account the draft moves, for the movers' export: its id, ARR, both scores and
    bands, and the change (None when one side has no score)."""

    account_id: int
    arr: float
    before_score: float | None
    before_band: str
    after_score: float | None
    after_band: str
    delta: float | None


def preview_changes(preview: Preview) -> Iterator[PreviewChange]:
    """Every account whose score or band the draft changes: the movers list in full (largest
    change first), then the accounts changing band without their score moving (new cut-offs,
    or a score on one side only), the larger first. Reads nothing: the preview holds the
    arrays."""
    if preview.account_ids is None:
        return
    ids, arr = preview.account_ids, preview.arr
    before, after = preview.before_scores, preview.after_scores
    moving, delta = _score_changes(arr, before, after)
    banded = np.flatnonzero(preview.before_bands != preview.after_bands)
    banded = banded[~np.isin(banded, moving)]
    banded = banded[np.lexsort((ids[banded], -arr[banded]))]
    for i in np.concatenate([moving, banded]).tolist():
        yield PreviewChange(
            account_id=int(ids[i]),
            arr=float(arr[i]),
            before_score=_score(before[i]),
            before_band=str(preview.before_bands[i]),
            after_score=_score(after[i]),
            after_band=str(preview.after_bands[i]),
            delta=_score(delta[i]),
        )


def _compare(preview: Preview, ids, arr, before, before_bands, after, after_bands) -> None:
    preview.accounts = len(ids)
    preview.arr_total = float(arr.sum())
    moved = before_bands != after_bands
    preview.changed = int(moved.sum())
    preview.changed_arr = float(arr[moved].sum())
    # "No data" has no rank (0 here): it is neither better nor worse than a colour.
    rank_before = np.array([RANK.get(b, 0) for b in before_bands])
    rank_after = np.array([RANK.get(b, 0) for b in after_bands])
    coloured = (rank_before > 0) & (rank_after > 0)
    preview.better = int((coloured & (rank_after > rank_before)).sum())
    preview.worse = int((coloured & (rank_after < rank_before)).sum())
    preview.matrix = {b: {a: Cell() for a in ORDER} for b in ORDER}
    for b in ORDER:
        for a in ORDER:
            cell = (before_bands == b) & (after_bands == a)
            preview.matrix[b][a] = Cell(int(cell.sum()), float(arr[cell].sum()))
    preview.before_counts = {b: int((before_bands == b).sum()) for b in ORDER}
    preview.after_counts = {b: int((after_bands == b).sum()) for b in ORDER}
    preview.mean_before, preview.mean_after = _mean(before), _mean(after)
    edges = np.linspace(0, 100, HISTOGRAM_BINS + 1)
    preview.histogram_edges = edges.tolist()
    preview.histogram_before = np.histogram(before[~np.isnan(before)], bins=edges)[0].tolist()
    preview.histogram_after = np.histogram(after[~np.isnan(after)], bins=edges)[0].tolist()
    preview.movers = _movers(ids, arr, before, before_bands, after, after_bands)
    preview.account_ids, preview.before_bands, preview.after_bands = ids, before_bands, after_bands
    preview.before_scores, preview.after_scores, preview.arr = before, after, arr


def preview_draft(
    *,
    draft: VersionConfig,
    as_of: dt.date | None = None,
    chunk_size: int = CHUNK_ACCOUNTS,
    use_stored: bool = True,
    sample_size: int | None = None,
) -> Preview:
    """Score the draft's accounts with the draft and (or from today's run) the active version:
    all of them, or a sample of `sample_size` (default PREVIEW_SAMPLE_ACCOUNTS; 0: never
    sample) when there are more."""
    started = time.perf_counter()
    as_of = as_of or timezone.localdate()
    actives = active_versions()
    active = next((v for v in actives if v.scorecard_id == draft.scorecard_id), None)
    preview = Preview(as_of=as_of, draft=draft, active=active)
    if problems := draft.problems():
        preview.error = gettext("The draft cannot score yet: %(problem)s") % {
            "problem": problems[0]
        }
        return preview

    ids = _population(draft, actives, as_of)
    population = len(ids)
    limit = settings.PREVIEW_SAMPLE_ACCOUNTS if sample_size is None else sample_size
    sampled = 0 < limit < population
    if sampled:
        ids = _sample(ids, limit)
    seats = _column(ids, "seats")
    stored = _stored_today(active, ids, as_of, sampled=sampled) if (active and use_stored) else None
    tick = time.perf_counter()
    reuse = _reuse_map(draft, active) if stored is not None else {}
    if reuse:
        scored = _score_reusing(draft, stored, reuse, as_of, ids, seats, chunk_size, preview)
    else:
        to_compute = [draft] + ([active] if active and stored is None else [])
        raw = _raw_matrices(to_compute, as_of, ids, seats, chunk_size)
        scored = score_population(draft, ids, raw[draft.id])
    after, after_bands = scored.scores, scored.bands
    preview.stats["draft_s"] = time.perf_counter() - tick

    tick = time.perf_counter()
    if stored is not None:
        before, before_bands = stored.scores, stored.bands
        preview.before_source = gettext(
            "today's published scores (v%(number)s, run of %(day)s)"
        ) % {"number": active.number, "day": short_day_text(stored.run.date)}
    elif active is not None:
        active_scored = score_population(active, ids, raw[active.id])
        before, before_bands = active_scored.scores, active_scored.bands
        preview.before_source = gettext("v%(number)s computed now against today's signals") % {
            "number": active.number
        }
    else:
        before = np.full(len(ids), np.nan)
        before_bands = np.full(len(ids), Band.NO_DATA, dtype=object)
        preview.before_source = gettext("no active version: every account counts as no data before")
    preview.stats["before_s"] = time.perf_counter() - tick

    tick = time.perf_counter()
    _compare(preview, ids, _arr(ids), before, before_bands, after, after_bands)
    _extrapolate(preview, population)
    preview.stats["compare_s"] = time.perf_counter() - tick
    preview.seconds = time.perf_counter() - started
    return preview
