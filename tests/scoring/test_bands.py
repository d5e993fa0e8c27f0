"""The bands: codes, orders, ranks, labels, shapes and snapshot codes stay what they are."""

from __future__ import annotations

import pytest

from scoring import bands
from scoring.bands import Band


def test_the_band_values_and_labels_are_stable() -> None:
    # Stored in every score row and shown on every chip: changing one is a migration.
    assert Band.choices == [
        ("green", "Healthy"),
        ("yellow", "At risk"),
        ("red", "Unhealthy"),
        ("none", "No data"),
    ]


def test_bands_are_listed_best_first_and_by_risk_worst_first() -> None:
    assert bands.ORDER == ("green", "yellow", "red", "none")
    # "No data" needs a look before a healthy account.
    assert bands.RISK_ORDER == ("red", "yellow", "none", "green")
    assert set(bands.ORDER) == set(bands.RISK_ORDER) == set(Band)
    assert bands.AT_RISK == ("yellow", "red")


def test_snapshot_codes_are_the_positions_on_disk() -> None:
    # Append-only: stored run snapshots hold these bytes.
    assert bands.CODES == ("green", "yellow", "red", "none")
    assert [bands.code_of(b) for b in ("green", "yellow", "red", "none")] == [0, 1, 2, 3]
    assert bands.code_of("purple") == bands.NO_CODE == 255


@pytest.mark.parametrize(
    ("before", "after", "change"),
    [
        ("red", "yellow", "better"),
        ("yellow", "green", "better"),
        ("red", "green", "better"),
        ("green", "red", "worse"),
        ("yellow", "red", "worse"),
        ("green", "green", ""),
        # "No data" is neither better nor worse than a colour.
        ("none", "green", ""),
        ("red", "none", ""),
    ],
)
def test_a_change_of_band_reads_better_or_worse(before: str, after: str, change: str) -> None:
    assert bands.change(before, after) == change


def test_every_band_has_its_own_shape() -> None:
    assert [b.shape for b in bands.ORDER] == ["\u25cf", "\u25b2", "\u25a0", "\u25cb"]


@pytest.mark.parametrize(
    ("value", "band"),
    [("green", Band.GREEN), (" Yellow ", Band.YELLOW), ("", Band.NO_DATA), (None, Band.NO_DATA)],
)
def test_any_value_reads_as_a_band(value, band: Band) -> None:
    assert Band.of(value) is band
    assert Band.of("purple") is Band.NO_DATA
