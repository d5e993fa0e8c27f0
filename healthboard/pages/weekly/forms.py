"""The weekly review's GET parameters: which week, what the chart counts, what to export.

`week` is any date (YYYY-MM-DD) and stands for the Monday–Sunday week around it; a value the
form does not know falls back to the default and is named in `ignored`, never an error page
(healthboard.pages.filters.ParamsForm).
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.http import QueryDict
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from healthboard.lib.dates import day_text, short_day_text
from healthboard.pages.filters import ACCOUNTS, MEASURES, ParamsForm
from healthboard.pages.weekly.selectors import week_end_default
from scoring.rollups.weeks import WEEK, week_end_of

EXPORTS = ("movers", "csms")
# The picker lists at most this many weeks back from the newest.
PICKER_WEEKS = 52


class WeekChoice(ParamsForm):
    """The cleaned parameters. `week_end` is the Sunday of the chosen week."""

    week = forms.CharField(required=False)
    measure = forms.ChoiceField(
        choices=list(MEASURES.items()),
        required=False,
        error_messages={"invalid_choice": _("use accounts or arr")},
    )
    export = forms.ChoiceField(
        choices=[(export, export) for export in EXPORTS],
        required=False,
        error_messages={"invalid_choice": _("use movers or csms")},
    )

    quote_limit = 30

    def __init__(self, data: QueryDict, *, today: dt.date) -> None:
        self.today = today
        self.default_week = week_end_default(today)
        data = data.copy()
        for name in self.base_fields:
            if name in data:
                data[name] = data[name].strip()
        super().__init__(data)
        week = self.cleaned_data.get("week")
        self.explicit = week is not None
        self.week_end = week or self.default_week
        # Not `measure`: a template's choice.measure would be the form's field.
        self.chart_measure = self.cleaned_data.get("measure") or ACCOUNTS
        self.export = self.cleaned_data.get("export") or ""

    def clean_week(self) -> dt.date | None:
        """The Sunday of the week around the date given; None when none is."""
        raw = self.cleaned_data["week"]
        if not raw:
            return None
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            raise forms.ValidationError(gettext("not a date; use YYYY-MM-DD")) from None
        # Compared before the week's Sunday is computed: near 9999-12-31 that overflows.
        if day > week_end_of(self.today):
            raise forms.ValidationError(gettext("that week has not begun"))
        week_end = week_end_of(day)
        if week_end > week_end_of(self.today):
            raise forms.ValidationError(gettext("that week has not begun"))
        return week_end

    def ignored_text(self, name: str, value: str | None, reason: str) -> str:
        text = super().ignored_text(name, value, reason)
        if name == "week":
            text = gettext("%(problem)s: showing the week ending %(day)s") % {
                "problem": text,
                "day": day_text(self.default_week),
            }
        return text

    def fall_back(self, reason: str) -> None:
        """The chosen week has nothing to show: the default week instead, and why."""
        self.ignored.append(reason)
        self.week_end = self.default_week
        self.explicit = False

    def query(self, **changes) -> QueryDict:
        """The applied parameters as a URL query (defaults left out), with `changes`."""
        values = {
            "week": self.week_end.isoformat() if self.explicit else "",
            "measure": self.chart_measure if self.chart_measure != ACCOUNTS else "",
        }
        values.update({k: "" if v is None else str(v) for k, v in changes.items()})
        query = QueryDict(mutable=True)
        for key, value in values.items():
            if value:
                query[key] = value
        return query

    def weeks(self, *, first: dt.date, last: dt.date) -> list[dict]:
        """The picker's choices, newest first: every week with a done run, up to PICKER_WEEKS
        (and the chosen one, wherever it is)."""
        newest = week_end_of(last)
        oldest = max(week_end_of(first), newest - WEEK * (PICKER_WEEKS - 1))
        choices = []
        sunday = newest
        while sunday >= oldest:
            choices.append(sunday)
            sunday -= WEEK
        if self.week_end not in choices:
            choices.append(self.week_end)
            choices.sort(reverse=True)
        return [
            {
                "value": sunday.isoformat(),
                "label": self._label(sunday),
                "selected": sunday == self.week_end,
            }
            for sunday in choices
        ]

    def _label(self, sunday: dt.date) -> str:
        monday = sunday - dt.timedelta(days=6)
        text = f"{date_format(monday, 'j M')} – {short_day_text(sunday)}"
        if sunday >= self.today:
            return gettext("%(week)s (this week, so far)") % {"week": text}
        if sunday == self.default_week:
            return gettext("%(week)s (last week)") % {"week": text}
        return text
