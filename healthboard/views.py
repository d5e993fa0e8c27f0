from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.selectors import BandRow, band_summary, score_run_latest


def _summary(rows: list[BandRow]) -> dict:
    return {
        "rows": rows,
        "n": sum(row["n"] for row in rows),
        "arr": sum((row["arr"] for row in rows), Decimal(0)),
    }


def home(request: HttpRequest) -> HttpResponse:
    """The landing page: the user's book and all accounts by band, from the latest run."""
    run = score_run_latest()
    context: dict = {"run": run}
    if run is not None:
        context["book"] = _summary(band_summary(owner=request.user, run=run))
        context["everyone"] = _summary(band_summary(run=run))
    return render(request, "home.html", context)
