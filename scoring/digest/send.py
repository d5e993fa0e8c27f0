"""Sending the digests: the beat's work (every quarter of an hour, scoring.tasks.send_digests).

Each user's local day is claimed by inserting its Digest row before anything is sent: the
unique (user, day) constraint makes a second beat, or one running at the same moment in
another worker, fail to insert and skip the user. A send that fails deletes the claim, so the
next beat tries again. A worker killed between the claim and the send leaves the claim: that
day's digest is lost rather than risked twice (an SMTP server may have taken it already).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from healthboard.lib.roles import ROLES
from scoring.digest.content import (
    DigestContent,
    digest_content,
    digest_window,
    run_latest,
)
from scoring.models import ScoreRun
from scoring.models.digest import Digest, DigestPreference

logger = logging.getLogger(__name__)


def _recipients():
    """Active users with an e-mail address and a role, each with their preference. One query."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(email="")
        .filter(Q(groups__name__in=ROLES) | Q(is_superuser=True))
        .select_related("digest_preference")
        .distinct()
        .order_by("pk")
    )


def digest_message(*, user, content: DigestContent) -> EmailMultiAlternatives:
    """The digest as an e-mail: a plain-text body and an HTML alternative."""
    context = {"user": user, "content": content, "links": content.links}
    message = EmailMultiAlternatives(
        subject=gettext("Healthboard digest: %(summary)s") % {"summary": content.summary},
        body=render_to_string("email/digest.txt", context),
        to=[user.email],
        # Mail clients offer "unsubscribe" with this: it leads to the preference page.
        headers={"List-Unsubscribe": f"<{content.links['preferences']}>"},
    )
    message.attach_alternative(render_to_string("email/digest.html", context), "text/html")
    return message


def _claim(*, user, day: dt.date, now: dt.datetime) -> Digest | None:
    """The user's day, claimed by inserting its row; None when another beat has it."""
    try:
        with transaction.atomic():
            return Digest.objects.create(user=user, day=day, until=now)
    except IntegrityError:
        return None


def digest_send(
    *,
    user,
    preference: DigestPreference,
    day: dt.date,
    now: dt.datetime,
    latest: ScoreRun | None,
) -> Digest | None:
    """Claim the user's `day`, compose their digest and send it, or send nothing when there is
    nothing to report. None when the day was claimed already. Raises (after releasing the
    claim) when composing or sending fails."""
    digest = _claim(user=user, day=day, now=now)
    if digest is None:
        return None
    try:
        # In the recipient's language: their saved one, else the installation's (a worker
        # has no browser to ask).
        with translation.override(preference.language or settings.LANGUAGE_CODE):
            window = digest_window(user=user, preference=preference, now=now, latest=latest)
            content = digest_content(user=user, today=day, window=window)
            if not content.is_empty:
                digest_message(user=user, content=content).send()
    except Exception:
        # Released: the next beat tries again (nothing was sent, or the server refused it).
        Digest.objects.filter(pk=digest.pk).delete()
        raise
    digest.status = Digest.Status.EMPTY if content.is_empty else Digest.Status.SENT
    digest.since = window.since
    digest.compared_from = window.compared_from.date if window.compared_from else None
    digest.scores_date = latest.date if latest else None
    digest.sent_at = None if content.is_empty else timezone.now()
    digest.new_ctas = content.new_total
    digest.overdue_ctas = content.overdue_total
    digest.band_changes = content.moves_total
    digest.save()
    return digest


def digests_send(*, now: dt.datetime | None = None) -> int:
    """Send every digest that is due at `now` and has not gone yet. Returns how many e-mails
    went. One user's failure is logged and does not stop the others. Two queries, and a few
    per user whose digest is due."""
    now = now or timezone.now()
    latest = run_latest()
    # The days already claimed, so a beat asks nothing more about users done today. Local
    # dates differ from the server's by at most a day either side.
    claimed = set(
        Digest.objects.filter(day__gte=now.date() - dt.timedelta(days=1)).values_list(
            "user_id", "day"
        )
    )
    sent = 0
    for user in _recipients():
        preference = DigestPreference.defaults_for(user)
        day = preference.due_on(now)
        if day is None or (user.pk, day) in claimed:
            continue
        try:
            digest = digest_send(user=user, preference=preference, day=day, now=now, latest=latest)
        except Exception:
            logger.exception("Digest for user %s on %s failed; the next beat retries", user.pk, day)
            continue
        if digest is not None and digest.status == Digest.Status.SENT:
            sent += 1
    return sent
