"""Form labels from the models' verbose names, so a page, the admin and every language name
a field the same way. Django gives a generated ModelForm field the model field's verbose
name, but a field a form declares itself (the rule-checked ones) gets its attribute name
("Name", "Owner"), in English whatever the language."""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.text import capfirst


def model_label(model: type[models.Model], name: str) -> str:
    """The field's verbose name as a label (lazy: read in the language of the page)."""
    return capfirst(model._meta.get_field(name).verbose_name)


class ModelLabels:
    """Mixin for a ModelForm: declared fields without a label take the model field's."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.label is None:
                try:
                    field.label = model_label(self._meta.model, name)
                except FieldDoesNotExist:
                    continue
