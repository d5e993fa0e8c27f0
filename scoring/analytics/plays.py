"""Which plays save accounts: for closed calls to action (done, or resolved by themselves), per
rule and per playbook, how often the account's band improved within 30 / 60 / 90 days of the
CTA opening and how often it churned within 180 days, against comparable accounts that got no
such CTA.

- A case is a closed CTA with a known band at its opening (band_at_open). Its band "improved
  within k days" when the account's published band on opened_on + k is better than the band at
  the opening (red → yellow or green, yellow → green); an account that churned by then did not
  improve. A horizon not reached yet (no published score that day and no churn) leaves the
  case out of that horizon's count, so recent CTAs never read as failures.
- The baseline: for each case, up to CONTROLS accounts with the same published band on the
  same day that entered it as recently, and had no CTA of the same rule within
  ±EXCLUSION_DAYS days. A CTA fires when an account *turns* yellow or red, so an account that
  has sat in red for months is no fair comparison: it tends to recover less often, and against
  it any play looks good (regression to the mean). So a case whose band RECENT_DAYS before
  differed ("just entered") is matched with accounts that just entered the band from that same band
  (yellow → red with yellow → red, not green → red), a case that was in the band
  RECENT_DAYS before with accounts that were too: the band that day and RECENT_DAYS before
  are both matched. No published band RECENT_DAYS before (a new account, a gap) reads as
  "no data" then, for cases and candidates alike.
  The match falls back in this order (MATCHES): both bands and the journey stage when
  CONTROLS accounts share the stage; else any stage; else, for a case that just entered its
  band and found none, accounts that entered it (from any band) within WIDE_DAYS; else none:
  the case keeps its own outcome and has no baseline (counted as such, never matched on band
  alone). Each case's match is counted per group and shown.
  Candidates are drawn set-based: one query takes up to CANDIDATES accounts per (day, band,
  recency), with their bands RECENT_DAYS and WIDE_DAYS before, in a fixed pseudo-random
  order per day, and the matching happens in Python. Their outcomes are read exactly as the
  cases' are.
- Each share comes with its count and a Wilson 95 % interval (metrics.proportion); a rule or
  playbook with fewer than MIN_CASES cases is listed by name as not enough data.

One analysis reads a bounded number of queries whatever the number of CTAs (outcome lookups in
batches of BATCH pairs). It only reads.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from django.db import connection
from django.db.models import DateField, OuterRef, Subquery
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.i18n import builtin
from accounts.models import Account
from healthboard.lib.numbers import share_text
from scoring.analytics.metrics import proportion
from scoring.bands import RANK, Band, change
from scoring.models import CallToAction, HealthScore, ScoreRun

HORIZONS = (30, 60, 90)
READING_HORIZON = 60  # the one the plain-words reading quotes
CHURN_DAYS = 180
MIN_CASES = 10
CONTROLS = 5
CANDIDATES = 40
EXCLUSION_DAYS = 30
RECENT_DAYS = 7  # "just entered its band": the band this many days before differed
WIDE_DAYS = 30  # the widened window for a case that just entered and found no such account
# How a case's baseline was matched, strictest first (the fallback order), and what it says.
MATCHES = {
    "stage": format_lazy(
        _("the band that day and {days} days before, and journey stage"), days=RECENT_DAYS
    ),
    "recency": format_lazy(
        _("the band that day and {days} days before (any stage)"), days=RECENT_DAYS
    ),
    "wide": format_lazy(
        _("the band that day, entered within {days} days (any stage)"), days=WIDE_DAYS
    ),
    "none": _("no comparable account"),
}
# The candidates' recency, from their bands RECENT_DAYS and WIDE_DAYS before the day.
NEW, MONTH, OLD = "new", "month", "old"
BATCH = 5000
CLOSED = (CallToAction.Status.DONE, CallToAction.Status.RESOLVED)


@dataclass(frozen=True)
class Case:
    account_id: int
    rule_id: int | None
    rule: str
    playbook: str
    stage_id: int | None
    day: dt.date
    band: str
    status: str
    before: str | None = None  # the published band RECENT_DAYS before the opening

    @property
    def just_entered(self) -> bool:
        return self.before != self.band


@dataclass
class PlaysReport:
    as_of: str | None  # the last published day: horizons after it are not reached yet
    cases: int
    done: int
    resolved: int
    horizons: list[int] = field(default_factory=lambda: list(HORIZONS))
    churn_days: int = CHURN_DAYS
    min_cases: int = MIN_CASES
    by_rule: list[dict] = field(default_factory=list)
    by_playbook: list[dict] = field(default_factory=list)
    too_few: list[str] = field(default_factory=list)
    recent_days: int = RECENT_DAYS
    # Cases per kind of match (MATCHES); the same as the page lists it, with its words.
    matched: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MATCHES, 0))
    matches: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    status: str = "ok"

    def to_json(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------- reading the data


def _cases() -> list[Case]:
    # The band RECENT_DAYS before the opening, in the same query (a correlated subquery).
    before = HealthScore.objects.filter(
        account_id=OuterRef("account_id"),
        date=Cast(OuterRef("opened_on") - dt.timedelta(days=RECENT_DAYS), DateField()),
        run__status=ScoreRun.Status.DONE,
    ).values("band")[:1]
    rows = (
        CallToAction.objects.filter(status__in=CLOSED, band_at_open__in=list(RANK))
        .annotate(before=Subquery(before))
        .order_by("opened_on", "pk")
        .values_list(
            "account_id",
            "rule_id",
            "rule__name",
            "playbook_name",
            "playbook__stage_id",
            "account__stage_id",
            "opened_on",
            "band_at_open",
            "status",
            "before",
        )
    )
    return [
        Case(
            account_id=row[0],
            rule_id=row[1],
            rule=row[2] or gettext("Added by hand"),
            playbook=row[3],
            # The playbook's stage is the stage at the opening; else the account's stage now.
            stage_id=row[4] or row[5],
            day=row[6],
            band=row[7],
            status=row[8],
            before=row[9],
        )
        for row in rows
    ]


def _cta_days(rule_ids: set[int]) -> dict[tuple[int, int], list[dt.date]]:
    """(rule, account) → the days a CTA of that rule opened on the account (any status)."""
    days: dict[tuple[int, int], list[dt.date]] = defaultdict(list)
    rows = CallToAction.objects.filter(rule_id__in=rule_ids).values_list(
        "rule_id", "account_id", "opened_on"
    )
    for rule, account, day in rows:
        days[(rule, account)].append(day)
    return days


def _candidates(wanted: set[tuple[dt.date, str]]) -> dict[tuple[dt.date, str], list[tuple]]:
    """Up to CANDIDATES (account, stage, recency) per (day, band) and recency ("new:<band>":
    that other band or none RECENT_DAYS before, so one that turned red from yellow is not
    taken for one that turned red from green; MONTH: the same band then but not WIDE_DAYS
    before; OLD: the same band both times) with that published band that day, in a
    pseudo-random order fixed per day (so a repeated analysis draws the same ones). Drawn per
    recency, so the few accounts that just entered a band are not crowded out by the many that
    sit in it."""
    if not wanted:
        return {}
    pg = connection.vendor == "postgresql"
    row = (
        "(CAST(%s AS date), %s, CAST(%s AS bigint), CAST(%s AS date), CAST(%s AS date))"
        if pg
        else "(%s, %s, %s, %s, %s)"
    )
    values, params = [], []
    for day, band in sorted(wanted):
        values.append(row)
        params += [
            day,
            band,
            day.toordinal(),
            day - dt.timedelta(days=RECENT_DAYS),
            day - dt.timedelta(days=WIDE_DAYS),
        ]
    # Scores are found through their day's done run (a run's rows carry its date), by run:
    # both databases then walk the few runs and each one's rows by index. (Joined by date,
    # SQLite scanned every score once per (day, band): 45 s on the demo.) The status is
    # written out, a constant, so that SQLite may use the partial index of done runs.
    done = f"'{ScoreRun.Status.DONE.value}'"
    # A published band on an earlier day, if any: at most one done run a date.
    earlier = (
        "LEFT JOIN scoring_scorerun {r} ON {r}.date = w.{day} AND {r}.status = " + done + " "
        "LEFT JOIN scoring_healthscore {h} ON {h}.run_id = {r}.id "
        "AND {h}.account_id = h.account_id "
    )
    sql = (
        f"WITH w(day, band, salt, recent, wide) AS (VALUES {', '.join(values)}) "
        "SELECT day, band, account_id, stage_id, recency FROM ("
        "SELECT c.*, ROW_NUMBER() OVER (PARTITION BY day, band, recency "
        "ORDER BY ((account_id + salt) * 1103515245) %% 2147483648, account_id) AS rn FROM ("
        "SELECT w.day, w.band, w.salt, h.account_id, a.stage_id, CASE "
        f"WHEN COALESCE(hr.band, %s) <> w.band THEN '{NEW}:' || COALESCE(hr.band, %s) "
        f"WHEN hw.band IS NULL OR hw.band <> w.band THEN '{MONTH}' ELSE '{OLD}' END AS recency "
        f"FROM w JOIN scoring_scorerun r ON r.date = w.day AND r.status = {done} "
        "JOIN scoring_healthscore h ON h.run_id = r.id AND h.band = w.band "
        "JOIN accounts_account a ON a.id = h.account_id "
        + earlier.format(h="hr", r="rr", day="recent")
        + earlier.format(h="hw", r="rw", day="wide")
        + ") c) d WHERE rn <= %s"
    )
    out: dict[tuple[dt.date, str], list[tuple]] = defaultdict(list)
    with connection.cursor() as cursor:
        none = Band.NO_DATA.value
        cursor.execute(sql, params + [none, none, CANDIDATES])
        for day, band, account, stage, recency in cursor.fetchall():
            if isinstance(day, str):  # SQLite
                day = dt.date.fromisoformat(day)
            out[(day, band)].append((account, stage, recency))
    return out


def _bands_on(pairs: Iterable[tuple[int, dt.date]]) -> dict[tuple[int, dt.date], str]:
    """The published band of each (account, day) that has one."""
    pairs = sorted(set(pairs))
    pg = connection.vendor == "postgresql"
    row = "(CAST(%s AS bigint), CAST(%s AS date))" if pg else "(%s, %s)"
    out = {}
    for start in range(0, len(pairs), BATCH):
        part = pairs[start : start + BATCH]
        params = [v for pair in part for v in pair]
        sql = (
            f"WITH p(account_id, day) AS (VALUES {', '.join([row] * len(part))}) "
            "SELECT h.account_id, h.date, h.band FROM scoring_healthscore h "
            "JOIN p ON h.account_id = p.account_id AND h.date = p.day "
            "JOIN scoring_scorerun r ON r.id = h.run_id AND r.status = %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params + [ScoreRun.Status.DONE])
            for account, day, band in cursor.fetchall():
                if isinstance(day, str):
                    day = dt.date.fromisoformat(day)
                out[(account, day)] = band
    return out


# ---------------------------------------------------------------- matching and outcomes


def _controls(
    case: Case, candidates: list[tuple], cta_days: dict[tuple[int, int], list[dt.date]]
) -> tuple[str, list[int]]:
    """How the case was matched (a key of MATCHES) and up to CONTROLS comparable accounts: no
    CTA of the case's rule within ±EXCLUSION_DAYS, entered the band as recently, the same
    stage when enough are (see the module's docstring for the fallback order)."""
    window = dt.timedelta(days=EXCLUSION_DAYS)

    def clean(account: int) -> bool:
        if account == case.account_id:
            return False
        return not any(
            abs(day - case.day) <= window for day in cta_days.get((case.rule_id, account), ())
        )

    eligible = [(a, s, r) for a, s, r in candidates if clean(a)]
    # Recency only ever widens for a case that just entered: nothing is wider than "was in
    # the band RECENT_DAYS before" without taking in accounts that just entered it.
    if case.just_entered:  # from the same band first, then from any within WIDE_DAYS
        came_from = f"{NEW}:{case.before or Band.NO_DATA.value}"
        windows = [("recency", {came_from}), ("wide", {r for _a, _s, r in eligible} - {OLD})]
    else:
        windows = [("recency", {MONTH, OLD})]
    for i, (level, recencies) in enumerate(windows):
        pool = [(a, s) for a, s, r in eligible if r in recencies]
        same = [a for a, s in pool if s == case.stage_id]
        if i == 0 and len(same) >= CONTROLS:  # the stage is dropped before the window widens
            return "stage", same[:CONTROLS]
        if pool:
            return level, [a for a, _s in pool][:CONTROLS]
    return "none", []


@dataclass
class Tally:
    """Outcomes of a group of observations: per horizon (improved, observed), churn."""

    improved: dict[int, list[int]] = field(default_factory=lambda: {k: [0, 0] for k in HORIZONS})
    churn: list[int] = field(default_factory=lambda: [0, 0])
    n: int = 0

    def add(self, outcome: tuple[dict[int, bool | None], bool | None]) -> None:
        by_horizon, churned = outcome
        self.n += 1
        for k, value in by_horizon.items():
            if value is not None:
                self.improved[k][0] += value
                self.improved[k][1] += 1
        if churned is not None:
            self.churn[0] += churned
            self.churn[1] += 1


def _outcome(
    account: int,
    day: dt.date,
    band: str,
    bands: dict[tuple[int, dt.date], str],
    churn_dates: dict[int, dt.date | None],
    as_of: dt.date,
) -> tuple[dict[int, bool | None], bool | None]:
    churn = churn_dates.get(account)
    by_horizon: dict[int, bool | None] = {}
    for k in HORIZONS:
        then = day + dt.timedelta(days=k)
        if churn is not None and day < churn <= then:
            by_horizon[k] = False
        elif (account, then) in bands:
            later = bands[(account, then)]
            by_horizon[k] = change(band, later) == "better"
        else:
            by_horizon[k] = None  # not reached yet, or not scored that day
    end = day + dt.timedelta(days=CHURN_DAYS)
    if churn is not None and day < churn <= end:
        churned: bool | None = True
    elif end <= as_of:
        churned = False
    else:
        churned = None
    return by_horizon, churned


# ---------------------------------------------------------------- the report


def _pct(p: dict) -> str:
    return "—" if p["rate"] is None else share_text(p["rate"])


def _reading(kind: str, name: str, row: dict) -> list[str]:
    """The group's figures in plain words."""
    name = builtin(name)
    lines = []
    shares = row["improved"][str(READING_HORIZON)]
    cta, base = shares["cta"], shares["baseline"]
    if cta["n"] and base["n"]:
        words = {
            "name": name,
            "days": READING_HORIZON,
            "share": _pct(cta),
            "n": cta["n"],
            "base_share": _pct(base),
            "base_n": base["n"],
            "verdict": _verdict(cta, base),
        }
        if kind == "rule":
            text = gettext(
                "Accounts that got the “%(name)s” play recovered to a better band within "
                "%(days)s days in %(share)s of cases (n=%(n)s) vs %(base_share)s for comparable "
                "accounts without it (n=%(base_n)s)%(verdict)s."
            )
        else:
            text = gettext(
                "Accounts that got the “%(name)s” playbook recovered to a better band within "
                "%(days)s days in %(share)s of cases (n=%(n)s) vs %(base_share)s for comparable "
                "accounts without it (n=%(base_n)s)%(verdict)s."
            )
        lines.append(text % words)
    cta, base = row["churn"]["cta"], row["churn"]["baseline"]
    if cta["n"] and base["n"]:
        lines.append(
            gettext(
                "Within %(days)s days %(share)s of them churned (n=%(n)s) vs %(base_share)s of "
                "the comparable accounts (n=%(base_n)s)%(verdict)s."
            )
            % {
                "days": CHURN_DAYS,
                "share": _pct(cta),
                "n": cta["n"],
                "base_share": _pct(base),
                "base_n": base["n"],
                "verdict": _verdict(cta, base),
            }
        )
    return lines


def _verdict(cta: dict, base: dict) -> str:
    if cta["low"] is None or base["low"] is None:
        return ""
    if cta["low"] > base["high"] or cta["high"] < base["low"]:
        # xgettext:no-python-format
        return gettext(": the 95 % intervals do not overlap, so chance alone is unlikely")
    # xgettext:no-python-format
    return gettext(": the 95 % intervals overlap, so the difference may be chance")


def _group_row(kind: str, name: str, cases: list[Case], tally: Tally, base: Tally) -> dict:
    row = {
        "name": name,
        "cases": len(cases),
        "done": sum(c.status == CallToAction.Status.DONE for c in cases),
        "resolved": sum(c.status == CallToAction.Status.RESOLVED for c in cases),
        "controls": base.n,
        "improved": {
            str(k): {
                "cta": proportion(*tally.improved[k]).to_json(),
                "baseline": proportion(*base.improved[k]).to_json(),
            }
            for k in HORIZONS
        },
        "churn": {
            "cta": proportion(*tally.churn).to_json(),
            "baseline": proportion(*base.churn).to_json(),
        },
    }
    row["reading"] = _reading(kind, name, row)
    return row


def plays_report(
    *, as_of: dt.date | None = None, progress: Callable[[float, str], None] | None = None
) -> PlaysReport:
    """The report over every closed CTA (see the module's docstring)."""
    progress = progress or (lambda fraction, message: None)
    last = (
        ScoreRun.objects.filter(status=ScoreRun.Status.DONE)
        .order_by("-date")
        .values_list("date", flat=True)
        .first()
    )
    as_of = as_of or last or timezone.localdate()
    progress(0.05, gettext("Reading the closed calls to action"))
    cases = _cases()
    report = PlaysReport(
        as_of=as_of.isoformat() if last else None,
        cases=len(cases),
        done=sum(c.status == CallToAction.Status.DONE for c in cases),
        resolved=sum(c.status == CallToAction.Status.RESOLVED for c in cases),
    )
    if not cases:
        report.status = "not_enough_data"
        report.missing.append(
            gettext(
                "No closed calls to action with a band at their opening yet: plays are measured "
                "once CTAs are marked done or resolve by themselves."
            )
        )
        return report
    if last is None:
        report.status = "not_enough_data"
        report.missing.append(gettext("No published scores: bands after a CTA cannot be read."))
        return report

    progress(0.2, gettext("Drawing comparable accounts"))
    cta_days = _cta_days({c.rule_id for c in cases if c.rule_id is not None})
    candidates = _candidates({(c.day, c.band) for c in cases})
    matches = [_controls(c, candidates.get((c.day, c.band), []), cta_days) for c in cases]
    controls = [chosen for _level, chosen in matches]
    for level, _chosen in matches:
        report.matched[level] += 1
    report.matches = [
        # Stored as JSON: plain text, in the language the analysis runs in.
        {"key": key, "label": str(label), "cases": report.matched[key]}
        for key, label in MATCHES.items()
    ]

    progress(0.5, gettext("Reading the bands after each CTA"))
    offsets = [dt.timedelta(days=k) for k in HORIZONS]
    pairs = [
        (account, c.day + offset)
        for c, chosen in zip(cases, controls, strict=True)
        for account in (c.account_id, *chosen)
        for offset in offsets
    ]
    bands = _bands_on(pairs)
    accounts = {c.account_id for c in cases} | {a for chosen in controls for a in chosen}
    churn_dates = dict(
        Account.objects.filter(pk__in=accounts, churn_date__isnull=False).values_list(
            "pk", "churn_date"
        )
    )

    progress(0.8, gettext("Comparing"))
    groups: dict[tuple[str, str], tuple[list[Case], Tally, Tally, dict[str, int]]] = {}
    for c, (level, chosen) in zip(cases, matches, strict=True):
        own = _outcome(c.account_id, c.day, c.band, bands, churn_dates, as_of)
        theirs = [_outcome(a, c.day, c.band, bands, churn_dates, as_of) for a in chosen]
        keys = [("rule", c.rule)] + ([("playbook", c.playbook)] if c.playbook else [])
        for key in keys:
            members, tally, base, matched = groups.setdefault(
                key, ([], Tally(), Tally(), dict.fromkeys(MATCHES, 0))
            )
            members.append(c)
            matched[level] += 1
            tally.add(own)
            for outcome in theirs:
                base.add(outcome)

    for (kind, name), (members, tally, base, matched) in sorted(groups.items()):
        if len(members) < MIN_CASES:
            words = {"name": builtin(name), "count": len(members)}
            if kind == "rule":
                text = ngettext(
                    "Rule “%(name)s”: %(count)s closed CTA",
                    "Rule “%(name)s”: %(count)s closed CTAs",
                    len(members),
                )
            else:
                text = ngettext(
                    "Playbook “%(name)s”: %(count)s closed CTA",
                    "Playbook “%(name)s”: %(count)s closed CTAs",
                    len(members),
                )
            report.too_few.append(text % words)
            continue
        row = _group_row(kind, name, members, tally, base)
        row["matched"] = matched
        (report.by_rule if kind == "rule" else report.by_playbook).append(row)
    for rows in (report.by_rule, report.by_playbook):
        rows.sort(key=lambda r: (-r["cases"], r["name"]))
    if not report.by_rule and not report.by_playbook:
        report.status = "not_enough_data"
        report.missing.append(
            gettext(
                "No rule or playbook has %(min)s closed CTAs yet (%(count)s closed in all): a "
                "share of fewer says nothing."
            )
            % {"min": MIN_CASES, "count": len(cases)}
        )
    progress(1.0, gettext("Done"))
    return report
