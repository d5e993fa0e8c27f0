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


def case_of(rule, bands: dict[int, str]):
    """An account with that band history and a closed CTA of the rule opened on DAY."""
    account = AccountFactory()
    history(account, bands)
    closed(account, rule, band=bands[0])
    return account


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
    level, day_one = plays._controls(
        plays._cases()[0],
        plays._candidates({(DAY, "red")})[(DAY, "red")],
        plays._cta_days({rule.pk}),
    )
    assert sorted(day_one) == sorted([better.pk, gone.pk])
    # None was scored 7 days before, so all "just entered" red; too few share the stage.
    assert level == "recency"
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
        "days in 75% of cases (n=4) vs 0% for comparable accounts without it (n="
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


def test_freshly_red_cases_are_matched_with_freshly_red_accounts_not_long_red_ones(
    last_run, monkeypatch
) -> None:
    """Long-red accounts rarely recover; accounts that just turned red often bounce back by
    themselves. Matched on band alone, the play would look far better than it is."""
    monkeypatch.setattr(plays, "MIN_CASES", 1)
    rule = ActionRule.objects.get(name="Turned unhealthy")
    for i in range(3):  # just turned red, got the CTA; two of three recover
        case_of(rule, {-7: "green", 0: "red", 60: "yellow" if i < 2 else "red"})
    fresh = []
    for i in range(3):  # just turned red from green too, no CTA; two of three recover as well
        account = AccountFactory()
        history(account, {-7: "green", 0: "red", 60: "yellow" if i < 2 else "red"})
        fresh.append(account.pk)
    from_yellow = []
    for _ in range(2):  # just turned red, but from yellow: a smaller fall, not the same story
        account = AccountFactory()
        history(account, {-7: "yellow", 0: "red", 60: "yellow"})
        from_yellow.append(account.pk)
    long_red = []
    for _ in range(6):  # red for over a month, and red still
        account = AccountFactory()
        history(account, {-30: "red", -7: "red", 0: "red", 60: "red"})
        long_red.append(account.pk)

    report = plays_report()

    (row,) = report.by_rule
    shares = row["improved"]["60"]
    assert (shares["cta"]["k"], shares["cta"]["n"]) == (2, 3)
    # Each case's baseline is the three freshly-red accounts: 2 of 3 recovered, as the cases.
    assert (shares["baseline"]["k"], shares["baseline"]["n"]) == (6, 9)
    assert row["matched"] == {"stage": 0, "recency": 3, "wide": 0, "none": 0}
    assert report.matched == row["matched"]
    # A draw on band and day alone would have mostly taken long-red accounts (0 of 6 recover).
    pool = plays._candidates({(DAY, "red")})[(DAY, "red")]
    recency = {account: r for account, _stage, r in pool}
    assert {recency[a] for a in long_red} == {plays.OLD}
    assert {recency[a] for a in fresh} == {"new:green"}
    assert {recency[a] for a in from_yellow} == {"new:yellow"}
    level, chosen = plays._controls(plays._cases()[0], pool, plays._cta_days({rule.pk}))
    assert level == "recency" and sorted(chosen) == sorted(fresh)


def test_a_case_long_in_its_band_is_matched_with_accounts_long_in_it(last_run, monkeypatch) -> None:
    monkeypatch.setattr(plays, "MIN_CASES", 1)
    rule = ActionRule.objects.get(name="Score fell 15 points in a week")
    case_of(rule, {-30: "red", -7: "red", 0: "red"})
    settled = AccountFactory()
    history(settled, {-7: "red", 0: "red"})  # red a week before: "in the band for > 7 days"
    history(AccountFactory(), {-7: "yellow", 0: "red"})  # just turned red: not comparable

    ((level, chosen),) = [
        plays._controls(c, plays._candidates({(DAY, "red")})[(DAY, "red")], {})
        for c in plays._cases()
    ]
    assert level == "recency" and chosen == [settled.pk]


def test_the_window_widens_before_a_case_goes_unmatched_and_unmatched_ones_are_counted(
    last_run, monkeypatch
) -> None:
    monkeypatch.setattr(plays, "MIN_CASES", 1)
    rule = ActionRule.objects.get(name="Turned unhealthy")
    case_of(rule, {-7: "yellow", 0: "red"})
    # Red for 20 days: entered within 30 days, not within 7 — the widened window takes it.
    month = AccountFactory()
    history(month, {-30: "yellow", -7: "red", 0: "red"})
    # A later case, freshly red among long-red accounts only: no comparable account.
    later = DAY + dt.timedelta(days=100)
    alone = AccountFactory()
    scored(alone, later - dt.timedelta(days=7), "green")
    scored(alone, later, "red")
    closed(alone, rule, day=later)
    for offset in (-30, -7, 0):
        scored(month, later + dt.timedelta(days=offset), "red")

    report = plays_report()

    assert report.matched == {"stage": 0, "recency": 0, "wide": 1, "none": 1}
    (row,) = report.by_rule
    assert row["controls"] == 1  # the widened match only; the unmatched case adds none
    assert row["cases"] == 2
