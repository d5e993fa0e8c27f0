"""The e-mail digest: what each user chose (DigestPreference) and which local days have had
theirs (Digest). Composing and sending: scoring.digest."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# The morning hour a digest goes out at, in the user's own time zone, unless they chose another.
DEFAULT_HOUR = 7


class Weekday(models.IntegerChoices):
    # Python's date.weekday() numbers, so a stored choice compares with a date directly.
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


def time_zone_check(name: str) -> None:
    """An IANA time zone name zoneinfo knows ("Europe/Berlin"), or a ValidationError."""
    if name not in zoneinfo.available_timezones():
        raise ValidationError(
            gettext("“%(name)s” is not a time zone name such as Europe/Berlin.") % {"name": name}
        )


def language_check(code: str) -> None:
    """One of settings.LANGUAGES' codes ("da"), or empty (the browser's language)."""
    if code and code not in dict(settings.LANGUAGES):
        choices = ", ".join(dict(settings.LANGUAGES))
        raise ValidationError(
            gettext("“%(code)s” is not one of the languages offered (%(choices)s).")
            % {"code": code, "choices": choices}
        )


class DigestPreference(models.Model):
    """A user's own settings: how often they want the digest and when in their day, and the
    language they read Healthboard (pages and digests) in. A user without one gets the
    defaults (DigestPreference.defaults_for): daily at 07:00 in the server's time zone, in
    their browser's language."""

    class Frequency(models.TextChoices):
        DAILY = "daily", _("Every day")
        WEEKLY = "weekly", _("Once a week")
        NEVER = "never", _("Never")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="digest_preference",
    )
    frequency = models.CharField(max_length=6, choices=Frequency.choices, default=Frequency.DAILY)
    weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices,
        default=Weekday.MONDAY,
        help_text=_("The day a weekly digest goes out."),
    )
    time_zone = models.CharField(max_length=64, validators=[time_zone_check])
    hour = models.PositiveSmallIntegerField(
        default=DEFAULT_HOUR,
        validators=[MaxValueValidator(23)],
        help_text=_("The hour of the morning (or day) it goes out, in your time zone."),
    )
    # Empty: the browser's language (Accept-Language). Not a choices field: the offered
    # languages are a setting, and a new one must not need a migration.
    language = models.CharField(max_length=8, blank=True, default="", validators=[language_check])
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user}: {self.get_frequency_display()}"

    @classmethod
    def defaults_for(cls, user) -> DigestPreference:
        """The user's preference, or an unsaved one with the defaults."""
        try:
            return user.digest_preference
        except cls.DoesNotExist:
            return cls(user=user, time_zone=settings.TIME_ZONE)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def period(self) -> dt.timedelta:
        """How far back a digest looks when there was none before: a day or a week."""
        return dt.timedelta(days=7 if self.frequency == self.Frequency.WEEKLY else 1)

    def due_on(self, now: dt.datetime) -> dt.date | None:
        """The user's local date when a digest is due at `now` (their hour has passed today,
        and today is their weekday for a weekly one); None when none is due."""
        if self.frequency == self.Frequency.NEVER:
            return None
        local = now.astimezone(self.zone)
        if local.hour < self.hour:
            return None
        if self.frequency == self.Frequency.WEEKLY and local.weekday() != self.weekday:
            return None
        return local.date()

    def next_at(self, now: dt.datetime) -> dt.datetime | None:
        """When the next digest is due after `now`, in the user's time zone (None: never).
        Whether one already went today is not known here: it is the next due time."""
        if self.frequency == self.Frequency.NEVER:
            return None
        local = now.astimezone(self.zone)
        day = local.date()
        for _day in range(8):
            at = dt.datetime.combine(day, dt.time(self.hour), tzinfo=self.zone)
            weekly = self.frequency == self.Frequency.WEEKLY
            if at > local and (not weekly or day.weekday() == self.weekday):
                return at
            day += dt.timedelta(days=1)
        return None  # not reached: a week always holds the weekday


class Digest(models.Model):
    """One user's digest of one local day. The row is the claim: it is inserted before the
    e-mail is sent, and the unique (user, day) makes a second beat, or one running at the
    same time, find it and send nothing. A failed send deletes it, so a later beat retries."""

    class Status(models.TextChoices):
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        # Nothing to report: no e-mail, but the day is done and the next digest starts here.
        EMPTY = "empty", _("Nothing to report")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digests", db_index=False
    )
    day = models.DateField(help_text=_("The user's local date."))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.SENDING)
    # What the digest covered: CTAs made after `since` and up to `until` (when the beat
    # claimed the day), band changes from the run of `compared_from` to the run of
    # `scores_date`. The next digest starts where this one ended.
    since = models.DateTimeField(null=True, blank=True)
    until = models.DateTimeField(default=timezone.now)
    compared_from = models.DateField(null=True, blank=True)
    scores_date = models.DateField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    new_ctas = models.PositiveIntegerField(default=0)
    overdue_ctas = models.PositiveIntegerField(default=0)
    band_changes = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day"]
        constraints = [
            # The lock behind "once per user per local day" (also the index of a user's days).
            models.UniqueConstraint(fields=["user", "day"], name="one_digest_per_user_day")
        ]

    def __str__(self) -> str:
        return f"Digest for {self.user} on {self.day}: {self.get_status_display()}"
