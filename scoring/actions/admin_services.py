"""What Admins change about calls to action (services): rules, playbooks and outcomes.

Keyword-only, each one transaction. A rule or an outcome a CTA points at is never deleted
(the CTA's history would lose its why or its how-it-ended): the refusal says what to do
instead. Repeating a call with the same values changes nothing.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

from accounts.i18n import builtin
from accounts.models import JourneyStage, Metric
from scoring.actions.defaults import playbook_name
from scoring.actions.kinds import parameters_clean
from scoring.actions.playbooks import pending_steps_copy
from scoring.models.actions import ActionRule, CallToAction, Outcome, Playbook, PlaybookStep


class InUse(Exception):
    """Refused: CTAs point at the object; the message says how many and what to do."""


# ---------------------------------------------------------------- rules


def rule_save(*, rule: ActionRule, user) -> ActionRule:
    """Create or update a rule (its fields already set by the form): the parameters are
    checked against the kind's spec once more here, whoever calls, so a stored rule always
    reads the way the evaluation expects. ValueError names the bad parameter."""
    metric_keys = set(Metric.objects.values_list("key", flat=True))
    rule.parameters = parameters_clean(rule.kind, rule.parameters or {}, metric_keys)
    rule.updated_by = user
    rule.updated_at = timezone.now()
    rule.save()
    return rule


def rule_enable(*, rule: ActionRule, enabled: bool, user) -> ActionRule:
    """Turn a rule on or off. Sets (never flips) the value, so a double click or a resent
    form does what it said; an unchanged rule keeps its updated_at."""
    changed = ActionRule.objects.filter(pk=rule.pk).exclude(enabled=enabled)
    changed.update(enabled=enabled, updated_by=user, updated_at=timezone.now())
    rule.refresh_from_db()
    return rule


@transaction.atomic
def rule_delete(*, rule: ActionRule) -> None:
    """Delete a rule no CTA points at; InUse otherwise (turn it off instead).

    The row lock makes the check hold until the delete: an evaluation inserting a CTA for
    this rule meanwhile waits for it (it locks the rules of the CTAs it opens,
    scoring.actions.rules._references_lock)."""
    locked = ActionRule.objects.select_for_update().filter(pk=rule.pk).first()
    if locked is None:
        return  # deleted already: the same end
    used = CallToAction.objects.filter(rule=locked).count()
    if used:
        raise InUse(
            ngettext(
                "“%(name)s” opened %(count)s call to action, which keeps it as its reason: "
                "turn it off instead of deleting it.",
                "“%(name)s” opened %(count)s calls to action, which keep it as their reason: "
                "turn it off instead of deleting it.",
                used,
            )
            % {"name": builtin(locked.name), "count": used}
        )
    locked.delete()


# ---------------------------------------------------------------- outcomes


def outcome_save(*, outcome: Outcome) -> Outcome:
    outcome.save()
    return outcome


def outcome_set_active(*, outcome: Outcome, active: bool) -> Outcome:
    """Offer an outcome when closing CTAs, or stop offering it (CTAs closed with it keep it)."""
    Outcome.objects.filter(pk=outcome.pk).exclude(active=active).update(active=active)
    outcome.refresh_from_db()
    return outcome


@transaction.atomic
def outcome_delete(*, outcome: Outcome) -> None:
    """Delete an outcome no CTA was closed with; InUse otherwise (deactivate it instead)."""
    locked = Outcome.objects.select_for_update().filter(pk=outcome.pk).first()
    if locked is None:
        return
    used = CallToAction.objects.filter(outcome=locked).count()
    if used:
        raise InUse(
            ngettext(
                "%(count)s call to action closed with “%(name)s”: deactivate it instead, so it "
                "is no longer offered and its history keeps it.",
                "%(count)s calls to action closed with “%(name)s”: deactivate it instead, so it "
                "is no longer offered and their history keeps it.",
                used,
            )
            % {"name": builtin(locked.name), "count": used}
        )
    locked.delete()


# ---------------------------------------------------------------- playbooks


def playbook_create(*, stage: JourneyStage, band: str, user) -> Playbook:
    """The stage × band's playbook, made (empty) if it is missing; the existing one if an
    Admin beat us to it (one per stage and band)."""
    playbook, _ = Playbook.objects.get_or_create(
        stage=stage,
        band=band,
        defaults={
            "name": playbook_name(stage.name, band),
            "updated_by": user,
            "updated_at": timezone.now(),
        },
    )
    return playbook


@transaction.atomic
def playbook_save(*, playbook: Playbook, name: str, steps: list[str], user) -> bool:
    """Rename a playbook and replace its steps by `steps`, in that order, all or nothing.
    Whether anything changed (an unchanged save writes nothing).

    Open CTAs carry their own copy of the steps (CtaStep; the ones still pending get theirs
    first): this changes future CTAs only, so the steps can be rewritten rather than matched
    one by one."""
    locked = Playbook.objects.select_for_update().get(pk=playbook.pk)
    current = list(locked.steps.order_by("order", "id").values_list("text", flat=True))
    if locked.name == name and current == steps:
        return False
    locked.name = name
    locked.updated_by = user
    locked.updated_at = timezone.now()
    locked.save(update_fields=["name", "updated_by", "updated_at"])
    if current != steps:
        pending_steps_copy(playbook_id=locked.pk)
        locked.steps.all().delete()
        PlaybookStep.objects.bulk_create(
            PlaybookStep(playbook=locked, order=order, text=text)
            for order, text in enumerate(steps)
        )
    playbook.refresh_from_db()
    return True
