"""The scorecard editor driven as a browser drives it, for the preview benchmark and tests."""

from __future__ import annotations

from healthboard.pages.scorecards.forms import DraftForms


def editor_post_data(forms: DraftForms) -> dict[str, str]:
    """What the editor posts for the draft as shown (unbound forms: as saved)."""
    data: dict[str, str] = {}
    for form in (forms.version, forms.weights, forms.measures.management_form):
        for field in form:
            value = field.value()
            data[field.html_name] = "" if value is None else str(value)
    for form in forms.measures.forms:
        for field in form:
            value = field.value()
            if value is True:
                data[field.html_name] = "on"
            elif value not in (None, False):
                data[field.html_name] = str(value)
    return data
