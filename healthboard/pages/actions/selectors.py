"""Reads of the My actions page, the navigation count and the team's overdue calls to action
(keyword-only, typed; the query count in each docstring)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, Min, Prefetch, Q, QuerySet, Window, prefetch_related_objects
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from healthboard.pages.filters import user_label
from scoring.actions.playbooks import checklists_attach
from scoring.models import HealthScore, ScoreRun
from scoring.models.actions import CallToAction, CtaComment, CtaStep, Outcome

Status = CallToAction.Status

DUE, SNOOZED, DONE = "due", "snoozed", "done"
TABS = {DUE: _("Due now"), SNOOZED: _("Snoozed"), DONE: _("Done recently")}
# "Done recently": closed in this many days.
DONE_DAYS = 30
# An inbox longer than this shows its first rows and says how many there are: the page stays
# fast, and nobody works through more than this in a day.
INBOX_ROWS = 50
# The team view lists each CSM's oldest overdue CTAs, this many at most.
TEAM_ROWS = 5

ORDER = {
    DUE: ("due_date", "priority", "id"),
    SNOOZED: ("snoozed_until", "due_date", "priority", "id"),
    DONE: ("-closed_at", "-id"),
}


def _tab_q(tab: str, *, today: dt.date) -> Q:
    """Which CTAs a tab holds; DUE is the model's due_now, said once more as a Q so the three
    tabs' counts are one query."""
    if tab == SNOOZED:
        return Q(status=Status.SNOOZED, snoozed_until__gt=today)
    if tab == DONE:
        since = timezone.now() - dt.timedelta(days=DONE_DAYS)
        return Q(status__in=[Status.DONE, Status.RESOLVED], closed_at__gte=since)
    return Q(status=Status.OPEN) | Q(status=Status.SNOOZED, snoozed_until__lte=today)


def cards(queryset: QuerySet) -> list[CallToAction]:
    """The CTAs of `queryset` with what their card shows: account, owner, outcome, the
    checklist (.checklist), comments. Three queries however many CTAs; one more where some
    have their playbook's steps still pending (the rules' CTAs: scoring.actions.playbooks)."""
    ctas = list(queryset.select_related("account", "owner", "outcome", "closed_by"))
    prefetch_related_objects(
        ctas,
        Prefetch("steps", queryset=CtaStep.objects.order_by("order", "id")),
        Prefetch("comments", queryset=CtaComment.objects.select_related("author")),
    )
    checklists_attach(ctas)
    return ctas


def bands_now(ctas: list[CallToAction]) -> None:
    """Set .band and .score on each CTA: its account's score in the newest done run (no
    data when the account was not in it). One query, none without CTAs."""
    if not ctas:
        return
    newest = ScoreRun.objects.filter(status=ScoreRun.Status.DONE).order_by("-date").values("date")
    rows = HealthScore.objects.filter(
        account_id__in={cta.account_id for cta in ctas},
        run__status=ScoreRun.Status.DONE,
        date=newest[:1],
    ).values_list("account_id", "band", "score")
    scores = {account_id: (band, score) for account_id, band, score in rows}
    for cta in ctas:
        cta.band, cta.score = scores.get(cta.account_id, ("none", None))


@dataclass
class Inbox:
    ctas: list[CallToAction]
    counts: dict[str, int] = field(default_factory=dict)
    tab: str = DUE

    @property
    def total(self) -> int:
        return self.counts[self.tab]


def tab_counts(*, owner_id: int, today: dt.date) -> dict[str, int]:
    """How many of one owner's CTAs each tab holds. One query (a filtered COUNT per tab)."""
    return CallToAction.objects.filter(owner_id=owner_id).aggregate(
        **{name: Count("pk", filter=_tab_q(name, today=today)) for name in TABS}
    )


def inbox_ctas(*, owner_id: int, tab: str, today: dt.date) -> Inbox:
    """One owner's CTAs in a tab, at most INBOX_ROWS, each with its steps, comments and its
    account's band now; and the number in each tab. Five queries: the counts, the CTAs,
    their steps, their comments, the accounts' scores."""
    mine = CallToAction.objects.filter(owner_id=owner_id)
    counts = tab_counts(owner_id=owner_id, today=today)
    ctas = cards(mine.filter(_tab_q(tab, today=today)).order_by(*ORDER[tab])[:INBOX_ROWS])
    bands_now(ctas)
    return Inbox(ctas=ctas, counts=counts, tab=tab)


def cta_card(*, pk: int) -> CallToAction:
    """One CTA for its card (raises DoesNotExist). Four queries with the band."""
    found = cards(CallToAction.objects.filter(pk=pk))
    if not found:
        raise CallToAction.DoesNotExist(f"No call to action {pk}.")
    cta = found[0]
    bands_now([cta])
    return cta


def due_now_count(*, user: AbstractBaseUser, today: dt.date) -> int:
    """The navigation's number: the user's CTAs due now. One query (the owner index)."""
    return CallToAction.objects.filter(owner_id=user.pk).due_now(today).count()


def outcomes_active() -> list[Outcome]:
    """The outcomes a CTA can be closed with, in the Admins' order. One query."""
    return list(Outcome.objects.filter(active=True))


@dataclass
class OwnerOverdue:
    owner_id: int | None
    name: str  # the owner as people read them; "Unassigned" for none
    n: int
    oldest: dt.date
    ctas: list[CallToAction] = field(default_factory=list)

    @property
    def url(self) -> str | None:
        """The owner's inbox (none for CTAs without an owner)."""
        return f"{reverse('actions:inbox')}?owner={self.owner_id}" if self.owner_id else None


def overdue_per_owner(*, today: dt.date, rows: int = 0) -> list[OwnerOverdue]:
    """Each owner's overdue CTAs (due now, due date passed): how many and the oldest due
    date, the longest overdue first; with `rows`, also each owner's `rows` oldest CTAs with
    their accounts. One query (two with rows)."""
    overdue = CallToAction.objects.overdue(today)
    tallies = (
        overdue.order_by()
        .values("owner_id", "owner__username", "owner__first_name", "owner__last_name")
        .annotate(n=Count("pk"), oldest=Min("due_date"))
    )
    User = get_user_model()
    result = {}
    for t in tallies:
        owner = User(
            pk=t["owner_id"],
            username=t["owner__username"],
            first_name=t["owner__first_name"],
            last_name=t["owner__last_name"],
        )
        name = user_label(owner) if t["owner_id"] else gettext("Unassigned")
        result[t["owner_id"]] = OwnerOverdue(
            owner_id=t["owner_id"], name=name, n=t["n"], oldest=t["oldest"]
        )
    if not result:
        return []
    if rows:
        # Each owner's oldest few in one query: numbered per owner, cut at `rows`.
        ranked = (
            overdue.select_related("account")
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=[F("owner_id")],
                    order_by=[F("due_date").asc(), F("priority").asc(), F("id").asc()],
                )
            )
            .filter(rank__lte=rows)
            .order_by("owner_id", "rank")
        )
        for cta in ranked:
            result[cta.owner_id].ctas.append(cta)
    return sorted(result.values(), key=lambda o: (o.oldest, -o.n, o.name.casefold()))
