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
    """The accounts of one cell (owner, segment, stage, active or not) in one band of one done
    run: how many, their ARR, and their scores summed (for averages)."""

    run = models.ForeignKey(
        "scoring.ScoreRun", on_delete=models.CASCADE, related_name="totals", db_index=False
    )
    band = models.CharField(max_length=6, choices=Band.choices)
    # Ids, not foreign keys: deleting a user sets its accounts' owner to NULL, an account
    # update the triggers turn into moving cells; a cascade would drop the cells first.
    owner_id = models.BigIntegerField()
    segment_id = models.BigIntegerField()
    stage_id = models.BigIntegerField()
    # Churned accounts still count in the week-before comparison (what that run scored).
    active = models.BooleanField()
    n = models.IntegerField()
    arr = models.DecimalField(max_digits=18, decimal_places=2)
    # Of the cell's accounts, how many have a score (the "no data" band has none), and
    # their scores' sum.
    scored = models.IntegerField(default=0)
    score_sum = models.FloatField(default=0)
    # No score of the cell is lower (NULL: none seen). A bound, not the minimum: an account
    # leaving the cell leaves it as it was. The journey board's cards of a band start their
    # walk of the day's scores (index score_run_score) there, past the riskier bands.
    score_low = models.FloatField(null=True)

    class Meta:
        constraints = [
            # Also the index that finds a run's cells.
            models.UniqueConstraint(
                fields=["run", "band", "owner_id", "segment_id", "active", "stage_id"],
                name="one_total_per_run_cell",
            )
        ]

    def __str__(self) -> str:
        return f"Run {self.run_id} {self.band}: {self.n}"


class _DayCell(models.Model):
    """The fields both kinds of day cell below share."""

    stage_id = models.BigIntegerField()
    band = models.CharField(max_length=6, choices=Band.choices)
    segment_id = models.BigIntegerField()
    stage_since = models.DateField()
    n = models.IntegerField()

    class Meta:
        abstract = True


class RunStageDay(_DayCell):
    """The active accounts of one stage, band and segment in one done run that entered their
    stage on one day: the journey board's days in stage (median, past the target) without
    reading the accounts. Kept beside RunTotal, for the same runs, by the same triggers.
    Accounts whose stage entry is not known are not counted."""

    run = models.ForeignKey(
        "scoring.ScoreRun", on_delete=models.CASCADE, related_name="stage_days", db_index=False
    )

    class Meta:
        constraints = [
            # Also the index that reads a run's days, stage by stage.
            models.UniqueConstraint(
                fields=["run", "stage_id", "band", "segment_id", "stage_since"],
                name="one_stage_day_per_run_cell",
            )
        ]

    def __str__(self) -> str:
        return f"Run {self.run_id} stage {self.stage_id} {self.band} {self.stage_since}: {self.n}"


class RunBookDay(_DayCell):
    """RunStageDay for one owner's book (NO_OWNER: the unassigned accounts): the board of
    one CSM reads a few thousand of these rows, where its accounts' own columns and scores
    cost a quarter of a second at 20,000 accounts. A separate table, so that the whole
    portfolio's board does not add up every owner's rows."""

    run = models.ForeignKey(
        "scoring.ScoreRun", on_delete=models.CASCADE, related_name="book_days", db_index=False
    )
    owner_id = models.BigIntegerField()

    class Meta:
        constraints = [
            # Also the index that reads one book's days.
            models.UniqueConstraint(
                fields=["run", "owner_id", "stage_id", "band", "segment_id", "stage_since"],
                name="one_book_day_per_run_cell",
            )
        ]

    def __str__(self) -> str:
        return f"Run {self.run_id} owner {self.owner_id} stage {self.stage_id}: {self.n}"


class RunWeek(models.Model):
    """The weekly review's comparison of a done run with the done run a week before it,
    counted once and kept exact (scoring.rollups.weeks): its cells (RunWeekCell) and the
    accounts that moved most. Kept for the runs the review opens on, like RunTotal."""

    run = models.OneToOneField(
        "scoring.ScoreRun", on_delete=models.CASCADE, primary_key=True, related_name="week"
    )
    # The run it is compared with (scoring.rollups.weeks.week_before); NULL: none.
    before = models.ForeignKey(
        "scoring.ScoreRun",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # The accounts with the biggest falls and rises of score between the two runs when they
    # were counted, whatever their status, biggest first: [[account id, change], …].
    drops = models.JSONField(default=list)
    gains = models.JSONField(default=list)
    # A write since touched more accounts than are kept one by one (RunWeekTouched): the
    # movers are counted again from the runs.
    movers_stale = models.BooleanField(default=False)
    built_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "scoring"

    def __str__(self) -> str:
        return f"Week of {self.run}"


class RunWeekCell(models.Model):
    """The active accounts a RunWeek's run scored, of one owner (NO_OWNER: unassigned), band
    in the run, band a week before ("" where that run did not score them) and renewing in
    the 90 days after the run's date or not: how many, their ARR, their scores summed, and
    their changes of score summed where both runs have one."""

    run = models.ForeignKey(RunWeek, on_delete=models.CASCADE, related_name="cells", db_index=False)
    owner_id = models.BigIntegerField()
    band = models.CharField(max_length=6, choices=Band.choices)
    band_before = models.CharField(max_length=6, blank=True)
    renews = models.BooleanField()
    n = models.IntegerField()
    arr = models.DecimalField(max_digits=18, decimal_places=2)
    scored = models.IntegerField(default=0)
    score_sum = models.FloatField(default=0)
    compared = models.IntegerField(default=0)
    change_sum = models.FloatField(default=0)

    class Meta:
        app_label = "scoring"
        constraints = [
            # Also the index that reads a week's cells.
            models.UniqueConstraint(
                fields=["run", "owner_id", "band", "band_before", "renews"],
                name="one_week_cell_per_run_cell",
            )
        ]

    def __str__(self) -> str:
        return f"Week of run {self.run_id} {self.band_before}→{self.band}: {self.n}"


class RunWeekTouched(models.Model):
    """An account whose score in a RunWeek's run, or in the run a week before, was written
    after the week was counted: its movers are looked at again with it."""

    run = models.ForeignKey(
        RunWeek, on_delete=models.CASCADE, related_name="touched", db_index=False
    )
    account_id = models.BigIntegerField()

    class Meta:
        app_label = "scoring"
        constraints = [
            models.UniqueConstraint(fields=["run", "account_id"], name="one_touch_per_week")
        ]
