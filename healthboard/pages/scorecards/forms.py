"""The draft editor's forms: band settings, category weights and the measures formset.

`DraftForms` binds the three together for one draft: validates, saves (the caller holds the
transaction), works out each measure's effective weight share while the admin types, and
turns unsaved input into a VersionConfig for the what-if preview.
"""

from __future__ import annotations

from collections import defaultdict

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.i18n import builtin
from accounts.models import Metric
from healthboard.pages.formlabels import model_label
from healthboard.pages.scorecards.widgets import (
    QuickCheckbox,
    QuickHidden,
    QuickNumberInput,
    QuickSelect,
    QuickTextInput,
)
from scoring import engine
from scoring.models import Category, CategoryWeight, Measure, Scorecard, ScorecardVersion
from scoring.specs import VersionConfig, config_for, measure_configs

PREFIX = "measures"
MAX_MEASURES = 60
NEGATIVE_WEIGHT = _("Weights cannot be negative.")
SHORT_RULES = [
    ("threshold", _("Thresholds")),
    ("range", _("Range")),
    ("percentile", _("Percentile")),
]
SHORT_AGGREGATIONS = [
    (value, {"trend": _("Trend / day"), "nps": "NPS"}.get(value, label))
    for value, label in Measure.Aggregation.choices
]
CUT_OFF_RANGE = _("Band cut-offs are scores from 0 to 100.")
SHARE_RANGE = _("Enter a percentage from 0 to 100.")


class NumberField(forms.FloatField):
    """A float shown as typed ("70", "1.5"), not as Python writes it ("70.0")."""

    widget = QuickNumberInput

    def prepare_value(self, value):
        if isinstance(value, float) and value.is_integer():
            return f"{value:g}"
        return value


class FirstErrorWins:
    """A field shows one message: the model's clean() does not repeat a field that the
    form already refused (e.g. "Enter a number." and then "The rule needs a red value.")."""

    def _update_errors(self, errors: ValidationError) -> None:
        if hasattr(errors, "error_dict"):
            fresh = {
                name: messages
                for name, messages in errors.error_dict.items()
                if name not in self._errors  # type: ignore[attr-defined]
            }
            if not fresh:
                return
            errors = ValidationError(fresh)
        super()._update_errors(errors)  # type: ignore[misc]


class MetricChoiceField(forms.ModelChoiceField):
    """The catalogue as grouped choices, loaded once per page instead of once per measure."""

    default_error_messages = {
        "invalid_choice": _("Unknown metric: pick one from the catalogue."),
    }

    widget = QuickSelect

    def __init__(self, metrics: list[Metric], **kwargs):
        super().__init__(queryset=Metric.objects.all(), **kwargs)
        self.by_pk = {m.pk: m for m in metrics}
        groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for m in metrics:
            groups[builtin(m.category) or gettext("Other")].append((m.pk, builtin(m.name)))
        self.choices = [("", gettext("Choose a metric…")), *groups.items()]

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return self.by_pk[int(value)]
        except (KeyError, TypeError, ValueError):
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            ) from None


class MeasureForm(FirstErrorWins, forms.ModelForm):
    class Meta:
        model = Measure
        fields = [
            "name",
            "category",
            "metric",
            "aggregation",
            "window_days",
            "per_seat",
            "rule",
            "red",
            "green",
            "low",
            "high",
            "direction",
            "weight",
            "order",
        ]
        widgets = {
            "name": QuickTextInput,
            "category": QuickSelect,
            "aggregation": QuickSelect,
            "window_days": QuickNumberInput,
            "per_seat": QuickCheckbox,
            "rule": QuickSelect,
            "direction": QuickSelect,
            "order": QuickHidden,
        }
        field_classes = {
            "red": NumberField,
            "green": NumberField,
            "low": NumberField,
            "high": NumberField,
        }

    def __init__(self, *args, metrics: list[Metric], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["metric"] = MetricChoiceField(metrics, label=model_label(Measure, "metric"))
        self.fields["weight"] = NumberField(
            label=model_label(Measure, "weight"),
            min_value=0,
            error_messages={"min_value": NEGATIVE_WEIGHT},
        )
        self.fields["window_days"].error_messages.update(
            min_value=gettext("A window is at least 1 day."),
            max_value=gettext("A window is at most 730 days."),
        )
        # Short labels: a measure is one row of a dozen fields.
        self.fields["direction"].choices = [
            (1, gettext("More = better")),
            (-1, gettext("More = worse")),
        ]
        self.fields["rule"].choices = SHORT_RULES
        self.fields["aggregation"].choices = SHORT_AGGREGATIONS
        self.fields["order"].required = False

    def clean_order(self) -> int:
        return self.cleaned_data.get("order") or 0

    def _get_validation_exclusions(self):
        # The metric field already checked the choice against the catalogue; the model's
        # foreign-key check would ask the database again, once per measure.
        return {*super()._get_validation_exclusions(), "metric"}


class SavedMeasureField(forms.ModelChoiceField):
    """The hidden id of a saved measure, found among the draft's measures (loaded once)
    instead of one query per measure."""

    widget = QuickHidden

    def __init__(self, formset: forms.BaseModelFormSet, **kwargs):
        super().__init__(queryset=Measure.objects.none(), required=False, **kwargs)
        self.formset = formset

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            found = self.formset._existing_object(int(value))
        except (TypeError, ValueError):
            found = None
        if found is None:
            raise ValidationError(
                gettext("This measure is not part of the draft."), code="invalid_choice"
            )
        return found


class BaseMeasureFormSet(forms.BaseInlineFormSet):
    def add_fields(self, form, index) -> None:
        super().add_fields(form, index)
        form.fields["id"] = SavedMeasureField(self, initial=form.fields["id"].initial)
        form.fields[self.fk.name].widget = QuickHidden()
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget = QuickCheckbox()

    def is_kept(self, form: forms.Form) -> bool:
        """Counts as a measure of the draft: not removed, and saved or filled in."""
        return not self._should_delete_form(form) and bool(form.instance.pk or form.has_changed())


MeasureFormSet = forms.inlineformset_factory(
    ScorecardVersion,
    Measure,
    form=MeasureForm,
    formset=BaseMeasureFormSet,
    extra=0,
    can_delete=True,
    max_num=MAX_MEASURES,
    validate_max=True,
    # Never build more forms than that, whatever TOTAL_FORMS is posted (Django's own cap
    # is a thousand more).
    absolute_max=MAX_MEASURES,
)


class PercentField(forms.FloatField):
    """Shown and typed as 0–100 %, stored as a 0–1 share."""

    def __init__(self, **kwargs):
        super().__init__(
            min_value=0,
            max_value=100,
            error_messages={"min_value": SHARE_RANGE, "max_value": SHARE_RANGE},
            **kwargs,
        )

    def prepare_value(self, value):
        if isinstance(value, float | int) and not isinstance(value, bool):
            return f"{value * 100:g}"
        return value

    def clean(self, value):
        cleaned = super().clean(value)
        return None if cleaned is None else cleaned / 100


class VersionForm(FirstErrorWins, forms.ModelForm):
    green_at = NumberField(
        label=_("Healthy from score"),
        min_value=0,
        max_value=100,
        error_messages={"min_value": CUT_OFF_RANGE, "max_value": CUT_OFF_RANGE},
    )
    red_below = NumberField(
        label=_("Unhealthy below score"),
        min_value=0,
        max_value=100,
        error_messages={"min_value": CUT_OFF_RANGE, "max_value": CUT_OFF_RANGE},
    )
    # xgettext:no-python-format
    top_share = PercentField(label=_("Healthy: top % of accounts"))
    # xgettext:no-python-format
    bottom_share = PercentField(label=_("Unhealthy: bottom % of accounts"))
    min_coverage = PercentField(
        label=_("Minimum coverage %"),
        help_text=_("Below this share of weight with data an account is “No data”."),
    )

    class Meta:
        model = ScorecardVersion
        fields = [
            "band_mode",
            "green_at",
            "red_below",
            "top_share",
            "bottom_share",
            "min_coverage",
            "notes",
        ]
        widgets = {
            "band_mode": forms.RadioSelect,
            "notes": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {"notes": _("Notes for this version")}


class CategoryWeightsForm(forms.Form):
    """One weight per category; a category's weight is shared by its measures."""

    def __init__(self, *args, version: ScorecardVersion, **kwargs):
        current = {cw.category: cw.weight for cw in version.category_weights.all()}
        # A category without a row weighs 1 when scoring (engine.effective_weights).
        initial = {
            f"w_{c}": current.get(c, engine.DEFAULT_CATEGORY_WEIGHT) for c in Category.values
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.version = version
        for c in Category.values:
            self.fields[f"w_{c}"] = NumberField(
                label=gettext("Weight of %(label)s") % {"label": Category(c).label},
                min_value=0,
                error_messages={"min_value": NEGATIVE_WEIGHT},
            )

    def weights(self) -> dict[str, float]:
        return {c: self.cleaned_data[f"w_{c}"] for c in Category.values}

    def save(self) -> None:
        existing = {cw.category: cw for cw in self.version.category_weights.all()}
        changed, created = [], []
        for category, weight in self.weights().items():
            row = existing.get(category)
            if row is None:
                created.append(
                    CategoryWeight(version=self.version, category=category, weight=weight)
                )
            elif row.weight != weight:
                row.weight = weight
                changed.append(row)
        CategoryWeight.objects.bulk_create(created)
        CategoryWeight.objects.bulk_update(changed, ["weight"])


def _number(value) -> float:
    """A typed number, leniently (for the live weight shares): anything else counts as 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number > 0 and number != float("inf") else 0.0


class DraftForms:
    """The whole draft editor: band settings, category weights and measures."""

    def __init__(self, draft: ScorecardVersion, data: QueryDict | None = None):
        self.draft = draft
        metrics = list(Metric.objects.order_by("category", "name"))
        self.version = VersionForm(data, instance=draft, prefix="version")
        self.weights = CategoryWeightsForm(data, version=draft, prefix="cw")
        self.measures = MeasureFormSet(
            data,
            instance=draft,
            prefix=PREFIX,
            queryset=Measure.objects.order_by("order", "id"),
            form_kwargs={"metrics": metrics},
        )
        # Why the draft cannot be published (version_problems), shown above the measures.
        self.problems: list[str] = []

    @property
    def is_bound(self) -> bool:
        return self.version.is_bound

    def is_valid(self) -> bool:
        results = [self.version.is_valid(), self.weights.is_valid(), self.measures.is_valid()]
        return all(results)

    @property
    def error_count(self) -> int:
        count = len(self.version.errors) + len(self.weights.errors)
        count += sum(len(f.errors) for f in self.measures.forms if not self._deleted(f))
        return count + len(self.measures.non_form_errors()) + len(self.problems)

    def _deleted(self, form: forms.Form) -> bool:
        return bool(self.measures.can_delete and form["DELETE"].value())

    # ---------------------------------------------------------------- writes

    def save(self) -> ScorecardVersion:
        """Save all three; the caller holds the transaction (all or nothing)."""
        if not self.is_valid():
            raise ValueError("The draft's forms have errors; nothing to save.")
        version = self.version.save()
        self.weights.save()
        self.measures.save()
        # Scoring order is category by category, then as arranged within each category.
        measures = sorted(
            version.measures.all(),
            key=lambda m: (Category.values.index(m.category), m.order, m.pk),
        )
        renumbered = []
        for position, measure in enumerate(measures):
            if measure.order != position:
                measure.order = position
                renumbered.append(measure)
        Measure.objects.bulk_update(renumbered, ["order"])
        return version

    # ---------------------------------------------------------------- live figures

    def _category_weight(self, category: str) -> float:
        field = self.weights[f"w_{category}"]
        return _number(field.value())

    def _row(self, form: forms.Form, index: int) -> dict:
        category = form["category"].value() or ""
        try:
            order = int(form["order"].value() or 0)
        except (TypeError, ValueError):
            order = 0
        return {
            "form": form,
            "index": index,
            "category": category,
            "order": order,
            "weight": _number(form["weight"].value()),
            "deleted": self._deleted(form),
            "rule": form["rule"].value(),
            "new": not form.instance.pk,
        }

    def categories(self) -> list[dict]:
        """The measures grouped by category, in order, with each one's share of the score
        (category weight × measure weight / category total, as % of all)."""
        rows = [self._row(f, i) for i, f in enumerate(self.measures.forms)]
        live = [r for r in rows if not r["deleted"]]
        category_weights = {c: self._category_weight(c) for c in Category.values}
        # Every category has a weight field here: a row whose category is none of them
        # (not chosen yet) has no share.
        weights = engine.effective_weights(
            [(r["category"], r["weight"]) for r in live], category_weights, unlisted=0.0
        )
        effective = {id(r): w for r, w in zip(live, weights, strict=True)}
        grand = sum(effective.values())
        groups = []
        for c in Category.values:
            members = sorted((r for r in rows if r["category"] == c), key=lambda r: r["order"])
            for r in members:
                r["share"] = 100 * effective.get(id(r), 0.0) / grand if grand else 0.0
            positions = [r for r in members if not r["deleted"]]
            for position, r in enumerate(positions):
                r["first"], r["last"] = position == 0, position == len(positions) - 1
            groups.append(
                {
                    "key": c,
                    "label": Category(c).label,
                    "weight_field": self.weights[f"w_{c}"],
                    "rows": members,
                    "share": sum(r["share"] for r in members if not r["deleted"]),
                }
            )
        return groups

    # ---------------------------------------------------------------- preview

    def config(self) -> VersionConfig:
        """The unsaved draft as the scoring code sees it (call after is_valid())."""
        kept = [f for f in self.measures.forms if self.measures.is_kept(f)]
        kept.sort(key=lambda f: (Category.values.index(f.instance.category), f.instance.order))
        measures = [f.instance for f in kept]
        configs = measure_configs(
            measures, self.weights.weights(), keys=[f"draft-{i}" for i in range(len(measures))]
        )
        # The form's instance is the draft, carrying the (unsaved) band settings.
        return config_for(self.version.instance, configs, card=self.draft.scorecard)


# ---------------------------------------------------------------- editing operations


def _int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def apply_op(data: QueryDict, op: str) -> QueryDict:
    """Add a measure to a category, or move one up or down within its category, on the
    submitted (unsaved) data: "add:usage", "up:3", "down:3" (3 = the form's index).
    Unknown operations change nothing."""
    data = data.copy()
    total = _int(data.get(f"{PREFIX}-TOTAL_FORMS"))
    action, _sep, arg = op.partition(":")
    if action == "add" and arg in Category.values and total < MAX_MEASURES:
        orders = [_int(data.get(f"{PREFIX}-{i}-order")) for i in range(total)]
        metric = _first_metric(arg)
        new = {
            "name": (
                gettext("New %(metric)s measure") % {"metric": builtin(metric.name).lower()}
                if metric
                else gettext("New measure")
            ),
            "category": arg,
            "metric": str(metric.pk) if metric else "",
            "aggregation": "mean",
            "window_days": "30",
            # Percentile needs no parameters, so a new measure is valid until edited.
            "rule": "percentile",
            "direction": str(metric.direction if metric else 1),
            "weight": "1",
            "order": str(max(orders, default=0) + 1),
        }
        for name, value in new.items():
            data[f"{PREFIX}-{total}-{name}"] = value
        data[f"{PREFIX}-TOTAL_FORMS"] = str(total + 1)
    elif action in ("up", "down"):
        index = _int(arg, -1)
        if 0 <= index < total:
            _move(data, total, index, -1 if action == "up" else 1)
    return data


def _first_metric(category: str) -> Metric | None:
    # The catalogue's categories are the English words the values spell ("usage" is "Usage"),
    # whatever the reader's language.
    return (
        Metric.objects.filter(category__iexact=category).order_by("name").first()
        or Metric.objects.order_by("category", "name").first()
    )


def _move(data: QueryDict, total: int, index: int, step: int) -> None:
    def key(i: int, name: str) -> str:
        return f"{PREFIX}-{i}-{name}"

    category = data.get(key(index, "category"))
    siblings = sorted(
        (
            i
            for i in range(total)
            if data.get(key(i, "category")) == category and not data.get(key(i, "DELETE"))
        ),
        key=lambda i: (_int(data.get(key(i, "order"))), i),
    )
    if index not in siblings:
        return
    position = siblings.index(index)
    target = position + step
    if not 0 <= target < len(siblings):
        return
    siblings[position], siblings[target] = siblings[target], siblings[position]
    # Renumber the category's measures 0..n so equal or missing orders cannot stall a move.
    base = min(_int(data.get(key(i, "order"))) for i in siblings)
    for offset, i in enumerate(siblings):
        data[key(i, "order")] = str(base + offset)


# ---------------------------------------------------------------- a new scorecard

EMPTY = "empty"


class ScorecardNewForm(forms.Form):
    """A new scorecard: its name, the segments it is for, and where its first draft starts
    (empty, or a copy of another scorecard's active version)."""

    name = forms.CharField(
        label=model_label(Scorecard, "name"),
        max_length=100,
        error_messages={"required": _("Name the scorecard (“Enterprise”, “SMB onboarding”, …).")},
    )
    description = forms.CharField(
        label=model_label(Scorecard, "description"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    segments = forms.MultipleChoiceField(
        label=model_label(Scorecard, "segments"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Accounts of these segments are scored by it once its first version is "
            "published; until then they keep their scorecard."
        ),
    )
    start = forms.ChoiceField(label=_("Start from"), widget=forms.RadioSelect)

    def __init__(self, *args, cards: list, segments: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Loaded once by the view: the choices and their current scorecards.
        self.cards = {str(c.pk): c for c in cards}
        self.segment_objects = {str(s.pk): s for s in segments}
        owner = {s.pk: c for c in cards if c.active for s in c.segments.all()}
        default = next((c for c in cards if c.is_default and c.active), None)

        def scored_by(segment) -> str:
            card = owner.get(segment.pk, default)
            if card is None:
                return segment.name
            return gettext("%(segment)s (now: %(scorecard)s)") % {
                "segment": segment.name,
                "scorecard": card.name,
            }

        self.fields["segments"].choices = [
            (pk, scored_by(s)) for pk, s in self.segment_objects.items()
        ]
        self.fields["start"].choices = [(EMPTY, gettext("An empty scorecard"))] + [
            (
                pk,
                gettext("A copy of %(name)s v%(number)s")
                % {"name": c.name, "number": c.active.number},
            )
            for pk, c in self.cards.items()
            if c.active is not None
        ]
        self.fields["start"].initial = EMPTY

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if any(c.name.casefold() == name.casefold() for c in self.cards.values()):
            raise forms.ValidationError(
                gettext("A scorecard named “%(name)s” exists already.") % {"name": name}
            )
        return name

    def chosen_segments(self) -> list:
        return [self.segment_objects[pk] for pk in self.cleaned_data["segments"]]

    def copy_from(self):
        start = self.cleaned_data["start"]
        return None if start == EMPTY else self.cards[start]
