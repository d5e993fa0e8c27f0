"""A CTA the rules open copies its playbook's steps late — when a step is first ticked, or before
anything changes or deletes them — and the copy is still the playbook as it was when the CTA
opened. A page shows a pending checklist from the playbook and never writes on a read."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from healthboard.pages.actions.selectors import cta_card, inbox_ctas
from scoring.actions import admin_services, services
from scoring.actions.playbooks import pending_steps_copy
from scoring.models.actions import CallToAction, CtaStep, Playbook
from tests.factories import (
    AccountFactory,
    CallToActionFactory,
    PlaybookFactory,
    PlaybookStepFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

STEPS = ["Call the sponsor", "Agree a rescue plan"]
# The inbox's five queries, and one more where checklists are pending: their playbooks' steps.
INBOX_QUERIES = 5


def today() -> dt.date:
    return timezone.localdate()


def playbook_with_steps(texts=STEPS) -> Playbook:
    playbook = PlaybookFactory(band="red")  # the seeded one of its stage, renamed
    playbook.steps.all().delete()
    playbook.name = "Rescue"
    playbook.save()
    for order, text in enumerate(texts):
        PlaybookStepFactory(playbook=playbook, order=order, text=text)
    return playbook


def pending(playbook: Playbook, owner=None, **fields) -> CallToAction:
    """A CTA as the rules open it: its playbook named, its steps not copied yet."""
    account = AccountFactory(owner=owner or UserFactory())
    return CallToActionFactory(
        account=account,
        playbook=playbook,
        playbook_name=playbook.name,
        steps_pending=True,
        due_date=today(),
        **fields,
    )


def texts(cta: CallToAction) -> list[str]:
    return list(CtaStep.objects.filter(cta=cta).order_by("order").values_list("text", flat=True))


def test_the_inbox_shows_a_pending_checklist_from_the_playbook_and_writes_nothing(
    django_assert_num_queries,
):
    playbook = playbook_with_steps()
    owner = UserFactory()
    for _ in range(3):
        pending(playbook, owner)

    with django_assert_num_queries(INBOX_QUERIES + 1):
        shown = inbox_ctas(owner_id=owner.pk, tab="due", today=today())

    assert [[s.text for s in cta.checklist] for cta in shown.ctas] == [STEPS] * 3
    assert not CtaStep.objects.exists()
    assert CallToAction.objects.filter(steps_pending=True).count() == 3


def test_the_first_tick_makes_the_copy_and_ticks_that_step(csm_user):
    cta = pending(playbook_with_steps(), csm_user)
    user = csm_user

    step = services.cta_step_toggle_at(cta=cta, position=1, user=user, done=True)
    services.cta_step_toggle_at(cta=cta, position=0, user=user, done=True)

    assert step.text == STEPS[1] and step.done_at is not None
    card = cta_card(pk=cta.pk)
    assert not card.steps_pending
    assert [(s.text, s.done_by_id) for s in card.checklist] == [(t, user.pk) for t in STEPS]
    assert CtaStep.objects.count() == 2
    with pytest.raises(CtaStep.DoesNotExist):
        services.cta_step_toggle_at(cta=cta, position=2, user=user, done=True)


def test_another_csm_cannot_tick_nor_make_the_copy(csm_user):
    cta = pending(playbook_with_steps())

    with pytest.raises(PermissionDenied):
        services.cta_step_toggle_at(cta=cta, position=0, user=csm_user, done=True)

    assert not CtaStep.objects.exists()


def test_one_cta_shown_alone_shows_its_pending_checklist():
    cta = pending(playbook_with_steps())

    card = cta_card(pk=cta.pk)

    assert [s.text for s in card.checklist] == STEPS and all(s.pk is None for s in card.checklist)
    with pytest.raises(CallToAction.DoesNotExist):
        cta_card(pk=cta.pk + 1000)


def test_the_playbook_editor_keeps_the_steps_a_pending_cta_opened_with():
    playbook = playbook_with_steps()
    cta = pending(playbook)

    admin_services.playbook_save(
        playbook=playbook, name="Rescue", steps=["A new first step"], user=UserFactory()
    )

    assert texts(cta) == STEPS
    assert [s.text for s in cta_card(pk=cta.pk).checklist] == STEPS
    assert texts(pending(playbook)) == []  # a CTA opened after the edit: still to copy
    assert pending_steps_copy(playbook_id=playbook.pk) == 1


def test_a_step_added_or_edited_in_the_django_admin_comes_after_the_copy():
    playbook = playbook_with_steps()
    cta = pending(playbook)

    PlaybookStepFactory(playbook=playbook, order=9, text="Added in the admin")

    assert texts(cta) == STEPS


def test_deleting_the_playbook_keeps_the_copy():
    playbook = playbook_with_steps()
    cta = pending(playbook)

    playbook.delete()

    cta.refresh_from_db()
    assert cta.playbook is None and cta.playbook_name == "Rescue"
    assert texts(cta) == STEPS


def test_a_copy_is_made_once_however_often_it_is_asked_for():
    cta = pending(playbook_with_steps())

    assert pending_steps_copy(cta_ids=[cta.pk]) == 2
    assert pending_steps_copy(cta_ids=[cta.pk]) == 0
    assert pending_steps_copy(playbook_id=cta.playbook_id) == 0
    assert pending_steps_copy() == 0
    assert texts(cta) == STEPS
