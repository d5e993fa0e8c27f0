"""The Admins' writes about calls to action: checked whoever calls, safe to repeat, and
never deleting what a CTA points at."""

from __future__ import annotations

import pytest

from scoring.actions import admin_services as services
from scoring.models.actions import ActionRule, Outcome, Playbook
from tests.factories import (
    ActionRuleFactory,
    CallToActionFactory,
    JourneyStageFactory,
    OutcomeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_a_rule_is_saved_with_its_kinds_defaults_filled_in() -> None:
    user = UserFactory()
    rule = ActionRule(name="Quiet", kind="no_login", parameters={"days": "45"}, cta_type="risk")

    services.rule_save(rule=rule, user=user)

    rule.refresh_from_db()
    assert rule.parameters == {"days": 45, "metric": "logins"}
    assert rule.updated_by == user


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"days": 0}, "Days without: 0 is outside 1–365."),
        ({"days": 30, "metric": "telepathy"}, "Metric: no metric 'telepathy' in the catalogue."),
    ],
)
def test_a_rule_with_a_bad_parameter_is_refused_by_name(parameters, message) -> None:
    rule = ActionRule(name="Bad", kind="no_login", parameters=parameters, cta_type="risk")

    with pytest.raises(ValueError, match=message):
        services.rule_save(rule=rule, user=None)
    assert not ActionRule.objects.filter(name="Bad").exists()


def test_deleting_a_rule_twice_is_the_same_as_once() -> None:
    rule = ActionRuleFactory()
    services.rule_delete(rule=rule)
    services.rule_delete(rule=rule)
    assert not ActionRule.objects.filter(pk=rule.pk).exists()


def test_a_rule_a_cta_points_at_is_kept() -> None:
    rule = ActionRuleFactory()
    CallToActionFactory(rule=rule, status="resolved")

    with pytest.raises(services.InUse, match="opened 1 call to action"):
        services.rule_delete(rule=rule)
    assert ActionRule.objects.filter(pk=rule.pk).exists()


def test_an_outcome_a_cta_was_closed_with_is_kept() -> None:
    outcome = OutcomeFactory()
    CallToActionFactory.create_batch(2, status="done", outcome=outcome)

    with pytest.raises(services.InUse, match="2 calls to action closed with"):
        services.outcome_delete(outcome=outcome)
    assert Outcome.objects.filter(pk=outcome.pk).exists()


def test_a_playbook_is_created_once_per_stage_and_band() -> None:
    stage = JourneyStageFactory(slug="pilot")

    first = services.playbook_create(stage=stage, band="red", user=None)
    second = services.playbook_create(stage=stage, band="red", user=None)

    assert first.pk == second.pk and first.name == "Pilot: rescue"
    assert Playbook.objects.filter(stage=stage).count() == 1


def test_a_playbooks_steps_are_replaced_in_order_and_an_unchanged_save_writes_nothing() -> None:
    playbook = services.playbook_create(
        stage=JourneyStageFactory(slug="pilot"), band="red", user=None
    )

    assert services.playbook_save(playbook=playbook, name="Rescue", steps=["A", "B"], user=None)
    assert not services.playbook_save(playbook=playbook, name="Rescue", steps=["A", "B"], user=None)
    assert services.playbook_save(playbook=playbook, name="Rescue", steps=["B", "A"], user=None)

    assert list(playbook.steps.values_list("order", "text")) == [(0, "B"), (1, "A")]
