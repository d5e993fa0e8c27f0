"""The pages benchmark: server time and queries of the portfolio and the drilldown at scale.

The data set (accounts named PAGEBENCH-…, a year of daily scores, one done run per day) is
generated inside PostgreSQL with generate_series: tens of millions of score rows in minutes,
where the ORM would take hours. Scores follow a smooth curve per account, so bands, weekly
changes and sparklines look like real ones.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from healthboard.lib.roles import CSM, MANAGER
from scoring.models import ScoreRun
from scoring.pipeline.upkeep import scores_vacuum
from scoring.rollups.snapshots import run_rollup
from scoring.rollups.totals import run_totals_publish, run_totals_rebuild
from scoring.rollups.weeks import weeks_keep
from scoring.specs import ScorecardAssignment, active_versions

PREFIX = "PAGEBENCH-"
CSMS = 50
# Days with the per-measure details a drilldown reads (today and "a week before").
DETAIL_DAYS = 8

# An account's score on day t: a level set by its id, plus a slow wave. Every expression
# below is pure SQL on the account id (g) and the day number (t), so the score a week
# earlier (for delta_7d) is the same expression at t − 7.
SCORE_SQL = (
    "least(100, greatest(0, 18 + 72 * ((g * 7919) %% 1000) / 1000.0"
    " + 14 * sin(g * 0.37 + {t} / 9.0)))"
)


@dataclass(frozen=True)
class DataSet:
    accounts: int
    days: int
    first_day: dt.date
    last_day: dt.date

    @property
    def score_rows(self) -> int:
        return self.accounts * self.days


def _require_postgres() -> None:
    if connection.vendor != "postgresql":
        raise RuntimeError("The pages benchmark runs on PostgreSQL: set DATABASE_URL.")


def existing(*, accounts: int, days: int, as_of: dt.date) -> bool:
    """Whether a complete data set of this size is present (builds are atomic, so the
    first and last day being complete means every day is)."""
    _require_postgres()
    first = as_of - dt.timedelta(days=days - 1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), min(id), max(id) FROM accounts_account WHERE external_id LIKE %s",
            [PREFIX + "%"],
        )
        count, low, high = cursor.fetchone()
        if count != accounts:
            return False
        cursor.execute(
            """
            SELECT r.date, count(h.id) FROM scoring_scorerun r
            LEFT JOIN scoring_healthscore h
              ON h.run_id = r.id AND h.account_id BETWEEN %s AND %s
            WHERE r.status = 'done' AND r.date IN (%s, %s)
            GROUP BY r.date
            """,
            [low, high, first, as_of],
        )
        per_day = dict(cursor.fetchall())
        cursor.execute(
            "SELECT count(*) FROM scoring_scorerun "
            "WHERE status = 'done' AND date BETWEEN %s AND %s",
            [first, as_of],
        )
        runs = cursor.fetchone()[0]
    return runs == days and per_day.get(first) == accounts and per_day.get(as_of) == accounts


def _users() -> tuple[list[int], object, object]:
    """Fifty CSMs who share the book, and a manager."""
    User = get_user_model()
    groups = {group.name: group for group in Group.objects.filter(name__in=[CSM, MANAGER])}
    csms = []
    for i in range(1, CSMS + 1):
        user, _ = User.objects.get_or_create(
            username=f"pagebench-csm{i:02d}",
            defaults={"first_name": "Bench", "last_name": f"CSM {i:02d}"},
        )
        user.groups.add(groups[CSM])
        csms.append(user)
    manager, _ = User.objects.get_or_create(
        username="pagebench-manager", defaults={"first_name": "Bench", "last_name": "Manager"}
    )
    manager.groups.add(groups[MANAGER])
    return [user.pk for user in csms], csms[0], manager


def _delete(cursor) -> None:
    accounts = "SELECT id FROM accounts_account WHERE external_id LIKE %s"
    for table in (
        "scoring_healthscore",
        "accounts_signal",
        "accounts_note",
        "accounts_stagechange",
    ):
        cursor.execute(f"DELETE FROM {table} WHERE account_id IN ({accounts})", [PREFIX + "%"])
    cursor.execute("DELETE FROM accounts_account WHERE external_id LIKE %s", [PREFIX + "%"])


def _secondary_indexes(cursor) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'scoring_healthscore' "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint "
        "WHERE conrelid = 'scoring_healthscore'::regclass)"
    )
    return cursor.fetchall()


# Sub-score level of the made-up details per band.
BAND_LEVELS = {"green": 85.0, "yellow": 55.0, "red": 25.0, "none": 0.0}


def _details(version, level: float) -> str:
    n = len(version.measures)
    if level == 0:
        return json.dumps({"raw": [None] * n, "sub": [None] * n})
    sub = [round(min(100.0, level * (0.8 + (i % 5) / 10)), 2) for i in range(n)]
    return json.dumps({"raw": [round(x * 1.7, 2) for x in sub], "sub": sub})


def _skip_foreign_key_checks(cursor) -> None:
    """Every id the build writes exists, so the per-row foreign key triggers (tens of millions
    of lookups) can be skipped; that needs a superuser, otherwise they run."""
    try:
        with transaction.atomic():
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        pass


def build(
    *, accounts: int, days: int, as_of: dt.date, progress: Callable[[str], None] = print
) -> DataSet:
    """Replace the bench accounts with `accounts` new ones and `days` days of scores."""
    _require_postgres()
    first = as_of - dt.timedelta(days=days - 1)
    owner_ids, _, _ = _users()
    versions = active_versions()
    assignment = ScorecardAssignment(versions)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        _skip_foreign_key_checks(cursor)
        _delete(cursor)
        cursor.execute("SELECT id FROM accounts_segment ORDER BY id")
        segments = [row[0] for row in cursor.fetchall()]
        cursor.execute('SELECT id FROM accounts_journeystage ORDER BY "order"')
        stages = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            """
            INSERT INTO accounts_account (name, external_id, owner_id, segment_id, industry, arr,
                plan, seats, start_date, renewal_date, stage_id, stage_since, status)
            SELECT 'Pagebench account ' || lpad(g::text, 7, '0'), %s || lpad(g::text, 7, '0'),
                   CASE WHEN g %% 53 = 0 THEN NULL ELSE (%s::bigint[])[1 + g %% %s] END,
                   (%s::bigint[])[1 + g %% %s], 'Software', 5000 + (g * 37 %% 200) * 1000,
                   'Business', 100, %s::date - 800, %s::date - 30 + (g %% 400),
                   (%s::bigint[])[1 + (g / 7) %% %s], %s::date - (g %% 200), 'active'
            FROM generate_series(1, %s) AS g
            """,
            [
                PREFIX, owner_ids, len(owner_ids), segments, len(segments), as_of, as_of,
                stages, len(stages), as_of, accounts,
            ],
        )  # fmt: skip
        # Which version scores each segment, and the per-measure details of its recent days:
        # one made-up set per band, so "what moved" has something to show after a change.
        rows, details = [], []
        for segment in segments:
            version = assignment.for_segment(segment)
            if version is None:
                raise RuntimeError("No active scorecard version: run migrate first.")
            rows.append(cursor.mogrify("(%s, %s)", [segment, version.id]))
        for version in versions:
            for band, level in BAND_LEVELS.items():
                details.append(
                    cursor.mogrify("(%s, %s, %s)", [version.id, band, _details(version, level)])
                )
        cursor.execute(
            "CREATE TEMP TABLE pagebench_version (segment_id bigint, version_id bigint) "
            f"ON COMMIT DROP; INSERT INTO pagebench_version VALUES {', '.join(rows)};"
            "CREATE TEMP TABLE pagebench_details (version_id bigint, band text, details jsonb) "
            f"ON COMMIT DROP; INSERT INTO pagebench_details VALUES {', '.join(details)}"
        )
        cursor.execute(
            """
            INSERT INTO scoring_scorerun (date, status, started_at, heartbeat_at, finished_at,
                accounts_total, accounts_done, chunks_total, chunks_done, error, trigger, reference)
            SELECT d::date, 'done', now(), now(), now(), %s, %s, 1, 1, '', 'pagebench', '{}'
            FROM generate_series(%s::date, %s::date, '1 day') AS d
            WHERE NOT EXISTS (SELECT 1 FROM scoring_scorerun r WHERE r.date = d::date
                              AND r.status = 'done')
            """,
            [accounts, accounts, first, as_of],
        )
        cursor.execute(
            "SELECT date, id FROM scoring_scorerun "
            "WHERE status = 'done' AND date BETWEEN %s AND %s",
            [first, as_of],
        )
        runs = dict(cursor.fetchall())
        # The runs' snapshots (of the accounts just deleted) are left for rollup_missing
        # (below) to make afresh, as the runs' publication would have.
        cursor.execute(
            "DELETE FROM scoring_runsnapshot WHERE run_id = ANY(%s)", [list(runs.values())]
        )
        # Loading millions of rows and then indexing them is several times faster than
        # maintaining the indexes row by row; they are rebuilt, unchanged, below.
        indexes = _secondary_indexes(cursor)
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        started = time.perf_counter()
        for t in range(days):
            day = first + dt.timedelta(days=t)
            cursor.execute(
                f"""
                INSERT INTO scoring_healthscore (account_id, run_id, date, version_id, score,
                    band, coverage, delta_7d, details)
                SELECT a.id, %s, %s, v.version_id, s.score, s.band,
                       CASE WHEN s.score IS NULL THEN 0.3 ELSE 0.7 + (a.id %% 31) / 100.0 END,
                       CASE WHEN %s >= 7 THEN round((s.score - s.before)::numeric, 2) END,
                       CASE WHEN %s THEN d.details ELSE '{{}}'::jsonb END
                FROM accounts_account a
                JOIN pagebench_version v ON v.segment_id = a.segment_id
                CROSS JOIN LATERAL (
                    SELECT score, before,
                           CASE WHEN score IS NULL THEN 'none' WHEN score >= 70 THEN 'green'
                                WHEN score < 40 THEN 'red' ELSE 'yellow' END AS band
                    FROM (
                        SELECT CASE WHEN g %% 97 = 0 THEN NULL
                                    ELSE round(({SCORE_SQL.format(t="%s")})::numeric, 2) END
                                    AS score,
                               {SCORE_SQL.format(t="%s")} AS before
                        FROM (SELECT a.id AS g) AS x
                    ) AS y
                ) AS s
                JOIN pagebench_details d ON d.version_id = v.version_id AND d.band = s.band
                WHERE a.external_id LIKE %s
                """,
                [runs[day], day, t, days - t <= DETAIL_DAYS, t, t - 7, PREFIX + "%"],
            )
            if (t + 1) % 30 == 0 or t + 1 == days:
                elapsed = time.perf_counter() - started
                progress(f"  {t + 1}/{days} days of scores ({elapsed:.0f} s)")
        # Django's foreign keys are checked at commit; CREATE INDEX wants them checked now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name, definition in indexes:
            progress(f"  rebuilding {name} …")
            cursor.execute(definition)
    # The load skipped the triggers that keep stored totals exact: count the runs' totals
    # afresh, as publishing each run would have.
    run_totals_rebuild()
    # And the weekly review's weeks, as the worker after each publication would (afresh: a
    # rebuild reuses the runs, whose kept weeks counted the accounts it replaced).
    weeks_keep(afresh=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE scoring_scorerun; ANALYZE scoring_runtotal;")
    # As each run's publication leaves its scores and the accounts (VACUUM ANALYZE): without
    # it every index-only read of a run visits its rows too (a CSM's board 447 ms, not 184).
    if not scores_vacuum():
        with connection.cursor() as cursor:  # inside a test's transaction
            cursor.execute("ANALYZE accounts_account; ANALYZE scoring_healthscore;")
    return DataSet(accounts=accounts, days=days, first_day=first, last_day=as_of)


def rollup_missing(*, progress=None) -> int:
    """Publication rollups for done runs that have none, oldest first, as if each had just
    been published (data loaded behind the runs' back: build(), tests). Returns how many."""
    missing = list(
        ScoreRun.objects.filter(status=ScoreRun.Status.DONE, snapshot__isnull=True).order_by("date")
    )
    for run in missing:
        run_rollup(run=run)
        if progress:
            progress(run)
    return len(missing)


# ---------------------------------------------------------------- timing


@dataclass(frozen=True)
class Timing:
    name: str
    ms: float  # median wall-clock server time
    cpu_ms: float | None  # median CPU time of this process and its database backend
    queries: int
    status: int


def _backend_cpu_ms() -> float | None:
    """CPU time the database backend of this connection has used, when PostgreSQL runs on
    this machine (/proc); None otherwise."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) * 1000 / ticks


def time_page(
    client: Client, name: str, url: str, *, repeat: int = 10, warmup: int = 2, **headers
) -> Timing:
    """Median server time over `repeat` requests after `warmup`, and one request's queries.

    On a busy machine wall-clock time includes waiting for a CPU; the CPU time (Python plus
    the PostgreSQL backend, measured with parallel query off so one backend does all the
    work) is what the request costs on an idle one.
    """
    for _ in range(warmup):
        client.get(url, **headers)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url, **headers)
        samples.append((time.perf_counter() - started) * 1000)
    cpu = []
    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 0")
    try:
        for _ in range(repeat):
            backend, python = _backend_cpu_ms(), time.process_time()
            client.get(url, **headers)
            if backend is not None:
                used = _backend_cpu_ms() - backend
                cpu.append(used + (time.process_time() - python) * 1000)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET max_parallel_workers_per_gather")
    with CaptureQueriesContext(connection) as queries:
        client.get(url, **headers)
    return Timing(
        name=name,
        ms=round(statistics.median(samples), 1),
        cpu_ms=round(statistics.median(cpu), 1) if cpu else None,
        queries=len(queries),
        status=response.status_code,
    )


def time_totals_publish(*, repeat: int = 5) -> tuple[float, int]:
    """Median time of storing the newest run's totals (what publishing a run adds to the
    nightly run: scoring.run_totals.run_totals_publish), and the cells stored."""
    run = ScoreRun.objects.filter(status=ScoreRun.Status.DONE).order_by("-date").first()
    samples, cells = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        cells = run_totals_publish(run=run)
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 1), cells


def bench_users() -> tuple[object, object]:
    User = get_user_model()
    return (
        User.objects.get(username="pagebench-csm01"),
        User.objects.get(username="pagebench-manager"),
    )


def run(*, repeat: int = 10) -> list[Timing]:
    """Time the portfolio (as a CSM on their book and a manager on all accounts), a filtered
    HTMX table request, and the drilldown of one account when that page exists."""
    csm, manager = bench_users()
    clients = {}
    for role, user in (("csm", csm), ("manager", manager)):
        clients[role] = Client()
        clients[role].force_login(user)
    from accounts.models import Account, Segment

    segment = Segment.objects.order_by("id").first()
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TRIGGER": "portfolio-filters"}
    table = f"/?band=red&segment={segment.slug}&sort=-arr&owner=all"
    timings = [
        time_page(clients["csm"], "portfolio (CSM, my book)", "/", repeat=repeat),
        time_page(clients["manager"], "portfolio (Manager, all)", "/", repeat=repeat),
        time_page(clients["manager"], "table HTMX (Manager)", table, repeat=repeat, **htmx),
        time_page(
            clients["csm"], "table HTMX (CSM)", table.replace("owner=all", "owner=me"),
            repeat=repeat, **htmx,
        ),
    ]  # fmt: skip
    bench = Account.objects.filter(external_id__startswith=PREFIX).order_by("id")
    account = bench.filter(owner=csm).first() or bench.first()
    try:
        detail = reverse("accounts:detail", kwargs={"pk": account.pk})
    except NoReverseMatch:
        return timings
    timings.append(time_page(clients["csm"], "drilldown (CSM)", detail, repeat=repeat))
    return timings
