"""Does the score recover the demo's hidden health? (The demo knows the truth; real data won't.)"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accounts.models import Account
from scoring.bands import Band
from scoring.models import HealthScore


@dataclass
class DemoCheck:
    churners: int
    churners_scored: int
    churner_bands: Counter  # band of each churner's last snapshot at least `lead_days` before churn
    lead_days: int
    active_scored: int
    rank_correlation: float  # Spearman: latest score vs hidden health today
    # Share of active accounts with hidden health < 0.35 banded red or yellow.
    low_health_flagged: float

    @property
    def churners_flagged(self) -> float:
        flagged = self.churner_bands[Band.RED] + self.churner_bands[Band.YELLOW]
        return flagged / self.churners_scored if self.churners_scored else float("nan")


def _ranks(values: np.ndarray) -> np.ndarray:
    order = values.argsort()
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values))
    return ranks


def demo_check(*, truth_path: Path, lead_days: int = 14) -> DemoCheck:
    truth = json.loads(truth_path.read_text())
    accounts = dict(Account.objects.filter(external_id__in=truth).values_list("external_id", "pk"))
    churn_dates = {
        accounts[ext]: dt.date.fromisoformat(t["churn_date"])
        for ext, t in truth.items()
        if t.get("churned") and t.get("churn_date") and ext in accounts
    }
    # Every done snapshot of the churners, newest first: one query.
    history: dict[int, list[tuple[dt.date, str]]] = {}
    for account_id, date, band in (
        HealthScore.objects.filter(account_id__in=churn_dates, run__status="done")
        .order_by("account_id", "-date")
        .values_list("account_id", "date", "band")
    ):
        history.setdefault(account_id, []).append((date, band))
    bands: Counter = Counter()
    for account_id, churned_on in churn_dates.items():
        cutoff = churned_on - dt.timedelta(days=lead_days)
        before = next((band for date, band in history.get(account_id, []) if date <= cutoff), None)
        if before is not None:
            bands[before] += 1

    latest = HealthScore.objects.filter(run__status="done").order_by("-date").values("date")[:1]
    rows = list(
        HealthScore.objects.filter(
            date__in=latest, run__status="done", score__isnull=False
        ).values_list("account__external_id", "score", "band")
    )
    health = np.array([truth[e]["health_now"] for e, _, _ in rows if e in truth])
    scores = np.array([s for e, s, _ in rows if e in truth])
    low = [b for e, _, b in rows if e in truth and truth[e]["health_now"] < 0.35]
    correlation = (
        float(np.corrcoef(_ranks(health), _ranks(scores))[0, 1]) if len(rows) > 2 else float("nan")
    )
    return DemoCheck(
        churners=len(churn_dates),
        churners_scored=sum(bands.values()),
        churner_bands=bands,
        lead_days=lead_days,
        active_scored=len(scores),
        rank_correlation=correlation,
        low_health_flagged=(
            sum(b in (Band.RED, Band.YELLOW) for b in low) / len(low) if low else float("nan")
        ),
    )
