from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

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
            raise CommandError(f"{path} does not exist: run seed_demo first.")
        check = demo_check(truth_path=path, lead_days=lead_days)
        bands = ", ".join(f"{band} {n}" for band, n in check.churner_bands.most_common())
        self.stdout.write(
            f"Churners: {check.churners} ({check.churners_scored} with a score {lead_days}+ days "
            f"before churning: {bands})\n"
            f"  flagged red or yellow {lead_days}+ days before churn: "
            f"{check.churners_flagged:.0%}\n"
            f"Active accounts scored: {check.active_scored}\n"
            f"  rank correlation of score with hidden health: {check.rank_correlation:.2f}\n"
            f"  hidden health < 0.35 banded red or yellow: {check.low_health_flagged:.0%}"
        )
