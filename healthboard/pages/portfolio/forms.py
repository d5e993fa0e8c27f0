"""The portfolio's GET filter form: the account filters (healthboard.pages.filters) and the
portfolio's own — moved this week, scores on a date, was in a band a week before, the sort.

Its parameters are also a contract other pages link with (the weekly review:
`?date=D&prev_band=red&band=yellow&owner=all`), so a value it does not know is dropped and
named in `ignored`, never an error page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from healthboard.pages.filters import BAND_CHOICES, AccountFilterForm
from healthboard.pages.portfolio.selectors import PortfolioFilters, sort_is_valid

DEFAULT_SORT = "score"


class PortfolioFilterForm(AccountFilterForm):
    moved = forms.FloatField(
        label=_("Moved this week ≥ (pts)"),
        required=False,
        min_value=0,
        max_value=100,
        error_messages={
            "invalid": _("not a number of points"),
            "min_value": _("must be 0 points or more"),
            "max_value": _("must be at most 100 points"),
        },
        widget=forms.NumberInput(attrs={"placeholder": _("e.g. 10"), "step": "any"}),
    )
    date = forms.DateField(
        label=_("Scores on"),
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _("not a date; use YYYY-MM-DD")},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    # Set by links, not typed: the weekly review's "was in this band" and the column sort.
    prev_band = forms.MultipleChoiceField(
        choices=BAND_CHOICES, required=False, widget=forms.MultipleHiddenInput
    )
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    band_params = ("band", "prev_band")
    more_typed = (("renewal", "num"), ("moved", "num"), ("date", "date"))
    defaults = {"sort": DEFAULT_SORT}

    def clean_sort(self) -> str:
        sort = self.cleaned_data["sort"] or DEFAULT_SORT
        if not sort_is_valid(sort):
            raise forms.ValidationError(gettext("not a column to sort by"))
        return sort

    @property
    def scores_on(self) -> dt.date | None:
        return self.cleaned_data.get("date")

    def filters(self) -> PortfolioFilters:
        data = self.cleaned_data
        return PortfolioFilters(
            **asdict(self.account_filters()),
            prev_bands=tuple(data.get("prev_band") or ()),
            moved=data.get("moved"),
            sort=data.get("sort") or DEFAULT_SORT,
        )
