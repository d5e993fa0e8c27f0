"""Account.objects: who is a customer now (active) and who was one on a given day; the
account's own facts."""

import datetime as dt

import pytest

from accounts.models import Account
from tests.factories import AccountFactory

DAY = dt.date(2026, 6, 15)


def customers_on(day: dt.date) -> set[str]:
    return set(Account.objects.customers_on(day).values_list("name", flat=True))


@pytest.fixture
def accounts(db) -> None:
    churned = Account.Status.CHURNED
    AccountFactory(name="started that day", start_date=DAY)
    AccountFactory(name="starts the day after", start_date=DAY + dt.timedelta(days=1))
    AccountFactory(name="long-standing", start_date=DAY - dt.timedelta(days=400))
    old = DAY - dt.timedelta(days=400)
    AccountFactory(name="churned that day", start_date=old, status=churned, churn_date=DAY)
    AccountFactory(
        name="churned the day after",
        start_date=old,
        status=churned,
        churn_date=DAY + dt.timedelta(days=1),
    )
    AccountFactory(
        name="churned the day before",
        start_date=old,
        status=churned,
        churn_date=DAY - dt.timedelta(days=1),
    )
    AccountFactory(name="churned, no churn date", start_date=old, status=churned, churn_date=None)
    # Still marked active, with a churn date (a churn recorded ahead of the status).
    AccountFactory(name="active, churns later", start_date=old, churn_date=DAY + dt.timedelta(1))
    AccountFactory(name="active, churned before", start_date=old, churn_date=DAY)


def test_a_customer_on_a_day_started_by_then_and_had_not_churned(accounts) -> None:
    assert customers_on(DAY) == {
        "started that day",
        "long-standing",
        "churned the day after",
        "active, churns later",
    }


def test_the_start_date_counts_from_its_own_day(accounts) -> None:
    assert "started that day" in customers_on(DAY)
    assert "started that day" not in customers_on(DAY - dt.timedelta(days=1))
    assert "starts the day after" in customers_on(DAY + dt.timedelta(days=1))


def test_an_account_is_gone_from_its_churn_date_on(accounts) -> None:
    before = customers_on(DAY - dt.timedelta(days=1))
    assert {"churned that day", "active, churned before"} <= before
    assert not {"churned that day", "active, churned before"} & customers_on(DAY)


def test_churned_without_a_churn_date_is_gone_on_every_day(accounts) -> None:
    for day in (DAY - dt.timedelta(days=300), DAY, DAY + dt.timedelta(days=300)):
        assert "churned, no churn date" not in customers_on(day)


def test_active_is_the_status_now(accounts) -> None:
    assert set(Account.objects.active().values_list("name", flat=True)) == {
        "started that day",
        "starts the day after",
        "long-standing",
        "active, churns later",
        "active, churned before",
    }


def test_the_queryset_methods_chain(accounts) -> None:
    started = Account.objects.filter(name__startswith="started").active().customers_on(DAY)
    assert list(started.values_list("name", flat=True)) == ["started that day"]


@pytest.mark.parametrize(
    ("days", "soon"),
    [(None, False), (-1, False), (0, True), (90, True), (91, False)],
)
def test_renews_soon_is_today_or_within_ninety_days(days, soon) -> None:
    renewal = None if days is None else DAY + dt.timedelta(days=days)
    assert Account(renewal_date=renewal).renews_soon(DAY) is soon
