from django.core.management.base import BaseCommand

from scoring.analytics.command import add_period_arguments, emit, run
from scoring.bands import ORDER
from scoring.models import AnalysisRun


def _rate(cell: dict) -> str:
    if cell["rate"] is None:
        return f"{cell['label']}: no scores"
    return (
        f"{cell['label']}: {100 * cell['rate']:.1f} % churned ({cell['k']} of {cell['n']}; "
        f"95 % {100 * cell['low']:.1f}–{100 * cell['high']:.1f} %)"
    )


class Command(BaseCommand):
    help = (
        "Back-test a scorecard version (or a draft) over a period: churn rate per band, AUC, "
        "lift and each measure's AUC, with scores as of monthly evaluation dates."
    )

    def add_arguments(self, parser):
        add_period_arguments(parser, draft=True)

    def handle(self, *args, **options):
        result = run(AnalysisRun.Kind.BACKTEST, options).result
        kind = "draft" if result["is_draft"] else "version"
        lines = [
            f"Back-test of “{result['scorecard']}” {kind} {result['version']}, "
            f"{result['start']} to {result['end']}, horizon {result['horizon_days']} days "
            f"({result['seconds']} s)."
        ]
        if result["status"] != "ok":
            lines.append("Not enough data:")
            lines += [f"  - {m}" for m in result["missing"]]
        else:
            auc = result["auc"]
            interval = (
                f" (95 % {result['auc_low']:.3f}–{result['auc_high']:.3f})"
                if result["auc_low"] is not None
                else ""
            )
            lines.append(f"AUC {auc:.3f}{interval}")
            lines += [f"  {_rate(result['churn_rate_by_band'][b])}" for b in ORDER]
            lines += result["interpretation"]
        emit(result, lines, self.stdout, as_json=options["json"])
