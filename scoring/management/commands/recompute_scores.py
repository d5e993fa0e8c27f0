import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from tqdm import tqdm

from healthboard.lib.numbers import number_text
from scoring.engine import ScorecardError
from scoring.models import ScoreRun
from scoring.pipeline import backfill_runs, runs


def parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(
            _("%(value)r is not a date; use YYYY-MM-DD.") % {"value": value}
        ) from exc


class Command(BaseCommand):
    help = (
        "Recompute health scores for a date (default today), or back-fill every day since a date."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", type=parse_date, help="Score this date (default: today).")
        parser.add_argument(
            "--since", type=parse_date, help="Back-fill one snapshot per day from this date."
        )
        parser.add_argument(
            "--sync", action="store_true", help="Run here instead of on the Celery workers."
        )
        parser.add_argument("--chunk-size", type=int, default=None)

    def handle(self, *args, date=None, since=None, sync=False, chunk_size=None, **options):
        end = date or timezone.localdate()
        if end > timezone.localdate():
            raise CommandError(_("--date %(end)s is in the future.") % {"end": end})
        start = since or end
        if start > end:
            raise CommandError(
                _("--since %(start)s is after %(end)s.") % {"start": start, "end": end}
            )
        if chunk_size is not None and chunk_size < 1:
            raise CommandError(_("--chunk-size must be at least 1."))
        days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
        started = time.perf_counter()
        if sync:
            self._run_here(days, chunk_size)
        elif len(days) > 1:
            self._backfill_on_worker(days)
        else:
            self._run_on_workers(days)
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                _("Scored %(count)s day(s) in %(elapsed)s s.")
                % {"count": number_text(len(days)), "elapsed": number_text(elapsed, 1)}
            )
        )

    def _run_here(self, days, chunk_size):
        try:
            if len(days) > 1:
                # Back-fills read the signals once per block of days, not once per day.
                with tqdm(total=len(days), unit="day", file=self.stderr) as bar:
                    backfill_runs.run_backfill(first=days[0], last=days[-1], progress=bar.update)
                return
            with tqdm(unit="account", file=self.stderr, desc=str(days[0])) as bar:
                run = runs.run_sync(
                    as_of=days[0], trigger="manual", chunk_size=chunk_size, progress=bar.update
                )
        except (runs.RunInProgress, ScorecardError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _("%(days)s: %(accounts_done)s accounts scored (run %(run_id)s).")
            % {"days": days[0], "accounts_done": run.accounts_done, "run_id": run.pk}
        )

    def _run_on_workers(self, days):
        from scoring.tasks import nightly_run

        for day in days:
            run_id = nightly_run.delay(day.isoformat(), trigger="manual").get()
            if run_id is None:
                raise CommandError(_("A score run for %(day)s is already running.") % {"day": day})
            run = ScoreRun.objects.get(pk=run_id)
            bar = tqdm(total=run.accounts_total, unit="account", desc=str(day), file=self.stderr)
            while run.status == ScoreRun.Status.RUNNING:
                time.sleep(0.5)
                run.refresh_from_db()
                bar.n = min(run.accounts_done, run.accounts_total)
                bar.refresh()
            bar.close()
            if run.status != ScoreRun.Status.DONE:
                raise CommandError(
                    _("The run for %(day)s failed: %(error)s") % {"day": day, "error": run.error}
                )
            self.stdout.write(
                _("%(day)s: %(accounts_done)s accounts scored (run %(run_id)s).")
                % {"day": day, "accounts_done": run.accounts_done, "run_id": run.pk}
            )

    def _backfill_on_worker(self, days):
        """The days in one task, set-based as with --sync: a nightly run per day costs a dozen
        round trips a day (backfill_runs)."""
        from scoring.tasks import run_backfill

        first, last = days[0], days[-1]
        try:
            result = run_backfill.delay(first.isoformat(), last.isoformat())
            with tqdm(total=len(days), unit="day", file=self.stderr) as bar:
                while not result.ready():
                    time.sleep(0.5)
                    if result.state == "PROGRESS":
                        bar.n = result.info["days"]
                        bar.refresh()
                if result.successful():
                    bar.n = len(days)
            run_ids = result.get()
        except ScorecardError as exc:
            raise CommandError(str(exc)) from exc
        except Exception as exc:
            raise CommandError(
                _("The back-fill from %(first)s to %(last)s failed: %(error)s")
                % {"first": first, "last": last, "error": f"{type(exc).__name__}: {exc}"}
            ) from exc
        if run_ids is None:
            raise CommandError(
                _("A score run between %(first)s and %(last)s is already running.")
                % {"first": first, "last": last}
            )
        for run in ScoreRun.objects.filter(pk__in=run_ids).order_by("date"):
            self.stdout.write(
                _("%(day)s: %(accounts_done)s accounts scored (run %(run_id)s).")
                % {"day": run.date, "accounts_done": run.accounts_done, "run_id": run.pk}
            )
