"""Reads for the scorecard pages (selectors): keyword-only, a bounded number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import Count, Prefetch, Sum
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Segment
from scoring.engine import DEFAULT_CATEGORY_WEIGHT, effective_weights
from scoring.models import (
    Category,
    HealthScore,
    Measure,
    Scorecard,
    ScorecardChange,
    ScorecardVersion,
    ScoreRun,
)

HISTORY_PER_PAGE = 25
# How long the progress page waits for a worker to pick up the recompute before saying so.
START_GRACE = dt.timedelta(minutes=2)


def _versions_prefetch() -> Prefetch:
    return Prefetch(
        "versions",
        queryset=ScorecardVersion.objects.select_related("published_by", "created_by").order_by(
            "-number"
        ),
    )


@dataclass
class ScorecardRow:
    scorecard: Scorecard
    segments: list[Segment]
    active: ScorecardVersion | None
    drafts: list[ScorecardVersion]
    retired: list[ScorecardVersion]
    accounts: int = 0
    arr: float = 0.0


def scorecard_rows() -> tuple[list[ScorecardRow], list[Segment], ScoreRun | None]:
    """Every scorecard with its segments and versions, the accounts each scored in the latest
    run, and the segments the default scorecard covers (those without one of their own)."""
    cards = list(Scorecard.objects.prefetch_related("segments", _versions_prefetch()))
    run = ScoreRun.objects.filter(status=ScoreRun.Status.DONE).order_by("-date").first()
    scored = {}
    if run is not None:
        scored = {
            row["version__scorecard"]: row
            for row in HealthScore.objects.filter(run=run)
            .values("version__scorecard")
            .annotate(n=Count("id"), arr=Sum("account__arr"))
            .order_by()
        }
    # Only a scorecard with an active version scores its segments (a new one's draft not yet).
    taken = {
        s.pk
        for card in cards
        if any(v.status == ScorecardVersion.Status.ACTIVE for v in card.versions.all())
        for s in card.segments.all()
    }
    rows = []
    for card in cards:
        versions = list(card.versions.all())
        row = ScorecardRow(
            scorecard=card,
            segments=list(card.segments.all()),
            active=next((v for v in versions if v.status == ScorecardVersion.Status.ACTIVE), None),
            drafts=[v for v in versions if v.status == ScorecardVersion.Status.DRAFT],
            retired=[v for v in versions if v.status == ScorecardVersion.Status.RETIRED],
        )
        if card.pk in scored:
            row.accounts = scored[card.pk]["n"]
            row.arr = float(scored[card.pk]["arr"] or 0)
        rows.append(row)
    default_segments = [s for s in Segment.objects.order_by("name") if s.pk not in taken]
    return rows, default_segments, run


def scorecard_get(*, pk: int) -> Scorecard:
    return Scorecard.objects.prefetch_related("segments", _versions_prefetch()).get(pk=pk)


def version_get(*, scorecard: Scorecard, number: int) -> ScorecardVersion:
    """A version with what the pages and the editor read of it (measures, weights, people)."""
    return (
        ScorecardVersion.objects.select_related("scorecard", "published_by", "created_by")
        .prefetch_related(
            Prefetch(
                "measures",
                queryset=Measure.objects.select_related("metric").order_by("order", "id"),
            ),
            "category_weights",
            "scorecard__segments",
        )
        .get(scorecard=scorecard, number=number)
    )


RULE_TEXT = {
    "threshold": _("Thresholds"),
    "range": _("Linear range"),
    "percentile": _("Percentile rank"),
}


@dataclass
class MeasureLine:
    measure: Measure
    share: float  # % of the whole score
    params: str

    @property
    def rule(self) -> str:
        return RULE_TEXT.get(self.measure.rule, self.measure.rule)

    @property
    def weight(self) -> str:
        return f"{self.measure.weight:g}"


@dataclass
class CategoryGroup:
    key: str
    label: str
    weight: float
    share: float
    measures: list[MeasureLine] = field(default_factory=list)

    @property
    def weight_text(self) -> str:
        return f"{self.weight:g}"


def _params(m: Measure) -> str:
    if m.rule == Measure.Rule.THRESHOLD:
        if None in (m.red, m.green):
            return ""
        return gettext("0 at %(red)g → 100 at %(green)g") % {"red": m.red, "green": m.green}
    if m.rule == Measure.Rule.RANGE:
        return f"{m.low:g} – {m.high:g}" if None not in (m.low, m.high) else ""
    return gettext("rank among peers")


def version_breakdown(version: ScorecardVersion) -> list[CategoryGroup]:
    """The version's measures by category with each one's share of the score (no queries
    beyond version_get's prefetches)."""
    measures = list(version.measures.all())
    category_weights = {cw.category: cw.weight for cw in version.category_weights.all()}
    weights = effective_weights([(m.category, m.weight) for m in measures], category_weights)
    total = sum(w for w in weights if w > 0) or 1.0
    groups = {
        c: CategoryGroup(
            c, Category(c).label, category_weights.get(c, DEFAULT_CATEGORY_WEIGHT), 0.0
        )
        for c in Category.values
    }
    for m, w in zip(measures, weights, strict=True):
        share = 100 * max(w, 0) / total
        group = groups[m.category]
        group.measures.append(MeasureLine(m, share, _params(m)))
        group.share += share
    return [g for g in groups.values() if g.measures or g.weight]


def scorecard_history(*, scorecard: Scorecard, page: str | None) -> tuple[Page, str]:
    """One page of the audit trail, newest first, and a message when the page asked for does
    not exist (a bad or too large page number shows the nearest real page)."""
    changes = ScorecardChange.objects.filter(scorecard=scorecard).select_related("user", "version")
    paginator = Paginator(changes, HISTORY_PER_PAGE)
    message = ""
    try:
        number = int(page) if page not in (None, "") else 1
    except ValueError:
        number = 1
        message = gettext("“%(page)s” is not a page number; showing the first page.") % {
            "page": page
        }
    if number < 1:
        number, message = 1, gettext("Pages start at 1; showing the first page.")
    elif number > paginator.num_pages:
        message = ngettext(
            "There is no page %(number)s: the history has %(pages)s page; showing the last one.",
            "There is no page %(number)s: the history has %(pages)s pages; showing the last one.",
            paginator.num_pages,
        ) % {"number": number, "pages": paginator.num_pages}
        number = paginator.num_pages
    return paginator.page(number), message


@dataclass
class Progress:
    version: ScorecardVersion
    run: ScoreRun | None
    blocking: ScoreRun | None  # a run for today that started before publishing
    backfill_days: int
    backfill_done: int
    backfill_running: int
    waiting: bool  # no run yet, but one is expected soon

    @property
    def polling(self) -> bool:
        """Poll only while something is still expected to change."""
        if self.run is not None and self.run.is_running:
            return True
        if self.run is None and (self.waiting or self.blocking is not None):
            return True
        backfill_open = self.backfill_done < self.backfill_days
        return backfill_open and (self.backfill_running > 0 or self.waiting_backfill)

    @property
    def waiting_backfill(self) -> bool:
        return self.version.published_at is not None and (
            timezone.now() - self.version.published_at < START_GRACE * 5
        )

    @property
    def finished(self) -> bool:
        return self.run is not None and self.run.status == ScoreRun.Status.DONE


def publish_progress(*, version: ScorecardVersion, backfill_days: int = 0) -> Progress:
    """Today's recompute after a version was published (and its back-fill). Two queries."""
    today = timezone.localdate()
    since = version.published_at or version.created_at
    runs = list(
        ScoreRun.objects.filter(
            date__gte=today - dt.timedelta(days=backfill_days), date__lte=today
        ).order_by("-started_at")
    )
    mine = [r for r in runs if r.started_at >= since]
    run = next((r for r in mine if r.date == today), None)
    blocking = next(
        (r for r in runs if r.date == today and r.started_at < since and r.is_running),
        None,
    )
    backfill = [r for r in mine if r.date < today]
    done_days = {r.date for r in backfill if r.status == ScoreRun.Status.DONE}
    return Progress(
        version=version,
        run=run,
        blocking=blocking,
        backfill_days=backfill_days,
        backfill_done=len(done_days),
        backfill_running=sum(1 for r in backfill if r.is_running),
        waiting=timezone.now() - since < START_GRACE,
    )


def accounts_named(*, ids: list[int]) -> dict[int, Account]:
    """Accounts by id with their name, external id and segment (the preview's movers export
    asks for a chunk at a time). One query."""
    return (
        Account.objects.select_related("segment")
        .only("id", "name", "external_id", "segment__name")
        .in_bulk(ids)
    )


def scorecards_for_new() -> tuple[list[Scorecard], list[Segment]]:
    """The scorecards (each with .active, its active version or None, and its segments) and
    the segments, for the new-scorecard form. Three queries."""
    active = Prefetch(
        "versions",
        queryset=ScorecardVersion.objects.filter(status=ScorecardVersion.Status.ACTIVE),
        to_attr="active_versions",
    )
    cards = list(Scorecard.objects.prefetch_related("segments", active))
    for card in cards:
        card.active = card.active_versions[0] if card.active_versions else None
    return cards, list(Segment.objects.order_by("name"))
