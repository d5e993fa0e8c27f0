"""Published scorecard versions as plain, immutable objects the scoring code can use."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

from scoring import engine
from scoring.models import Measure, Scorecard, ScorecardVersion


@dataclass(frozen=True)
class MeasureConfig:
    id: int
    name: str
    category: str
    metric_id: int
    aggregation: str
    window_days: int
    per_seat: bool
    spec: engine.MeasureSpec


@dataclass(frozen=True)
class VersionConfig:
    id: int
    scorecard_id: int
    scorecard_name: str
    number: int
    is_default: bool
    segment_ids: frozenset[int]
    band_mode: str
    green_at: float
    red_below: float
    top_share: float
    bottom_share: float
    min_coverage: float
    measures: tuple[MeasureConfig, ...]

    @property
    def specs(self) -> list[engine.MeasureSpec]:
        return [m.spec for m in self.measures]

    @property
    def has_percentile_measures(self) -> bool:
        return any(m.spec.rule == engine.PERCENTILE for m in self.measures)

    def band_kwargs(self) -> dict:
        return {
            "min_coverage": self.min_coverage,
            "mode": self.band_mode,
            "green_at": self.green_at,
            "red_below": self.red_below,
            "top_share": self.top_share,
            "bottom_share": self.bottom_share,
        }

    def problems(self) -> list[str]:
        """Why this version cannot score (engine.problems, measures called by name); empty
        when it can."""
        names = {m.spec.key: m.name for m in self.measures}
        return engine.problems(self.specs, names=names, **self.band_kwargs())


def measure_configs(
    measures: list[Measure], category_weights: dict[str, float], keys: list[str] | None = None
) -> tuple[MeasureConfig, ...]:
    """The measures with their effective weights; `keys` name unsaved ones (default: pk)."""
    weights = engine.effective_weights([(m.category, m.weight) for m in measures], category_weights)
    keys = keys or [str(m.pk) for m in measures]
    return tuple(
        MeasureConfig(
            id=m.pk or -(i + 1),
            name=m.name,
            category=m.category,
            metric_id=m.metric_id,
            aggregation=m.aggregation,
            window_days=m.window_days,
            per_seat=m.per_seat,
            spec=engine.MeasureSpec(
                key=key,
                weight=w,
                rule=m.rule,
                direction=m.direction,
                red=m.red,
                green=m.green,
                low=m.low,
                high=m.high,
            ),
        )
        for i, (m, w, key) in enumerate(zip(measures, weights, keys, strict=True))
        # A zero weight switches a measure (or a whole category) off.
        if w > 0
    )


def config_for(
    version: ScorecardVersion, measures: tuple[MeasureConfig, ...], *, card: Scorecard | None = None
) -> VersionConfig:
    """A version's settings with these measures (a draft's unsaved form, or its saved rows)."""
    card = card or version.scorecard
    return VersionConfig(
        id=version.pk,
        scorecard_id=card.pk,
        scorecard_name=card.name,
        number=version.number,
        is_default=card.is_default,
        segment_ids=frozenset(s.pk for s in card.segments.all()),
        band_mode=version.band_mode,
        green_at=version.green_at,
        red_below=version.red_below,
        top_share=version.top_share,
        bottom_share=version.bottom_share,
        min_coverage=version.min_coverage,
        measures=measures,
    )


def version_config(version: ScorecardVersion) -> VersionConfig:
    """Build from a version whose measures, category weights and scorecard segments are loaded."""
    weights = {cw.category: cw.weight for cw in version.category_weights.all()}
    return config_for(version, measure_configs(list(version.measures.all()), weights))


def versions_queryset():
    return ScorecardVersion.objects.select_related("scorecard").prefetch_related(
        Prefetch("measures", queryset=Measure.objects.order_by("order", "id")),
        "category_weights",
        "scorecard__segments",
    )


def active_versions() -> list[VersionConfig]:
    return [version_config(v) for v in versions_queryset().filter(status="active")]


class ScorecardAssignment:
    """Which active version scores an account of a given segment."""

    def __init__(self, versions: list[VersionConfig]):
        self.versions = versions
        self.default = next((v for v in versions if v.is_default), None)
        self.by_segment = {seg: v for v in versions for seg in v.segment_ids}

    def for_segment(self, segment_id: int) -> VersionConfig | None:
        return self.by_segment.get(segment_id, self.default)


def default_scorecard() -> Scorecard | None:
    return Scorecard.objects.filter(is_default=True).first()
