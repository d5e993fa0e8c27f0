from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from healthboard.demo.check import demo_check
from healthboard.demo.seed import DEFAULT_TRUTH_PATH


class Command(BaseCommand):
    help = "Report how well the scores recover the demo's hidden health and predict its churn."

    def add_arguments(self, parser):
        parser.add_argument("--truth", default=str(DEFAULT_TRUTH_PATH))
        parser.add_argument("--lead-days", type=int, default=14)

    def handle(self, *args, truth, lead_days, **options):
        path = Path(truth)
        if not path.exists():
            raise CommandError(_("%(path)s does not exist: run seed_demo first.") % {"path": path})
        check = demo_check(truth_path=path, lead_days=lead_days)
        bands = ", ".join(f"{band} {n}" for band, n in check.churner_bands.most_common())
        self.stdout.write(
            _(
                "Churners: %(churners)s (%(churners_scored)s with a score %(lead_days)s+ days "
                "before churning: %(bands)s)\n  flagged red or yellow %(lead_days)s+ days before "
                "churn: %(churners_flagged)s\nActive accounts scored: %(active_scored)s\n  rank "
                "correlation of score with hidden health: %(rank_correlation).2f\n  hidden health "
                "< 0.35 banded red or yellow: %(low_health_flagged)s"
            )
            % {
                "churners": check.churners,
                "churners_scored": check.churners_scored,
                "lead_days": lead_days,
                "bands": bands,
                "churners_flagged": format(check.churners_flagged, ".0%"),
                "active_scored": check.active_scored,
                "rank_correlation": check.rank_correlation,
                "low_health_flagged": format(check.low_health_flagged, ".0%"),
            }
        )
