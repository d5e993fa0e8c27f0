"""Writes that touch several scoring models."""

from __future__ import annotations

from scoring import engine
from scoring.models import ScorecardVersion
from scoring.specs import version_config, versions_queryset


def version_problems(version: ScorecardVersion) -> list[str]:
    """Everything that would stop a version from scoring, in words an admin can act on."""
    version = versions_queryset().get(pk=version.pk)
    problems = []
    config = version_config(version)
    if not config.measures:
        return [f"{version} has no measures with a positive weight."]
    try:
        engine.validate_measures(config.specs)
    except engine.ScorecardError as exc:
        names = {m.spec.key: m.name for m in config.measures}
        message = str(exc)
        for key, name in names.items():
            message = message.replace(f"Measure {key!r}", f"Measure “{name}”")
        problems.append(message)
    try:
        engine.assign_bands([], [], **config.band_kwargs())
    except engine.ScorecardError as exc:
        problems.append(str(exc))
    return problems


def account_rescore_soon(*, account_id: int) -> bool:
    """Re-score an account a few seconds after new signals; a burst of signals (an import,
    a sync) schedules one re-score, not one per signal. Returns whether one was scheduled."""
    from django.conf import settings
    from django.core.cache import cache

    from scoring.tasks import rescore_account

    delay = settings.RESCORE_DEBOUNCE_SECONDS
    if not cache.add(f"rescore-account:{account_id}", True, timeout=max(delay, 1)):
        return False
    rescore_account.apply_async((account_id,), countdown=delay)
    return True
