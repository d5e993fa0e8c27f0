"""What an Admin asks of an analysis: which scorecard version (or draft), the period and the
horizon. The form only names them; scoring.analytics.services.parse_parameters has the last
word (its AnalysisInputError is shown on the form)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from scoring.analytics.backtest import HORIZON_DAYS
from scoring.analytics.services import MAX_HORIZON_DAYS

ACTIVE = "active"


def default_period(today: dt.date, horizon: int = HORIZON_DAYS) -> tuple[dt.date, dt.date]:
    """A year of evaluation dates ending when the horizon has just passed: every date usable."""
    end = today - dt.timedelta(days=horizon)
    return end - dt.timedelta(days=365), end


class AnalysisForm(forms.Form):
    version = forms.ChoiceField(label=_("Scorecard"))
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    horizon = forms.IntegerField(
        label=_("Horizon (days)"),
        min_value=1,
        max_value=MAX_HORIZON_DAYS,
        initial=HORIZON_DAYS,
        help_text=_("Churn counted within this many days after each evaluation date."),
    )

    def __init__(self, *args, choices: list[tuple[str, str]], today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].choices = choices
        start, end = default_period(today)
        self.fields["start"].initial, self.fields["end"].initial = start, end

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", gettext("The period ends before it starts."))
        return data

    def parameters(self, *, names: dict[str, str]) -> dict:
        """The analysis's parameters (scorecard by name, draft number or None)."""
        card_pk, _sep, which = self.cleaned_data["version"].partition(":")
        return {
            "scorecard": names[card_pk],
            "draft": None if which == ACTIVE else int(which),
            "from": self.cleaned_data["start"].isoformat(),
            "to": self.cleaned_data["end"].isoformat(),
            "horizon": self.cleaned_data["horizon"],
        }

    @classmethod
    def initial_from(cls, parameters: dict, *, names: dict[str, str]) -> dict:
        """The form's values for a stored analysis's parameters (to refresh it as it was)."""
        by_name = {name: pk for pk, name in names.items()}
        card = by_name.get(parameters.get("scorecard"))
        if card is None:
            return {}
        draft = parameters.get("draft")
        return {
            "version": f"{card}:{ACTIVE if draft is None else draft}",
            "start": parameters.get("from"),
            "end": parameters.get("to"),
            "horizon": parameters.get("horizon"),
        }
