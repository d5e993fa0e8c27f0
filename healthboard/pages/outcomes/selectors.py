"""Reads for the outcomes page (selectors): keyword-only, a fixed number of queries."""

from __future__ import annotations

from django.db.models import Count

from scoring.models.actions import Outcome


def _outcomes():
    return Outcome.objects.annotate(n_ctas=Count("ctas")).order_by("order", "name")


def outcome_rows() -> list[Outcome]:
    """Every outcome with `n_ctas`, the CTAs closed with it: one GROUP BY query."""
    return list(_outcomes())


def outcome_row(*, pk: int) -> Outcome | None:
    """One outcome with `n_ctas`: one query."""
    return _outcomes().filter(pk=pk).first()
