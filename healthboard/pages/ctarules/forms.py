"""The rule editor's form: the rule's own fields, then its kind's parameters as real fields
built from the kind's Param specs (scoring/actions/kinds.py), so the page offers exactly what
the evaluation reads, with the same limits and defaults."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Metric
from scoring.actions.kinds import KINDS, WORSE_BANDS, Kind, Param, metric_names, parameters_clean
from scoring.models.actions import ActionRule

# Parameter fields are named apart from the rule's own ("days" would be ambiguous beside
# "due_days"); the preview reads them by the same names.
PARAM_PREFIX = "p_"

KIND_CHOICES = [(kind.key, kind.label) for kind in KINDS.values()]


# Each condition in words with its defaults, for the Admin choosing one.
def kind_summaries() -> list[tuple[str, str, str]]:
    """Each kind with its condition at the defaults, in the reader's language."""
    names = metric_names()
    return [(kind.key, kind.label, kind.describe({}, names)) for kind in KINDS.values()]


def _param_field(param: Param, metrics: list[tuple[str, str]]) -> forms.Field:
    common = {"label": param.label, "initial": param.default, "help_text": param.help}
    if param.type == "band":
        choices = [(band.value, band.label) for band in WORSE_BANDS]
        return forms.ChoiceField(choices=choices, **common)
    if param.type == "metric":
        return forms.ChoiceField(choices=metrics, **common)
    help_text = param.help or gettext("A whole number from %(minimum)s to %(maximum)s.") % {
        "minimum": param.minimum,
        "maximum": param.maximum,
    }
    return forms.IntegerField(
        min_value=param.minimum, max_value=param.maximum, **{**common, "help_text": help_text}
    )


class KindForm(forms.Form):
    """The first step of a new rule: which condition it watches."""

    # A blank first choice: picking any condition, the first one too, is a change.
    kind = forms.ChoiceField(
        label=_("Condition"), choices=[("", _("Choose a condition…")), *KIND_CHOICES]
    )


class ParametersForm(forms.Form):
    """A kind's parameters, each a field with the spec's limits; `parameters` holds them
    checked by the kind's own rule (parameters_clean) once the form is valid. Alone it is
    the preview's form; with a RuleForm it is the editor's second half."""

    def __init__(self, *args, kind: Kind, stored: dict | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.parameters: dict = {}
        metrics = list(Metric.objects.order_by("name").values_list("key", "name"))
        self.metric_keys = {key for key, _label in metrics}
        self.metric_names = dict(metrics)
        for param in kind.params:
            field = _param_field(param, metrics)
            if stored and param.name in stored:
                field.initial = stored[param.name]
            self.fields[PARAM_PREFIX + param.name] = field

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors:
            typed = {p.name: data[PARAM_PREFIX + p.name] for p in self.kind.params}
            try:
                self.parameters = parameters_clean(self.kind.key, typed, self.metric_keys)
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from None
        return data

    def describe(self) -> str:
        """The condition in words with the typed values once valid, else the defaults'."""
        return self.kind.describe(self.parameters, self.metric_names)


class RuleForm(forms.ModelForm):
    """A rule of one kind, with its parameters (`self.params`). The kind is chosen before (a
    new rule) or fixed (an existing one, whose CTAs were opened for that condition)."""

    class Meta:
        model = ActionRule
        fields = [
            "name",
            "cta_type",
            "priority",
            "due_days",
            "cooldown_days",
            "auto_close",
            "enabled",
        ]
        help_texts = {"enabled": _("Off: the rule opens no CTAs (its open ones stay open).")}

    def __init__(self, data=None, *, kind: Kind, instance: ActionRule | None = None) -> None:
        if instance is None:
            instance = ActionRule(kind=kind.key, cta_type=kind.cta_type, priority=kind.priority)
        super().__init__(data, instance=instance)
        self.kind = kind
        self.fields["name"].widget.attrs["placeholder"] = kind.label
        self.params = ParametersForm(data, kind=kind, stored=instance.parameters)

    def is_valid(self) -> bool:
        # Both halves, always: each shows its own errors.
        return all([super().is_valid(), self.params.is_valid()])

    def rule(self) -> ActionRule:
        """The rule as typed, not saved (call after is_valid())."""
        self.instance.parameters = self.params.parameters
        return self.instance
