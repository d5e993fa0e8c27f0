"""The journey board's GET filter form.

Its parameters are the portfolio's (owner me/all/none/<id>, segment slug, band, several
allowed), so "show all in the portfolio" carries them unchanged. A value it does not know is
dropped and named in `ignored`, never an error page.
"""

from __future__ import annotations

from collections.abc import Sequence

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.http import QueryDict

from accounts.models import Segment
from healthboard.pages.journey.selectors import BoardFilters
from healthboard.pages.portfolio.forms import (
    ALL,
    BAND_CHOICES,
    BAND_VALUES,
    ME,
    UNASSIGNED,
    user_label,
)
from healthboard.pages.portfolio.selectors import NO_OWNER

# What the chart above the columns counts.
ACCOUNTS, ARR = "accounts", "arr"
MEASURES = {ACCOUNTS: "Accounts", ARR: "ARR"}


def _shorten(value: str | None, limit: int = 40) -> str:
    value = value or ""
    return value if len(value) <= limit else value[: limit - 1] + "…"


class JourneyFilterForm(forms.Form):
    owner = forms.ChoiceField(label="Owner", required=False)
    segment = forms.ChoiceField(label="Segment", required=False)
    band = forms.MultipleChoiceField(
        label="Health", choices=BAND_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    # Set by the chart's toggle links, carried by the form.
    measure = forms.ChoiceField(
        choices=list(MEASURES.items()), required=False, widget=forms.HiddenInput
    )

    def __init__(
        self,
        data: QueryDict,
        *,
        user: AbstractBaseUser,
        owners: Sequence[AbstractBaseUser],
        segments: Sequence[Segment],
        default_owner: str,
    ) -> None:
        self.user = user
        self.owners = list(owners)
        self.ignored: list[str] = []
        self._segments = {segment.slug: segment for segment in segments}
        data = data.copy()
        bands = data.getlist("band")
        known = [band for band in bands if band in dict(BAND_CHOICES)]
        for band in bands:
            if band not in known:
                self.ignored.append(f"band “{_shorten(band)}” (the bands are {BAND_VALUES})")
        data.setlist("band", list(dict.fromkeys(known)))
        if not data.get("owner"):
            data["owner"] = default_owner
        super().__init__(data)
        self.fields["owner"].choices = [
            (ME, "My book"),
            (ALL, "All accounts"),
            (UNASSIGNED, "Unassigned"),
            ("Owners", [(str(owner.pk), user_label(owner)) for owner in self.owners]),
        ]
        self.fields["segment"].choices = [("", "Any segment")] + [
            (slug, segment.name) for slug, segment in self._segments.items()
        ]
        self._drop_invalid()

    def _drop_invalid(self) -> None:
        """Name each invalid value in `ignored` and validate again without it, so the form
        (and the links built on it) carry only what was applied."""
        if self.is_valid():
            return
        for name, errors in self.errors.items():
            reason = errors[0].rstrip(".")
            if reason.startswith("Select a valid choice"):
                reason = f"no such {(self.fields[name].label or name).lower()}"
            self.ignored.append(f"{name} “{_shorten(self.data.get(name))}” ({reason})")
            self.data.pop(name)
        if "owner" in self.errors:
            # A stale owner link falls back to everyone's accounts, not to an error.
            self.data["owner"] = ALL
        self.full_clean()

    @property
    def owner_choice(self) -> str:
        return self.cleaned_data.get("owner") or ALL

    @property
    def chart_measure(self) -> str:
        return self.cleaned_data.get("measure") or ACCOUNTS

    def owner_name(self) -> str | None:
        """The picked owner's name, when the filter is one person's book."""
        if self.owner_choice in (ME, ALL, UNASSIGNED):
            return None
        return next((user_label(o) for o in self.owners if str(o.pk) == self.owner_choice), None)

    def filters(self) -> BoardFilters:
        data = self.cleaned_data
        owner = self.owner_choice
        owner_id = {ME: self.user.pk, ALL: None, UNASSIGNED: NO_OWNER}.get(owner)
        if owner not in (ME, ALL, UNASSIGNED):
            owner_id = int(owner)
        segment = self._segments.get(data.get("segment") or "")
        return BoardFilters(
            bands=tuple(data.get("band") or ()),
            owner_id=owner_id,
            segment_id=segment.pk if segment else None,
        )

    def query(self) -> QueryDict:
        """The applied filters as URL parameters (empty ones and the default chart left out)."""
        query = QueryDict(mutable=True)
        query["owner"] = self.owner_choice
        segment = self.cleaned_data.get("segment")
        if segment:
            query["segment"] = segment
        bands = self.cleaned_data.get("band") or []
        if bands:
            query.setlist("band", bands)
        if self.chart_measure != ACCOUNTS:
            query["measure"] = self.chart_measure
        return query

    def portfolio_query(self, stage_slug: str) -> QueryDict:
        """The portfolio's parameters for this stage with the same filters."""
        query = self.query()
        query.pop("measure", None)
        query["stage"] = stage_slug
        return query
