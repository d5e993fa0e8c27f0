"""The demo's companies, one chunk at a time: account rows, their journey stage (and the
StageChange that led there), the notes their CSMs wrote, and the hidden-health truth."""

from __future__ import annotations

import calendar
import datetime as dt

import numpy as np

from accounts.models import Account, Note, StageChange
from healthboard.demo.plan import Plan, epoch
from healthboard.demo.texts import note_body
from healthboard.demo.writers import BulkWriter


def write_accounts(
    plan: Plan, chunk: int, writer: BulkWriter, truth: dict, cap_epoch: int
) -> tuple[int, int]:
    """Write one chunk's accounts, their current stage (and its StageChange) and notes.

    Fills in the chunk's plan.account_ids and plan.active_to (the signals need them), adds
    the chunk's hidden health to `truth`, and returns (notes written, accounts churned).
    """
    part = plan.chunk_slice(chunk)
    first = part.start
    health, churn_day = plan.chunk_health(chunk)
    n = health.shape[0]
    rng = np.random.default_rng([plan.seed, 3, chunk])
    days = plan.days
    active_from = np.maximum(plan.start_day[part], 0)
    active_to = np.where(churn_day >= 0, churn_day, days - 1)
    plan.active_to[part] = active_to
    as_of_h = health[np.arange(n), active_to]
    stage_draw = rng.random((2, n))

    account_rows, stage_rows, truth_rows = [], [], []
    for i in range(n):
        g = first + i
        start = plan.start_date + dt.timedelta(days=int(plan.start_day[g]))
        as_of = plan.start_date + dt.timedelta(days=int(active_to[i]))
        churned = churn_day[i] >= 0
        renewal = _next_anniversary(start, as_of)
        h_now = float(as_of_h[i])
        window = health[i, max(active_from[i], active_to[i] - 89) : active_to[i] + 1]
        stage, since, previous = _stage(start, as_of, renewal, h_now, stage_draw[:, i])
        ext_id = plan.ext_ids[g]
        truth_rows.append(
            (
                ext_id,
                {
                    "health_now": round(h_now, 4),
                    "health_min_90d": round(float(window.min()), 4),
                    "churned": bool(churned),
                    "churn_date": as_of.isoformat() if churned else None,
                    "as_of": as_of.isoformat(),
                },
            )
        )
        owner = plan.owners[plan.owner[g]]
        account_rows.append(
            (
                plan.names[g],
                ext_id,
                owner,
                plan.catalogue.segment_ids[plan.segment[g]],
                plan.industries[g],
                f"{plan.arr[g]:.2f}",
                plan.plans[g],
                int(plan.seats[g]),
                start.isoformat(),
                renewal.isoformat(),
                plan.catalogue.stage_ids[stage],
                since.isoformat(),
                "churned" if churned else "active",
                as_of.isoformat() if churned else None,
            )
        )
        stage_rows.append((previous, stage, since, owner))

    writer.insert(
        Account,
        [
            "name",
            "external_id",
            "owner",
            "segment",
            "industry",
            "arr",
            "plan",
            "seats",
            "start_date",
            "renewal_date",
            "stage",
            "stage_since",
            "status",
            "churn_date",
        ],
        account_rows,
    )
    ids = writer.account_ids(plan.ext_ids[first], plan.ext_ids[part.stop - 1])
    plan.account_ids[part] = [ids[ext_id] for ext_id in plan.ext_ids[part]]
    truth.update(truth_rows)

    stage_ids = plan.catalogue.stage_ids
    change_seconds = rng.integers(8 * 3600, 18 * 3600, n)
    writer.insert(
        StageChange,
        ["account", "from_stage", "to_stage", "changed_at", "changed_by"],
        [
            (
                int(plan.account_ids[first + i]),
                stage_ids[previous] if previous else None,
                stage_ids[stage],
                writer.timestamp(min(cap_epoch, epoch(since) + int(change_seconds[i]))),
                owner,
            )
            for i, (previous, stage, since, owner) in enumerate(stage_rows)
        ],
    )
    notes = _notes(plan, part, rng, health, active_from, active_to, cap_epoch, writer)
    writer.insert(Note, ["account", "author", "kind", "body", "created_at"], notes)
    return len(notes), int((churn_day >= 0).sum())


def _stage(
    start: dt.date, as_of: dt.date, renewal: dt.date, h: float, draw: np.ndarray
) -> tuple[str, dt.date, str | None]:
    """Journey stage on `as_of` from tenure, renewal and health: (stage, since, previous)."""
    tenure = (as_of - start).days
    last_renewal = max(start, _anniversary(start, renewal.year - 1))
    since_renewal = (as_of - last_renewal).days
    if tenure < 45:
        return "onboarding", start, None
    if (renewal - as_of).days <= 90 and tenure >= 180:
        return "renewal", max(start, renewal - dt.timedelta(days=90)), "value"
    if tenure < 135:
        return "adoption", start + dt.timedelta(days=45), "onboarding"
    if h >= 0.72 and tenure >= 365:
        offset = int(draw[0] * since_renewal / 2)
        return "advocacy", last_renewal + dt.timedelta(days=offset), "renewal"
    if h < 0.4:  # struggling: back to adoption work
        back = 14 + int(draw[1] * 106)
        since = max(start + dt.timedelta(days=135), as_of - dt.timedelta(days=back))
        return "adoption", min(since, as_of), "value"
    if tenure < 365:
        return "value", start + dt.timedelta(days=135), "adoption"
    return "value", min(as_of, last_renewal + dt.timedelta(days=int(draw[0] * 14))), "renewal"


def _notes(
    plan: Plan,
    part: slice,
    rng: np.random.Generator,
    health: np.ndarray,
    active_from: np.ndarray,
    active_to: np.ndarray,
    cap_epoch: int,
    writer: BulkWriter,
) -> list[tuple]:
    n = health.shape[0]
    counts = 1 + rng.poisson(2.0, n)
    acct = np.repeat(np.arange(n), counts)
    span = active_to[acct] - active_from[acct] + 1
    day = active_from[acct] + (rng.random(acct.size) * span).astype(np.int64)
    seconds = rng.integers(8 * 3600, 19 * 3600, acct.size)
    kind = rng.choice(3, size=acct.size, p=[0.4, 0.35, 0.25])
    picks = rng.integers(0, 1 << 30, (6, acct.size))
    h = health[acct, day]
    rows = []
    base = epoch(plan.start_date)
    for j in range(acct.size):
        at = base + int(day[j]) * 86400 + int(seconds[j])
        if at > cap_epoch:
            continue
        mood = "good" if h[j] >= 0.6 else "mid" if h[j] >= 0.4 else "bad"
        note_kind = ("note", "call", "meeting")[kind[j]]
        body = note_body(note_kind, mood, picks[:, j])
        g = part.start + int(acct[j])
        rows.append(
            (
                int(plan.account_ids[g]),
                plan.owners[plan.owner[g]],
                note_kind,
                body,
                writer.timestamp(at),
            )
        )
    return rows


def _anniversary(start: dt.date, year: int) -> dt.date:
    day = min(start.day, calendar.monthrange(year, start.month)[1])
    return dt.date(year, start.month, day)


def _next_anniversary(start: dt.date, after: dt.date) -> dt.date:
    """The first yearly anniversary of `start` strictly after `after`."""
    candidate = _anniversary(start, after.year)
    if candidate <= after:
        candidate = _anniversary(start, after.year + 1)
    return candidate
