"""The journey board's GET filter form: owner, segment and health, the portfolio's filters
(healthboard.pages.filters) with the same parameters, so "show all in the portfolio" carries
them unchanged; and what the chart counts. A value it does not know is dropped and named in
`ignored`, never an error page.
"""

from __future__ import annotations

from django import forms
from django.http import QueryDict

from healthboard.pages.filters import ACCOUNTS, MEASURES, AccountFilterForm, AccountFilters


class JourneyFilterForm(AccountFilterForm):
    # The board has no search, stage (its columns are the stages) or renewal filter.
    q = stage = renewal = None
    # Set by the chart's toggle links, carried by the form.
    measure = forms.ChoiceField(
        choices=list(MEASURES.items()), required=False, widget=forms.HiddenInput
    )

    field_order = ["owner", "segment", "band", "measure"]
    defaults = {"measure": ACCOUNTS}

    @property
    def chart_measure(self) -> str:
        return self.cleaned_data.get("measure") or ACCOUNTS

    def filters(self) -> AccountFilters:
        return self.account_filters()

    def portfolio_query(self, stage_slug: str) -> QueryDict:
        """The portfolio's parameters for this stage with the same filters."""
        query = self.query()
        query.pop("measure", None)
        query["stage"] = stage_slug
        return query
