"""The token page's form: a new API token's name and scope."""

from __future__ import annotations

from django import forms

from healthboard.tokens.models import ApiToken


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text="What will use it: “CRM sync”, “Zendesk tickets”, …",
        error_messages={"required": "Name the token after what will use it."},
    )
    scope = forms.ChoiceField(
        label="Access",
        choices=ApiToken.Scope.choices,
        initial=ApiToken.Scope.READ,
        widget=forms.RadioSelect,
        help_text="Read tokens call the GET endpoints; read-write tokens may also send data.",
    )
