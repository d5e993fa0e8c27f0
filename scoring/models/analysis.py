"""Stored analyses (back-tests, suggestions, retention, surveys, plays): asked for, run in
Celery with progress, kept with their result so the Analytics page opens instantly afterwards."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AnalysisRun(models.Model):
    class Kind(models.TextChoices):
        BACKTEST = "backtest", _("Back-test")
        SUGGESTION = "suggestion", _("Suggested scorecard")
        RETENTION = "retention", _("Retention")
        SURVEYS = "surveys", _("Surveys")
        PLAYS = "plays", _("Plays")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # What was asked: scorecard, draft, from, to, horizon (ISO dates, numbers): JSON as given.
    parameters = models.JSONField(default=dict, blank=True)
    scorecard = models.ForeignKey(
        "scoring.Scorecard",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="analyses",
    )
    # The version back-tested (a draft's too); kept if the version is later discarded.
    version = models.ForeignKey(
        "scoring.ScorecardVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="analyses",
    )
    # A suggestion applied as a draft: the draft it made.
    draft = models.ForeignKey(
        "scoring.ScorecardVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="suggested_by",
    )
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    message = models.CharField(max_length=200, blank=True)  # the step under way
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "status", "-computed_at"], name="analysis_latest")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}
