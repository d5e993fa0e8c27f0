"""Template tags and filters shared by every Healthboard page: `{% load healthboard %}`.

- `{% band_chip band score %}`: the traffic-light chip (colour + shape + words, never colour
  alone).
- `band_label`, `band_shape`, `band_key`: a band value ("green", "yellow", "red", "none") as
  words, as a shape, or normalised for a CSS class.
- `signed` (+3.2 / −1.0), `arrow` (▲ / ▼), `money` ($1.2M / 1,2 mio. kr.), `score_text`,
  `pct` (a percentage where the language puts the sign: 82 % / 82%).
- `is_under`: whether a path is in a section, to mark the current navigation link.
- `builtin`: a stored name or text in the reader's language when it is one the install
  seeded (a default metric, stage, category, measure, rule, outcome or step), otherwise as
  typed: `{{ metric.name|builtin }}` (accounts.i18n).
"""

from __future__ import annotations

import math
from decimal import InvalidOperation
from functools import lru_cache

from django import template
from django.utils import formats
from django.utils.html import format_html
from django.utils.translation import get_language, gettext, ngettext

from accounts.i18n import builtin as builtin_text
from healthboard.lib.money import money_shown
from healthboard.lib.numbers import percent_text
from scoring.bands import Band

register = template.Library()

# A real minus sign: a hyphen is shorter than a plus and reads as a dash in tables.
MINUS = "\u2212"
DASH = "\u2014"


def _number(value) -> float | None:
    """A template value as a finite float, or None for None, "", and anything not a number."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, InvalidOperation):
        return None
    return number if math.isfinite(number) else None


@register.filter
def band_key(band) -> str:
    """The band normalised to one of green / yellow / red / none (unknown or empty → none)."""
    return Band.of(band).value


@register.filter
def builtin(value):
    """`{{ stage.name|builtin }}`: see accounts.i18n.builtin."""
    return builtin_text(value)


@register.filter
def band_label(band) -> str:
    return Band.of(band).label


@register.filter
def band_shape(band) -> str:
    return Band.of(band).shape


@register.filter
def score_text(score) -> str:
    """A 0–100 score as a whole number ("55"); empty when there is no score."""
    number = _number(score)
    return "" if number is None else f"{number:.0f}"


@register.filter
def fact(value) -> str:
    """A figure as evidence shows it: fractions to one decimal (39.6, as the reason words
    it), whole numbers and words as they are, an em dash for none."""
    if value is None or value == "":
        return "\u2014"
    if isinstance(value, float):
        # Rounded first: number_format cuts digits off (39.57 would read 39.5).
        return formats.number_format(f"{value:.1f}", 1)
    return str(value)


@register.filter
def signed(value, digits: int = 1) -> str:
    """+3.2, −1.0, 0.0; an em dash when there is no value."""
    number = _number(value)
    if number is None:
        return DASH
    rounded = f"{abs(number):.{int(digits)}f}"
    # In the reader's locale: 3,2 in Danish, Polish and Indonesian.
    text = formats.number_format(rounded, int(digits))
    if float(rounded) == 0:
        return text
    return ("+" if number > 0 else MINUS) + text


@register.filter
def arrow(value) -> str:
    """▲ for a rise, ▼ for a fall; nothing for no value or a change that `signed` shows as
    0.0, so the arrow never contradicts the number beside it."""
    number = _number(value)
    if number is None or round(number, 1) == 0:
        return ""
    return "\u25b2" if number > 0 else "\u25bc"


@register.filter
def money(value, currency: str = "") -> str:
    """ARR compactly in the installation's currency (settings.CURRENCY, or the ISO code
    given) for the reader's language: $1.2M, $85k, 1,2 mio. kr., Rp 1,2 M; an em dash when
    there is no value (healthboard/lib/money.py)."""
    return money_shown(value, currency)


@register.filter
def pct(value, digits: int = 0) -> str:
    """A value in percent (82.3, not 0.823) as the reader's language writes it: "82 %" in
    Danish, "82%" in English, Polish and Indonesian (healthboard/lib/numbers.py)."""
    return percent_text(value, int(digits))


@register.filter
def is_under(path, prefix: str) -> bool:
    """Whether `path` is `prefix` or below it: `request.path|is_under:"/scoring/weekly/"`."""
    path, prefix = str(path or ""), str(prefix or "")
    if prefix == "/":
        return path == "/"
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


@register.simple_tag
def band_chip(band, score=None) -> str:
    """`{% band_chip row.band row.score %}`: the traffic-light chip. Colour, a shape and
    words, so colour is never the only carrier; role="img" makes screen readers read one
    label ("Health: At risk, score 55") instead of the shape glyph and the pieces
    separately. Band: green, yellow, red or none (anything else reads as "No data"); the
    score is optional. Made in Python, not an included template: a journey board shows up
    to 180 of them, and rendering a template for each cost more than the rest of a card."""
    return _chip(Band.of(band), score_text(score), get_language())


@lru_cache(maxsize=1024)
def _chip(band: Band, number: str, language: str | None) -> str:
    """The chip's markup: it only depends on the band, the rounded score and the language
    its words are in (a cache keyed on the band alone served one reader's words to every
    other). A page of cards repeats a few hundred of them at most."""
    if number:
        title = gettext("Health: %(label)s, score %(number)s") % {
            "label": band.label,
            "number": number,
        }
        extra = format_html(' <span class="chip-score">{}</span>', number)
    else:
        title = gettext("Health: %(label)s") % {"label": band.label}
        extra = ""
    return format_html(
        '<span class="chip chip-{}" role="img" aria-label="{}" title="{}">'
        '<span class="chip-shape" aria-hidden="true">{}</span> '
        '<span class="chip-label">{}</span>{}</span>',
        band.value,
        title,
        title,
        band.shape,
        band.label,
        extra,
    )


@register.filter
def renewal_note(days) -> str:
    """When the renewal is, from Account.days_to_renewal: "in 12 days", "today", "3 days
    ago"; empty when there is no renewal date."""
    if days is None:
        return ""
    days = int(days)
    if days == 0:
        return gettext("today")
    if days < 0:
        return ngettext("%(days)s day ago", "%(days)s days ago", -days) % {"days": -days}
    return ngettext("in %(days)s day", "in %(days)s days", days) % {"days": days}
