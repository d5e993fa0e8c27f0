"""The rules after a nightly run, dealt into parts that workers evaluate side by side: by rules
(every enabled rule in exactly one part, the parts of about equal work, a part touching only
its own rules' CTAs) or, on a first night, by ranges of accounts with as many scored each (a
part touching only its own accounts' CTAs); either way the parts together do what one
evaluation does."""

from __future__ import annotations

import pytest

from scoring.actions import rules
from scoring.actions.conditions import SIGNAL_KINDS
from scoring.actions.rules import (
    SCORE_RULE_COST,
    SIGNAL_RULE_COST,
    night_parts,
    rule_parts,
    rules_apply,
)
from scoring.models import ActionRule, CallToAction, ScoreRun
from tests.factories import AccountFactory, CallToActionFactory
from tests.scoring.actions.helpers import TODAY, days_ago, scored, signal

pytestmark = pytest.mark.django_db


def _cost(rule_ids) -> int:
    kinds = dict(ActionRule.objects.filter(pk__in=rule_ids).values_list("pk", "kind"))
    return sum(SIGNAL_RULE_COST if kinds[pk] in SIGNAL_KINDS else SCORE_RULE_COST for pk in kinds)


@pytest.mark.parametrize("parts", [1, 2, 3, 8, 20])
def test_every_enabled_rule_is_in_exactly_one_part(parts):
    ActionRule.objects.filter(kind="score_drop").update(enabled=False)
    enabled = set(ActionRule.objects.filter(enabled=True).values_list("pk", flat=True))

    dealt = rule_parts(parts)

    assert len(dealt) == min(parts, len(enabled)) and all(dealt)
    assert sorted(pk for part in dealt for pk in part) == sorted(enabled)


def test_the_parts_carry_about_equal_work():
    # The seeded rules: four on a metric's signals, four on the scores.
    first, second = rule_parts(2)
    assert _cost(first) == _cost(second)
    signal_rules = set(
        ActionRule.objects.filter(kind__in=SIGNAL_KINDS).values_list("pk", flat=True)
    )
    assert len(set(first) & signal_rules) == len(set(second) & signal_rules) == 2


def test_a_rule_s_active_ctas_weigh_as_the_hits_it_will_find_again(monkeypatch):
    # Each rule as heavy as one hit, whatever its kind: the rule with six active CTAs weighs
    # seven, as much as the seven other rules together.
    monkeypatch.setattr(rules, "SCORE_RULE_COST", 1)
    monkeypatch.setattr(rules, "SIGNAL_RULE_COST", 1)
    busy = ActionRule.objects.get(kind="renewal_at_risk")
    CallToActionFactory.create_batch(6, rule=busy)
    CallToActionFactory(rule=busy, status=CallToAction.Status.DONE)  # closed: not found again

    parts = rule_parts(2)

    assert sorted(parts, key=len) == [
        [busy.pk],
        sorted(ActionRule.objects.exclude(pk=busy.pk).values_list("pk", flat=True)),
    ]


def test_no_enabled_rule_makes_no_part():
    ActionRule.objects.update(enabled=False)
    assert rule_parts(2) == []


def test_a_part_evaluates_only_its_rules_and_the_parts_add_up_to_one_evaluation():
    idle = AccountFactory()  # no login for 30 days: another account reports logins
    signal(AccountFactory(), "logins", 5, TODAY)
    falling = AccountFactory()
    scored(falling, 80.0, days_ago(1))
    scored(falling, 30.0, TODAY)
    scored(idle, 75.0, TODAY)
    parts = rule_parts(2)

    counts = [rules_apply(as_of=TODAY, rule_ids=part) for part in parts]

    for part, summary in zip(parts, counts, strict=True):
        assert summary["rules"] == len(part)
    for cta in CallToAction.objects.all():
        assert any(cta.rule_id in part for part in parts)
    opened = {(c.account_id, c.rule.kind) for c in CallToAction.objects.select_related("rule")}
    assert (idle.pk, "no_login") in opened and (falling.pk, "band_worse") in opened

    # The same night evaluated whole afterwards: every CTA already there, none added.
    whole = rules_apply(as_of=TODAY)
    assert whole["opened"] == 0 and whole["updated"] == sum(c["opened"] for c in counts)


def test_a_part_never_closes_another_parts_ctas():
    account = AccountFactory()
    scored(account, 80.0, days_ago(1))
    today = scored(account, 30.0, TODAY)
    rules_apply(as_of=TODAY)
    turned_red = CallToAction.objects.get(account=account, rule__name="Turned unhealthy")
    ActionRule.objects.filter(pk=turned_red.rule_id).update(auto_close=True)
    today.score, today.band = 90.0, "green"  # re-scored: the condition no longer holds
    today.save()
    other, own = sorted(rule_parts(2), key=lambda part: turned_red.rule_id in part)

    rules_apply(as_of=TODAY, rule_ids=other)
    turned_red.refresh_from_db()
    assert turned_red.status == "open"

    rules_apply(as_of=TODAY, rule_ids=own)
    turned_red.refresh_from_db()
    assert turned_red.status == "resolved"


def _run():
    return ScoreRun.objects.get(status="done", date=TODAY)


def test_a_first_night_is_dealt_by_accounts_into_ranges_of_as_many():
    accounts = AccountFactory.create_batch(7)
    for account in accounts:
        scored(account, 30.0, TODAY)

    parts = night_parts(_run(), 3)

    assert all(part.rule_ids is None for part in parts)
    ranges = [part.account_range for part in parts]
    assert ranges[0].start is None and ranges[-1].stop is None
    assert all(a.stop == b.start for a, b in zip(ranges, ranges[1:], strict=False))
    sizes = [
        sum(
            1
            for a in accounts
            if (r.start is None or a.pk >= r.start) and (r.stop is None or a.pk < r.stop)
        )
        for r in ranges
    ]
    assert sorted(sizes) == [2, 2, 3]


def test_once_rules_have_active_ctas_the_night_is_dealt_by_rules():
    scored(AccountFactory(), 30.0, TODAY)
    CallToActionFactory(rule=ActionRule.objects.get(kind="renewal_at_risk"))

    parts = night_parts(_run(), 2)

    assert [part.rule_ids for part in parts] == rule_parts(2)
    assert all(part.account_range is None for part in parts)


def test_no_enabled_rule_makes_no_part_of_accounts_either():
    scored(AccountFactory(), 30.0, TODAY)
    ActionRule.objects.update(enabled=False)
    assert night_parts(_run(), 2) == []


def test_parts_of_accounts_add_up_to_one_evaluation_and_close_only_their_own():
    falling = []
    for _ in range(6):
        account = AccountFactory()
        scored(account, 80.0, days_ago(1))
        falling.append((account, scored(account, 30.0, TODAY)))
    parts = night_parts(_run(), 2)

    counts = [rules_apply(as_of=TODAY, account_range=part.account_range) for part in parts]

    assert sum(c["opened"] for c in counts) == CallToAction.objects.count() > 0
    whole = rules_apply(as_of=TODAY)
    assert whole["opened"] == 0 and whole["updated"] == CallToAction.objects.count()
    # Everybody healthy again: the first part closes its own accounts' CTAs only.
    ActionRule.objects.update(auto_close=True)
    for _account, today in falling:
        today.score, today.band = 90.0, "green"
        today.save()
    first = parts[0].account_range
    rules_apply(as_of=TODAY, account_range=first)
    for cta in CallToAction.objects.filter(rule__kind="band_worse"):
        inside = first.stop is None or cta.account_id < first.stop
        assert (cta.status == "resolved") == inside
