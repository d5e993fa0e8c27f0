"""Celery task of the rules: a thin wrapper that takes a date (and account and rule ids, or a
range of account ids) and calls the service."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from healthboard.lib.idranges import IdRange
from scoring.actions.rules import rules_apply


# Safe to deliver twice: a second evaluation of the same date adds and counts nothing. Nobody
# waits for its result (the counts are logged).
@shared_task(
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=3,
    ignore_result=True,
)
def apply_rules(
    run_date: str,
    account_ids: list[int] | None = None,
    rule_ids: list[int] | None = None,
    account_range: list[int | None] | None = None,
) -> dict[str, int]:
    return rules_apply(
        as_of=dt.date.fromisoformat(run_date),
        account_ids=account_ids,
        rule_ids=rule_ids,
        account_range=None if account_range is None else IdRange(*account_range),
    )
