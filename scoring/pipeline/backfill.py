"""Aggregates for every date of a range from one read of the signals (score back-fills).

aggregate() reads one date's windows, so back-filling a year reads each signal up to 365 times.
Here signals are grouped once per account, metric and bucket (a local calendar day: windows end
at local midnights and span whole days) and numpy slides every window along the days: counts
and sums as prefix-sum differences; min, max and the trend's moments by doubling (a w-day window
joins blocks of 2**j days). Moments stay relative to their block's end and move as blocks join
(Σ(t+δ)² = Σt² + 2δΣt + nδ², all terms ≥ 0): against one far reference they would be hundreds
of days² and lose the digits a short window's slope needs.

Memory (A accounts, D dates, R requests, W days of the longest window): 8·A·D·R bytes of results,
~15 arrays of 8·A·(W + D) bytes for one metric, ~100 bytes a bucket with signals; ~475 MB at
peak for the 2,000-account demo, 365 dates, 21 requests. Pass fewer accounts for less.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection

from scoring.aggregates import (
    AGGREGATIONS,
    ZERO_WHEN_EMPTY,
    Aggregated,
    AggRequest,
    aggregation_cursor,
    window_end,
)

JD_EPOCH_MS = 210866760000000  # the Unix epoch in milliseconds of SQLite's julianday()
N, SUM, MIN, MAX, ST, STT, STY, PROMOTERS, DETRACTORS = range(9)  # columns after (acct, metric, k)
Stats = tuple[np.ndarray, ...]


@dataclass(frozen=True)
class _Days:
    """Bucket k: the local day from bounds[k]; the first date's windows end at bounds[longest].
    `coord`: the bounds on the database's scale for t (Unix seconds, or SQLite's julianday)."""

    longest: int
    bounds: list  # as the database compares them (adapt_datetimefield_value)
    coord: np.ndarray
    step: float  # 24 hours on that scale
    runs: list[tuple[int, int]]  # buckets [a, b) of 24 hours each; a DST day is a run alone

    @classmethod
    def spanning(cls, first: dt.date, last: dt.date, longest: int) -> _Days:
        origin = first + dt.timedelta(days=1 - longest)
        count = (last - origin).days + 1
        bounds = [window_end(origin + dt.timedelta(days=k - 1)) for k in range(count + 1)]
        epochs = np.array([round(b.timestamp()) for b in bounds], dtype=np.int64)
        if connection.vendor == "postgresql":
            coord, step = epochs.astype(np.float64), 86400.0
        else:
            coord, step = (epochs * 1000 + JD_EPOCH_MS) / 86_400_000.0, 1.0
        odd = np.flatnonzero(np.diff(epochs) != 86400)
        cuts = sorted({0, count, *odd.tolist(), *(odd + 1).tolist()})
        bounds = [connection.ops.adapt_datetimefield_value(b) for b in bounds]
        return cls(longest, bounds, coord, step, list(zip(cuts[:-1], cuts[1:], strict=True)))


def _day_sql(days: _Days, trend: bool) -> tuple[str, list, str, list]:
    """SQL for a signal's bucket k: its run's first + whole days since (exact at the bounds: whole
    seconds, or the UTC text's date and time); t: days from the bucket's end, as aggregate()."""
    pg = connection.vendor == "postgresql"

    def case(test: str, ends: list, branch: Callable[[int, int], tuple[str, list]]):
        *init, last = days.runs  # one CASE branch a run: none without DST
        sql, params = "", []
        for a, b in init:
            then, p = branch(a, b)
            sql, params = sql + f"WHEN {test} < %s THEN {then} ", params + [ends[b], *p]
        then, p = branch(*last)
        return (f"CASE {sql}ELSE {then} END", params + p) if init else (then, p)

    def bucket(a: int, b: int) -> tuple[str, list]:
        if b - a == 1:
            return "CAST(%s AS integer)", [a]
        if pg:
            sql = "CAST(%s + floor((date_part('epoch', s.observed_at) - %s) / 86400) AS integer)"
            return sql, [a, int(days.coord[a])]
        start = str(days.bounds[a])  # "YYYY-MM-DD HH:MM:SS" in UTC, like the column
        jd = (dt.date.fromisoformat(start[:10]) - dt.date(1970, 1, 1)).days + 2440587.5
        sql = "(%s + CAST(julianday(substr(s.observed_at, 1, 10)) - %s AS INTEGER)"
        return sql + " - (substr(s.observed_at, 12) < %s))", [a, jd, start[11:19]]

    def bucket_end(a: int, b: int) -> tuple[str, list]:
        return f"(%s + (b.k - %s) * {'86400' if pg else '1.0'})", [float(days.coord[a + 1]), a]

    k_sql, k_params = case("s.observed_at", days.bounds, bucket)
    if not trend:
        return k_sql, k_params, "CAST(NULL AS double precision)", []
    end, t_params = case("b.k", list(range(len(days.bounds))), bucket_end)
    at = "date_part('epoch', b.observed_at)" if pg else "julianday(b.observed_at)"
    return k_sql, k_params, f"({at} - {end}) / {days.step}", t_params


STATS_SQL = (
    "SELECT b.account_id, b.metric_id, b.k, COUNT(*), SUM(b.value), MIN(b.value), MAX(b.value), "
    "SUM(b.t), SUM(b.t * b.t), SUM(b.t * b.value), "
    "SUM(CASE WHEN b.nps = 1 AND b.value >= 9 THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN b.nps = 1 AND b.value <= 6 THEN 1 ELSE 0 END) "
    "FROM {b} GROUP BY b.account_id, b.metric_id, b.k"
)
# Each bucket's latest signal (ties: the highest id), as aggregate() picks the last value.
LASTS_SQL = (
    "SELECT account_id, metric_id, k, value FROM (SELECT b.account_id, b.metric_id, b.k, "
    "b.value, ROW_NUMBER() OVER (PARTITION BY b.account_id, b.metric_id, b.k "
    "ORDER BY b.observed_at DESC, b.id DESC) AS rn FROM {b}) latest WHERE rn = 1"
)


def _query(days: _Days, spans: dict[int, int], flags: dict, ids: range, select: str):
    """Run `select` over b: the signals the metrics' longest windows read, with bucket k and t."""
    pg = connection.vendor == "postgresql"
    row = "(CAST(%s AS bigint), CAST(%s AS timestamptz), %s, %s)" if pg else "(%s, %s, %s, %s)"
    params: list = []
    for metric, span in spans.items():
        params += [metric, days.bounds[days.longest - span], *flags.get(metric, (0, 0))]
    k_sql, k_params, t_sql, t_params = _day_sql(days, any(t for t, _ in flags.values()))
    b = (
        f"(SELECT b.*, CASE WHEN b.trend = 1 THEN {t_sql} END AS t FROM ("
        f"SELECT s.id, s.account_id, w.metric_id, s.value, s.observed_at, w.trend, w.nps, "
        f"{k_sql} AS k FROM accounts_signal s JOIN w ON s.metric_id = w.metric_id "
        "AND s.observed_at >= w.start_at WHERE s.account_id BETWEEN %s AND %s "
        "AND s.observed_at >= %s AND s.observed_at < %s) b) b"
    )
    w = f"WITH w(metric_id, start_at, trend, nps) AS (VALUES {', '.join([row] * len(spans))}) "
    params += t_params + k_params + [ids.start, ids.stop - 1, days.bounds[0], days.bounds[-1]]
    with aggregation_cursor() as cursor:
        cursor.execute(w + select.replace("{b}", b), params)
        parts = [np.empty((0, len(cursor.description)))]
        while batch := cursor.fetchmany(50_000):  # a million row tuples: far more than floats
            parts.append(np.array(batch, dtype=np.float64))
    return np.concatenate(parts)


def _grouped_here(days: _Days, spans: dict[int, int], flags: dict, ids: range, lasts: dict):
    """_query's STATS_SQL and LASTS_SQL results (lasts: the metrics that need them) from one
    plain read of the signals, grouped by numpy: SQLite reads them ten times faster than it
    groups its computed buckets (measured on the demo: 3 s against 28 s). The same numbers:
    buckets by the bounds at the column's microsecond, t from SQLite's julianday()."""
    metrics = list(spans)
    listed = ", ".join(["%s"] * len(metrics))
    sql = (
        "SELECT s.id, s.account_id, s.metric_id, s.value, julianday(s.observed_at), "
        f"CAST(s.observed_at AS text) FROM accounts_signal s WHERE s.metric_id IN ({listed}) "
        "AND s.account_id BETWEEN %s AND %s AND s.observed_at >= %s AND s.observed_at < %s"
    )
    params = [*metrics, ids.start, ids.stop - 1, days.bounds[0], days.bounds[-1]]
    with aggregation_cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    stats_out, lasts_out = np.empty((0, 12)), np.empty((0, 4))
    if not rows:
        return stats_out, lasts_out
    signal_id, account, metric, value, jd = (
        np.array([r[i] for r in rows], dtype=np.float64) for i in range(5)
    )
    # The text as stored (a CAST: Django's converter would make a datetime of each).
    at = np.array([r[5] for r in rows], dtype="datetime64[us]").astype(np.int64)
    bounds = np.array(
        [dt.datetime.fromisoformat(str(b)) for b in days.bounds], dtype="datetime64[us]"
    ).astype(np.int64)
    k = np.searchsorted(bounds, at, side="right") - 1
    # Per metric, looked up by id: where its longest window starts, whether it needs t and
    # the NPS counts.
    by_id = np.zeros((int(max(metrics)) + 1, 3), dtype=np.int64)
    for m, span in spans.items():
        by_id[m] = (bounds[days.longest - span], *flags.get(m, (0, 0)))
    keep = at >= by_id[metric.astype(np.int64), 0]
    signal_id, account, metric, value, jd, at, k = (
        x[keep] for x in (signal_id, account, metric, value, jd, at, k)
    )
    # t as _day_sql computes it: from the end of the bucket's run of 24-hour days.
    run_of = np.searchsorted([b for _a, b in days.runs], k, side="right")
    run_start = np.array([a for a, _b in days.runs], dtype=np.int64)[run_of]
    end = days.coord[run_start + 1] + (k - run_start) * 1.0
    trend, nps = (by_id[metric.astype(np.int64), i] == 1 for i in (1, 2))
    t = np.where(trend, (jd - end) / days.step, np.nan)

    order = np.lexsort((signal_id, at, k, metric, account))
    account, metric, k, value, t, nps = (x[order] for x in (account, metric, k, value, t, nps))
    new = np.ones(len(order), dtype=bool)
    new[1:] = (np.diff(account) != 0) | (np.diff(metric) != 0) | (np.diff(k) != 0)
    first = np.flatnonzero(new)

    def total(x):
        return np.add.reduceat(x, first)

    stats_out = np.column_stack(
        [
            account[first],
            metric[first],
            k[first],
            total(np.ones(len(order))),
            total(value),
            np.minimum.reduceat(value, first),
            np.maximum.reduceat(value, first),
            total(t),
            total(t * t),
            total(t * value),
            total((nps & (value >= 9)).astype(np.float64)),
            total((nps & (value <= 6)).astype(np.float64)),
        ]
    )
    # Sorted by time, then id, in each bucket: its last row is its latest signal.
    final = np.append(first[1:] - 1, len(order) - 1)
    wanted = np.isin(metric[final], list(lasts))
    final = final[wanted]
    lasts_out = np.column_stack([account[final], metric[final], k[final], value[final]])
    return stats_out, lasts_out


def _slide(level: Stats, windows: set[int], span: int, join: Callable) -> dict[int, Stats]:
    """Per w, the w buckets before each window end (level rows span..) joined. Row q of level j:
    the 2**j buckets before bucket q; a window joins the blocks of its binary digits."""
    rows, size = level[0].shape[0], 1
    ends, taken, out = slice(span, rows), dict.fromkeys(windows, 0), {}
    while size <= max(windows):
        for w in windows:
            if w & size:
                block = slice(span - taken[w], rows - taken[w])
                part = tuple(x[block] for x in level)
                out[w] = join(part, out[w], block, ends) if w in out else tuple(map(np.copy, part))
                taken[w] += size
        if size * 2 <= max(windows):
            left, right = slice(0, rows - size), slice(size, rows)
            halves = [tuple(x[half] for x in level) for half in (left, right)]
            for x, j in zip(level, join(*halves, left, right), strict=True):
                x[size:] = j
        size *= 2
    return out


class _Metric:
    """One metric's buckets, from the first its longest window reads. Grids are (bucket bounds,
    accounts): row q holds bucket q - 1, row 0 nothing; rows span.. are the dates' window ends."""

    def __init__(self, days: _Days, metric: int, span: int, ids: np.ndarray, stats, lasts) -> None:
        offset = days.longest - span
        self.span, self.coord, self.step = span, days.coord[offset:], days.step
        self.shape = (len(days.bounds) - offset, len(ids))
        self.stats, self.lasts = (self._cells(d, metric, ids, offset) for d in (stats, lasts))
        self._prefix: dict[int, np.ndarray] = {}

    @staticmethod
    def _cells(data: np.ndarray, metric: int, account_ids: np.ndarray, offset: int):
        """(grid rows, account columns, stats) of these accounts' buckets, not their id range's."""
        data = data[data[:, 1] == metric]
        col = np.searchsorted(account_ids, data[:, 0])
        ok = account_ids[np.minimum(col, len(account_ids) - 1)] == data[:, 0]
        return data[ok, 2].astype(np.int64) - offset + 1, col[ok], data[ok, 3:]

    def grid(self, column: int, empty: float = 0.0, cells=None) -> np.ndarray:
        row, col, values = cells or self.stats
        out = np.full(self.shape, empty)
        out[row, col] = values[:, column]
        return out

    def total(self, column: int, w: int) -> np.ndarray:
        """The column summed over each date's w-day window: (dates, accounts)."""
        if column not in self._prefix:
            self._prefix[column] = np.cumsum(self.grid(column), axis=0)
        prefix = self._prefix[column]
        return prefix[self.span :] - prefix[self.span - w : self.shape[0] - w]

    def _join_moments(self, left: Stats, right: Stats, at: slice, to: slice) -> Stats:
        d = ((self.coord[at] - self.coord[to]) / self.step)[:, None]  # left end - right end ≤ 0
        n, sy, st, stt, sty = left
        shifted = (n, sy, st + n * d, stt + d * (2 * st + n * d), sty + d * sy)
        return tuple(x + y for x, y in zip(shifted, right, strict=True))

    def values(self, requests: list[AggRequest]) -> dict[AggRequest, np.ndarray]:
        def slide(aggregation: str, columns: tuple[int, ...], empty: float, join: Callable):
            windows = {r.window_days for r in requests if r.aggregation == aggregation}
            level = tuple(self.grid(c, empty) for c in columns) if windows else ()
            return _slide(level, windows, self.span, join) if windows else {}

        lowest = slide("min", (MIN,), np.inf, lambda a, b, *_: (np.fmin(a[0], b[0]),))
        highest = slide("max", (MAX,), -np.inf, lambda a, b, *_: (np.fmax(a[0], b[0]),))
        moments = slide("trend", (N, SUM, ST, STT, STY), 0.0, self._join_moments)
        out = {}
        with np.errstate(invalid="ignore", divide="ignore"):
            for r in requests:
                w, aggregation = r.window_days, r.aggregation
                count = self.total(N, w)
                if aggregation == "count":
                    result = count
                elif aggregation in ("sum", "mean"):
                    result = self.total(SUM, w) / (count if aggregation == "mean" else 1)
                elif aggregation == "nps":
                    result = 100.0 * (self.total(PROMOTERS, w) - self.total(DETRACTORS, w)) / count
                elif aggregation == "trend":
                    n, sy, st, stt, sty = moments[w]
                    denominator = n * stt - st * st
                    result = (n * sty - st * sy) / denominator
                    result[(n < 2) | ~(np.abs(denominator) > 1e-9)] = np.nan
                elif aggregation == "last":
                    result = self._last(w)
                else:
                    result = (lowest if aggregation == "min" else highest)[w][0]
                out[r] = np.where(count > 0, result, np.nan)
        return out

    def _last(self, w: int) -> np.ndarray:
        """The latest bucket with signals before each window end, if in the window."""
        row, col, _ = self.lasts
        seen = np.full(self.shape, -1)
        seen[row, col] = row
        latest = np.maximum.accumulate(seen, axis=0)[self.span :]
        found = np.take_along_axis(self.grid(0, np.nan, self.lasts), latest, axis=0)
        return np.where(latest > np.arange(self.span, self.shape[0])[:, None] - w, found, np.nan)


@dataclass
class DailyAggregates:
    """aggregate()'s results for every date from `first` on; the arrays' rows are the dates."""

    account_ids: np.ndarray
    first: dt.date
    values: dict[AggRequest, np.ndarray]  # (dates, accounts)
    has_signals: np.ndarray  # (dates, accounts)

    @classmethod
    def build(
        cls,
        *,
        requests: Sequence[AggRequest],
        account_ids: np.ndarray,
        first: dt.date,
        last: dt.date,
    ) -> DailyAggregates:
        """One query (two with "last") over these sorted accounts' id range, for all dates."""
        account_ids = np.asarray(account_ids, dtype=np.int64)
        requests = list(dict.fromkeys(requests))
        for r in requests:
            if r.aggregation not in AGGREGATIONS or r.window_days < 1:
                raise ValueError(f"Unknown aggregation or window of less than a day: {r}.")
        if last < first:
            raise ValueError(f"{last} is before {first}.")
        shape = ((last - first).days + 1, len(account_ids))
        has_signals = np.zeros(shape, bool)
        if not len(account_ids) or not requests:
            no_data = {r: np.full(shape, np.nan) for r in requests}
            return cls(account_ids, first, no_data, has_signals)

        metrics = dict.fromkeys(r.metric_id for r in requests)
        spans = {m: max(r.window_days for r in requests if r.metric_id == m) for m in metrics}
        asked = {(r.metric_id, r.aggregation) for r in requests}
        # Only the metrics that need them pay for t and the NPS counts (as in aggregates.py).
        flags = {m: (int((m, "trend") in asked), int((m, "nps") in asked)) for m in spans}
        days = _Days.spanning(first, last, max(spans.values()))
        ids = range(int(account_ids[0]), int(account_ids[-1]) + 1)
        last_spans = {m: span for m, span in spans.items() if (m, "last") in asked}
        if connection.vendor == "postgresql":
            stats = _query(days, spans, flags, ids, STATS_SQL)
            lasts = _query(days, last_spans, {}, ids, LASTS_SQL) if last_spans else np.empty((0, 4))
        else:
            stats, lasts = _grouped_here(days, spans, flags, ids, last_spans)
        values: dict[AggRequest, np.ndarray] = {}
        for m, span in spans.items():
            metric = _Metric(days, m, span, account_ids, stats, lasts)
            has_signals |= metric.total(N, span) > 0
            values.update(metric.values([r for r in requests if r.metric_id == m]))
        for r in requests:
            if r.aggregation in ZERO_WHEN_EMPTY:
                values[r][np.isnan(values[r]) & has_signals] = 0.0
        return cls(account_ids, first, {r: values[r] for r in requests}, has_signals)

    def for_date(self, day: dt.date, account_ids: np.ndarray | None = None) -> Aggregated:
        """What aggregate(as_of=day, ...) returns for the same requests and these accounts
        (sorted, among those built; default all): an account's values depend on it alone."""
        i = (day - self.first).days
        if not 0 <= i < len(self.has_signals):
            raise ValueError(f"{day} is outside the dates built.")
        ids = self.account_ids if account_ids is None else np.asarray(account_ids, np.int64)
        rows = np.searchsorted(self.account_ids, ids)
        if (rows >= len(self.account_ids)).any() or (self.account_ids[rows] != ids).any():
            raise ValueError("Some of these accounts were not built.")
        values = {r: v[i, rows] for r, v in self.values.items()}
        return Aggregated(ids, values, self.has_signals[i, rows])
