"""manage.py import_signals FILE --source NAME: `import_csv signals`, under its old name."""

from accounts.management.commands.import_csv import Command as ImportCsvCommand


class Command(ImportCsvCommand):
    help = (
        "Import signals from a CSV file with columns account (CRM external id), metric (key), "
        "observed_at, value and optionally category, text, source, external_id. All rows or "
        "none. The same as `import_csv signals`."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV file, or - for standard input.")
        parser.add_argument(
            "--source", required=True, help="Where the signals come from (e.g. crm, zendesk)."
        )
        parser.add_argument("--skip-bad-rows", action="store_true")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--day-first", action="store_true")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, path, **options):
        super().handle(kind="signals", path=path, **options)
