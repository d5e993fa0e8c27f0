"""Reads of the Analytics page: the stored analyses it shows and the versions it can run."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext

from healthboard.pages.analytics.forms import ACTIVE
from scoring.analytics.services import analysis_latest, analysis_running
from scoring.models import AnalysisRun, ScorecardVersion


@dataclass(frozen=True)
class VersionChoices:
    choices: list[tuple[str, str]]  # ("<scorecard pk>:active" | "<pk>:<draft number>", label)
    names: dict[str, str]  # scorecard pk (as text) -> name
    default: str | None = None  # the default scorecard's published version


def version_choices(*, drafts: bool) -> VersionChoices:
    """Each scorecard's active version, and its drafts when `drafts`. One query."""
    Status = ScorecardVersion.Status
    statuses = [Status.ACTIVE, Status.DRAFT] if drafts else [Status.ACTIVE]
    rows = (
        ScorecardVersion.objects.filter(status__in=statuses)
        .order_by("scorecard__name", "-status", "number")
        .values_list("scorecard_id", "scorecard__name", "status", "number", "scorecard__is_default")
    )
    choices, names, default = [], {}, None
    for card, name, status, number, is_default in rows:
        names[str(card)] = name
        if status == Status.ACTIVE:
            choices.append(
                (
                    f"{card}:{ACTIVE}",
                    gettext("%(name)s — published v%(number)s") % {"name": name, "number": number},
                )
            )
            default = f"{card}:{ACTIVE}" if is_default else default
        else:
            choices.append(
                (
                    f"{card}:{number}",
                    gettext("%(name)s — draft v%(number)s") % {"name": name, "number": number},
                )
            )
    # Published first within each scorecard ("active" sorts before "draft"); by the names,
    # not the choices' words, which are in the reader's language.
    choices.sort(key=lambda c: (names[c[0].split(":")[0]], c[0].endswith(ACTIVE) is False))
    return VersionChoices(choices, names, default)


@dataclass(frozen=True)
class Shown:
    """What a tab shows: the newest finished analysis and one still under way. Two queries."""

    latest: AnalysisRun | None
    running: AnalysisRun | None
    failed: AnalysisRun | None = None


def analyses_shown(*, kind: str) -> Shown:
    latest = analysis_latest(kind=kind)
    running = analysis_running(kind=kind)
    failed = None
    if running is None:
        # The newest attempt failed after the latest success: say so beside the old result.
        newest = AnalysisRun.objects.filter(kind=kind).order_by("-created_at", "-id").first()
        if newest is not None and newest.status == AnalysisRun.Status.FAILED:
            failed = newest
    return Shown(latest, running, failed)
