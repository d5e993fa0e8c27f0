"""Forms of the accounts pages.

PortfolioFilterForm is the portfolio's GET form. Its parameters are also a contract other
pages link with (the weekly review: `?date=D&prev_band=red&band=yellow&owner=all`), so a
value it does not know is dropped and named in `ignored`, never an error page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.http import QueryDict

from accounts.models import JourneyStage, Segment
from healthboard.pages.portfolio.selectors import (
    NO_OWNER,
    PortfolioFilters,
    sort_is_valid,
)
from scoring.bands import ORDER, Band

ME, ALL, UNASSIGNED = "me", "all", "none"
DEFAULT_SORT = "score"
BAND_CHOICES = [(str(band), Band(band).label) for band in ORDER]
BAND_VALUES = ", ".join(str(band) for band in ORDER)
# Parameters that take several values (?band=red&band=yellow).
MULTI = ("band", "prev_band")


def _shorten(value: str | None, limit: int = 40) -> str:
    value = value or ""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def user_label(user: AbstractBaseUser) -> str:
    return user.get_full_name() or user.get_username()


class PortfolioFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Name or CRM id",
                "size": 12,
                "autocomplete": "off",
            }
        ),
    )
    band = forms.MultipleChoiceField(
        label="Health", choices=BAND_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    owner = forms.ChoiceField(label="Owner", required=False)
    segment = forms.ChoiceField(label="Segment", required=False)
    stage = forms.ChoiceField(label="Journey stage", required=False)
    renewal = forms.IntegerField(
        label="Renews within (days)",
        required=False,
        min_value=0,
        max_value=3650,
        error_messages={
            "invalid": "not a whole number of days",
            "min_value": "must be 0 days or more",
            "max_value": "must be at most 3650 days",
        },
        widget=forms.NumberInput(attrs={"placeholder": "e.g. 90", "inputmode": "numeric"}),
    )
    moved = forms.FloatField(
        label="Moved this week ≥ (pts)",
        required=False,
        min_value=0,
        max_value=100,
        error_messages={
            "invalid": "not a number of points",
            "min_value": "must be 0 points or more",
            "max_value": "must be at most 100 points",
        },
        widget=forms.NumberInput(attrs={"placeholder": "e.g. 10", "step": "any"}),
    )
    date = forms.DateField(
        label="Scores on",
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "not a date; use YYYY-MM-DD"},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    # Set by links, not typed: the weekly review's "was in this band" and the column sort.
    prev_band = forms.MultipleChoiceField(
        choices=BAND_CHOICES, required=False, widget=forms.MultipleHiddenInput
    )
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        data: QueryDict,
        *,
        user: AbstractBaseUser,
        owners: Sequence[AbstractBaseUser],
        segments: Sequence[Segment],
        stages: Sequence[JourneyStage],
        default_owner: str,
    ) -> None:
        self.user = user
        self.owners = list(owners)
        self.ignored: list[str] = []
        self._segments = {segment.slug: segment for segment in segments}
        self._stages = {stage.slug: stage for stage in stages}
        data = data.copy()
        for name in MULTI:
            values = data.getlist(name)
            known = [value for value in values if value in dict(BAND_CHOICES)]
            for value in values:
                if value not in known:
                    self.ignored.append(f"{name} “{_shorten(value)}” (the bands are {BAND_VALUES})")
            data.setlist(name, list(dict.fromkeys(known)))
        if not data.get("owner"):
            data["owner"] = default_owner
        super().__init__(data)
        self.fields["owner"].choices = [
            (ME, "My book"),
            (ALL, "All accounts"),
            (UNASSIGNED, "Unassigned"),
            ("Owners", [(str(owner.pk), user_label(owner)) for owner in owners]),
        ]
        self.fields["segment"].choices = [("", "Any segment")] + [
            (slug, segment.name) for slug, segment in self._segments.items()
        ]
        self.fields["stage"].choices = [("", "Any stage")] + [
            (slug, stage.name) for slug, stage in self._stages.items()
        ]
        self._drop_invalid()

    def clean_sort(self) -> str:
        sort = self.cleaned_data["sort"] or DEFAULT_SORT
        if not sort_is_valid(sort):
            raise forms.ValidationError("not a column to sort by")
        return sort

    def _drop_invalid(self) -> None:
        """Name each invalid value in `ignored` and validate again without it, so the form
        renders (and the page links carry) only what was applied."""
        if self.is_valid():
            return
        for name, errors in self.errors.items():
            reason = errors[0].rstrip(".")
            if reason.startswith("Select a valid choice"):
                reason = f"no such {self.fields[name].label.lower()}"
            elif reason[:1].isupper():
                reason = reason[0].lower() + reason[1:]
            self.ignored.append(f"{name} “{_shorten(self.data.get(name))}” ({reason})")
            self.data.pop(name)
        if "owner" in self.errors:
            # A stale owner link falls back to everyone's accounts, not to an error.
            self.data["owner"] = ALL
        self.full_clean()

    # The selects and checkboxes as plain (value, label, selected) rows: the template
    # writes them out, which is many times faster than Django's widget templates (one
    # template render per option).
    def _options(self, name: str, choices) -> list[tuple[str, str, bool]]:
        if name in MULTI:
            chosen = set(self.data.getlist(name))
        else:
            chosen = {self.data.get(name) or ""}
        return [(str(value), label, str(value) in chosen) for value, label in choices]

    @property
    def owner_options(self) -> list[tuple[str, str, bool]]:
        return self._options("owner", self.fields["owner"].choices[:-1])

    @property
    def owner_people(self) -> list[tuple[str, str, bool]]:
        return self._options("owner", self.fields["owner"].choices[-1][1])

    @property
    def segment_options(self) -> list[tuple[str, str, bool]]:
        return self._options("segment", self.fields["segment"].choices)

    @property
    def stage_options(self) -> list[tuple[str, str, bool]]:
        return self._options("stage", self.fields["stage"].choices)

    @property
    def band_options(self) -> list[tuple[str, str, bool]]:
        return self._options("band", BAND_CHOICES)

    @property
    def scores_on(self) -> dt.date | None:
        return self.cleaned_data.get("date")

    def filters(self) -> PortfolioFilters:
        data = self.cleaned_data
        owner = data.get("owner") or ALL
        owner_id = {ME: self.user.pk, ALL: None, UNASSIGNED: NO_OWNER}.get(owner)
        if owner not in (ME, ALL, UNASSIGNED):
            owner_id = int(owner)
        segment = self._segments.get(data.get("segment") or "")
        stage = self._stages.get(data.get("stage") or "")
        return PortfolioFilters(
            bands=tuple(data.get("band") or ()),
            prev_bands=tuple(data.get("prev_band") or ()),
            owner_id=owner_id,
            segment_id=segment.pk if segment else None,
            stage_id=stage.pk if stage else None,
            renewal_within=data.get("renewal"),
            moved=data.get("moved"),
            q=(data.get("q") or "").strip(),
            sort=data.get("sort") or DEFAULT_SORT,
        )

    def query(self) -> QueryDict:
        """The applied filters as URL parameters (empty ones and the default sort left out):
        what links on the page build on."""
        query = QueryDict(mutable=True)
        for name in self.fields:
            if name in MULTI:
                values = self.data.getlist(name)
                if values:
                    query.setlist(name, values)
                continue
            value = (self.data.get(name) or "").strip()
            if value and not (name == "sort" and value == DEFAULT_SORT):
                query[name] = value
        return query
