"""The audit log's GET filters: event type, who, and a date range (ParamsForm: a bad value
is named and dropped, never an error page)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import AuditEvent
from healthboard.pages.filters import ParamsForm, user_label


class AuditFilterForm(ParamsForm):
    type = forms.ChoiceField(
        label=_("Event"),
        required=False,
        choices=[("", _("Any event")), *AuditEvent.Type.choices],
    )
    user = forms.TypedChoiceField(label=_("User"), required=False, coerce=int, empty_value=None)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def prepare_fields(self) -> None:
        # Every user, active or not: a deactivated user's past sign-ins are what one looks
        # for. One query.
        users = get_user_model().objects.only("id", "username", "first_name", "last_name")
        self.fields["user"].choices = [("", gettext("Anyone"))] + [
            (str(u.pk), user_label(u)) for u in users.order_by("username")
        ]

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", gettext("The end date is before the start date"))
        return data

    @property
    def applied(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "type": data.get("type") or None,
            "user_id": data.get("user"),
            "since": data.get("since"),
            "until": data.get("until"),
        }
