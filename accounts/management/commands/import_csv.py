"""manage.py import_csv {accounts,metrics,signals} FILE: the upload page's import, from the
shell, with a progress bar."""

from __future__ import annotations

import os
import sys
from typing import BinaryIO

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from accounts.imports import (
    KINDS,
    ImportOptions,
    ImportResult,
    Progress,
    import_run,
    kind_columns,
    rejects_write,
)
from healthboard.lib.numbers import number_text

DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t"}
# Row errors printed; all of them go to --rejects.
SHOWN_ERRORS = 50


class Command(BaseCommand):
    help = (
        "Import accounts, metrics or signals from a CSV file (UTF-8, UTF-16 or Windows-1252; "
        "comma, semicolon or tab). All rows or none unless --skip-bad-rows. Exits 1 when "
        "nothing was written because of errors; a file whose rows are all stored already is "
        "not an error."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("path", help="The CSV file, or - for standard input.")
        parser.add_argument(
            "--skip-bad-rows",
            action="store_true",
            help="Import the good rows and leave the bad ones out (see --rejects).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check everything, write nothing."
        )
        parser.add_argument(
            "--source",
            default="",
            help="Signals: where they come from (crm, zendesk, …) when the file has no "
            "source column, or for its empty cells.",
        )
        parser.add_argument(
            "--day-first", action="store_true", help="Dates are 31/12/2026 or 31.12.2026."
        )
        parser.add_argument(
            "--create-missing",
            action="store_true",
            help="Accounts: create segments and journey stages the file names but the "
            "catalogue lacks (otherwise their rows are errors).",
        )
        parser.add_argument(
            "--decimal-comma",
            choices=["yes", "no"],
            help="Numbers use a decimal comma (default: yes for semicolon-delimited files).",
        )
        parser.add_argument("--encoding", help="Default: detected.")
        parser.add_argument("--delimiter", choices=sorted(DELIMITERS), help="Default: detected.")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=COLUMN",
            help="Read FIELD from the column named COLUMN (repeatable); FIELD= ignores it.",
        )
        parser.add_argument(
            "--rejects", metavar="PATH", help="Write the rejected rows and why to this CSV file."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, kind, path, **options):
        result = self.run_import(kind=kind, path=path, **options)
        if result.ok and result.skipped and not (result.written or result.unchanged):
            raise CommandError(_("Nothing was written: every row was bad."))

    def run_import(self, *, kind: str, path: str, **options) -> ImportResult:
        import_options = ImportOptions(
            skip_bad_rows=options.get("skip_bad_rows", False),
            day_first=options.get("day_first", False),
            decimal_comma=_yes_no(options.get("decimal_comma")),
            create_missing=options.get("create_missing", False),
            source=options.get("source") or "",
            encoding=options.get("encoding"),
            delimiter=DELIMITERS.get(options.get("delimiter") or ""),
            mapping=_mapping(kind, options.get("map") or []),
        )
        file, size = _open(path)
        bar = tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            desc=f"Reading {kind}",
            file=sys.stderr,
            disable=options.get("no_progress") or options.get("verbosity", 1) < 1,
        )

        def progress(step: Progress) -> None:
            bar.update(step.bytes_read - bar.n)
            bar.set_postfix(rows=number_text(step.rows_read), bad=step.rows_bad, refresh=False)

        with file:
            try:
                result = import_run(
                    kind=kind,
                    file=file,
                    options=import_options,
                    file_name=os.path.basename(path) if path != "-" else "stdin",
                    file_size=size,
                    dry_run=options.get("dry_run", False),
                    progress=progress,
                )
            finally:
                bar.close()
        self.report(result)
        if options.get("rejects") and result.errors:
            self.write_rejects(path, result, options["rejects"])
        if not result.ok:
            raise CommandError(result.message + self.error_excerpt(result))
        return result

    def report(self, result: ImportResult) -> None:
        if result.mapping:
            columns = ", ".join(f"{f} ← {h!r}" for f, h in result.mapping.items())
            self.stdout.write(_("Columns: %(columns)s.") % {"columns": columns})
        if result.unused_columns:
            self.stdout.write(
                _("Not imported: %(columns)s.")
                % {"columns": ", ".join(map(repr, result.unused_columns))}
            )
        if result.ok and result.errors:
            for error in result.errors[:SHOWN_ERRORS]:
                self.stdout.write(_("  skipped %(error)s") % {"error": error})
            if len(result.errors) > SHOWN_ERRORS:
                self.stdout.write(
                    _("  … and %(count)s more")
                    % {"count": format(len(result.errors) - SHOWN_ERRORS, ",")}
                )
        for note in result.notes:
            self.stdout.write(_("Note: %(note)s.") % {"note": note})
        if result.ok:
            self.stdout.write(self.style.SUCCESS(self.summary(result)))
        if result.accounts and result.rescore_scheduled is False:
            self.stdout.write(
                self.style.WARNING(
                    _(
                        "The re-score of %(count)s account(s) could not be scheduled "
                        "(%(problem)s): the nightly run will score them."
                    )
                    % {
                        "count": format(len(result.accounts), ","),
                        "problem": result.rescore_problem,
                    }
                )
            )
        elif result.accounts and result.rescore_scheduled:
            self.stdout.write(
                _("Re-scoring %(count)s account(s) in the background.")
                % {"count": format(len(result.accounts), ",")}
            )

    def summary(self, result: ImportResult) -> str:
        if result.kind != "signals" or result.dry_run:
            return result.summary()
        counts = {
            "created": number_text(result.created),
            "accounts": number_text(len(result.accounts)),
            "unchanged": number_text(result.unchanged),
            "skipped": number_text(result.skipped),
            "rows": number_text(result.rows_read),
            "seconds": number_text(result.seconds, 1),
        }
        if result.skipped:
            return (
                _(
                    "Imported %(created)s signal(s) for %(accounts)s account(s); %(unchanged)s "
                    "already stored were skipped; %(skipped)s bad row(s) left out (%(rows)s rows "
                    "read in %(seconds)s s)."
                )
                % counts
            )
        return (
            _(
                "Imported %(created)s signal(s) for %(accounts)s account(s); %(unchanged)s already "
                "stored were skipped (%(rows)s rows read in %(seconds)s s)."
            )
            % counts
        )

    def error_excerpt(self, result: ImportResult) -> str:
        if not result.errors:
            return ""
        lines = [f"  {error}" for error in result.errors[:SHOWN_ERRORS]]
        if len(result.errors) > SHOWN_ERRORS:
            lines.append(
                _("  … and %(count)s more (see --rejects)")
                % {"count": number_text(len(result.errors) - SHOWN_ERRORS)}
            )
        return "\n" + "\n".join(lines)

    def write_rejects(self, path: str, result: ImportResult, target: str) -> None:
        if path == "-":
            self.stderr.write(_("Rejected rows cannot be written for standard input."))
            return
        with open(path, "rb") as source, open(target, "w", newline="", encoding="utf-8") as out:
            count = rejects_write(file=source, result=result, out=out)
        self.stdout.write(
            _("Wrote %(count)s rejected row(s) to %(target)s.")
            % {"count": format(count, ","), "target": target}
        )


def _open(path: str) -> tuple[BinaryIO, int | None]:
    if path == "-":
        return sys.stdin.buffer, None
    try:
        return open(path, "rb"), os.path.getsize(path)
    except OSError as exc:
        raise CommandError(
            _("Cannot read %(path)s: %(strerror)s.") % {"path": path, "strerror": exc.strerror}
        ) from exc


def _yes_no(value: str | None) -> bool | None:
    return None if value is None else value == "yes"


def _mapping(kind: str, pairs: list[str]) -> dict[str, str]:
    fields = [c.field for c in kind_columns(kind)]
    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or field.strip() not in fields:
            raise CommandError(
                _("--map takes FIELD=COLUMN with FIELD one of %(fields)s.")
                % {"fields": ", ".join(fields)}
            )
        mapping[field.strip()] = column.strip()
    return mapping
