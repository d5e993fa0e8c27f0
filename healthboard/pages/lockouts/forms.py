"""The unlock button's form: which username or address, checked against the lockouts now."""

from __future__ import annotations

from django import forms

from healthboard.pages.lockouts.selectors import KINDS, lockouts_current


class UnlockForm(forms.Form):
    kind = forms.ChoiceField(choices=list(KINDS.items()))
    value = forms.CharField(max_length=255)

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        found = [
            lockout
            for lockout in lockouts_current()
            if lockout.kind == data["kind"] and lockout.value == data["value"]
        ]
        if not found:
            raise forms.ValidationError(
                f"{KINDS[data['kind']]} {data['value']} is not locked out (any more): "
                "nothing to unlock."
            )
        data["lockout"] = found[0]
        return data
