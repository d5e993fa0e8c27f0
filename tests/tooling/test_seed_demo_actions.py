"""seed_demo_actions: closed CTAs where the stored bands got worse, closed as a team would,
at most one per account and rule per cooldown, nothing twice, the recent days left alone."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from healthboard.demo.actions import COOLDOWN_DAYS, QUIET_DAYS, seed_action_history
from scoring.models import AnalysisRun, CallToAction
from tests.factories import AccountFactory, HealthScoreFactory, ScoreRunFactory

pytestmark = pytest.mark.postgres

TODAY = dt.date(2026, 11, 30)
SCORE = {"green": 80.0, "yellow": 55.0, "red": 20.0}


def bands(account, start: dt.date, sequence: str) -> None:
    """One published band a day from `start`: g, y or r per character."""
    names = {"g": "green", "y": "yellow", "r": "red"}
    for i, code in enumerate(sequence):
        day = start + dt.timedelta(days=i)
        band = names[code]
        HealthScoreFactory(
            account=account, run=ScoreRunFactory(date=day), score=SCORE[band], band=band
        )


def test_it_closes_a_cta_where_the_band_got_worse(db) -> None:
    start = TODAY - dt.timedelta(days=120)
    recovered, stuck = AccountFactory(), AccountFactory()
    # Red on day 2, yellow again 30 days later: recovered. Red for good: not.
    bands(recovered, start, "gg" + "r" * 20 + "y" * 40)
    bands(stuck, start, "yy" + "r" * 60)

    result = seed_action_history(today=TODAY)

    ctas = {c.account_id: c for c in CallToAction.objects.select_related("rule", "outcome")}
    assert result.created == 2 == len(ctas)
    for cta in ctas.values():
        assert cta.rule.name == "Turned unhealthy" and cta.band_at_open == "red"
        assert cta.opened_on == start + dt.timedelta(days=2)
        assert cta.status in ("done", "resolved") and cta.closed_at is not None
    # Not better 30 days later: done, with an outcome (mostly a failure).
    assert ctas[stuck.pk].status == "done" and ctas[stuck.pk].outcome is not None
    # Better: resolved by itself, or done with a success.
    assert ctas[recovered.pk].status == "resolved" or ctas[recovered.pk].outcome.is_success


def test_cooldown_recent_days_and_a_second_run(db, time_machine) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC), tick=False)
    start = TODAY - dt.timedelta(days=100)
    flapping = AccountFactory()
    # Red every other day: one CTA per cooldown, none in the last QUIET_DAYS days.
    bands(flapping, start, "gr" * 50)
    out = StringIO()
    call_command("seed_demo_actions", stdout=out)
    days = sorted(CallToAction.objects.values_list("opened_on", flat=True))
    assert f"{len(days)} closed calls to action" in out.getvalue() and len(days) >= 2
    assert "Plays analysed (done)." in out.getvalue()
    assert AnalysisRun.objects.get(kind="plays").status == "done"
    assert all((b - a).days >= COOLDOWN_DAYS for a, b in zip(days, days[1:], strict=False))
    assert days[-1] <= TODAY - dt.timedelta(days=QUIET_DAYS)
    out = StringIO()
    call_command("seed_demo_actions", stdout=out)
    assert "No demo calls to action added: closed calls to action exist already." in out.getvalue()
    assert CallToAction.objects.count() == len(days)
