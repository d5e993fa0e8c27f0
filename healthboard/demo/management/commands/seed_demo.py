"""manage.py seed_demo: a deterministic demo data set (the logic lives in healthboard.demo)."""

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts.models import Account
from healthboard.demo import DemoError
from healthboard.demo.plan import ACCOUNT_PREFIX
from healthboard.demo.seed import DEFAULT_TRUTH_PATH, MAX_ACCOUNTS, MAX_DAYS, generate


class Command(BaseCommand):
    help = (
        "Create demo login users, accounts with a hidden health, their signals, notes and "
        "stage changes; the same seed gives the same data. Writes the hidden health to "
        "var/demo_truth.json for the scoring validation."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--accounts",
            type=int,
            default=2000,
            help=f"Number of accounts, 1–{MAX_ACCOUNTS} (default 2000).",
        )
        parser.add_argument(
            "--days",
            type=int,
            default=365,
            help=f"Days of history, 1–{MAX_DAYS} (default 365).",
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--end-date", metavar="YYYY-MM-DD", help="Last day of the history (default: today)."
        )
        parser.add_argument(
            "--signals-per-account",
            type=int,
            metavar="N",
            help="Scale signal frequencies so each account gets about N signals in the history.",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help=f"Delete the demo accounts (external ids {ACCOUNT_PREFIX}…) and their "
            "signals, notes and scores first.",
        )
        parser.add_argument(
            "--truth-file",
            default=str(DEFAULT_TRUTH_PATH),
            help="Where to write the hidden health (default var/demo_truth.json).",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database has accounts (make run: no second seed).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off (the demo users' passwords are published).",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            # The demo logs in with passwords printed in the README, a superuser among them:
            # never on a production database by accident.
            raise CommandError(
                _(
                    "seed_demo creates login users (a superuser among them) whose passwords are "
                    "published, so it runs only in development, and DEBUG is off. Set DEBUG=true "
                    "(make run does), or pass --force if this database really is for a demo."
                )
            )
        if options["if_empty"] and Account.objects.exists():
            self.stdout.write(_("Demo data already present: not seeding."))
            return
        end_date = None
        if options["end_date"]:
            try:
                end_date = dt.date.fromisoformat(options["end_date"])
            except ValueError:
                raise CommandError(
                    _("--end-date must be a date like 2025-06-30 (got %(value)r)")
                    % {"value": options["end_date"]}
                ) from None
        try:
            result = generate(
                accounts=options["accounts"],
                days=options["days"],
                seed=options["seed"],
                end_date=end_date,
                signals_per_account=options["signals_per_account"],
                reset=options["reset"],
                truth_path=options["truth_file"] or None,
                progress=self.stdout.write,
            )
        except DemoError as error:
            raise CommandError(str(error)) from error

        out = self.stdout.write
        out(
            f"wrote {result.signals:,} signals in {result.signal_write_s:.1f} s "
            f"({result.signals_per_s:,.0f} signals/s)"
        )
        churn = result.churn_rate
        out(
            self.style.SUCCESS(
                _(
                    "Done in %(elapsed_s).1f s: %(accounts)s accounts (%(churned)s churned, "
                    "%(churn)s over %(days)s days), %(signals)s signals, %(notes)s notes; "
                    "history %(start_date)s → %(end_date)s."
                )
                % {
                    "elapsed_s": result.elapsed_s,
                    "accounts": format(result.accounts, ","),
                    "churned": format(result.churned, ","),
                    "churn": format(churn, ".1%"),
                    "days": options["days"],
                    "signals": format(result.signals, ","),
                    "notes": format(result.notes, ","),
                    "start_date": result.start_date,
                    "end_date": result.end_date,
                }
            )
        )
        if result.truth_path:
            out(f"Hidden health written to {result.truth_path}")
        out("Demo logins (username / password, role):")
        for username, password, role, created in result.users:
            note = "" if created else "  (already existed: password unchanged)"
            out(f"  {username:<8} / {password:<20} {role}{note}")
