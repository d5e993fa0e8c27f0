"""A CTA's checklist: a copy of the playbook for its account's journey stage and band, made
when the CTA opens, so later edits of the playbook do not rewrite history.

The one home of the copy for every way a CTA opens: by hand (scoring.actions.services.
cta_create) and by the rules after a run (scoring.actions.rules, a whole batch at once).
"""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

from scoring.models.actions import CallToAction, Playbook


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
