"""/api/v1/accounts: accounts upserted by external id; one account's score, explained, and
its daily history.

No `from __future__ import annotations` here: django-ninja reads the parameters' types from
the signatures, and @paginate's wrapper could not resolve them as strings."""

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from accounts.imports import ImportOptions
from healthboard.api import idempotency, selectors
from healthboard.api.auth import TokenAuth
from healthboard.api.errors import READ_ERRORS, WRITE_ERRORS
from healthboard.api.schemas import AccountOut, AccountsIn, DailyScoreOut, WriteOut
from healthboard.api.writes import batch_write
from scoring.bands import Band

router = Router(tags=["accounts"])
READ = TokenAuth()


@router.post(
    "",
    response={200: WriteOut, **WRITE_ERRORS},
    auth=TokenAuth(write=True),
    summary="Create or update accounts",
    openapi_extra=idempotency.OPENAPI,
)
def accounts_post(request: HttpRequest, payload: AccountsIn):
    """Up to 5,000 accounts, created or updated by external id. Checked as the CSV import
    checks them: one bad item refuses the batch (422, every bad item's index, field and
    reason) and nothing is written. Unknown segments and stages are refused with the
    known ones, or created with "create_missing": true."""
    return batch_write(
        request,
        kind="accounts",
        items="accounts",
        records=payload.accounts,
        options=ImportOptions(create_missing=payload.create_missing),
    )


@router.get(
    "/{external_id}",
    response={200: AccountOut, **READ_ERRORS},
    auth=READ,
    summary="An account, its score and why",
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
            "band_label": str(Band(score.band).label),
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
    response={200: list[DailyScoreOut], **READ_ERRORS},
    auth=READ,
    summary="An account's daily scores",
)
@paginate(LimitOffsetPagination)
def account_scores(request: HttpRequest, external_id: str, filters: Query[HistoryFilters]):
    """The account's daily scores, newest first, paged (?limit=&offset=; ?since=&until=
    ISO dates)."""
    account = selectors.account_get(external_id=external_id)
    return selectors.score_history(account=account, since=filters.since, until=filters.until)
