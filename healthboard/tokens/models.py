"""API tokens and what was done with them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    """A named credential for the REST API. Only a hash of the secret is stored: the secret
    is shown once, when the token is made; afterwards its prefix identifies it."""

    class Scope(models.TextChoices):
        READ = "read", _("Read")
        READ_WRITE = "read_write", _("Read and write")

    name = models.CharField(max_length=100, help_text=_("What uses the token (CRM sync, …)."))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text=_("Who made the token; it stops working when they are deactivated."),
    )
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    prefix = models.CharField(max_length=16, help_text=_("The secret's first characters."))
    secret_hash = models.CharField(max_length=64, unique=True, help_text=_("SHA-256, hex."))
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["revoked_at", "-created_at"]
        verbose_name = _("API token")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.READ_WRITE


class ApiCall(models.Model):
    """One write call through the API (answered, refused or replayed), with its token."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="calls")
    at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=200)
    status = models.PositiveSmallIntegerField()
    items = models.PositiveIntegerField(null=True, blank=True, help_text=_("Items in the batch."))
    written = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Items created or updated.")
    )
    idempotency_key = models.CharField(max_length=255, blank=True)
    replayed = models.BooleanField(default=False, help_text=_("Answered from an earlier call."))
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["token", "-at"], name="apicall_token_recent")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status}"


class IdempotentResponse(models.Model):
    """The first successful answer to a write sent with an Idempotency-Key: a retry with the
    same key and token gets this answer again and stores nothing."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64, help_text=_("SHA-256 of method, path and body."))
    status = models.PositiveSmallIntegerField()
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="idempotency_key_per_token")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.key} → {self.status}"
