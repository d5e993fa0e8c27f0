"""What CTAs refer to (accounts, users, rules, playbooks), kept whole without database
foreign keys (see CallToAction).

A writer of CTAs locks the rows they refer to (FOR KEY SHARE), as the keys' checks would:
an evaluation of the rules at once for the set (scoring.actions.rules), a CTA written one at
a time with cta_references_lock. Django's delete finds the rows to delete or null before it
deletes the referenced row, so the *_before_* functions run first, from pre_delete
receivers: they take the row's lock, waiting for any writer that holds it, and what Django
then finds includes the CTAs that writer committed.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Account
from healthboard.lib.keylocks import delete_lock, keys_lock
from scoring.actions.playbooks import pending_steps_copy
from scoring.models.actions import ActionRule, CallToAction, Playbook


def cta_references_lock(cta: CallToAction) -> None:
    """Lock the account, owner, rule and playbook `cta` (about to be saved, in a
    transaction) refers to until the commit; ValidationError names one deleted meanwhile."""
    references = (
        (Account, cta.account_id, _("Its account was deleted meanwhile.")),
        (get_user_model(), cta.owner_id, _("Its owner was deleted meanwhile.")),
        (ActionRule, cta.rule_id, _("Its rule was deleted meanwhile.")),
        (Playbook, cta.playbook_id, _("Its playbook was deleted meanwhile.")),
    )
    for model, pk, gone in references:
        if pk is not None and not keys_lock(model._meta.db_table, [pk]):
            raise ValidationError(gone)


def ctas_before_account_delete(*, account_id: int, using: str) -> None:
    """The account's CTAs, deleted once its row is locked: Django's own list of them (made
    before, as they have checklists and comments to delete too) misses those committed
    while it waited."""
    delete_lock(Account, account_id, using)
    CallToAction.objects.using(using).filter(account_id=account_id).delete()


def ctas_before_reference_delete(*, model, pk: int, using: str) -> None:
    """A user, or a rule: its CTAs are nulled by a query Django runs after this lock."""
    delete_lock(model, pk, using)


def ctas_before_playbook_change(*, playbook_id: int, using: str) -> None:
    """A playbook deleted or its steps changed: the CTAs still to copy its steps copy them
    first (scoring.actions.playbooks), including those an evaluation committed meanwhile."""
    # A step saved outside a transaction (a script, the shell): lock and copy in one.
    with transaction.atomic(using=using):
        delete_lock(Playbook, playbook_id, using)
        pending_steps_copy(playbook_id=playbook_id)
