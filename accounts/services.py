"""Writes on an account that touch several models (services): keyword-only, typed.

Who may write is the view's question (healthboard.roles.can_work_on); these functions do the
writing and keep it consistent.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, JourneyStage, Note, StageChange


def note_create(*, account: Account, author: AbstractBaseUser, kind: str, body: str) -> Note:
    """A note, call or meeting on the account's timeline."""
    return Note.objects.create(account=account, author=author, kind=kind, body=body.strip())


def stage_change(
    *, account: Account, to_stage: JourneyStage, user: AbstractBaseUser, comment: str = ""
) -> StageChange | None:
    """Move the account to another journey stage: the StageChange, the account's stage and
    stage_since, and a note in its timeline, all or nothing. None (nothing written) when the
    account is already in that stage. `account` is updated in place."""
    with transaction.atomic():
        # The row lock makes two people moving the account at once record two honest
        # changes (A→B, then B→C) rather than two from the same stage.
        locked = Account.objects.select_for_update().only("stage_id").get(pk=account.pk)
        if locked.stage_id == to_stage.pk:
            account.stage_id = locked.stage_id
            return None
        from_stage = JourneyStage.objects.get(pk=locked.stage_id)
        now = timezone.now()
        change = StageChange.objects.create(
            account=account,
            from_stage=from_stage,
            to_stage=to_stage,
            changed_at=now,
            changed_by=user,
        )
        today = timezone.localdate()
        Account.objects.filter(pk=account.pk).update(stage=to_stage, stage_since=today)
        body = f"Stage changed from {from_stage.name} to {to_stage.name}."
        if comment.strip():
            body += "\n\n" + comment.strip()
        Note.objects.create(
            account=account, author=user, kind=Note.Kind.STAGE_CHANGE, body=body, created_at=now
        )
    account.stage = to_stage
    account.stage_since = today
    return change
