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

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account, Metric
from scoring.actions.conditions import Hit, Scope, condition_hits
from scoring.actions.kinds import KINDS
from scoring.actions.playbooks import playbook_steps_copy, playbooks_by_stage_band
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
    if run is None:
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
    return json.dumps(value, cls=DjangoJSONEncoder)


def rules_apply(*, as_of: dt.date, account_ids: Sequence[int] | None = None) -> dict[str, int]:
    """Evaluate every enabled rule on the published run of `as_of` (for every account it
    scored, or just `account_ids`) and open, update and close their CTAs. Safe to repeat:
    a second evaluation of the same date adds nothing and counts nothing twice. Returns the
    counts (rules, opened, updated, closed, cooling). About 10 queries plus one per rule."""
    summary = Summary()
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
        playbooks = playbooks_by_stage_band()
        new: list[CallToAction] = []
        updates: list[tuple[int, str, str]] = []
        closes: list[int] = []
        for rule in rules:
            params, rule_hits = hits[rule.pk]
            described = KINDS[rule.kind].describe(params)
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
                    new.append(_new_cta(rule, hit, reason, playbooks, as_of=as_of, now=now))
            if rule.auto_close:
                closes += [
                    pk
                    for (rule_id, account_id), pk in active.items()
                    if rule_id == rule.pk and account_id not in held
                ]
        summary.opened = _open(new, now)
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


def _new_cta(rule, hit: Hit, reason: str, playbooks, *, as_of: dt.date, now) -> CallToAction:
    playbook_id, playbook_name = playbooks.get((hit.stage_id, hit.band), (None, ""))
    return CallToAction(
        account_id=hit.account_id,
        rule=rule,
        owner_id=hit.owner_id,
        cta_type=rule.cta_type,
        priority=rule.priority,
        title=rule.name,
        reason=reason,
        evidence=hit.evidence,
        due_date=as_of + dt.timedelta(days=rule.due_days),
        opened_on=as_of,
        last_fired_on=as_of,
        band_at_open=hit.band,
        score_at_open=hit.score,
        playbook_id=playbook_id,
        playbook_name=playbook_name,
        created_at=now,
        updated_at=now,
    )


def _open(new: list[CallToAction], now) -> int:
    """Insert the new CTAs; one that another evaluation inserted meanwhile is skipped by the
    unique constraint. Then copy their playbooks' steps, in one statement. Returns how many
    were opened (this evaluation's `created_at` marks them)."""
    if not new:
        return 0
    CallToAction.objects.bulk_create(new, ignore_conflicts=True)
    playbook_steps_copy(ctas=CallToAction.objects.filter(created_at=now))
    return CallToAction.objects.filter(created_at=now).count()


def _update(rows: list[tuple[int, str, str]], *, as_of: dt.date, now) -> int:
    """Fired again: new evidence and reason, last fired on the date; fired once more unless
    this date was already counted (a re-run night counts once and rewrites nothing that did
    not change). One statement (on SQLite a batch per its parameter limit). Returns the rows
    written."""
    if not rows:
        return 0
    rows.sort()
    table = "scoring_calltoaction"
    day = connection.ops.adapt_datefield_value(as_of)
    at = connection.ops.adapt_datetimefield_value(now)
    pg = connection.vendor == "postgresql"
    evidence = "CAST(v.evidence AS jsonb)" if pg else "v.evidence"
    changes = (
        f"UPDATE {table} SET evidence = {evidence}, reason = v.reason, "
        f"times_fired = CASE WHEN {table}.last_fired_on < %s "
        f"THEN {table}.times_fired + 1 ELSE {table}.times_fired END, "
        f"last_fired_on = CASE WHEN {table}.last_fired_on < %s "
        f"THEN %s ELSE {table}.last_fired_on END, updated_at = %s "
        f"FROM v WHERE {table}.id = v.id AND {table}.status IN (%s, %s) "
        f"AND ({table}.last_fired_on < %s OR {table}.reason <> v.reason "
        f"OR {table}.evidence <> {evidence})"
    )
    tail = [day, day, day, at, *CallToAction.ACTIVE, day]
    written = 0
    with connection.cursor() as cursor:
        if pg:
            # Three arrays, not a VALUES list: one parameter each, whatever the number of rows.
            ids, evidences, reasons = (list(column) for column in zip(*rows, strict=True))
            cursor.execute(
                "WITH v(id, evidence, reason) AS (SELECT * FROM unnest("
                "CAST(%s AS bigint[]), CAST(%s AS text[]), CAST(%s AS text[]))) " + changes,
                [ids, evidences, reasons, *tail],
            )
            return cursor.rowcount
        size = max(1, (connection.features.max_query_params - len(tail)) // 3)
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            values = ", ".join(["(%s, %s, %s)"] * len(batch))
            cursor.execute(
                f"WITH v(id, evidence, reason) AS (VALUES {values}) " + changes,
                [value for row in batch for value in row] + tail,
            )
            written += cursor.rowcount
    return written


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
            outcome_note=f"The rule's condition no longer held on {as_of}.",
            updated_at=now,
        )
    )
