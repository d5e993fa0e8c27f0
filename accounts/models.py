"""Customer accounts (companies) and the signals they emit — not login users."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.i18n import builtin

# Renewals this close are flagged on the pages.
RENEWAL_SOON_DAYS = 90


class Segment(models.Model):
    name = models.CharField(_("name"), max_length=60, unique=True)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class JourneyStage(models.Model):
    name = models.CharField(_("name"), max_length=60, unique=True)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    order = models.PositiveSmallIntegerField(_("position"), unique=True)
    description = models.TextField(_("description"), blank=True)
    best_practices = models.TextField(
        _("best practices"), blank=True, help_text=_("One practice per line.")
    )
    target_days = models.PositiveIntegerField(
        _("target days"),
        default=90,
        help_text=_("How long an account should typically stay in this stage."),
    )

    class Meta:
        ordering = ["order"]

    def __str__(self) -> str:
        return self.name

    def practices(self) -> list[str]:
        """One a line; a built-in practice in the reader's language."""
        lines = (line.strip() for line in self.best_practices.splitlines())
        return [builtin(line) for line in lines if line]


class AccountQuerySet(models.QuerySet):
    def active(self) -> AccountQuerySet:
        """Accounts that are customers now: the ones the pages list."""
        return self.filter(status=Account.Status.ACTIVE)

    def customers_on(self, day: dt.date) -> AccountQuerySet:
        """Accounts that were customers on `day`, the ones a score run for that day scores:
        started on or before it and not churned by then. An account is gone from its churn
        date on; one marked churned without a churn date is gone on every day."""
        return self.filter(start_date__lte=day).filter(
            Q(status=Account.Status.ACTIVE, churn_date__isnull=True) | Q(churn_date__gt=day)
        )


class Account(models.Model):
    class Status(models.TextChoices):
        # Its own context: Polish agrees with the noun ("konto" aktywne, "wersja" aktywna).
        ACTIVE = "active", pgettext_lazy("account status", "Active")
        CHURNED = "churned", _("Churned")

    name = models.CharField(_("name"), max_length=200)
    external_id = models.CharField(
        _("external id"), max_length=100, unique=True, help_text=_("The account's id in the CRM.")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_accounts",
        verbose_name=_("owner"),
        help_text=_("The customer success manager responsible for the account."),
    )
    segment = models.ForeignKey(
        Segment, on_delete=models.PROTECT, related_name="accounts", verbose_name=_("segment")
    )
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    arr = models.DecimalField(_("ARR"), max_digits=14, decimal_places=2, default=0)
    plan = models.CharField(_("plan"), max_length=60, blank=True)
    seats = models.PositiveIntegerField(_("seats purchased"), default=0)
    start_date = models.DateField(_("start date"))
    renewal_date = models.DateField(_("renewal date"), null=True, blank=True)
    stage = models.ForeignKey(
        JourneyStage,
        on_delete=models.PROTECT,
        related_name="accounts",
        verbose_name=_("journey stage"),
    )
    stage_since = models.DateField(
        _("in stage since"),
        null=True,
        blank=True,
        help_text=_("When the account entered its current stage."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    churn_date = models.DateField(_("churn date"), null=True, blank=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["owner", "status"]),
            models.Index(fields=["status", "segment"]),
            models.Index(fields=["renewal_date"]),
            # The portfolio sorted by ARR (largest first is a column's first click).
            models.Index(fields=["arr"]),
            # A CSM's book sorted by ARR: their accounts walked in ARR order until a page is
            # filled. Without it, at a million accounts PostgreSQL sorted a 20,000-account book
            # with parallel workers (85 ms, but 960 ms of CPU on both cores; 58 ms with it).
            models.Index(fields=["owner", "arr"], name="account_owner_arr"),
            # A CSM's accounts in one journey stage without visiting the rows: the board's
            # cards of a small stage are read from it (healthboard.pages.journey.stored).
            models.Index(
                fields=["owner", "stage"],
                include=["id", "status", "segment"],
                name="account_owner_stage",
            ),
        ]
        permissions = [
            ("work_any_account", _("Can write notes and change stages on any account")),
            ("view_team", _("Can see team views and the weekly review")),
            ("reassign_owner", _("Can reassign account owners")),
            ("import_data", _("Can import accounts and signals")),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def days_to_renewal(self, today: dt.date | None = None) -> int | None:
        """Days until the renewal date; negative once it has passed."""
        if self.renewal_date is None:
            return None
        return (self.renewal_date - (today or timezone.localdate())).days

    def renews_soon(self, today: dt.date | None = None) -> bool:
        """Whether the renewal date is today or within the next RENEWAL_SOON_DAYS days."""
        days = self.days_to_renewal(today)
        return days is not None and 0 <= days <= RENEWAL_SOON_DAYS

    def days_in_stage(self, today: dt.date | None = None) -> int | None:
        if self.stage_since is None:
            return None
        return ((today or timezone.localdate()) - self.stage_since).days


class Metric(models.Model):
    """A kind of signal, from the admin-editable catalogue."""

    class Direction(models.IntegerChoices):
        HIGHER_IS_BETTER = 1, _("More is better")
        HIGHER_IS_WORSE = -1, _("More is worse")

    key = models.SlugField(_("key"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=100)
    unit = models.CharField(_("unit"), max_length=30, blank=True)
    category = models.CharField(
        _("category"), max_length=30, blank=True, help_text=_("Usage, Support, …")
    )
    direction = models.SmallIntegerField(
        _("direction"), choices=Direction.choices, default=Direction.HIGHER_IS_BETTER
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["category", "name"]

    def __str__(self) -> str:
        return self.name


class Signal(models.Model):
    """One time-stamped numeric observation of a metric for an account."""

    # The composite indexes below lead with these columns; single-column indexes would only
    # slow every signal write. No foreign-key constraints in the database: PostgreSQL checks
    # one row at a time (2 × 6 µs of a 1-million-row import's ~20 µs per signal), so the
    # writers check set-based instead: the imports look every account and metric up and lock
    # the ones they wrote for (FOR KEY SHARE, as the constraint's check would) before they
    # commit; deleting an account deletes its signals, and a metric with signals is
    # protected, as before (Django's on_delete).
    account = models.ForeignKey(
        Account,
        on_delete=models.CASCADE,
        related_name="signals",
        db_index=False,
        db_constraint=False,
    )
    metric = models.ForeignKey(
        Metric,
        on_delete=models.PROTECT,
        related_name="signals",
        db_index=False,
        db_constraint=False,
    )
    observed_at = models.DateTimeField()
    # NULL: no value — only a CSM sentiment's closing signal (Sentiment), from which on its
    # measure has no data. (Not NaN: SQLite stores NaN as NULL, and NaN would poison a sum.)
    value = models.FloatField(null=True)
    category = models.CharField(
        max_length=60, blank=True, help_text=_("A ticket's subject category or severity, …")
    )
    text = models.TextField(blank=True, help_text=_("A survey comment, a ticket subject, …"))
    source = models.CharField(max_length=40, default="manual")
    external_id = models.CharField(max_length=100, null=True, blank=True)

    class Meta:
        constraints = [
            # A re-sent signal (same source and external id) is stored once. The signals
            # without an external id (half of a bulk import's, often) stay out of the index.
            # On PostgreSQL the table is partitioned by month (accounts.partitions) and this
            # index is a plain one, for look-ups: SignalKey holds the keys unique.
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=Q(external_id__isnull=False),
                name="signal_unique_source_external_id",
            ),
        ]
        indexes = [
            # Scoring reads "these metrics in this window, grouped by account"; the CTA rules
            # read one metric's values for many accounts (the signal marks, where PostgreSQL
            # does not keep them: accounts.marks), from the index alone (the table's pages,
            # in arrival order, each hold every metric, so reading the rows themselves meant
            # reading the whole table once per rule).
            models.Index(
                fields=["metric", "observed_at", "account"],
                name="signal_metric_window",
                include=["value"],
            ),
            # The drilldown's timeline reads one account's newest signals.
            models.Index(fields=["account", "-observed_at"], name="signal_account_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.metric.key}={self.value} @ {self.observed_at:%Y-%m-%d}"


class SignalKey(models.Model):
    """The (source, external id) of each stored signal that has one, so that a signal sent
    again is stored once across the months of the partitioned signals' table (whose unique
    indexes can only be unique within a month: accounts.partitions). Written only by the
    triggers on accounts_signal (migration 0019, PostgreSQL); empty on SQLite, where the
    signals' own unique index does it."""

    source = models.CharField(max_length=40)
    external_id = models.CharField(max_length=100)
    observed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="signal_key_unique")
        ]
        # Retention deletes the keys of the months it drops.
        indexes = [models.Index(fields=["observed_at"], name="signal_key_observed")]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class Note(models.Model):
    class Kind(models.TextChoices):
        NOTE = "note", _("Note")
        CALL = "call", _("Call")
        MEETING = "meeting", _("Meeting")
        STAGE_CHANGE = "stage_change", _("Stage change")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.NOTE)
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.account}"


class StageChange(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(
        JourneyStage, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_stage = models.ForeignKey(JourneyStage, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-changed_at"]
        indexes = [models.Index(fields=["account", "-changed_at"])]

    def __str__(self) -> str:
        return f"{self.account}: {self.from_stage} → {self.to_stage}"


class FieldChange(models.Model):
    """One field of an account or of the catalogue (segment, journey stage, metric) changed by
    hand on a page: who, when, which object, which field, the old and the new value.

    Values are kept as people read them ("Priya Raman", "Enterprise", "2026-12-31"), so the
    history still reads right after the owner leaves or the segment is renamed. Scorecards
    keep their own trail of readable diffs (scoring.ScorecardChange); stage moves also keep
    their StageChange (the journey's reports read those)."""

    class ObjectType(models.TextChoices):
        ACCOUNT = "account", _("Account")
        SEGMENT = "segment", _("Segment")
        STAGE = "journeystage", _("Journey stage")
        METRIC = "metric", _("Metric")

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        CHANGED = "changed", _("Changed")

    object_type = models.CharField(max_length=20, choices=ObjectType.choices)
    object_id = models.BigIntegerField()
    # The object's name when it changed (a later rename does not rewrite history).
    object_name = models.CharField(max_length=200)
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.CHANGED)
    field = models.CharField(max_length=40, help_text=_("The model field's name."))
    label = models.CharField(max_length=60, help_text=_("The field as the page names it."))
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "-at"], name="fieldchange_object"),
        ]

    def __str__(self) -> str:
        return f"{self.object_name}: {self.label} {self.old_value!r} → {self.new_value!r}"


class ImportJob(models.Model):
    """One import of a file (accounts, metrics or signals): who, when, what, and how it
    went. Updated as its batches are read, so a page can show its progress while it runs
    and its history afterwards."""

    class Kind(models.TextChoices):
        ACCOUNTS = "accounts", _("Accounts")
        METRICS = "metrics", _("Metrics")
        SIGNALS = "signals", _("Signals")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        READING = "reading", _("Reading and checking")
        WRITING = "writing", _("Writing")
        DONE = "done", _("Imported")
        REFUSED = "refused", _("Refused: nothing imported")
        FAILED = "failed", _("Failed: nothing imported")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Who imported the file (none from the shell)."),
    )
    file_name = models.CharField(max_length=255, blank=True)
    file_size = models.BigIntegerField(null=True, blank=True, help_text=_("Bytes."))
    bytes_read = models.BigIntegerField(default=0)
    options = models.JSONField(default=dict, blank=True, help_text=_("ImportOptions, as chosen."))
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_read = models.BigIntegerField(default=0)
    rows_written = models.BigIntegerField(default=0, help_text=_("Created or updated."))
    rows_unchanged = models.BigIntegerField(
        default=0, help_text=_("Already stored: re-sent signals, accounts without changes.")
    )
    rows_skipped = models.BigIntegerField(default=0, help_text=_("Bad rows left out."))
    error_count = models.IntegerField(default=0)
    error_summary = models.TextField(blank=True, help_text=_("Why, and the first row errors."))
    result = models.JSONField(default=dict, blank=True, help_text=_("Counts and notes."))

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["-created_at"], name="importjob_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} import of {self.file_name or 'a file'}"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.REFUSED, self.Status.FAILED}

    @property
    def duration(self) -> dt.timedelta | None:
        if self.started_at is None:
            return None
        return (self.finished_at or timezone.now()) - self.started_at

    @property
    def percent(self) -> int | None:
        """How far reading has got, for a progress bar; None when the size is unknown."""
        if self.status in {self.Status.WRITING, self.Status.DONE}:
            return 100
        if not self.file_size:
            return None
        return min(99, int(100 * self.bytes_read / self.file_size))


class Sentiment(models.Model):
    """A CSM's own judgement of an account: healthy, at risk or unhealthy, with a reason, for
    a limited time. Every one is kept (who, when, what, why, and how it ended): the account
    page's history reads these rows.

    It counts in the score as the catalogue metric `csm_sentiment` (METRIC_KEY): setting one
    writes, in the same transaction, an opening signal (value 100 / 50 / 0, when it was set)
    and a closing signal with no value (NULL) at the start of its expiry day. A measure's
    "last value" then reads the sentiment on every day before the expiry and "no data" from
    the expiry day on, for any past or future date, without a nightly step that could be
    late or skipped. Replacing or withdrawing one moves its closing signal to that moment."""

    METRIC_KEY = "csm_sentiment"
    DEFAULT_DAYS = 30
    MAX_DAYS = 365

    class Level(models.TextChoices):
        HEALTHY = "healthy", _("Healthy")
        AT_RISK = "at_risk", _("At risk")
        UNHEALTHY = "unhealthy", _("Unhealthy")

    class End(models.TextChoices):
        REPLACED = "replaced", _("Replaced")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    # The signal values: the 0–100 scale a measure's range or thresholds read.
    VALUES = {Level.HEALTHY: 100.0, Level.AT_RISK: 50.0, Level.UNHEALTHY: 0.0}
    # The band colour each level reads as on the pages (the chips' classes).
    BANDS = {Level.HEALTHY: "green", Level.AT_RISK: "yellow", Level.UNHEALTHY: "red"}

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="sentiments")
    level = models.CharField(max_length=10, choices=Level.choices)
    reason = models.TextField(max_length=1000)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    set_at = models.DateTimeField(default=timezone.now)
    expires_on = models.DateField(help_text=_("The first day it no longer counts."))
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    end = models.CharField(max_length=10, choices=End.choices, blank=True)

    class Meta:
        ordering = ["-set_at", "-id"]
        indexes = [models.Index(fields=["account", "-set_at"], name="sentiment_account_recent")]

    def __str__(self) -> str:
        return f"{self.get_level_display()} on {self.account}"

    @property
    def value(self) -> float:
        return self.VALUES[self.Level(self.level)]

    @property
    def band(self) -> str:
        return self.BANDS[self.Level(self.level)]

    def is_current(self, today: dt.date | None = None) -> bool:
        """Counts today: neither ended by hand nor expired."""
        return not self.end and (today or timezone.localdate()) < self.expires_on

    def status(self, today: dt.date | None = None) -> str:
        """current, expired, replaced or withdrawn."""
        if self.end:
            return self.end
        return "current" if self.is_current(today) else "expired"

    @property
    def last_day(self) -> dt.date:
        """The last day it counts (or counted) unless ended sooner."""
        return self.expires_on - dt.timedelta(days=1)


class AuditEvent(models.Model):
    """One security-relevant event: a sign-in (or a refused one), a lockout, a user's or a
    role's change, an account edit, an import, an export, an API token's use. Kept, never
    edited: `save()` refuses to update a stored row, and the admin offers no change.

    Who did it is kept twice: the user (for filtering, gone if the user is deleted) and their
    username at the time (`actor_label`), so the log still reads right afterwards. What was
    changed field by field stays where it already lives (FieldChange, ScorecardChange): an
    event points at the object and names the fields."""

    class Type(models.TextChoices):
        LOGIN = "login", _("Signed in")
        LOGIN_FAILED = "login_failed", _("Sign-in refused")
        LOGOUT = "logout", _("Signed out")
        LOCKED_OUT = "locked_out", _("Locked out")
        UNLOCKED = "unlocked", _("Sign-in unlocked")
        USER_CREATED = "user_created", _("User created")
        USER_CHANGED = "user_changed", _("User changed")
        ROLE_CHANGED = "role_changed", _("Role changed")
        ACCOUNT_CREATED = "account_created", _("Account created")
        ACCOUNT_CHANGED = "account_changed", _("Account changed")
        IMPORT_COMMITTED = "import_committed", _("Import started")
        IMPORT_FINISHED = "import_finished", _("Import finished")
        EXPORT = "export", _("CSV exported")
        TOKEN_CREATED = "token_created", _("API token created")
        TOKEN_REVOKED = "token_revoked", _("API token revoked")
        TOKEN_USED = "token_used", _("API token used")
        AUDIT_PRUNED = "audit_pruned", _("Audit log pruned")
        SIGNALS_PRUNED = "signals_pruned", _("Old signals deleted")

    at = models.DateTimeField(default=timezone.now)
    type = models.CharField(max_length=20, choices=Type.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=150, blank=True, help_text=_("Username then."))
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=200, blank=True)
    message = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="auditevent_recent"),
            models.Index(fields=["type", "-at"], name="auditevent_type"),
            models.Index(fields=["actor", "-at"], name="auditevent_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_type_display()} {self.actor_label}".strip()

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None or not self._state.adding:
            raise ValueError("Audit events are kept as recorded: they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are kept as recorded: they cannot be deleted.")
