"""Bands: the traffic light every score is shown in. The one home of their codes, order,
labels and shapes.

Pure (no queries): the engine, the rollups and the pages all read it. Colour is never the only
carrier of meaning, so every band also has a word and a shape.
"""

from __future__ import annotations

from django.db import models


class Band(models.TextChoices):
    GREEN = "green", "Healthy"
    YELLOW = "yellow", "At risk"
    RED = "red", "Unhealthy"
    NO_DATA = "none", "No data"
