"""A CTA the rules open copies its playbook's steps late — when first shown, or before anything
changes or deletes them — and the copy is still the playbook as it was when the CTA opened."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from healthboard.pages.actions.selectors import INBOX_ROWS, cta_card, inbox_ctas
from scoring.actions import admin_services
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
# The inbox's five queries, and two more the first time it shows CTAs with steps pending: the
# claim (UPDATE … RETURNING) and the copy (INSERT … SELECT), however many CTAs.
INBOX_QUERIES, COPY_QUERIES = 5, 2


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


def test_the_inbox_copies_the_steps_of_the_ctas_it_shows_once(django_assert_num_queries):
    playbook = playbook_with_steps()
    owner = UserFactory()
    ctas = [pending(playbook, owner) for _ in range(3)]

    with django_assert_num_queries(INBOX_QUERIES + COPY_QUERIES):
        shown = inbox_ctas(owner_id=owner.pk, tab="due", today=today())
    with django_assert_num_queries(INBOX_QUERIES):
        again = inbox_ctas(owner_id=owner.pk, tab="due", today=today())

    assert [[s.text for s in cta.steps.all()] for cta in shown.ctas] == [STEPS] * 3
    assert [[s.text for s in cta.steps.all()] for cta in again.ctas] == [STEPS] * 3
    assert CtaStep.objects.count() == 6
    assert not CallToAction.objects.filter(pk__in=[c.pk for c in ctas], steps_pending=True)


def test_the_inbox_leaves_the_ctas_it_does_not_show_pending():
    playbook = playbook_with_steps()
    owner = UserFactory()
    for _ in range(INBOX_ROWS + 2):
        pending(playbook, owner)

    inbox_ctas(owner_id=owner.pk, tab="due", today=today())

    assert CallToAction.objects.filter(steps_pending=True).count() == 2


def test_one_cta_shown_alone_gets_its_copy():
    cta = pending(playbook_with_steps())

    card = cta_card(pk=cta.pk)

    assert [s.text for s in card.steps.all()] == STEPS
    with pytest.raises(CallToAction.DoesNotExist):
        cta_card(pk=cta.pk + 1000)


def test_the_playbook_editor_keeps_the_steps_a_pending_cta_opened_with():
    playbook = playbook_with_steps()
    cta = pending(playbook)

    admin_services.playbook_save(
        playbook=playbook, name="Rescue", steps=["A new first step"], user=UserFactory()
    )

    assert texts(cta) == STEPS
    assert [s.text for s in cta_card(pk=cta.pk).steps.all()] == STEPS
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


def test_the_django_admins_cta_page_shows_the_copy(admin_user):
    cta = pending(playbook_with_steps())
    request = RequestFactory().get(reverse("admin:scoring_calltoaction_change", args=[cta.pk]))
    request.user = admin_user

    site._registry[CallToAction].get_object(request, str(cta.pk))

    assert texts(cta) == STEPS


def test_a_copy_is_made_once_however_often_it_is_asked_for():
    cta = pending(playbook_with_steps())

    assert pending_steps_copy(cta_ids=[cta.pk]) == 2
    assert pending_steps_copy(cta_ids=[cta.pk]) == 0
    assert pending_steps_copy(playbook_id=cta.playbook_id) == 0
    assert pending_steps_copy() == 0
    assert texts(cta) == STEPS
