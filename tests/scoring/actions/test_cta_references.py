"""The CTAs' table has no database foreign keys to accounts, users, rules and playbooks: the
rules lock what the CTAs they open refer to, once for the set, and leave out an account (or an
owner) deleted since the hits were staged; a delete waits for an evaluation's locks, and
Django's on_delete still cascades and nulls, the CTAs written meanwhile included."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from accounts.models import Account
from healthboard.lib.keylocks import keys_lock
from scoring.actions import rules
from scoring.actions.rules import rules_apply
from scoring.models import CallToAction, Playbook
from tests.factories import (
    AccountFactory,
    CallToActionFactory,
    PlaybookFactory,
    PlaybookStepFactory,
    UserFactory,
)
from tests.scoring.actions.helpers import TODAY, days_ago, scored

pytestmark = pytest.mark.django_db


def turned_red():
    account = AccountFactory()
    scored(account, 80.0, days_ago(1))
    scored(account, 30.0, TODAY)
    return account


def test_an_account_or_owner_deleted_after_the_hits_were_staged_gets_no_cta(monkeypatch):
    kept, gone, orphaned = turned_red(), turned_red(), turned_red()
    locking = rules._references_lock

    def deleted_meanwhile():
        # As another transaction would, between staging the hits and opening the CTAs.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM accounts_account WHERE id = %s", [gone.pk])
            cursor.execute(
                "UPDATE accounts_account SET owner_id = NULL WHERE id = %s", [orphaned.pk]
            )
            cursor.execute("DELETE FROM auth_user_groups WHERE user_id = %s", [orphaned.owner_id])
            cursor.execute("DELETE FROM auth_user WHERE id = %s", [orphaned.owner_id])
        locking()

    monkeypatch.setattr(rules, "_references_lock", deleted_meanwhile)

    rules_apply(as_of=TODAY)

    assert not CallToAction.objects.filter(account_id=gone.pk).exists()
    assert CallToAction.objects.filter(account=kept, owner=kept.owner).exists()
    assert CallToAction.objects.filter(account_id=orphaned.pk, owner__isnull=True).exists()


def test_deleting_what_ctas_refer_to_still_cascades_and_nulls():
    playbook = PlaybookFactory()
    PlaybookStepFactory(playbook=playbook, text="Call the sponsor")
    cta = CallToActionFactory(playbook=playbook, steps_pending=True)
    steps = list(playbook.steps.order_by("order", "id").values_list("text", flat=True))
    owned_elsewhere = CallToActionFactory()

    cta.owner.delete()
    cta.rule.delete()
    Playbook.objects.filter(pk=playbook.pk).delete()

    cta.refresh_from_db()
    assert (cta.owner_id, cta.rule_id, cta.playbook_id) == (None, None, None)
    # The pending checklist was copied before its playbook went.
    assert list(cta.steps.order_by("order", "id").values_list("text", flat=True)) == steps
    assert "Call the sponsor" in steps
    owned_elsewhere.account.delete()
    assert not CallToAction.objects.filter(pk=owned_elsewhere.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_account_deleted_while_an_evaluation_writes_its_cta_loses_that_cta_too():
    account = AccountFactory()
    CallToActionFactory(account=account)  # Django's delete lists this one first
    owner = UserFactory()
    locked, release = threading.Event(), threading.Event()

    def evaluation():
        # An evaluation that locked the account (as _references_lock does) and opens a CTA
        # for it, committing only after the delete has started waiting.
        try:
            with transaction.atomic():
                assert keys_lock(Account._meta.db_table, [account.pk]) == {account.pk}
                CallToActionFactory(account=account, owner=owner)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    writer = threading.Thread(target=evaluation)
    writer.start()
    assert locked.wait(10)
    deleter = threading.Thread(
        target=lambda: (Account.objects.get(pk=account.pk).delete(), connection.close())
    )
    deleter.start()
    time.sleep(0.3)  # the delete waits for the evaluation's lock
    assert deleter.is_alive()
    release.set()
    writer.join(10)
    deleter.join(10)

    assert not deleter.is_alive()
    assert not Account.objects.filter(pk=account.pk).exists()
    assert not CallToAction.objects.filter(account_id=account.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_deletes_wait_for_an_evaluation_opening_ctas_then_cascade_and_null_them(monkeypatch):
    gone, orphaned = turned_red(), turned_red()
    owner = orphaned.owner
    locked, release = threading.Event(), threading.Event()
    locking = rules._references_lock

    def paused():
        locking()
        locked.set()
        release.wait(10)

    monkeypatch.setattr(rules, "_references_lock", paused)

    def run(work):
        def target():
            try:
                work()
            finally:
                connection.close()

        thread = threading.Thread(target=target)
        thread.start()
        return thread

    evaluation = run(lambda: rules_apply(as_of=TODAY))
    assert locked.wait(10)
    deletes = [
        run(lambda: Account.objects.get(pk=gone.pk).delete()),
        run(lambda: type(owner).objects.get(pk=owner.pk).delete()),
    ]
    time.sleep(0.3)
    assert all(thread.is_alive() for thread in deletes)  # waiting for the evaluation's locks
    release.set()
    for thread in (evaluation, *deletes):
        thread.join(10)
        assert not thread.is_alive()

    assert not CallToAction.objects.filter(account_id=gone.pk).exists()
    ctas = CallToAction.objects.filter(account=orphaned)
    assert ctas.exists() and not ctas.filter(owner__isnull=False).exists()
