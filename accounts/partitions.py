"""The signals' table by month: on PostgreSQL accounts_signal is partitioned by observed_at
(migration accounts 0019), one partition per calendar month (UTC) and a default one.

Why: retention drops a whole month of signals at once (DROP TABLE: no row is deleted one by
one, no index entry is removed, nothing is left for VACUUM), and the nightly run's window
reads only the months it covers, however many years are stored.

The partitions are made ahead: MONTHS_AHEAD months after today, by a daily beat
(accounts.tasks.signal_partitions_ensure) and by every pruning. A signal observed outside
every monthly partition (a history loaded from years back, a year typed wrong) lands in the
default partition; the next ensure gives its month a partition and moves it there.

The (source, external id) of a signal is unique across the months: a partitioned table's
unique index must include observed_at, so the keys are kept in accounts_signalkey by a
trigger (migration accounts 0019), which refuses a second signal with the same key.

SQLite (the demo) keeps one plain table: nothing here does anything there.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

TABLE = "accounts_signal"
DEFAULT = "accounts_signal_default"
MONTHS_AHEAD = 3
NAME = re.compile(r"^accounts_signal_p(\d{4})(\d{2})$")
# How long partition work waits for the table's readers and writers before it gives up (the
# next daily run, or pruning, tries again): meanwhile the requests queued behind it wait too.
LOCK_TIMEOUT = "10s"


def partitioned() -> bool:
    return connection.vendor == "postgresql"


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_after(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=32)).replace(day=1)


def partition_name(month: dt.date) -> str:
    return f"{TABLE}_p{month.year:04d}{month.month:02d}"


def signal_partitions() -> list[dt.date]:
    """The months that have a partition, oldest first (none on SQLite)."""
    if not partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    return sorted(
        dt.date(int(m.group(1)), int(m.group(2)), 1) for name in names if (m := NAME.match(name))
    )


def signal_partitions_ensure(
    today: dt.date | None = None, *, since: dt.date | None = None
) -> list[dt.date]:
    """Give a partition to every month from this one (or from the month of `since`: a bulk
    load of history says where it starts) to MONTHS_AHEAD months ahead, and to every month
    with signals in the default partition (moving them there). Returns the months created.
    Safe to run at any time and at once from several places (they take turns). One short
    transaction per month created."""
    if not partitioned():
        return []
    today = today or timezone.now().date()
    wanted = {month_start(min(since or today, today))}
    last = month_start(today)
    for _ in range(MONTHS_AHEAD):
        last = month_after(last)
    while max(wanted) < last:
        wanted.add(month_after(max(wanted)))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', observed_at AT TIME ZONE 'UTC')::date "
            f"FROM {DEFAULT}"
        )
        wanted |= {row[0] for row in cursor.fetchall()}
    created = []
    # The coming months first: a month that fails (its table busy past LOCK_TIMEOUT) is
    # logged and left to the next run, and does not keep the others from being made.
    ahead = {m for m in wanted if m >= month_start(today)}
    missing = sorted(wanted - set(signal_partitions()), key=lambda m: (m not in ahead, m))
    for month in missing:
        try:
            if _partition_create(month):
                created.append(month)
        except DatabaseError:
            logger.exception("The signals' partition for %s was not made", f"{month:%Y-%m}")
    return created


def _partition_create(month: dt.date) -> bool:
    name = partition_name(month)
    start, stop = _bound_at(month), _bound_at(month_after(month))
    with transaction.atomic(), connection.cursor() as cursor:
        # One at a time: two creating the same month would both find it missing.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('accounts.partitions'))")
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        if cursor.fetchone()[0]:
            return False
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE observed_at >= %s AND observed_at < %s)",
            [start, stop],
        )
        if cursor.fetchone()[0]:
            # Writers wait (readers do not) while the month's signals move out of the
            # default partition: a signal written, changed or deleted meanwhile would fail
            # the attach or miss its row. Locked on the parent, where writers start.
            cursor.execute(f"LOCK TABLE {TABLE} IN EXCLUSIVE MODE")
        # The month's signals that landed in the default partition move to their own first
        # (attaching the month checks that the default holds none of them). Moved, not
        # deleted and inserted: the triggers on accounts_signal, which keep the marks and
        # keys, do not fire for a statement on a partition.
        cursor.execute(
            f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        cursor.execute(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE observed_at >= %s "
            f"AND observed_at < %s RETURNING *) INSERT INTO {name} SELECT * FROM moved",
            [start, stop],
        )
        cursor.execute(
            f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)",
            [start, stop],
        )
    return True


def signal_partitions_drop_before(
    cutoff: dt.datetime, *, dry_run: bool = False
) -> tuple[int, dt.datetime]:
    """Drop every monthly partition whose whole month is before `cutoff`: O(1) per month
    in the signals it holds (counting them for the record is a read). The marks of the
    signals dropped are brought up to date (accounts.marks) and their keys deleted (in
    batches of short transactions). Returns the number of signals dropped (with dry_run:
    that would be) and the moment every signal before which is gone: the start of the
    cutoff's month."""
    before = _bound_at(month_start(cutoff.astimezone(dt.UTC).date()))
    if not partitioned():
        return 0, before
    months = [m for m in signal_partitions() if _bound_at(month_after(m)) <= before]
    dropped = 0
    for month in months:
        name = partition_name(month)
        with transaction.atomic(), connection.cursor() as cursor:
            # Not two prunings (or a pruning and an ensure) at once.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('accounts.partitions'))")
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
            if not cursor.fetchone()[0]:
                continue  # dropped meanwhile
            cursor.execute(f"SELECT count(*) FROM {name}")
            dropped += cursor.fetchone()[0]
            if dry_run:
                continue
            # The marks first: detaching locks the whole table (no detaching concurrently
            # beside a default partition), until the commit; the drop itself is then quick.
            _marks_forget_before(cursor, _bound_at(month_after(month)))
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {name}")
            cursor.execute(f"DROP TABLE {name}")
    if dry_run:
        # What ensure (which a pruning runs first) would move out of the default partition
        # into months this pruning then drops.
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {DEFAULT} WHERE observed_at < %s", [before])
            dropped += cursor.fetchone()[0]
    else:
        # Every time, not only after a drop: a pruning cut short between its drops and this
        # leaves keys behind, which the next one deletes.
        _keys_delete_before(before)
    return dropped, before


def _bound_at(month: dt.date) -> dt.datetime:
    """Where the month starts (UTC): its partition's bound."""
    return dt.datetime(month.year, month.month, 1, tzinfo=dt.UTC)


def _marks_forget_before(cursor, bound: dt.datetime) -> None:
    """What the delete triggers would have done for every signal before `bound`: a mark
    whose newest signal is before it goes; a last-above-0 or last-at-or-below-0 before it
    was the last of its kind (a later one would be the mark), so it goes too."""
    cursor.execute("DELETE FROM accounts_signalmark WHERE newest_at < %s", [bound])
    for column in ("positive_at", "nonpositive_at"):
        cursor.execute(
            f"UPDATE accounts_signalmark SET {column} = NULL WHERE {column} < %s", [bound]
        )


KEYS_BATCH = 10_000


def _keys_delete_before(bound: dt.datetime) -> None:
    """The keys of the signals dropped: a signal sent again with one of them is new again.
    In batches of short transactions, through the keys' (observed_at) index."""
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM accounts_signalkey WHERE id IN (SELECT id FROM accounts_signalkey "
                "WHERE observed_at < %s LIMIT %s)",
                [bound, KEYS_BATCH],
            )
            if cursor.rowcount < KEYS_BATCH:
                return


def signal_keys_rebuild() -> int:
    """Recompute the signals' keys (SignalKey) from the signals, in one transaction, after a
    load that bypassed the triggers (as accounts.marks.marks_rebuild for the marks). Fails,
    changing nothing, if two stored signals share a key. Returns how many keys there are."""
    if not partitioned():
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {TABLE} IN SHARE MODE")
        cursor.execute(
            f"SELECT source, external_id, count(*) FROM {TABLE} WHERE external_id IS NOT NULL "
            "GROUP BY source, external_id HAVING count(*) > 1 ORDER BY 3 DESC, 1, 2 LIMIT 10"
        )
        if repeated := cursor.fetchall():
            raise SignalKeysRepeated(repeated)
        cursor.execute("DELETE FROM accounts_signalkey")
        cursor.execute(
            "INSERT INTO accounts_signalkey (source, external_id, observed_at) "
            f"SELECT source, external_id, observed_at FROM {TABLE} WHERE external_id IS NOT NULL"
        )
        return cursor.rowcount


class SignalKeysRepeated(Exception):
    """Stored signals share a (source, external id): a load that skipped the keys' trigger
    stored a signal twice. Delete the extra ones, then rebuild."""

    def __init__(self, repeated: list[tuple]) -> None:
        self.repeated = repeated
        shown = "; ".join(f"{source}:{external_id} ×{n}" for source, external_id, n in repeated)
        super().__init__(
            f"Signals share a key (source:external id), so the keys were not rebuilt: {shown}. "
            "Delete the signals stored twice, then run this again."
        )
