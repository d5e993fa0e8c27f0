"""Calls to action (CTAs): what a CSM should do about an account, opened by rules after each
published run (or by hand), worked through a playbook's checklist, closed with an outcome.

The rule kinds and their parameters are in scoring.actions.kinds; the evaluation in
scoring.actions.rules; the writes (done, snooze, steps, comments) in scoring.actions.services.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, JourneyStage
from scoring.bands import Band


class CtaType(models.TextChoices):
    # Gainsight's three: save the account, move it along its journey, grow it.
    RISK = "risk", _("Risk")
    LIFECYCLE = "lifecycle", _("Lifecycle")
    EXPANSION = "expansion", _("Expansion")


class Priority(models.IntegerChoices):
    # Lower sorts first: an inbox ordered by (due date, priority) shows the urgent ones on top.
    HIGH = 1, _("High")
    MEDIUM = 2, _("Medium")
    LOW = 3, _("Low")


class ActionRule(models.Model):
    """A condition on an account's score or signals that opens a CTA when it holds.

    `kind` says which condition; `parameters` its numbers (validated against the kind's spec
    in scoring.actions.kinds, so the editor and the evaluation agree on names and defaults).
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(max_length=30)  # scoring.actions.kinds.KINDS
    parameters = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(_("on"), default=True)
    cta_type = models.CharField(_("CTA type"), max_length=10, choices=CtaType.choices)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.MEDIUM
    )
    due_days = models.PositiveSmallIntegerField(
        _("due in (days)"),
        default=7,
        validators=[MaxValueValidator(365)],
        help_text=_("The CTA is due this many days after the rule first fires."),
    )
    auto_close = models.BooleanField(
        _("close when the condition clears"),
        default=True,
        help_text=_("An open CTA whose condition no longer holds is closed as resolved by itself."),
    )
    # Vitally's re-enrolment limit: a rule that fires again soon after its CTA was closed
    # would bury the CSM in the same work; wait this long before opening a new one.
    cooldown_days = models.PositiveSmallIntegerField(
        _("quiet after closing (days)"),
        default=30,
        validators=[MaxValueValidator(365)],
        help_text=_("After its CTA is closed the rule opens no new one for the account this long."),
    )
    order = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class Outcome(models.Model):
    """How a CTA ended, from a list the Admins keep ("Renewed", "Escalated", …)."""

    name = models.CharField(_("name"), max_length=60, unique=True)
    is_success = models.BooleanField(
        _("counts as a save"),
        default=True,
        help_text=_("Counts as a save when measuring which plays work."),
    )
    active = models.BooleanField(
        _("offered"), default=True, help_text=_("Offered when closing a CTA.")
    )
    order = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


# The bands a playbook can be written for: an account without data has no play.
PLAYBOOK_BANDS = [(band.value, band.label) for band in (Band.GREEN, Band.YELLOW, Band.RED)]


class Playbook(models.Model):
    """The best-practice steps for an account in one journey stage and band."""

    stage = models.ForeignKey(
        JourneyStage,
        on_delete=models.CASCADE,
        related_name="playbooks",
        verbose_name=_("journey stage"),
    )
    band = models.CharField(_("band"), max_length=6, choices=PLAYBOOK_BANDS)
    name = models.CharField(_("name"), max_length=100)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["stage__order", "band"]
        constraints = [
            models.UniqueConstraint(fields=["stage", "band"], name="one_playbook_per_stage_band")
        ]

    def __str__(self) -> str:
        return self.name


class PlaybookStep(models.Model):
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(_("step"), max_length=300)

    class Meta:
        ordering = ["playbook", "order", "id"]

    def __str__(self) -> str:
        return self.text


class CallToActionQuerySet(models.QuerySet):
    def active(self) -> CallToActionQuerySet:
        """Open or snoozed: the ones a rule updates instead of adding another."""
        return self.filter(status__in=CallToAction.ACTIVE)

    def due_now(self, today) -> CallToActionQuerySet:
        """What the CSM should see today: open ones, and snoozed ones whose date has come."""
        return self.filter(
            Q(status=CallToAction.Status.OPEN)
            | Q(status=CallToAction.Status.SNOOZED, snoozed_until__lte=today)
        )

    def overdue(self, today) -> CallToActionQuerySet:
        """Due now and past their due date (a snoozed one is not overdue until it wakes)."""
        return self.due_now(today).filter(due_date__lt=today)


class CallToAction(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        SNOOZED = "snoozed", _("Snoozed")
        DONE = "done", _("Done")
        RESOLVED = "resolved", _("Resolved by itself")

    ACTIVE = (Status.OPEN, Status.SNOOZED)

    # No single-column indexes on account, rule and owner: the composite indexes below lead
    # with them, and a night's rules insert tens of thousands of CTAs into every index.
    # No database foreign keys on account, rule, owner and playbook either: PostgreSQL checks
    # them one row at a time when the transaction commits, 0.45 s of a first night's 2 s at
    # 100,000 accounts. The rules lock the rows they refer to at once instead (FOR KEY SHARE,
    # healthboard.lib.keylocks), and deleting one of them first waits for that lock
    # (scoring.receivers), so Django's on_delete finds the CTAs written meanwhile.
    account = models.ForeignKey(
        Account,
        on_delete=models.CASCADE,
        related_name="ctas",
        db_index=False,
        db_constraint=False,
    )
    # Null for a CTA a person opened by hand.
    rule = models.ForeignKey(
        ActionRule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ctas",
        db_index=False,
        db_constraint=False,
    )
    # The account's CSM when it opened (follows a reassignment of the account).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ctas",
        db_index=False,
        db_constraint=False,
    )
    cta_type = models.CharField(_("type"), max_length=10, choices=CtaType.choices)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.MEDIUM
    )
    title = models.CharField(_("title"), max_length=200)
    reason = models.TextField(
        _("reason"), help_text=_("Why, in words, with the measures behind it.")
    )
    # The numbers behind the reason, for the page: [{"label": …, "value": …}, …].
    evidence = models.JSONField(default=list, blank=True)
    due_date = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    snoozed_until = models.DateField(null=True, blank=True)
    snooze_reason = models.CharField(max_length=200, blank=True)
    # Indexed where set only (Meta): an open CTA has neither outcome nor closer.
    outcome = models.ForeignKey(
        Outcome,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ctas",
        db_index=False,
    )
    outcome_note = models.TextField(blank=True, max_length=2000)
    # The run date the condition first held, and the last one it still held: a rule that
    # keeps firing updates the open CTA instead of adding one.
    opened_on = models.DateField()
    last_fired_on = models.DateField()
    times_fired = models.PositiveIntegerField(default=1)
    # Where the account stood when the CTA opened: "which plays save accounts" compares later.
    band_at_open = models.CharField(max_length=6, choices=Band.choices, default=Band.NO_DATA)
    score_at_open = models.FloatField(null=True, blank=True)
    # A copy of the playbook's name and steps (CtaStep): later edits do not rewrite history.
    playbook = models.ForeignKey(
        Playbook,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ctas",
        db_constraint=False,
    )
    playbook_name = models.CharField(max_length=100, blank=True)
    # The playbook's steps are still to be copied (CtaStep). The rules open CTAs by the ten
    # thousand and copy no steps (that was half of a first night's evaluation); the copy is
    # made when one of its steps is first ticked (pages show the playbook's steps until then),
    # and before anything changes or deletes its playbook's steps, whichever comes first
    # (scoring.actions.playbooks.pending_steps_copy).
    steps_pending = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    objects = CallToActionQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "priority", "id"]
        constraints = [
            # The lock behind "one open CTA per account and rule": a re-run night or two
            # workers evaluating at once cannot add a second.
            models.UniqueConstraint(
                fields=["account", "rule"],
                condition=Q(status__in=["open", "snoozed"]),
                name="one_active_cta_per_account_rule",
            )
        ]
        indexes = [
            models.Index(fields=["owner", "status", "due_date"], name="cta_owner_inbox"),
            models.Index(fields=["account", "status"], name="cta_account_status"),
            models.Index(fields=["rule", "status", "closed_at"], name="cta_rule_closed"),
            # For deleting an outcome or a user: the closed CTAs only.
            models.Index(
                fields=["outcome"], name="cta_outcome", condition=Q(outcome__isnull=False)
            ),
            models.Index(
                fields=["closed_by"], name="cta_closed_by", condition=Q(closed_by__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} — {self.account}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    def is_due_now(self, today) -> bool:
        """Open, or snoozed and its date has come (the queryset's due_now, for one CTA)."""
        woken = self.status == self.Status.SNOOZED and (self.snoozed_until or today) <= today
        return self.status == self.Status.OPEN or woken

    def is_overdue(self, today) -> bool:
        """Due now and past its due date (the queryset's overdue, for one CTA): a snoozed
        CTA is not overdue until it wakes."""
        return self.is_due_now(today) and self.due_date < today


class CtaStep(models.Model):
    """One checklist step of a CTA, copied from its playbook when the CTA opened."""

    cta = models.ForeignKey(CallToAction, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(max_length=300)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["cta", "order", "id"]

    def __str__(self) -> str:
        return self.text


class CtaComment(models.Model):
    cta = models.ForeignKey(CallToAction, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.body[:60]
