"""The kinds of CTA rule and their parameters: the one home of their names, limits and
defaults, read by the rule editor's form, the evaluation and the seeded rules alike.

Pure: no queries. A rule's stored `parameters` are checked with `parameters_clean`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.i18n import builtin, in_sentence
from accounts.models import Metric
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

    def describe(self, parameters: dict, metric_names: Mapping[str, str] | None = None) -> str:
        """The condition with its parameters, in the active language; the metric by its name
        in the catalogue (`metric_names`: key → name, see metric_names()), not its key."""
        values = {param.name: parameters.get(param.name, param.default) for param in self.params}
        if "band" in values:
            values["band"] = Band.of(values["band"]).label.lower()
        condition = str(self.condition)
        if "metric" in values and metric_names and values["metric"] in metric_names:
            name = builtin(metric_names[values["metric"]])
            values["metric"] = name if condition.startswith("{metric}") else in_sentence(name)
        return condition.format(**values)


def metric_names() -> dict[str, str]:
    """The catalogue's metric names by key, for describe(): one query."""
    return dict(Metric.objects.values_list("key", "name"))


def _metric(default: str) -> Param:
    return Param(
        "metric",
        _("Metric"),
        default,
        type="metric",
        help=_("The catalogue metric the rule reads."),
    )


KINDS: dict[str, Kind] = {
    kind.key: kind
    for kind in (
        Kind(
            "band_worse",
            _("Band got worse"),
            _("The account turned {band} from a better band since the previous run."),
            (Param("band", _("Turned"), Band.RED, type="band"),),
            priority=Priority.HIGH,
        ),
        Kind(
            "score_drop",
            _("Score dropped"),
            _("The score dropped by {points} points or more within {days} days."),
            (
                Param("points", _("Points"), 15, minimum=1, maximum=100),
                Param("days", _("Within (days)"), 7, minimum=1, maximum=90),
            ),
        ),
        Kind(
            "renewal_at_risk",
            _("At risk near renewal"),
            _("The account is at risk or unhealthy and renews within {days} days."),
            (Param("days", _("Renews within (days)"), 90, minimum=1, maximum=730),),
            priority=Priority.HIGH,
        ),
        Kind(
            "complaint_open",
            _("Unresolved complaint"),
            _("A complaint ({metric} above 0) has been unresolved for more than {days} days."),
            (
                Param("days", _("Unresolved for (days)"), 14, minimum=0, maximum=365),
                _metric("unresolved_complaints"),
            ),
        ),
        Kind(
            "invoice_late",
            _("Invoice late"),
            _("The latest invoice ({metric}) is {days} or more days late."),
            (
                Param("days", _("Days late"), 30, minimum=1, maximum=365),
                _metric("invoice_days_late"),
            ),
            cta_type=CtaType.LIFECYCLE,
        ),
        Kind(
            "no_login",
            _("No login"),
            _("No {metric} signal above 0 for {days} days."),
            (Param("days", _("Days without"), 30, minimum=1, maximum=365), _metric("logins")),
        ),
        Kind(
            "promoter_healthy",
            _("Healthy promoter"),
            _(
                "The account is healthy and its last {metric} answer within {days} days was "
                "{minimum} or more: ask for a review, a case study or a referral."
            ),
            (
                Param("minimum", _("Answer at least"), 9, minimum=0, maximum=10),
                Param("days", _("Answered within (days)"), 180, minimum=1, maximum=730),
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
        raise ValueError(gettext("Unknown rule kind %(kind)r.") % {"kind": kind_key})
    cleaned: dict = {}
    for param in kind.params:
        value = parameters.get(param.name, param.default)
        if param.type == "int":
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ValueError(
                    gettext("%(param)s: %(value)r is not a whole number.")
                    % {"param": param.label, "value": value}
                ) from None
            if not param.minimum <= value <= param.maximum:
                raise ValueError(
                    gettext("%(param)s: %(value)s is outside %(minimum)s–%(maximum)s.")
                    % {
                        "param": param.label,
                        "value": value,
                        "minimum": param.minimum,
                        "maximum": param.maximum,
                    }
                )
        elif param.type == "band":
            if value not in WORSE_BANDS:
                raise ValueError(
                    gettext("%(param)s: choose yellow or red, not %(value)r.")
                    % {"param": param.label, "value": value}
                )
        elif param.type == "metric" and value not in metric_keys:
            raise ValueError(
                gettext("%(param)s: no metric %(value)r in the catalogue.")
                % {"param": param.label, "value": value}
            )
        cleaned[param.name] = value
    return cleaned
