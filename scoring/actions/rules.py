"""Rule evaluation: after a published run (or a re-score of a few accounts) every enabled
rule opens, updates or closes its calls to action, all in one transaction.

- A rule that holds for an account with no active CTA of that rule opens one (unless one was
  closed within the rule's cooldown), owned by the account's CSM, carrying a copy of the
  playbook for the account's stage and band.
- A rule that fires again for an account with an active CTA updates it (evidence, reason,
  last fired, times fired): never a second one. The partial unique constraint "one active
  CTA per account and rule" is the lock: the CTAs go in with ON CONFLICT DO NOTHING, so two
  evaluations at once cannot add two. A snoozed CTA keeps its status and date.
- A rule with auto_close resolves its active CTAs ("resolved by itself") for the accounts it
  looked at and no longer holds for. Disabled rules neither open nor close.

The number of queries depends on the number of rules, never on the number of accounts.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Account, Metric
from scoring.actions.conditions import Hit, Scope, condition_hits
from scoring.actions.kinds import KINDS
from scoring.actions.playbooks import playbook_steps_copy
from scoring.actions.staging import stage
from scoring.models import ActionRule, CallToAction, ScoreRun

logger = logging.getLogger(__name__)

CLOSED = (CallToAction.Status.DONE, CallToAction.Status.RESOLVED)


@dataclass
class Summary:
    rules: int = 0
    opened: int = 0
    updated: int = 0
    closed: int = 0
    # Held, but a CTA of the rule for the account was closed within its cooldown.
    cooling: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def rule_parameters(rule: ActionRule) -> dict:
    """The rule's parameters with the kind's defaults filled in (the editor validates them)."""
    kind = KINDS.get(rule.kind)
    if kind is None:
        raise ValueError(f"Unknown rule kind {rule.kind!r}.")
    return {p.name: (rule.parameters or {}).get(p.name, p.default) for p in kind.params}


def _scope(run: ScoreRun, account_ids: Sequence[int] | None) -> Scope:
    metrics = {key: (pk, name) for pk, key, name in Metric.objects.values_list("pk", "key", "name")}
    return Scope(run=run, account_ids=account_ids, metrics=metrics)


def _published(as_of: dt.date | None) -> ScoreRun | None:
    runs = ScoreRun.objects.filter(status=ScoreRun.Status.DONE)
    return (runs.filter(date=as_of) if as_of else runs.order_by("-date")).first()


def rule_hits(
    *, rule: ActionRule, as_of: dt.date | None = None, account_ids: Sequence[int] | None = None
) -> list[Hit]:
    """The accounts the rule holds for on the published run of `as_of` (default: the newest),
    with the evidence; `fires` tells the ones it opens or updates a CTA for. Three queries."""
    run = _published(as_of)
    if run is None or (account_ids is not None and not account_ids):
        return []
    scope = _scope(run, account_ids)
    scope.rule_id = rule.pk
    return condition_hits(kind=rule.kind, parameters=rule_parameters(rule), scope=scope)


def rule_preview(*, rule: ActionRule, as_of: dt.date | None = None) -> int:
    """How many accounts the rule (saved or not, as edited) fires for on the newest published
    run (or the run of `as_of`); nothing is written. 0 when there is no published run yet.
    Three queries (four for the kinds comparing with an earlier run)."""
    return sum(hit.fires for hit in rule_hits(rule=rule, as_of=as_of))


def _json(value) -> str:
    # The evidence holds numbers, text and ISO dates only: the default encoder's fast path.
    return json.dumps(value)


def rules_apply(*, as_of: dt.date, account_ids: Sequence[int] | None = None) -> dict[str, int]:
    """Evaluate every enabled rule on the published run of `as_of` (for every account it
    scored, or just `account_ids`) and open, update and close their CTAs. Safe to repeat:
    a second evaluation of the same date adds nothing and counts nothing twice. Returns the
    counts (rules, opened, updated, closed, cooling). About 10 queries plus one per rule."""
    summary = Summary()
    if account_ids is not None and not account_ids:
        return summary.as_dict()  # a re-score of no accounts: nothing to look at
    run = ScoreRun.objects.filter(status=ScoreRun.Status.DONE, date=as_of).first()
    if run is None:
        logger.info("No published run for %s: no rules evaluated", as_of)
        return summary.as_dict()
    rules = list(ActionRule.objects.filter(enabled=True, kind__in=list(KINDS)))
    if not rules:
        return summary.as_dict()
    summary.rules = len(rules)
    scope = _scope(run, account_ids)
    now = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # As for the scoring's own GROUP BYs (scoring.aggregates.aggregation_cursor):
                # memory to hash the groups, and no JIT (compiling costs more than it saves).
                cursor.execute("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
        hits = {}
        for rule in rules:
            params = rule_parameters(rule)
            scope.rule_id = rule.pk
            hits[rule.pk] = (params, condition_hits(kind=rule.kind, parameters=params, scope=scope))
        evaluated = Account.objects.customers_on(as_of)
        if account_ids is not None:
            evaluated = evaluated.filter(pk__in=list(account_ids))
        active = {
            (rule_id, account_id): pk
            for pk, rule_id, account_id in CallToAction.objects.active()
            .filter(rule__in=rules, account__in=evaluated)
            .values_list("pk", "rule_id", "account_id")
        }
        cooling = _cooling(rules, as_of)
        new: list[tuple] = []
        updates: list[tuple[int, str, str]] = []
        closes: list[int] = []
        for rule in rules:
            params, rule_hits = hits[rule.pk]
            described = KINDS[rule.kind].describe(params)
            due = as_of + dt.timedelta(days=rule.due_days)
            held = set()
            for hit in rule_hits:
                held.add(hit.account_id)
                if not hit.fires:
                    continue
                key = (rule.pk, hit.account_id)
                reason = f"{described} {hit.words}"
                if key in active:
                    updates.append((active[key], _json(hit.evidence), reason))
                elif key in cooling:
                    summary.cooling += 1
                else:
                    new.append(
                        (
                            hit.account_id,
                            rule.pk,
                            hit.owner_id,
                            hit.stage_id,
                            hit.band,
                            hit.score,
                            reason,
                            _json(hit.evidence),
                            due,
                        )
                    )
            if rule.auto_close:
                closes += [
                    pk
                    for (rule_id, account_id), pk in active.items()
                    if rule_id == rule.pk and account_id not in held
                ]
        summary.opened = _open(new, as_of=as_of, now=now)
        _update(updates, as_of=as_of, now=now)
        summary.updated = len(updates)
        summary.closed = _close(closes, as_of=as_of, now=now)
    logger.info("Rules on %s: %s", as_of, summary.as_dict())
    return summary.as_dict()


def _cooling(rules: list[ActionRule], as_of: dt.date) -> set[tuple[int, int]]:
    """(rule, account) pairs whose CTA of the rule was closed within the rule's cooldown."""
    longest = max(rule.cooldown_days for rule in rules)
    if not longest:
        return set()
    cooldown = {rule.pk: rule.cooldown_days for rule in rules}
    window_start = timezone.make_aware(
        dt.datetime.combine(as_of - dt.timedelta(days=longest - 1), dt.time.min)
    )
    pairs = set()
    for rule_id, account_id, closed_at in CallToAction.objects.filter(
        rule__in=rules, status__in=CLOSED, closed_at__gte=window_start
    ).values_list("rule_id", "account_id", "closed_at"):
        if (as_of - timezone.localtime(closed_at).date()).days < cooldown[rule_id]:
            pairs.add((rule_id, account_id))
    return pairs


NEW_COLUMNS = [
    ("account_id", "bigint"),
    ("rule_id", "bigint"),
    ("owner_id", "bigint"),
    ("stage_id", "bigint"),
    ("band", "varchar(6)"),
    ("score", "double precision"),
    ("reason", "text"),
    ("evidence", "text"),
    ("due_date", "date"),
]


def _open(new: list[tuple], *, as_of: dt.date, now) -> int:
    """Insert the new CTAs (rule fields from the rule, the playbook of the account's stage and
    band); one that another evaluation inserted meanwhile is skipped by the unique constraint.
    Then copy their playbooks' steps. Returns how many were opened."""
    if not new:
        return 0
    pg = connection.vendor == "postgresql"
    day = connection.ops.adapt_datefield_value(as_of)
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        stage(cursor, "cta_rules_new", NEW_COLUMNS, new)
        cursor.execute(
            f"INSERT {'' if pg else 'OR IGNORE '}INTO scoring_calltoaction (account_id, rule_id, "
            "owner_id, cta_type, priority, title, reason, evidence, due_date, status, "
            "snooze_reason, outcome_note, opened_on, last_fired_on, times_fired, band_at_open, "
            "score_at_open, playbook_id, playbook_name, created_at, updated_at) "
            "SELECT n.account_id, r.id, n.owner_id, r.cta_type, r.priority, r.name, n.reason, "
            f"{'CAST(n.evidence AS jsonb)' if pg else 'n.evidence'}, n.due_date, %s, '', '', "
            "%s, %s, 1, n.band, n.score, pb.id, COALESCE(pb.name, ''), %s, %s "
            "FROM cta_rules_new n JOIN scoring_actionrule r ON r.id = n.rule_id "
            # The playbook for the account's stage and band (playbooks_by_stage_band, joined).
            "LEFT JOIN scoring_playbook pb ON pb.stage_id = n.stage_id AND pb.band = n.band "
            f"ORDER BY n.account_id, r.id{' ON CONFLICT DO NOTHING' if pg else ''}",
            [CallToAction.Status.OPEN, day, day, at, at],
        )
        opened = cursor.rowcount
    # This evaluation's CTAs are the ones created at its `now`.
    playbook_steps_copy(ctas=CallToAction.objects.filter(created_at=now))
    return opened


def _update(rows: list[tuple[int, str, str]], *, as_of: dt.date, now) -> int:
    """Fired again: new evidence and reason, last fired on the date; fired once more unless
    this date was already counted (a re-run night counts once and rewrites nothing that did
    not change). Returns the rows written."""
    if not rows:
        return 0
    table = "scoring_calltoaction"
    day = connection.ops.adapt_datefield_value(as_of)
    at = connection.ops.adapt_datetimefield_value(now)
    evidence = "CAST(v.evidence AS jsonb)" if connection.vendor == "postgresql" else "v.evidence"
    with connection.cursor() as cursor:
        stage(
            cursor,
            "cta_rules_fired",
            [("id", "bigint"), ("evidence", "text"), ("reason", "text")],
            sorted(rows),
        )
        cursor.execute(
            f"UPDATE {table} SET evidence = {evidence}, reason = v.reason, "
            f"times_fired = CASE WHEN {table}.last_fired_on < %s "
            f"THEN {table}.times_fired + 1 ELSE {table}.times_fired END, "
            f"last_fired_on = CASE WHEN {table}.last_fired_on < %s "
            f"THEN %s ELSE {table}.last_fired_on END, updated_at = %s "
            f"FROM cta_rules_fired v WHERE {table}.id = v.id AND {table}.status IN (%s, %s) "
            f"AND ({table}.last_fired_on < %s OR {table}.reason <> v.reason "
            f"OR {table}.evidence <> {evidence})",
            [day, day, day, at, *CallToAction.ACTIVE, day],
        )
        return cursor.rowcount


def _close(ids: list[int], *, as_of: dt.date, now) -> int:
    if not ids:
        return 0
    return (
        CallToAction.objects.active()
        .filter(pk__in=ids)
        .update(
            status=CallToAction.Status.RESOLVED,
            closed_at=now,
            closed_by=None,
            outcome_note=gettext("The rule's condition no longer held on %(day)s.")
            % {"day": as_of},
            updated_at=now,
        )
    )
