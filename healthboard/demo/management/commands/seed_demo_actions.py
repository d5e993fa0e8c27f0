"""manage.py seed_demo_actions: a year of closed calls to action drawn from the stored scores
(healthboard/demo/actions.py), for the Analytics page's "Plays" tab. Run after the scores."""

import time

from django.core.management.base import BaseCommand

from healthboard.demo.actions import seed_action_history
from scoring.analytics.services import analysis_run_now
from scoring.models import AnalysisRun


class Command(BaseCommand):
    help = (
        "Create a history of closed calls to action (done with outcomes, or resolved by "
        "themselves) where the stored scores turned yellow or red; nothing when closed ones exist."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        result = seed_action_history()
        if result.skipped:
            self.stdout.write(f"No demo calls to action added: {result.skipped}.")
            return
        self.stdout.write(
            f"{result.created} closed calls to action ({result.done} done, {result.resolved} "
            f"resolved by themselves) in {time.monotonic() - started:.1f} s."
        )
        # The Plays tab opens with figures (an Admin refreshes it from the page).
        run = analysis_run_now(kind=AnalysisRun.Kind.PLAYS, parameters={})
        self.stdout.write(f"Plays analysed ({run.get_status_display().lower()}).")
