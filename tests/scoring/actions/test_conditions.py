"""Each rule kind fires exactly at its edge and not one step before; nothing is written."""

from __future__ import annotations

import pytest

from scoring.actions.rules import rule_hits, rule_preview
from scoring.models import ActionRule, CallToAction
from tests.factories import AccountFactory, ActionRuleFactory, CallToActionFactory
from tests.scoring.actions.helpers import TODAY, days_ago, scored, signal

pytestmark = pytest.mark.django_db


def fired(kind: str, **parameters) -> set[int]:
    rule = ActionRule(name="unsaved", kind=kind, parameters=parameters, cta_type="risk")
    return {hit.account_id for hit in rule_hits(rule=rule, as_of=TODAY) if hit.fires}


def test_band_worse_fires_on_the_day_the_band_got_worse_only():
    turned, stayed, from_no_data, green_to_red = AccountFactory.create_batch(4)
    for account, before, now in [
        (turned, 50, 30),
        (stayed, 30, 35),
        (from_no_data, None, 30),
        (green_to_red, 80, 30),
    ]:
        scored(account, before, days_ago(1))
        scored(account, now)

    assert fired("band_worse", band="red") == {turned.pk, green_to_red.pk}
    # Green straight to red did not turn "at risk".
    assert fired("band_worse", band="yellow") == set()


def test_band_worse_compares_with_the_previous_published_run_even_days_back():
    account = AccountFactory()
    scored(account, 80, days_ago(3))
    scored(account, 50)
    assert fired("band_worse", band="yellow") == {account.pk}


def test_band_worse_holds_without_firing_while_the_band_stays_as_bad():
    with_cta, without = AccountFactory.create_batch(2)
    for account in (with_cta, without):
        scored(account, 30, days_ago(1))
        scored(account, 20)
    rule = ActionRuleFactory(kind="band_worse", parameters={"band": "red"})
    CallToActionFactory(account=with_cta, rule=rule)
    # Held rows are only read where they keep an active CTA of the rule open.
    [hit] = rule_hits(rule=rule, as_of=TODAY)
    assert hit.account_id == with_cta.pk and not hit.fires


def test_score_drop_fires_at_the_points_and_not_one_tenth_before():
    edge, short = AccountFactory.create_batch(2)
    for account, now in [(edge, 55.0), (short, 55.1)]:
        scored(account, 70.0, days_ago(7))
        scored(account, now)
    assert fired("score_drop", points=15, days=7) == {edge.pk}


def test_score_drop_reads_the_score_of_the_day_asked_for():
    account = AccountFactory()
    scored(account, 90.0, days_ago(14))
    scored(account, 60.0, days_ago(7))
    scored(account, 60.0)
    assert fired("score_drop", points=15, days=7) == set()
    assert fired("score_drop", points=15, days=14) == {account.pk}


def test_renewal_at_risk_fires_within_the_days_and_not_the_day_after():
    last_day, day_after, healthy, passed = AccountFactory.create_batch(4)
    for account, renews, score in [
        (last_day, 90, 50),
        (day_after, 91, 30),
        (healthy, 10, 80),
        (passed, -1, 30),
    ]:
        account.renewal_date = days_ago(-renews)
        account.save()
        scored(account, score)
    assert fired("renewal_at_risk", days=90) == {last_day.pk}


def test_complaint_open_fires_after_more_than_the_days():
    older, on_the_day, cleared, resolved_now = AccountFactory.create_batch(4)
    signal(older, "unresolved_complaints", 1, days_ago(15))
    signal(older, "unresolved_complaints", 2, days_ago(3))
    signal(on_the_day, "unresolved_complaints", 1, days_ago(14))
    # Resolved in between: the complaint open now is only 5 days old.
    signal(cleared, "unresolved_complaints", 1, days_ago(40))
    signal(cleared, "unresolved_complaints", 0, days_ago(20))
    signal(cleared, "unresolved_complaints", 1, days_ago(5))
    signal(resolved_now, "unresolved_complaints", 1, days_ago(40))
    signal(resolved_now, "unresolved_complaints", 0, days_ago(1))
    for account in (older, on_the_day, cleared, resolved_now):
        scored(account, 50)

    assert fired("complaint_open", days=14, metric="unresolved_complaints") == {older.pk}
    [hit] = rule_hits(rule=ActionRule(kind="complaint_open", parameters={"days": 14}), as_of=TODAY)
    assert {"label": "Days unresolved", "value": 15} in hit.evidence
    # The metric by its catalogue name, in lower case inside the label, as a sentence has it.
    assert {"label": "Highest unresolved complaints", "value": 2} in hit.evidence
    assert hit.words.startswith("Unresolved complaints above 0 since ")


def test_invoice_late_reads_the_latest_invoice():
    edge, short, paid_since = AccountFactory.create_batch(3)
    signal(edge, "invoice_days_late", 30, days_ago(2))
    signal(short, "invoice_days_late", 29, days_ago(2))
    signal(paid_since, "invoice_days_late", 60, days_ago(40))
    signal(paid_since, "invoice_days_late", 0, days_ago(10))
    for account in (edge, short, paid_since):
        scored(account, 50)
    assert fired("invoice_late", days=30, metric="invoice_days_late") == {edge.pk}


def test_no_login_fires_when_the_last_login_is_the_days_ago():
    edge, day_later, new_customer, never = AccountFactory.create_batch(4)
    signal(edge, "logins", 3, days_ago(30))
    signal(day_later, "logins", 3, days_ago(29))
    # Logins at 0 are no logins.
    signal(day_later, "logins", 0, days_ago(1))
    signal(edge, "logins", 0, days_ago(1))
    new_customer.start_date = days_ago(29)
    new_customer.save()
    for account in (edge, day_later, new_customer, never):
        scored(account, 50)

    assert fired("no_login", days=30, metric="logins") == {edge.pk, never.pk}


def test_a_metric_nobody_reports_or_the_catalogue_lacks_fires_for_nobody():
    scored(AccountFactory(), 50)
    assert fired("no_login", days=30, metric="logins") == set()
    assert fired("invoice_late", days=1, metric="no_such_metric") == set()


def test_promoter_healthy_needs_green_and_an_answer_within_the_days():
    edge, too_old, low, yellow = AccountFactory.create_batch(4)
    signal(edge, "nps", 9, days_ago(179))
    signal(too_old, "nps", 10, days_ago(180))
    signal(low, "nps", 10, days_ago(100))
    signal(low, "nps", 8, days_ago(10))
    signal(yellow, "nps", 10, days_ago(10))
    for account, score in [(edge, 80), (too_old, 80), (low, 80), (yellow, 60)]:
        scored(account, score)
    assert fired("promoter_healthy", minimum=9, days=180, metric="nps") == {edge.pk}


def test_only_accounts_asked_about_are_looked_at():
    first, second = AccountFactory.create_batch(2)
    for account in (first, second):
        scored(account, 30)
        account.renewal_date = days_ago(-10)
        account.save()
    rule = ActionRule(kind="renewal_at_risk", parameters={"days": 90})
    hits = rule_hits(rule=rule, as_of=TODAY, account_ids=[second.pk])
    assert [hit.account_id for hit in hits] == [second.pk]


def test_preview_counts_an_unsaved_rule_on_the_newest_run_and_writes_nothing(
    django_assert_max_num_queries,
):
    for score in (30, 35, 80):
        account = AccountFactory(renewal_date=days_ago(-30))
        scored(account, score)
    rule = ActionRule(name="edited", kind="renewal_at_risk", parameters={"days": 60})
    with django_assert_max_num_queries(3):
        assert rule_preview(rule=rule) == 2
    # Missing parameters take the kind's defaults (90 days).
    assert rule_preview(rule=ActionRule(kind="renewal_at_risk", parameters={})) == 2
    assert not CallToAction.objects.exists()


def test_preview_without_a_published_run_is_zero():
    assert rule_preview(rule=ActionRule(kind="band_worse", parameters={"band": "red"})) == 0
