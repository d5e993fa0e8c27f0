"""What the API reads and answers, as django-ninja schemas (they make the OpenAPI document).

Input items only say the shape of a field. What makes a value valid (an account that exists,
a real date, a number, a length) is checked by the imports (accounts.imports), for a CSV file
and an API batch alike, and reported per item with its index and field.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, NotRequired

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from typing_extensions import TypedDict

MAX_ACCOUNTS = 5_000
MAX_SIGNALS = 10_000
MAX_METRICS = 1_000


# A value as a JSON number or as text ("12.5"): the imports parse it as a CSV cell. One
# type, not a union (a bad value gets one error, not one per member of the union); numbers
# become text by the items' coerce_numbers_to_str.
Number = Annotated[str, WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}]})]


# An item of a batch is validated as a TypedDict, not a model: pydantic then hands over
# plain dicts, which is what the imports read (measured on 10,000 signals: 0.05 s, against
# 0.18 s to build models and dump them again, and 2.6 s for ninja.Schema models).
# "extrenal_id" is an error, not silently ignored; a number where text is expected (an
# external id of 12345) is read as its text, as in a CSV file.
ITEM = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


# ---------------------------------------------------------------- writes


class WriteOut(Schema):
    """What a batch did: every item is counted once."""

    received: int = Field(description="Items in the batch.")
    created: int
    updated: int = Field(description="Accounts or metrics changed (signals are never updated).")
    unchanged: int = Field(
        description="Already stored as sent: re-sent signals, accounts without changes."
    )
    detail: str = Field(description="The same, in a sentence.")


# ---------------------------------------------------------------- signals


class SignalIn(TypedDict):
    __pydantic_config__ = ITEM
    account: Annotated[str, Field(description="The account's external id (its id in the CRM).")]
    metric: Annotated[str, Field(description="The metric's key in the catalogue (logins, …).")]
    observed_at: Annotated[
        str,
        Field(
            description="ISO date or date-time: 2026-11-01 or 2026-11-01T10:00:00Z.",
            examples=["2026-11-01T10:00:00Z"],
        ),
    ]
    value: Annotated[Number, Field(description="A number.")]
    category: NotRequired[
        Annotated[str | None, Field(description="A ticket's subject or severity, …")]
    ]
    text: NotRequired[Annotated[str | None, Field(description="A survey comment, …")]]
    source: NotRequired[
        Annotated[
            str | None,
            Field(description="Where the signal comes from; the batch's source when left out."),
        ]
    ]
    external_id: NotRequired[
        Annotated[
            str | None,
            Field(
                description="The signal's id in its source: sent again, it is stored once. "
                "Without one, the same account, metric, time, value and source is stored once."
            ),
        ]
    ]


class SignalsIn(BaseModel):
    source: str | None = Field(
        None, description="The source of the items that name none (crm, zendesk, …)."
    )
    signals: list[SignalIn] = Field(min_length=1, max_length=MAX_SIGNALS)


# ---------------------------------------------------------------- accounts


class AccountIn(TypedDict):
    __pydantic_config__ = ITEM
    external_id: Annotated[
        str, Field(description="The account's id in the CRM: the key of the upsert.")
    ]
    name: NotRequired[str | None]
    segment: NotRequired[Annotated[str | None, Field(description="A segment's name or slug.")]]
    owner: NotRequired[Annotated[str | None, Field(description="The owning CSM's e-mail address.")]]
    industry: NotRequired[str | None]
    arr: NotRequired[Annotated[Number | None, Field(description="Annual recurring revenue.")]]
    plan: NotRequired[str | None]
    seats: NotRequired[Number | None]
    start_date: NotRequired[Annotated[str | None, Field(description="ISO date.")]]
    renewal_date: NotRequired[Annotated[str | None, Field(description="ISO date.")]]
    stage: NotRequired[Annotated[str | None, Field(description="A journey stage's name or slug.")]]
    status: NotRequired[Annotated[str | None, Field(description="active or churned.")]]
    churn_date: NotRequired[Annotated[str | None, Field(description="ISO date.")]]


class AccountsIn(BaseModel):
    accounts: list[AccountIn] = Field(min_length=1, max_length=MAX_ACCOUNTS)
    create_missing: bool = Field(
        False, description="Create segments and stages the items name that do not exist yet."
    )


# ---------------------------------------------------------------- metrics


class MetricIn(TypedDict):
    __pydantic_config__ = ITEM
    key: Annotated[str, Field(description="The metric's key: the key of the upsert.")]
    name: NotRequired[str | None]
    unit: NotRequired[str | None]
    category: NotRequired[str | None]
    direction: NotRequired[
        Annotated[Number | None, Field(description="1 or “more is better”, -1 or “more is worse”.")]
    ]
    description: NotRequired[str | None]


class MetricsIn(BaseModel):
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
