"""Scoring listens to accounts: new signals re-score their accounts. Each receiver hands off
in one line; no domain logic lives here."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import Signal
from accounts.signals import signals_ingested
from scoring.services import account_rescore_soon, accounts_rescore_soon


@receiver(post_save, sender=Signal, dispatch_uid="rescore-on-new-signal")
def rescore_on_new_signal(sender, instance: Signal, created: bool, **kwargs) -> None:
    # Robust: a queue that is down must not fail the write that committed (it is logged; the
    # nightly run scores the account).
    transaction.on_commit(lambda: account_rescore_soon(account_id=instance.account_id), robust=True)


@receiver(signals_ingested, dispatch_uid="rescore-on-ingested-signals")
def rescore_on_ingested_signals(sender, account_ids: set[int], **kwargs) -> None:
    accounts_rescore_soon(account_ids=account_ids)
