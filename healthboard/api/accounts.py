"""/api/v1/accounts: accounts upserted by external id; one account's score, explained, and
its daily history.

No `from __future__ import annotations` here: django-ninja reads the parameters' types from
the signatures, and @paginate's wrapper could not resolve them as strings."""

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from healthboard.api import selectors
from healthboard.api.auth import TokenAuth
from healthboard.api.errors import ErrorOut
from healthboard.api.schemas import AccountOut, DailyScoreOut
from scoring.bands import Band

router = Router(tags=["accounts"])
READ = TokenAuth()


@router.get(
    "/{external_id}",
    response={200: AccountOut, 401: ErrorOut, 404: ErrorOut},
    auth=READ,
)
def account_detail(request: HttpRequest, external_id: str):
    """One account, its newest published score and why: each measure's raw value,
    sub-score, weight and points (the account page's “Why this score”)."""
    account = selectors.account_get(external_id=external_id)
    explained = selectors.score_explained(account=account)
    body = {
        "external_id": account.external_id,
        "name": account.name,
        "segment": account.segment.name,
        "stage": account.stage.name,
        "status": account.status,
        "owner": account.owner.email if account.owner else None,
        "arr": float(account.arr),
        "plan": account.plan,
        "seats": account.seats,
        "start_date": account.start_date,
        "renewal_date": account.renewal_date,
        "churn_date": account.churn_date,
        "score": None,
        "measures": [],
    }
    if explained is not None:
        score, version = explained.score, explained.version
        body["score"] = {
            "date": score.date,
            "score": score.score,
            "band": score.band,
            "band_label": Band(score.band).label,
            "coverage": score.coverage,
            "scorecard": version.scorecard.name,
            "version": version.number,
        }
        body["measures"] = [
            {
                "name": line.name,
                "category": line.category,
                "value": line.raw,
                "unit": line.unit,
                "value_text": line.value_text,
                "sub_score": line.sub,
                "weight_pct": line.weight_pct,
                "points": line.shown,
                "contribution": line.contribution,
            }
            for line in explained.breakdown.lines
        ]
    return body


class HistoryFilters(Schema):
    since: dt.date | None = None
    until: dt.date | None = None


@router.get(
    "/{external_id}/scores",
    response={200: list[DailyScoreOut], 401: ErrorOut, 404: ErrorOut},
    auth=READ,
)
@paginate(LimitOffsetPagination)
def account_scores(request: HttpRequest, external_id: str, filters: Query[HistoryFilters]):
    """The account's daily scores, newest first, paged (?limit=&offset=; ?since=&until=
    ISO dates)."""
    account = selectors.account_get(external_id=external_id)
    return selectors.score_history(account=account, since=filters.since, until=filters.until)
