"""Form widgets that render without templates, for the scorecard editor.

The editor renders ~300 inputs and ~800 <option>s on every change (it re-renders the whole
form to put messages at the fields). Django renders each widget, and each option, through
a template: ~1 s per change. These widgets write the same HTML with string formatting.
"""

from __future__ import annotations

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe


class QuickRender:
    def _render(self, template_name, context, renderer=None) -> SafeString:
        widget = context["widget"]
        attrs = {"name": widget["name"], **widget["attrs"]}
        if "optgroups" in widget:
            return format_html("<select{}>{}</select>", flatatt(attrs), _options(widget))
        attrs = {"type": widget["type"], **attrs}
        if widget["value"] is not None:
            attrs["value"] = widget["value"]
        return format_html("<input{}>", flatatt(attrs))


def _options(widget: dict) -> SafeString:
    parts = []
    for group, options, _index in widget["optgroups"]:
        html = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((o["value"], flatatt(o["attrs"]), o["label"]) for o in options),
        )
        parts.append(
            format_html('<optgroup label="{}">{}</optgroup>', group, html) if group else html
        )
    return mark_safe("".join(parts))


class QuickTextInput(QuickRender, forms.TextInput):
    pass


class QuickNumberInput(QuickRender, forms.NumberInput):
    pass


class QuickCheckbox(QuickRender, forms.CheckboxInput):
    pass


class QuickHidden(QuickRender, forms.HiddenInput):
    pass


class QuickSelect(QuickRender, forms.Select):
    pass
