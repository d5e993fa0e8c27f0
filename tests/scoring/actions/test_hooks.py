"""When the rules run: after a published run of the newest date (once for a back-fill), after a
re-score of a few accounts; a re-run adds nothing; a queue that is down fails no run."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.db.models import Count

from scoring.actions import tasks
from scoring.actions.rules import night_parts
from scoring.models import CallToAction, ScoreRun
from scoring.pipeline import backfill_runs, runs
from tests.factories import AccountFactory
from tests.scoring.actions.helpers import TODAY, days_ago, signal

# The hand-off happens once the publishing transaction commits.
pytestmark = pytest.mark.django_db(transaction=True)

NO_LOGIN = "No login for 30 days"


@pytest.fixture
def idle_account():
    """An account without logins (another one logged in, so the metric is reported)."""
    signal(AccountFactory(), "logins", 5, TODAY)
    return AccountFactory()


@pytest.fixture
def handed_off(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr(
        tasks.apply_rules,
        "delay",
        lambda *args, **kwargs: calls.append((*args, kwargs.get("account_range"))),
    )
    return calls


def no_login_ctas(account):
    return CallToAction.objects.filter(account=account, rule__name=NO_LOGIN)


def test_a_published_run_opens_ctas_and_a_re_run_adds_none(idle_account):
    runs.run_sync(as_of=TODAY)
    cta = no_login_ctas(idle_account).get()
    assert cta.status == "open" and cta.owner == idle_account.owner

    runs.run_sync(as_of=TODAY, trigger="publish")
    assert no_login_ctas(idle_account).get().times_fired == 1
    per_pair = CallToAction.objects.values("account", "rule").annotate(n=Count("id"))
    assert CallToAction.objects.exists() and not per_pair.filter(n__gt=1)


def after_run(day) -> list[tuple]:
    """What a published run of `day` hands off: one task per part of the evaluation."""
    run = ScoreRun.objects.get(status="done", date=day)
    return [
        (day.isoformat(), None, part.rule_ids, part.account_range and part.account_range.as_list())
        for part in night_parts(run, settings.RULES_PARTS)
    ]


@pytest.mark.parametrize("parts", [1, 2, 3])
def test_a_published_run_hands_off_each_part_of_the_rules(
    idle_account, handed_off, settings, parts
):
    settings.RULES_PARTS = parts
    runs.run_sync(as_of=TODAY)
    # A first night: ranges of accounts, at most one per account scored (two here).
    assert handed_off == after_run(TODAY) and len(handed_off) == min(parts, 2)


def test_an_older_date_published_later_opens_nothing(idle_account, handed_off):
    runs.run_sync(as_of=TODAY)
    runs.run_sync(as_of=days_ago(3))
    assert handed_off == after_run(TODAY)


def test_a_back_fill_evaluates_once_for_its_newest_day(idle_account, handed_off):
    backfill_runs.run_backfill(first=days_ago(3), last=TODAY)
    assert ScoreRun.objects.filter(status="done").count() == 4
    assert handed_off == after_run(TODAY)


def test_a_re_score_evaluates_the_accounts_it_scored(idle_account, handed_off):
    runs.run_sync(as_of=TODAY)
    runs.accounts_rescore(account_ids=[idle_account.pk])
    # Every rule at once: a few accounts are not worth a task per part.
    assert handed_off[-1] == (TODAY.isoformat(), [idle_account.pk], None, None)


def test_with_the_queue_down_the_run_is_published_anyway(idle_account, broker_down, caplog):
    run = runs.run_sync(as_of=TODAY)
    assert ScoreRun.objects.get(pk=run.pk).status == "done"
    assert "not evaluated now" in caplog.text and not CallToAction.objects.exists()


def test_a_failing_evaluation_does_not_fail_the_published_run(idle_account, monkeypatch, caplog):
    def broken(**kwargs):
        raise ValueError("bad rule")

    # Without a broker the task runs in-process, right after the run's commit.
    monkeypatch.setattr(tasks, "rules_apply", broken)
    run = runs.run_sync(as_of=TODAY)
    assert ScoreRun.objects.get(pk=run.pk).status == "done"
    assert "bad rule" in caplog.text


@pytest.mark.celery
@pytest.mark.postgres
def test_the_rules_run_on_a_real_worker_after_a_published_run(real_celery_worker, idle_account):
    runs.run_sync(as_of=TODAY)
    deadline = time.monotonic() + 30
    while not no_login_ctas(idle_account).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert no_login_ctas(idle_account).count() == 1


@pytest.mark.postgres
def test_two_evaluations_at_once_open_one_cta(idle_account, monkeypatch):
    import threading

    from django.db import connection

    from scoring.actions import rules

    runs.run_sync(as_of=TODAY)
    CallToAction.objects.all().delete()
    # Both evaluations have read "no CTA yet" before either inserts.
    both_read = threading.Barrier(2, timeout=30)
    real_open = rules._open

    def open_after_both_read(*args, **kwargs):
        both_read.wait()
        return real_open(*args, **kwargs)

    monkeypatch.setattr(rules, "_open", open_after_both_read)
    results = []

    def evaluate():
        try:
            results.append(rules.rules_apply(as_of=TODAY)["opened"])
        finally:
            connection.close()

    threads = [threading.Thread(target=evaluate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 2 and min(results) == 0
    assert no_login_ctas(idle_account).count() == 1
