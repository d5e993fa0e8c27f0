"""Money in the installation's currency, compact, as each language writes it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from healthboard.lib.money import money_text

NB = "\u00a0"


@pytest.mark.parametrize(
    ("value", "currency", "language", "expected"),
    [
        (1_234_567, "USD", "en", "$1.2M"),
        (85_000, "USD", "en", "$85k"),
        (1_234_567, "DKK", "da", f"1,2{NB}mio.{NB}kr."),
        (85_000, "DKK", "da", f"85{NB}t.{NB}kr."),
        (1_200_000_000, "PLN", "pl", f"1,2{NB}mld{NB}zł"),
        (8_540, "PLN", "pl", f"8,5{NB}tys.{NB}zł"),
        # Large rupiah amounts stay readable: miliar (M) and triliun (T).
        (1_200_000_000, "IDR", "id", f"Rp{NB}1,2{NB}M"),
        (Decimal("3400000000000"), "IDR", "id", f"Rp{NB}3,4{NB}T"),
        (25_000_000, "IDR", "id", f"Rp{NB}25{NB}jt"),
        (1_234_567, "USD", "da", f"1,2{NB}mio.{NB}$"),
        (1_234_567, "DKK", "en", f"DKK{NB}1.2M"),
        (1_234_567, "CHF", "en", f"CHF{NB}1.2M"),
        (-1_200_000, "EUR", "pl", f"−1,2{NB}mln{NB}€"),
        (950, "IDR", "id", f"Rp{NB}950"),
        (None, "USD", "da", "—"),
    ],
)
def test_money_text(value, currency: str, language: str, expected: str) -> None:
    assert money_text(value, currency=currency, language=language) == expected


def test_the_filter_uses_the_installations_currency_and_the_readers_language(settings) -> None:
    settings.CURRENCY = "DKK"
    with translation.override("da"):
        text = Template("{% load healthboard %}{{ v|money }}").render(Context({"v": 2_500_000}))

    assert text == f"2,5{NB}mio.{NB}kr."


def test_signed_figures_use_the_readers_decimal_separator() -> None:
    template = Template("{% load healthboard %}{{ v|signed }} {{ f|fact }}")
    with translation.override("pl"):
        assert template.render(Context({"v": -3.21, "f": 39.57})) == "−3,2 39,6"
