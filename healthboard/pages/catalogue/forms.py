"""The catalogue's forms: segments, journey stages, metrics. Each field is checked by the
import's rule for it (healthboard/pages/rulefields.py), so the page refuses what an import
refuses, in the same words; what an import cannot meet (a name already taken) is checked
here."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.imports import rules
from accounts.imports.columns import squash
from accounts.models import JourneyStage, Metric, Segment
from healthboard.pages.formlabels import ModelLabels
from healthboard.pages.rulefields import RuleField, text_field


class _NamedForm(ModelLabels, forms.ModelForm):
    """A segment's or stage's name must differ from the others' names and slugs (the import
    finds them by either), and a blank slug is made from the name."""

    # The refusal when the name is taken, per kind (its own sentence in each language).
    name_taken = _("a segment named %(name)s exists already")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        others = type(self.instance).objects.exclude(pk=self.instance.pk)
        for other_name, other_slug in others.values_list("name", "slug"):
            if squash(name) in (squash(other_name), squash(other_slug)):
                raise forms.ValidationError(self.name_taken % {"name": repr(other_name)})
        return name

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("slug") and data.get("name"):
            data["slug"] = rules.free_slug(
                type(self.instance), data["name"], exclude_pk=self.instance.pk
            )
        return data


def _slug_field() -> forms.SlugField:
    return forms.SlugField(
        max_length=60,
        required=False,
        help_text=_("Its short name in links and files; made from the name when left empty."),
    )


class SegmentForm(_NamedForm):
    name = text_field(rules.CHOICE_LENGTH, required=True, help_text=_("Enterprise, SMB, …"))
    slug = _slug_field()

    class Meta:
        model = Segment
        fields = ["name", "slug"]


class StageForm(_NamedForm):
    name_taken = _("a journey stage named %(name)s exists already")
    name = text_field(rules.CHOICE_LENGTH, required=True)
    slug = _slug_field()
    order = forms.IntegerField(
        min_value=1,
        max_value=32767,
        help_text=_("Where the stage stands on the journey board, from the left."),
    )
    target_days = forms.IntegerField(
        min_value=1,
        max_value=3650,
        help_text=_("How long an account should typically stay in this stage."),
    )
    description = text_field(2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    best_practices = text_field(
        4000,
        required=False,
        help_text=_("One practice per line: the journey board lists them."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    class Meta:
        model = JourneyStage
        fields = ["name", "slug", "order", "target_days", "description", "best_practices"]

    def clean_order(self) -> int:
        order = self.cleaned_data["order"]
        taken = JourneyStage.objects.exclude(pk=self.instance.pk).filter(order=order).first()
        if taken is not None:
            raise forms.ValidationError(
                gettext("position %(order)s is %(taken)s's; pick a free one")
                % {"order": order, "taken": taken.name}
            )
        return order


CATEGORIES = ("Usage", "Engagement", "Support", "Sentiment", "Financial", "Outcomes", "Advocacy")


class MetricForm(ModelLabels, forms.ModelForm):
    key = RuleField(
        rules.metric_key,
        empty_value="",
        help_text=_(
            "Letters, digits, - and _ (logins, csat): what signals name the metric by. "
            "It cannot change once the metric exists."
        ),
    )
    name = text_field(rules.METRIC_LENGTH["name"], required=True)
    unit = text_field(
        rules.METRIC_LENGTH["unit"], required=False, help_text=_("logins/week, %, 1–5, hours, …")
    )
    category = text_field(
        rules.METRIC_LENGTH["category"],
        required=False,
        widget=forms.TextInput(attrs={"list": "metric-categories"}),
    )
    direction = RuleField(
        rules.metric_direction,
        initial=Metric.Direction.HIGHER_IS_BETTER,
        widget=forms.Select(choices=Metric.Direction.choices),
    )
    description = text_field(
        settings.IMPORT_MAX_FIELD_CHARS, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    class Meta:
        model = Metric
        fields = ["key", "name", "unit", "category", "direction", "description"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["key"].widget.attrs["maxlength"] = str(rules.METRIC_LENGTH["key"])
        if self.instance.pk:
            # Signals and scorecards find the metric by its key: it stays.
            self.fields["key"].disabled = True

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if self.instance.pk is None:
            taken = Metric.objects.filter(key=key).first()
            if taken is not None:
                raise forms.ValidationError(
                    gettext("the metric %(taken)r has the key %(key)r")
                    % {"taken": taken.name, "key": key}
                )
        return key

    def categories(self) -> list[str]:
        stored = Metric.objects.exclude(category="").values_list("category", flat=True)
        return sorted(set(CATEGORIES) | set(stored))
