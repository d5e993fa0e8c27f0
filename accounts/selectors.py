"""Reads that build page data (selectors): keyword-only, typed, a bounded number of queries.

Writes that touch several models live in services; these functions only read.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypedDict

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Subquery, Sum

from accounts.models import Account
from scoring.models import Band, HealthScore, ScoreRun

# The order bands are always listed in, best first.
BAND_ORDER: tuple[str, ...] = (Band.GREEN, Band.YELLOW, Band.RED, Band.NO_DATA)


class BandRow(TypedDict):
    band: str
    label: str
    n: int
    arr: Decimal
    share: float  # % of the accounts summarised, 0–100


def score_run_latest() -> ScoreRun | None:
    """The newest finished run: every page shows the scores of this one. One query."""
    return ScoreRun.objects.filter(status=ScoreRun.Status.DONE).order_by("-date").first()


def band_summary(
    *, owner: AbstractBaseUser | None = None, run: ScoreRun | None = None
) -> list[BandRow]:
    """Active accounts and their ARR per band in one run, every band listed. One query.

    owner: only that user's book. run: defaults to the latest finished run (as a subquery,
    so still one query); pass it when the page already has it.
    """
    scores = HealthScore.objects.filter(account__status=Account.Status.ACTIVE)
    if run is None:
        latest = ScoreRun.objects.filter(status=ScoreRun.Status.DONE).order_by("-date")
        scores = scores.filter(run=Subquery(latest.values("pk")[:1]))
    else:
        scores = scores.filter(run=run)
    if owner is not None:
        scores = scores.filter(account__owner=owner)
    found = {
        row["band"]: row
        for row in scores.values("band").annotate(n=Count("id"), arr=Sum("account__arr")).order_by()
    }
    total = sum(row["n"] for row in found.values())
    rows: list[BandRow] = []
    for band in BAND_ORDER:
        row = found.get(band, {})
        n = row.get("n", 0)
        rows.append(
            BandRow(
                band=str(band),
                label=Band(band).label,
                n=n,
                arr=row.get("arr") or Decimal(0),
                share=round(100 * n / total, 1) if total else 0.0,
            )
        )
    return rows
