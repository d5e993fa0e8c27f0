"""manage.py export_csv {accounts,metrics,signals} [FILE]: the stored data in the import's own
columns (accounts.exports), so `import_csv` reads it back unchanged: a backup, or the way to
move a team's data to another Healthboard."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts.exports import account_rows, export_header, metric_rows, signal_rows
from accounts.models import Account, Metric, Signal
from healthboard.lib.csvfile import csv_lines


class Command(BaseCommand):
    help = (
        "Write accounts, metrics or signals as CSV in the columns import_csv reads (UTF-8, "
        "comma-delimited, formulas neutralised as in the app's exports). Streamed: memory "
        "stays flat however many rows there are."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=("accounts", "metrics", "signals"))
        parser.add_argument(
            "path",
            nargs="?",
            default="-",
            help="The file to write, or - (the default) for standard output.",
        )
        parser.add_argument(
            "--account",
            default="",
            help="Signals: only this account's (its external id).",
        )

    def handle(self, *args, kind: str, path: str, account: str, **options):
        rows = self._rows(kind, account)
        out = self.stdout if path == "-" else None
        try:
            if out is None:
                with open(path, "w", encoding="utf-8", newline="") as file:
                    written = self._write(file, kind, rows)
            else:
                written = self._write(out, kind, rows)
        except OSError as exc:
            raise CommandError(
                _("Cannot write %(path)s: %(why)s.") % {"path": path, "why": exc.strerror or exc}
            ) from exc
        if out is None:
            self.stderr.write(
                _("Wrote %(written)s %(kind)s to %(path)s.")
                % {"written": format(written, ","), "kind": kind, "path": path}
            )

    def _rows(self, kind: str, account: str):
        if kind == "accounts":
            return account_rows(Account.objects.order_by("external_id"))
        if kind == "metrics":
            return metric_rows(Metric.objects.order_by("key"))
        signals = Signal.objects.order_by("account_id", "observed_at", "pk")
        if account:
            found = Account.objects.filter(external_id=account).values_list("pk", flat=True)
            if not found:
                raise CommandError(
                    _("There is no account with external id %(account)r.") % {"account": account}
                )
            signals = signals.filter(account_id=found[0])
        return signal_rows(signals)

    @staticmethod
    def _write(out, kind: str, rows) -> int:
        written = -1  # the header
        for line in csv_lines(export_header(kind), rows):
            out.write(line)
            written += 1
        return written
