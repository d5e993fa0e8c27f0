"""Applying the rules: CTAs opened once, updated while the rule keeps firing, left quiet while
snoozed, closed when the condition clears, not reopened within the cooldown."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from accounts.i18n import in_sentence
from accounts.models import Account
from scoring.actions.kinds import KINDS
from scoring.actions.playbooks import pending_steps_copy
from scoring.actions.rules import rules_apply
from scoring.models import ActionRule, CallToAction, CtaStep, DigestPreference, HealthScore
from tests.factories import (
    AccountFactory,
    ActionRuleFactory,
    CallToActionFactory,
    PlaybookFactory,
    PlaybookStepFactory,
)
from tests.scoring.actions.helpers import TODAY, days_ago, only_rules, scored, signal

pytestmark = pytest.mark.django_db


@pytest.fixture
def renewal_rule():
    rule = ActionRuleFactory(
        name="Renewal in danger",
        kind="renewal_at_risk",
        parameters={"days": 90},
        priority=1,
        due_days=5,
        cta_type="lifecycle",
    )
    only_rules(rule)
    return rule


def at_risk(score: float = 35.0, renews_in: int = 30, day: dt.date = TODAY, **fields):
    account = AccountFactory(renewal_date=TODAY + dt.timedelta(days=renews_in), **fields)
    scored(account, score, day)
    return account


def fresh_playbook(account, name: str):
    """The (seeded) playbook for the account's stage and red, renamed and emptied."""
    playbook = PlaybookFactory(stage=account.stage, band="red")
    playbook.steps.all().delete()
    playbook.name = name
    playbook.save()
    return playbook


def test_a_firing_rule_opens_one_cta_with_the_evidence_and_the_playbook(renewal_rule):
    account = at_risk(35.0)
    playbook = fresh_playbook(account, "Rescue")
    PlaybookStepFactory(playbook=playbook, order=2, text="Agree a plan")
    PlaybookStepFactory(playbook=playbook, order=1, text="Call them")

    summary = rules_apply(as_of=TODAY)

    assert summary == {"rules": 1, "opened": 1, "updated": 0, "closed": 0, "cooling": 0}
    cta = CallToAction.objects.get()
    assert (cta.account, cta.rule, cta.owner) == (account, renewal_rule, account.owner)
    assert cta.status == "open" and cta.priority == 1 and cta.cta_type == "lifecycle"
    assert cta.title == "Renewal in danger"
    assert cta.due_date == TODAY + dt.timedelta(days=5)
    assert cta.opened_on == cta.last_fired_on == TODAY and cta.times_fired == 1
    assert cta.band_at_open == "red" and cta.score_at_open == 35.0
    assert cta.reason.startswith("The account is at risk or unhealthy and renews within 90 days.")
    assert "Unhealthy (score 35.0)" in cta.reason and "in 30 days" in cta.reason
    assert {"label": "Days to renewal", "value": 30} in cta.evidence
    assert (cta.playbook, cta.playbook_name) == (playbook, "Rescue")
    # The steps are copied on the first tick (tests/scoring/actions/test_pending_steps.py),
    # not by the night.
    assert cta.steps_pending and not cta.steps.exists()
    assert pending_steps_copy(cta_ids=[cta.pk]) == 2
    assert list(cta.steps.values_list("text", flat=True)) == ["Call them", "Agree a plan"]


def test_a_cta_whose_playbook_has_no_steps_has_none_pending(renewal_rule):
    fresh_playbook(at_risk(35.0), "Empty for now")

    rules_apply(as_of=TODAY)

    assert not CallToAction.objects.get().steps_pending


def test_a_re_score_of_no_accounts_evaluates_nothing(renewal_rule):
    at_risk(35.0)

    summary = rules_apply(as_of=TODAY, account_ids=[])

    assert summary["opened"] == summary["closed"] == 0
    assert not CallToAction.objects.exists()


def test_the_playbook_is_copied_so_later_edits_do_not_rewrite_the_cta(renewal_rule):
    account = at_risk(35.0)
    step = PlaybookStepFactory(playbook=fresh_playbook(account, "Rescue"))
    rules_apply(as_of=TODAY)
    original = step.text
    step.text = "Edited later"
    step.save()
    assert list(CtaStep.objects.values_list("text", flat=True)) == [original]


def test_a_re_run_night_adds_nothing_and_counts_the_day_once(renewal_rule):
    at_risk()
    rules_apply(as_of=TODAY)
    again = rules_apply(as_of=TODAY)

    assert again["opened"] == 0 and again["updated"] == 1
    cta = CallToAction.objects.get()
    assert cta.times_fired == 1 and cta.last_fired_on == TODAY


def test_a_rule_that_keeps_firing_updates_its_open_cta(renewal_rule):
    account = AccountFactory(renewal_date=days_ago(-30))
    scored(account, 35.0, days_ago(1))
    scored(account, 30.0)
    rules_apply(as_of=days_ago(1))
    rules_apply(as_of=TODAY)

    cta = CallToAction.objects.get()
    assert cta.opened_on == days_ago(1) and cta.last_fired_on == TODAY
    assert cta.times_fired == 2 and cta.score_at_open == 35.0
    assert "score 30.0" in cta.reason and {"label": "Score", "value": 30.0} in cta.evidence


def test_a_cta_opened_meanwhile_by_another_evaluation_is_not_doubled(renewal_rule):
    account = at_risk()
    # As if a concurrent evaluation committed its CTA first: the constraint keeps one.
    CallToActionFactory(account=account, rule=renewal_rule, opened_on=days_ago(3))
    summary = rules_apply(as_of=TODAY)
    assert summary["opened"] == 0 and CallToAction.objects.count() == 1


def test_a_snoozed_cta_stays_snoozed_until_its_date(renewal_rule):
    account = at_risk()
    snoozed = CallToActionFactory(
        account=account,
        rule=renewal_rule,
        status="snoozed",
        snoozed_until=days_ago(-10),
        snooze_reason="Waiting for their budget",
        opened_on=days_ago(3),
    )
    rules_apply(as_of=TODAY)

    snoozed.refresh_from_db()
    assert snoozed.status == "snoozed" and snoozed.snoozed_until == days_ago(-10)
    assert snoozed.snooze_reason == "Waiting for their budget"
    assert snoozed.last_fired_on == TODAY and CallToAction.objects.count() == 1


def test_a_cleared_condition_resolves_the_cta_by_itself(renewal_rule):
    account = at_risk(80.0)  # healthy again
    cta = CallToActionFactory(account=account, rule=renewal_rule, opened_on=days_ago(3))

    assert rules_apply(as_of=TODAY)["closed"] == 1
    cta.refresh_from_db()
    assert cta.status == "resolved" and cta.get_status_display() == "Resolved by itself"
    assert cta.closed_at is not None and cta.closed_by is None


def test_without_auto_close_or_outside_the_evaluated_accounts_the_cta_stays(renewal_rule):
    healthy, other = at_risk(80.0), at_risk(80.0)
    kept = CallToActionFactory(account=healthy, rule=renewal_rule)
    not_looked_at = CallToActionFactory(account=other, rule=renewal_rule)

    rules_apply(as_of=TODAY, account_ids=[healthy.pk, 999_999])
    not_looked_at.refresh_from_db()
    assert not_looked_at.status == "open"

    ActionRule.objects.filter(pk=renewal_rule.pk).update(auto_close=False)
    kept.status = "open"
    kept.save()
    rules_apply(as_of=TODAY)
    kept.refresh_from_db()
    assert kept.status == "open"


def test_a_rule_waits_its_cooldown_after_a_cta_closed(renewal_rule):
    account = at_risk()
    CallToActionFactory(
        account=account,
        rule=renewal_rule,
        status="done",
        closed_at=timezone.now() - dt.timedelta(days=5),
    )
    ActionRule.objects.filter(pk=renewal_rule.pk).update(cooldown_days=6)
    assert rules_apply(as_of=TODAY)["cooling"] == 1
    assert not CallToAction.objects.active().exists()

    ActionRule.objects.filter(pk=renewal_rule.pk).update(cooldown_days=5)
    assert rules_apply(as_of=TODAY)["opened"] == 1


def test_a_disabled_rule_neither_opens_nor_closes(renewal_rule):
    at_risk(35.0)
    cleared = CallToActionFactory(account=at_risk(80.0), rule=renewal_rule)
    ActionRule.objects.filter(pk=renewal_rule.pk).update(enabled=False)

    assert rules_apply(as_of=TODAY)["rules"] == 0
    cleared.refresh_from_db()
    assert cleared.status == "open" and CallToAction.objects.count() == 1


def test_without_a_published_run_nothing_happens(renewal_rule):
    AccountFactory(renewal_date=days_ago(-10))
    assert rules_apply(as_of=TODAY)["rules"] == 0
    assert not CallToAction.objects.exists()


@pytest.mark.parametrize("accounts", [5, 40])
def test_the_queries_do_not_grow_with_the_accounts(django_assert_max_num_queries, accounts):
    # Every seeded rule on, accounts that fire several of them, and active CTAs to update
    # and close: the same number of queries for 5 accounts as for 40 (the accounts looked at,
    # the hits and the CTAs in cooldown are kept in temporary tables: a few queries each,
    # not one per rule; what the new CTAs refer to is locked in four).
    for i in range(accounts):
        account = at_risk(30.0 if i % 3 else 80.0, renews_in=20)
        scored(account, 60.0, days_ago(7))
        scored(account, 75.0, days_ago(1))
    with django_assert_max_num_queries(34):
        opened = rules_apply(as_of=TODAY)
    # Healthy again: the next evaluation updates some CTAs and closes others.
    HealthScore.objects.filter(
        date=TODAY, account__in=Account.objects.order_by("pk")[: accounts // 2]
    ).update(score=90.0, band="green")
    with django_assert_max_num_queries(34):
        again = rules_apply(as_of=TODAY)
    assert opened["opened"] > accounts and again["closed"] and again["updated"]
    assert CallToAction.objects.filter(rule__name="Turned unhealthy").count() == accounts * 2 // 3


def test_a_cta_reads_in_its_owner_s_language_naming_the_metric_as_the_catalogue_does():
    rule = ActionRuleFactory(
        kind="complaint_open", parameters={"days": 14, "metric": "unresolved_complaints"}
    )
    only_rules(rule)
    danish_owned, english_owned = AccountFactory.create_batch(2)
    DigestPreference.objects.update_or_create(user=danish_owned.owner, defaults={"language": "da"})
    for account in (danish_owned, english_owned):
        signal(account, "unresolved_complaints", 2, days_ago(20))
        scored(account, 50.0)

    rules_apply(as_of=TODAY)  # in English, as a worker runs it

    danish = CallToAction.objects.get(account=danish_owned)
    english = CallToAction.objects.get(account=english_owned)
    with translation.override("da"):
        # The catalogue's own words, not copies of them here.
        condition = KINDS["complaint_open"].condition
        assert str(condition).split("(")[0] in danish.reason
        assert in_sentence(translation.gettext("Unresolved complaints")) in danish.reason
        assert {"label": translation.gettext("Days unresolved"), "value": 20} in danish.evidence
    assert english.reason.startswith("A complaint (unresolved complaints above 0) has been")
    assert "unresolved_complaints" not in danish.reason + english.reason
    assert {"label": "Highest unresolved complaints", "value": 2} in english.evidence


@pytest.mark.postgres
def test_closing_looks_the_hits_up_in_a_hash_whatever_the_statistics_say(renewal_rule):
    """An installation's first night: the CTAs' table receives its first tens of thousands
    of rows inside the evaluation while its statistics still say it is empty. The closing
    statement must not then scan the staged hits once per CTA (45 s at 100,000 accounts,
    271 s with the statistics of a table analysed at one empty page): its hits are a hash."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner")
    stays, clears = at_risk(35.0), at_risk(80.0)
    CallToActionFactory(account=clears, rule=renewal_rule, opened_on=days_ago(3))
    with connection.cursor() as cursor:
        # Rolled back with the test: the statistics of a table analysed when it was empty.
        cursor.execute(
            "UPDATE pg_class SET relpages = 1, reltuples = 0 WHERE relname = 'scoring_calltoaction'"
        )
    with CaptureQueriesContext(connection) as queries:
        counts = rules_apply(as_of=TODAY)
    assert counts["opened"] == 1 and counts["closed"] == 1
    assert CallToAction.objects.get(account=stays).status == "open"
    closing = next(
        q["sql"] for q in queries if q["sql"].startswith("UPDATE scoring_calltoaction SET status")
    )
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {closing}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "hashed SubPlan" in plan, plan


def test_the_cooldown_is_looked_up_in_a_hash_whatever_the_statistics_say(renewal_rule):
    """As for closing: on a first night the CTAs' table gets its first rows while its
    statistics say it is empty. Looking the cooldown up per hit was then planned as a scan of
    the CTAs for each hit (3.8 s for 30,000 hits while another part of the night committed
    20,000 CTAs). Counting and opening read the CTAs in cooldown from a table of their own
    (rules.COOLING_TABLE), never the CTAs' table per hit."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner")
    cooling, fresh = at_risk(), at_risk()
    CallToActionFactory(account=fresh, rule=None, status="done", closed_at=timezone.now())
    CallToActionFactory(
        account=cooling,
        rule=renewal_rule,
        status="done",
        closed_at=timezone.now() - dt.timedelta(days=2),
    )
    ActionRule.objects.filter(pk=renewal_rule.pk).update(cooldown_days=6)
    with connection.cursor() as cursor:
        # Rolled back with the test: the statistics of a table analysed when it was empty.
        cursor.execute(
            "UPDATE pg_class SET relpages = 1, reltuples = 0 WHERE relname = 'scoring_calltoaction'"
        )
    with CaptureQueriesContext(connection) as queries:
        counts = rules_apply(as_of=TODAY)

    assert counts["cooling"] == 1 and counts["opened"] == 1
    assert list(CallToAction.objects.active().values_list("account", flat=True)) == [fresh.pk]
    for start in ("SELECT COALESCE(SUM(CASE WHEN h.cta_id", "INSERT INTO scoring_calltoaction"):
        statement = next(q["sql"] for q in queries if q["sql"].startswith(start))
        assert "scoring_calltoaction x" not in statement and "cta_rules_cooling" in statement


def test_the_earlier_runs_are_read_once_with_the_accounts_not_once_per_rule():
    """Two rules comparing with yesterday's run and one with last week's: the evaluation
    reads those runs' scores while keeping the accounts it looks at (scoring.actions.
    conditions.earlier_keep), and each rule then reads the kept accounts only."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    red = ActionRuleFactory(kind="band_worse", parameters={"band": "red"})
    yellow = ActionRuleFactory(kind="band_worse", parameters={"band": "yellow"})
    drop = ActionRuleFactory(kind="score_drop", parameters={"days": 7, "points": 15})
    only_rules(red, yellow, drop)
    fell, steady = AccountFactory.create_batch(2)
    for account, now, yesterday, week in ((fell, 30.0, 75.0, 80.0), (steady, 80.0, 81.0, 82.0)):
        scored(account, now)
        scored(account, yesterday, days_ago(1))
        scored(account, week, days_ago(7))

    with CaptureQueriesContext(connection) as queries:
        counts = rules_apply(as_of=TODAY)

    assert counts["opened"] == 2  # turned red (from green) and fell 50 points; not "yellow"
    ctas = {cta.rule_id: cta for cta in CallToAction.objects.filter(account=fell)}
    assert set(ctas) == {red.pk, drop.pk}
    assert {"label": f"Band on {days_ago(1)}", "value": "Healthy"} in ctas[red.pk].evidence
    assert {"label": f"Score on {days_ago(7)}", "value": 80.0} in ctas[drop.pk].evidence
    assert {"label": "Change", "value": -50.0} in ctas[drop.pk].evidence
    reading = [q["sql"] for q in queries if "scoring_healthscore" in q["sql"]]
    assert len(reading) == 1 and reading[0].startswith("CREATE TEMPORARY TABLE"), reading


def test_evidence_written_by_the_database_is_json_whatever_its_words_hold():
    """The evidence's labels are encoded in Python and its values by the database: quotes,
    backslashes and non-ASCII letters in a metric's name come back as they were."""
    from accounts.models import Metric

    metric = Metric.objects.get(key="unresolved_complaints")
    metric.name = 'Klager "åbne" \\ ulæste'
    metric.save()
    rule = ActionRuleFactory(
        kind="complaint_open", parameters={"days": 14, "metric": "unresolved_complaints"}
    )
    only_rules(rule)
    account = AccountFactory()
    signal(account, "unresolved_complaints", 2.5, days_ago(20))
    scored(account, 50.0)

    rules_apply(as_of=TODAY)

    evidence = CallToAction.objects.get(account=account).evidence
    assert {"label": 'Highest klager "åbne" \\ ulæste', "value": 2.5} in evidence, evidence
    assert {"label": "Days unresolved", "value": 20} in evidence
