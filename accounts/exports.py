"""Accounts, metrics and signals as rows in the import's own columns, so an export re-imports
to the same data: sending it back writes nothing.

The header is each import kind's column labels (accounts.imports.kind_columns), which the
import's column matching recognises, and each row is built by field name in that order: a
column added to an import fails here loudly instead of silently shifting the export. Rows are
read with a server-side cursor in chunks, so memory stays flat however many there are; the
caller writes them (healthboard.lib.csvfile neutralises formulas, and the import's reader
takes that back off).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from accounts.imports import kind_columns
from accounts.models import Account, Metric, Signal

CHUNK = 2000


def export_header(kind: str) -> list[str]:
    """The column names an export of `kind` (accounts, metrics, signals) starts with."""
    return [column.label for column in kind_columns(kind)]


def _fields(kind: str) -> list[str]:
    return [column.field for column in kind_columns(kind)]


def _importable_owners() -> dict[int, str]:
    """{user id: e-mail} of the owners an import finds again by e-mail: active users with
    one, the first of them (lowest id) where two share it, as the import picks. One query."""
    found: dict[str, int] = {}
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    for pk, email in users.order_by("pk").values_list("pk", "email"):
        found.setdefault(email.strip().lower(), pk)
    return {pk: email for email, pk in found.items()}


def account_rows(accounts: QuerySet[Account]) -> Iterator[list]:
    """The accounts (in the queryset's order) in the accounts import's columns. Two queries:
    the owners' e-mails, then the accounts' columns with their segment's and stage's name.

    An owner the import could not find by e-mail (deactivated, no e-mail, or sharing one with
    an earlier user) is left empty: an empty cell keeps the stored owner."""
    owners = _importable_owners()
    fields = _fields("accounts")
    rows = accounts.values_list(
        "external_id",
        "name",
        "segment__name",
        "owner_id",
        "industry",
        "arr",
        "plan",
        "seats",
        "start_date",
        "renewal_date",
        "stage__name",
        "status",
        "churn_date",
    )
    for row in rows.iterator(chunk_size=CHUNK):
        values = dict(zip(ACCOUNT_COLUMNS, row, strict=True))
        values["owner"] = owners.get(values["owner"], "")
        yield [values[field] for field in fields]


# The import's field names, in the order account_rows reads them.
ACCOUNT_COLUMNS = (
    "external_id",
    "name",
    "segment",
    "owner",
    "industry",
    "arr",
    "plan",
    "seats",
    "start_date",
    "renewal_date",
    "stage",
    "status",
    "churn_date",
)


DIRECTION_WORDS = {
    Metric.Direction.HIGHER_IS_BETTER: "more is better",
    Metric.Direction.HIGHER_IS_WORSE: "more is worse",
}


def metric_rows(metrics: QuerySet[Metric]) -> Iterator[list]:
    """The metrics in the metrics import's columns. One query."""
    fields = _fields("metrics")
    for metric in metrics.iterator(chunk_size=CHUNK):
        values = {
            "key": metric.key,
            "name": metric.name,
            "unit": metric.unit,
            "category": metric.category,
            "direction": DIRECTION_WORDS.get(metric.direction, metric.direction),
            "description": metric.description,
        }
        yield [values[field] for field in fields]


def signal_rows(signals: QuerySet[Signal]) -> Iterator[list]:
    """The signals in the signals import's columns. One query (account and metric joined).

    Times are written in full (microseconds, the UTC offset of TIME_ZONE) and values as
    Python writes floats (the shortest text that reads back as the same number), so a
    signal without an external id is found again by its account, metric, time, value and
    source."""
    fields = _fields("signals")
    tz = timezone.get_current_timezone()
    rows = signals.values_list(
        "account__external_id",
        "metric__key",
        "observed_at",
        "value",
        "category",
        "text",
        "source",
        "external_id",
    )
    for account, metric, observed_at, value, category, text, source, external_id in rows.iterator(
        chunk_size=CHUNK
    ):
        values = {
            "account": account,
            "metric": metric,
            "observed_at": observed_at.astimezone(tz),
            "value": value,
            "category": category,
            "text": text,
            "source": source,
            "external_id": external_id,
        }
        yield [values[field] for field in fields]
