"""Receivers hand off to tasks in one line; no domain logic lives here."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import Signal


@receiver(post_save, sender=Signal, dispatch_uid="rescore-on-new-signal")
def rescore_on_new_signal(sender, instance: Signal, created: bool, **kwargs) -> None:
    from scoring.services import account_rescore_soon

    transaction.on_commit(lambda: account_rescore_soon(account_id=instance.account_id))
