"""Why a score is what it is, and what moved it: from stored snapshots, without recomputing.

A snapshot (HealthScore) keeps each measure's raw value and sub-score in the order of its
version's measures; the version (a VersionConfig) says each measure's effective weight. The
weight shares and contributions are re-derived by scoring.engine from the stored sub-scores,
so the parts shown add up to the score the engine stored.

Nothing here queries the database: callers pass loaded snapshots, versions and metric units,
so the weekly review can explain hundreds of accounts from a few bulk queries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import numpy as np
from django.conf import settings
from django.utils.translation import get_language, gettext

from accounts.i18n import builtin
from healthboard.lib import numbers
from healthboard.lib.money import currency_affixes
from scoring import engine
from scoring.models import Category
from scoring.specs import MeasureConfig, VersionConfig

MINUS = "\u2212"
# Categories in the order the scorecard editor and the design list them.
# A mover smaller than this (in points) is noise, not news.
MIN_MOVE = 0.05


class Snapshot(Protocol):
    """What explain needs of a HealthScore (a model instance or anything shaped like one)."""

    score: float | None
    coverage: float
    details: dict


# ---------------------------------------------------------------- numbers in words


def number_text(value: float | None) -> str:
    """A raw value as a person would say it: 1,234 · 45.5 · 3.1 · 0.045; "no data" for None."""
    if value is None or not math.isfinite(value):
        return gettext("no data")
    size = abs(value)
    if size == int(size) and size < 1e15:
        rounded = str(int(size))
    elif size >= 100:
        rounded = f"{size:.0f}"
    elif size >= 10:
        rounded = f"{size:.1f}".removesuffix(".0")
    elif size >= 1:
        rounded = f"{size:.1f}"
    else:
        rounded = f"{size:.2g}"  # two significant digits: 0.046
    # Rounded here as before, then written in the reader's language (1.234 · 45,5 in Danish).
    digits = max(0, -Decimal(rounded).as_tuple().exponent)
    text = numbers.number_text(rounded, digits)
    return (MINUS if value < 0 and Decimal(rounded) != 0 else "") + text


def points_text(points: float) -> str:
    """+6.2 points / −6.2 points."""
    rounded = f"{abs(points):.1f}"
    sign = "" if float(rounded) == 0 else ("+" if points > 0 else MINUS)
    return gettext("%(points)s points") % {"points": sign + numbers.number_text(rounded, 1)}


def measure_unit(metric_unit: str, aggregation: str, per_seat: bool) -> str:
    """The unit of a measure's raw value, which is not always the metric's own unit: a count
    of tickets is not in "severity 1–4", and an NPS is not a 0–10 answer."""
    # "NPS" and "currency" are keys value_text() reads; a built-in unit ("logins/week") is
    # shown in the reader's language.
    if aggregation == "count":
        unit = ""
    elif aggregation == "nps":
        unit = "NPS"
    elif aggregation == "trend":
        if metric_unit and metric_unit != "currency":
            unit = gettext("%(unit)s/day") % {"unit": builtin(metric_unit)}
        else:
            unit = gettext("per day")
    else:
        unit = "" if metric_unit == "currency" else builtin(metric_unit)
    if per_seat:
        unit = gettext("%(unit)s per seat") % {"unit": unit} if unit else gettext("per seat")
    return unit


def value_text(value: float | None, unit: str) -> str:
    """A raw value with its unit: "62%", "3.1 logins/week", "4.2 (1–5)", "no data"."""
    text = number_text(value)
    if value is None or not math.isfinite(value) or not unit:
        return text
    if unit == "%":
        return numbers.percent_sign(text)
    if unit == "NPS":
        return f"NPS {text}"
    if unit == "currency":
        # In full, in the installation's currency placed as the reader's language does.
        prefix, suffix = currency_affixes(settings.CURRENCY, get_language() or "en")
        sign = MINUS if text.startswith(MINUS) else ""
        return f"{sign}{prefix}{text.lstrip(MINUS)}{suffix}"
    # A seeded unit ("logins/week") in the reader's language; a typed one as typed.
    unit = builtin(unit)
    # Scales ("1–5", "rating 1–5") describe the value rather than count it.
    if any(ch.isdigit() for ch in unit):
        return f"{text} ({unit})"
    if text == "1" and (get_language() or "en").split("-")[0] == "en":
        # "1 meeting", "1 login/week", not "1 meetings" (English units only).
        head, sep, rest = unit.partition("/")
        unit = head.removesuffix("s") + sep + rest if head.isalpha() else unit
    return f"{text} {unit}"


def _said(value: float | None, unit: str) -> str:
    """A raw value in a sentence: the measure's name already says what it counts."""
    text = number_text(value)
    return numbers.percent_sign(text) if unit == "%" and value is not None else text


# ---------------------------------------------------------------- the breakdown


@dataclass(frozen=True)
class BreakdownLine:
    measure_id: int
    name: str
    category: str
    unit: str
    raw: float | None
    sub: float | None  # 0–100; None when the measure had no data
    weight_share: float  # share of the score, 0–1; 0 when no data
    contribution: float  # points of the score (weight share × sub-score); 0 when no data
    shown: float  # the contribution rounded to 0.1 so that the shown parts add up

    @property
    def has_data(self) -> bool:
        return self.sub is not None

    @property
    def value_text(self) -> str:
        return value_text(self.raw, self.unit)

    @property
    def weight_pct(self) -> float:
        return 100 * self.weight_share


@dataclass(frozen=True)
class BreakdownCategory:
    category: str
    label: str
    lines: tuple[BreakdownLine, ...]

    @property
    def weight_share(self) -> float:
        return sum(line.weight_share for line in self.lines)

    @property
    def contribution(self) -> float:
        return sum(line.contribution for line in self.lines)

    @property
    def shown(self) -> float:
        return round(sum(line.shown for line in self.lines), 1)

    @property
    def weight_pct(self) -> float:
        return 100 * self.weight_share

    @property
    def measures_with_data(self) -> int:
        return sum(line.has_data for line in self.lines)


@dataclass(frozen=True)
class Breakdown:
    score: float | None  # as stored
    total: float  # sum of the contributions (equals the stored score up to its rounding)
    shown_total: float  # sum of the shown (0.1-rounded) contributions
    coverage: float
    categories: tuple[BreakdownCategory, ...]

    @property
    def lines(self) -> list[BreakdownLine]:
        return [line for group in self.categories for line in group.lines]

    @property
    def has_data(self) -> bool:
        return any(line.has_data for line in self.lines)


def _float_or_none(value) -> float | None:
    if value is None:
        return None
    number = float(value)
    # + 0.0 turns a stored -0.0 into 0.0, which would otherwise print as "-0".
    return number + 0.0 if math.isfinite(number) else None


def _aligned(details: Mapping, key: str, measures: Sequence[MeasureConfig]) -> list:
    """The stored list for `key`, aligned with the version's measures. Snapshots store lists in
    measure order; a snapshot that also stores "keys" (measure ids) is aligned by id."""
    values = list((details or {}).get(key) or [])
    keys = (details or {}).get("keys")
    if keys:
        by_key = dict(zip((str(k) for k in keys), values, strict=False))
        return [by_key.get(m.spec.key) for m in measures]
    return values[: len(measures)] + [None] * (len(measures) - len(values))


def _identity_specs(version: VersionConfig) -> list[engine.MeasureSpec]:
    """The version's measures, re-scored as "sub-score in, same sub-score out": the engine
    then weighs the stored sub-scores exactly as it did when it stored the score (percentile
    ranks included, whose populations are long gone)."""
    return [
        engine.MeasureSpec(
            key=m.spec.key,
            weight=m.spec.weight,
            rule=engine.RANGE,
            direction=engine.POSITIVE,
            low=0.0,
            high=100.0,
        )
        for m in version.measures
    ]


def _shown(contributions: list[float], target: float) -> list[float]:
    """Round to tenths so the parts add up to the target exactly (largest remainder)."""
    tenths = [c * 10 for c in contributions]
    floors = [math.floor(t + 1e-9) for t in tenths]
    missing = round(target * 10) - sum(floors)
    order = sorted(range(len(tenths)), key=lambda i: tenths[i] - floors[i], reverse=True)
    if missing >= 0:
        for i in order[:missing]:
            floors[i] += 1
    else:
        for i in [i for i in reversed(order) if floors[i] > 0][:-missing]:
            floors[i] -= 1
    return [f / 10 for f in floors]


def score_breakdown(
    *, score: Snapshot, version: VersionConfig, units: Mapping[int, str] | None = None
) -> Breakdown:
    """Each measure of `version` with its raw value, sub-score, weight share and contribution,
    grouped by category. `units`: metric id → Metric.unit (e.g. from metric_units())."""
    units = units or {}
    measures = version.measures
    raws = [_float_or_none(v) for v in _aligned(score.details, "raw", measures)]
    subs = [_float_or_none(v) for v in _aligned(score.details, "sub", measures)]
    if measures:
        matrix = np.array([[np.nan if s is None else s for s in subs]], dtype=np.float64)
        parts = engine.score_accounts(matrix, _identity_specs(version))
        weights = parts.weights[0].tolist()
        contributions = np.nan_to_num(parts.contributions[0]).tolist()
        coverage = float(parts.coverage[0])
    else:
        weights, contributions, coverage = [], [], 0.0
    total = float(sum(contributions))
    # The stored score, where it agrees with its parts (it was rounded to 0.01 when stored).
    stored = score.score
    target = round(stored if stored is not None and abs(stored - total) < 0.05 else total, 1)
    shown = _shown(contributions, target) if any(s is not None for s in subs) else contributions

    lines = [
        BreakdownLine(
            measure_id=m.id,
            name=m.name,
            category=m.category,
            unit=measure_unit(units.get(m.metric_id, ""), m.aggregation, m.per_seat),
            raw=raw,
            sub=sub,
            weight_share=w if sub is not None else 0.0,
            contribution=c if sub is not None else 0.0,
            shown=s if sub is not None else 0.0,
        )
        for m, raw, sub, w, c, s in zip(
            measures, raws, subs, weights, contributions, shown, strict=True
        )
    ]
    present = {line.category for line in lines}
    order = [c for c in Category.values if c in present] + sorted(present - set(Category.values))
    groups = tuple(
        BreakdownCategory(
            category=category,
            label=_category_label(category),
            lines=tuple(line for line in lines if line.category == category),
        )
        for category in order
    )
    return Breakdown(
        score=score.score,
        total=total,
        shown_total=round(sum(line.shown for line in lines), 1),
        coverage=coverage,
        categories=groups,
    )


def _category_label(category: str) -> str:
    try:
        return str(Category(category).label)  # plain text: the API sends it as JSON
    except ValueError:
        return category.replace("_", " ").capitalize()


# ---------------------------------------------------------------- what moved


@dataclass(frozen=True)
class MeasureMover:
    name: str
    category: str
    unit: str
    raw_before: float | None
    raw_after: float | None
    points_before: float
    points_after: float
    sentence: str

    @property
    def points(self) -> float:
        return self.points_after - self.points_before

    @property
    def direction(self) -> str:
        """ "up" or "down": what the change did to the score."""
        return "up" if self.points > 0 else "down"


def _signature(measure: MeasureConfig) -> tuple:
    """What a measure measures, whatever it is called: a renamed measure in a new version
    still matches its old self."""
    return (measure.metric_id, measure.aggregation, measure.window_days, measure.per_seat)


def _sentence(
    name: str,
    unit: str,
    before: BreakdownLine | None,
    after: BreakdownLine | None,
    points: float,
    new_version: int | None,
) -> str:
    words = {"name": builtin(name), "points": points_text(points), "version": new_version}
    if before is None:
        if new_version is not None:
            return gettext("%(name)s is new in v%(version)s (%(points)s)") % words
        return gettext("%(name)s now counts (%(points)s)") % words
    if after is None:
        if new_version is not None:
            return (
                gettext("%(name)s is no longer in the scorecard since v%(version)s (%(points)s)")
                % words
            )
        return gettext("%(name)s no longer counts (%(points)s)") % words
    words["was"], words["now"] = _said(before.raw, unit), _said(after.raw, unit)
    if not before.has_data:
        return gettext("%(name)s now has data: %(now)s (%(points)s)") % words
    if not after.has_data:
        return (
            gettext(
                "%(name)s has no recent data (was %(was)s), so it no longer counts (%(points)s)"
            )
            % words
        )
    if words["was"] == words["now"]:
        # Same value, different points: other measures gained or lost data, or the weights
        # of a new version differ.
        return (
            gettext(
                "%(name)s stayed at %(now)s but weighs differently in the score now (%(points)s)"
            )
            % words
        )
    if (after.raw or 0) > (before.raw or 0):
        return gettext("%(name)s rose from %(was)s to %(now)s (%(points)s)") % words
    return gettext("%(name)s fell from %(was)s to %(now)s (%(points)s)") % words


def score_movers(
    *,
    current: Snapshot,
    previous: Snapshot | None,
    version_current: VersionConfig,
    version_previous: VersionConfig | None,
    units: Mapping[int, str] | None = None,
    limit: int | None = 3,
) -> list[MeasureMover]:
    """The measures whose contributions changed most between two snapshots (biggest first),
    each with a sentence a CSM can repeat: "Logins per seat per week fell from 3.1 to 1.4
    (−6.2 points)". Measures are matched by id, then by name, then by what they measure, so a
    change of scorecard version still compares like with like."""
    if previous is None or version_previous is None:
        return []
    after = score_breakdown(score=current, version=version_current, units=units)
    before = score_breakdown(score=previous, version=version_previous, units=units)
    changed_version = version_current.id != version_previous.id
    new_number = version_current.number if changed_version else None

    by_id = {m.id: m for m in version_previous.measures}
    old_lines = {line.measure_id: line for line in before.lines}
    by_name = {line.name.strip().casefold(): line for line in before.lines}
    by_signature = {_signature(m): old_lines[m.id] for m in version_previous.measures}
    current_measures = {m.id: m for m in version_current.measures}

    movers: list[MeasureMover] = []
    matched: set[int] = set()
    for line in after.lines:
        measure = current_measures[line.measure_id]
        old = (
            old_lines.get(line.measure_id)
            if line.measure_id in by_id
            else by_name.get(line.name.strip().casefold()) or by_signature.get(_signature(measure))
        )
        if old is not None and old.measure_id in matched:
            old = None
        if old is not None:
            matched.add(old.measure_id)
        movers.append(_mover(line.name, line.category, line.unit, old, line, new_number))
    for old in before.lines:
        if old.measure_id not in matched:
            movers.append(_mover(old.name, old.category, old.unit, old, None, new_number))

    movers = [m for m in movers if abs(m.points) >= MIN_MOVE]
    movers.sort(key=lambda m: (-abs(m.points), m.name))
    return movers[:limit] if limit is not None else movers


def _mover(
    name: str,
    category: str,
    unit: str,
    before: BreakdownLine | None,
    after: BreakdownLine | None,
    new_version: int | None,
) -> MeasureMover:
    points_before = before.contribution if before is not None else 0.0
    points_after = after.contribution if after is not None else 0.0
    return MeasureMover(
        name=name,
        category=category,
        unit=unit,
        raw_before=before.raw if before is not None else None,
        raw_after=after.raw if after is not None else None,
        points_before=points_before,
        points_after=points_after,
        sentence=_sentence(name, unit, before, after, points_after - points_before, new_version),
    )


def metric_units() -> dict[int, str]:
    """Metric id → unit, for score_breakdown and score_movers. One query; call it once per
    page, not per account."""
    from accounts.models import Metric

    return dict(Metric.objects.values_list("pk", "unit"))
