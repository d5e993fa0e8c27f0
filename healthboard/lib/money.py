"""Money as people read it in their language, compactly: the one home of amount formatting.

    money_text(1_234_567, currency="USD", language="en")  -> "$1.2M"
    money_text(1_234_567, currency="DKK", language="da")  -> "1,2 mio. kr."
    money_text(1_200_000_000, currency="IDR", language="id")  -> "Rp 1,2 M"
    money_text(1_200_000_000, currency="PLN", language="pl")  -> "1,2 mld zł"

Compact units are each language's own short words (CLDR's short decimal formats): English
k / M / B / T, Danish t. / mio. / mia. / bio., Polish tys. / mln / mld / bln, Indonesian
rb / jt / M / T (miliar: 10⁹). They are locale data, not sentences, so they live here
rather than in the translation catalogues. The decimal separator is Django's for the
language. An em dash for no value.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils import formats, translation

MINUS = "\u2212"
DASH = "\u2014"
NBSP = "\u00a0"

# Symbols people write; any other ISO code is written as the code ("CHF 85k").
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "DKK": "kr.", "PLN": "zł", "IDR": "Rp"}

# Per language: the compact units from the largest (10¹²) down to thousands, and whether
# the currency goes before the number (and with a space between them).
UNITS = {
    "en": ("T", "B", "M", "k"),
    "da": (" bio.", " mia.", " mio.", " t."),
    "pl": (" bln", " mld", " mln", " tys."),
    "id": (" T", " M", " jt", " rb"),
}
EXPONENTS = (12, 9, 6, 3)
# (before the number?, space between?) for a symbol; codes always take a space.
PLACEMENT = {"en": (True, False), "id": (True, True), "da": (False, True), "pl": (False, True)}


def _amount(value) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(value) if isinstance(value, Decimal) else Decimal(repr(float(value)))
    except (TypeError, ValueError, InvalidOperation):
        return None
    return number if math.isfinite(number) else None


def _digits(quotient: Decimal, decimal_separator: str) -> str:
    # One decimal below 10 (1.2M, 8.5k), whole numbers above (85k, 120M); never ".0".
    text = f"{quotient:.1f}" if quotient < 10 else f"{quotient:.0f}"
    return text.removesuffix(".0").replace(".", decimal_separator)


def money_text(value, *, currency: str, language: str) -> str:
    """`value` in `currency` (an ISO code) written compactly for readers of `language`."""
    amount = _amount(value)
    if amount is None:
        return DASH
    base = (language or "en").split("-")[0].lower()
    units = UNITS.get(base, UNITS["en"])
    magnitude = abs(amount)
    sign = MINUS if amount < 0 and magnitude >= Decimal("0.5") else ""
    decimal_separator = formats.get_format("DECIMAL_SEPARATOR", lang=base, use_l10n=True)
    number = f"{magnitude:.0f}"
    for exponent, unit in zip(EXPONENTS, units, strict=True):
        divisor = Decimal(10) ** exponent
        # 999,600 would round to "1000k": it reads as "1M".
        if magnitude >= divisor * Decimal("0.9995"):
            number = _digits(max(magnitude, divisor) / divisor, decimal_separator) + unit
            break
    prefix, suffix = currency_affixes(currency, base)
    return f"{sign}{prefix}{number.replace(' ', NBSP)}{suffix}"


def currency_affixes(currency: str, language: str) -> tuple[str, str]:
    """What goes before and after an amount in `currency` for readers of `language`:
    ("$", "") in English, ("", " kr.") in Danish, ("Rp ", "") in Indonesian. Charts put
    them around Plotly's own number format."""
    base = (language or "en").split("-")[0].lower()
    code = currency.upper()
    symbol = SYMBOLS.get(code)
    before, spaced = PLACEMENT.get(base, PLACEMENT["en"])
    if base == "en" and symbol and len(symbol) > 1:
        # "kr.1.2M" does not read in English: "DKK 1.2M" does.
        symbol = None
    gap = NBSP if spaced or symbol is None else ""
    mark = symbol or code
    return (f"{mark}{gap}", "") if before else ("", f"{NBSP}{mark}")


def money_shown(value, currency: str = "") -> str:
    """`value` in the installation's currency (settings.CURRENCY, or the ISO code given) for
    the active language: the `money` template filter, and the same for text built in Python."""
    return money_text(
        value, currency=currency or settings.CURRENCY, language=translation.get_language()
    )
