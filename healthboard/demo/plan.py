"""The demo's plan: every account's attributes, drawn up front from the seed.

Determinism: all randomness comes from numpy's default_rng, seeded from the seed (the
account attributes, here) and from (seed, stream, chunk number) for each chunk of accounts:
stream 1 the hidden health, 2 the signals, 3 the journey stages and notes. The same arguments
give the same accounts, owners and signals (values, timestamps, external ids) on any database.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np

from accounts.models import JourneyStage, Metric, Segment
from healthboard.demo import DemoError
from healthboard.demo.simulation import (
    METRIC_KEYS,
    SignalColumns,
    expected_per_year,
    health_traits,
    signals,
    simulate_health,
)
from healthboard.demo.texts import INDUSTRIES, company_names
from healthboard.demo.users import OWNER_SHARES

ACCOUNT_PREFIX = "CRM-"  # demo accounts are the ones whose external id starts with this

# slug: share, seats (low, high), plans and their shares
SEGMENTS = {
    "enterprise": (0.15, (200, 2000), [("Business", 0.3), ("Enterprise", 0.7)]),
    "mid-market": (0.35, (50, 300), [("Growth", 0.45), ("Business", 0.55)]),
    "smb": (0.50, (5, 50), [("Starter", 0.6), ("Growth", 0.4)]),
}
SEGMENT_SLUGS = list(SEGMENTS)
# List price per seat and year.
PLAN_PRICES = {"Starter": 300, "Growth": 480, "Business": 660, "Enterprise": 840}
# Health level offset per segment: small customers churn more.
SEGMENT_HEALTH = {"enterprise": 0.03, "mid-market": 0.0, "smb": -0.03}

STAGE_ORDER = ["onboarding", "adoption", "value", "renewal", "advocacy"]


def epoch(day: dt.date) -> int:
    """Seconds since 1970 at the day's midnight, UTC."""
    return calendar.timegm(day.timetuple())


@dataclass
class Catalogue:
    """The database ids of the catalogue rows the demo refers to (seeded by migrations)."""

    metric_ids: np.ndarray  # in METRIC_KEYS order
    segment_ids: list[int]  # in SEGMENT_SLUGS order
    stage_ids: dict[str, int]  # slug: id

    @classmethod
    def load(cls) -> Catalogue:
        metrics = dict(Metric.objects.values_list("key", "id"))
        segments = dict(Segment.objects.values_list("slug", "id"))
        stages = dict(JourneyStage.objects.values_list("slug", "id"))
        missing = (
            [key for key in METRIC_KEYS if key not in metrics]
            + [slug for slug in SEGMENT_SLUGS if slug not in segments]
            + [slug for slug in STAGE_ORDER if slug not in stages]
        )
        if missing:
            raise DemoError(
                f"The catalogue is incomplete (missing {', '.join(missing)}); run migrate first."
            )
        return cls(
            metric_ids=np.array([metrics[key] for key in METRIC_KEYS], dtype=np.int64),
            segment_ids=[segments[slug] for slug in SEGMENT_SLUGS],
            stage_ids=stages,
        )


@dataclass
class Plan:
    """Everything drawn up front from the seed, one array entry per account."""

    seed: int
    days: int
    end_date: dt.date
    start_date: dt.date
    scale: float  # frequency multiplier (signals_per_account)
    chunk_size: int
    catalogue: Catalogue
    owners: list[int | None]
    ext_ids: list[str]
    names: list[str]
    industries: list[str]
    segment: np.ndarray  # index into SEGMENT_SLUGS
    plans: list[str]
    seats: np.ndarray
    arr: np.ndarray
    owner: np.ndarray  # index into owners
    start_day: np.ndarray  # day index of the start date (negative: before the history)
    level: np.ndarray
    drift: np.ndarray  # health per day, from trend_start on
    trend_start: np.ndarray  # day index
    # filled in by companies.write_accounts, read by chunk_signals
    account_ids: np.ndarray  # database ids
    active_to: np.ndarray  # day index of the last day (the churn date, or the end date)

    @property
    def accounts(self) -> int:
        return self.seats.size

    @property
    def chunks(self) -> int:
        return -(-self.accounts // self.chunk_size)

    def chunk_slice(self, chunk: int) -> slice:
        return slice(chunk * self.chunk_size, self.chunk_end(chunk))

    def chunk_end(self, chunk: int) -> int:
        return min(self.accounts, (chunk + 1) * self.chunk_size)

    def chunk_health(self, chunk: int) -> tuple[np.ndarray, np.ndarray]:
        """The chunk's daily hidden health (accounts × days) and churn days (-1: none)."""
        part = self.chunk_slice(chunk)
        rng = np.random.default_rng([self.seed, 1, chunk])
        return simulate_health(
            rng,
            self.level[part],
            self.drift[part],
            self.trend_start[part],
            self.start_day[part],
            self.days,
        )

    def chunk_signals(self, chunk: int, cap_epoch: int) -> SignalColumns:
        """The chunk's signals (after its accounts are written: they need active_to)."""
        part = self.chunk_slice(chunk)
        health, _churn_day = self.chunk_health(chunk)
        return signals(
            np.random.default_rng([self.seed, 2, chunk]),
            health,
            seats=self.seats[part],
            arr=self.arr[part],
            start_day=self.start_day[part],
            active_to=self.active_to[part],
            start_epoch=epoch(self.start_date),
            scale=self.scale,
            cap_epoch=cap_epoch,
        )

    @classmethod
    def draw(
        cls,
        *,
        accounts: int,
        days: int,
        seed: int,
        end_date: dt.date,
        signals_per_account: int | None,
        catalogue: Catalogue,
        owners: list[int | None],
    ) -> Plan:
        rng = np.random.default_rng([seed, 0])
        n = accounts
        segment = rng.choice(len(SEGMENTS), size=n, p=[spec[0] for spec in SEGMENTS.values()])
        seats = np.empty(n, dtype=np.int64)
        plans = np.empty(n, dtype=object)
        price = np.empty(n)
        unit = rng.random(n)
        plan_draw = rng.random(n)
        for index, (_share, (low, high), plan_shares) in enumerate(SEGMENTS.values()):
            mask = segment == index
            # log-uniform: many small, few large
            seats[mask] = np.round(np.exp(np.log(low) + unit[mask] * np.log(high / low)))
            names = [name for name, _ in plan_shares]
            edges = np.cumsum([share for _, share in plan_shares])
            chosen = np.minimum(np.searchsorted(edges, plan_draw[mask]), len(names) - 1)
            plans[mask] = np.array(names, dtype=object)[chosen]
            price[mask] = [PLAN_PRICES[name] for name in plans[mask]]
        discount = 1 - 0.25 * np.clip(np.log10(seats) / np.log10(2000), 0, 1)
        arr = np.round(seats * price * discount * rng.uniform(0.9, 1.1, n), -2)
        arr = np.maximum(arr, 1000.0)

        industry = rng.integers(0, len(INDUSTRIES), n)
        names = company_names(rng, industry)
        owner = rng.choice(len(OWNER_SHARES), size=n, p=OWNER_SHARES)

        # Some accounts join during the history (~18 % a year), the others up to 6 years before.
        joins = rng.random(n) < min(0.9, 0.18 * days / 365)
        start_day = np.where(joins, rng.integers(0, days, n), -rng.integers(1, 6 * 365, n)).astype(
            np.int64
        )

        segment_offset = np.array([SEGMENT_HEALTH[slug] for slug in SEGMENT_SLUGS])[segment]
        level, drift, trend_start = health_traits(rng, segment_offset)

        width = max(6, len(str(n)))
        per_year = expected_per_year(seats)
        scale = 1.0
        if signals_per_account is not None:
            scale = signals_per_account / (per_year * days / 365)
        per_account = per_year * scale * days / 365
        chunk_size = int(np.clip(250_000 / max(per_account, 1.0), 50, 5000))
        return cls(
            seed=seed,
            days=days,
            end_date=end_date,
            start_date=end_date - dt.timedelta(days=days - 1),
            scale=scale,
            chunk_size=chunk_size,
            catalogue=catalogue,
            owners=owners,
            ext_ids=[f"{ACCOUNT_PREFIX}{i:0{width}d}" for i in range(1, n + 1)],
            names=names,
            industries=[INDUSTRIES[i][0] for i in industry],
            segment=segment,
            plans=list(plans),
            seats=seats,
            arr=arr,
            owner=owner,
            start_day=start_day,
            level=level,
            drift=drift,
            trend_start=trend_start,
            account_ids=np.zeros(n, dtype=np.int64),
            active_to=np.zeros(n, dtype=np.int64),
        )
