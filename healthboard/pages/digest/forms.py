"""The e-mail digest's preference form: how often, which weekday, time zone and hour."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from scoring.models.digest import DigestPreference


def time_zone_choices() -> list[tuple[str, str]]:
    """Every IANA time zone zoneinfo knows, by name ("Europe/Berlin")."""
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


HOURS = [(hour, f"{hour:02d}:00") for hour in range(24)]


class DigestPreferenceForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=time_zone_choices,
        error_messages={
            "invalid_choice": _("“%(value)s” is not a time zone name such as Europe/Berlin.")
        },
    )
    hour = forms.TypedChoiceField(
        label=_("At (your time)"),
        choices=HOURS,
        coerce=int,
        help_text=_(
            "The first check after this hour sends it (they run every quarter of an hour)."
        ),
        error_messages={"invalid_choice": _("Choose an hour from 00:00 to 23:00.")},
    )

    class Meta:
        model = DigestPreference
        fields = ["frequency", "weekday", "time_zone", "hour"]
        labels = {"frequency": _("Send me the digest"), "weekday": _("On (weekly)")}
        widgets = {"frequency": forms.RadioSelect}
        help_texts = {"weekday": _("The day a weekly digest goes out.")}
