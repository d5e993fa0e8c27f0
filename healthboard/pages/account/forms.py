"""Forms of the account drilldown: add a note, call or meeting; change the journey stage."""

from __future__ import annotations

from django import forms

from accounts.models import JourneyStage, Note

NOTE_MAX_CHARS = 5000
COMMENT_MAX_CHARS = 1000

# Stage-change notes are written by the stage form, never typed.
NOTE_KINDS = [(k, label) for k, label in Note.Kind.choices if k != Note.Kind.STAGE_CHANGE]


class NoteForm(forms.Form):
    kind = forms.ChoiceField(choices=NOTE_KINDS, initial=Note.Kind.NOTE, label="Type")
    body = forms.CharField(
        label="Note",
        max_length=NOTE_MAX_CHARS,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "What happened, what was agreed, what's next"}
        ),
        error_messages={"required": "Write something first: the note is empty."},
    )


class StageForm(forms.Form):
    stage = forms.TypedChoiceField(
        label="Journey stage",
        coerce=int,
        error_messages={"invalid_choice": "Pick one of the listed stages."},
    )
    comment = forms.CharField(
        label="Comment (optional)",
        required=False,
        max_length=COMMENT_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Why the account moved"}),
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
