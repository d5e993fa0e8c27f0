"""The outcome form: how a CTA can end, from the list the Admins keep."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from scoring.models.actions import Outcome


class OutcomeForm(forms.ModelForm):
    class Meta:
        model = Outcome
        fields = ["name", "is_success", "active", "order"]
        help_texts = {
            "order": gettext_lazy(
                "Where it stands in the list a CSM picks from: lower comes first."
            )
        }

    def clean_name(self) -> str:
        # Names differing only in case would read as one outcome in the CSM's list.
        name = self.cleaned_data["name"].strip()
        taken = Outcome.objects.exclude(pk=self.instance.pk).filter(name__iexact=name).first()
        if taken is not None:
            raise forms.ValidationError(
                _("the outcome “%(taken)s” exists already") % {"taken": taken.name}
            )
        return name
