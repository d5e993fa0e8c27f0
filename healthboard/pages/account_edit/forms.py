"""The account form (Admins): every field an accounts import reads, checked by the same
rules (accounts.imports.rules, through healthboard/pages/rulefields.py)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.imports import rules
from accounts.models import Account, JourneyStage, Segment
from healthboard.pages.filters import user_label
from healthboard.pages.formlabels import ModelLabels, model_label
from healthboard.pages.owners import owner_candidates
from healthboard.pages.rulefields import ObjectChoiceField, RuleField, text_field

LENGTH = rules.ACCOUNT_LENGTH


class OwnerChoiceField(ObjectChoiceField):
    def option_label(self, obj) -> str:
        return user_label(obj)


def _date_field(*, required: bool = False) -> RuleField:
    return RuleField(
        rules.date,
        required=required,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class AccountForm(ModelLabels, forms.ModelForm):
    external_id = text_field(
        LENGTH["external_id"],
        required=True,
        help_text=_("The account's id in the CRM: imports and the API update the account by it."),
    )
    name = text_field(LENGTH["name"], required=True)
    industry = text_field(LENGTH["industry"], required=False)
    plan = text_field(LENGTH["plan"], required=False)
    arr = RuleField(
        rules.arr,
        required=False,
        empty_value=Decimal("0.00"),
        help_text=_("Annual recurring revenue, as 125000 or 125,000.50."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    seats = RuleField(
        rules.seats,
        required=False,
        empty_value=0,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    start_date = _date_field(required=True)
    renewal_date = _date_field()
    status = RuleField(
        rules.status,
        initial=Account.Status.ACTIVE,
        widget=forms.Select(choices=Account.Status.choices),
    )
    churn_date = _date_field()

    class Meta:
        model = Account
        fields = [
            "external_id",
            "name",
            "segment",
            "owner",
            "stage",
            "industry",
            "arr",
            "plan",
            "seats",
            "start_date",
            "renewal_date",
            "status",
            "churn_date",
        ]

    def __init__(self, *args, can_reassign: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Each list loaded once: a ModelChoiceField queries again to render and to validate.
        self.fields["segment"] = ObjectChoiceField(
            what="segment", objects=Segment.objects.all(), label=model_label(Account, "segment")
        )
        self.fields["stage"] = ObjectChoiceField(
            what="journey stage",
            objects=JourneyStage.objects.all(),
            label=model_label(Account, "stage"),
        )
        current = self.instance.owner if self.instance.owner_id else None
        self.fields["owner"] = OwnerChoiceField(
            what="owner",
            objects=owner_candidates(keep=current),
            required=False,
            blank_label=gettext("Unassigned"),
            label=model_label(Account, "owner"),
            help_text=gettext("The customer success manager responsible for the account."),
        )
        if not can_reassign:
            self.fields["owner"].disabled = True

    def clean_external_id(self) -> str:
        external_id = self.cleaned_data["external_id"]
        taken = Account.objects.filter(external_id=external_id).exclude(pk=self.instance.pk)
        if (other := taken.only("name").first()) is not None:
            raise forms.ValidationError(
                gettext("%(external_id)r is the external id of %(other)r already")
                % {"external_id": external_id, "other": other.name}
            )
        return external_id
