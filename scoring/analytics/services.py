"""Asking for, running and reading stored analyses (AnalysisRun). The page, the Celery task
and the shell commands all come through here.

    run = scoring.services.analysis_request(kind=..., parameters={...}, user=user)
    # stores it (analysis_create) and, after commit, a Celery task runs
    # analysis_execute(run_id=run.pk), which updates its progress and stores the result
    analysis_latest(kind=AnalysisRun.Kind.BACKTEST, scorecard=card)  # the newest done one

Parameters (JSON, as a form or the shell gives them): scorecard (name), draft (number, or
None for the active version), from / to (ISO dates), horizon (days). parse_parameters() checks
them and names what is wrong (AnalysisInputError), before anything is stored.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from scoring.analytics import backtest as bt
from scoring.analytics.plays import plays_report
from scoring.analytics.retention import retention_report
from scoring.analytics.suggestion import suggestion_compute
from scoring.analytics.surveys import survey_report
from scoring.models import AnalysisRun, Scorecard, ScorecardVersion
from scoring.specs import VersionConfig, version_config, versions_queryset

logger = logging.getLogger(__name__)

MAX_HORIZON_DAYS = 730
MAX_PERIOD_DAYS = 366 * 5
PROGRESS_EVERY_SECONDS = 1.0


class AnalysisInputError(ValueError):
    """Parameters that cannot be analysed; the message says which and why."""


@dataclass(frozen=True)
class Parameters:
    scorecard: Scorecard
    version: ScorecardVersion
    start: dt.date
    end: dt.date
    horizon_days: int

    @property
    def is_draft(self) -> bool:
        return self.version.status == ScorecardVersion.Status.DRAFT

    def config(self) -> VersionConfig:
        return version_config(versions_queryset().get(pk=self.version.pk))

    def to_json(self) -> dict:
        return {
            "scorecard": self.scorecard.name,
            "draft": self.version.number if self.is_draft else None,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "horizon": self.horizon_days,
        }


def _date(value, name: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise AnalysisInputError(
            _("“%(name)s” must be a date as YYYY-MM-DD, got %(value)r.")
            % {"name": name, "value": value}
        ) from exc


def resolve_version(*, scorecard: str, draft: int | None = None):
    """(scorecard, version): the draft of that number, or the active version."""
    card = Scorecard.objects.filter(name__iexact=str(scorecard).strip()).first()
    if card is None:
        names = ", ".join(Scorecard.objects.values_list("name", flat=True)) or "none"
        raise AnalysisInputError(
            _("No scorecard named “%(scorecard)s” (there are: %(names)s).")
            % {"scorecard": scorecard, "names": names}
        )
    if draft is not None:
        version = card.versions.filter(number=draft).first()
        if version is None or version.status != ScorecardVersion.Status.DRAFT:
            drafts = list(
                card.versions.filter(status=ScorecardVersion.Status.DRAFT).values_list(
                    "number", flat=True
                )
            )
            listed = ", ".join(map(str, drafts)) or "none"
            raise AnalysisInputError(
                _("“%(scorecard)s” has no draft number %(draft)s (its drafts: %(listed)s).")
                % {"scorecard": card.name, "draft": draft, "listed": listed}
            )
        return card, version
    version = card.versions.filter(status=ScorecardVersion.Status.ACTIVE).first()
    if version is None:
        raise AnalysisInputError(
            _("“%(scorecard)s” has no published version to back-test.") % {"scorecard": card.name}
        )
    return card, version


def parse_parameters(raw: dict, *, today: dt.date | None = None) -> Parameters:
    today = today or timezone.localdate()
    if not raw.get("scorecard"):
        raise AnalysisInputError(_("Name a scorecard."))
    draft = raw.get("draft")
    try:
        draft = None if draft in (None, "") else int(draft)
        horizon = raw.get("horizon")
        horizon = bt.HORIZON_DAYS if horizon in (None, "") else int(horizon)
    except (TypeError, ValueError) as exc:
        raise AnalysisInputError(
            _("The draft number and the horizon must be whole numbers.")
        ) from exc
    card, version = resolve_version(scorecard=raw["scorecard"], draft=draft)
    start = _date(raw.get("from") or today - dt.timedelta(days=365), "from")
    end = _date(raw.get("to") or today, "to")
    if end < start:
        raise AnalysisInputError(
            _("The period ends (%(end)s) before it starts (%(start)s).")
            % {"end": end, "start": start}
        )
    if (end - start).days > MAX_PERIOD_DAYS:
        raise AnalysisInputError(
            _("The period is longer than %(years)s years.") % {"years": MAX_PERIOD_DAYS // 366}
        )
    if not 1 <= horizon <= MAX_HORIZON_DAYS:
        raise AnalysisInputError(
            _("The horizon must be 1 to %(max)s days, got %(horizon)s.")
            % {"max": MAX_HORIZON_DAYS, "horizon": horizon}
        )
    return Parameters(card, version, start, end, horizon)


def analysis_create(*, kind: str, parameters: dict, user=None) -> AnalysisRun:
    """Store a pending analysis. Back-tests and suggestions check their parameters first
    (AnalysisInputError: nothing stored). scoring.services.analysis_request also queues it."""
    card = version = None
    if kind in (AnalysisRun.Kind.BACKTEST, AnalysisRun.Kind.SUGGESTION):
        parsed = parse_parameters(parameters)
        parameters, card, version = parsed.to_json(), parsed.scorecard, parsed.version
    elif kind not in AnalysisRun.Kind.values:
        raise AnalysisInputError(_("Unknown analysis %(kind)r.") % {"kind": kind})
    return AnalysisRun.objects.create(
        kind=kind,
        parameters=parameters,
        scorecard=card,
        version=version,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )


def json_safe(value):
    """NaN and infinities as null (JSON has neither; PostgreSQL's jsonb refuses them)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


class _Progress:
    """Writes progress to the run at most once a second (a conditional update: no reads)."""

    def __init__(self, run_id: int):
        self.run_id, self.last = run_id, 0.0

    def __call__(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_SECONDS and fraction < 1:
            return
        self.last = now
        AnalysisRun.objects.filter(pk=self.run_id, status=AnalysisRun.Status.RUNNING).update(
            progress=max(0, min(100, round(100 * fraction))), message=message[:200]
        )


def analysis_execute(*, run_id: int) -> AnalysisRun | None:
    """Run a pending analysis once: claimed with a conditional update, so a repeated task
    finds it taken and returns None."""
    claimed = AnalysisRun.objects.filter(pk=run_id, status=AnalysisRun.Status.PENDING).update(
        status=AnalysisRun.Status.RUNNING, started_at=timezone.now(), message="Starting"
    )
    if not claimed:
        return None
    run = AnalysisRun.objects.get(pk=run_id)
    progress = _Progress(run_id)
    try:
        result = _compute(run, progress)
    except Exception as exc:  # stored for the page; the worker's log has the traceback
        logger.exception("Analysis %s failed", run_id)
        AnalysisRun.objects.filter(pk=run_id).update(
            status=AnalysisRun.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            computed_at=timezone.now(),
        )
        run.refresh_from_db()
        return run
    AnalysisRun.objects.filter(pk=run_id).update(
        status=AnalysisRun.Status.DONE,
        result=json_safe(result),
        progress=100,
        message="Done",
        computed_at=timezone.now(),
    )
    run.refresh_from_db()
    return run


def _compute(run: AnalysisRun, progress) -> dict:
    """The result as JSON. Analyses only read: applying a suggestion as a draft is
    scoring.services.scorecard_draft_suggest, an Admin's act."""
    params = run.parameters
    if run.kind == AnalysisRun.Kind.BACKTEST:
        parsed = parse_parameters(params)
        result = bt.backtest(
            parsed.config(),
            start=parsed.start,
            end=parsed.end,
            horizon_days=parsed.horizon_days,
            is_draft=parsed.is_draft,
            progress=progress,
        )
        return result.to_json()
    if run.kind == AnalysisRun.Kind.SUGGESTION:
        parsed = parse_parameters(params)
        result = suggestion_compute(
            parsed.config(),
            start=parsed.start,
            end=parsed.end,
            horizon_days=parsed.horizon_days,
            progress=progress,
        )
        return result.to_json()
    if run.kind == AnalysisRun.Kind.RETENTION:
        band_date = params.get("band_date")
        report = retention_report(band_date=_date(band_date, "band_date") if band_date else None)
        return report.to_json()
    if run.kind == AnalysisRun.Kind.SURVEYS:
        today = timezone.localdate()
        start = _date(params.get("from") or today - dt.timedelta(days=365), "from")
        end = _date(params.get("to") or today, "to")
        return survey_report(start=start, end=end).to_json()
    if run.kind == AnalysisRun.Kind.PLAYS:
        return plays_report(progress=progress).to_json()
    raise AnalysisInputError(_("Unknown analysis %(kind)r.") % {"kind": run.kind})


def analysis_run_now(*, kind: str, parameters: dict, user=None) -> AnalysisRun:
    """Store and run an analysis in this process (the shell commands): the page sees it too."""
    run = analysis_create(kind=kind, parameters=parameters, user=user)
    return analysis_execute(run_id=run.pk)


def analysis_latest(*, kind: str, scorecard: Scorecard | None = None) -> AnalysisRun | None:
    """The newest finished analysis of that kind (for that scorecard). One query."""
    runs = AnalysisRun.objects.filter(kind=kind, status=AnalysisRun.Status.DONE)
    if scorecard is not None:
        runs = runs.filter(scorecard=scorecard)
    return runs.order_by("-computed_at", "-id").first()


def analysis_running(*, kind: str) -> AnalysisRun | None:
    """An analysis of that kind still waiting or running (the page polls it)."""
    return (
        AnalysisRun.objects.filter(
            kind=kind, status__in=[AnalysisRun.Status.PENDING, AnalysisRun.Status.RUNNING]
        )
        .order_by("-created_at")
        .first()
    )
