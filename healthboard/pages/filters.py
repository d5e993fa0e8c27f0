"""The pages' GET parameters, and the one definition of each filter on the accounts.

The portfolio, the journey board and the weekly review read their parameters with forms built
on ParamsForm: a value a form does not know is dropped and named in `ignored`, never an error
page, so an old bookmark or another page's link always opens, and the form (and the links the
page builds on `query()`) carries only what was applied.

AccountFilterForm declares the filters on the account itself once: search (`q`), health
(`band`, several allowed), owner (`me`, `all`, `none` or a user id), segment and stage (by
slug) and renews within (`renewal`, days). A page's form extends it and drops (sets to None)
what it does not offer. What it applies is an AccountFilters, whose `conditions()` are the
WHERE of a query on accounts.

The parameter names are a contract other pages link with (`portfolio_url`): the weekly
review's `?date=D&prev_band=red&band=yellow&owner=all`, the journey board's columns.

django-filter's FilterSet was the other candidate: its product is one filtered queryset, but
the pages apply the same values to accounts, to scores through `account__` and to numpy
columns, and report bad values instead of refusing them; a plain form base does that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlencode

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.i18n import builtin
from accounts.models import Account, JourneyStage, Segment
from healthboard.lib.roles import CSM, role_of
from scoring.bands import ORDER
from scoring.models.rollups import NO_OWNER

# The owner parameter: my book, everyone's accounts, the unassigned ones (or a user id).
ME, ALL, UNASSIGNED = "me", "all", "none"
# AccountFilters.owner_id is None for everyone's accounts and NO_OWNER for the unassigned
# ones: the same code the run totals key unassigned accounts by.

BAND_CHOICES = [(str(band), band.label) for band in ORDER]
BAND_VALUES = ", ".join(value for value, _label in BAND_CHOICES)

# What the journey board's and the weekly review's charts count (`measure`).
ACCOUNTS, ARR = "accounts", "arr"
MEASURES = {ACCOUNTS: _("Accounts"), ARR: "ARR"}


def _django_message(field: forms.Field, code: str) -> bool:
    """Whether the field says Django's default message for `code` (none of its own)."""
    message = field.error_messages.get(code)
    return any(
        message is cls.__dict__.get("default_error_messages", {}).get(code)
        for cls in type(field).__mro__
    )


def shorten(value: str | None, limit: int = 40) -> str:
    """A parameter's value as quoted in a notice."""
    value = value or ""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def user_label(user: AbstractBaseUser) -> str:
    return user.get_full_name() or user.get_username()


def portfolio_url(**params: Any) -> str:
    """The portfolio filtered by `params` (this module's parameter names), in that order."""
    return f"{reverse('home')}?{urlencode(params, doseq=True)}"


def account_owners() -> list[AbstractBaseUser]:
    """The owner filter's people: users who own at least one active account, by name. One
    query."""
    owns = Account.objects.active().filter(owner=OuterRef("pk"))
    return list(
        get_user_model()
        .objects.filter(Exists(owns))
        .only("id", "username", "first_name", "last_name")
        .order_by("first_name", "last_name", "username")
    )


@dataclass(frozen=True)
class AccountFilters:
    """The filters on the account itself; every field empty means every account."""

    bands: tuple[str, ...] = ()
    # None: everyone's accounts; NO_OWNER: unassigned accounts; else a user id.
    owner_id: int | None = None
    segment_id: int | None = None
    stage_id: int | None = None
    renewal_within: int | None = None
    q: str = ""

    def cell_conditions(self) -> Q:
        """The owner, segment and stage filters as conditions on stored totals' cells
        (scoring.rollups.totals: unassigned accounts are the NO_OWNER cells)."""
        where = Q()
        if self.owner_id is not None:
            where &= Q(owner_id=self.owner_id)
        if self.segment_id is not None:
            where &= Q(segment_id=self.segment_id)
        if self.stage_id is not None:
            where &= Q(stage_id=self.stage_id)
        return where

    def conditions(self, today: dt.date, prefix: str = "") -> list[Q]:
        """The filters (bands aside: they are on the scores) as conditions on the account;
        `prefix` reaches the account from another model ("account__")."""

        def q(**lookups) -> Q:
            return Q(**{prefix + key: value for key, value in lookups.items()})

        where = []
        if self.owner_id == NO_OWNER:
            where.append(q(owner__isnull=True))
        elif self.owner_id is not None:
            where.append(q(owner_id=self.owner_id))
        if self.segment_id is not None:
            where.append(q(segment_id=self.segment_id))
        if self.stage_id is not None:
            where.append(q(stage_id=self.stage_id))
        if self.renewal_within is not None:
            end = today + dt.timedelta(days=self.renewal_within)
            where.append(q(renewal_date__gte=today, renewal_date__lte=end))
        if self.q:
            where.append(q(name__icontains=self.q) | q(external_id__icontains=self.q))
        return where


class ParamsForm(forms.Form):
    """A page's GET parameters. A value that does not validate is named in `ignored` and
    dropped (or replaced by its `fallbacks` value), and the form validated again without it,
    so it renders only what was applied."""

    # Parameters that take several bands (?band=red&band=yellow).
    band_params: tuple[str, ...] = ()
    # Values left out of query(): the defaults the page applies anyway.
    defaults: dict[str, str] = {}
    # What a dropped value is replaced by (instead of nothing).
    fallbacks: dict[str, str] = {}
    # How much of a bad value a notice quotes.
    quote_limit = 40

    def __init__(self, data: QueryDict) -> None:
        self.ignored: list[str] = []
        data = data.copy()
        for name in self.band_params:
            values = data.getlist(name)
            known = [value for value in values if value in dict(BAND_CHOICES)]
            for value in values:
                if value not in known:
                    self.ignored.append(
                        self.ignored_text(
                            name, value, gettext("the bands are %(bands)s") % {"bands": BAND_VALUES}
                        )
                    )
            data.setlist(name, list(dict.fromkeys(known)))
        super().__init__(data)
        self.prepare_fields()
        self._drop_invalid()

    def prepare_fields(self) -> None:
        """Set what depends on the request (choices) before the values are checked."""

    def ignored_text(self, name: str, value: str | None, reason: str) -> str:
        # The parameter's name stays as the URL spells it: it is what the reader can fix.
        return gettext("%(name)s “%(value)s” (%(reason)s)") % {
            "name": name,
            "value": shorten(value, self.quote_limit),
            "reason": reason,
        }

    def ignored_notices(self) -> list[str]:
        """The page's notice of what it dropped (none when it dropped nothing)."""
        if not self.ignored:
            return []
        return [gettext("Ignored %(what)s.") % {"what": "; ".join(self.ignored)}]

    def _drop_invalid(self) -> None:
        if self.is_valid():
            return
        for name, errors in self.errors.items():
            reason = errors[0].rstrip(".")
            # Django's own "Select a valid choice…" (known by its code and by the field keeping
            # Django's message, not by its words, which are in the reader's language).
            if self.errors.as_data()[name][0].code == "invalid_choice" and _django_message(
                self.fields[name], "invalid_choice"
            ):
                reason = gettext("no such %(thing)s") % {
                    "thing": str(self.fields[name].label or name).lower()
                }
            elif reason[:1].isupper():
                reason = reason[0].lower() + reason[1:]
            self.ignored.append(self.ignored_text(name, self.data.get(name), reason))
            self.data.pop(name)
            if name in self.fallbacks:
                self.data[name] = self.fallbacks[name]
        self.full_clean()

    def query(self) -> QueryDict:
        """The applied parameters as a URL query (empty ones and defaults left out): what
        the page's links build on."""
        query = QueryDict(mutable=True)
        for name in self.fields:
            if name in self.band_params:
                values = self.data.getlist(name)
                if values:
                    query.setlist(name, values)
                continue
            value = (self.data.get(name) or "").strip()
            if value and value != self.defaults.get(name):
                query[name] = value
        return query


class AccountFilterForm(ParamsForm):
    """The filters on the account itself, declared once; see the module's docstring."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Name or CRM id"),
                "size": 12,
                "autocomplete": "off",
            }
        ),
    )
    band = forms.MultipleChoiceField(
        label=_("Health"), choices=BAND_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    segment = forms.ChoiceField(label=_("Segment"), required=False)
    stage = forms.ChoiceField(label=_("Journey stage"), required=False)
    renewal = forms.IntegerField(
        label=_("Renews within (days)"),
        required=False,
        min_value=0,
        max_value=3650,
        error_messages={
            "invalid": _("not a whole number of days"),
            "min_value": _("must be 0 days or more"),
            "max_value": _("must be at most 3650 days"),
        },
        widget=forms.NumberInput(attrs={"placeholder": _("e.g. 90"), "inputmode": "numeric"}),
    )

    band_params = ("band",)
    # The typed filters folded into "More filters" on a phone (components/account_filters.html)
    # beyond segment and stage, each with its field's look: (name, "num" | "date").
    more_typed: tuple[tuple[str, str], ...] = (("renewal", "num"),)
    # A stale owner link falls back to everyone's accounts, not to an error.
    fallbacks = {"owner": ALL}

    def __init__(
        self,
        data: QueryDict,
        *,
        user: AbstractBaseUser,
        owners: Sequence[AbstractBaseUser],
        segments: Sequence[Segment],
        stages: Sequence[JourneyStage] = (),
        default_owner: str,
    ) -> None:
        self.user = user
        self.owners = list(owners)
        self._segments = {segment.slug: segment for segment in segments}
        self._stages = {stage.slug: stage for stage in stages}
        if not data.get("owner"):
            data = data.copy()
            data["owner"] = default_owner
        super().__init__(data)

    @classmethod
    def for_request(cls, request: HttpRequest, data: QueryDict | None = None) -> Self:
        """The form for this user, its choices read from the database (owners, segments,
        and stages when the form has them: one query each)."""
        owners = account_owners()
        owns_accounts = any(owner.pk == request.user.pk for owner in owners)
        return cls(
            request.GET if data is None else data,
            user=request.user,
            owners=owners,
            segments=list(Segment.objects.all()),
            stages=list(JourneyStage.objects.all()) if "stage" in cls.base_fields else (),
            # A CSM's morning starts with their own book; managers look across the team.
            default_owner=ME if owns_accounts and role_of(request.user) == CSM else ALL,
        )

    def prepare_fields(self) -> None:
        self.fields["owner"].choices = [
            (ME, gettext("My book")),
            (ALL, gettext("All accounts")),
            (UNASSIGNED, gettext("Unassigned")),
            (gettext("Owners"), [(str(owner.pk), user_label(owner)) for owner in self.owners]),
        ]
        self.fields["segment"].choices = [("", gettext("Any segment"))] + [
            (slug, segment.name) for slug, segment in self._segments.items()
        ]
        if "stage" in self.fields:
            self.fields["stage"].choices = [("", gettext("Any stage"))] + [
                (slug, builtin(stage.name)) for slug, stage in self._stages.items()
            ]

    @property
    def owner_choice(self) -> str:
        return self.cleaned_data.get("owner") or ALL

    def owner_name(self) -> str | None:
        """The picked owner's name, when the filter is one person's book."""
        if self.owner_choice in (ME, ALL, UNASSIGNED):
            return None
        return next((user_label(o) for o in self.owners if str(o.pk) == self.owner_choice), None)

    def account_filters(self) -> AccountFilters:
        data = self.cleaned_data
        owner = self.owner_choice
        owner_id = {ME: self.user.pk, ALL: None, UNASSIGNED: NO_OWNER}.get(owner)
        if owner not in (ME, ALL, UNASSIGNED):
            owner_id = int(owner)
        segment = self._segments.get(data.get("segment") or "")
        stage = self._stages.get(data.get("stage") or "")
        return AccountFilters(
            bands=tuple(data.get("band") or ()),
            owner_id=owner_id,
            segment_id=segment.pk if segment else None,
            stage_id=stage.pk if stage else None,
            renewal_within=data.get("renewal"),
            q=(data.get("q") or "").strip(),
        )

    # The selects and checkboxes as plain (value, label, selected) rows: a template can
    # write them out, which is many times faster than Django's widget templates (one
    # template render per option).
    def _options(self, name: str, choices) -> list[tuple[str, str, bool]]:
        if name in self.band_params:
            chosen = set(self.data.getlist(name))
        else:
            chosen = {self.data.get(name) or ""}
        return [(str(value), label, str(value) in chosen) for value, label in choices]

    def more_inputs(self) -> list[tuple[forms.BoundField, str]]:
        return [(self[name], kind) for name, kind in self.more_typed]

    def more_open(self) -> bool:
        """Whether "More filters" starts open: one of its filters is asked for."""
        names = ("segment", "stage", *(name for name, _field in self.more_typed))
        return any(self.data.get(name) for name in names)

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
