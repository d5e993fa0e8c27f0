"""Reads for the playbooks pages (selectors): keyword-only, a fixed number of queries."""

from __future__ import annotations

from django.db.models import Count

from accounts.models import JourneyStage
from scoring.models.actions import PLAYBOOK_BANDS, CallToAction, Playbook


def playbook_grid() -> dict:
    """The journey stages, each with one cell per band (green, yellow, red) holding its
    playbook (with `n_steps`) or None where none was written yet. Two queries."""
    playbooks = {
        (p.stage_id, p.band): p
        for p in Playbook.objects.annotate(n_steps=Count("steps")).order_by()
    }
    stages = list(JourneyStage.objects.order_by("order", "name"))
    return {
        "bands": [band for band, _ in PLAYBOOK_BANDS],
        "rows": [
            {
                "stage": stage,
                "cells": [
                    {"band": band, "playbook": playbooks.get((stage.pk, band))}
                    for band, _ in PLAYBOOK_BANDS
                ],
            }
            for stage in stages
        ],
        "missing": sum(
            (stage.pk, band) not in playbooks for stage in stages for band, _ in PLAYBOOK_BANDS
        ),
    }


def playbook_active_ctas(*, playbook: Playbook) -> int:
    """Open or snoozed CTAs that carry a copy of the playbook's steps: one query."""
    return CallToAction.objects.active().filter(playbook=playbook).count()
