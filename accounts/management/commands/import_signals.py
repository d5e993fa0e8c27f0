import csv
import sys

from django.core.management.base import BaseCommand, CommandError

from accounts.ingest import FIELDS, IngestError, signals_ingest


class Command(BaseCommand):
    help = (
        "Import signals from a CSV file with columns account (CRM external id), metric (key), "
        "observed_at, value and optionally category, text, external_id. All rows or none."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV file, or - for standard input.")
        parser.add_argument(
            "--source", required=True, help="Where the signals come from (e.g. crm, zendesk)."
        )

    def handle(self, *args, path, source, **options):
        try:
            handle = sys.stdin if path == "-" else open(path, newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        with handle:
            reader = csv.DictReader(handle)
            missing = {"account", "metric", "observed_at", "value"} - set(reader.fieldnames or [])
            if missing:
                raise CommandError(
                    f"The CSV lacks column(s) {', '.join(sorted(missing))}; "
                    f"expected {', '.join(FIELDS)}."
                )
            try:
                # Row numbers count the header as row 1, as a spreadsheet shows them.
                result = signals_ingest(rows=reader, source=source, first_row=2)
            except IngestError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.created} signal(s) for {len(result.accounts)} account(s); "
                f"{result.duplicates} already stored were skipped."
            )
        )
