"""What the analysis shell commands share: their arguments, running, and printing."""

from __future__ import annotations

import json

from django.core.management.base import CommandError

from scoring.analytics.services import AnalysisInputError, analysis_run_now
from scoring.models import AnalysisRun


def add_period_arguments(parser, *, draft: bool) -> None:
    parser.add_argument("--scorecard", required=True, help="The scorecard's name.")
    if draft:
        parser.add_argument(
            "--draft", type=int, help="Back-test this draft number instead of the active version."
        )
    parser.add_argument("--from", dest="start", required=True, help="First date, YYYY-MM-DD.")
    parser.add_argument("--to", dest="end", required=True, help="Last date, YYYY-MM-DD.")
    parser.add_argument("--horizon", type=int, default=90, help="Churn horizon in days (90).")
    parser.add_argument(
        "--json", action="store_true", help="Print the result as one JSON object on the last line."
    )


def run(kind: str, options: dict) -> AnalysisRun:
    """Run the analysis here, stored like the page's; CommandError for bad input or failure."""
    parameters = {
        "scorecard": options["scorecard"],
        "draft": options.get("draft"),
        "from": options["start"],
        "to": options["end"],
        "horizon": options["horizon"],
    }
    try:
        analysis = analysis_run_now(kind=kind, parameters=parameters)
    except AnalysisInputError as exc:
        raise CommandError(str(exc)) from exc
    if analysis.status != analysis.Status.DONE:
        raise CommandError(f"The analysis failed: {analysis.error}")
    return analysis


def emit(result: dict, lines: list[str], stdout, *, as_json: bool) -> None:
    for line in lines:
        stdout.write(line)
    if as_json:
        stdout.write(json.dumps(result, default=str, separators=(",", ":")))
