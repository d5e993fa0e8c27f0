"""A CTA's checklist: a copy of the playbook for its account's journey stage and band, made
when the CTA opens, so later edits of the playbook do not rewrite history.

One helper for every way a CTA opens: by hand (scoring.actions.services.cta_create) and by
the rules after a run (scoring.actions.rules), which copies for a whole batch at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from accounts.models import Account
from scoring.models.actions import CallToAction, CtaStep, Playbook


def playbook_steps_copy(*, ctas: Sequence[CallToAction]) -> int:
    """Give each saved CTA the playbook for (its account's stage, its band_at_open): the
    playbook, a copy of its name, and one CtaStep per step. CTAs that already have a
    playbook are left alone (a rule that fires again must not add the steps twice); a band
    without a playbook ("no data") gets none. Returns the number of steps written.

    Set-based for the rules' batches: five queries however many CTAs (the accounts'
    stages, the playbooks, their steps, one update, one insert)."""
    todo = [cta for cta in ctas if cta.playbook_id is None]
    if not todo:
        return 0
    stages = dict(
        Account.objects.filter(pk__in={cta.account_id for cta in todo}).values_list(
            "pk", "stage_id"
        )
    )
    playbooks = {
        (playbook.stage_id, playbook.band): playbook
        for playbook in Playbook.objects.filter(
            stage_id__in=set(stages.values()), band__in={cta.band_at_open for cta in todo}
        ).prefetch_related("steps")
    }
    given, steps = [], []
    for cta in todo:
        playbook = playbooks.get((stages.get(cta.account_id), cta.band_at_open))
        if playbook is None:
            continue
        cta.playbook, cta.playbook_name = playbook, playbook.name[:100]
        given.append(cta)
        steps += [
            CtaStep(cta=cta, order=position, text=step.text)
            for position, step in enumerate(playbook.steps.all())
        ]
    if given:
        CallToAction.objects.bulk_update(given, ["playbook", "playbook_name"])
        CtaStep.objects.bulk_create(steps)
    return len(steps)
