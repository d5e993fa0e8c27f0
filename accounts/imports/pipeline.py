"""One import, start to end: read the file in batches, check each row, stage the good ones,
check the whole file (duplicates), then write everything in one transaction, or the good
rows only when asked to skip bad ones. Nothing is written before every row was read and
checked, and nothing at all when a row is bad and bad rows are not to be skipped.

An ImportJob records the import (who, when, the file, the counts, the errors) and is
updated after every batch, outside the import's own transaction, so a page can poll it.
After the commit the touched accounts are announced with `signals_ingested` (scoring
re-scores them); an announcement that fails (Redis down) never fails the import: the
nightly run scores those accounts anyway.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import BinaryIO

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.imports import direct
from accounts.imports.columns import Column, ColumnMapping, column_mapping
from accounts.imports.errors import ImportRefused, RowError, TooManyErrors
from accounts.imports.kinds import Counts, DuplicateKey, Kind
from accounts.imports.kinds.accounts import AccountsKind
from accounts.imports.kinds.metrics import MetricsKind
from accounts.imports.kinds.signals import SignalsKind
from accounts.imports.options import ImportOptions, Limits
from accounts.imports.reader import table_open
from accounts.imports.staging import Staging
from accounts.models import ImportJob, Signal
from accounts.signals import signals_ingested
from healthboard.lib.numbers import number_text

logger = logging.getLogger(__name__)

KINDS: dict[str, type[Kind]] = {k.name: k for k in (AccountsKind, MetricsKind, SignalsKind)}
# Errors kept in an ImportJob's summary (all of them are in the result).
SUMMARY_ERRORS = 20


def kind_columns(kind: str) -> tuple[Column, ...]:
    """The columns a kind reads, for documentation and the mapping form."""
    return _kind(kind).columns


# ---------------------------------------------------------------- results


@dataclass
class Progress:
    rows_read: int
    bytes_read: int
    rows_bad: int


@dataclass
class ImportResult:
    """How an import went (or, for a dry run or a preview, would go).

    status is one of ImportJob.Status' finished values: "done" (committed), "refused"
    (nothing written: bad rows, or the file could not be read), or "checked" (a dry run
    that found nothing wrong). `errors` holds every row error, by row (at most
    IMPORT_MAX_ERRORS: more and the import stops, refused)."""

    kind: str
    status: str = ImportJob.Status.PENDING
    message: str = ""
    encoding: str = ""
    delimiter: str = ""
    header: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    unused_columns: list[str] = field(default_factory=list)
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    accounts: set[int] = field(default_factory=set)
    # None: not tried (nothing new, a dry run, or still inside an outer transaction).
    rescore_scheduled: bool | None = None
    rescore_problem: str = ""
    seconds: float = 0.0
    job_id: int | None = None
    preview: list[dict[str, object]] = field(default_factory=list)
    dry_run: bool = False
    # Seconds per step: read (and check each row), check (the whole file), write, commit
    # (with the checks PostgreSQL defers to it and the hand-off of the re-scores).
    timings: dict[str, float] = field(default_factory=dict)

    def lap(self, step: str, since: float) -> float:
        now = time.monotonic()
        self.timings[step] = round(now - since, 3)
        return now

    @property
    def written(self) -> int:
        return self.created + self.updated

    @property
    def ok(self) -> bool:
        return self.status in (ImportJob.Status.DONE, "checked")

    @property
    def rejected_rows(self) -> list[int]:
        """The numbers of the rows left out (skip bad rows) or that refused the import."""
        return sorted({e.row for e in self.errors if e.row > 0})

    def summary(self) -> str:
        """One line a person reads."""
        if not self.ok:
            return self.message
        n = {
            "created": number_text(self.created),
            "updated": number_text(self.updated),
            "unchanged": number_text(self.unchanged),
            "skipped": number_text(self.skipped),
        }
        if self.dry_run:
            parts = [_("Would import %(created)s new") % n]
            if self.updated:
                parts.append(_("would update %(updated)s") % n)
        else:
            parts = [_("Imported %(created)s new") % n]
            if self.updated:
                parts.append(_("updated %(updated)s") % n)
        parts.append(_("%(unchanged)s already stored") % n)
        if self.skipped:
            parts.append(_("%(skipped)s bad row(s) skipped") % n)
        return _("%(summary)s (%(rows)s rows read in %(seconds)s s).") % {
            "summary": ", ".join(parts),
            "rows": number_text(self.rows_read),
            "seconds": number_text(self.seconds, 1),
        }


# ---------------------------------------------------------------- entry points


def import_run(
    *,
    kind: str,
    file: BinaryIO,
    options: ImportOptions | None = None,
    user=None,
    file_name: str = "",
    file_size: int | None = None,
    job: ImportJob | None = None,
    dry_run: bool = False,
    progress: Callable[[Progress], None] | None = None,
) -> ImportResult:
    """Import a CSV file (a binary file object) of `kind` ("accounts", "metrics" or
    "signals"). Never raises for what is wrong with the file: the result says what was
    refused and why. A real run is recorded in an ImportJob (given, e.g. created as pending
    by an upload page, or created here); a dry run checks everything and writes nothing,
    not even a job."""
    if job is not None and options is None:
        options = ImportOptions.from_json(job.options)
    options = options or ImportOptions()
    if not dry_run:
        job = job or ImportJob.objects.create(
            kind=kind,
            user=user if getattr(user, "pk", None) else None,
            file_name=file_name[:255],
            file_size=file_size,
            options=options.to_json(),
        )
    run = functools.partial(
        _run,
        kind=kind,
        records=None,
        file=file,
        options=options,
        user=user,
        job=job,
        write=not dry_run,
        keep=0,
        progress=progress,
    )
    if not dry_run and direct.possible(kind=kind, options=options, file=file):
        origin = file.tell()
        if (result := run(direct_first=True)) is not None:
            return result
        file.seek(origin)
    return run()


def import_preview(
    *,
    kind: str,
    file: BinaryIO,
    options: ImportOptions | None = None,
    rows: int = 20,
    progress: Callable[[Progress], None] | None = None,
) -> ImportResult:
    """Everything an import would do, without writing: the detected encoding and
    delimiter, the column mapping, the first `rows` rows as parsed (result.preview), every
    row error, and the counts it would write. `progress` is called after every batch."""
    return _run(
        kind=kind,
        records=None,
        file=file,
        options=options or ImportOptions(),
        user=None,
        job=None,
        write=False,
        keep=rows,
        progress=progress,
    )


def import_records(
    *,
    kind: str,
    records: Iterable[Mapping[str, object]],
    options: ImportOptions | None = None,
    user=None,
    first_row: int = 1,
    dry_run: bool = False,
) -> ImportResult:
    """Import rows given as mappings of field → value (an API batch), with the same checks,
    de-duplication and all-or-nothing write as a file. Row numbers count from `first_row`;
    a missing key is an empty cell. Not recorded as an ImportJob."""
    columns = _kind(kind).columns
    fields = [c.field for c in columns]
    options = options or ImportOptions()

    def cells() -> Iterator[tuple[int, list[str]]]:
        # Inline: 10,000 items × 8 fields are 80,000 calls per API batch.
        for number, record in enumerate(records, start=first_row):
            yield (
                number,
                [
                    v if v.__class__ is str else "" if v is None else str(v)
                    for v in map(record.get, fields)
                ],
            )

    run = functools.partial(
        _run,
        kind=kind,
        file=None,
        options=options,
        user=user,
        job=None,
        write=not dry_run,
        keep=0,
        progress=None,
    )
    again = isinstance(records, Sequence)
    if not dry_run and again and direct.possible(kind=kind, options=options):
        if (result := run(records=(fields, cells()), direct_first=True)) is not None:
            return result
    return run(records=(fields, cells()))


# ---------------------------------------------------------------- the run


def _kind(kind: str) -> type[Kind]:
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"Unknown import kind {kind!r}: one of {', '.join(KINDS)}.") from None


def _run(
    *,
    kind: str,
    records: tuple[Sequence[str], Iterator[tuple[int, list[str]]]] | None,
    file: BinaryIO | None,
    options: ImportOptions,
    user,
    job: ImportJob | None,
    write: bool,
    keep: int,
    progress: Callable[[Progress], None] | None,
    direct_first: bool = False,
) -> ImportResult | None:
    """The import; with direct_first, None when the file could not go in directly (nothing
    was written: the caller rewinds the file and runs the staged path)."""
    started = lap = time.monotonic()
    limits = Limits.from_settings()
    handler = _kind(kind)(options=options, limits=limits, user=user)
    result = ImportResult(kind=kind, dry_run=not write, job_id=job.pk if job else None)
    _job_update(job, status=ImportJob.Status.READING, started_at=timezone.now())
    bytes_read = lambda: 0  # noqa: E731
    try:
        if records is None:
            table = table_open(
                file, limits=limits, encoding=options.encoding, delimiter=options.delimiter
            )
            header, rows = table.header, iter(table)
            bytes_read = lambda: table.bytes_read  # noqa: E731
            result.delimiter = table.delimiter
        else:
            table = None
            header, rows = list(records[0]), records[1]
        mapping = column_mapping(handler.columns, header, options.mapping)
        result.header, result.mapping = list(header), mapping.as_dict()
        result.unused_columns = mapping.unused
        decimal_comma = (
            options.decimal_comma if options.decimal_comma is not None else result.delimiter == ";"
        )
        handler.start(mapping, decimal_comma=decimal_comma)
        if direct_first:
            in_memory = table is None
            if not _direct(handler, rows, result, limits, job, progress, bytes_read, in_memory):
                return None
            lap = result.lap("write", lap)
            if table is not None:
                result.encoding = table.encoding_label
            result.status = ImportJob.Status.DONE
        else:
            lap = _staged(
                handler, rows, table, result, mapping, options, limits, keep, job, write,
                progress, bytes_read, lap,
            )  # fmt: skip
    except ImportRefused as exc:
        result.status = ImportJob.Status.REFUSED
        result.message = str(exc)
        result.created = result.updated = result.unchanged = result.skipped = 0
    except Exception as exc:
        result.seconds = time.monotonic() - started
        _job_finish(job, result, status=ImportJob.Status.FAILED, message=f"Failed: {exc}")
        raise
    result.seconds = time.monotonic() - started
    if result.status == ImportJob.Status.DONE:
        result.message = result.summary()
    _job_finish(job, result, status=result.status, message=result.message)
    return result


def _direct(handler, rows, result, limits, job, progress, bytes_read, in_memory) -> bool:
    """Straight into the signals table (accounts.imports.direct); False when it could not."""

    def counted(rows_read: int) -> None:
        result.rows_read = rows_read
        if progress:
            progress(Progress(rows_read, bytes_read(), 0))

    try:
        counts = direct.write(
            handler=handler,
            rows=rows,
            limits=limits,
            job=job,
            counted=counted,
            bytes_read=bytes_read,
            in_memory=in_memory,
        )
    except direct.Fallback as exc:
        logger.info("Importing the file through the stage: %s.", exc)
        result.rows_read = 0
        return False
    _counts(result, counts)
    if counts.accounts:
        _announce_on_commit(counts.accounts, result, job)
    return True


def _staged(
    handler, rows, table, result, mapping, options, limits, keep, job, write, progress,
    bytes_read, lap,
) -> float:  # fmt: skip
    """Every row checked and staged, the whole file checked, then written in one
    transaction (or, without `write`, counted)."""
    with Staging(handler.staging) as stage:
        _read(handler, stage, rows, result, limits, keep, job, progress, bytes_read)
        lap = result.lap("read", lap)
        if table is not None:
            result.encoding = table.encoding_label
        stage.analyze()
        errors = result.errors
        errors += _duplicates(handler, stage, mapping, limits, len(errors))
        lap = result.lap("check", lap)
        _check_cap(errors, limits, result.rows_read)
        errors.sort()
        result.skipped = len(result.rejected_rows) if options.skip_bad_rows else 0
        if errors and not options.skip_bad_rows:
            raise ImportRefused(
                _(
                    "%(problems)s problem(s) in %(rows)s row(s): nothing imported. Fix them, or "
                    "skip the bad rows."
                )
                % {
                    "problems": format(len(errors), ","),
                    "rows": format(len(result.rejected_rows), ","),
                }
            )
        if options.skip_bad_rows and errors:
            stage.delete_rows(result.rejected_rows)
        if not write:
            _counts(result, handler.estimate(stage))
            result.status = "checked"
        else:
            _job_update(job, status=ImportJob.Status.WRITING, bytes_read=bytes_read())
            with transaction.atomic():
                counts = handler.write(stage)
                if counts.accounts:
                    _announce_on_commit(counts.accounts, result, job)
                lap = result.lap("write", lap)
            lap = result.lap("commit", lap)
            _counts(result, counts)
            result.status = ImportJob.Status.DONE
    return lap


def _read(handler, stage, rows, result, limits, keep, job, progress, bytes_read) -> None:
    errors = result.errors
    while batch := list(islice(rows, limits.batch_rows)):
        staged, bad = handler.parse(batch)
        result.rows_read += len(batch)
        errors += bad
        _check_cap(errors, limits, batch[-1][0])
        stage.load(staged)
        if len(result.preview) < keep:
            result.preview += [
                {"row": row[0], **handler.display(row)}
                for row in staged[: keep - len(result.preview)]
            ]
        _job_update(
            job, rows_read=result.rows_read, bytes_read=bytes_read(), error_count=len(errors)
        )
        if progress:
            progress(Progress(result.rows_read, bytes_read(), len(errors)))


def _duplicates(
    handler: Kind, stage: Staging, mapping: ColumnMapping, limits: Limits, found: int
) -> list[RowError]:
    """Rows that repeat an earlier row's key (one query per key over the staged rows)."""
    errors: list[RowError] = []
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Each check sorts every staged row once; in memory rather than on disk.
            stage.execute("SET LOCAL work_mem = '64MB'")
        for key in handler.duplicate_keys:
            errors += _duplicates_of(key, handler, stage, mapping, limits, found + len(errors))
    return errors


def _duplicates_of(
    key: DuplicateKey,
    handler: Kind,
    stage: Staging,
    mapping: ColumnMapping,
    limits: Limits,
    found: int,
) -> list[RowError]:
    columns = ", ".join(key.columns)
    rows = stage.fetch(
        f"""
        SELECT row_no, first_row, {columns} FROM (
            SELECT row_no, {columns}, MIN(row_no) OVER (PARTITION BY {columns}) AS first_row
            FROM {{stage}} WHERE {key.where}
        ) d WHERE row_no > first_row ORDER BY row_no LIMIT %s
        """,
        [limits.max_errors - found + 1],
    )
    return [
        RowError(
            row, mapping.column(key.field), handler.duplicate_reason(key, tuple(values), first)
        )
        for row, first, *values in rows
    ]


def _check_cap(errors: list[RowError], limits: Limits, row: int) -> None:
    if len(errors) > limits.max_errors:
        raise TooManyErrors(
            _(
                "More than %(max)s problems (stopped at row %(row)s): nothing imported. Check "
                "the column mapping and the file's format (delimiter, decimal commas, day-first "
                "dates). First: %(first)s."
            )
            % {
                "max": number_text(limits.max_errors),
                "row": number_text(row),
                "first": "; ".join(str(e) for e in errors[:5]),
            }
        )


def _counts(result: ImportResult, counts: Counts) -> None:
    result.created, result.updated, result.unchanged = (
        counts.created,
        counts.updated,
        counts.unchanged,
    )
    result.accounts = counts.accounts
    result.notes += counts.notes


# ---------------------------------------------------------------- after the commit


def _announce_on_commit(accounts: set[int], result: ImportResult, job: ImportJob | None) -> None:
    """Once committed, tell the layers above which accounts have new signals (scoring
    re-scores them). Robust twice over: a receiver's failure (the broker is down) is
    reported in the result, and nothing here can undo the commit."""

    def announce() -> None:
        responses = signals_ingested.send_robust(sender=Signal, account_ids=accounts)
        problems = [resp for _task, resp in responses if isinstance(resp, Exception)]
        result.rescore_scheduled = not problems
        if problems:
            result.rescore_problem = f"{type(problems[0]).__name__}: {problems[0]}"
            logger.warning(
                "Imported signals of %d account(s), but their re-score could not be "
                "scheduled (%s); the nightly run will score them.",
                len(accounts),
                result.rescore_problem,
            )
        if job is not None:
            ImportJob.objects.filter(pk=job.pk).update(result=_job_result(result))

    transaction.on_commit(announce, robust=True)


# ---------------------------------------------------------------- the job record


def _job_update(job: ImportJob | None, **values) -> None:
    if job is None:
        return
    for name, value in values.items():
        setattr(job, name, value)
    ImportJob.objects.filter(pk=job.pk).update(**values)


def _job_result(result: ImportResult) -> dict[str, object]:
    return {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "skipped": result.skipped,
        "accounts": len(result.accounts),
        "encoding": result.encoding,
        "delimiter": result.delimiter,
        "mapping": result.mapping,
        "notes": result.notes,
        "rescore_scheduled": result.rescore_scheduled,
        "rescore_problem": result.rescore_problem,
        "seconds": round(result.seconds, 3),
        "timings": result.timings,
    }


def _job_finish(job: ImportJob | None, result: ImportResult, *, status: str, message: str) -> None:
    if job is None:
        return
    shown = "\n".join(str(e) for e in result.errors[:SUMMARY_ERRORS])
    more = len(result.errors) - SUMMARY_ERRORS
    if more > 0:
        shown += "\n" + _("… and %(count)s more") % {"count": number_text(more)}
    _job_update(
        job,
        status=status,
        finished_at=timezone.now(),
        rows_read=result.rows_read,
        rows_written=result.written,
        rows_unchanged=result.unchanged,
        rows_skipped=result.skipped,
        error_count=len(result.errors),
        error_summary="\n".join(part for part in (message, shown) if part),
        result=_job_result(result),
    )
