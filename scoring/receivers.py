"""Scoring listens to accounts: new signals re-score their accounts; and to its playbooks:
a change keeps the CTAs' copies of the steps. Each receiver hands off in one line; no
domain logic lives here."""

from django.db import transaction
from django.db.models.signals import post_save, pre_delete, pre_save
from django.dispatch import receiver

from accounts.models import Signal
from accounts.signals import signals_ingested
from scoring.actions.playbooks import pending_steps_copy
from scoring.models.actions import Playbook, PlaybookStep
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
def cta_steps_before_step_change(sender, instance: PlaybookStep, **kwargs) -> None:
    pending_steps_copy(playbook_id=instance.playbook_id)


@receiver(pre_delete, sender=Playbook, dispatch_uid="cta-steps-before-playbook-deleted")
def cta_steps_before_playbook_delete(sender, instance: Playbook, **kwargs) -> None:
    pending_steps_copy(playbook_id=instance.pk)
