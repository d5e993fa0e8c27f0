"""Scoring listens to accounts: new signals re-score their accounts; to its playbooks: a
change keeps the CTAs' copies of the steps; and to the deletes of what CTAs refer to
(scoring.actions.references). Each receiver hands off in one line; no domain logic lives
here."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import post_save, pre_delete, pre_save
from django.dispatch import receiver

from accounts.models import Account, Signal
from accounts.signals import signals_ingested
from scoring.actions.references import (
    ctas_before_account_delete,
    ctas_before_playbook_change,
    ctas_before_reference_delete,
)
from scoring.models.actions import ActionRule, Playbook, PlaybookStep
from scoring.services import account_rescore_soon, accounts_rescore_soon


@receiver(post_save, sender=Signal, dispatch_uid="rescore-on-new-signal")
def rescore_on_new_signal(sender, instance: Signal, created: bool, **kwargs) -> None:
    # Robust: a queue that is down must not fail the write that committed (it is logged; the
    # nightly run scores the account).
    transaction.on_commit(lambda: account_rescore_soon(account_id=instance.account_id), robust=True)


@receiver(signals_ingested, dispatch_uid="rescore-on-ingested-signals")
def rescore_on_ingested_signals(sender, account_ids: set[int], **kwargs) -> None:
    accounts_rescore_soon(account_ids=account_ids)


# A CTA the rules opened copies its playbook's steps on the first tick: whatever changes or
# deletes a playbook's steps first (the Django admin, deleting a playbook or its journey
# stage) makes the copies still pending, so they keep the steps as they were.
@receiver(pre_save, sender=PlaybookStep, dispatch_uid="cta-steps-before-step-saved")
@receiver(pre_delete, sender=PlaybookStep, dispatch_uid="cta-steps-before-step-deleted")
def cta_steps_before_step_change(sender, instance: PlaybookStep, using: str, **kwargs) -> None:
    ctas_before_playbook_change(playbook_id=instance.playbook_id, using=using)


@receiver(pre_delete, sender=Playbook, dispatch_uid="cta-steps-before-playbook-deleted")
def cta_steps_before_playbook_delete(sender, instance: Playbook, using: str, **kwargs) -> None:
    ctas_before_playbook_change(playbook_id=instance.pk, using=using)


@receiver(pre_delete, sender=Account, dispatch_uid="ctas-before-account-deleted")
def ctas_before_account_deleted(sender, instance: Account, using: str, **kwargs) -> None:
    ctas_before_account_delete(account_id=instance.pk, using=using)


@receiver(pre_delete, sender=get_user_model(), dispatch_uid="ctas-before-user-deleted")
@receiver(pre_delete, sender=ActionRule, dispatch_uid="ctas-before-rule-deleted")
def ctas_before_reference_deleted(sender, instance, using: str, **kwargs) -> None:
    ctas_before_reference_delete(model=sender, pk=instance.pk, using=using)
