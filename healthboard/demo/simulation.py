"""The demo's hidden health, its churn, and the signals drawn from it: numpy only.

Every account has a hidden "true health" h in [0, 1] for every day of the history: a
mean-reverting random walk (AR(1)) around an account-specific level, with occasional shocks;
some accounts decline (or improve) steadily. Accounts whose health stays below CHURN_LEVEL for
CHURN_DAYS days in a row churn that day. Every signal is drawn from that day's h with noise,
on the value scales the default scorecards are tuned to.

The functions here take a random generator and arrays (one entry per account) and return
arrays; which generator each step gets, and so the determinism, is decided in plan.py.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from accounts.catalogue import METRICS
from healthboard.demo.texts import (
    EXPANSION_CODES,
    MEETING_CODES,
    NPS_COMMENT_CODES,
    REVIEW_SITE_CODES,
    REVIEW_TITLE_CODES,
    SOCIAL_CODES,
    TICKET_CATEGORIES,
    TICKET_CATEGORY_CODES,
    TICKET_CATEGORY_SHARES,
    TICKET_SUBJECT_CODES,
)

# Churn: health below CHURN_LEVEL for CHURN_DAYS days in a row.
CHURN_LEVEL = 0.3
CHURN_DAYS = 60

# The hidden health walk (per day).
PERSISTENCE = 0.97  # AR(1) coefficient: deviations halve in ~23 days
DAILY_NOISE = 0.03  # stationary spread ≈ 0.12
SHOCK_RATE = 1 / 250  # ~1.5 shocks a year
# Steady declines start at random times (~DECLINES_PER_YEAR of the accounts a year, some
# already under way when the history starts), so churn goes on at a similar yearly rate
# however long the history is.
DECLINES_PER_YEAR = 0.08
DECLINE_HEAD_START = 500  # days: a full pipeline of declines when the history starts
IMPROVING_SHARE = 0.05
LEVEL_BETA = (4.5, 2.4)  # account health levels: mean ≈ 0.65

WEEK, MONTH, QUARTER, YEAR = 7.0, 365.25 / 12, 365.25 / 4, 365.25

METRIC_KEYS = [row[0] for row in METRICS]
METRIC_INDEX = {key: index for index, key in enumerate(METRIC_KEYS)}


# ---------------------------------------------------------------- hidden health


def health_traits(
    rng: np.random.Generator, level_offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each account's health level, its steady drift per day and the day the drift starts.

    level_offset (one entry per account) moves the level, e.g. by segment.
    """
    n = level_offset.size
    level = np.clip(rng.beta(*LEVEL_BETA, n) + level_offset, 0.05, 0.97)
    improving = rng.random(n) < IMPROVING_SHARE
    decline_start = rng.exponential(365 / DECLINES_PER_YEAR, n) - DECLINE_HEAD_START
    trend_start = np.where(improving, 0.0, decline_start)
    drift = np.where(improving, rng.uniform(0.1, 0.3, n), -rng.uniform(0.3, 0.8, n)) / 365
    return level, drift, trend_start


def simulate_health(
    rng: np.random.Generator,
    level: np.ndarray,
    drift: np.ndarray,
    trend_start: np.ndarray,
    start_day: np.ndarray,
    days: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Daily hidden health (accounts × days, in [0, 1]) and each account's churn day (-1: none).

    h = level + drift·max(0, t − trend_start) + x, where x is AR(1) with occasional shocks.
    An account churns on the day its health has been below CHURN_LEVEL for CHURN_DAYS days in
    a row (days before its start date do not count).
    """
    n = level.size
    noise = rng.standard_normal((days, n)) * DAILY_NOISE
    shocked = rng.random((days, n)) < SHOCK_RATE
    rows, cols = np.nonzero(shocked)
    sizes = np.where(
        rng.random(rows.size) < 0.8,
        -rng.uniform(0.1, 0.35, rows.size),
        rng.uniform(0.05, 0.2, rows.size),
    )
    noise[rows, cols] += sizes
    noise[0] = rng.standard_normal(n) * DAILY_NOISE / np.sqrt(1 - PERSISTENCE**2)
    health = np.empty((days, n))
    low_run = np.zeros(n, dtype=np.int64)
    churn_day = np.full(n, -1, dtype=np.int64)
    x = np.zeros(n)
    for t in range(days):
        x = PERSISTENCE * x + noise[t]
        h = np.clip(level + drift * np.maximum(0.0, t - trend_start) + x, 0.0, 1.0)
        health[t] = h
        low_run = np.where((h < CHURN_LEVEL) & (start_day <= t), low_run + 1, 0)
        churn_day[(low_run >= CHURN_DAYS) & (churn_day < 0)] = t
    return np.ascontiguousarray(health.T), churn_day


# ---------------------------------------------------------------- signals


def expected_per_year(seats: np.ndarray, h: float = 0.65) -> float:
    """Average signals per account and year at the default frequencies (for scaling)."""
    tickets = 52.18 * np.maximum(seats / 200 * (0.3 + 1.5 * (1 - h)), 0.05).mean()
    respondents = 1 + 4 * respondent_share(seats).mean()
    return float(
        5 * 52.18  # weekly: logins, active users, utilisation, complaints, e-mail opens
        + 3 * 12  # monthly: feature adoption, invoice days late, spend
        + 3 * 4
        + 4 * respondents  # quarterly: CES, happiness, KPI; NPS respondents
        + tickets * 2.5  # ticket, its resolution time, CSAT after half of them
        + 12 * (0.3 + 2.5 * h)
        + 12 * 0.6 * h**2
        + 12 * 0.5 * h**2  # meetings, talks, mentions
        + 3 * h**3
        + (1 + 2 * h)  # referrals, reviews
    )


def respondent_share(seats: np.ndarray) -> np.ndarray:
    return np.clip((np.log10(seats) - 0.5) / 2.8, 0.05, 0.95)


class SignalColumns(NamedTuple):
    """One chunk's signals, sorted by (account, metric, time): numpy columns."""

    metric: np.ndarray  # index into METRIC_KEYS
    acct: np.ndarray  # index of the account in the chunk
    when: np.ndarray  # epoch seconds
    value: np.ndarray
    category: np.ndarray  # code into texts.STRING_TABLE
    text: np.ndarray  # code into texts.STRING_TABLE
    seq: np.ndarray  # 1, 2, … per account and metric (for the external id)


class _Events:
    """Signals of one chunk, collected as numpy columns."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, key, acct, at, value, category=None, text=None) -> None:
        size = acct.size
        zeros = np.zeros(size, dtype=np.int64)
        self.parts.append(
            (
                np.full(size, METRIC_INDEX[key], dtype=np.int64),
                acct,
                at.astype(np.int64),
                np.asarray(value, dtype=np.float64),
                zeros if category is None else np.asarray(category, dtype=np.int64),
                zeros if text is None else np.asarray(text, dtype=np.int64),
            )
        )

    def columns(self) -> tuple[np.ndarray, ...]:
        return tuple(np.concatenate(column) for column in zip(*self.parts, strict=True))


def signals(
    rng: np.random.Generator,
    health: np.ndarray,
    *,
    seats: np.ndarray,
    arr: np.ndarray,
    start_day: np.ndarray,
    active_to: np.ndarray,
    start_epoch: int,
    scale: float,
    cap_epoch: int,
) -> SignalColumns:
    """The signals of a chunk of accounts, drawn from their hidden health (accounts × days).

    start_day and active_to are each account's first and last day index (start_day negative:
    before the history); start_epoch is the first day's midnight, UTC; scale multiplies every
    frequency; nothing is observed after cap_epoch.
    """
    n, days = health.shape
    f = scale
    seats = seats.astype(np.float64)
    active_from = np.maximum(start_day, 0)
    base = start_epoch
    day_index = np.arange(days)
    active = (day_index >= active_from[:, None]) & (day_index <= active_to[:, None])
    ev = _Events()

    def periodic(period: float) -> tuple[np.ndarray, np.ndarray]:
        """Accounts and days of events every `period` days, at a random phase per account."""
        period = period / f
        phase = rng.uniform(0, period, n)
        counts = np.maximum(np.floor((days - phase) / period).astype(np.int64) + 1, 0)
        acct = np.repeat(np.arange(n), counts)
        k = np.arange(acct.size) - np.repeat(np.cumsum(counts) - counts, counts)
        day = (phase[acct] + k * period).astype(np.int64)
        keep = (day >= active_from[acct]) & (day <= active_to[acct])
        return acct[keep], day[keep]

    def poisson(rate_per_day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        counts = rng.poisson(np.where(active, rate_per_day * f, 0.0))
        acct, day = np.nonzero(counts)
        repeats = counts[acct, day]
        return np.repeat(acct, repeats), np.repeat(day, repeats)

    def at(day: np.ndarray, lo_hour: float = 0, hi_hour: float = 24) -> np.ndarray:
        return base + day * 86400 + rng.integers(int(lo_hour * 3600), int(hi_hour * 3600), day.size)

    def noise(size: int, sd: float) -> np.ndarray:
        return rng.normal(0.0, sd, size)

    # Usage (weekly; utilisation is active users over seats, observed with them)
    acct, day = periodic(WEEK)
    h, s = health[acct, day], seats[acct]
    ev.add(
        "logins", acct, at(day), np.round(s * (0.5 + 4.5 * h) * rng.uniform(0.85, 1.15, acct.size))
    )
    acct, day = periodic(WEEK)
    h, s = health[acct, day], seats[acct]
    users = np.minimum(s, np.round(s * (0.15 + 0.8 * h) * rng.uniform(0.9, 1.1, acct.size)))
    when = at(day)
    ev.add("active_users", acct, when, users)
    ev.add("licence_utilisation", acct, when, np.round(np.clip(100 * users / s, 0, 100), 1))
    acct, day = periodic(MONTH)
    h = health[acct, day]
    ev.add(
        "feature_adoption",
        acct,
        at(day),
        np.round(np.clip(100 * (0.1 + 0.8 * h) + noise(acct.size, 4), 0, 100), 1),
    )

    # Support: tickets, their resolution time and CSAT after about half of them
    rate = np.maximum(seats[:, None] / 200 * (0.3 + 1.5 * (1 - health)), 0.05) / WEEK
    acct, day = poisson(rate)
    h = health[acct, day]
    opened = at(day, 6, 22)
    weights = np.exp(-np.arange(4)[None, :] * (0.3 + 2.0 * h[:, None]))
    cdf = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    severity = 1 + (rng.random(acct.size)[:, None] > cdf[:, :3]).sum(axis=1)
    category = rng.choice(len(TICKET_CATEGORIES), size=acct.size, p=TICKET_CATEGORY_SHARES)
    subject = TICKET_SUBJECT_CODES[category, rng.integers(0, 4, acct.size)]
    ev.add("support_tickets", acct, opened, severity, TICKET_CATEGORY_CODES[category], subject)
    hours = np.round((6 + 80 * (1 - h)) * np.exp(noise(acct.size, 0.5)), 1)
    resolved = opened + (hours * 3600).astype(np.int64)
    ev.add("ticket_resolution_hours", acct, resolved, hours, TICKET_CATEGORY_CODES[category])
    rated = rng.random(acct.size) < 0.5
    csat = np.clip(np.round(1 + 4 * h + noise(acct.size, 0.6)), 1, 5)
    answered = resolved + rng.integers(1800, 48 * 3600, acct.size)
    ev.add(
        "csat", acct[rated], answered[rated], csat[rated], TICKET_CATEGORY_CODES[category[rated]]
    )
    acct, day = periodic(WEEK)
    h = health[acct, day]
    ev.add("unresolved_complaints", acct, at(day), rng.poisson(3 * (1 - h) ** 2))

    # Sentiment (quarterly surveys; NPS has 1–5 respondents, more for bigger accounts)
    acct, day = periodic(QUARTER)
    respondents = 1 + rng.binomial(4, respondent_share(seats[acct]))
    acct, day = np.repeat(acct, respondents), np.repeat(day, respondents)
    h = health[acct, day]
    score = np.clip(np.round(10 * h + noise(acct.size, 1.5)), 0, 10)
    comment = np.zeros(acct.size, dtype=np.int64)
    commented = rng.random(acct.size) < 0.35
    pick = rng.integers(0, 1 << 30, acct.size)
    for bucket, mask in (
        ("detractor", score <= 6),
        ("passive", (score > 6) & (score < 9)),
        ("promoter", score >= 9),
    ):
        codes = NPS_COMMENT_CODES[bucket]
        chosen = mask & commented
        comment[chosen] = codes[pick[chosen] % codes.size]
    ev.add(
        "nps", acct, base + day * 86400 + rng.integers(0, 5 * 86400, acct.size), score, text=comment
    )
    acct, day = periodic(QUARTER)
    h = health[acct, day]
    ev.add("ces", acct, at(day, 8, 20), np.clip(np.round(1 + 6 * h + noise(acct.size, 0.7)), 1, 7))
    acct, day = periodic(QUARTER)
    h = health[acct, day]
    ev.add(
        "survey_happiness",
        acct,
        at(day, 8, 20),
        np.clip(np.round(1 + 9 * h + noise(acct.size, 1.0)), 1, 10),
    )

    # Financial (monthly)
    acct, day = periodic(MONTH)
    h = health[acct, day]
    ev.add(
        "invoice_days_late",
        acct,
        at(day, 8, 18),
        np.maximum(0, np.round(45 * (0.55 - h) + noise(acct.size, 4))),
    )
    acct, day = periodic(MONTH)
    h = health[acct, day]
    ev.add(
        "spend",
        acct,
        at(day, 0, 6),
        np.round(arr[acct] / 12 * (0.7 + 0.6 * h) * rng.uniform(0.97, 1.03, acct.size), 2),
    )

    # Engagement
    acct, day = periodic(WEEK)
    h = health[acct, day]
    ev.add(
        "email_open_rate",
        acct,
        at(day),
        np.round(np.clip(10 + 55 * h + noise(acct.size, 5), 0, 100), 1),
    )
    acct, day = poisson((0.3 + 2.5 * health) / MONTH)
    ev.add(
        "meetings_held",
        acct,
        at(day, 8, 18),
        np.ones(acct.size),
        MEETING_CODES[rng.choice(3, size=acct.size, p=[0.5, 0.4, 0.1])],
    )
    acct, day = poisson(0.6 * health**2 / MONTH)
    ev.add(
        "expansion_talks",
        acct,
        at(day, 8, 18),
        np.ones(acct.size),
        text=EXPANSION_CODES[rng.integers(0, EXPANSION_CODES.size, acct.size)],
    )

    # Outcomes and advocacy
    acct, day = periodic(QUARTER)
    h = health[acct, day]
    ev.add(
        "kpi_attainment",
        acct,
        at(day, 8, 18),
        np.round(np.maximum(0, 30 + 80 * h + noise(acct.size, 6)), 1),
    )
    acct, day = poisson(3 * health**3 / YEAR)
    ev.add("referrals", acct, at(day, 8, 18), np.ones(acct.size))
    acct, day = poisson((1 + 2 * health) / YEAR)
    h = health[acct, day]
    rating = np.clip(np.round(1 + 4 * h + noise(acct.size, 0.6)), 1, 5).astype(np.int64)
    ev.add(
        "reviews",
        acct,
        at(day),
        rating,
        REVIEW_SITE_CODES[rng.integers(0, REVIEW_SITE_CODES.size, acct.size)],
        REVIEW_TITLE_CODES[rating - 1],
    )
    acct, day = poisson(0.5 * health**2 / MONTH)
    ev.add(
        "social_mentions",
        acct,
        at(day),
        np.ones(acct.size),
        SOCIAL_CODES[rng.integers(0, SOCIAL_CODES.size, acct.size)],
    )

    metric, acct, when, value, category, text = ev.columns()
    value += 0.0  # no -0.0 (PostgreSQL would keep its sign, SQLite not)
    # Nothing after the account's last day (its churn date) or in the future.
    limit = np.minimum(base + (active_to + 1) * 86400 - 1, cap_epoch)
    keep = when <= limit[acct]
    metric, acct, when, value, category, text = (
        column[keep] for column in (metric, acct, when, value, category, text)
    )
    order = np.lexsort((value, when, metric, acct))
    metric, acct, when, value, category, text = (
        column[order] for column in (metric, acct, when, value, category, text)
    )
    # Sequence number per account and metric, for the external id.
    group_start = np.r_[True, (acct[1:] != acct[:-1]) | (metric[1:] != metric[:-1])]
    starts = np.flatnonzero(group_start)
    seq = np.arange(acct.size) - np.repeat(starts, np.diff(np.r_[starts, acct.size])) + 1
    return SignalColumns(metric, acct, when, value, category, text, seq)
