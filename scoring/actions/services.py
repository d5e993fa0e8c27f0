"""What people do with a call to action (services): close it with an outcome, snooze it,
wake it, tick its checklist, comment, open one by hand. Keyword-only and typed.

Every write checks that the user may act on the CTA (healthboard.lib.roles.can_act_on_cta:
a CSM their own, Managers and Admins any) and raises PermissionDenied otherwise; bad input
raises ValidationError keyed by the form field it is about. Each write locks the CTA's row,
so two people closing it at once record one close, and a repeat of the same request (a
double click, a resent form) changes nothing.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from healthboard.lib.dates import day_text
from healthboard.lib.roles import can_act_on_cta, can_work_on
from scoring.actions.playbooks import (
    pending_steps_copy,
    playbook_steps_copy,
    playbooks_by_stage_band,
)
from scoring.actions.references import cta_references_lock
from scoring.bands import Band
from scoring.models import HealthScore, ScoreRun
from scoring.models.actions import (
    CallToAction,
    CtaComment,
    CtaStep,
    CtaType,
    Outcome,
    Priority,
)

Status = CallToAction.Status

# Longer than this is not a snooze but a decision: close it with an outcome instead.
SNOOZE_MAX_DAYS = 365
# The same comment by the same person this soon after is a resent form, not a second comment.
COMMENT_REPEAT_SECONDS = 60


def _locked(cta: CallToAction, user: AbstractBaseUser) -> CallToAction:
    """The CTA's row, locked for the rest of the transaction, once the user may act on it."""
    locked = (
        CallToAction.objects.select_for_update(of=("self",))
        .select_related("account")
        .get(pk=cta.pk)
    )
    if not can_act_on_cta(user, locked):
        raise PermissionDenied("Only the CTA's owner, a manager or an admin can do that.")
    return locked


def _refresh(cta: CallToAction, stored: CallToAction) -> CallToAction:
    """Copy the stored fields onto the caller's object, so the page shows what is stored."""
    for field in CallToAction._meta.concrete_fields:
        setattr(cta, field.attname, getattr(stored, field.attname))
    return cta


def _closed_error(cta: CallToAction) -> ValidationError:
    resolved = cta.status == Status.RESOLVED
    if cta.closed_at is None:
        if resolved:
            return ValidationError(_("This call to action was resolved by itself: it is closed."))
        return ValidationError(_("This call to action was already marked done."))
    day = {"day": day_text(timezone.localtime(cta.closed_at))}
    if resolved:
        return ValidationError(
            _("This call to action was resolved by itself on %(day)s: it is closed.") % day
        )
    return ValidationError(_("This call to action was already marked done on %(day)s.") % day)


def cta_done(
    *, cta: CallToAction, user: AbstractBaseUser, outcome: Outcome | None, note: str = ""
) -> CallToAction:
    """Close the CTA as done with an outcome (an active one from the Admins' list) and an
    optional note. Marking it done again with the same outcome changes nothing."""
    if outcome is None:
        raise ValidationError({"outcome": _("Choose an outcome: how did it end?")})
    note = note.strip()
    if len(note) > 2000:
        raise ValidationError({"note": _("Keep the note under 2,000 characters.")})
    with transaction.atomic():
        stored = _locked(cta, user)
        if stored.status == Status.DONE and stored.outcome_id == outcome.pk:
            return _refresh(cta, stored)
        if not stored.is_active:
            raise _closed_error(stored)
        if not Outcome.objects.filter(pk=outcome.pk, active=True).exists():
            raise ValidationError(
                {"outcome": _("“%(outcome)s” is no longer offered.") % {"outcome": outcome.name}}
            )
        now = timezone.now()
        stored.status = Status.DONE
        stored.outcome = outcome
        stored.outcome_note = note
        stored.snoozed_until = None
        stored.closed_at = now
        stored.closed_by = user
        stored.updated_at = now
        stored.save(
            update_fields=[
                "status",
                "outcome",
                "outcome_note",
                "snoozed_until",
                "closed_at",
                "closed_by",
                "updated_at",
            ]
        )
    return _refresh(cta, stored)


def cta_snooze(
    *,
    cta: CallToAction,
    user: AbstractBaseUser,
    until: dt.date | None,
    reason: str,
    today: dt.date | None = None,
) -> CallToAction:
    """Hide the CTA from the inbox until a date after today, with a reason. Snoozing a
    snoozed CTA again moves its date; the same date and reason again change nothing."""
    today = today or timezone.localdate()
    reason = reason.strip()
    errors = {}
    if until is None:
        errors["until"] = _("Choose the date it should come back.")
    elif until <= today:
        errors["until"] = _("Choose a date after today (%(day)s).") % {"day": day_text(today)}
    elif until > today + dt.timedelta(days=SNOOZE_MAX_DAYS):
        errors["until"] = _("Snooze for at most a year; close it with an outcome instead.")
    if not reason:
        errors["reason"] = _("Say why it can wait: the reason shows to your manager.")
    elif len(reason) > 200:
        errors["reason"] = _("Keep the reason under 200 characters.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        stored = _locked(cta, user)
        if not stored.is_active:
            raise _closed_error(stored)
        if (stored.status, stored.snoozed_until, stored.snooze_reason) == (
            Status.SNOOZED,
            until,
            reason,
        ):
            return _refresh(cta, stored)
        stored.status = Status.SNOOZED
        stored.snoozed_until = until
        stored.snooze_reason = reason
        stored.updated_at = timezone.now()
        stored.save(update_fields=["status", "snoozed_until", "snooze_reason", "updated_at"])
    return _refresh(cta, stored)


def cta_reopen(*, cta: CallToAction, user: AbstractBaseUser) -> CallToAction:
    """Back to open: a snoozed CTA woken early, or one marked done by mistake (its outcome
    cleared). An open CTA stays as it is. A CTA resolved by itself stays closed: its rule
    opens a new one if the condition comes back."""
    with transaction.atomic():
        stored = _locked(cta, user)
        if stored.status == Status.OPEN:
            return _refresh(cta, stored)
        if stored.status == Status.RESOLVED:
            raise _closed_error(stored)
        if (
            stored.status == Status.DONE
            and stored.rule_id is not None
            and CallToAction.objects.active()
            .filter(account_id=stored.account_id, rule_id=stored.rule_id)
            .exists()
        ):
            raise ValidationError(
                _(
                    "Its rule has opened a new call to action for this account since: work on "
                    "that one."
                )
            )
        stored.status = Status.OPEN
        stored.snoozed_until = None
        stored.snooze_reason = ""
        stored.outcome = None
        stored.outcome_note = ""
        stored.closed_at = None
        stored.closed_by = None
        stored.updated_at = timezone.now()
        stored.save(
            update_fields=[
                "status",
                "snoozed_until",
                "snooze_reason",
                "outcome",
                "outcome_note",
                "closed_at",
                "closed_by",
                "updated_at",
            ]
        )
    return _refresh(cta, stored)


def cta_step_toggle(*, step: CtaStep, user: AbstractBaseUser, done: bool) -> CtaStep:
    """Tick (done=True) or untick a checklist step. Ticking a ticked step keeps who ticked
    it and when; a closed CTA's checklist is kept as it was closed."""
    with transaction.atomic():
        cta = _locked(step.cta, user)
        stored = CtaStep.objects.select_for_update().get(pk=step.pk)
        if (stored.done_at is not None) == done:
            step.done_at, step.done_by_id = stored.done_at, stored.done_by_id
            return step
        if not cta.is_active:
            raise _closed_error(cta)
        stored.done_at = timezone.now() if done else None
        stored.done_by = user if done else None
        stored.save(update_fields=["done_at", "done_by"])
        CallToAction.objects.filter(pk=cta.pk).update(updated_at=timezone.now())
    step.done_at, step.done_by_id = stored.done_at, stored.done_by_id
    return step


def cta_step_toggle_at(
    *, cta: CallToAction, position: int, user: AbstractBaseUser, done: bool
) -> CtaStep:
    """Tick or untick the checklist's step at `position` (0 first) of a CTA whose steps may
    still be pending: the first tick makes the CTA's copy of its playbook (a page only shows
    a pending checklist, it never writes it). Raises CtaStep.DoesNotExist past the end."""
    with transaction.atomic():
        _locked(cta, user)
        pending_steps_copy(cta_ids=[cta.pk])
        steps = list(
            CtaStep.objects.select_related("cta__account")
            .filter(cta=cta)
            .order_by("order", "id")[: position + 1]
        )
        if position < 0 or len(steps) <= position:
            raise CtaStep.DoesNotExist(f"Call to action {cta.pk} has no step {position}.")
        return cta_step_toggle(step=steps[position], user=user, done=done)


def cta_comment_add(*, cta: CallToAction, user: AbstractBaseUser, body: str) -> CtaComment:
    """A comment on the CTA (also once it is closed: what happened next). The same text by
    the same person within a minute is a resent form: the first comment is returned."""
    body = body.strip()
    if not body:
        raise ValidationError({"body": _("Write the comment first.")})
    if len(body) > 2000:
        raise ValidationError({"body": _("Keep the comment under 2,000 characters.")})
    with transaction.atomic():
        stored = _locked(cta, user)
        now = timezone.now()
        repeat = (
            CtaComment.objects.filter(
                cta=stored,
                author=user,
                body=body,
                created_at__gte=now - dt.timedelta(seconds=COMMENT_REPEAT_SECONDS),
            )
            .order_by("-created_at")
            .first()
        )
        if repeat is not None:
            return repeat
        return CtaComment.objects.create(cta=stored, author=user, body=body, created_at=now)


def _latest_score(account: Account) -> HealthScore | None:
    return (
        HealthScore.objects.filter(account=account, run__status=ScoreRun.Status.DONE)
        .order_by("-date")
        .only("score", "band")
        .first()
    )


def cta_create(
    *,
    account: Account,
    user: AbstractBaseUser,
    title: str,
    reason: str,
    due_date: dt.date | None,
    cta_type: str,
    priority: int,
    today: dt.date | None = None,
) -> CallToAction:
    """A CTA opened by hand (no rule) for the account's owner, with the checklist of the
    playbook for the account's stage and current band (scoring.actions.playbooks)."""
    if not can_work_on(user, account):
        raise PermissionDenied("Only the account's owner, a manager or an admin can do that.")
    today = today or timezone.localdate()
    title, reason = title.strip(), reason.strip()
    errors = {}
    if not title:
        errors["title"] = _("Give it a title: what should be done?")
    elif len(title) > 200:
        errors["title"] = _("Keep the title under 200 characters.")
    if not reason:
        errors["reason"] = _("Say why: the owner reads it in their inbox.")
    if due_date is None:
        errors["due_date"] = _("Choose a due date.")
    elif due_date < today:
        errors["due_date"] = _("Choose today (%(day)s) or a later date.") % {"day": day_text(today)}
    if cta_type not in CtaType.values:
        errors["cta_type"] = _("Choose a type: %(types)s.") % {
            "types": ", ".join(map(str, CtaType.labels))
        }
    if priority not in Priority.values:
        errors["priority"] = _("Choose a priority: %(priorities)s.") % {
            "priorities": ", ".join(map(str, Priority.labels))
        }
    if errors:
        raise ValidationError(errors)
    latest = _latest_score(account)
    band = latest.band if latest else Band.NO_DATA
    playbook_id, playbook_name = playbooks_by_stage_band().get((account.stage_id, band), (None, ""))
    with transaction.atomic():
        cta = CallToAction(
            account=account,
            rule=None,
            owner_id=account.owner_id,
            cta_type=cta_type,
            priority=priority,
            title=title,
            reason=reason,
            due_date=due_date,
            opened_on=today,
            last_fired_on=today,
            band_at_open=band,
            score_at_open=latest.score if latest else None,
            playbook_id=playbook_id,
            playbook_name=playbook_name,
        )
        cta_references_lock(cta)
        cta.save()
        playbook_steps_copy(ctas=CallToAction.objects.filter(pk=cta.pk))
    return cta
