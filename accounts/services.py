"""Writes on an account that touch several models (services): keyword-only, typed.

Who may write is the view's question (healthboard.roles.can_work_on); these functions do the
writing and keep it consistent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext

from accounts.i18n import builtin
from accounts.models import (
    Account,
    FieldChange,
    JourneyStage,
    Metric,
    Note,
    Segment,
    Sentiment,
    Signal,
    StageChange,
)
from accounts.signals import signals_ingested
from healthboard.lib.dates import short_day_text


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
        # The account's history of changes shows stage moves too, whichever page made them.
        FieldChange.objects.create(
            object_type=FieldChange.ObjectType.ACCOUNT,
            object_id=account.pk,
            object_name=account.name[:200],
            field="stage",
            label=_label(Account, "stage"),
            old_value=from_stage.name,
            new_value=to_stage.name,
            user=user if getattr(user, "is_authenticated", False) else None,
            at=now,
        )
        body = gettext("Stage changed from %(before)s to %(after)s.") % {
            "before": builtin(from_stage.name),
            "after": builtin(to_stage.name),
        }
        if comment.strip():
            body += "\n\n" + comment.strip()
        Note.objects.create(
            account=account, author=user, kind=Note.Kind.STAGE_CHANGE, body=body, created_at=now
        )
    account.stage = to_stage
    account.stage_since = today
    return change


# ---------------------------------------------------------------- changes made by hand
#
# The pages' forms validate (with the import's rules, accounts.imports.rules) and hand the
# changed, unsaved object here; these functions lock the stored row, compare it with the
# new values, save, and record every field that changed (FieldChange), all or nothing.

TRACKED_FIELDS: dict[type[models.Model], tuple[str, ...]] = {
    Account: (
        "external_id",
        "name",
        "owner",
        "segment",
        "industry",
        "arr",
        "plan",
        "seats",
        "start_date",
        "renewal_date",
        "stage",
        "status",
        "churn_date",
    ),
    Segment: ("name", "slug"),
    JourneyStage: ("name", "slug", "order", "target_days", "description", "best_practices"),
    Metric: ("key", "name", "unit", "category", "direction", "description"),
}
OBJECT_TYPES = {
    Account: FieldChange.ObjectType.ACCOUNT,
    Segment: FieldChange.ObjectType.SEGMENT,
    JourneyStage: FieldChange.ObjectType.STAGE,
    Metric: FieldChange.ObjectType.METRIC,
}


def user_text(user: AbstractBaseUser | None) -> str:
    """A user as the history names them (the name, else the username)."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def shown_value(obj: models.Model, name: str) -> str:
    """A field's value as people read it: a related object's name, a choice's label, an ISO
    date, "" for nothing."""
    field = obj._meta.get_field(name)
    if field.is_relation:
        related = getattr(obj, name)
        if related is None:
            return ""
        return user_text(related) if name == "owner" else str(related)
    value = getattr(obj, field.attname)
    if value is None or value == "":
        return ""
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _label(model: type[models.Model], name: str) -> str:
    return capfirst(str(model._meta.get_field(name).verbose_name))


def _changes(before: models.Model | None, after: models.Model, *, user, now) -> list[FieldChange]:
    model = type(after)
    rows = []
    for name in TRACKED_FIELDS[model]:
        old = shown_value(before, name) if before is not None else ""
        new = shown_value(after, name)
        if old == new:
            continue
        rows.append(
            FieldChange(
                object_type=OBJECT_TYPES[model],
                object_id=after.pk,
                object_name=str(after)[:200],
                action=FieldChange.Action.CREATED if before is None else FieldChange.Action.CHANGED,
                field=name,
                label=_label(model, name),
                old_value=old,
                new_value=new,
                user=user if getattr(user, "is_authenticated", False) else None,
                at=now,
            )
        )
    return rows


def _stored(obj: models.Model) -> models.Model:
    """The stored row, locked: two admins saving at once record two honest changes."""
    model = type(obj)
    related = [n for n in TRACKED_FIELDS[model] if model._meta.get_field(n).is_relation]
    query = model.objects.select_for_update(**({"of": ("self",)} if related else {}))
    return query.select_related(*related).get(pk=obj.pk)


def catalogue_save(*, obj: Segment | JourneyStage | Metric, user) -> list[FieldChange]:
    """Create or update a segment, journey stage or metric (validated, unsaved) and record
    each field that changed. Returns the recorded changes ([] when nothing changed)."""
    with transaction.atomic():
        before = _stored(obj) if obj.pk else None
        rows = _changes(before, obj, user=user, now=timezone.now()) if before else []
        if before is None or rows:
            obj.save()
        if before is None:
            rows = _changes(None, obj, user=user, now=timezone.now())
        FieldChange.objects.bulk_create(rows)
    return rows


def account_save(*, account: Account, user) -> list[FieldChange]:
    """Create or update an account (validated, unsaved) and record each field that changed.
    A new journey stage is a stage change as on the account's page (StageChange, the stage's
    start date and a note in the timeline)."""
    with transaction.atomic():
        now = timezone.now()
        if account.pk is None:
            account.stage_since = account.stage_since or timezone.localdate()
            account.save()
            rows = _changes(None, account, user=user, now=now)
        else:
            before = _stored(account)
            rows = _changes(before, account, user=user, now=now)
            if not rows:
                return []
            if before.stage_id != account.stage_id:
                # stage_change records its own line in the history.
                rows = [r for r in rows if r.field != "stage"]
                stage_change(account=account, to_stage=account.stage, user=user)
            account.save()
        FieldChange.objects.bulk_create(rows)
    return rows


def accounts_reassign(*, account_ids: Collection[int], owner: AbstractBaseUser | None, user) -> int:
    """Give these accounts to `owner` (None: unassigned) and record each one's old and new
    owner. Accounts the owner already has are left alone. Returns how many changed.

    A fixed number of queries whatever the number of accounts: the accounts with their
    owners (locked), one UPDATE, one INSERT of the changes."""
    with transaction.atomic():
        rows = list(
            Account.objects.select_for_update(of=("self",))
            .filter(pk__in=list(account_ids))
            .exclude(**({"owner": owner} if owner is not None else {"owner__isnull": True}))
            .select_related("owner")
            .only("id", "name", "owner__first_name", "owner__last_name", "owner__username")
            .order_by("pk")
        )
        if not rows:
            return 0
        Account.objects.filter(pk__in=[a.pk for a in rows]).update(owner=owner)
        now, new = timezone.now(), user_text(owner)
        by = user if getattr(user, "is_authenticated", False) else None
        FieldChange.objects.bulk_create(
            FieldChange(
                object_type=FieldChange.ObjectType.ACCOUNT,
                object_id=a.pk,
                object_name=a.name[:200],
                field="owner",
                label=_label(Account, "owner"),
                old_value=user_text(a.owner),
                new_value=new,
                user=by,
                at=now,
            )
            for a in rows
        )
    return len(rows)


# ---------------------------------------------------------------- the CSM's sentiment

SENTIMENT_SOURCE = "csm"


def _sentiment_ids(sentiment: Sentiment) -> tuple[str, str]:
    """The external ids of its opening and closing signals."""
    return f"sentiment:{sentiment.pk}", f"sentiment:{sentiment.pk}:end"


def _start_of(day: dt.date) -> dt.datetime:
    """The first moment of `day` here: a score for `day` reads the signals before its end, so
    a signal at this moment counts from `day` on and not a day sooner."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _sentiment_close(sentiment: Sentiment, *, at: dt.datetime, end: str, user) -> None:
    """End it now (replaced or withdrawn): its closing signal moves from the expiry to `at`."""
    Sentiment.objects.filter(pk=sentiment.pk).update(ended_at=at, ended_by=user, end=end)
    Signal.objects.filter(
        source=SENTIMENT_SOURCE, external_id=_sentiment_ids(sentiment)[1], observed_at__gt=at
    ).update(observed_at=at)


def _announce(account: Account) -> None:
    # As an import does: scoring re-scores the account once this has committed.
    transaction.on_commit(
        lambda: signals_ingested.send_robust(sender=Signal, account_ids={account.pk})
    )


def _current_sentiment(account: Account, today: dt.date) -> Sentiment | None:
    return (
        Sentiment.objects.filter(account=account, end="", expires_on__gt=today)
        .order_by("-set_at", "-id")
        .first()
    )


def sentiment_set(
    *, account: Account, level: str, reason: str, expires_on: dt.date, user: AbstractBaseUser
) -> Sentiment:
    """Record the CSM's sentiment about the account until `expires_on` (the first day it no
    longer counts): the Sentiment and its two signals (see Sentiment), all or nothing. A
    current sentiment is replaced (it stops counting now). Sending the same sentiment twice
    (a double click) stores it once."""
    today = timezone.localdate()
    if not today < expires_on <= today + dt.timedelta(days=Sentiment.MAX_DAYS):
        raise ValueError(
            gettext("The expiry must be within %(days)s days after today.")
            % {"days": Sentiment.MAX_DAYS}
        )
    reason = reason.strip()
    metric = Metric.objects.get(key=Sentiment.METRIC_KEY)
    with transaction.atomic():
        # One sentiment is set at a time per account: two at once replace one another in turn.
        Account.objects.select_for_update().only("id").get(pk=account.pk)
        current = _current_sentiment(account, today)
        if current is not None and (
            (current.level, current.reason, current.expires_on, current.set_by_id)
            == (level, reason, expires_on, user.pk)
        ):
            return current
        now = timezone.now()
        if current is not None:
            _sentiment_close(current, at=now, end=Sentiment.End.REPLACED, user=user)
        sentiment = Sentiment.objects.create(
            account=account,
            level=level,
            reason=reason,
            set_by=user,
            set_at=now,
            expires_on=expires_on,
        )
        opening, closing = _sentiment_ids(sentiment)
        common = {"account": account, "metric": metric, "source": SENTIMENT_SOURCE}
        # The closing signal is created after the replaced one's: at the same moment, the
        # newest id wins "last value", so the new sentiment counts from now on.
        Signal.objects.bulk_create(
            [
                Signal(
                    **common,
                    external_id=opening,
                    observed_at=now,
                    value=sentiment.value,
                    category=sentiment.get_level_display(),
                    text=reason,
                ),
                Signal(
                    **common,
                    external_id=closing,
                    observed_at=_start_of(expires_on),
                    value=None,
                    category="Expiry",
                    text=gettext("The CSM's sentiment set on %(day)s stops counting this day.")
                    % {"day": short_day_text(now)},
                ),
            ]
        )
        _announce(account)
    return sentiment


def sentiment_withdraw(*, account: Account, user: AbstractBaseUser) -> Sentiment | None:
    """Withdraw the account's current sentiment: it stops counting now, and stays in the
    history as withdrawn. None when there is none (nothing written)."""
    with transaction.atomic():
        Account.objects.select_for_update().only("id").get(pk=account.pk)
        current = _current_sentiment(account, timezone.localdate())
        if current is None:
            return None
        now = timezone.now()
        _sentiment_close(current, at=now, end=Sentiment.End.WITHDRAWN, user=user)
        _announce(account)
    current.refresh_from_db()
    return current
