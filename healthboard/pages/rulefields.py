"""Form fields that check a value with the import's rules (accounts.imports.rules), so a
value typed on a page is held to what a CSV file or an API call is, in the same words."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from accounts.i18n import builtin
from accounts.imports import rules
from accounts.imports.cells import CellError
from accounts.imports.columns import squash


class RuleField(forms.CharField):
    """Text in, the rule's value out; the rule's CellError becomes the field's error."""

    def __init__(self, rule: Callable[[str], Any], *, empty_value: Any = None, **kwargs) -> None:
        kwargs.setdefault("error_messages", {}).setdefault("required", rules.REQUIRED)
        super().__init__(empty_value=empty_value, **kwargs)
        self.rule = rule

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values or not str(value).strip():
            return self.empty_value
        value = super().to_python(value)
        try:
            return self.rule(value)
        except CellError as exc:
            raise ValidationError(str(exc), code="invalid") from None


def text_field(max_length: int, **kwargs) -> RuleField:
    """Text of at most `max_length` characters ("longer than 60 characters" otherwise)."""
    kwargs.setdefault("empty_value", "")
    field = RuleField(partial(rules.text, max_length=max_length), **kwargs)
    field.widget.attrs["maxlength"] = str(max_length)
    return field


class ObjectChoiceField(forms.ChoiceField):
    """One of a few objects (segments, stages, owners), loaded once, by pk as a select sends
    it, or by name or slug as a file writes it; anything else is "unknown … (known: …)"."""

    def __init__(
        self, *, what: str, objects: Iterable[models.Model], blank_label: str = "—", **kwargs
    ) -> None:
        kwargs.setdefault("error_messages", {}).setdefault("required", rules.REQUIRED)
        super().__init__(**kwargs)
        self.what = what
        self.objects = {str(o.pk): o for o in objects}
        self.by_name: dict[str, models.Model] = {}
        for o in self.objects.values():
            for name in (str(o), getattr(o, "slug", "")):
                self.by_name.setdefault(squash(name), o)
        blank = [("", blank_label)] if not self.required else []
        self.choices = blank + [(pk, self.option_label(o)) for pk, o in self.objects.items()]

    def option_label(self, obj: models.Model) -> str:
        return builtin(str(obj))

    def to_python(self, value: Any) -> models.Model | None:
        if value in self.empty_values:
            return None
        value = str(value).strip()
        found = self.objects.get(value) or self.by_name.get(squash(value))
        if found is None:
            names = [str(o) for o in self.objects.values()]
            raise ValidationError(
                str(rules.unknown_choice(self.what, value[:100], names, can_create=False)),
                code="invalid_choice",
            )
        return found

    def validate(self, value) -> None:
        if value is None and self.required:
            raise ValidationError(self.error_messages["required"], code="required")

    def prepare_value(self, value):
        return getattr(value, "pk", value)
