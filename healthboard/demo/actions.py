"""A year of closed calls to action for the demo, drawn from its stored score history (so it
runs after the scores are computed: `manage.py seed_demo_actions`, called by `make run`).

Rules-like: a "Turned unhealthy" / "Turned at risk" CTA where an account's published band got
worse, a "Score fell 15 points in a week" one where its 7-day change fell that far, at most
one per account and rule every COOLDOWN_DAYS days. Each is closed the way a team closes them:
when the band was better 30 days later, about half resolved by themselves and the rest done
with a success outcome; otherwise mostly done with a failure outcome (escalated, no response,
leaving), some with a success the score has not shown yet. CTAs of the last QUIET_DAYS days
are left to the rules (they open the current ones). Deterministic: a hash of account and day
decides, not a random stream. Does nothing when closed CTAs exist already.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from scoring.bands import RANK, Band, change
from scoring.models import ActionRule, CallToAction, Outcome, Playbook, ScoreRun

COOLDOWN_DAYS = 45
QUIET_DAYS = 21
LATER_DAYS = 30  # the band this many days after the opening decides how the CTA closed
SCORE_DROP = 15
# (rule name, what fires it), as the default rules name them (scoring/actions/defaults.py).
TURNED_RED, TURNED_YELLOW, DROPPED = (
    "Turned unhealthy",
    "Turned at risk",
    "Score fell 15 points in a week",
)
SUCCESS = ("Back on track", "Renewed")
FAILURE = ("Escalated", "No response from the customer", "Customer is leaving")


@dataclass
class ActionHistory:
    created: int = 0
    done: int = 0
    resolved: int = 0
    skipped: str = ""


def _hash(account: int, day: dt.date, salt: int = 0) -> int:
    """A deterministic number 0–99 per account, day and purpose."""
    return ((account * 2654435761 + day.toordinal() * 40503 + salt * 97) % 2**32) * 100 // 2**32


def _moves(until: dt.date) -> list[tuple]:
    """(account, day, band, previous band, score, 7-day change, band LATER_DAYS later) of every
    published day where the band got worse or the score fell SCORE_DROP points in a week."""
    sql = (
        "SELECT account_id, date, band, prev, score, delta_7d, later FROM ("
        "SELECT h.account_id, h.date, h.band, h.score, h.delta_7d, "
        "LAG(h.band) OVER (PARTITION BY h.account_id ORDER BY h.date) AS prev, "
        f"LEAD(h.band, {LATER_DAYS}) OVER (PARTITION BY h.account_id ORDER BY h.date) AS later "
        "FROM scoring_healthscore h JOIN scoring_scorerun r ON r.id = h.run_id AND r.status = %s"
        ") m WHERE date <= %s AND ((band = %s AND prev IN (%s, %s)) OR (band = %s AND prev = %s) "
        "OR delta_7d <= %s) ORDER BY account_id, date"
    )
    params = [
        ScoreRun.Status.DONE,
        until,
        Band.RED,
        Band.GREEN,
        Band.YELLOW,
        Band.YELLOW,
        Band.GREEN,
        -SCORE_DROP,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        (a, dt.date.fromisoformat(d) if isinstance(d, str) else d, *rest) for a, d, *rest in rows
    ]


def seed_action_history(*, today: dt.date | None = None) -> ActionHistory:
    result = ActionHistory()
    if CallToAction.objects.exclude(status__in=CallToAction.ACTIVE).exists():
        result.skipped = "closed calls to action exist already"
        return result
    rules = {
        r.name: r for r in ActionRule.objects.filter(name__in=[TURNED_RED, TURNED_YELLOW, DROPPED])
    }
    outcomes = {o.name: o for o in Outcome.objects.filter(name__in=SUCCESS + FAILURE)}
    if not rules or not outcomes:
        result.skipped = "the default rules and outcomes are missing (run migrate)"
        return result
    today = today or timezone.localdate()
    accounts = {
        pk: (owner, stage)
        for pk, owner, stage in Account.objects.values_list("pk", "owner_id", "stage_id")
    }
    playbooks = {(p.stage_id, p.band): p for p in Playbook.objects.all()}
    last_fired: dict[tuple[int, int], dt.date] = {}
    ctas = []
    for account, day, band, prev, score, delta, later in _moves(today - dt.timedelta(QUIET_DAYS)):
        if band == Band.RED and prev in (Band.GREEN, Band.YELLOW):
            rule, reason = rules.get(TURNED_RED), f"The band went from {prev} to red."
        elif band == Band.YELLOW and prev == Band.GREEN:
            rule, reason = rules.get(TURNED_YELLOW), "The band went from green to yellow."
        else:
            rule = rules.get(DROPPED)
            reason = f"The score fell {-(delta or 0):.0f} points in 7 days."
        if rule is None or band not in RANK:
            continue
        since = last_fired.get((account, rule.pk))
        if since is not None and (day - since).days < COOLDOWN_DAYS:
            continue
        last_fired[(account, rule.pk)] = day
        owner, stage = accounts.get(account, (None, None))
        playbook = playbooks.get((stage, band))
        ctas.append(_closed(rule, account, owner, day, band, score, later, reason, playbook))
    ctas = [c for c in ctas if c is not None]
    for cta in ctas:
        _close(cta, outcomes, today)
    with transaction.atomic():
        CallToAction.objects.bulk_create(ctas, batch_size=2000)
    result.created = len(ctas)
    result.done = sum(c.status == CallToAction.Status.DONE for c in ctas)
    result.resolved = result.created - result.done
    return result


def _closed(rule, account, owner, day, band, score, later, reason, playbook) -> CallToAction:
    opened = timezone.make_aware(dt.datetime.combine(day, dt.time(6, 0)))
    cta = CallToAction(
        account_id=account,
        rule=rule,
        owner_id=owner,
        cta_type=rule.cta_type,
        priority=rule.priority,
        title=rule.name,
        reason=reason,
        due_date=day + dt.timedelta(days=rule.due_days),
        opened_on=day,
        last_fired_on=day,
        band_at_open=band,
        score_at_open=score,
        playbook=playbook,
        playbook_name=playbook.name if playbook else "",
        created_at=opened,
        updated_at=opened,
    )
    cta.later_band = later
    return cta


def _close(cta: CallToAction, outcomes: dict[str, Outcome], today: dt.date) -> None:
    account, day = cta.account_id, cta.opened_on
    better = change(cta.band_at_open, cta.later_band or "") == "better"
    after = min(day + dt.timedelta(days=5 + _hash(account, day, 1) % 25), today)
    closed_at = timezone.make_aware(dt.datetime.combine(after, dt.time(15, 0)))
    cta.closed_at = cta.updated_at = closed_at
    if better and _hash(account, day, 2) < 55:
        cta.status = CallToAction.Status.RESOLVED
        return
    cta.status = CallToAction.Status.DONE
    cta.closed_by_id = cta.owner_id
    success = better or _hash(account, day, 3) < 30
    names = SUCCESS if success else FAILURE
    cta.outcome = outcomes.get(names[_hash(account, day, 4) % len(names)])
    cta.outcome_note = "Demo history."
