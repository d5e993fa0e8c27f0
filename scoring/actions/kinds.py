"""The kinds of CTA rule and their parameters: the one home of their names, limits and
defaults, read by the rule editor's form, the evaluation and the seeded rules alike.

Pure: no queries. A rule's stored `parameters` are checked with `parameters_clean`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scoring.bands import Band
from scoring.models.actions import CtaType, Priority


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    default: int | str
    minimum: int = 0
    maximum: int = 3650
    # "int": a whole number in [minimum, maximum]; "band": yellow or red; "metric": a catalogue key.
    type: str = "int"
    help: str = ""


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    # How the condition reads with its parameters filled in ("{points}" …), for the editor
    # and for the reason a CTA gives.
    condition: str
    params: tuple[Param, ...] = field(default_factory=tuple)
    cta_type: str = CtaType.RISK
    priority: int = Priority.MEDIUM

    def describe(self, parameters: dict) -> str:
        values = {param.name: parameters.get(param.name, param.default) for param in self.params}
        if "band" in values:
            values["band"] = Band.of(values["band"]).label.lower()
        return self.condition.format(**values)


def _metric(default: str, label: str = "Metric") -> Param:
    return Param(
        "metric", label, default, type="metric", help="The catalogue metric the rule reads."
    )


KINDS: dict[str, Kind] = {
    kind.key: kind
    for kind in (
        Kind(
            "band_worse",
            "Band got worse",
            "The account turned {band} from a better band since the previous run.",
            (Param("band", "Turned", Band.RED, type="band"),),
            priority=Priority.HIGH,
        ),
        Kind(
            "score_drop",
            "Score dropped",
            "The score dropped by {points} points or more within {days} days.",
            (
                Param("points", "Points", 15, minimum=1, maximum=100),
                Param("days", "Within (days)", 7, minimum=1, maximum=90),
            ),
        ),
        Kind(
            "renewal_at_risk",
            "At risk near renewal",
            "The account is at risk or unhealthy and renews within {days} days.",
            (Param("days", "Renews within (days)", 90, minimum=1, maximum=730),),
            priority=Priority.HIGH,
        ),
        Kind(
            "complaint_open",
            "Unresolved complaint",
            "A complaint ({metric} above 0) has been unresolved for more than {days} days.",
            (
                Param("days", "Unresolved for (days)", 14, minimum=0, maximum=365),
                _metric("unresolved_complaints"),
            ),
        ),
        Kind(
            "invoice_late",
            "Invoice late",
            "The latest invoice ({metric}) is {days} or more days late.",
            (
                Param("days", "Days late", 30, minimum=1, maximum=365),
                _metric("invoice_days_late"),
            ),
            cta_type=CtaType.LIFECYCLE,
        ),
        Kind(
            "no_login",
            "No login",
            "No {metric} signal above 0 for {days} days.",
            (Param("days", "Days without", 30, minimum=1, maximum=365), _metric("logins")),
        ),
        Kind(
            "promoter_healthy",
            "Healthy promoter",
            "The account is healthy and its last {metric} answer within {days} days was "
            "{minimum} or more: ask for a review, a case study or a referral.",
            (
                Param("minimum", "Answer at least", 9, minimum=0, maximum=10),
                Param("days", "Answered within (days)", 180, minimum=1, maximum=730),
                _metric("nps"),
            ),
            cta_type=CtaType.EXPANSION,
            priority=Priority.LOW,
        ),
    )
}

WORSE_BANDS = (Band.YELLOW, Band.RED)


def parameters_clean(kind_key: str, parameters: dict, metric_keys: set[str]) -> dict:
    """The rule's parameters with defaults filled in; ValueError naming the first bad one."""
    kind = KINDS.get(kind_key)
    if kind is None:
        raise ValueError(f"Unknown rule kind {kind_key!r}.")
    cleaned: dict = {}
    for param in kind.params:
        value = parameters.get(param.name, param.default)
        if param.type == "int":
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ValueError(f"{param.label}: {value!r} is not a whole number.") from None
            if not param.minimum <= value <= param.maximum:
                raise ValueError(
                    f"{param.label}: {value} is outside {param.minimum}–{param.maximum}."
                )
        elif param.type == "band":
            if value not in WORSE_BANDS:
                raise ValueError(f"{param.label}: choose yellow or red, not {value!r}.")
        elif param.type == "metric" and value not in metric_keys:
            raise ValueError(f"{param.label}: no metric {value!r} in the catalogue.")
        cleaned[param.name] = value
    return cleaned
