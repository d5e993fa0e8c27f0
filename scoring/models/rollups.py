"""The per-run rollups' tables (their reading and writing: scoring.rollups)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from scoring.bands import Band

# The owner of unassigned accounts in a RunTotal cell: the cell's key has no NULL, so "no
# owner" is one cell and the unique constraint (and ON CONFLICT) can find it.
NO_OWNER = 0


class RunSnapshot(models.Model):
    """One done run as published: its scores as columns (see RunColumns.decode for the
    layout) and its accounts and ARR per band. Written when the run is published; after
    that only the day's re-scores are appended, by a later publication."""

    run = models.OneToOneField(
        "scoring.ScoreRun", on_delete=models.CASCADE, primary_key=True, related_name="snapshot"
    )
    columns = models.BinaryField(editable=False)
    # {band: [accounts, ARR]}: every account the run scored (those that churned since too:
    # they were customers then), as published, each at its ARR then.
    totals = models.JSONField(default=dict)
    # The newest HealthScore id the columns reflect: re-scores since have larger ids.
    through = models.BigIntegerField(default=0)
    # The run's day is over and its re-scores are in the columns: they are final.
    settled = models.BooleanField(default=False)
    built_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "scoring"

    def __str__(self) -> str:
        return f"Snapshot of {self.run}"


class RunTotal(models.Model):
    """The accounts of one cell (owner, segment, active or not) in one band of one done run:
    how many, and their ARR."""

    run = models.ForeignKey(
        "scoring.ScoreRun", on_delete=models.CASCADE, related_name="totals", db_index=False
    )
    band = models.CharField(max_length=6, choices=Band.choices)
    # Ids, not foreign keys: deleting a user sets its accounts' owner to NULL, an account
    # update the triggers turn into moving cells; a cascade would drop the cells first.
    owner_id = models.BigIntegerField()
    segment_id = models.BigIntegerField()
    # Churned accounts still count in the week-before comparison (what that run scored).
    active = models.BooleanField()
    n = models.IntegerField()
    arr = models.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        constraints = [
            # Also the index that finds a run's cells.
            models.UniqueConstraint(
                fields=["run", "band", "owner_id", "segment_id", "active"],
                name="one_total_per_run_cell",
            )
        ]

    def __str__(self) -> str:
        return f"Run {self.run_id} {self.band}: {self.n}"
