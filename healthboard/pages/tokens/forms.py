"""The token page's form: a new API token's name and scope."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from healthboard.tokens.models import ApiToken


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text=_("What will use it: “CRM sync”, “Zendesk tickets”, …"),
        error_messages={"required": _("Name the token after what will use it.")},
    )
    scope = forms.ChoiceField(
        label=_("Access"),
        choices=ApiToken.Scope.choices,
        initial=ApiToken.Scope.READ,
        widget=forms.RadioSelect,
        help_text=_("Read tokens call the GET endpoints; read-write tokens may also send data."),
    )
