"""Reassigning owners (Managers): one account from its page, or the accounts picked on the
portfolio."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _

from healthboard.lib.numbers import number_text
from healthboard.pages.filters import user_label
from healthboard.pages.owners import owner_candidates
from healthboard.pages.rulefields import ObjectChoiceField

UNASSIGNED = "none"
# A portfolio page holds 50 rows; a hand-made request may not reassign the whole book.
MAX_ACCOUNTS = 500


class OwnerField(ObjectChoiceField):
    """An owner among the candidates, or "none": unassigned."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("error_messages", {})["required"] = _("Pick who takes the account(s).")
        super().__init__(what="owner", **kwargs)
        self.choices = [("", _("Choose…")), (UNASSIGNED, _("Nobody (unassigned)"))] + [
            (pk, user_label(o)) for pk, o in self.objects.items()
        ]

    def option_label(self, obj) -> str:
        return user_label(obj)

    def to_python(self, value):
        if value == UNASSIGNED:
            return UNASSIGNED
        return super().to_python(value)


class ReassignForm(forms.Form):
    def __init__(self, *args, current=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"] = OwnerField(
            objects=owner_candidates(keep=current), label=_("New owner")
        )

    def new_owner(self):
        """The chosen user, or None for unassigned."""
        owner = self.cleaned_data["owner"]
        return None if owner == UNASSIGNED else owner


class BulkReassignForm(ReassignForm):
    """The owner, and the ids of the accounts ticked on the portfolio (`account`, repeated)."""

    account = forms.TypedMultipleChoiceField(coerce=int, required=True)
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, data=None, **kwargs) -> None:
        super().__init__(data, **kwargs)
        field = self.fields["account"]
        field.error_messages["required"] = _("Tick the accounts to reassign first.")
        # Any id may be posted; those that are no account are simply not found.
        picked = data.getlist("account") if data is not None else []
        field.choices = [(v, v) for v in picked if v.isdigit()]
        field.error_messages["invalid_choice"] = _("%(value)s is not an account id.")

    def clean_account(self) -> list[int]:
        ids = sorted(set(self.cleaned_data["account"]))
        if len(ids) > MAX_ACCOUNTS:
            raise forms.ValidationError(
                _("%(count)s accounts at once is too many: at most %(max)s.")
                % {"count": number_text(len(ids)), "max": number_text(MAX_ACCOUNTS)}
            )
        return ids
