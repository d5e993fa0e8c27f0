"""What a scorecard version says, as plain data, and a readable diff between two of them.

The audit trail keeps the diff as lines an admin reads ("Weight of NPS 1.5 → 2"), not as a
data dump: the point is to settle "who changed the support weight, and when?" at a glance.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from scoring.models import Category, Measure, ScorecardVersion

CATEGORY_LABELS = dict(Category.choices)

# Measure fields an admin edits, with how a change reads.
MEASURE_FIELDS = (
    ("metric", _("Metric")),
    ("aggregation", _("Aggregation")),
    ("window_days", _("Window")),
    ("per_seat", _("Per seat")),
    ("rule", _("Rule")),
    ("direction", _("Direction")),
    ("red", _("Red threshold")),
    ("green", _("Green threshold")),
    ("low", _("Range low")),
    ("high", _("Range high")),
    ("weight", _("Weight")),
)
BAND_FIELDS = (
    ("band_mode", _("Band mode")),
    ("green_at", _("Healthy band from")),
    ("red_below", _("Unhealthy band below")),
    ("top_share", _("Healthy share (percentile bands)")),
    ("bottom_share", _("Unhealthy share (percentile bands)")),
    ("min_coverage", _("Minimum coverage")),
)
SHARES = {"top_share", "bottom_share", "min_coverage"}


def number(value: float | None) -> str:
    if value is None:
        return "none"
    return f"{value:g}"


def _measure(m: Measure) -> dict[str, Any]:
    return {
        "name": m.name,
        "category": m.category,
        "metric": m.metric.name,
        "aggregation": m.get_aggregation_display(),
        "window_days": m.window_days,
        "per_seat": m.per_seat,
        "rule": m.get_rule_display(),
        "direction": m.get_direction_display(),
        "red": m.red,
        "green": m.green,
        "low": m.low,
        "high": m.high,
        "weight": m.weight,
    }


def version_snapshot(version: ScorecardVersion) -> dict[str, Any]:
    """Bands, category weights and measures (in scoring order) of a saved version."""
    measures = version.measures.select_related("metric").order_by("order", "id")
    return {
        "bands": {
            "band_mode": version.get_band_mode_display(),
            "green_at": version.green_at,
            "red_below": version.red_below,
            "top_share": version.top_share,
            "bottom_share": version.bottom_share,
            "min_coverage": version.min_coverage,
        },
        "categories": {cw.category: cw.weight for cw in version.category_weights.all()},
        "measures": [_measure(m) for m in measures],
    }


def _value(field: str, value: Any) -> str:
    if field in SHARES and isinstance(value, int | float):
        return f"{value * 100:g} %"
    if field == "window_days":
        return f"{value} days"
    if field == "per_seat":
        return "yes" if value else "no"
    if isinstance(value, float | int) or value is None:
        return number(value)
    return str(value)


def _pair_measures(old: list[dict], new: list[dict]) -> tuple[list, list, list]:
    """(pairs, removed, added): matched by name, then a rename by metric and aggregation."""
    old_left = list(old)
    pairs, added = [], []
    for m in new:
        match = next((o for o in old_left if o["name"] == m["name"]), None)
        if match is not None:
            old_left.remove(match)
            pairs.append((match, m))
        else:
            added.append(m)
    still_added = []
    for m in added:
        match = next(
            (
                o
                for o in old_left
                if (o["metric"], o["aggregation"], o["category"])
                == (m["metric"], m["aggregation"], m["category"])
            ),
            None,
        )
        if match is not None:
            old_left.remove(match)
            pairs.append((match, m))
        else:
            still_added.append(m)
    return pairs, old_left, still_added


def _describe(m: dict) -> str:
    return gettext(
        "“%(name)s” (%(category)s: %(metric)s, %(aggregation)s over %(days)s days, weight "
        "%(weight)s)"
    ) % {
        "name": m["name"],
        "category": CATEGORY_LABELS.get(m["category"], m["category"]),
        "metric": m["metric"],
        "aggregation": m["aggregation"].lower(),
        "days": m["window_days"],
        "weight": number(m["weight"]),
    }


def snapshot_diff(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """Readable lines for everything that differs; [] when nothing does."""
    if old is None:
        return [gettext("First version: %(count)s measures.") % {"count": len(new["measures"])}]
    lines = []
    for field, label in BAND_FIELDS:
        before, after = old["bands"].get(field), new["bands"].get(field)
        if before != after:
            lines.append(
                gettext("%(label)s %(before)s → %(after)s")
                % {"label": label, "before": _value(field, before), "after": _value(field, after)}
            )
    for category in Category.values:
        before, after = old["categories"].get(category), new["categories"].get(category)
        if before != after:
            label = CATEGORY_LABELS[category]
            lines.append(
                gettext("Weight of category %(category)s %(before)s → %(after)s")
                % {"category": label, "before": number(before), "after": number(after)}
            )
    pairs, removed, added = _pair_measures(old["measures"], new["measures"])
    for m in added:
        lines.append(gettext("Added measure %(measure)s") % {"measure": _describe(m)})
    for m in removed:
        lines.append(gettext("Removed measure “%(name)s”") % {"name": m["name"]})
    for before, after in pairs:
        name = after["name"]
        if before["name"] != name:
            lines.append(
                gettext("Renamed measure “%(before)s” → “%(after)s”")
                % {"before": before["name"], "after": name}
            )
        if before["category"] != after["category"]:
            lines.append(
                gettext("Moved %(name)s from %(before)s to %(after)s")
                % {
                    "name": name,
                    "before": CATEGORY_LABELS.get(before["category"]),
                    "after": CATEGORY_LABELS.get(after["category"]),
                }
            )
        for field, label in MEASURE_FIELDS:
            if before[field] != after[field]:
                lines.append(
                    gettext("%(label)s of %(name)s %(before)s → %(after)s")
                    % {
                        "label": label,
                        "name": name,
                        "before": _value(field, before[field]),
                        "after": _value(field, after[field]),
                    }
                )
    lines += _order_lines(old["measures"], new["measures"])
    return lines


def _order_lines(old: list[dict], new: list[dict]) -> list[str]:
    lines = []
    for category in Category.values:
        before = [m["name"] for m in old if m["category"] == category]
        after = [m["name"] for m in new if m["category"] == category]
        common = [n for n in after if n in before]
        if common != [n for n in before if n in after]:
            lines.append(
                gettext("Reordered the measures of %(category)s")
                % {"category": CATEGORY_LABELS[category]}
            )
    return lines


def diff_summary(lines: list[str], limit: int = 3) -> str:
    if not lines:
        return gettext("No changes")
    shown = "; ".join(lines[:limit])
    more = len(lines) - limit
    text = shown
    if more > 0:
        text = gettext("%(shown)s; and %(more)s more") % {"shown": shown, "more": more}
    return text if len(text) <= 200 else text[:199] + "…"
