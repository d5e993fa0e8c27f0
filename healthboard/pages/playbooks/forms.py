"""The playbook editor's forms: its name, and its steps as a formset whose order is the
order of the rows (moved up and down by `steps_apply_op`, which rewrites the submitted data
before it is bound, like the scorecard editor's measures)."""

from __future__ import annotations

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from healthboard.pages.formlabels import model_label
from scoring.models.actions import Playbook, PlaybookStep

STEPS_PREFIX = "steps"
MAX_STEPS = 30
STEP_LENGTH = PlaybookStep._meta.get_field("text").max_length


class PlaybookForm(forms.Form):
    # Not a ModelForm: the page's title keeps the stored name while a typed one is invalid.
    name = forms.CharField(
        label=model_label(Playbook, "name"), max_length=Playbook._meta.get_field("name").max_length
    )


class StepForm(forms.Form):
    # Blank rows are the "add a step" slots: left empty, they are no step.
    text = forms.CharField(
        label=_("Step"),
        max_length=STEP_LENGTH,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("A short thing to do")}),
    )


class BaseStepFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        # Counted here, not by validate_max: blank "add" rows and removed ones are no step.
        if not any(self.errors) and len(steps_kept(self)) > MAX_STEPS:
            raise forms.ValidationError(
                gettext(
                    "A playbook has at most %(max)s steps; this one would have %(count)s. Remove "
                    "some, or merge short ones."
                )
                % {"max": MAX_STEPS, "count": len(steps_kept(self))}
            )


StepFormSet = forms.formset_factory(
    StepForm,
    formset=BaseStepFormSet,
    extra=1,
    can_delete=True,
    max_num=MAX_STEPS,
    absolute_max=MAX_STEPS * 3,
)


def step_formset(playbook: Playbook, data: QueryDict | None = None):
    initial = [{"text": text} for text in playbook.steps.values_list("text", flat=True)]
    return StepFormSet(data, initial=initial, prefix=STEPS_PREFIX)


def steps_kept(formset) -> list[str]:
    """The steps to save, in the rows' order: neither removed nor blank."""
    return [
        form.cleaned_data["text"]
        for form in formset.forms
        if form.cleaned_data.get("text") and not form.cleaned_data.get("DELETE")
    ]


def _int(value, default: int = -1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def steps_apply_op(data: QueryDict, op: str) -> QueryDict:
    """Add a blank row ("add"), or swap a row with the one above or below ("up:3",
    "down:3"; 3 = the row's index), on the submitted, unsaved data. Unknown operations and
    moves past either end change nothing."""
    data = data.copy()
    total = _int(data.get(f"{STEPS_PREFIX}-TOTAL_FORMS"), 0)
    action, _sep, arg = op.partition(":")
    if action == "add" and total < MAX_STEPS:
        data[f"{STEPS_PREFIX}-{total}-text"] = ""
        data[f"{STEPS_PREFIX}-TOTAL_FORMS"] = str(total + 1)
    elif action in ("up", "down"):
        index = _int(arg)
        other = index + (-1 if action == "up" else 1)
        if 0 <= index < total and 0 <= other < total:
            for name in ("text", "DELETE"):
                a, b = f"{STEPS_PREFIX}-{index}-{name}", f"{STEPS_PREFIX}-{other}-{name}"
                va, vb = data.get(a), data.get(b)
                for key, value in ((a, vb), (b, va)):
                    if value is None:
                        data.pop(key, None)
                    else:
                        data[key] = value
    return data
