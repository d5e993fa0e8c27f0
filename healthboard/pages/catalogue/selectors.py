"""Reads for the catalogue page (selectors): keyword-only, a fixed number of queries."""

from __future__ import annotations

from django.db.models import Count, Q

from accounts.models import JourneyStage, Metric, Segment


def catalogue_lists() -> dict:
    """Segments and journey stages with their numbers of active accounts, and the metrics.
    Three queries (two GROUP BYs on the accounts' (status, segment) and stage indexes)."""
    active = Q(accounts__status="active")
    return {
        # Explicit orders: a GROUP BY query ignores Meta.ordering.
        "segments": list(
            Segment.objects.annotate(n=Count("accounts", filter=active)).order_by("name")
        ),
        "stages": list(
            JourneyStage.objects.annotate(n=Count("accounts", filter=active)).order_by("order")
        ),
        "metrics": list(Metric.objects.order_by("category", "name")),
    }
