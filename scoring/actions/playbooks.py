"""A CTA's checklist: a copy of the playbook for its account's journey stage and band, so
later edits of the playbook do not rewrite history.

The one home of the copy for every way a CTA opens. A CTA opened by hand (scoring.actions.
services.cta_create) gets its copy at once. The rules after a run (scoring.actions.rules)
open tens of thousands at a time and mark them `steps_pending` instead: their copy is made
by pending_steps_copy when a step is first ticked (the pages show a pending checklist from
the playbook, checklists_attach, and never write on a read), and before anything changes or
deletes a playbook's steps (the playbook editor, and receivers for the Django admin and
deletions, scoring.actions.references) — so the playbook's steps are, until then, still the
ones the CTA opened with.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import QuerySet

from scoring.models.actions import CallToAction, CtaStep, Playbook, PlaybookStep


def playbooks_by_stage_band() -> dict[tuple[int, str], tuple[int, str]]:
    """(journey stage id, band) → (playbook id, playbook name), for a new CTA's playbook and
    its name's copy. One query (a playbook per stage and band: a few dozen rows)."""
    return {
        (stage_id, band): (pk, name)
        for pk, stage_id, band, name in Playbook.objects.values_list(
            "pk", "stage_id", "band", "name"
        )
    }


def playbook_steps_copy(*, ctas: QuerySet[CallToAction]) -> int:
    """Copy each CTA's playbook steps onto it, for the CTAs of `ctas` that have a playbook
    and no steps yet (a CTA that opens again is not given them twice). One INSERT … SELECT
    however many CTAs and steps; returns the number of steps written."""
    try:
        ids_sql, params = ctas.values("id").query.sql_with_params()
    except EmptyResultSet:  # a queryset that cannot match (pk__in=[]): nothing to copy
        return 0
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO scoring_ctastep (cta_id, {q('order')}, text) "
            f"SELECT c.id, ps.{q('order')}, ps.text FROM scoring_calltoaction c "
            "JOIN scoring_playbookstep ps ON ps.playbook_id = c.playbook_id "
            f"WHERE c.id IN ({ids_sql}) "
            "AND NOT EXISTS (SELECT 1 FROM scoring_ctastep x WHERE x.cta_id = c.id) "
            f"ORDER BY c.id, ps.{q('order')}, ps.id",
            params,
        )
        return cursor.rowcount


def pending_steps_copy(*, cta_ids: Iterable[int] = (), playbook_id: int | None = None) -> int:
    """Make the copy for the CTAs of `cta_ids`, or of the playbook `playbook_id`, whose
    steps are still pending. The CTAs are claimed by the UPDATE that clears their flag (a
    second caller at the same time waits for the row locks, then finds nothing pending), so
    each is copied once. Two queries when any are pending; returns the steps written."""
    ids = [int(pk) for pk in cta_ids]
    if playbook_id is None and not ids:
        return 0
    where, params = (
        ("playbook_id = %s", [playbook_id])
        if playbook_id is not None
        else (f"id IN ({', '.join(['%s'] * len(ids))})", ids)
    )
    # The claim and the copy commit together (no savepoint: a failure fails the caller's).
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE scoring_calltoaction SET steps_pending = %s "
            f"WHERE steps_pending AND {where} RETURNING id",
            [False, *params],
        )
        claimed = [pk for (pk,) in cursor.fetchall()]
        # In batches: a playbook can have tens of thousands pending, more than SQLite takes
        # parameters in one statement.
        return sum(
            playbook_steps_copy(ctas=CallToAction.objects.filter(pk__in=claimed[i : i + BATCH]))
            for i in range(0, len(claimed), BATCH)
        )


BATCH = 5_000


def checklists_attach(ctas: list[CallToAction]) -> None:
    """Set .checklist on each CTA: its own steps (prefetch `steps` first), or, while they are
    pending, unsaved copies of its playbook's steps (no pk: ticking one makes the copy). One
    query where any are pending, none otherwise."""
    pending = {cta.playbook_id for cta in ctas if cta.steps_pending and cta.playbook_id}
    by_playbook: dict[int, list[PlaybookStep]] = {}
    if pending:
        for step in PlaybookStep.objects.filter(playbook_id__in=pending).order_by(
            "playbook_id", "order", "id"
        ):
            by_playbook.setdefault(step.playbook_id, []).append(step)
    for cta in ctas:
        if cta.steps_pending:
            cta.checklist = [
                CtaStep(cta=cta, order=step.order, text=step.text)
                for step in by_playbook.get(cta.playbook_id, [])
            ]
        else:
            cta.checklist = list(cta.steps.all())
