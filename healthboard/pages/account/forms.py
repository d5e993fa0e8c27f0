"""Forms of the account drilldown: add a note, call or meeting; change the journey stage;
record the CSM's sentiment."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import JourneyStage, Note, Sentiment

NOTE_MAX_CHARS = 5000
COMMENT_MAX_CHARS = 1000

# Stage-change notes are written by the stage form, never typed.
NOTE_KINDS = [(k, label) for k, label in Note.Kind.choices if k != Note.Kind.STAGE_CHANGE]


class NoteForm(forms.Form):
    kind = forms.ChoiceField(choices=NOTE_KINDS, initial=Note.Kind.NOTE, label=_("Type"))
    body = forms.CharField(
        label=_("Note"),
        max_length=NOTE_MAX_CHARS,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": _("What happened, what was agreed, what's next")}
        ),
        error_messages={"required": _("Write something first: the note is empty.")},
    )


class StageForm(forms.Form):
    stage = forms.TypedChoiceField(
        label=_("Journey stage"),
        coerce=int,
        error_messages={"invalid_choice": _("Pick one of the listed stages.")},
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=COMMENT_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("Why the account moved")}),
    )

    def __init__(self, *args, stages: list[JourneyStage] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Loaded once: a ModelChoiceField queries again for every render and validation.
        self.stages = {
            s.pk: s for s in (stages if stages is not None else JourneyStage.objects.all())
        }
        self.fields["stage"].choices = [(pk, s.name) for pk, s in self.stages.items()]

    def clean_stage(self) -> JourneyStage:
        return self.stages[self.cleaned_data["stage"]]


class SentimentForm(forms.Form):
    level = forms.ChoiceField(
        label=_("Your sentiment"),
        choices=Sentiment.Level.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Pick healthy, at risk or unhealthy.")},
    )
    reason = forms.CharField(
        label=_("Why"),
        max_length=1000,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": _("What you know that the signals do not show")}
        ),
        error_messages={"required": _("Say why: a sentiment needs a reason.")},
    )
    expires_on = forms.DateField(
        label=_("Expires on"),
        help_text=_("The first day it no longer counts."),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter a date, e.g. 2027-01-31.")},
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = timezone.localdate()
        self.fields["expires_on"].initial = self.today + dt.timedelta(days=Sentiment.DEFAULT_DAYS)
        self.fields["expires_on"].widget.attrs.update(
            min=(self.today + dt.timedelta(days=1)).isoformat(),
            max=(self.today + dt.timedelta(days=Sentiment.MAX_DAYS)).isoformat(),
        )

    def clean_expires_on(self) -> dt.date:
        day = self.cleaned_data["expires_on"]
        if day <= self.today:
            raise forms.ValidationError(gettext("The expiry must be after today."))
        if day > self.today + dt.timedelta(days=Sentiment.MAX_DAYS):
            raise forms.ValidationError(
                gettext(
                    "A sentiment counts for at most %(days)s days: pick an earlier expiry (and set "
                    "it again then if it still holds)."
                )
                % {"days": Sentiment.MAX_DAYS}
            )
        return day
