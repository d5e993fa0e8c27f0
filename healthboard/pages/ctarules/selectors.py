"""Reads for the rules page (selectors): keyword-only, a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from scoring.actions.kinds import KINDS
from scoring.models.actions import ActionRule, CallToAction


@dataclass(frozen=True)
class RuleRow:
    rule: ActionRule
    condition: str  # the kind's condition in words, with the rule's parameters
    kind_label: str
    active_ctas: int  # open or snoozed
    ctas: int  # ever opened: a rule with any cannot be deleted


def _row(rule: ActionRule) -> RuleRow:
    kind = KINDS.get(rule.kind)
    return RuleRow(
        rule=rule,
        condition=kind.describe(rule.parameters) if kind else f"Unknown kind {rule.kind!r}.",
        kind_label=kind.label if kind else rule.kind,
        active_ctas=rule.active_ctas,
        ctas=rule.n_ctas,
    )


def _rules():
    return ActionRule.objects.annotate(
        active_ctas=Count("ctas", filter=Q(ctas__status__in=CallToAction.ACTIVE)),
        n_ctas=Count("ctas"),
    ).order_by("order", "name")


def rule_rows() -> list[RuleRow]:
    """Every rule with its condition in words and its CTAs counted: one GROUP BY query (on
    the CTAs' (rule, status, closed_at) index)."""
    return [_row(rule) for rule in _rules()]


def rule_row(*, pk: int) -> RuleRow | None:
    """One rule's row (after a toggle): one query."""
    rule = _rules().filter(pk=pk).first()
    return _row(rule) if rule else None
