"""The forms on a CTA's card: done with an outcome, snooze, comment, a checklist step; and the
inbox's GET parameters. They check the shape of the input; scoring.actions.services checks
the rest (dates after today, active outcomes) and its errors land on the same fields."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from healthboard.pages.actions.selectors import DUE, TABS
from healthboard.pages.formlabels import model_label
from scoring.models.actions import CallToAction, CtaType, Outcome, Priority

SNOOZE_DEFAULT_DAYS = 7


class DoneForm(forms.Form):
    outcome = forms.ModelChoiceField(
        queryset=Outcome.objects.filter(active=True),
        error_messages={
            "required": _("Choose an outcome: how did it end?"),
            "invalid_choice": _("That outcome is no longer offered: choose another."),
        },
    )
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea)


class SnoozeForm(forms.Form):
    until = forms.DateField(
        error_messages={
            "required": _("Choose the date it should come back."),
            "invalid": _("Enter a date as YYYY-MM-DD."),
        }
    )
    reason = forms.CharField(max_length=200, error_messages={"required": _("Say why it can wait.")})

    @staticmethod
    def default_until(today: dt.date) -> dt.date:
        return today + dt.timedelta(days=SNOOZE_DEFAULT_DAYS)


class CommentForm(forms.Form):
    body = forms.CharField(
        max_length=2000, error_messages={"required": _("Write the comment first.")}
    )


class StepForm(forms.Form):
    # A checkbox sends nothing when unticked: absent means "not done".
    done = forms.BooleanField(required=False)


class CtaCreateForm(forms.Form):
    title = forms.CharField(label=model_label(CallToAction, "title"), max_length=200)
    reason = forms.CharField(
        label=model_label(CallToAction, "reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why, in words: the owner reads it."),
    )
    due_date = forms.DateField(label=_("Due"), widget=forms.DateInput(attrs={"type": "date"}))
    cta_type = forms.ChoiceField(label=_("Type"), choices=CtaType.choices, initial=CtaType.RISK)
    priority = forms.TypedChoiceField(
        label=model_label(CallToAction, "priority"),
        choices=Priority.choices,
        coerce=int,
        initial=Priority.MEDIUM,
    )


def inbox_tab(value: str | None) -> str:
    """The tab asked for; an unknown one is the default (due now)."""
    return value if value in TABS else DUE
