"""Signal retention: old signals go, never one a scorecard or a rule reads; the night scores
the same after a pruning, the stored scores and their explanations stay, and the pruning is
audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from accounts.models import AuditEvent, Signal
from scoring.aggregates import window_end
from scoring.models import ActionRule, HealthScore, Measure
from scoring.pipeline import runs
from scoring.retention import signals_prune, signals_read_days
from tests.factories import AccountFactory
from tests.scoring.test_runs import TODAY, add_signals

pytestmark = pytest.mark.django_db


def _aged(account, days: int) -> Signal:
    """A signal of the account observed `days` days before the end of today."""
    reference = Signal.objects.filter(account=account).first()
    return Signal.objects.create(
        account=account,
        metric=reference.metric,
        value=1.0,
        observed_at=window_end(TODAY) - dt.timedelta(days=days),
    )


def test_the_days_read_are_the_widest_window_of_any_measure_or_rule_on_signals():
    widest = max(Measure.objects.values_list("window_days", flat=True))
    assert signals_read_days() >= widest
    ActionRule.objects.filter(kind="promoter_healthy").update(
        parameters={"minimum": 9, "days": widest + 100, "metric": "nps"}
    )
    assert signals_read_days() == widest + 100


def test_nothing_a_scorecard_reads_is_deleted_and_the_night_scores_the_same():
    accounts = [AccountFactory(name=f"Co {i}") for i in range(4)]
    for i, account in enumerate(accounts):
        add_signals(account, i / 4)
    read = signals_read_days()
    inside = [_aged(account, read) for account in accounts]  # the oldest a window reads
    outside = [_aged(account, read + 40) for account in accounts]
    before = runs.run_sync(as_of=TODAY)
    scores = dict(HealthScore.objects.filter(run=before).values_list("account_id", "score"))

    deleted, cutoff, kept = signals_prune(older_than_days=1)

    assert deleted == len(outside) and kept == read + 1
    assert not Signal.objects.filter(pk__in=[s.pk for s in outside]).exists()
    assert Signal.objects.filter(pk__in=[s.pk for s in inside]).count() == len(inside)
    assert not Signal.objects.filter(observed_at__lt=cutoff).exists()
    # The day's stored scores stay, and a new run of it scores exactly the same.
    assert HealthScore.objects.filter(run=before).count() == len(scores)
    after = runs.run_sync(as_of=TODAY, trigger="publish")
    assert dict(HealthScore.objects.filter(run=after).values_list("account_id", "score")) == scores


def test_a_longer_retention_than_the_windows_is_kept_as_asked():
    account = AccountFactory()
    add_signals(account, 0.5)
    read = signals_read_days()
    kept_signal = _aged(account, read + 50)
    gone = _aged(account, read + 200)

    deleted, _cutoff, kept = signals_prune(older_than_days=read + 100)

    assert (deleted, kept) == (1, read + 100)
    assert Signal.objects.filter(pk=kept_signal.pk).exists()
    assert not Signal.objects.filter(pk=gone.pk).exists()


def test_a_dry_run_counts_and_deletes_nothing():
    account = AccountFactory()
    add_signals(account, 0.5)
    old = _aged(account, signals_read_days() + 70)

    deleted, _cutoff, _kept = signals_prune(older_than_days=1, dry_run=True)

    assert deleted == 1 and Signal.objects.filter(pk=old.pk).exists()
    assert not AuditEvent.objects.filter(type=AuditEvent.Type.SIGNALS_PRUNED).exists()


def test_the_command_prunes_as_set_and_the_pruning_is_audited(settings, capsys):
    account = AccountFactory()
    add_signals(account, 0.5)
    old = _aged(account, signals_read_days() + 70)

    settings.SIGNAL_RETENTION_DAYS = None
    call_command("prune_signals")
    assert "SIGNAL_RETENTION_DAYS is not set" in capsys.readouterr().out
    assert Signal.objects.filter(pk=old.pk).exists()

    settings.SIGNAL_RETENTION_DAYS = 7
    call_command("prune_signals")
    out = capsys.readouterr().out
    assert "Keeping" in out and "Deleted 1 signal(s)" in out
    event = AuditEvent.objects.get(type=AuditEvent.Type.SIGNALS_PRUNED)
    assert event.details["deleted"] == 1 and event.actor_label.startswith("prune_signals (")
