"""What the API reads and answers, as django-ninja schemas (they make the OpenAPI document).

Input items only say the shape of a field. What makes a value valid (an account that exists,
a real date, a number, a length) is checked by the imports (accounts.imports), for a CSV file
and an API batch alike, and reported per item with its index and field.
"""

from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import ConfigDict, Field

MAX_ACCOUNTS = 5_000
MAX_SIGNALS = 10_000
MAX_METRICS = 1_000

# A value as a JSON number or as text ("12.5"): parsed as a CSV cell would be.
Number = float | int | str


class Item(Schema):
    # A misspelt field is an error, not silently ignored: "extrenal_id" would otherwise store
    # every re-sent signal again.
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- signals


class SignalIn(Item):
    account: str = Field(description="The account's external id (its id in the CRM).")
    metric: str = Field(description="The metric's key in the catalogue (logins, csat, …).")
    observed_at: str = Field(
        description="ISO date or date-time: 2026-11-01 or 2026-11-01T10:00:00Z.",
        examples=["2026-11-01T10:00:00Z"],
    )
    value: Number = Field(description="A number.")
    category: str | None = Field(None, description="A ticket's subject or severity, …")
    text: str | None = Field(None, description="A survey comment, a ticket subject, …")
    source: str | None = Field(
        None, description="Where the signal comes from; the batch's source when left out."
    )
    external_id: str | None = Field(
        None,
        description="The signal's id in its source: sent again, it is stored once. Without "
        "one, the same account, metric, time, value and source is stored once.",
    )


class SignalsIn(Schema):
    source: str | None = Field(
        None, description="The source of the items that name none (crm, zendesk, …)."
    )
    signals: list[SignalIn] = Field(min_length=1, max_length=MAX_SIGNALS)


class SignalsOut(Schema):
    received: int
    created: int
    duplicates: int = Field(description="Items already stored (re-sent): not stored again.")
    accounts: int = Field(description="Accounts with new signals (re-scored shortly).")


# ---------------------------------------------------------------- accounts


class AccountIn(Item):
    external_id: str = Field(description="The account's id in the CRM: the key of the upsert.")
    name: str | None = None
    segment: str | None = Field(None, description="A segment's name or slug.")
    owner: str | None = Field(None, description="The owning CSM's e-mail address.")
    industry: str | None = None
    arr: Number | None = Field(None, description="Annual recurring revenue.")
    plan: str | None = None
    seats: Number | None = None
    start_date: str | None = Field(None, description="ISO date.")
    renewal_date: str | None = Field(None, description="ISO date.")
    stage: str | None = Field(None, description="A journey stage's name or slug.")
    status: str | None = Field(None, description="active or churned.")
    churn_date: str | None = Field(None, description="ISO date.")


class AccountsIn(Schema):
    accounts: list[AccountIn] = Field(min_length=1, max_length=MAX_ACCOUNTS)
    create_missing: bool = Field(
        False, description="Create segments and stages the items name that do not exist yet."
    )


class WriteOut(Schema):
    received: int
    created: int
    updated: int
    unchanged: int


# ---------------------------------------------------------------- metrics


class MetricIn(Item):
    key: str = Field(description="The metric's key: the key of the upsert.")
    name: str | None = None
    unit: str | None = None
    category: str | None = None
    direction: int | str | None = Field(
        None, description="1 or “more is better”, -1 or “more is worse”."
    )
    description: str | None = None


class MetricsIn(Schema):
    metrics: list[MetricIn] = Field(min_length=1, max_length=MAX_METRICS)


class MetricOut(Schema):
    key: str
    name: str
    unit: str
    category: str
    direction: int = Field(description="1: more is better; -1: more is worse.")
    direction_label: str
    description: str


# ---------------------------------------------------------------- scores


class MeasureOut(Schema):
    name: str
    category: str
    value: float | None = Field(description="The measure's raw value; null without data.")
    unit: str
    value_text: str = Field(description="The raw value as the account page shows it.")
    sub_score: float | None = Field(description="0–100; null without data.")
    weight_pct: float = Field(description="Share of the score's weight, %; 0 without data.")
    points: float = Field(
        description="Contribution to the score, to 0.1 point, as the account page shows it: "
        "the points of all measures add up to the score."
    )
    contribution: float = Field(description="The same, unrounded.")


class ScoreOut(Schema):
    date: dt.date
    score: float | None = Field(description="0–100; null when coverage was too low.")
    band: str = Field(description="green, yellow, red or none.")
    band_label: str = Field(description="Healthy, At risk, Unhealthy or No data.")
    coverage: float = Field(description="Share of the weight that had data, 0–1.")
    scorecard: str
    version: int


class AccountOut(Schema):
    external_id: str
    name: str
    segment: str
    stage: str
    status: str
    owner: str | None = Field(description="The owner's e-mail address.")
    arr: float
    plan: str
    seats: int
    start_date: dt.date
    renewal_date: dt.date | None
    churn_date: dt.date | None
    score: ScoreOut | None = Field(description="The newest published score; null before one.")
    measures: list[MeasureOut] = Field(description="Why this score: each measure's part.")


class DailyScoreOut(Schema):
    date: dt.date
    score: float | None
    band: str
    coverage: float
    delta_7d: float | None = Field(description="Change since the score 7 days before.")
    scorecard: str
    version: int

    @staticmethod
    def resolve_scorecard(score) -> str:
        return score.version.scorecard.name

    @staticmethod
    def resolve_version(score) -> int:
        return score.version.number
