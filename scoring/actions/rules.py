"""Rule evaluation: after a published run (or a re-score of a few accounts) every enabled
rule opens, updates or closes its calls to action, all in one transaction.

- A rule that holds for an account with no active CTA of that rule opens one (unless one was
  closed within the rule's cooldown), owned by the account's CSM, with the playbook for the
  account's stage and band (its steps are copied when one is first ticked, see
  scoring.actions.playbooks).
- A rule that fires again for an account with an active CTA updates it (evidence, reason,
  last fired, times fired): never a second one. The partial unique constraint "one active
  CTA per account and rule" is the lock: the CTAs go in with ON CONFLICT DO NOTHING, so two
  evaluations at once cannot add two. A snoozed CTA keeps its status and date.
- A rule with auto_close resolves its active CTAs ("resolved by itself") for the accounts it
  looked at and no longer holds for. Disabled rules neither open nor close.

The number of queries depends on the number of rules, never on the number of accounts.

After a nightly run the evaluation is dealt into parts (night_parts) that workers evaluate side
by side, each in its own transaction: some of the rules, or every rule on a range of
accounts. A part touches only its own rules' (or accounts') CTAs, so parts never wait for
each other, and a part that fails is retried alone.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Account, Metric
from healthboard.lib.idranges import IdRange, id_ranges
from healthboard.lib.keylocks import keys_lock_selected
from scoring.actions.conditions import (
    SCORED_TABLE,
    SIGNAL_KINDS,
    Hit,
    Scope,
    condition_hits,
    condition_sql,
    earlier_keep,
    in_owners_language,
    scored_keep,
)
from scoring.actions.kinds import KINDS
from scoring.actions.sqltext import param, temp_table_drop
from scoring.models import ActionRule, CallToAction, HealthScore, ScoreRun

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


# What evaluating a rule costs, roughly, in units of one hit: each hit is written in words,
# staged and compared with (or written to) its CTA, ~12 µs at 100,000 accounts; a rule also
# costs about as much as 4,000 hits whatever it finds (reading the run's scores), a rule on a
# metric 6,000 (its marks, and a complaint's pass over its signals above 0). Its active CTAs
# tell how many hits to expect: a night finds most of them again.
SCORE_RULE_COST, SIGNAL_RULE_COST = 4_000, 6_000


def rule_parts(parts: int) -> list[list[int]]:
    """The enabled rules' ids dealt into at most `parts` groups of about equal cost (the
    costliest first, each to the lightest group), for as many workers to evaluate side by
    side. Two queries."""
    kinds = ActionRule.objects.filter(enabled=True, kind__in=list(KINDS)).values_list("pk", "kind")
    active = dict(
        CallToAction.objects.filter(status__in=CallToAction.ACTIVE, rule__isnull=False)
        .values_list("rule_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    costs = [
        (
            (SIGNAL_RULE_COST if kind in SIGNAL_KINDS else SCORE_RULE_COST) + active.get(pk, 0),
            pk,
        )
        for pk, kind in kinds
    ]
    costs.sort(key=lambda item: (-item[0], item[1]))  # the costliest first, then by id
    groups: list[list[int]] = [[] for _ in range(min(max(parts, 1), len(costs)))]
    weights = [0] * len(groups)
    for cost, pk in costs:
        lightest = weights.index(min(weights))
        groups[lightest].append(pk)
        weights[lightest] += cost
    return [sorted(ids) for ids in groups]


@dataclass(frozen=True)
class Part:
    """One part of a night's evaluation, for one worker: these rules (None: every enabled
    one) on these accounts (None: every customer on the run's date)."""

    rule_ids: list[int] | None = None
    account_range: IdRange | None = None


def night_parts(run: ScoreRun, parts: int) -> list[Part]:
    """The evaluation after a published run, dealt into at most `parts` parts of about equal
    work for as many workers to take side by side (none when no rule is enabled).

    Once the rules have active CTAs, each part takes whole rules (rule_parts): the CTAs tell
    how many hits each rule will find again, and a rule's fixed work (reading the run's
    scores, or a metric's marks) is done once. On a first night nothing tells which rules
    will fire most (at 100,000 accounts one rule opened 17,000 CTAs and another 343), so each
    part takes every rule on a range of accounts with as many scored (account_ranges): equal
    by construction, for ~0.08 s more work per part at 100,000 accounts than whole rules.
    At most parts + 3 queries."""
    dealt = rule_parts(parts)
    if not dealt:
        return []
    if CallToAction.objects.filter(status__in=CallToAction.ACTIVE, rule__isnull=False).exists():
        return [Part(rule_ids=ids) for ids in dealt]
    return [Part(account_range=r) for r in account_ranges(run, parts)]


def account_ranges(run: ScoreRun, parts: int) -> list[IdRange]:
    """The run's accounts dealt into at most `parts` ranges of ids with about as many scored
    accounts each. At most `parts` queries."""
    scored = HealthScore.objects.filter(run=run).order_by("account_id")
    count = scored.count()
    parts = max(1, min(parts, count))
    # Each bound is the first account of its part (through the (run, account) index).
    bounds = sorted(
        {scored.values_list("account_id", flat=True)[count * k // parts] for k in range(1, parts)}
    )
    return id_ranges(bounds)


def rules_apply(
    *,
    as_of: dt.date,
    account_ids: Sequence[int] | None = None,
    rule_ids: Sequence[int] | None = None,
    account_range: IdRange | None = None,
) -> dict[str, int]:
    """Evaluate every enabled rule (or those of `rule_ids`) on the published run of `as_of`
    (for every account it scored, or just `account_ids`, or those in `account_range`: a
    part, see night_parts) and open, update and close their CTAs. Safe to repeat: a second
    evaluation of the same date adds nothing and counts nothing twice. Returns the counts
    (rules, opened, updated, closed, cooling). About 25 queries plus one per rule."""
    summary = Summary()
    if account_ids is not None and not account_ids:
        return summary.as_dict()  # a re-score of no accounts: nothing to look at
    run = ScoreRun.objects.filter(status=ScoreRun.Status.DONE, date=as_of).first()
    if run is None:
        logger.info("No published run for %s: no rules evaluated", as_of)
        return summary.as_dict()
    rules = ActionRule.objects.filter(enabled=True, kind__in=list(KINDS))
    if rule_ids is not None:
        rules = rules.filter(pk__in=list(rule_ids))
    rules = list(rules)
    if not rules:
        return summary.as_dict()
    summary.rules = len(rules)
    scope = _scope(run, account_ids)
    scope.account_range = account_range if account_ids is None else None
    now = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # As for the scoring's own GROUP BYs (scoring.aggregates.aggregation_cursor):
                # memory to hash the groups, and no JIT (compiling costs more than it saves).
                # The temporary tables' ANALYZE needs row counts, not fine histograms: a
                # sample of 3,000 rows, not 30,000.
                cursor.execute(
                    "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off; "
                    "SET LOCAL default_statistics_target = 10"
                )
        parameters = {rule.pk: rule_parameters(rule) for rule in rules}
        for rule in rules:
            earlier_keep(kind=rule.kind, parameters=parameters[rule.pk], scope=scope)
        scored_keep(scope)
        _hits_create()
        names = {key: name for key, (_pk, name) in scope.metrics.items()}
        for rule in rules:
            params = parameters[rule.pk]
            scope.rule_id = rule.pk
            query = condition_sql(kind=rule.kind, parameters=params, scope=scope)
            if query is not None:
                _hits_add(rule, params, query, as_of=as_of, names=names, within=scope.account_range)
        _hits_analyze()
        _cooling_keep(few_accounts=account_ids is not None, account_range=scope.account_range)
        # Before any CTA row is locked (by _update): a delete or a playbook edit locks its row
        # first and the CTAs then, so taking them the other way round could deadlock.
        _references_lock()
        summary.updated, summary.cooling = _counted()
        _update(as_of=as_of, now=now)
        summary.opened = _open(as_of=as_of, now=now)
        summary.closed = _close([r for r in rules if r.auto_close], as_of=as_of, now=now)
    logger.info("Rules on %s: %s", as_of, summary.as_dict())
    return summary.as_dict()


# Every rule's hits of one evaluation, staged at once: the CTAs are then opened, updated and
# closed by comparing them with the CTAs in SQL (a few statements, whatever the number of
# accounts), never by reading the active CTAs into Python.
HITS_TABLE = "cta_rules_hits"
HIT_COLUMNS = [
    ("rule_id", "bigint"),
    ("account_id", "bigint"),
    # 1: the rule fires (opens or updates); 0: it holds without firing (keeps a CTA open).
    ("fires", "smallint"),
    ("owner_id", "bigint"),
    ("band", "varchar(6)"),
    ("score", "double precision"),
    ("stage_id", "bigint"),
    ("reason", "text"),
    # jsonb on PostgreSQL (_hits_create): parsed once here, not again by each CTA's update
    # and comparison.
    ("evidence", "text"),
    ("due_date", "date"),
    # A CTA of the rule closed at or after this moment is within its cooldown (NULL: none).
    ("cool_from", "timestamp with time zone"),
    # The rule's active CTA for the account (NULL: none), joined while staging: the CTAs are
    # then updated by primary key and opened where it is NULL, with no lookup per hit.
    ("cta_id", "bigint"),
]
ACTIVE_SQL = "({{0}}.status IN ('{}', '{}'))".format(*CallToAction.ACTIVE)
CLOSED_SQL = "({{0}}.status IN ('{}', '{}'))".format(*CLOSED)


def _hits_create() -> None:
    pg = connection.vendor == "postgresql"
    columns = ", ".join(
        f"{name} {'jsonb' if pg and name == 'evidence' else kind}" for name, kind in HIT_COLUMNS
    )
    with connection.cursor() as cursor:
        temp_table_drop(cursor, HITS_TABLE)
        cursor.execute(f"CREATE TEMPORARY TABLE {HITS_TABLE} ({columns})")


def _hits_add(
    rule: ActionRule,
    params: dict,
    query: tuple[str, list],
    *,
    as_of: dt.date,
    names: dict[str, str],
    within: IdRange | None,
) -> None:
    """Stage the rule's hits straight from its condition's query (INSERT … SELECT): the
    reason is the rule's description and the evidence in words, as the database wrote them.
    `within`: a part's accounts, whose CTAs only are looked up."""
    cool_from = None
    if rule.cooldown_days:
        # Closed on one of the cooldown's days (the run's date and the days before it).
        cool_from = connection.ops.adapt_datetimefield_value(
            timezone.make_aware(
                dt.datetime.combine(as_of - dt.timedelta(days=rule.cooldown_days - 1), dt.time.min)
            )
        )
    pg = connection.vendor == "postgresql"
    due = connection.ops.adapt_datefield_value(as_of + dt.timedelta(days=rule.due_days))
    typed = "CAST(%s AS {})".format if pg else (lambda _type: "%s")
    evidence = "CAST(h.evidence AS jsonb)" if pg else "h.evidence"
    sql, query_params = query
    bounds, bound_params = within.sql("c.account_id") if within else ("", [])
    # The rule's condition in words, in each owner's language like the evidence.
    described = in_owners_language(
        lambda: param(KINDS[rule.kind].describe(params, names)), "h.language"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {HITS_TABLE} ({', '.join(name for name, _ in HIT_COLUMNS)}) "
            f"SELECT {typed('bigint')}, h.account_id, h.fires, "
            "CASE WHEN h.fires = 1 THEN h.owner_id END, CASE WHEN h.fires = 1 THEN h.band END, "
            "CASE WHEN h.fires = 1 THEN h.score END, CASE WHEN h.fires = 1 THEN h.stage_id END, "
            f"CASE WHEN h.fires = 1 THEN {described[0]} || ' ' || h.words END, "
            f"CASE WHEN h.fires = 1 THEN {evidence} END, "
            f"CASE WHEN h.fires = 1 THEN {typed('date')} END, "
            f"CASE WHEN h.fires = 1 THEN {typed('timestamptz')} END, c.id "
            f"FROM ({sql}) h LEFT JOIN scoring_calltoaction c ON c.rule_id = %s "
            f"AND c.account_id = h.account_id AND {ACTIVE_SQL.format('c')}{bounds}",
            [rule.pk, *described[1], due, cool_from, *query_params, rule.pk, *bound_params],
        )


def _hits_analyze() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Temporary tables are never analysed by autovacuum: without row counts the
            # planner joins 100,000 staged rows as if they were a handful.
            cursor.execute(f"ANALYZE {HITS_TABLE}")


# The CTAs closed within their rule's cooldown, for the hits that would open one: kept in a
# temporary table (and analysed) before counting and opening. Looked up per hit in the CTAs'
# table instead, PostgreSQL planned a scan of the table per hit on a first night, when it
# planned while the table was still empty and another part of the night filled it meanwhile:
# 3.8 s for 30,000 hits instead of a few milliseconds.
COOLING_TABLE = "cta_rules_cooling"


def _cooling_keep(*, few_accounts: bool, account_range: IdRange | None) -> None:
    """few_accounts: a re-score's evaluation; only its hits' accounts are looked up (a few
    hits: whatever the plan, no scan of the CTAs per hit can cost much). account_range: a
    part's, whose accounts only are looked up."""
    pg = connection.vendor == "postgresql"
    only, params = account_range.sql("c.account_id") if account_range else ("", [])
    if few_accounts:
        only += (
            f" AND c.account_id IN (SELECT h.account_id FROM {HITS_TABLE} h WHERE h.fires = 1 "
            "AND h.cta_id IS NULL AND h.cool_from IS NOT NULL)"
        )
    with connection.cursor() as cursor:
        temp_table_drop(cursor, COOLING_TABLE)
        # One pass over the CTAs whatever the plan: per rule (a few), not per hit.
        cursor.execute(
            f"CREATE TEMPORARY TABLE {COOLING_TABLE} AS SELECT DISTINCT c.rule_id, c.account_id "
            "FROM scoring_calltoaction c JOIN (SELECT DISTINCT h.rule_id, h.cool_from "
            f"FROM {HITS_TABLE} h WHERE h.fires = 1 AND h.cta_id IS NULL "
            "AND h.cool_from IS NOT NULL) r ON c.rule_id = r.rule_id "
            f"AND c.closed_at >= r.cool_from WHERE {CLOSED_SQL.format('c')}{only}",
            params,
        )
        if pg:
            cursor.execute(f"ANALYZE {COOLING_TABLE}")


def _cooling(alias: str) -> str:
    """A CTA of the hit's rule and account closed within the rule's cooldown."""
    return (
        f"EXISTS (SELECT 1 FROM {COOLING_TABLE} k WHERE k.rule_id = {alias}.rule_id "
        f"AND k.account_id = {alias}.account_id)"
    )


def _counted() -> tuple[int, int]:
    """(hits that fire with an active CTA, hits that fire without one but within the rule's
    cooldown): what the evaluation updates, and what it leaves closed. One pass over the
    hits; the cooldown is looked up for the hits without an active CTA only."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(CASE WHEN h.cta_id IS NOT NULL THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN h.cta_id IS NULL AND {_cooling('h')} THEN 1 ELSE 0 END), 0) "
            f"FROM {HITS_TABLE} h WHERE h.fires = 1"
        )
        updated, cooling = cursor.fetchone()
    return int(updated), int(cooling)


def _open(*, as_of: dt.date, now) -> int:
    """Insert a CTA for each hit that fires with no active CTA of its rule and none closed
    within the rule's cooldown (rule fields from the rule, the playbook of the account's
    stage and band); one that another evaluation inserted meanwhile is skipped by the unique
    constraint. Their playbooks' steps are copied later (steps_pending). Returns how many
    were opened."""
    pg = connection.vendor == "postgresql"
    day = connection.ops.adapt_datefield_value(as_of)
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT {'' if pg else 'OR IGNORE '}INTO scoring_calltoaction (account_id, rule_id, "
            "owner_id, cta_type, priority, title, reason, evidence, due_date, status, "
            "snooze_reason, outcome_note, opened_on, last_fired_on, times_fired, band_at_open, "
            "score_at_open, playbook_id, playbook_name, steps_pending, created_at, updated_at) "
            "SELECT n.account_id, r.id, u.id, r.cta_type, r.priority, r.name, n.reason, "
            "n.evidence, n.due_date, %s, '', '', "
            "%s, %s, 1, n.band, n.score, pb.id, COALESCE(pb.name, ''), "
            # The steps are copied on the first tick (playbooks.pending_steps_copy).
            f"COALESCE(pb.steps, {'false' if pg else '0'}), %s, %s "
            f"FROM {HITS_TABLE} n JOIN scoring_actionrule r ON r.id = n.rule_id "
            # The rows _references_lock found: an account or owner deleted since the hits
            # were staged gets no CTA, or no owner.
            f"JOIN {ACCOUNT_TABLE} a ON a.id = n.account_id "
            f"LEFT JOIN {USER_TABLE} u ON u.id = n.owner_id "
            # The playbook for the account's stage and band (playbooks_by_stage_band, joined).
            "LEFT JOIN (SELECT p.id, p.name, p.stage_id, p.band, EXISTS (SELECT 1 FROM "
            "scoring_playbookstep ps WHERE ps.playbook_id = p.id) AS steps "
            "FROM scoring_playbook p) pb ON pb.stage_id = n.stage_id AND pb.band = n.band "
            "WHERE n.fires = 1 AND n.cta_id IS NULL "
            f"AND NOT {_cooling('n')} "
            f"ORDER BY n.account_id, r.id{' ON CONFLICT DO NOTHING' if pg else ''}",
            [CallToAction.Status.OPEN, day, day, at, at],
        )
        return cursor.rowcount


ACCOUNT_TABLE = Account._meta.db_table
USER_TABLE = get_user_model()._meta.db_table


def _references_lock() -> None:
    """What the CTAs about to open refer to, locked against deletion until the commit, as a
    foreign key's check would lock each (the table has none, see CallToAction): their
    accounts, owners, rules and playbooks (_open then leaves out an account or owner that
    was deleted before). Four queries on PostgreSQL."""
    opening = f"FROM {HITS_TABLE} n WHERE n.fires = 1 AND n.cta_id IS NULL"
    keys_lock_selected(ACCOUNT_TABLE, f"SELECT n.account_id {opening}")
    keys_lock_selected(USER_TABLE, f"SELECT n.owner_id {opening}")
    keys_lock_selected("scoring_actionrule", f"SELECT n.rule_id {opening}")
    keys_lock_selected(
        "scoring_playbook",
        f"SELECT p.id FROM scoring_playbook p JOIN {HITS_TABLE} n ON p.stage_id = n.stage_id "
        "AND p.band = n.band WHERE n.fires = 1 AND n.cta_id IS NULL",
    )


def _update(*, as_of: dt.date, now) -> int:
    """Fired again: new evidence and reason, last fired on the date; fired once more unless
    this date was already counted (a re-run night counts once and rewrites nothing that did
    not change). Returns the rows written."""
    table = "scoring_calltoaction"
    day = connection.ops.adapt_datefield_value(as_of)
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET evidence = v.evidence, reason = v.reason, "
            f"times_fired = CASE WHEN {table}.last_fired_on < %s "
            f"THEN {table}.times_fired + 1 ELSE {table}.times_fired END, "
            f"last_fired_on = CASE WHEN {table}.last_fired_on < %s "
            f"THEN %s ELSE {table}.last_fired_on END, updated_at = %s "
            f"FROM {HITS_TABLE} v WHERE v.fires = 1 AND {table}.id = v.cta_id "
            f"AND {ACTIVE_SQL.format(table)} "
            f"AND ({table}.last_fired_on < %s OR {table}.reason <> v.reason "
            f"OR {table}.evidence <> v.evidence)",
            [day, day, day, at, day],
        )
        return cursor.rowcount


def _close(rules: list[ActionRule], *, as_of: dt.date, now) -> int:
    """Resolve the active CTAs of the auto-closing rules, for the accounts looked at, that
    their rule no longer holds for. Returns how many."""
    if not rules:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE scoring_calltoaction SET status = %s, closed_at = %s, closed_by_id = NULL, "
            "outcome_note = %s, updated_at = %s "
            f"WHERE {ACTIVE_SQL.format('scoring_calltoaction')} "
            f"AND rule_id IN ({', '.join(['%s'] * len(rules))}) "
            # By rule and account, not by the staged cta_id: the CTAs this evaluation (or
            # another one at the same time) just opened have none and stay open.
            f"AND account_id IN (SELECT account_id FROM {SCORED_TABLE}) "
            # NOT IN over the staged hits (never NULL), which PostgreSQL looks up in a hash
            # of them whatever it thinks of the CTAs. A NOT EXISTS was planned as a scan of
            # the hits for each CTA on an installation's first night, when the CTAs' table
            # had just received its first 30,000 rows but its statistics still said empty:
            # 45 s at 100,000 accounts instead of 0.1 s.
            "AND (rule_id, account_id) NOT IN "
            f"(SELECT h.rule_id, h.account_id FROM {HITS_TABLE} h)",
            [
                CallToAction.Status.RESOLVED,
                connection.ops.adapt_datetimefield_value(now),
                gettext("The rule's condition no longer held on %(day)s.") % {"day": as_of},
                connection.ops.adapt_datetimefield_value(now),
                *[rule.pk for rule in rules],
            ],
        )
        return cursor.rowcount
