"""How a CTA's evidence shows its figures: as its reason words them."""

import pytest

from healthboard.pages.templatetags.healthboard import fact


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (39.5712, "39.6"),
        (41.0, "41.0"),
        (30, "30"),
        ("Unhealthy", "Unhealthy"),
        ("2026-12-02", "2026-12-02"),
        (None, "\u2014"),
        ("", "\u2014"),
    ],
)
def test_evidence_figures_read_like_the_reason(value, shown) -> None:
    assert fact(value) == shown
