"""The API's reads: an account by external id, its newest published score explained, its
daily history. Each function is a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.models import Account, Metric
from healthboard.api.errors import ApiError
from scoring import explain
from scoring.models import HealthScore, ScorecardVersion, ScoreRun
from scoring.specs import version_config, versions_queryset


def account_get(*, external_id: str) -> Account:
    """The account with its segment, stage and owner, or a 404 that names the id. One query."""
    account = (
        Account.objects.select_related("segment", "stage", "owner")
        .filter(external_id=external_id)
        .first()
    )
    if account is None:
        raise ApiError(404, f"No account with external id {external_id!r}.")
    return account


def _published(account: Account) -> QuerySet[HealthScore]:
    # Readers only see the scores of finished runs (as the pages do).
    return HealthScore.objects.filter(account=account, run__status=ScoreRun.Status.DONE)


@dataclass(frozen=True)
class Explained:
    score: HealthScore
    version: ScorecardVersion
    breakdown: explain.Breakdown


def score_explained(*, account: Account) -> Explained | None:
    """The newest published score and why (scoring.explain, from the stored snapshot: no
    recomputing). Five queries: the score, the version with its measures and weights, the
    metric units."""
    score = _published(account).order_by("-date").first()
    if score is None:
        return None
    version = versions_queryset().get(pk=score.version_id)
    breakdown = explain.score_breakdown(
        score=score, version=version_config(version), units=explain.metric_units()
    )
    return Explained(score=score, version=version, breakdown=breakdown)


def score_history(
    *, account: Account, since: dt.date | None, until: dt.date | None
) -> QuerySet[HealthScore]:
    """The account's published daily scores, newest first, with their version (for paging:
    a count and a slice)."""
    rows = _published(account).select_related("version__scorecard").order_by("-date")
    if since is not None:
        rows = rows.filter(date__gte=since)
    if until is not None:
        rows = rows.filter(date__lte=until)
    return rows.only(
        "date",
        "score",
        "band",
        "coverage",
        "delta_7d",
        "version__number",
        "version__scorecard__name",
    )


def metrics_all() -> QuerySet[Metric]:
    """The metric catalogue, by key. One query."""
    return Metric.objects.order_by("key")
