"""Signal retention: signals older than SIGNAL_RETENTION_DAYS are deleted, never one that a
scorecard or a rule still reads.

The days kept are raised to the widest window of any scorecard version (draft, active or
archived: a draft may be published, an archived one restored) and of any rule on a metric's
signals, plus a day, so tonight's run scores exactly what it would have with every signal
kept. The scores already stored and their explanations ("why this score") are rows of their
own and stay. What needs older signals reaches back only as far as the signals kept: a
back-fill or backtest of earlier dates, an unresolved complaint's "since" date.

On PostgreSQL the signals are partitioned by month (accounts.partitions): whole months before
the cutoff are dropped, each at once, whatever it holds; the signals of the month the cutoff
falls in stay until that whole month is past it (so up to a month more than asked is kept).
On SQLite they are deleted in batches of short transactions (imports and the API keep writing
meanwhile), at a cost that grows with the signals deleted, not with the signals kept.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Max
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import AuditEvent, Signal
from accounts.partitions import (
    partitioned,
    signal_partitions_drop_before,
    signal_partitions_ensure,
)
from healthboard.lib.batches import delete_in_batches
from scoring.actions.conditions import SIGNAL_KINDS
from scoring.aggregates import window_end
from scoring.models import ActionRule, Measure


def signals_read_days() -> int:
    """The most days back any scorecard version's measure or any rule on signals reads."""
    measures = Measure.objects.aggregate(widest=Max("window_days"))["widest"] or 0
    rules = [
        int((parameters or {}).get("days") or 0)
        for parameters in ActionRule.objects.filter(kind__in=list(SIGNAL_KINDS)).values_list(
            "parameters", flat=True
        )
    ]
    return max([measures, *rules])


def signals_prune(
    *, older_than_days: int, actor_label: str = "", dry_run: bool = False, batch: int = 10_000
) -> tuple[int, dt.datetime, int]:
    """Delete the signals observed more than `older_than_days` days before today (raised to
    what the scorecards and rules read: signals_read_days), by whole months on PostgreSQL
    (the month the cutoff falls in stays) and a batch at a time on SQLite, and record the
    pruning in the audit log. Returns the number deleted (with dry_run: that would be, and
    nothing is deleted or recorded), the moment before which no signal is left (on
    PostgreSQL the start of the cutoff's month) and the days kept."""
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1.")
    days = max(older_than_days, signals_read_days() + 1)
    cutoff = window_end(timezone.localdate()) - dt.timedelta(days=days + 1)
    if partitioned():
        # Signals that landed in the default partition get their month's first, so that
        # the months dropped hold every signal of theirs (a dry run changes nothing).
        if not dry_run:
            signal_partitions_ensure()
        deleted, cutoff = signal_partitions_drop_before(cutoff, dry_run=dry_run)
    else:
        old = Signal.objects.filter(observed_at__lt=cutoff)
        deleted = old.count() if dry_run else delete_in_batches(old, batch)
    if dry_run:
        return deleted, cutoff, days
    audit_record(
        type=AuditEvent.Type.SIGNALS_PRUNED,
        actor_label=actor_label,
        message=f"{deleted} signal(s) observed before {cutoff:%Y-%m-%d} deleted",
        details={
            "older_than_days": older_than_days,
            "days_kept": days,
            "before": cutoff.isoformat(),
            "deleted": deleted,
        },
    )
    return deleted, cutoff, days
