"""Scorecards (versioned), their measures, daily health-score snapshots and scoring runs.

The per-run rollups' tables are in scoring.models.rollups; every model is importable from here."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Metric, Segment
from healthboard.lib.fields import TextJSONField
from scoring.bands import Band
from scoring.models.rollups import (  # noqa: F401  (models)
    RunBookDay,
    RunSnapshot,
    RunStageDay,
    RunTotal,
    RunWeek,
    RunWeekCell,
    RunWeekTouched,
)


class Category(models.TextChoices):
    USAGE = "usage", _("Usage")
    ENGAGEMENT = "engagement", _("Engagement")
    SUPPORT = "support", _("Support")
    SENTIMENT = "sentiment", _("Sentiment")
    FINANCIAL = "financial", _("Financial")
    OUTCOMES = "outcomes", _("Outcomes")
    ADVOCACY = "advocacy", _("Advocacy")


class Scorecard(models.Model):
    """A named model of health; the default one scores accounts whose segment has no other."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_default = models.BooleanField(_("default"), default=False)
    segments = models.ManyToManyField(
        Segment, blank=True, related_name="scorecards", verbose_name=_("segments")
    )

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_scorecard"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ScorecardVersion(models.Model):
    """A frozen (published) or editable (draft) set of measures, weights and bands."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        RETIRED = "retired", _("Retired")

    class BandMode(models.TextChoices):
        FIXED = "fixed", _("Fixed thresholds")
        PERCENTILE = "percentile", _("Percentiles")

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    band_mode = models.CharField(
        _("bands"), max_length=12, choices=BandMode.choices, default=BandMode.FIXED
    )
    green_at = models.FloatField(
        default=70, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    red_below = models.FloatField(
        default=40, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    top_share = models.FloatField(
        default=0.25,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Percentile mode: share of accounts banded Healthy."),
    )
    bottom_share = models.FloatField(
        default=0.25,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Percentile mode: share of accounts banded Unhealthy."),
    )
    min_coverage = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Below this share of weight with data the account is 'No data'."),
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["scorecard", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "number"], name="version_number_unique"),
            models.UniqueConstraint(
                fields=["scorecard"], condition=Q(status="active"), name="one_active_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scorecard} v{self.number}"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    def clean(self) -> None:
        if (
            self.red_below is not None
            and self.green_at is not None
            and self.red_below > self.green_at
        ):
            raise ValidationError(
                {
                    "red_below": gettext(
                        "Unhealthy-below (%(red_below)g) must not be above healthy-from "
                        "(%(green_at)g)."
                    )
                    % {"red_below": self.red_below, "green_at": self.green_at}
                }
            )
        if (self.top_share or 0) + (self.bottom_share or 0) > 1:
            raise ValidationError(
                {"bottom_share": gettext("The healthy and unhealthy shares together exceed 100 %.")}
            )


class CategoryWeight(models.Model):
    version = models.ForeignKey(
        ScorecardVersion, on_delete=models.CASCADE, related_name="category_weights"
    )
    category = models.CharField(max_length=20, choices=Category.choices)
    weight = models.FloatField(default=1.0, validators=[MinValueValidator(0)])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "category"], name="category_weight_unique")
        ]


class Measure(models.Model):
    """Turns one metric's signals over a window into a 0–100 sub-score."""

    class Aggregation(models.TextChoices):
        SUM = "sum", _("Sum")
        MEAN = "mean", _("Mean")
        LAST = "last", _("Last value")
        COUNT = "count", _("Count")
        MIN = "min", _("Minimum")
        MAX = "max", _("Maximum")
        TREND = "trend", _("Trend (slope per day)")
        NPS = "nps", _("NPS (% promoters − % detractors)")

    class Rule(models.TextChoices):
        THRESHOLD = "threshold", _("Thresholds (red / green)")
        RANGE = "range", _("Linear range")
        PERCENTILE = "percentile", _("Percentile rank")

    class Direction(models.IntegerChoices):
        POSITIVE = 1, _("Positive (more is better)")
        NEGATIVE = -1, _("Negative (more is worse)")

    version = models.ForeignKey(ScorecardVersion, on_delete=models.CASCADE, related_name="measures")
    name = models.CharField(_("name"), max_length=100)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    metric = models.ForeignKey(
        Metric, on_delete=models.PROTECT, related_name="measures", verbose_name=_("metric")
    )
    aggregation = models.CharField(_("aggregation"), max_length=10, choices=Aggregation.choices)
    window_days = models.PositiveIntegerField(
        _("window (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(730)]
    )
    per_seat = models.BooleanField(
        _("per seat"),
        default=False,
        help_text=_("Divide the aggregate by the account's purchased seats."),
    )
    rule = models.CharField(
        _("scoring rule"), max_length=12, choices=Rule.choices, default=Rule.THRESHOLD
    )
    direction = models.SmallIntegerField(
        _("direction"), choices=Direction.choices, default=Direction.POSITIVE
    )
    red = models.FloatField(
        _("red"), null=True, blank=True, help_text=_("Threshold: sub-score 0 here.")
    )
    green = models.FloatField(
        _("green"), null=True, blank=True, help_text=_("Threshold: sub-score 100 here.")
    )
    low = models.FloatField(_("low"), null=True, blank=True, help_text=_("Range: low end."))
    high = models.FloatField(_("high"), null=True, blank=True, help_text=_("Range: high end."))
    weight = models.FloatField(_("weight"), default=1.0, validators=[MinValueValidator(0)])
    order = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["version", "order", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The rule's parameters must make sense for its direction (field-level messages)."""
        errors = {}
        if self.rule == self.Rule.THRESHOLD:
            if self.red is None:
                errors["red"] = gettext("The threshold rule needs a red value.")
            if self.green is None:
                errors["green"] = gettext("The threshold rule needs a green value.")
            if not errors and self.red == self.green:
                errors["green"] = gettext("Red and green must differ.")
            elif not errors and (self.green - self.red) * self.direction < 0:
                if self.direction > 0:
                    text = gettext(
                        "Thresholds are inverted: when more is better, green (%(green)g) must "
                        "be above red (%(red)g)."
                    )
                else:
                    text = gettext(
                        "Thresholds are inverted: when more is worse, green (%(green)g) must "
                        "be below red (%(red)g)."
                    )
                errors["green"] = text % {"green": self.green, "red": self.red}
        elif self.rule == self.Rule.RANGE:
            if self.low is None:
                errors["low"] = gettext("The range rule needs a low value.")
            if self.high is None:
                errors["high"] = gettext("The range rule needs a high value.")
            if not errors and self.low >= self.high:
                errors["high"] = gettext("High (%(high)g) must be above low (%(low)g).") % {
                    "high": self.high,
                    "low": self.low,
                }
        if self.weight is not None and self.weight < 0:
            errors["weight"] = gettext("Weights cannot be negative.")
        if errors:
            raise ValidationError(errors)


class ScoreRunQuerySet(models.QuerySet):
    def running(self) -> ScoreRunQuerySet:
        """Runs still running: marked so and heard of within STALE_AFTER. A run whose worker
        died is marked running for ever; it must not block a new run for its date."""
        return self.filter(
            status=ScoreRun.Status.RUNNING, heartbeat_at__gte=timezone.now() - ScoreRun.STALE_AFTER
        )

    def abandoned(self) -> ScoreRunQuerySet:
        """Runs marked running that nothing has moved for STALE_AFTER: a new run takes over."""
        return self.filter(
            status=ScoreRun.Status.RUNNING, heartbeat_at__lt=timezone.now() - ScoreRun.STALE_AFTER
        )


class ScoreRun(models.Model):
    """One computation of every active account's score for one date."""

    # A running run that has not been heard of for this long was abandoned (its worker died,
    # and the watchdog could not revive it): it counts as not running, and the next run for
    # its date takes over.
    STALE_AFTER = dt.timedelta(minutes=30)

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        SUPERSEDED = "superseded", _("Superseded")

    date = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    accounts_total = models.PositiveIntegerField(default=0)
    accounts_done = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    trigger = models.CharField(max_length=30, default="nightly")
    # Population samples for percentile measures ({measure id: sorted values}) and the score
    # cut-offs of percentile bands ({version id: [red below, green at]}), so chunks and later
    # single-account re-scores rank against the whole population.
    reference = models.JSONField(default=dict, blank=True)

    objects = ScoreRunQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-started_at"]
        constraints = [
            # Two runs for the same date at once cannot both write.
            models.UniqueConstraint(
                fields=["date"], condition=Q(status="running"), name="one_running_run_per_date"
            ),
            # Readers see exactly one finished run per date.
            models.UniqueConstraint(
                fields=["date"], condition=Q(status="done"), name="one_done_run_per_date"
            ),
        ]

    def __str__(self) -> str:
        return f"Run {self.date} ({self.status})"

    @property
    def is_running(self) -> bool:
        """Running and not abandoned (ScoreRunQuerySet.running, for one run at hand)."""
        return (
            self.status == self.Status.RUNNING
            and self.heartbeat_at >= timezone.now() - self.STALE_AFTER
        )

    @property
    def progress(self) -> int:
        if not self.accounts_total:
            return 100 if self.status == self.Status.DONE else 0
        return round(100 * self.accounts_done / self.accounts_total)


class HealthScore(models.Model):
    """One account's score on one date, with what made it (a daily snapshot)."""

    # No single-column indexes on these two: score_account_date and one_score_per_run_account
    # start with them, and every index slows the nightly write of a whole day of rows. No
    # foreign-key constraints in the database either (a check per row per key was a fifth of
    # that write): insert_scores locks the rows they refer to once for the set
    # (healthboard.lib.keylocks); Django's on_delete still cascades and protects.
    account = models.ForeignKey(
        Account,
        on_delete=models.CASCADE,
        related_name="scores",
        db_index=False,
        db_constraint=False,
    )
    run = models.ForeignKey(
        ScoreRun,
        on_delete=models.CASCADE,
        related_name="scores",
        db_index=False,
        db_constraint=False,
    )
    date = models.DateField()
    version = models.ForeignKey(
        ScorecardVersion, on_delete=models.PROTECT, related_name="scores", db_constraint=False
    )
    score = models.FloatField(null=True)
    band = models.CharField(max_length=6, choices=Band.choices)
    coverage = models.FloatField()
    delta_7d = models.FloatField(null=True, help_text=_("Change since the score 7 days before."))
    # {"raw": [...], "sub": [...]} in the order of details_keys: measure ids as strings.
    # Kept as text (json, not jsonb): written for every account every night, read whole.
    details = TextJSONField(default=dict)

    class Meta:
        constraints = [
            # Its index carries the band and score: the journey board reads a stage's scores
            # by account without visiting the wide rows (issue 16).
            models.UniqueConstraint(
                fields=["run", "account"],
                include=["band", "score"],
                name="one_score_per_run_account",
            )
        ]
        indexes = [
            # A day (one run) by score: the portfolio's default order walks fifty entries
            # instead of sorting the day, and on PostgreSQL the included columns let reads
            # of a whole day skip the wide rows (details JSON). One index for both: every
            # index slows the nightly write.
            models.Index(
                fields=["run", "score"],
                include=["account", "band", "delta_7d", "coverage"],
                name="score_run_score",
            ),
            models.Index(fields=["account", "date"], name="score_account_date"),
            # A day's accounts without a score (the "no data" band, 1–3 % of a day) by band
            # and account: the journey board's cards of that band find a stage's first few
            # (at a million accounts 1.6 ms a stage, where reading every unscored entry of
            # score_run_score and sorting them took 46).
            models.Index(
                fields=["run", "band", "account"],
                condition=models.Q(score__isnull=True),
                name="score_run_unscored",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.date}: {self.score}"

    @property
    def is_red(self) -> bool:
        return self.band == Band.RED


class ScoreChunk(models.Model):
    """A slice of a run's accounts (an id range); done exactly once, however often retried."""

    run = models.ForeignKey(ScoreRun, on_delete=models.CASCADE, related_name="chunks")
    first_account_id = models.BigIntegerField()
    last_account_id = models.BigIntegerField()
    accounts = models.PositiveIntegerField()
    # The chunk's raw measure values (scoring/chunks.py), kept between the two passes of a
    # run: aggregated first, scored once the population's percentile references are known.
    # Stored uncompressed on PostgreSQL (scoring 0033): they live for minutes.
    raw = models.BinaryField(null=True, editable=False)
    # Its percentile measures' raw values alone (scoring/chunks.py: percentile_values).
    ranked = models.BinaryField(null=True, editable=False)
    done = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "first_account_id"], name="one_chunk_per_start")
        ]

    def __str__(self) -> str:
        return f"{self.run} accounts {self.first_account_id}–{self.last_account_id}"


class ScorecardChange(models.Model):
    """One entry of a scorecard's audit trail: who changed what, when."""

    class Action(models.TextChoices):
        CREATED = "created", _("Draft created")
        SAVED = "saved", _("Draft saved")
        PUBLISHED = "published", _("Published")
        DISCARDED = "discarded", _("Draft discarded")

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="changes")
    # A discarded draft is deleted; its entries keep the number it had.
    version = models.ForeignKey(
        ScorecardVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="changes"
    )
    version_number = models.PositiveIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=12, choices=Action.choices)
    summary = models.CharField(max_length=200)
    # Readable lines ("Weight of NPS 1.5 → 2"), oldest concern first.
    diff = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["scorecard", "-at"], name="scorecard_change_at")]

    def __str__(self) -> str:
        return f"{self.scorecard} v{self.version_number}: {self.get_action_display()}"


# Models that live beside the code that writes them; imported here so that Django registers
# them with the app (they import the models above, hence at the end).
from scoring.models.actions import (  # noqa: E402, F401
    ActionRule,
    CallToAction,
    CtaComment,
    CtaStep,
    Outcome,
    Playbook,
    PlaybookStep,
)
from scoring.models.analysis import AnalysisRun  # noqa: E402, F401
from scoring.models.digest import Digest, DigestPreference  # noqa: E402, F401
