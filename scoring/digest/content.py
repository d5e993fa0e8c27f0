"""What one user's digest says: their new and overdue calls to action, their accounts that
changed band between two published runs, and (Managers) the team's overdue CTAs per CSM.
Reads only; keyword-only selectors. Links are absolute (an e-mail has no host to be relative
to): settings.SITE_URL and the pages' URL names (each CTA's page and the inbox in My
actions, the account page)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, F, Min, OuterRef, Subquery, Window
from django.urls import reverse
from django.utils.translation import ngettext

from accounts.models import Account
from healthboard.lib.roles import role_grants
from scoring.bands import RANK, Band, change
from scoring.models import CallToAction, HealthScore, ScoreRun
from scoring.models.digest import Digest, DigestPreference

# Lines per section; the rest are counted ("and 12 more") and a link leads to them all.
MAX_LINES = 20


def absolute_url(path: str) -> str:
    """A path of this site as a link that works from a mail client."""
    return settings.SITE_URL.rstrip("/") + path


@dataclass(frozen=True)
class CtaLine:
    cta: CallToAction  # with its account
    url: str  # the CTA's own page (in My actions)
    account_url: str
    days_overdue: int


@dataclass(frozen=True)
class BandMove:
    account_id: int
    name: str
    url: str
    before: Band
    after: Band
    score_before: float | None
    score_after: float | None
    direction: str  # "better", "worse" or "" (to or from no data)


@dataclass(frozen=True)
class TeamLine:
    owner_name: str
    overdue: int
    oldest_due: dt.date
    url: str  # the owner's inbox in My actions


@dataclass(frozen=True)
class DigestSpan:
    """What a digest covers: CTAs made after `since` up to `until`; band changes from the
    run `compared_from` to the run `latest` (None: no published run to compare)."""

    since: dt.datetime
    until: dt.datetime
    compared_from: ScoreRun | None
    latest: ScoreRun | None


@dataclass
class DigestContent:
    today: dt.date
    window: DigestSpan
    new: list[CtaLine] = field(default_factory=list)
    new_total: int = 0
    overdue: list[CtaLine] = field(default_factory=list)
    overdue_total: int = 0
    moves: list[BandMove] = field(default_factory=list)
    moves_total: int = 0
    team: list[TeamLine] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        """Nothing to report: no e-mail goes."""
        return not (self.new_total or self.overdue_total or self.moves_total or self.team)

    # Beyond the lines listed: "… and 12 more".
    @property
    def new_more(self) -> int:
        return self.new_total - len(self.new)

    @property
    def overdue_more(self) -> int:
        return self.overdue_total - len(self.overdue)

    @property
    def moves_more(self) -> int:
        return self.moves_total - len(self.moves)

    @property
    def team_overdue(self) -> int:
        return sum(line.overdue for line in self.team)

    @property
    def summary(self) -> str:
        """The digest in a line (the subject): "3 overdue, 2 new CTAs, 1 account changed band"."""
        parts = []
        overdue, new = self.overdue_total, self.new_total
        if overdue and new:
            parts.append(
                ngettext(
                    "%(overdue)s overdue, %(new)s new CTA",
                    "%(overdue)s overdue, %(new)s new CTAs",
                    overdue + new,
                )
                % {"overdue": overdue, "new": new}
            )
        elif overdue:
            parts.append(
                ngettext("%(n)s overdue CTA", "%(n)s overdue CTAs", overdue) % {"n": overdue}
            )
        elif new:
            parts.append(ngettext("%(n)s new CTA", "%(n)s new CTAs", new) % {"n": new})
        if self.moves_total:
            parts.append(
                ngettext(
                    "%(n)s account changed band", "%(n)s accounts changed band", self.moves_total
                )
                % {"n": self.moves_total}
            )
        if self.team:
            parts.append(
                ngettext(
                    "%(n)s overdue in your team", "%(n)s overdue in your team", self.team_overdue
                )
                % {"n": self.team_overdue}
            )
        return ", ".join(parts)


def run_latest() -> ScoreRun | None:
    """The newest published run. One query."""
    return ScoreRun.objects.filter(status=ScoreRun.Status.DONE).order_by("-date").first()


def _run_on_or_before(day: dt.date) -> ScoreRun | None:
    done = ScoreRun.objects.filter(status=ScoreRun.Status.DONE, date__lte=day)
    return done.order_by("-date").first()


def digest_window(
    *, user, preference: DigestPreference, now: dt.datetime, latest: ScoreRun | None
) -> DigestSpan:
    """Where the user's next digest starts: where their last one (sent, or found empty)
    ended; without one, or one older than two periods (a user back from "never"), a period
    (a day, a week) before. Two queries."""
    period = preference.period
    last = (
        Digest.objects.filter(user=user)
        .exclude(status=Digest.Status.SENDING)
        .order_by("-day")
        .only("until", "scores_date")
        .first()
    )
    recent = last is not None and last.until >= now - 2 * period
    since = last.until if recent else now - period
    compared_from = None
    if latest is not None:
        if recent and last.scores_date is not None:
            day = last.scores_date
        else:
            day = latest.date - dt.timedelta(days=period.days)
        compared_from = _run_on_or_before(min(day, latest.date))
    return DigestSpan(since=since, until=now, compared_from=compared_from, latest=latest)


def _cta_lines(queryset, *, today: dt.date) -> tuple[list[CtaLine], int]:
    """The first MAX_LINES CTAs of `queryset` with their links, and how many there are in
    all (a window count: the same query)."""
    rows = list(queryset.select_related("account").annotate(total=Window(Count("id")))[:MAX_LINES])
    lines = [
        CtaLine(
            cta=cta,
            url=absolute_url(reverse("actions:cta", args=[cta.pk])),
            account_url=absolute_url(reverse("accounts:detail", args=[cta.account_id])),
            days_overdue=max((today - cta.due_date).days, 0),
        )
        for cta in rows
    ]
    return lines, (rows[0].total if rows else 0)


def _band_moves(*, user, window: DigestSpan) -> tuple[list[BandMove], int]:
    """The user's active accounts whose band differs between the two runs, worse ones
    first. One query (each account's earlier row found by the (run, account) unique index)."""
    before_run, latest = window.compared_from, window.latest
    if before_run is None or latest is None or before_run.pk == latest.pk:
        return [], 0
    before = HealthScore.objects.filter(run=before_run, account=OuterRef("account_id"))
    rows = (
        HealthScore.objects.filter(
            run=latest, account__owner=user, account__status=Account.Status.ACTIVE
        )
        .annotate(
            before_band=Subquery(before.values("band")[:1]),
            before_score=Subquery(before.values("score")[:1]),
        )
        .filter(before_band__isnull=False)
        .exclude(before_band=F("band"))
        .values_list("account_id", "account__name", "before_band", "band", "before_score", "score")
    )
    moves = [
        BandMove(
            account_id=account_id,
            name=name,
            url=absolute_url(reverse("accounts:detail", args=[account_id])),
            before=Band.of(before_band),
            after=Band.of(band),
            score_before=before_score,
            score_after=score,
            direction=change(before_band, band),
        )
        for account_id, name, before_band, band, before_score, score in rows
    ]
    # Worse first, the worst landing first (red before yellow), then better, then no data.
    order = {"worse": 0, "better": 1, "": 2}
    moves.sort(key=lambda m: (order[m.direction], RANK.get(m.after, 9), m.name.lower()))
    return moves[:MAX_LINES], len(moves)


def _team_overdue(*, user, today: dt.date) -> list[TeamLine]:
    """Managers: each other owner's overdue CTAs, the longest overdue first, as My actions'
    team page orders them (the Manager's own are in their own list). One query."""
    rows = (
        CallToAction.objects.overdue(today)
        .filter(owner__isnull=False)
        .exclude(owner=user)
        .values("owner", "owner__first_name", "owner__last_name", "owner__username")
        .annotate(overdue=Count("id"), oldest_due=Min("due_date"))
        .order_by("oldest_due", "-overdue", "owner__username")
    )
    inbox = absolute_url(reverse("actions:inbox"))
    return [
        TeamLine(
            owner_name=f"{row['owner__first_name']} {row['owner__last_name']}".strip()
            or row["owner__username"],
            overdue=row["overdue"],
            oldest_due=row["oldest_due"],
            url=f"{inbox}?owner={row['owner']}",
        )
        for row in rows[:MAX_LINES]
    ]


def digest_content(*, user, today: dt.date, window: DigestSpan) -> DigestContent:
    """Everything one user's digest says, as of their local `today`. At most four queries
    however many CTAs and accounts there are (new, overdue, band changes, and the team's
    overdue CTAs for a user who sees team views)."""
    mine = CallToAction.objects.filter(owner=user)
    overdue, overdue_total = _cta_lines(
        mine.overdue(today).order_by("due_date", "priority", "id"), today=today
    )
    # An overdue CTA made since the last digest is listed once, among the overdue ones.
    new, new_total = _cta_lines(
        mine.due_now(today)
        .filter(created_at__gt=window.since, created_at__lte=window.until, due_date__gte=today)
        .order_by("priority", "due_date", "id"),
        today=today,
    )
    moves, moves_total = _band_moves(user=user, window=window)
    sees_team = role_grants(user, "accounts.view_team")
    team = _team_overdue(user=user, today=today) if sees_team else []
    return DigestContent(
        today=today,
        window=window,
        new=new,
        new_total=new_total,
        overdue=overdue,
        overdue_total=overdue_total,
        moves=moves,
        moves_total=moves_total,
        team=team,
        links={
            "my_actions": absolute_url(reverse("actions:inbox")),
            "team": absolute_url(reverse("actions:team")) if sees_team else "",
            "portfolio": absolute_url(reverse("home")),
            "preferences": absolute_url(reverse("preferences:digest")),
        },
    )


def digest_preview(*, user, now: dt.datetime) -> DigestContent:
    """What the user's next digest would say if it went at `now`, whether or not one is due
    (the preference page's preview). Reads only; the queries of digest_window and
    digest_content, and one for the newest run."""
    preference = DigestPreference.defaults_for(user)
    window = digest_window(user=user, preference=preference, now=now, latest=run_latest())
    return digest_content(user=user, today=now.astimezone(preference.zone).date(), window=window)
