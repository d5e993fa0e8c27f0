"""Reads for the rules page (selectors): keyword-only, a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils.translation import gettext

from scoring.actions.kinds import KINDS, metric_names
from scoring.actions.rules import rule_preview
from scoring.models import ScoreRun
from scoring.models.actions import ActionRule, CallToAction


@dataclass(frozen=True)
class RuleRow:
    rule: ActionRule
    condition: str  # the kind's condition in words, with the rule's parameters
    kind_label: str
    active_ctas: int  # open or snoozed
    ctas: int  # ever opened: a rule with any cannot be deleted


def _row(rule: ActionRule, names: dict[str, str]) -> RuleRow:
    kind = KINDS.get(rule.kind)
    return RuleRow(
        rule=rule,
        condition=kind.describe(rule.parameters, names)
        if kind
        else gettext("Unknown kind %(kind)r.") % {"kind": rule.kind},
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
    the CTAs' (rule, status, closed_at) index) and the metrics' names."""
    names = metric_names()
    return [_row(rule, names) for rule in _rules()]


def rule_row(*, pk: int) -> RuleRow | None:
    """One rule's row (after a toggle): two queries."""
    rule = _rules().filter(pk=pk).first()
    return _row(rule, metric_names()) if rule else None


@dataclass(frozen=True)
class Preview:
    run: ScoreRun | None  # the newest published run, the one the count is for
    accounts: int


def rule_preview_count(*, kind: str, parameters: dict) -> Preview:
    """How many accounts a rule of `kind` with `parameters` (as typed, not saved) would fire
    for on the newest published run, and which run that is; nothing is written. One query
    for the run, then rule_preview's (three, four for the kinds comparing two runs)."""
    run = ScoreRun.objects.filter(status=ScoreRun.Status.DONE).order_by("-date").first()
    if run is None:
        return Preview(run=None, accounts=0)
    rule = ActionRule(kind=kind, parameters=parameters)
    return Preview(run=run, accounts=rule_preview(rule=rule, as_of=run.date))
