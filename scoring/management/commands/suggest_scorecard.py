from django.core.management.base import CommandError

from scoring.analytics.command import add_period_arguments, emit, run
from scoring.management.commands.backtest import Command as BacktestCommand
from scoring.models import AnalysisRun
from scoring.services import SuggestionNotApplicable, scorecard_draft_suggest


def _auc(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def _measure(w: dict) -> str:
    spread = "–" if w["weight_sd"] is None else f"{w['weight_sd']:.1f}"
    way = "more is better" if w["direction"] > 0 else "more is worse"
    return f"  {w['weight']:5.1f} ± {spread}  {w['name']} [{w['rule']}, {way}]"


class Command(BacktestCommand):
    help = (
        "Suggest a scorecard learned from churned and loyal accounts over a period "
        "(cross-validated by account) and save it as a draft of the scorecard."
    )

    def add_arguments(self, parser):
        add_period_arguments(parser, draft=False)

    def handle(self, *args, **options):
        analysis = run(AnalysisRun.Kind.SUGGESTION, options)
        result = analysis.result
        lines = [
            f"Suggested scorecard for “{result['scorecard']}”, {result['start']} to "
            f"{result['end']}, horizon {result['horizon_days']} days ({result['seconds']} s)."
        ]
        if result["status"] != "ok":
            lines.append("Not enough data:")
            lines += [f"  - {m}" for m in result["missing"]]
        else:
            try:
                draft = scorecard_draft_suggest(analysis=analysis, user=None)
            except SuggestionNotApplicable as exc:
                raise CommandError(str(exc)) from exc
            result = analysis.result
            lines += [
                f"Out-of-sample AUC: current {_auc(result['auc_current_cv'])}, suggested "
                f"{_auc(result['auc_suggested_cv'])}, plain logistic regression "
                f"{_auc(result['auc_logistic_cv'])}.",
                f"Saved as draft v{draft.number} (id {draft.pk}); publish it in the editor.",
                "Measures (weight of 100 ± spread across folds):",
            ]
            lines += [_measure(w) for w in result["weights"]]
            lines += [f"  dropped: {d['name']}: {d['reason']}" for d in result["dropped"]]
            lines += result["interpretation"]
        emit(result, lines, self.stdout, as_json=options["json"])
