"""The demo data generator: deterministic accounts, owners, hidden health, signals and notes.

Every account has a hidden "true health" h in [0, 1] for every day of the history: a
mean-reverting random walk (AR(1)) around an account-specific level, with occasional shocks;
some accounts decline (or improve) steadily. Accounts whose health stays below CHURN_LEVEL for
CHURN_DAYS days in a row churn that day. Every signal is drawn from that day's h with noise,
on the value scales the default scorecards are tuned to.

The hidden health is the answer key for the scoring validation: generate() returns it and
writes it to var/demo_truth.json ({external_id: {"health_now", "health_min_90d", "churned",
"churn_date", "as_of"}}); "now" is the end date, or the churn date for churned accounts.

Determinism: all randomness comes from numpy's default_rng, seeded from the seed (account
attributes) and from (seed, stream, chunk number) for each chunk of accounts, so the same
arguments give the same accounts, owners and signals (values, timestamps, external ids) on any
database. Speed: numpy over whole chunks, PostgreSQL COPY (SQLite: executemany), one
transaction.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from accounts.catalogue import METRICS
from accounts.models import Account, JourneyStage, Metric, Note, Segment, Signal, StageChange
from healthboard.lib.roles import ADMIN, CSM, MANAGER

MAX_ACCOUNTS = 1_000_000
MAX_DAYS = 3650
MAX_SIGNALS_PER_ACCOUNT = 100_000

ACCOUNT_PREFIX = "CRM-"  # demo accounts are the ones whose external id starts with this
SIGNAL_SOURCE = "demo"
DEFAULT_TRUTH_PATH = Path(settings.BASE_DIR) / "var" / "demo_truth.json"

# Churn: health below CHURN_LEVEL for CHURN_DAYS days in a row.
CHURN_LEVEL = 0.3
CHURN_DAYS = 60

# The hidden health walk (per day).
PERSISTENCE = 0.97  # AR(1) coefficient: deviations halve in ~23 days
DAILY_NOISE = 0.03  # stationary spread ≈ 0.12
SHOCK_RATE = 1 / 250  # ~1.5 shocks a year
# Steady declines start at random times (~DECLINES_PER_YEAR of the accounts a year, some
# already under way when the history starts), so churn goes on at a similar yearly rate
# however long the history is.
DECLINES_PER_YEAR = 0.08
DECLINE_HEAD_START = 500  # days: a full pipeline of declines when the history starts
IMPROVING_SHARE = 0.05
LEVEL_BETA = (4.5, 2.4)  # account health levels: mean ≈ 0.65

WEEK, MONTH, QUARTER, YEAR = 7.0, 365.25 / 12, 365.25 / 4, 365.25

METRIC_KEYS = [row[0] for row in METRICS]

# ---------------------------------------------------------------- users

DEMO_PASSWORDS = {
    ADMIN: "healthboard-admin",
    MANAGER: "healthboard-manager",
    CSM: "healthboard-csm",
}
# username, role, first name, last name
DEMO_USERS = [
    ("admin", ADMIN, "Alex", "Rivera"),
    ("manager", MANAGER, "Morgan", "Hayes"),
    ("csm1", CSM, "Priya", "Raman"),
    ("csm2", CSM, "Jonas", "Becker"),
    ("csm3", CSM, "Amara", "Okafor"),
    ("csm4", CSM, "Lucas", "Moreau"),
    ("csm5", CSM, "Sofia", "Lindqvist"),
    ("csm6", CSM, "Daniel", "Kim"),
]
# Books are uneven; the last share is "unassigned".
OWNER_SHARES = [0.23, 0.20, 0.18, 0.15, 0.13, 0.09, 0.02]

# ---------------------------------------------------------------- accounts

# slug: share, seats (low, high), plans and their shares
SEGMENTS = {
    "enterprise": (0.15, (200, 2000), [("Business", 0.3), ("Enterprise", 0.7)]),
    "mid-market": (0.35, (50, 300), [("Growth", 0.45), ("Business", 0.55)]),
    "smb": (0.50, (5, 50), [("Starter", 0.6), ("Growth", 0.4)]),
}
SEGMENT_SLUGS = list(SEGMENTS)
# List price per seat and year.
PLAN_PRICES = {"Starter": 300, "Growth": 480, "Business": 660, "Enterprise": 840}
# Health level offset per segment: small customers churn more.
SEGMENT_HEALTH = {"enterprise": 0.03, "mid-market": 0.0, "smb": -0.03}

# industry: words a company in it is named after
INDUSTRIES = [
    ("Logistics", ["Logistics", "Freight", "Shipping", "Supply Chain"]),
    ("Software", ["Software", "Systems", "Labs", "Digital"]),
    ("Healthcare", ["Health", "Medical", "Care", "Clinics"]),
    ("Financial services", ["Capital", "Financial", "Payments", "Wealth"]),
    ("Manufacturing", ["Manufacturing", "Industries", "Works", "Components"]),
    ("Retail", ["Retail", "Stores", "Outfitters", "Market"]),
    ("Education", ["Learning", "Academy", "Education", "Schools"]),
    ("Energy", ["Energy", "Power", "Solar", "Utilities"]),
    ("Media", ["Media", "Studios", "Publishing", "Broadcasting"]),
    ("Professional services", ["Consulting", "Advisors", "Partners", "Associates"]),
    ("Telecommunications", ["Telecom", "Networks", "Communications", "Connect"]),
    ("Hospitality", ["Hotels", "Hospitality", "Travel", "Resorts"]),
    ("Insurance", ["Insurance", "Assurance", "Underwriters", "Mutual"]),
    ("Construction", ["Construction", "Builders", "Engineering", "Infrastructure"]),
    ("Food & beverage", ["Foods", "Brewing", "Kitchens", "Farms"]),
    ("Biotech", ["Biotech", "Therapeutics", "Biosciences", "Genomics"]),
]
NAME_HEADS = (
    "North South East West Blue Silver Golden Red Iron Bright Clear Green High Summit Stone Oak "
    "Pine River Lake Sun Star Cloud Harbor Granite Maple Cedar Falcon Eagle Crystal Swift"
).split()
NAME_TAILS = (
    "wind peak field bridge gate point line wave path ridge view crest brook haven light water "
    "ford mark"
).split()
SURNAMES = (
    "Hartley Morgan Fischer Okafor Lindqvist Tanaka Moreau Castillo Novak Brennan Whitaker "
    "Ashford Kowalski Delgado Vandenberg Sorensen Abernathy Rossi Mbeki Hollis"
).split()
LEGAL_FORMS = [""] * 5 + "Inc. Ltd GmbH Group Co. LLC AG S.A. B.V. plc Holdings AB Oy".split()
LONG_TAILS = [
    "International Holdings",
    "Worldwide Services Group",
    "Global Operations & Consulting",
    "International Holdings Corporation",
    "Group of Companies (Europe, Middle East & Africa)",
]
REGIONS = "EMEA Americas APAC Nordics DACH UK Benelux Iberia LATAM ANZ".split()

# ---------------------------------------------------------------- signal texts

TICKET_SUBJECTS = {
    "bug": [
        "Export to CSV fails for large reports",
        "Dashboard widgets show stale data",
        "Error 500 when saving a filter",
        "Notifications sent twice",
    ],
    "how-to": [
        "How do I set up SSO for a new team?",
        "Where can I change the fiscal year?",
        "How to bulk-import users",
        "Question about report scheduling",
    ],
    "access": [
        "User locked out after password reset",
        "New admin cannot see billing",
        "Request to remove a leaver's access",
        "SSO login loop for some users",
    ],
    "performance": [
        "Reports take minutes to load",
        "Search is slow since last release",
        "Timeouts on the API in the morning",
        "Mobile app slow to sync",
    ],
    "integration": [
        "Salesforce sync stopped overnight",
        "Webhook deliveries failing",
        "Slack integration posts to the wrong channel",
        "API rate limit questions",
    ],
    "billing": [
        "Invoice shows the wrong number of seats",
        "Question about VAT on the invoice",
        "Please update our billing contact",
        "Credit note for unused seats",
    ],
}
TICKET_CATEGORIES = list(TICKET_SUBJECTS)
TICKET_CATEGORY_SHARES = [0.28, 0.25, 0.14, 0.13, 0.12, 0.08]
NPS_COMMENTS = {
    "detractor": [
        "Too many bugs lately.",
        "Support takes too long to answer.",
        "Hard to get my team to use it.",
        "Not sure we get value for the price.",
    ],
    "passive": [
        "Does the job.",
        "Good, but reporting could be better.",
        "Fine for now; the mobile app needs work.",
    ],
    "promoter": [
        "Our team loves it.",
        "Great support, quick answers.",
        "Saves us hours every week.",
        "Could not run our process without it.",
    ],
}
MEETING_KINDS = ["call", "meeting", "qbr"]
REVIEW_SITES = ["G2", "Capterra", "TrustRadius", "Gartner Peer Insights"]
REVIEW_TITLES = {
    1: "Disappointing",
    2: "Not there yet",
    3: "Decent tool",
    4: "Solid and reliable",
    5: "Indispensable for our team",
}
SOCIAL_CHANNELS = ["LinkedIn", "X", "Reddit", "YouTube", "Blog"]
EXPANSION_TOPICS = [
    "Adding the finance team",
    "More seats for the EMEA office",
    "Upgrade to the next plan",
    "New use case: partner portal",
    "Rolling out to a second business unit",
]

# ---------------------------------------------------------------- notes

CONTACTS = (
    "Anna Ben Chloé David Elif Farah George Hiro Ines Jamal Katja Liam Maya Nils Olga Pedro "
    "Rosa Samir Tess Yusuf"
).split()
CONTACT_ROLES = [
    "VP Operations",
    "IT admin",
    "Head of Customer Support",
    "CFO",
    "COO",
    "project lead",
    "Head of Sales Ops",
    "CTO",
]
FEATURES = [
    "the reporting module",
    "SSO",
    "the API",
    "automated workflows",
    "the mobile app",
    "dashboards",
    "the Salesforce integration",
]
TEAMS = ["finance", "support", "sales", "operations", "marketing", "the EMEA office"]
ISSUES = [
    "slow reports",
    "a billing error",
    "open support tickets",
    "the failed data sync",
    "low adoption in their sales team",
    "the price increase",
]
NOTE_TEMPLATES = {
    ("call", "good"): [
        "Check-in call with {contact} ({role}). Rollout on track; they want to try {feature} "
        "next quarter.",
        "Call with {contact}: very happy with {feature}. Asked about adding {team}.",
    ],
    ("call", "mid"): [
        "Call with {contact} ({role}). Usage is steady; agreed an enablement session on "
        "{feature} for {team}.",
        "Quick call with {contact} about {issue}; a fix is planned, will confirm by e-mail.",
    ],
    ("call", "bad"): [
        "Call with {contact} ({role}): frustrated about {issue}. Agreed a recovery plan, "
        "follow-up in two weeks.",
        "{contact} did not join the scheduled call again. Left a voicemail about {issue}.",
    ],
    ("meeting", "good"): [
        "Quarterly business review with {contact} and team. KPIs ahead of plan; discussed "
        "expanding to {team}.",
        "On-site workshop with {contact} ({role}) on {feature}. Strong engagement.",
    ],
    ("meeting", "mid"): [
        "Business review with {contact} ({role}). Half of the success KPIs met; next step: "
        "{feature} for {team}.",
    ],
    ("meeting", "bad"): [
        "Escalation meeting with {contact} ({role}) about {issue}. Their sponsor asked for a "
        "weekly status update.",
        "Business review with {contact}: KPIs behind plan, renewal at risk unless {issue} is "
        "solved.",
    ],
    ("note", "good"): [
        "{contact} shared positive feedback from {team} about {feature}.",
        "{contact} ({role}) agreed to be a reference customer.",
    ],
    ("note", "mid"): [
        "{contact} asked for training material on {feature}.",
        "New {role} at the customer: {contact}. Intro call to be scheduled.",
    ],
    ("note", "bad"): [
        "Risk: {contact} mentioned a budget review; usage in {team} has dropped. Plan: "
        "enablement on {feature}.",
        "Champion left the company. {contact} ({role}) is the new contact; relationship to "
        "rebuild.",
    ],
}


class DemoError(ValueError):
    """Bad arguments or a database the generator cannot run on; the message says which."""


@dataclass
class DemoResult:
    accounts: int = 0
    churned: int = 0
    signals: int = 0
    notes: int = 0
    elapsed_s: float = 0.0
    signal_write_s: float = 0.0
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    users: list[tuple[str, str, str, bool]] = field(default_factory=list)  # name, pw, role, new
    deleted_accounts: int = 0
    truth: dict[str, dict] = field(default_factory=dict)
    truth_path: Path | None = None

    @property
    def churn_rate(self) -> float:
        """Share of the accounts that churned during the history."""
        return self.churned / self.accounts if self.accounts else 0.0

    @property
    def signals_per_s(self) -> float:
        return self.signals / self.signal_write_s if self.signal_write_s else 0.0


def check_arguments(
    *, accounts: int, days: int, seed: int = 0, signals_per_account: int | None = None
) -> None:
    """Raise DemoError, naming the command-line option, for an argument out of range."""
    if not 1 <= accounts <= MAX_ACCOUNTS:
        raise DemoError(f"--accounts must be between 1 and {MAX_ACCOUNTS} (got {accounts})")
    if not 1 <= days <= MAX_DAYS:
        raise DemoError(f"--days must be between 1 and {MAX_DAYS} (got {days})")
    if seed < 0:
        raise DemoError(f"--seed must be 0 or more (got {seed})")
    if signals_per_account is not None and not (
        1 <= signals_per_account <= MAX_SIGNALS_PER_ACCOUNT
    ):
        raise DemoError(
            f"--signals-per-account must be between 1 and {MAX_SIGNALS_PER_ACCOUNT} "
            f"(got {signals_per_account})"
        )


def demo_accounts():
    return Account.objects.filter(external_id__startswith=ACCOUNT_PREFIX)


def generate(
    *,
    accounts: int = 2000,
    days: int = 365,
    seed: int = 42,
    end_date: dt.date | None = None,
    signals_per_account: int | None = None,
    reset: bool = False,
    truth_path: Path | str | None = DEFAULT_TRUTH_PATH,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Write a demo data set in one transaction and return what was written.

    signals_per_account, if given, scales every signal's frequency so an account gets about
    that many signals over the `days` of history (the values keep their scales). truth_path
    None writes no truth file. Raises DemoError for bad arguments, or when accounts exist
    and reset is false.

    When the signal table is empty (a fresh database, or --reset when all accounts were
    demo accounts) the signals are written without the table's secondary indexes (and, on
    PostgreSQL, its unique and foreign-key constraints), which are rebuilt before COMMIT;
    the table is locked until then. Otherwise they go into the indexed table.
    """
    check_arguments(
        accounts=accounts, days=days, seed=seed, signals_per_account=signals_per_account
    )
    say = progress or (lambda message: None)
    started = time.perf_counter()
    end_date = end_date or timezone.localdate()
    # The history ends now: nothing is observed in the future of the machine's clock.
    cap_epoch = min(_epoch(end_date) + 86400 - 1, int(time.time()))
    result = DemoResult(end_date=end_date, start_date=end_date - dt.timedelta(days=days - 1))

    with transaction.atomic(), _sqlite_cache():
        if connection.vendor == "postgresql":
            # Check foreign keys row by row as we write, not all at COMMIT: each phase's
            # time then includes its checks, nothing queues up on the server, and a
            # constraint can be dropped for the signals' bulk load (no pending checks).
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        rebuild: list[str] = []  # statements that rebuild the signal table's indexes
        if Account.objects.exists():
            if not reset:
                raise DemoError(
                    f"The database already has {Account.objects.count():,} accounts; pass "
                    f"--reset to delete the demo accounts (external ids {ACCOUNT_PREFIX}…) and "
                    "their signals and notes first."
                )
            result.deleted_accounts, rebuild = _delete_demo_accounts()
            say(f"deleted {result.deleted_accounts:,} demo accounts and their signals and notes")
        catalogue = _Catalogue.load()
        owners, result.users = _ensure_users()
        plan = _Plan.draw(
            accounts=accounts,
            days=days,
            seed=seed,
            end_date=end_date,
            signals_per_account=signals_per_account,
            catalogue=catalogue,
            owners=owners,
        )
        say(
            f"{accounts:,} accounts × {days} days ({result.start_date} → {end_date}), seed "
            f"{seed}, {plan.chunks} chunk(s) of up to {plan.chunk_size:,} accounts"
        )
        writer = _Writer()
        truth: dict[str, dict] = {}
        accounts_started = time.perf_counter()
        for chunk in range(plan.chunks):
            n_notes, n_churned = _write_accounts(plan, chunk, writer, truth, cap_epoch)
            result.notes += n_notes
            result.churned += n_churned
            if _report(chunk, plan.chunks):
                say(f"  accounts {plan.chunk_end(chunk):,}/{accounts:,}")
        result.accounts = accounts
        say(
            f"accounts written: {accounts:,} ({result.churned:,} churned) and {result.notes:,} "
            f"notes in {time.perf_counter() - accounts_started:.1f} s; writing signals …"
        )
        signals_started = time.perf_counter()
        if not rebuild and not Signal.objects.exists():
            rebuild = _drop_signal_indexes()
        with _SignalSink(say) as write_signals:
            for chunk in range(plan.chunks):
                result.signals += write_signals(*_signals(plan, chunk, cap_epoch))
                if _report(chunk, plan.chunks):
                    say(
                        f"  signals generated: {result.signals:,} (accounts "
                        f"{plan.chunk_end(chunk):,}/{accounts:,})"
                    )
        if rebuild:
            _rebuild_signal_indexes(rebuild, say)
        result.signal_write_s = time.perf_counter() - signals_started

    result.truth = truth
    if truth_path is not None:
        result.truth_path = _write_truth(Path(truth_path), truth)
    result.elapsed_s = time.perf_counter() - started
    return result


@contextmanager
def _sqlite_cache(kib: int = 256 * 1024) -> Iterator[None]:
    """SQLite's default 2 MB page cache halves the insert rate into the indexed signal table:
    use a bigger one for this connection while generating."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = -{kib}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


def _report(chunk: int, chunks: int) -> bool:
    """About ten progress lines, whatever the number of chunks."""
    return chunk == chunks - 1 or (chunk + 1) % max(1, chunks // 10) == 0


def _epoch(day: dt.date) -> int:
    return calendar.timegm(day.timetuple())


def _delete_demo_accounts() -> tuple[int, list[str]]:
    """Delete the demo accounts and what hangs off them: (accounts deleted, the statements
    that rebuild the signal table's indexes if they were dropped to empty it quickly)."""
    ids = demo_accounts().values("id")
    rebuild = []
    if _only_demo_signals():
        # Empty the whole table, without its indexes: much faster, and no dead rows left
        # behind for the bulk load that follows.
        rebuild = _drop_signal_indexes()
        table = connection.ops.quote_name(Signal._meta.db_table)
        with connection.cursor() as cursor:
            verb = "TRUNCATE" if connection.vendor == "postgresql" else "DELETE FROM"
            cursor.execute(f"{verb} {table}")
    else:
        Signal.objects.filter(account_id__in=ids).delete()
    Note.objects.filter(account_id__in=ids).delete()
    StageChange.objects.filter(account_id__in=ids).delete()
    deleted, per_model = demo_accounts().delete()  # the rest (e.g. scores) cascades
    return per_model.get(Account._meta.label, 0), rebuild


def _only_demo_signals() -> bool:
    """Every account is a demo account, and no other table refers to signals."""
    referred = any(
        field.is_relation and field.auto_created and not field.concrete
        for field in Signal._meta.get_fields()
    )
    return (
        not referred
        and not Account.objects.exclude(external_id__startswith=ACCOUNT_PREFIX).exists()
    )


def _drop_signal_indexes() -> list[str]:
    """Drop the signal table's secondary indexes (and on PostgreSQL its unique and foreign
    key constraints) before a bulk load into the empty table; return what rebuilds them.

    PostgreSQL's "Populating a Database" advice: building an index once over all rows is
    2-3 times faster than updating it row by row (SQLite likewise). The DDL is part of the
    transaction, so a failure rolls it back too; the table stays locked until COMMIT.
    """
    quote = connection.ops.quote_name
    table = Signal._meta.db_table
    drop, restore = [], []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype IN ('u', 'f') "
                "ORDER BY contype DESC, conname",
                [table],
            )
            for name, definition in cursor.fetchall():
                drop.append(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
                restore.append(
                    f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}"
                )
            cursor.execute(
                "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint k "
                "WHERE k.conrelid = i.indrelid AND k.conindid = i.indexrelid) "
                "ORDER BY c.relname",
                [table],
            )
        elif connection.vendor == "sqlite":
            # Indexes only: the unique constraint is part of the table's definition.
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = %s AND sql IS NOT NULL ORDER BY name",
                [table],
            )
        else:
            return []
        indexes = cursor.fetchall()
        drop += [f"DROP INDEX {quote(name)}" for name, _definition in indexes]
        for statement in drop:
            cursor.execute(statement)
    # Indexes first, then the unique constraint, then the foreign keys.
    return [definition for _name, definition in indexes] + restore


def _rebuild_signal_indexes(statements: list[str], say: Callable[[str], None]) -> None:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for statement in statements:
            cursor.execute(statement)
    say(
        f"  rebuilt {len(statements)} indexes and constraints of the signal table in "
        f"{time.perf_counter() - started:.1f} s"
    )


def _ensure_users() -> tuple[list[int | None], list[tuple[str, str, str, bool]]]:
    """The demo login users (created if missing); returns the CSMs' ids and the credentials."""
    User = get_user_model()
    groups = {group.name: group for group in Group.objects.filter(name__in=DEMO_PASSWORDS)}
    missing = set(DEMO_PASSWORDS) - set(groups)
    if missing:
        raise DemoError(f"The role groups {sorted(missing)} are missing; run migrate first.")
    existing = {
        user.username: user
        for user in User.objects.filter(username__in=[row[0] for row in DEMO_USERS])
    }
    hashes: dict[str, str] = {}  # one hash per password: hashing is deliberately slow
    csm_ids: list[int | None] = []
    credentials = []
    for username, role, first, last in DEMO_USERS:
        user = existing.get(username)
        created = user is None
        if created:
            if role not in hashes:
                hashes[role] = make_password(DEMO_PASSWORDS[role])
            user = User.objects.create(
                username=username,
                first_name=first,
                last_name=last,
                email=f"{username}@healthboard.example",
                password=hashes[role],
                is_staff=role == ADMIN,
                is_superuser=role == ADMIN,
            )
        user.groups.add(groups[role])
        credentials.append((username, DEMO_PASSWORDS[role], role, created))
        if role == CSM:
            csm_ids.append(user.pk)
    return csm_ids + [None], credentials


@dataclass
class _Catalogue:
    metric_ids: np.ndarray  # in METRIC_KEYS order
    segment_ids: list[int]  # in SEGMENT_SLUGS order
    stage_ids: dict[str, int]  # slug: id

    @classmethod
    def load(cls) -> _Catalogue:
        metrics = dict(Metric.objects.values_list("key", "id"))
        segments = dict(Segment.objects.values_list("slug", "id"))
        stages = dict(JourneyStage.objects.values_list("slug", "id"))
        missing = (
            [key for key in METRIC_KEYS if key not in metrics]
            + [slug for slug in SEGMENT_SLUGS if slug not in segments]
            + [slug for slug in STAGE_ORDER if slug not in stages]
        )
        if missing:
            raise DemoError(
                f"The catalogue is incomplete (missing {', '.join(missing)}); run migrate first."
            )
        return cls(
            metric_ids=np.array([metrics[key] for key in METRIC_KEYS], dtype=np.int64),
            segment_ids=[segments[slug] for slug in SEGMENT_SLUGS],
            stage_ids=stages,
        )


STAGE_ORDER = ["onboarding", "adoption", "value", "renewal", "advocacy"]


# ---------------------------------------------------------------- the plan: account attributes


@dataclass
class _Plan:
    """Everything drawn up front from the seed, one array entry per account."""

    seed: int
    days: int
    end_date: dt.date
    start_date: dt.date
    scale: float  # frequency multiplier (signals_per_account)
    chunk_size: int
    catalogue: _Catalogue
    owners: list[int | None]
    ext_ids: list[str]
    names: list[str]
    industries: list[str]
    segment: np.ndarray  # index into SEGMENT_SLUGS
    plans: list[str]
    seats: np.ndarray
    arr: np.ndarray
    owner: np.ndarray  # index into owners
    start_day: np.ndarray  # day index of the start date (negative: before the history)
    level: np.ndarray
    drift: np.ndarray  # health per day, from trend_start on
    trend_start: np.ndarray  # day index
    # filled in by _write_accounts, read by _signals
    account_ids: np.ndarray  # database ids
    active_to: np.ndarray  # day index of the last day (the churn date, or the end date)

    @property
    def accounts(self) -> int:
        return self.seats.size

    @property
    def chunks(self) -> int:
        return -(-self.accounts // self.chunk_size)

    def chunk_slice(self, chunk: int) -> slice:
        return slice(chunk * self.chunk_size, self.chunk_end(chunk))

    def chunk_end(self, chunk: int) -> int:
        return min(self.accounts, (chunk + 1) * self.chunk_size)

    @classmethod
    def draw(
        cls,
        *,
        accounts: int,
        days: int,
        seed: int,
        end_date: dt.date,
        signals_per_account: int | None,
        catalogue: _Catalogue,
        owners: list[int | None],
    ) -> _Plan:
        rng = np.random.default_rng([seed, 0])
        n = accounts
        segment = rng.choice(len(SEGMENTS), size=n, p=[spec[0] for spec in SEGMENTS.values()])
        seats = np.empty(n, dtype=np.int64)
        plans = np.empty(n, dtype=object)
        price = np.empty(n)
        unit = rng.random(n)
        plan_draw = rng.random(n)
        for index, (_share, (low, high), plan_shares) in enumerate(SEGMENTS.values()):
            mask = segment == index
            # log-uniform: many small, few large
            seats[mask] = np.round(np.exp(np.log(low) + unit[mask] * np.log(high / low)))
            names = [name for name, _ in plan_shares]
            edges = np.cumsum([share for _, share in plan_shares])
            chosen = np.minimum(np.searchsorted(edges, plan_draw[mask]), len(names) - 1)
            plans[mask] = np.array(names, dtype=object)[chosen]
            price[mask] = [PLAN_PRICES[name] for name in plans[mask]]
        discount = 1 - 0.25 * np.clip(np.log10(seats) / np.log10(2000), 0, 1)
        arr = np.round(seats * price * discount * rng.uniform(0.9, 1.1, n), -2)
        arr = np.maximum(arr, 1000.0)

        industry = rng.integers(0, len(INDUSTRIES), n)
        names = _company_names(rng, industry)
        owner = rng.choice(len(OWNER_SHARES), size=n, p=OWNER_SHARES)

        # Some accounts join during the history (~18 % a year), the others up to 6 years before.
        joins = rng.random(n) < min(0.9, 0.18 * days / 365)
        start_day = np.where(joins, rng.integers(0, days, n), -rng.integers(1, 6 * 365, n)).astype(
            np.int64
        )

        segment_offset = np.array([SEGMENT_HEALTH[slug] for slug in SEGMENT_SLUGS])[segment]
        level = np.clip(rng.beta(*LEVEL_BETA, n) + segment_offset, 0.05, 0.97)
        improving = rng.random(n) < IMPROVING_SHARE
        decline_start = rng.exponential(365 / DECLINES_PER_YEAR, n) - DECLINE_HEAD_START
        trend_start = np.where(improving, 0.0, decline_start)
        drift = np.where(improving, rng.uniform(0.1, 0.3, n), -rng.uniform(0.3, 0.8, n)) / 365

        width = max(6, len(str(n)))
        per_year = _expected_per_year(seats)
        scale = 1.0
        if signals_per_account is not None:
            scale = signals_per_account / (per_year * days / 365)
        per_account = per_year * scale * days / 365
        chunk_size = int(np.clip(250_000 / max(per_account, 1.0), 50, 5000))
        return cls(
            seed=seed,
            days=days,
            end_date=end_date,
            start_date=end_date - dt.timedelta(days=days - 1),
            scale=scale,
            chunk_size=chunk_size,
            catalogue=catalogue,
            owners=owners,
            ext_ids=[f"{ACCOUNT_PREFIX}{i:0{width}d}" for i in range(1, n + 1)],
            names=names,
            industries=[INDUSTRIES[i][0] for i in industry],
            segment=segment,
            plans=list(plans),
            seats=seats,
            arr=arr,
            owner=owner,
            start_day=start_day,
            level=level,
            drift=drift,
            trend_start=trend_start,
            account_ids=np.zeros(n, dtype=np.int64),
            active_to=np.zeros(n, dtype=np.int64),
        )


def _company_names(rng: np.random.Generator, industry: np.ndarray) -> list[str]:
    n = industry.size
    head = rng.integers(0, len(NAME_HEADS), n)
    tail = rng.integers(0, len(NAME_TAILS), n)
    surname = rng.integers(0, len(SURNAMES), (2, n))
    style = rng.random(n)
    core = rng.integers(0, 4, (2, n))
    legal = rng.integers(0, len(LEGAL_FORMS), n)
    long_tail = rng.integers(0, len(LONG_TAILS), n)
    long = rng.random(n) < 0.04
    seen: dict[str, int] = {}
    names = []
    for i in range(n):
        if style[i] < 0.7:
            prefix = NAME_HEADS[head[i]] + NAME_TAILS[tail[i]]
        elif style[i] < 0.9:
            prefix = SURNAMES[surname[0, i]]
        else:
            prefix = f"{SURNAMES[surname[0, i]]} & {SURNAMES[surname[1, i]]}"
        words = INDUSTRIES[industry[i]][1]
        if long[i]:
            second = words[(core[0, i] + 1 + core[1, i] % 3) % 4]
            name = f"{prefix} {words[core[0, i]]} & {second} {LONG_TAILS[long_tail[i]]}"
        else:
            name = f"{prefix} {words[core[0, i]]} {LEGAL_FORMS[legal[i]]}".rstrip()
        count = seen.get(name, 0)
        seen[name] = count + 1
        if count:  # the same company again: another regional contract
            name += f" ({REGIONS[count - 1]})" if count <= len(REGIONS) else f" {count + 1}"
        names.append(name)
    return names


def _expected_per_year(seats: np.ndarray, h: float = 0.65) -> float:
    """Average signals per account and year at the default frequencies (for scaling)."""
    tickets = 52.18 * np.maximum(seats / 200 * (0.3 + 1.5 * (1 - h)), 0.05).mean()
    respondents = 1 + 4 * _respondent_share(seats).mean()
    return float(
        5 * 52.18  # weekly: logins, active users, utilisation, complaints, e-mail opens
        + 3 * 12  # monthly: feature adoption, invoice days late, spend
        + 3 * 4
        + 4 * respondents  # quarterly: CES, happiness, KPI; NPS respondents
        + tickets * 2.5  # ticket, its resolution time, CSAT after half of them
        + 12 * (0.3 + 2.5 * h)
        + 12 * 0.6 * h**2
        + 12 * 0.5 * h**2  # meetings, talks, mentions
        + 3 * h**3
        + (1 + 2 * h)  # referrals, reviews
    )


def _respondent_share(seats: np.ndarray) -> np.ndarray:
    return np.clip((np.log10(seats) - 0.5) / 2.8, 0.05, 0.95)


# ---------------------------------------------------------------- hidden health


def simulate_health(
    rng: np.random.Generator,
    level: np.ndarray,
    drift: np.ndarray,
    trend_start: np.ndarray,
    start_day: np.ndarray,
    days: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Daily hidden health (accounts × days, in [0, 1]) and each account's churn day (-1: none).

    h = level + drift·max(0, t − trend_start) + x, where x is AR(1) with occasional shocks.
    An account churns on the day its health has been below CHURN_LEVEL for CHURN_DAYS days in
    a row (days before its start date do not count).
    """
    n = level.size
    noise = rng.standard_normal((days, n)) * DAILY_NOISE
    shocked = rng.random((days, n)) < SHOCK_RATE
    rows, cols = np.nonzero(shocked)
    sizes = np.where(
        rng.random(rows.size) < 0.8,
        -rng.uniform(0.1, 0.35, rows.size),
        rng.uniform(0.05, 0.2, rows.size),
    )
    noise[rows, cols] += sizes
    noise[0] = rng.standard_normal(n) * DAILY_NOISE / np.sqrt(1 - PERSISTENCE**2)
    health = np.empty((days, n))
    low_run = np.zeros(n, dtype=np.int64)
    churn_day = np.full(n, -1, dtype=np.int64)
    x = np.zeros(n)
    for t in range(days):
        x = PERSISTENCE * x + noise[t]
        h = np.clip(level + drift * np.maximum(0.0, t - trend_start) + x, 0.0, 1.0)
        health[t] = h
        low_run = np.where((h < CHURN_LEVEL) & (start_day <= t), low_run + 1, 0)
        churn_day[(low_run >= CHURN_DAYS) & (churn_day < 0)] = t
    return np.ascontiguousarray(health.T), churn_day


def _chunk_health(plan: _Plan, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    part = plan.chunk_slice(chunk)
    rng = np.random.default_rng([plan.seed, 1, chunk])
    return simulate_health(
        rng,
        plan.level[part],
        plan.drift[part],
        plan.trend_start[part],
        plan.start_day[part],
        plan.days,
    )


# ---------------------------------------------------------------- accounts, stages, notes


def _anniversary(start: dt.date, year: int) -> dt.date:
    day = min(start.day, calendar.monthrange(year, start.month)[1])
    return dt.date(year, start.month, day)


def _next_anniversary(start: dt.date, after: dt.date) -> dt.date:
    """The first yearly anniversary of `start` strictly after `after`."""
    candidate = _anniversary(start, after.year)
    if candidate <= after:
        candidate = _anniversary(start, after.year + 1)
    return candidate


def _write_accounts(
    plan: _Plan, chunk: int, writer: _Writer, truth: dict, cap_epoch: int
) -> tuple[int, int]:
    """Accounts, their current stage (and its StageChange) and notes for one chunk."""
    part = plan.chunk_slice(chunk)
    first = part.start
    health, churn_day = _chunk_health(plan, chunk)
    n = health.shape[0]
    rng = np.random.default_rng([plan.seed, 3, chunk])
    days = plan.days
    active_from = np.maximum(plan.start_day[part], 0)
    active_to = np.where(churn_day >= 0, churn_day, days - 1)
    plan.active_to[part] = active_to
    as_of_h = health[np.arange(n), active_to]
    stage_draw = rng.random((2, n))

    account_rows, stage_rows, truth_rows = [], [], []
    for i in range(n):
        g = first + i
        start = plan.start_date + dt.timedelta(days=int(plan.start_day[g]))
        as_of = plan.start_date + dt.timedelta(days=int(active_to[i]))
        churned = churn_day[i] >= 0
        renewal = _next_anniversary(start, as_of)
        h_now = float(as_of_h[i])
        window = health[i, max(active_from[i], active_to[i] - 89) : active_to[i] + 1]
        stage, since, previous = _stage(start, as_of, renewal, h_now, stage_draw[:, i])
        ext_id = plan.ext_ids[g]
        truth_rows.append(
            (
                ext_id,
                {
                    "health_now": round(h_now, 4),
                    "health_min_90d": round(float(window.min()), 4),
                    "churned": bool(churned),
                    "churn_date": as_of.isoformat() if churned else None,
                    "as_of": as_of.isoformat(),
                },
            )
        )
        owner = plan.owners[plan.owner[g]]
        account_rows.append(
            (
                plan.names[g],
                ext_id,
                owner,
                plan.catalogue.segment_ids[plan.segment[g]],
                plan.industries[g],
                f"{plan.arr[g]:.2f}",
                plan.plans[g],
                int(plan.seats[g]),
                start.isoformat(),
                renewal.isoformat(),
                plan.catalogue.stage_ids[stage],
                since.isoformat(),
                "churned" if churned else "active",
                as_of.isoformat() if churned else None,
            )
        )
        stage_rows.append((previous, stage, since, owner))

    writer.insert(
        Account,
        [
            "name",
            "external_id",
            "owner",
            "segment",
            "industry",
            "arr",
            "plan",
            "seats",
            "start_date",
            "renewal_date",
            "stage",
            "stage_since",
            "status",
            "churn_date",
        ],
        account_rows,
    )
    ids = writer.account_ids(plan.ext_ids[first], plan.ext_ids[part.stop - 1])
    plan.account_ids[part] = [ids[ext_id] for ext_id in plan.ext_ids[part]]
    truth.update(truth_rows)

    stage_ids = plan.catalogue.stage_ids
    change_seconds = rng.integers(8 * 3600, 18 * 3600, n)
    writer.insert(
        StageChange,
        ["account", "from_stage", "to_stage", "changed_at", "changed_by"],
        [
            (
                int(plan.account_ids[first + i]),
                stage_ids[previous] if previous else None,
                stage_ids[stage],
                writer.timestamp(min(cap_epoch, _epoch(since) + int(change_seconds[i]))),
                owner,
            )
            for i, (previous, stage, since, owner) in enumerate(stage_rows)
        ],
    )
    notes = _notes(plan, part, rng, health, active_from, active_to, cap_epoch, writer)
    writer.insert(Note, ["account", "author", "kind", "body", "created_at"], notes)
    return len(notes), int((churn_day >= 0).sum())


def _stage(
    start: dt.date, as_of: dt.date, renewal: dt.date, h: float, draw: np.ndarray
) -> tuple[str, dt.date, str | None]:
    """Journey stage on `as_of` from tenure, renewal and health: (stage, since, previous)."""
    tenure = (as_of - start).days
    last_renewal = max(start, _anniversary(start, renewal.year - 1))
    since_renewal = (as_of - last_renewal).days
    if tenure < 45:
        return "onboarding", start, None
    if (renewal - as_of).days <= 90 and tenure >= 180:
        return "renewal", max(start, renewal - dt.timedelta(days=90)), "value"
    if tenure < 135:
        return "adoption", start + dt.timedelta(days=45), "onboarding"
    if h >= 0.72 and tenure >= 365:
        offset = int(draw[0] * since_renewal / 2)
        return "advocacy", last_renewal + dt.timedelta(days=offset), "renewal"
    if h < 0.4:  # struggling: back to adoption work
        back = 14 + int(draw[1] * 106)
        since = max(start + dt.timedelta(days=135), as_of - dt.timedelta(days=back))
        return "adoption", min(since, as_of), "value"
    if tenure < 365:
        return "value", start + dt.timedelta(days=135), "adoption"
    return "value", min(as_of, last_renewal + dt.timedelta(days=int(draw[0] * 14))), "renewal"


def _notes(
    plan: _Plan,
    part: slice,
    rng: np.random.Generator,
    health: np.ndarray,
    active_from: np.ndarray,
    active_to: np.ndarray,
    cap_epoch: int,
    writer: _Writer,
) -> list[tuple]:
    n = health.shape[0]
    counts = 1 + rng.poisson(2.0, n)
    acct = np.repeat(np.arange(n), counts)
    span = active_to[acct] - active_from[acct] + 1
    day = active_from[acct] + (rng.random(acct.size) * span).astype(np.int64)
    seconds = rng.integers(8 * 3600, 19 * 3600, acct.size)
    kind = rng.choice(3, size=acct.size, p=[0.4, 0.35, 0.25])
    picks = rng.integers(0, 1 << 30, (6, acct.size))
    h = health[acct, day]
    rows = []
    base = _epoch(plan.start_date)
    for j in range(acct.size):
        at = base + int(day[j]) * 86400 + int(seconds[j])
        if at > cap_epoch:
            continue
        mood = "good" if h[j] >= 0.6 else "mid" if h[j] >= 0.4 else "bad"
        note_kind = ("note", "call", "meeting")[kind[j]]
        templates = NOTE_TEMPLATES[(note_kind, mood)]
        body = templates[picks[0, j] % len(templates)].format(
            contact=CONTACTS[picks[1, j] % len(CONTACTS)],
            role=CONTACT_ROLES[picks[2, j] % len(CONTACT_ROLES)],
            feature=FEATURES[picks[3, j] % len(FEATURES)],
            team=TEAMS[picks[4, j] % len(TEAMS)],
            issue=ISSUES[picks[5, j] % len(ISSUES)],
        )
        g = part.start + int(acct[j])
        rows.append(
            (
                int(plan.account_ids[g]),
                plan.owners[plan.owner[g]],
                note_kind,
                body,
                writer.timestamp(at),
            )
        )
    return rows


# ---------------------------------------------------------------- signals


class _Strings:
    """Category and text columns as codes into one table of strings (code 0 is "")."""

    def __init__(self) -> None:
        self.table = [""]
        self.codes: dict[str, int] = {"": 0}

    def code(self, text: str) -> int:
        if text not in self.codes:
            self.codes[text] = len(self.table)
            self.table.append(text)
        return self.codes[text]

    def codes_for(self, texts: list[str]) -> np.ndarray:
        return np.array([self.code(text) for text in texts], dtype=np.int64)


STRINGS = _Strings()
TICKET_CATEGORY_CODES = STRINGS.codes_for(TICKET_CATEGORIES)
TICKET_SUBJECT_CODES = np.array(
    [STRINGS.codes_for(TICKET_SUBJECTS[cat]) for cat in TICKET_CATEGORIES]
)  # category × 4 subjects
NPS_COMMENT_CODES = {key: STRINGS.codes_for(texts) for key, texts in NPS_COMMENTS.items()}
MEETING_CODES = STRINGS.codes_for(MEETING_KINDS)
REVIEW_SITE_CODES = STRINGS.codes_for(REVIEW_SITES)
REVIEW_TITLE_CODES = STRINGS.codes_for([REVIEW_TITLES[rating] for rating in range(1, 6)])
SOCIAL_CODES = STRINGS.codes_for(SOCIAL_CHANNELS)
EXPANSION_CODES = STRINGS.codes_for(EXPANSION_TOPICS)
STRING_TABLE = np.array(STRINGS.table, dtype=object)
METRIC_INDEX = {key: index for index, key in enumerate(METRIC_KEYS)}


class _Events:
    """Signals of one chunk, collected as numpy columns."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, key, acct, at, value, category=None, text=None) -> None:
        size = acct.size
        zeros = np.zeros(size, dtype=np.int64)
        self.parts.append(
            (
                np.full(size, METRIC_INDEX[key], dtype=np.int64),
                acct,
                at.astype(np.int64),
                np.asarray(value, dtype=np.float64),
                zeros if category is None else np.asarray(category, dtype=np.int64),
                zeros if text is None else np.asarray(text, dtype=np.int64),
            )
        )

    def columns(self) -> tuple[np.ndarray, ...]:
        return tuple(np.concatenate(column) for column in zip(*self.parts, strict=True))


def _signals(plan: _Plan, chunk: int, cap_epoch: int) -> tuple:
    """One chunk's signals, sorted by (account, metric, time), as columns ready to write."""
    part = plan.chunk_slice(chunk)
    health, _churn_day = _chunk_health(plan, chunk)
    rng = np.random.default_rng([plan.seed, 2, chunk])
    n, days = health.shape
    f = plan.scale
    seats = plan.seats[part].astype(np.float64)
    arr = plan.arr[part]
    active_from = np.maximum(plan.start_day[part], 0)
    active_to = plan.active_to[part]
    base = _epoch(plan.start_date)
    day_index = np.arange(days)
    active = (day_index >= active_from[:, None]) & (day_index <= active_to[:, None])
    ev = _Events()

    def periodic(period: float) -> tuple[np.ndarray, np.ndarray]:
        """Accounts and days of events every `period` days, at a random phase per account."""
        period = period / f
        phase = rng.uniform(0, period, n)
        counts = np.maximum(np.floor((days - phase) / period).astype(np.int64) + 1, 0)
        acct = np.repeat(np.arange(n), counts)
        k = np.arange(acct.size) - np.repeat(np.cumsum(counts) - counts, counts)
        day = (phase[acct] + k * period).astype(np.int64)
        keep = (day >= active_from[acct]) & (day <= active_to[acct])
        return acct[keep], day[keep]

    def poisson(rate_per_day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        counts = rng.poisson(np.where(active, rate_per_day * f, 0.0))
        acct, day = np.nonzero(counts)
        repeats = counts[acct, day]
        return np.repeat(acct, repeats), np.repeat(day, repeats)

    def at(day: np.ndarray, lo_hour: float = 0, hi_hour: float = 24) -> np.ndarray:
        return base + day * 86400 + rng.integers(int(lo_hour * 3600), int(hi_hour * 3600), day.size)

    def noise(size: int, sd: float) -> np.ndarray:
        return rng.normal(0.0, sd, size)

    # Usage (weekly; utilisation is active users over seats, observed with them)
    acct, day = periodic(WEEK)
    h, s = health[acct, day], seats[acct]
    ev.add(
        "logins", acct, at(day), np.round(s * (0.5 + 4.5 * h) * rng.uniform(0.85, 1.15, acct.size))
    )
    acct, day = periodic(WEEK)
    h, s = health[acct, day], seats[acct]
    users = np.minimum(s, np.round(s * (0.15 + 0.8 * h) * rng.uniform(0.9, 1.1, acct.size)))
    when = at(day)
    ev.add("active_users", acct, when, users)
    ev.add("licence_utilisation", acct, when, np.round(np.clip(100 * users / s, 0, 100), 1))
    acct, day = periodic(MONTH)
    h = health[acct, day]
    ev.add(
        "feature_adoption",
        acct,
        at(day),
        np.round(np.clip(100 * (0.1 + 0.8 * h) + noise(acct.size, 4), 0, 100), 1),
    )

    # Support: tickets, their resolution time and CSAT after about half of them
    rate = np.maximum(seats[:, None] / 200 * (0.3 + 1.5 * (1 - health)), 0.05) / WEEK
    acct, day = poisson(rate)
    h = health[acct, day]
    opened = at(day, 6, 22)
    weights = np.exp(-np.arange(4)[None, :] * (0.3 + 2.0 * h[:, None]))
    cdf = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    severity = 1 + (rng.random(acct.size)[:, None] > cdf[:, :3]).sum(axis=1)
    category = rng.choice(len(TICKET_CATEGORIES), size=acct.size, p=TICKET_CATEGORY_SHARES)
    subject = TICKET_SUBJECT_CODES[category, rng.integers(0, 4, acct.size)]
    ev.add("support_tickets", acct, opened, severity, TICKET_CATEGORY_CODES[category], subject)
    hours = np.round((6 + 80 * (1 - h)) * np.exp(noise(acct.size, 0.5)), 1)
    resolved = opened + (hours * 3600).astype(np.int64)
    ev.add("ticket_resolution_hours", acct, resolved, hours, TICKET_CATEGORY_CODES[category])
    rated = rng.random(acct.size) < 0.5
    csat = np.clip(np.round(1 + 4 * h + noise(acct.size, 0.6)), 1, 5)
    answered = resolved + rng.integers(1800, 48 * 3600, acct.size)
    ev.add(
        "csat", acct[rated], answered[rated], csat[rated], TICKET_CATEGORY_CODES[category[rated]]
    )
    acct, day = periodic(WEEK)
    h = health[acct, day]
    ev.add("unresolved_complaints", acct, at(day), rng.poisson(3 * (1 - h) ** 2))

    # Sentiment (quarterly surveys; NPS has 1–5 respondents, more for bigger accounts)
    acct, day = periodic(QUARTER)
    respondents = 1 + rng.binomial(4, _respondent_share(seats[acct]))
    acct, day = np.repeat(acct, respondents), np.repeat(day, respondents)
    h = health[acct, day]
    score = np.clip(np.round(10 * h + noise(acct.size, 1.5)), 0, 10)
    comment = np.zeros(acct.size, dtype=np.int64)
    commented = rng.random(acct.size) < 0.35
    pick = rng.integers(0, 1 << 30, acct.size)
    for bucket, mask in (
        ("detractor", score <= 6),
        ("passive", (score > 6) & (score < 9)),
        ("promoter", score >= 9),
    ):
        codes = NPS_COMMENT_CODES[bucket]
        chosen = mask & commented
        comment[chosen] = codes[pick[chosen] % codes.size]
    ev.add(
        "nps", acct, base + day * 86400 + rng.integers(0, 5 * 86400, acct.size), score, text=comment
    )
    acct, day = periodic(QUARTER)
    h = health[acct, day]
    ev.add("ces", acct, at(day, 8, 20), np.clip(np.round(1 + 6 * h + noise(acct.size, 0.7)), 1, 7))
    acct, day = periodic(QUARTER)
    h = health[acct, day]
    ev.add(
        "survey_happiness",
        acct,
        at(day, 8, 20),
        np.clip(np.round(1 + 9 * h + noise(acct.size, 1.0)), 1, 10),
    )

    # Financial (monthly)
    acct, day = periodic(MONTH)
    h = health[acct, day]
    ev.add(
        "invoice_days_late",
        acct,
        at(day, 8, 18),
        np.maximum(0, np.round(45 * (0.55 - h) + noise(acct.size, 4))),
    )
    acct, day = periodic(MONTH)
    h = health[acct, day]
    ev.add(
        "spend",
        acct,
        at(day, 0, 6),
        np.round(arr[acct] / 12 * (0.7 + 0.6 * h) * rng.uniform(0.97, 1.03, acct.size), 2),
    )

    # Engagement
    acct, day = periodic(WEEK)
    h = health[acct, day]
    ev.add(
        "email_open_rate",
        acct,
        at(day),
        np.round(np.clip(10 + 55 * h + noise(acct.size, 5), 0, 100), 1),
    )
    acct, day = poisson((0.3 + 2.5 * health) / MONTH)
    ev.add(
        "meetings_held",
        acct,
        at(day, 8, 18),
        np.ones(acct.size),
        MEETING_CODES[rng.choice(3, size=acct.size, p=[0.5, 0.4, 0.1])],
    )
    acct, day = poisson(0.6 * health**2 / MONTH)
    ev.add(
        "expansion_talks",
        acct,
        at(day, 8, 18),
        np.ones(acct.size),
        text=EXPANSION_CODES[rng.integers(0, EXPANSION_CODES.size, acct.size)],
    )

    # Outcomes and advocacy
    acct, day = periodic(QUARTER)
    h = health[acct, day]
    ev.add(
        "kpi_attainment",
        acct,
        at(day, 8, 18),
        np.round(np.maximum(0, 30 + 80 * h + noise(acct.size, 6)), 1),
    )
    acct, day = poisson(3 * health**3 / YEAR)
    ev.add("referrals", acct, at(day, 8, 18), np.ones(acct.size))
    acct, day = poisson((1 + 2 * health) / YEAR)
    h = health[acct, day]
    rating = np.clip(np.round(1 + 4 * h + noise(acct.size, 0.6)), 1, 5).astype(np.int64)
    ev.add(
        "reviews",
        acct,
        at(day),
        rating,
        REVIEW_SITE_CODES[rng.integers(0, REVIEW_SITE_CODES.size, acct.size)],
        REVIEW_TITLE_CODES[rating - 1],
    )
    acct, day = poisson(0.5 * health**2 / MONTH)
    ev.add(
        "social_mentions",
        acct,
        at(day),
        np.ones(acct.size),
        SOCIAL_CODES[rng.integers(0, SOCIAL_CODES.size, acct.size)],
    )

    metric, acct, when, value, category, text = ev.columns()
    value += 0.0  # no -0.0 (PostgreSQL would keep its sign, SQLite not)
    # Nothing after the account's last day (its churn date) or in the future.
    limit = np.minimum(base + (active_to + 1) * 86400 - 1, cap_epoch)
    keep = when <= limit[acct]
    metric, acct, when, value, category, text = (
        column[keep] for column in (metric, acct, when, value, category, text)
    )
    order = np.lexsort((value, when, metric, acct))
    metric, acct, when, value, category, text = (
        column[order] for column in (metric, acct, when, value, category, text)
    )
    # Sequence number per account and metric, for the external id.
    group_start = np.r_[True, (acct[1:] != acct[:-1]) | (metric[1:] != metric[:-1])]
    starts = np.flatnonzero(group_start)
    seq = np.arange(acct.size) - np.repeat(starts, np.diff(np.r_[starts, acct.size])) + 1
    return plan, part.start, metric, acct, when, value, category, text, seq


# ---------------------------------------------------------------- writing


class _Writer:
    """Bulk writes: COPY on PostgreSQL, executemany elsewhere, in the caller's transaction."""

    def __init__(self) -> None:
        connection.ensure_connection()
        self.postgres = connection.vendor == "postgresql"

    @staticmethod
    def _columns(model, fields: list[str]) -> tuple[str, str]:
        names = ", ".join(
            connection.ops.quote_name(model._meta.get_field(name).column) for name in fields
        )
        return connection.ops.quote_name(model._meta.db_table), names

    def timestamp(self, epoch: int) -> str:
        text = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))
        return text + "+00" if self.postgres else text

    def insert(self, model, fields: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        table, columns = self._columns(model, fields)
        if self.postgres:
            with connection.connection.cursor() as cursor:
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(fields))
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)

    def account_ids(self, first: str, last: str) -> dict[str, int]:
        return dict(
            Account.objects.filter(external_id__gte=first, external_id__lte=last)
            .filter(external_id__startswith=ACCOUNT_PREFIX)
            .values_list("external_id", "id")
        )


class _SignalSink:
    """`with _SignalSink(say) as write:` write(plan, first, *columns) writes one chunk's
    signals: one COPY for all chunks on PostgreSQL, executemany per chunk elsewhere."""

    FIELDS = [
        "account",
        "metric",
        "observed_at",
        "value",
        "category",
        "text",
        "source",
        "external_id",
    ]

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.table, self.columns = _Writer._columns(Signal, self.FIELDS)
        self._cursor = self._context = self._copy = None

    def __enter__(self):
        if connection.vendor == "postgresql":
            from psycopg.copy import QueuedLibpqWriter

            self._cursor = connection.connection.cursor()
            # A writer thread sends the data while the next chunk is generated.
            self._context = self._cursor.copy(
                f"COPY {self.table} ({self.columns}) FROM STDIN",
                writer=QueuedLibpqWriter(self._cursor),
            )
            self._copy = self._context.__enter__()
        return self.write

    def __exit__(self, exc_type, exc, traceback) -> None:
        if self._context is None:
            return
        try:
            started = time.perf_counter()
            self._context.__exit__(exc_type, exc, traceback)
            if exc_type is None:
                self.say(
                    f"  COPY finished ({time.perf_counter() - started:.1f} s after the last row)"
                )
        finally:
            self._cursor.close()

    def write(self, plan, first, metric, acct, when, value, category, text, seq) -> int:
        if acct.size == 0:
            return 0
        account_ids = plan.account_ids[first + acct].tolist()
        metric_ids = plan.catalogue.metric_ids[metric].tolist()
        stamps = np.datetime_as_string(when.astype("datetime64[s]"), unit="s")
        stamps = np.strings.replace(stamps, "T", " ").tolist()
        values = value.tolist()
        categories = STRING_TABLE[category].tolist()
        texts = STRING_TABLE[text].tolist()
        # External ids: "demo-<account>-<metric>-<n>", the prefix once per account and metric.
        starts = np.flatnonzero(np.r_[True, (acct[1:] != acct[:-1]) | (metric[1:] != metric[:-1])])
        prefixes = np.repeat(
            np.array(
                [
                    f"{SIGNAL_SOURCE}-{plan.ext_ids[first + a]}-{METRIC_KEYS[m]}-"
                    for a, m in zip(acct[starts].tolist(), metric[starts].tolist(), strict=True)
                ],
                dtype=object,
            ),
            np.diff(np.r_[starts, acct.size]),
        ).tolist()
        numbers = seq.tolist()
        if self._copy is not None:
            # Our strings hold no tab, newline or backslash: no COPY escaping needed.
            data = "".join(
                [
                    f"{a}\t{m}\t{t}+00\t{v}\t{c}\t{x}\t{SIGNAL_SOURCE}\t{p}{n}\n"
                    for a, m, t, v, c, x, p, n in zip(
                        account_ids,
                        metric_ids,
                        stamps,
                        values,
                        categories,
                        texts,
                        prefixes,
                        numbers,
                        strict=True,
                    )
                ]
            )
            self._copy.write(data.encode())
        else:
            marks = ", ".join(["%s"] * len(self.FIELDS))
            ext_ids = [f"{p}{n}" for p, n in zip(prefixes, numbers, strict=True)]
            rows = list(
                zip(
                    account_ids,
                    metric_ids,
                    stamps,
                    values,
                    categories,
                    texts,
                    [SIGNAL_SOURCE] * len(values),
                    ext_ids,
                    strict=True,
                )
            )
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {self.table} ({self.columns}) VALUES ({marks})", rows
                )
        return acct.size


def _write_truth(path: Path, truth: dict[str, dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    with partial.open("w", encoding="utf-8") as handle:
        json.dump(truth, handle, separators=(",", ":"))
    os.replace(partial, path)
    return path
