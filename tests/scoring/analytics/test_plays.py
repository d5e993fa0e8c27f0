"""Which plays save accounts, on small crafted histories: improved or not at each horizon,
churned or not, horizons not reached left out, the baseline matched on band, day and stage
with the rule's own CTAs kept out, too few cases named, a bounded number of queries."""

from __future__ import annotations

import datetime as dt

import pytest

from scoring.analytics import plays
from scoring.analytics.plays import plays_report
from scoring.models import ActionRule, CallToAction
from tests.factories import (
    AccountFactory,
    ActionRuleFactory,
    CallToActionFactory,
    HealthScoreFactory,
    JourneyStageFactory,
    PlaybookFactory,
    ScoreRunFactory,
)

pytestmark = pytest.mark.postgres

DAY = dt.date(2026, 1, 10)
LAST = dt.date(2026, 11, 30)
SCORE = {"green": 80.0, "yellow": 55.0, "red": 20.0}


def scored(account, day: dt.date, band: str) -> None:
    HealthScoreFactory(account=account, run=ScoreRunFactory(date=day), score=SCORE[band], band=band)


def history(account, bands: dict[int, str]) -> None:
    """The account's band on DAY + each offset."""
    for offset, band in bands.items():
        scored(account, DAY + dt.timedelta(days=offset), band)


def closed(account, rule, *, day=DAY, band="red", status="done", playbook=None):
    return CallToActionFactory(
        account=account,
        rule=rule,
        opened_on=day,
        band_at_open=band,
        status=status,
        playbook=playbook,
        playbook_name=playbook.name if playbook else "",
    )


@pytest.fixture
def last_run(db):
    # The last published day: every horizon of DAY has been reached.
    return ScoreRunFactory(date=LAST)


def test_improved_at_each_horizon_and_churn_against_the_matched_baseline(
    last_run, monkeypatch
) -> None:
    monkeypatch.setattr(plays, "MIN_CASES", 1)
    stage = JourneyStageFactory()
    rule = ActionRule.objects.get(name="Turned unhealthy")
    case = AccountFactory(stage=stage)
    history(case, {0: "red", 30: "red", 60: "yellow", 90: "green"})
    closed(case, rule)
    # Comparable: red that day, same stage, no CTA; one recovers at 30 days, one churns.
    better = AccountFactory(stage=stage)
    history(better, {0: "red", 30: "yellow", 60: "yellow", 90: "yellow"})
    gone = AccountFactory(stage=stage, status="churned", churn_date=DAY + dt.timedelta(days=45))
    history(gone, {0: "red", 30: "red"})
    # Not comparable: another band that day; a CTA of the same rule 20 days later.
    history(AccountFactory(stage=stage), {0: "yellow"})
    treated = AccountFactory(stage=stage)
    history(treated, {0: "red", 30: "green", 60: "green", 90: "green"})
    closed(treated, rule, day=DAY + dt.timedelta(days=20), band="yellow")

    report = plays_report()

    (row,) = [r for r in report.by_rule if r["name"] == "Turned unhealthy"]
    assert row["cases"] == 2 and row["done"] == 2
    # The case opened on DAY improved at 60 and 90 days, not at 30.
    improved = {k: v["cta"] for k, v in row["improved"].items()}
    assert improved["30"]["k"] == 0 and improved["60"]["k"] >= 1 and improved["90"]["k"] >= 1
    # Its baseline: "better" and "gone" only (not the yellow one, not the treated one).
    day_one = plays._controls(
        plays._cases()[0],
        plays._candidates({(DAY, "red")})[(DAY, "red")],
        plays._cta_days({rule.pk}),
    )
    assert sorted(day_one) == sorted([better.pk, gone.pk])
    assert report.as_of == LAST.isoformat()


def test_a_churned_case_did_not_improve_and_counts_as_churn(last_run, monkeypatch) -> None:
    monkeypatch.setattr(plays, "MIN_CASES", 1)
    rule = ActionRule.objects.get(name="Turned at risk")
    left = AccountFactory(status="churned", churn_date=DAY + dt.timedelta(days=40))
    history(left, {0: "yellow", 30: "green"})
    closed(left, rule, band="yellow", status="resolved")

    (row,) = plays_report().by_rule
    improved = {k: (v["cta"]["k"], v["cta"]["n"]) for k, v in row["improved"].items()}
    assert improved == {"30": (1, 1), "60": (0, 1), "90": (0, 1)}
    assert (row["churn"]["cta"]["k"], row["churn"]["cta"]["n"]) == (1, 1)
    assert row["resolved"] == 1


def test_horizons_not_reached_yet_are_left_out(db, monkeypatch) -> None:
    monkeypatch.setattr(plays, "MIN_CASES", 1)
    ScoreRunFactory(date=DAY + dt.timedelta(days=45))
    rule = ActionRule.objects.get(name="Turned unhealthy")
    recent = AccountFactory()
    history(recent, {0: "red", 30: "yellow"})
    closed(recent, rule)

    (row,) = plays_report().by_rule
    counts = {k: v["cta"]["n"] for k, v in row["improved"].items()}
    assert counts == {"30": 1, "60": 0, "90": 0}
    assert row["churn"]["cta"]["n"] == 0  # 180 days have not passed and it has not churned


def test_rules_and_playbooks_with_too_few_cases_are_named(last_run) -> None:
    rule = ActionRule.objects.get(name="Invoice 30 days late")
    playbook = PlaybookFactory()
    account = AccountFactory()
    history(account, {0: "red"})
    closed(account, rule, playbook=playbook)
    CallToActionFactory(account=AccountFactory(), rule=rule, band_at_open="red")  # open: no case

    report = plays_report()

    assert report.status == "not_enough_data" and report.cases == 1
    assert report.too_few == [
        f"Playbook “{playbook.name}”: 1 closed CTA",
        "Rule “Invoice 30 days late”: 1 closed CTA",
    ]
    assert "No rule or playbook has 10 closed CTAs yet (1 closed in all)" in report.missing[0]


def test_no_closed_ctas_is_not_enough_data(db) -> None:
    report = plays_report()
    assert report.status == "not_enough_data" and report.cases == 0
    assert "No closed calls to action" in report.missing[0]


def test_the_reading_says_it_in_plain_words(last_run, monkeypatch) -> None:
    monkeypatch.setattr(plays, "MIN_CASES", 3)
    rule = ActionRule.objects.get(name="Turned unhealthy")
    for i in range(4):
        account = AccountFactory()
        history(account, {0: "red", 60: "yellow" if i < 3 else "red"})
        closed(account, rule)
    for _ in range(4):
        history(AccountFactory(), {0: "red", 60: "red"})

    (row,) = plays_report().by_rule
    assert row["reading"][0].startswith(
        "Accounts that got the “Turned unhealthy” play recovered to a better band within 60 "
        "days in 75 % of cases (n=4) vs 0 % for comparable accounts without it (n="
    )


def test_the_queries_do_not_grow_with_the_cases(
    last_run, monkeypatch, django_assert_max_num_queries
) -> None:
    monkeypatch.setattr(plays, "MIN_CASES", 1)
    rule = ActionRuleFactory()
    for i in range(12):
        account = AccountFactory()
        day = DAY + dt.timedelta(days=i)
        scored(account, day, "red")
        closed(account, rule, day=day, status=CallToAction.Status.DONE)
    # Last run, cases, the rule's CTA days, candidates, bands after, churn dates.
    with django_assert_max_num_queries(6):
        report = plays_report()
    assert report.cases == 12
