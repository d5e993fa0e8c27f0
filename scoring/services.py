"""Writes that touch several scoring models."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext

from healthboard.lib.numbers import number_text
from healthboard.lib.queue import CACHE_DOWN, QUEUE_DOWN, QUEUE_DOWN_TEXT
from scoring.editor.audit import diff_summary, snapshot_diff, version_snapshot
from scoring.models import (
    AnalysisRun,
    CategoryWeight,
    Measure,
    Scorecard,
    ScorecardChange,
    ScorecardVersion,
    ScoreRun,
)
from scoring.specs import version_config, versions_queryset

logger = logging.getLogger(__name__)


def version_problems(version: ScorecardVersion) -> list[str]:
    """Everything that would stop a version from scoring, in words an admin can act on."""
    return version_config(versions_queryset().get(pk=version.pk)).problems()


def account_rescore_soon(*, account_id: int) -> bool:
    """Re-score an account a few seconds after new signals; a burst of signals (an import,
    a sync) schedules one re-score, not one per signal. Returns whether one was scheduled."""
    from django.conf import settings
    from django.core.cache import cache

    from scoring.tasks import rescore_account

    delay = settings.RESCORE_DEBOUNCE_SECONDS
    try:
        if not cache.add(f"rescore-account:{account_id}", True, timeout=max(delay, 1)):
            return False
    except CACHE_DOWN:
        pass  # Not debounced: a re-score too many beats none.
    rescore_account.apply_async((account_id,), countdown=delay)
    return True


def accounts_rescore_soon(*, account_ids: Iterable[int]) -> int:
    """Re-score these accounts a few seconds from now (an import's or an API batch's
    touched accounts), in the nightly run's chunks: one Celery message per
    SCORING_CHUNK_SIZE accounts, so 10,000 accounts are two messages, not 10,000. Returns
    the messages sent. Raises when the broker cannot be reached: the caller reports it and
    the nightly run scores the accounts anyway."""
    from django.conf import settings

    from scoring.tasks import rescore_accounts

    ids = sorted(set(account_ids))
    size = settings.SCORING_CHUNK_SIZE
    for start in range(0, len(ids), size):
        rescore_accounts.apply_async(
            (ids[start : start + size],), countdown=settings.RESCORE_DEBOUNCE_SECONDS
        )
    return -(-len(ids) // size)


# ---------------------------------------------------------------- the scorecard editor


class DraftNotEditable(Exception):
    """The version is no longer a draft (published or discarded meanwhile)."""


class PublishRefused(Exception):
    """The draft cannot score; nothing was saved or published."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _lock_draft(draft: ScorecardVersion) -> ScorecardVersion:
    """The draft, freshly read and locked; a second admin's save or publish waits here."""
    locked = ScorecardVersion.objects.select_for_update().filter(pk=draft.pk).first()
    if locked is None or locked.status != ScorecardVersion.Status.DRAFT:
        if locked is None:
            text = gettext("Version %(number)s is no longer a draft: it is discarded.")
        elif locked.status == ScorecardVersion.Status.ACTIVE:
            text = gettext("Version %(number)s is no longer a draft: it is active.")
        else:
            text = gettext("Version %(number)s is no longer a draft: it is retired.")
        raise DraftNotEditable(text % {"number": draft.number})
    return locked


def _next_number(scorecard: Scorecard) -> int:
    # Discarded drafts are deleted but keep their number in the audit trail: never reuse it.
    numbers = [
        scorecard.versions.aggregate(n=Max("number"))["n"] or 0,
        scorecard.changes.aggregate(n=Max("version_number"))["n"] or 0,
    ]
    return max(numbers) + 1


def _record(
    version: ScorecardVersion | None,
    *,
    scorecard: Scorecard,
    number: int,
    user,
    action: str,
    summary: str,
    diff: list[str] | None = None,
) -> ScorecardChange:
    return ScorecardChange.objects.create(
        scorecard=scorecard,
        version=version,
        version_number=number,
        user=user if getattr(user, "is_authenticated", False) else None,
        action=action,
        summary=summary[:200],
        diff=diff or [],
    )


BAND_COPY = ("band_mode", "green_at", "red_below", "top_share", "bottom_share", "min_coverage")
MEASURE_COPY = (
    "name",
    "category",
    "metric_id",
    "aggregation",
    "window_days",
    "per_seat",
    "rule",
    "direction",
    "red",
    "green",
    "low",
    "high",
    "weight",
    "order",
)


def _draft_of(
    card: Scorecard, source: ScorecardVersion | None, *, user, summary: str
) -> ScorecardVersion:
    """A new draft of `card`: a copy of `source` (its bands, category weights, measures, in
    order), or empty with the default bands; recorded in the card's audit trail with
    `summary` ("{number}" becomes the draft's number)."""
    draft = ScorecardVersion.objects.create(
        scorecard=card,
        number=_next_number(card),
        status=ScorecardVersion.Status.DRAFT,
        created_by=user if getattr(user, "is_authenticated", False) else None,
        **({f: getattr(source, f) for f in BAND_COPY} if source else {}),
    )
    if source is not None:
        CategoryWeight.objects.bulk_create(
            CategoryWeight(version=draft, category=cw.category, weight=cw.weight)
            for cw in source.category_weights.all()
        )
        Measure.objects.bulk_create(
            Measure(version=draft, **{f: getattr(m, f) for f in MEASURE_COPY})
            for m in source.measures.order_by("order", "id")
        )
    _record(
        draft,
        scorecard=card,
        number=draft.number,
        user=user,
        action=ScorecardChange.Action.CREATED,
        summary=summary.replace("{number}", str(draft.number)),
    )
    return draft


def scorecard_draft_create(*, scorecard: Scorecard, user) -> ScorecardVersion:
    """A new draft: a copy of the active version (its bands, category weights, measures)."""
    with transaction.atomic():
        card = Scorecard.objects.select_for_update().get(pk=scorecard.pk)
        active = card.versions.filter(status=ScorecardVersion.Status.ACTIVE).first()
        # {number} is filled in by _draft_of, once the draft has one.
        if active:
            summary = gettext("Draft v{number} created: a copy of v%(source)s") % {
                "source": active.number
            }
        else:
            summary = gettext("Draft v{number} created: empty")
        return _draft_of(card, active, user=user, summary=summary)


def scorecard_create(
    *,
    name: str,
    description: str = "",
    segments=(),
    copy_from: Scorecard | None = None,
    user,
) -> ScorecardVersion:
    """A new scorecard for `segments`, and its first draft: empty, or a copy of `copy_from`'s
    active version. Nothing is scored differently until the draft is published: scoring
    reads active versions only, and publishing gives the segments to this scorecard
    (scorecard_publish). Returns the draft, for the editor."""
    with transaction.atomic():
        card = Scorecard.objects.create(name=name, description=description)
        card.segments.set(segments)
        source = None
        if copy_from is not None:
            source = copy_from.versions.filter(status=ScorecardVersion.Status.ACTIVE).first()
        names = ", ".join(sorted(s.name for s in segments)) or gettext("no segment yet")
        # {number} is filled in by _draft_of, once the draft has one.
        if source:
            summary = gettext(
                "Scorecard created for %(segments)s; draft v{number}: a copy of %(name)s "
                "v%(source)s"
            ) % {"segments": names, "name": copy_from.name, "source": source.number}
        else:
            summary = gettext("Scorecard created for %(segments)s; draft v{number}: empty") % {
                "segments": names
            }
        return _draft_of(card, source, user=user, summary=summary)


def _take_segments(card: Scorecard) -> list[str]:
    """Give `card`'s segments to it alone: another scorecard that also names one of them
    lets it go. Returns the lines for the audit trail."""
    mine = list(card.segments.all())
    lines = []
    others = Scorecard.objects.exclude(pk=card.pk).filter(segments__in=mine).distinct()
    for other in others.prefetch_related("segments"):
        taken = [s for s in other.segments.all() if s in mine]
        other.segments.remove(*taken)
        for segment in taken:
            lines.append(
                gettext("Segment %(segment)s moved from %(before)s to %(after)s")
                % {"segment": segment.name, "before": other.name, "after": card.name}
            )
    return lines


def scorecard_draft_save(*, draft: ScorecardVersion, forms, user) -> list[str]:
    """Save the editor's (valid) forms, all or nothing; returns the lines that changed."""
    with transaction.atomic():
        locked = _lock_draft(draft)
        before = version_snapshot(locked)
        forms.save()
        locked.refresh_from_db()
        lines = snapshot_diff(before, version_snapshot(locked))
        if lines:
            _record(
                locked,
                scorecard=locked.scorecard,
                number=locked.number,
                user=user,
                action=ScorecardChange.Action.SAVED,
                summary=diff_summary(lines),
                diff=lines,
            )
    return lines


def scorecard_run_running(today: dt.date | None = None) -> ScoreRun | None:
    """Today's run while it runs; an abandoned one (ScoreRun.STALE_AFTER) does not count:
    the recompute it would refuse takes it over."""
    today = today or timezone.localdate()
    return ScoreRun.objects.running().filter(date=today).first()


def scorecard_recompute(*, backfill_days: int = 0, today: dt.date | None = None) -> None:
    """Recompute today's scores on the workers, then (optionally) the days before it."""
    from celery import chain

    from scoring.tasks import nightly_run

    today = today or timezone.localdate()
    nightly_run.delay(today.isoformat(), trigger="publish")
    if backfill_days > 0:
        # One day after another: a back-fill should not crowd out the other queues.
        days = [today - dt.timedelta(days=d) for d in range(1, backfill_days + 1)]
        chain(nightly_run.si(day.isoformat(), trigger="backfill") for day in days).delay()


def scorecard_publish(
    *, draft: ScorecardVersion, user, forms=None, backfill_days: int = 0
) -> tuple[ScorecardVersion, list[str]]:
    """Freeze the draft (with the editor's unsaved changes, if given) as the active version.

    In one transaction: save the forms, check the draft can score, retire the active version,
    activate the draft, record the diff against the version it replaces. After commit, today's
    scores are recomputed: the version's `recompute_queued` then says whether that reached the
    queue (False: the queue is down, the nightly run scores with it; None: the caller's own
    transaction has not committed yet). Raises PublishRefused (nothing saved) or
    DraftNotEditable."""
    with transaction.atomic():
        card = Scorecard.objects.select_for_update().get(pk=draft.scorecard_id)
        locked = _lock_draft(draft)
        if forms is not None:
            before = version_snapshot(locked)
            forms.save()
            locked.refresh_from_db()
            edits = snapshot_diff(before, version_snapshot(locked))
            if edits:
                _record(
                    locked,
                    scorecard=card,
                    number=locked.number,
                    user=user,
                    action=ScorecardChange.Action.SAVED,
                    summary=diff_summary(edits),
                    diff=edits,
                )
        problems = version_problems(locked)
        if problems:
            raise PublishRefused(problems)
        previous = card.versions.filter(status=ScorecardVersion.Status.ACTIVE).first()
        old = version_snapshot(previous) if previous else None
        if previous is not None:
            # Retire first: the one_active_version constraint is checked row by row.
            previous.status = ScorecardVersion.Status.RETIRED
            previous.save(update_fields=["status"])
        locked.status = ScorecardVersion.Status.ACTIVE
        locked.published_at = timezone.now()
        locked.published_by = user if getattr(user, "is_authenticated", False) else None
        locked.save(update_fields=["status", "published_at", "published_by"])
        # A new scorecard takes its segments over when it first scores them.
        lines = snapshot_diff(old, version_snapshot(locked)) + _take_segments(card)
        if previous:
            summary = gettext("Published v%(number)s, replacing v%(previous)s: %(changes)s")
        else:
            summary = gettext("Published v%(number)s: %(changes)s")
        _record(
            locked,
            scorecard=card,
            number=locked.number,
            user=user,
            action=ScorecardChange.Action.PUBLISHED,
            summary=summary
            % {
                "number": locked.number,
                "previous": previous.number if previous else None,
                "changes": diff_summary(lines),
            },
            diff=lines,
        )
        locked.recompute_queued = None

        def recompute() -> None:
            # A named function: on_commit's error logging needs a __qualname__ (a partial has
            # none, which turned a queue fault into a 500 after the commit).
            try:
                scorecard_recompute(backfill_days=backfill_days)
            except QUEUE_DOWN:
                logger.warning(
                    "Published %s; the recompute was not queued: %s", locked, QUEUE_DOWN_TEXT
                )
                locked.recompute_queued = False
            else:
                locked.recompute_queued = True

        transaction.on_commit(recompute, robust=True)
    return locked, lines


# ---------------------------------------------------------------- analyses


class SuggestionNotApplicable(Exception):
    """The analysis is not a finished suggestion with measures to apply."""


def scorecard_draft_suggest(*, analysis, user) -> ScorecardVersion:
    """A new draft of the analysis's scorecard holding the suggested measures and weights
    (never an active version: publishing stays an Admin's act in the editor). Band settings
    come from the active version; each category weighs the sum of its measures' weights, so
    the effective weights are the suggested ones. All or nothing."""
    from accounts.models import Metric

    result = analysis.result or {}
    measures = result.get("weights") or []
    if analysis.kind != "suggestion" or analysis.status != "done" or not measures:
        raise SuggestionNotApplicable(gettext("This analysis has no suggested measures to apply."))
    metrics = dict(
        Metric.objects.filter(key__in=[m["metric"] for m in measures]).values_list("key", "pk")
    )
    if missing := [m["metric"] for m in measures if m["metric"] not in metrics]:
        raise SuggestionNotApplicable(
            gettext("Metrics no longer in the catalogue: %(metrics)s.")
            % {"metrics": ", ".join(missing)}
        )
    with transaction.atomic():
        draft = scorecard_draft_create(scorecard=analysis.scorecard, user=user)
        before = version_snapshot(draft)
        draft.measures.all().delete()
        draft.category_weights.all().delete()
        Measure.objects.bulk_create(
            Measure(
                version=draft,
                name=m["name"][:100],
                category=m["category"],
                metric_id=metrics[m["metric"]],
                aggregation=m["aggregation"],
                window_days=m["window_days"],
                rule=m["rule"],
                direction=m["direction"],
                red=m["red"],
                green=m["green"],
                weight=m["weight"],
                order=i,
            )
            for i, m in enumerate(measures)
        )
        totals: dict[str, float] = {}
        for m in measures:
            totals[m["category"]] = totals.get(m["category"], 0.0) + m["weight"]
        CategoryWeight.objects.bulk_create(
            CategoryWeight(version=draft, category=c, weight=round(w, 4)) for c, w in totals.items()
        )
        draft.notes = gettext(
            "Suggested by analysis #%(analysis)s from %(start)s to %(end)s: out-of-sample AUC "
            "%(suggested)s against %(current)s for the current version."
        ) % {
            "analysis": analysis.pk,
            "start": result.get("start"),
            "end": result.get("end"),
            "suggested": number_text(result.get("auc_suggested_cv") or 0, 3),
            "current": number_text(result.get("auc_current_cv") or 0, 3),
        }
        draft.save(update_fields=["notes"])
        lines = snapshot_diff(before, version_snapshot(draft))
        _record(
            draft,
            scorecard=draft.scorecard,
            number=draft.number,
            user=user,
            action=ScorecardChange.Action.SAVED,
            summary=gettext("Suggested measures from analysis #%(analysis)s: %(changes)s")
            % {"analysis": analysis.pk, "changes": diff_summary(lines)},
            diff=lines,
        )
        type(analysis).objects.filter(pk=analysis.pk).update(draft=draft)
        result = {**result, "draft_id": draft.pk, "draft_number": draft.number}
        type(analysis).objects.filter(pk=analysis.pk).update(result=result)
    analysis.refresh_from_db()
    return draft


def analysis_request(*, kind: str, parameters: dict, user=None):
    """Store an analysis (AnalysisInputError: bad parameters, nothing stored) and run it on a
    worker after commit; the page polls its progress."""
    from scoring.analytics.services import analysis_create
    from scoring.tasks import run_analysis

    run = analysis_create(kind=kind, parameters=parameters, user=user)
    transaction.on_commit(functools.partial(_analysis_queue, run_analysis, run.pk), robust=True)
    return run


def _analysis_queue(task, run_id: int) -> None:
    """Hand a stored analysis to a worker. With the queue down it would wait for ever: it
    fails instead, saying why, so the page stops polling and offers to run it again."""
    try:
        task.delay(run_id)
    except QUEUE_DOWN:
        AnalysisRun.objects.filter(pk=run_id, status=AnalysisRun.Status.PENDING).update(
            status=AnalysisRun.Status.FAILED,
            error=gettext(
                "The task queue (Redis) did not answer, so nothing ran. Run it again once the "
                "queue is back."
            ),
        )


def scorecard_draft_discard(*, draft: ScorecardVersion, user) -> None:
    with transaction.atomic():
        locked = _lock_draft(draft)
        _record(
            None,
            scorecard=locked.scorecard,
            number=locked.number,
            user=user,
            action=ScorecardChange.Action.DISCARDED,
            summary=gettext("Discarded draft v%(number)s") % {"number": locked.number},
        )
        locked.delete()
