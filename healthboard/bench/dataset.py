"""A large synthetic data set for the benchmarks, generated inside PostgreSQL.

generate_series writes millions of rows in seconds; the values follow each account's hidden
health on the scales the default scorecards expect, so the engine does real work.
"""

from __future__ import annotations

import datetime as dt
import time

from django.db import connection, transaction

from accounts.marks import marks_rebuild
from accounts.partitions import signal_partitions_ensure
from healthboard.demo.writers import drop_signal_indexes
from scoring.aggregates import window_end

PREFIX = "BENCH-"

# metric key: (value at health 0, value at health 1, share of an account's signals);
# per-seat metrics scale with seats (bench accounts have 100 seats).
# Events (INCIDENTS) are 0 on most signals instead, as in a real portfolio.
SCALES = {
    "logins": (50, 500, 0.2),
    "active_users": (15, 95, 0.08),
    "licence_utilisation": (15, 95, 0.08),
    "feature_adoption": (10, 90, 0.03),
    "support_tickets": (4, 1, 0.08),
    "ticket_resolution_hours": (86, 6, 0.06),
    "unresolved_complaints": (0, 0, 0.05),
    "csat": (1, 5, 0.05),
    "nps": (0, 10, 0.05),
    "ces": (1, 7, 0.02),
    "survey_happiness": (1, 10, 0.02),
    "invoice_days_late": (0, 0, 0.03),
    "spend": (700, 1300, 0.03),
    "email_open_rate": (10, 65, 0.08),
    "meetings_held": (1, 1, 0.04),
    "expansion_talks": (1, 1, 0.02),
    "kpi_attainment": (30, 110, 0.03),
    "referrals": (1, 1, 0.01),
    "reviews": (1, 5, 0.01),
    "social_mentions": (1, 1, 0.02),
}

# Events a minority of accounts have: metric key → (share of its signals that report one, on
# average; the unhealthy report them more often, the healthy never: the share scales with
# 2 × (1 - health)), (smallest, largest value when one is reported). A complaint stays
# unresolved until a later signal at 0, so a few % of accounts carry one past two weeks, and
# a few % have their latest invoice 30+ days late: the number of calls to action a night
# opens resembles a real portfolio's (with every signal a complaint, ~94 % of accounts did).
INCIDENTS = {
    "unresolved_complaints": (0.05, 1, 3),
    "invoice_days_late": (0.06, 1, 60),
}


def existing(accounts: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM accounts_account WHERE external_id LIKE %s", [PREFIX + "%"]
        )
        return cursor.fetchone()[0]


def signal_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM accounts_signal s JOIN accounts_account a ON a.id = s.account_id "
            "WHERE a.external_id LIKE %s",
            [PREFIX + "%"],
        )
        return cursor.fetchone()[0]


def ensure(
    *, accounts: int, signals_per_account: int, as_of: dt.date, days: int = 180, rebuild=False, say
) -> float | None:
    """Build the data set unless the database holds it already (the same accounts, about as
    many signals, built with the current INCIDENTS): a benchmark's data is built once and
    reused. `say` tells what it does. Returns the seconds the build took (None: reused)."""
    expected = accounts * signals_per_account
    if (
        not rebuild
        and existing(accounts) == accounts
        and abs(signal_count() - expected) <= expected * 0.01
        and current()
    ):
        return None
    say(f"Building {accounts:,} accounts × {signals_per_account} signals over {days} days …")
    started = time.perf_counter()
    build(accounts=accounts, signals_per_account=signals_per_account, as_of=as_of, days=days)
    built_s = round(time.perf_counter() - started, 1)
    say(f"  built in {built_s} s")
    return built_s


def current() -> bool:
    """Whether the data set was built with the INCIDENTS (complaints at 0 on most signals):
    one built before has a complaint on every signal and is rebuilt. Reads the index until
    the first complaint at 0 (at once, on a current data set)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM accounts_signal s JOIN accounts_metric m "
            "ON m.id = s.metric_id WHERE m.key = %s AND s.value = 0)",
            ["unresolved_complaints"],
        )
        return cursor.fetchone()[0]


def delete_ctas(cursor) -> None:
    """Delete the bench accounts' CTAs with their steps and comments (the database does not
    cascade: Django does)."""
    ctas = (
        "SELECT c.id FROM scoring_calltoaction c JOIN accounts_account a ON a.id = c.account_id "
        "WHERE a.external_id LIKE %s"
    )
    for table in ("scoring_ctastep", "scoring_ctacomment"):
        cursor.execute(f"DELETE FROM {table} WHERE cta_id IN ({ctas})", [PREFIX + "%"])
    cursor.execute(f"DELETE FROM scoring_calltoaction WHERE id IN ({ctas})", [PREFIX + "%"])


def build(*, accounts: int, signals_per_account: int, as_of: dt.date, days: int = 180) -> None:
    """Replace the bench accounts with `accounts` new ones and their signals."""
    if connection.vendor != "postgresql":
        raise RuntimeError("The benchmark data set is generated by PostgreSQL; set DATABASE_URL.")
    end = window_end(as_of)
    with transaction.atomic(), connection.cursor() as cursor:
        # Django's foreign keys are deferred to the commit; checked row by row there, after the
        # indexes are dropped, they would scan the table once per row. Check them as we go.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # The rows are consistent by construction; the per-row foreign-key triggers would cost
        # more than generating the rows (needs a superuser, as on a benchmark machine).
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            cursor.execute("SET LOCAL session_replication_role = replica")
        # Foreign keys cascade in Django, not in the database: delete the children first.
        delete_ctas(cursor)
        for table in (
            "scoring_healthscore",
            "accounts_signal",
            "accounts_note",
            "accounts_stagechange",
        ):
            cursor.execute(
                f"DELETE FROM {table} WHERE account_id IN "
                "(SELECT id FROM accounts_account WHERE external_id LIKE %s)",
                [PREFIX + "%"],
            )
        cursor.execute("DELETE FROM accounts_account WHERE external_id LIKE %s", [PREFIX + "%"])
        # The months of the signals have their partitions before they arrive (accounts.
        # partitions; else they would all wait in the default partition).
        signal_partitions_ensure(as_of, since=as_of - dt.timedelta(days=days))
        # Loading millions of rows and then indexing them is several times faster than
        # maintaining the indexes row by row; they are rebuilt, unchanged, below.
        rebuild = drop_signal_indexes()
        cursor.execute("SELECT id FROM accounts_segment ORDER BY id")
        segments = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT min(id) FROM accounts_journeystage")
        stage = cursor.fetchone()[0]
        cursor.execute(
            """
            INSERT INTO accounts_account (name, external_id, segment_id, industry, arr, plan, seats,
                start_date, renewal_date, stage_id, stage_since, status)
            SELECT 'Bench account ' || g, %s || lpad(g::text, 7, '0'),
                   (%s::bigint[])[1 + g %% %s], 'Software', 10000 + (g %% 97) * 1000, 'Business', 100,
                   %s::date - 400, %s::date + (g %% 365), %s, %s::date - (g %% 200), 'active'
            FROM generate_series(1, %s) AS g
            """,
            [PREFIX, segments, len(segments), as_of, as_of, stage, as_of, accounts],
        )
        cursor.execute("SELECT id, key FROM accounts_metric")
        metric_ids = {key: pk for pk, key in cursor.fetchall()}
        # A cumulative table turns one uniform draw per signal into a metric with SCALES' shares.
        total = sum(share for _, _, share in SCALES.values())
        rows, upper = [], 0.0
        for key, (at0, at1, share) in SCALES.items():
            lower, upper = upper, upper + share / total
            # The last bucket reaches past 1 so float rounding cannot drop a draw.
            top = upper if key != list(SCALES)[-1] else 2.0
            incidence, least, most = INCIDENTS.get(key, (None, None, None))
            rows.append(
                cursor.mogrify(
                    "(%s, %s, %s, %s, %s, %s, %s, %s)",
                    [metric_ids[key], lower, top, at0, at1, incidence, least, most],
                )
            )
        cursor.execute(
            f"""
            CREATE TEMP TABLE bench_scale (metric_id bigint, lower float8, upper float8, at0 float8,
                at1 float8, incidence float8, least_value float8, most_value float8)
            ON COMMIT DROP;
            INSERT INTO bench_scale VALUES {", ".join(rows)};
            INSERT INTO accounts_signal (account_id, metric_id, observed_at, value, category, text, source)
            SELECT a.id, sc.metric_id,
                   %s::timestamptz - make_interval(secs => r.t * %s * 86400),
                   CASE WHEN sc.incidence IS NULL
                        THEN sc.at0 + (sc.at1 - sc.at0) * least(1, greatest(0, a.health + (random() - 0.5) * 0.3))
                        WHEN random() < sc.incidence * 2 * (1 - a.health)
                        THEN round(sc.least_value + random() * (sc.most_value - sc.least_value))
                        ELSE 0 END,
                   '', '', 'bench'
            FROM (SELECT id, random() AS health FROM accounts_account WHERE external_id LIKE %s
                  ORDER BY id) a
            CROSS JOIN LATERAL (SELECT random() AS u, random() AS t, a.id AS dep
                                FROM generate_series(1, %s)) r
            JOIN bench_scale sc ON r.u >= sc.lower AND r.u < sc.upper
            """,
            [end, days, PREFIX + "%", signals_per_account],
        )
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        for statement in rebuild:
            cursor.execute(statement)
    # The load may have skipped the triggers that keep the signal marks (session_replication_role).
    marks_rebuild()
    with connection.cursor() as cursor:
        # VACUUM as autovacuum does to a table that is mostly old rows: the visibility map
        # lets the rules read signal values from the index alone (accounts.Signal's indexes).
        cursor.execute("ANALYZE accounts_account")
        cursor.execute("VACUUM ANALYZE accounts_signal")
