"""Deleting what signals refer to, safely beside imports.

Signal has no database foreign keys: imports lock the accounts and metrics they write for
(FOR KEY SHARE, accounts.imports.kinds.signals.lock_referenced) instead of a per-row check.
Django's delete removes an account's signals before it deletes the account, so without
these receivers an import committing in between would leave signals pointing at nothing:
the delete first takes the row's lock (waiting for any import that holds it), and only then
are the signals deleted (or, for a metric, found and the delete refused).
"""

from __future__ import annotations

from django.db.models.deletion import ProtectedError
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from accounts.models import Account, Metric, Signal
from healthboard.lib.keylocks import delete_lock


@receiver(pre_delete, sender=Account, dispatch_uid="accounts.account_delete_waits_for_imports")
def account_delete_waits_for_imports(sender, instance: Account, using: str, **kwargs) -> None:
    delete_lock(Account, instance.pk, using)
    # Signals an import committed while this delete waited: Django's own list was made before.
    Signal.objects.using(using).filter(account_id=instance.pk).delete()


@receiver(pre_delete, sender=Metric, dispatch_uid="accounts.metric_delete_waits_for_imports")
def metric_delete_waits_for_imports(sender, instance: Metric, using: str, **kwargs) -> None:
    delete_lock(Metric, instance.pk, using)
    signals = Signal.objects.using(using).filter(metric_id=instance.pk)
    if signals.exists():
        raise ProtectedError(
            f"The metric {instance.key!r} cannot be deleted: signals were imported for it.",
            set(signals[:10]),
        )
