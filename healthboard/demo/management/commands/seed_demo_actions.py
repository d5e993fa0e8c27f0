"""manage.py seed_demo_actions: a year of closed calls to action drawn from the stored scores
(healthboard/demo/actions.py), for the Analytics page's "Plays" tab. Run after the scores."""

import time

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

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
            self.stdout.write(
                _("No demo calls to action added: %(skipped)s.") % {"skipped": result.skipped}
            )
            return
        self.stdout.write(
            _(
                "%(created)s closed calls to action (%(done)s done, %(resolved)s resolved by "
                "themselves) in %(seconds).1f s."
            )
            % {
                "created": result.created,
                "done": result.done,
                "resolved": result.resolved,
                "seconds": time.monotonic() - started,
            }
        )
        # The Plays tab opens with figures (an Admin refreshes it from the page).
        run = analysis_run_now(kind=AnalysisRun.Kind.PLAYS, parameters={})
        self.stdout.write(
            _("Plays analysed (%(status)s).") % {"status": run.get_status_display().lower()}
        )
