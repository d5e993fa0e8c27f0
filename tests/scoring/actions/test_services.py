"""The writes on a call to action (scoring.actions.services) and the playbook copy: who may
act, what bad input says, and that repeats change nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from healthboard.lib.roles import CSM, MANAGER
from scoring.actions import services
from scoring.actions.playbooks import playbook_steps_copy, playbooks_by_stage_band
from scoring.models.actions import CallToAction, CtaComment, CtaStep
from tests.factories import (
    AccountFactory,
    CallToActionFactory,
    CtaStepFactory,
    HealthScoreFactory,
    JourneyStageFactory,
    OutcomeFactory,
    PlaybookFactory,
    PlaybookStepFactory,
    UserFactory,
)

Status = CallToAction.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def csm():
    return UserFactory(role=CSM)


@pytest.fixture
def cta(csm):
    return CallToActionFactory(account=AccountFactory(owner=csm))


@pytest.fixture
def outcome():
    return OutcomeFactory(name="Back on track")


def today() -> dt.date:
    return timezone.localdate()


# ---------------------------------------------------------------- who may act


def test_a_csm_cannot_act_on_another_csms_cta(cta, outcome) -> None:
    other = UserFactory(role=CSM)
    with pytest.raises(PermissionDenied):
        services.cta_done(cta=cta, user=other, outcome=outcome)
    with pytest.raises(PermissionDenied):
        services.cta_snooze(cta=cta, user=other, until=today() + dt.timedelta(days=3), reason="x")
    with pytest.raises(PermissionDenied):
        services.cta_comment_add(cta=cta, user=other, body="Hello")
    with pytest.raises(PermissionDenied):
        services.cta_step_toggle(step=CtaStepFactory(cta=cta), user=other, done=True)
    cta.refresh_from_db()
    assert cta.status == Status.OPEN
    assert not CtaComment.objects.exists()


def test_a_csm_acts_on_a_cta_of_their_account_owned_by_someone_else(csm, outcome) -> None:
    """The account was reassigned to them after the CTA opened: it is their book now."""
    cta = CallToActionFactory(account=AccountFactory(owner=csm), owner=UserFactory(role=CSM))
    services.cta_done(cta=cta, user=csm, outcome=outcome)
    assert cta.status == Status.DONE


def test_a_manager_acts_on_any_cta(cta, outcome) -> None:
    manager = UserFactory(role=MANAGER)
    services.cta_done(cta=cta, user=manager, outcome=outcome, note="Called them")
    cta.refresh_from_db()
    assert (cta.status, cta.outcome, cta.outcome_note, cta.closed_by) == (
        Status.DONE,
        outcome,
        "Called them",
        manager,
    )
    assert cta.closed_at is not None


# ---------------------------------------------------------------- done


def test_done_needs_an_outcome(cta, csm) -> None:
    with pytest.raises(ValidationError) as error:
        services.cta_done(cta=cta, user=csm, outcome=None)
    assert "Choose an outcome" in error.value.message_dict["outcome"][0]
    cta.refresh_from_db()
    assert cta.status == Status.OPEN


def test_done_refuses_an_outcome_no_longer_offered(cta, csm) -> None:
    retired = OutcomeFactory(name="Old outcome", active=False)
    with pytest.raises(ValidationError) as error:
        services.cta_done(cta=cta, user=csm, outcome=retired)
    assert "no longer offered" in error.value.message_dict["outcome"][0]


def test_done_twice_is_a_no_op_and_a_closed_cta_says_so(cta, csm, outcome) -> None:
    services.cta_done(cta=cta, user=csm, outcome=outcome)
    closed_at = CallToAction.objects.get(pk=cta.pk).closed_at
    services.cta_done(cta=cta, user=csm, outcome=outcome, note="again")
    stored = CallToAction.objects.get(pk=cta.pk)
    assert (stored.closed_at, stored.outcome_note) == (closed_at, "")
    with pytest.raises(ValidationError, match="already marked done"):
        services.cta_done(cta=cta, user=csm, outcome=OutcomeFactory(name="Renewed"))


def test_a_cta_resolved_by_itself_cannot_be_marked_done(cta, csm, outcome) -> None:
    CallToAction.objects.filter(pk=cta.pk).update(status=Status.RESOLVED)
    with pytest.raises(ValidationError, match="resolved by itself"):
        services.cta_done(cta=cta, user=csm, outcome=outcome)


# ---------------------------------------------------------------- snooze


@pytest.mark.parametrize(
    ("days", "reason", "field", "words"),
    [
        (0, "Waiting", "until", "after today"),
        (-3, "Waiting", "until", "after today"),
        (400, "Waiting", "until", "at most a year"),
        (7, "   ", "reason", "Say why"),
    ],
)
def test_snooze_validation(cta, csm, days, reason, field, words) -> None:
    with pytest.raises(ValidationError) as error:
        services.cta_snooze(
            cta=cta, user=csm, until=today() + dt.timedelta(days=days), reason=reason
        )
    assert words in error.value.message_dict[field][0]
    cta.refresh_from_db()
    assert cta.status == Status.OPEN


def test_snooze_without_a_date(cta, csm) -> None:
    with pytest.raises(ValidationError) as error:
        services.cta_snooze(cta=cta, user=csm, until=None, reason="")
    assert set(error.value.message_dict) == {"until", "reason"}


def test_snooze_hides_it_until_its_date_then_it_is_due_again(cta, csm) -> None:
    until = today() + dt.timedelta(days=7)
    services.cta_snooze(cta=cta, user=csm, until=until, reason="On holiday")
    assert (cta.status, cta.snoozed_until, cta.snooze_reason) == (
        Status.SNOOZED,
        until,
        "On holiday",
    )
    updated_at = CallToAction.objects.get(pk=cta.pk).updated_at
    services.cta_snooze(cta=cta, user=csm, until=until, reason="On holiday")
    assert CallToAction.objects.get(pk=cta.pk).updated_at == updated_at
    assert not CallToAction.objects.due_now(today()).exists()
    assert CallToAction.objects.due_now(until).get() == cta


def test_reopen_wakes_a_snoozed_cta_and_undoes_done(cta, csm, outcome) -> None:
    services.cta_snooze(cta=cta, user=csm, until=today() + dt.timedelta(days=3), reason="Later")
    services.cta_reopen(cta=cta, user=csm)
    assert (cta.status, cta.snoozed_until, cta.snooze_reason) == (Status.OPEN, None, "")
    services.cta_done(cta=cta, user=csm, outcome=outcome)
    services.cta_reopen(cta=cta, user=csm)
    stored = CallToAction.objects.get(pk=cta.pk)
    assert (stored.status, stored.outcome, stored.closed_at) == (Status.OPEN, None, None)


def test_reopen_refuses_when_the_rule_opened_another(cta, csm, outcome) -> None:
    services.cta_done(cta=cta, user=csm, outcome=outcome)
    CallToActionFactory(account=cta.account, rule=cta.rule)
    with pytest.raises(ValidationError, match="opened a new call to action"):
        services.cta_reopen(cta=cta, user=csm)


# ---------------------------------------------------------------- steps and comments


def test_ticking_a_ticked_step_is_a_no_op(cta, csm) -> None:
    step = CtaStepFactory(cta=cta)
    services.cta_step_toggle(step=step, user=csm, done=True)
    first = CtaStep.objects.get(pk=step.pk).done_at
    assert first is not None and step.done_by_id == csm.pk
    services.cta_step_toggle(step=step, user=UserFactory(role=MANAGER), done=True)
    stored = CtaStep.objects.get(pk=step.pk)
    assert (stored.done_at, stored.done_by_id) == (first, csm.pk)
    services.cta_step_toggle(step=step, user=csm, done=False)
    assert CtaStep.objects.get(pk=step.pk).done_at is None


def test_a_closed_ctas_checklist_stays_as_closed(cta, csm, outcome) -> None:
    step = CtaStepFactory(cta=cta)
    services.cta_done(cta=cta, user=csm, outcome=outcome)
    with pytest.raises(ValidationError, match="already marked done"):
        services.cta_step_toggle(step=step, user=csm, done=True)


def test_comments(cta, csm) -> None:
    with pytest.raises(ValidationError) as error:
        services.cta_comment_add(cta=cta, user=csm, body="  ")
    assert "Write the comment" in error.value.message_dict["body"][0]
    first = services.cta_comment_add(cta=cta, user=csm, body=" Called, no answer ")
    again = services.cta_comment_add(cta=cta, user=csm, body="Called, no answer")
    assert first.pk == again.pk and first.body == "Called, no answer"
    services.cta_comment_add(cta=cta, user=csm, body="Emailed")
    assert CtaComment.objects.filter(cta=cta).count() == 2


# ---------------------------------------------------------------- opened by hand


def test_cta_create_copies_the_playbook_of_the_stage_and_band(csm) -> None:
    # A stage of its own: the migrations seed a playbook for every stage they create.
    account = AccountFactory(owner=csm, stage=JourneyStageFactory(slug="pilot"))
    HealthScoreFactory(account=account, score=20)  # red
    playbook = PlaybookFactory(stage=account.stage, band="red", name="Rescue")
    for text in ("Call", "Plan", "Escalate"):
        PlaybookStepFactory(playbook=playbook, text=text)
    PlaybookStepFactory(playbook=PlaybookFactory(stage=account.stage, band="yellow"))

    cta = services.cta_create(
        account=account,
        user=csm,
        title=" Call the sponsor ",
        reason="Usage fell after the re-org.",
        due_date=today() + dt.timedelta(days=3),
        cta_type="risk",
        priority=1,
    )

    cta.refresh_from_db()
    assert (cta.rule, cta.owner, cta.title, cta.band_at_open, cta.score_at_open) == (
        None,
        csm,
        "Call the sponsor",
        "red",
        20,
    )
    assert (cta.playbook, cta.playbook_name) == (playbook, "Rescue")
    assert list(cta.steps.values_list("text", flat=True)) == ["Call", "Plan", "Escalate"]
    # The copy is history: editing the playbook later does not change the CTA's steps.
    playbook.steps.update(text="Changed")
    assert list(cta.steps.values_list("text", flat=True)) == ["Call", "Plan", "Escalate"]


def test_cta_create_validates_and_writes_nothing_on_bad_input(csm) -> None:
    account = AccountFactory(owner=csm)
    with pytest.raises(ValidationError) as error:
        services.cta_create(
            account=account,
            user=csm,
            title="",
            reason="",
            due_date=today() - dt.timedelta(days=1),
            cta_type="upsell",
            priority=9,
        )
    assert set(error.value.message_dict) == {"title", "reason", "due_date", "cta_type", "priority"}
    assert not CallToAction.objects.exists()
    with pytest.raises(PermissionDenied):
        services.cta_create(
            account=account,
            user=UserFactory(role=CSM),
            title="x",
            reason="y",
            due_date=today(),
            cta_type="risk",
            priority=2,
        )


def test_playbook_steps_copy_is_one_statement_and_copies_once(
    django_assert_num_queries,
) -> None:
    stage = JourneyStageFactory(slug="pilot")
    playbook = PlaybookFactory(stage=stage, band="yellow")
    PlaybookStepFactory.create_batch(3, playbook=playbook)
    for band in ["yellow"] * 5 + ["none"]:
        CallToActionFactory(
            account=AccountFactory(stage=stage),
            band_at_open=band,
            playbook=playbook if band == "yellow" else None,
        )
    ctas = CallToAction.objects.filter(account__stage=stage)
    with django_assert_num_queries(1):
        written = playbook_steps_copy(ctas=ctas)
    assert written == 15
    assert playbook_steps_copy(ctas=ctas) == 0
    assert playbook_steps_copy(ctas=CallToAction.objects.filter(pk__in=[])) == 0
    assert CtaStep.objects.count() == 15
    assert playbooks_by_stage_band()[(stage.pk, "yellow")] == (playbook.pk, playbook.name)
