"""The action lists' GET filter form: the portfolio's account filters
(healthboard.pages.filters), with the same parameters so a list's link to the portfolio
carries them unchanged, and the list's sort (and, on the pain points, the category).
A value the form does not know is dropped and named in `ignored`, never an error page."""

from __future__ import annotations

from functools import cache

from django import forms
from django.utils.translation import gettext as _

from healthboard.pages.filters import AccountFilterForm, AccountFilters
from healthboard.pages.lists.base import AccountList


class ListFilterForm(AccountFilterForm):
    # Set by the column headings' links, carried by the form.
    sort = forms.CharField(required=False, widget=forms.HiddenInput)
    category = forms.CharField(required=False, max_length=60, widget=forms.HiddenInput)

    action_list: type[AccountList] = AccountList
    # Sorts the form accepts beyond the list's own (the pain points' category table).
    extra_sorts: tuple[str, ...] = ()

    def clean_sort(self) -> str:
        sort = self.cleaned_data["sort"] or self.defaults["sort"]
        key = sort.removeprefix("-")
        if key not in self.action_list.sorts and key not in self.extra_sorts:
            raise forms.ValidationError(_("not a column to sort by"))
        return sort

    @property
    def sort_key(self) -> str:
        return self.cleaned_data.get("sort") or self.defaults["sort"]

    @property
    def chosen_category(self) -> str | None:
        """The pain points' category whose accounts are listed (None: the categories)."""
        if "category" not in self.fields:
            return None
        return self.cleaned_data.get("category") or None

    def filters(self) -> AccountFilters:
        return self.account_filters()


@cache
def list_form(
    action_list: type[AccountList],
    *,
    with_category: bool = False,
    default_sort: str | None = None,
    extra_sorts: tuple[str, ...] = (),
) -> type[ListFilterForm]:
    """The filter form of one list: its sorts, its default sort, and the health filter
    only where the list does not fix the band."""
    attrs: dict = {
        "action_list": action_list,
        "extra_sorts": extra_sorts,
        "defaults": {"sort": default_sort or action_list.default_sort},
    }
    if not action_list.band_filter:
        attrs.update(band=None, band_params=())
    if not with_category:
        attrs["category"] = None
    return type(f"{action_list.__name__}FilterForm", (ListFilterForm,), attrs)
