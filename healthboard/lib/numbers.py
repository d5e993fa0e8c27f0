"""Figures as people read them, in the active language: the one home of number and
percentage formatting for text (money is healthboard/lib/money.py, dates
healthboard/lib/dates.py).

    number_text(1234.5, 1)   -> "1,234.5" (en), "1.234,5" (da, id), "1 234,5" (pl)
    percent_text(82.3, 1)    -> "82.3%" (en), "82,3 %" (da), "82,3%" (pl, id)

settings.USE_THOUSAND_SEPARATOR is off so that numbers in attributes, URLs and JSON never
gain separators; text for people (messages, import reports, e-mail, chart hover text,
command output) is grouped here instead, explicitly.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import formats, translation

NBSP = "\u00a0"
MINUS = "\u2212"
DASH = "\u2014"

# The languages whose percentages put a (non-breaking) space before the sign, as CLDR's
# percent patterns write them: Danish "82 %"; English, Polish and Indonesian "82%".
PERCENT_SPACED = frozenset({"da"})


def _finite(value) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    except (TypeError, ValueError, InvalidOperation):
        return None
    return number if math.isfinite(number) else None


def number_text(value, digits: int = 0) -> str:
    """`value` rounded to `digits` places with the language's decimal mark and thousands
    grouping; an em dash for no value. Negative numbers take a real minus sign."""
    number = _finite(value)
    if number is None:
        return DASH
    # Rounded first, half away from zero as people round (2.5 -> 3): number_format would
    # cut 39.57 to 39.5.
    rounded = abs(number).quantize(Decimal(1).scaleb(-int(digits)), rounding=ROUND_HALF_UP)
    text = formats.number_format(rounded, int(digits), use_l10n=True, force_grouping=True)
    negative = number < 0 and rounded != 0
    return (MINUS if negative else "") + text


def percent_text(value, digits: int = 0) -> str:
    """`value` in percent (82.3, not 0.823) with the sign where the language puts it."""
    text = number_text(value, digits)
    return DASH if text == DASH else percent_sign(text)


def percent_sign(text: str) -> str:
    """A number already written out ("82,3") followed by the percent sign as the active
    language writes it."""
    base = (translation.get_language() or "en").split("-")[0].lower()
    return text + (NBSP if base in PERCENT_SPACED else "") + "%"


def share_text(share, digits: int = 0) -> str:
    """A share (0.823) as a percentage: `percent_text(82.3)`."""
    number = _finite(share)
    return DASH if number is None else percent_text(100 * number, digits)
