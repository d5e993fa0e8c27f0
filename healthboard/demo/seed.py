"""seed.generate(): the demo data set, written in one transaction.

Deterministic accounts, owners, hidden health, signals and notes (plan.py says how the seed
is used). The hidden health is the answer key for the scoring validation: generate() returns
it and writes it to var/demo_truth.json ({external_id: {"health_now", "health_min_90d",
"churned", "churn_date", "as_of"}}); "now" is the end date, or the churn date for churned
accounts.

Speed: numpy over whole chunks of accounts, PostgreSQL COPY (SQLite: executemany), one
transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account, Signal
from accounts.partitions import signal_partitions_ensure
from healthboard.demo import DemoError
from healthboard.demo.companies import write_accounts
from healthboard.demo.plan import ACCOUNT_PREFIX, Catalogue, Plan, epoch
from healthboard.demo.users import ensure_users
from healthboard.demo.writers import (
    BulkWriter,
    SignalSink,
    delete_demo_accounts,
    drop_signal_indexes,
    rebuild_signal_indexes,
    sqlite_cache,
)

MAX_ACCOUNTS = 1_000_000
MAX_DAYS = 3650
MAX_SIGNALS_PER_ACCOUNT = 100_000
DEFAULT_TRUTH_PATH = Path(settings.BASE_DIR) / "var" / "demo_truth.json"


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
    cap_epoch = min(epoch(end_date) + 86400 - 1, int(time.time()))
    result = DemoResult(end_date=end_date, start_date=end_date - dt.timedelta(days=days - 1))

    with transaction.atomic(), sqlite_cache():
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
            result.deleted_accounts, rebuild = delete_demo_accounts()
            say(f"deleted {result.deleted_accounts:,} demo accounts and their signals and notes")
        # The history's months get their partitions before its signals arrive (PostgreSQL;
        # else they would wait in the default partition to be moved).
        signal_partitions_ensure(since=result.start_date)
        catalogue = Catalogue.load()
        owners, result.users = ensure_users()
        plan = Plan.draw(
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
        writer = BulkWriter()
        truth: dict[str, dict] = {}
        accounts_started = time.perf_counter()
        for chunk in range(plan.chunks):
            n_notes, n_churned = write_accounts(plan, chunk, writer, truth, cap_epoch)
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
            rebuild = drop_signal_indexes()
        with SignalSink(catalogue.metric_ids, say) as write_signals:
            for chunk in range(plan.chunks):
                part = plan.chunk_slice(chunk)
                result.signals += write_signals(
                    plan.account_ids[part],
                    plan.ext_ids[part],
                    plan.chunk_signals(chunk, cap_epoch),
                )
                if _report(chunk, plan.chunks):
                    say(
                        f"  signals generated: {result.signals:,} (accounts "
                        f"{plan.chunk_end(chunk):,}/{accounts:,})"
                    )
        if rebuild:
            rebuild_signal_indexes(rebuild, say)
        result.signal_write_s = time.perf_counter() - signals_started

    result.truth = truth
    if truth_path is not None:
        result.truth_path = _write_truth(Path(truth_path), truth)
    result.elapsed_s = time.perf_counter() - started
    return result


def _report(chunk: int, chunks: int) -> bool:
    """About ten progress lines, whatever the number of chunks."""
    return chunk == chunks - 1 or (chunk + 1) % max(1, chunks // 10) == 0


def _write_truth(path: Path, truth: dict[str, dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    with partial.open("w", encoding="utf-8") as handle:
        json.dump(truth, handle, separators=(",", ":"))
    os.replace(partial, path)
    return path
