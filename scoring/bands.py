"""Bands: the traffic light every score is shown in. The one home of their codes, orders,
ranks, labels, shapes and the one-byte codes that stored snapshots use.

Pure (no queries): the engine, the rollups and the pages all read it. Colour is never the only
carrier of meaning, so every band also has a word (its label) and a shape.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Band(models.TextChoices):
    GREEN = "green", _("Healthy")
    YELLOW = "yellow", _("At risk")
    RED = "red", _("Unhealthy")
    NO_DATA = "none", _("No data")

    @classmethod
    def of(cls, value: object) -> Band:
        """A band value as typed or stored ("Green ", "", None, …); anything else → NO_DATA."""
        key = str(value or "").strip().lower()
        return cls(key) if key in cls.values else cls.NO_DATA

    @property
    def shape(self) -> str:
        return SHAPES[self]


# How bands are listed (summaries, filters, the before/after matrices): best first.
ORDER: tuple[Band, ...] = (Band.GREEN, Band.YELLOW, Band.RED, Band.NO_DATA)

# Worst first, for lists a CSM works from the top (the journey board's cards, the weekly
# chart's stack from the bottom up): an account without data needs a look before a healthy one.
RISK_ORDER: tuple[Band, ...] = (Band.RED, Band.YELLOW, Band.NO_DATA, Band.GREEN)

# The bands whose accounts (and ARR) count as "at risk" in summaries.
AT_RISK: tuple[Band, ...] = (Band.YELLOW, Band.RED)

# Better or worse: higher is better. "No data" has no rank: moving to or from it is
# neither better nor worse than a colour.
RANK: dict[str, int] = {Band.RED: 1, Band.YELLOW: 2, Band.GREEN: 3}

# A different shape per band so colour is never the only carrier of meaning (colour
# blindness, grey-scale print).
SHAPES: dict[str, str] = {
    Band.GREEN: "\u25cf",  # ●
    Band.YELLOW: "\u25b2",  # ▲
    Band.RED: "\u25a0",  # ■
    Band.NO_DATA: "\u25cb",  # ○
}

# A band's one-byte code in stored run snapshots (scoring.rollups.snapshots) is its position
# here: the bytes on disk depend on it, so append, never reorder.
CODES: tuple[Band, ...] = (Band.GREEN, Band.YELLOW, Band.RED, Band.NO_DATA)
NO_CODE = 255  # a band these codes do not know


def change(before: str, after: str) -> str:
    """ "better", "worse", or "" when the band stayed or either side has no rank (no data)."""
    if before == after or before not in RANK or after not in RANK:
        return ""
    return "better" if RANK[after] > RANK[before] else "worse"


def code_of(band: str) -> int:
    """A band's snapshot code; NO_CODE for a value that is not a band."""
    return CODES.index(band) if band in CODES else NO_CODE
