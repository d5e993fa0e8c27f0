"""Each rule kind's condition as one set-based query over a published run's scores and the
signals: which accounts it holds for, and the numbers behind it.

One query per rule, whatever the number of accounts: the accounts the run scored (optionally
a few of them, after a re-score) are joined with the run's scores, the scores of an earlier
run, or one grouped pass over one metric's signals. Signals have no foreign keys in the
database; they are read through their (metric, observed_at, account) index.

Every query returns rows of the same shape: account, owner, stage, band, score, whether the
rule fires, then up to three numbers the evidence is made of. A row that holds without
firing keeps an open CTA open (an account that turned red stays "turned red" while it is
red, though it only fires on the day it turned).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as django_gettext

from accounts.i18n import builtin
from accounts.models import Account
from scoring.aggregates import window_end
from scoring.bands import RANK, Band
from scoring.models import CallToAction, ScoreRun

ACTIVE = tuple(CallToAction.ACTIVE)


@dataclass(frozen=True)
class Hit:
    account_id: int
    owner_id: int | None
    stage_id: int
    band: str
    score: float | None
    fires: bool
    evidence: list[dict]
    # The evidence in words, for the CTA's reason.
    words: str


@dataclass
class Scope:
    """What one evaluation looks at: the published run of `as_of`, the accounts it scored
    (or just `account_ids` of them), and the metric catalogue (key → id, name)."""

    run: ScoreRun
    account_ids: Sequence[int] | None
    metrics: dict[str, tuple[int, str]]
    # The rule being evaluated (None for an unsaved one): whose active CTAs a condition
    # that holds without firing keeps open.
    rule_id: int | None = None
    # Published runs of earlier dates, looked up once per evaluation.
    _runs: dict[object, ScoreRun | None] = field(default_factory=dict)
    # Whether the accounts looked at are kept in temporary table SCORED_TABLE (scored_keep):
    # an evaluation of every rule joins them with the run once, not once per rule.
    kept: bool = False

    @property
    def as_of(self) -> dt.date:
        return self.run.date

    def run_on(self, day: dt.date) -> ScoreRun | None:
        if day not in self._runs:
            self._runs[day] = ScoreRun.objects.filter(status=ScoreRun.Status.DONE, date=day).first()
        return self._runs[day]

    def run_before(self) -> ScoreRun | None:
        if "before" not in self._runs:
            self._runs["before"] = (
                ScoreRun.objects.filter(status=ScoreRun.Status.DONE, date__lt=self.as_of)
                .order_by("-date")
                .first()
            )
        return self._runs["before"]


# ---------------------------------------------------------------- SQL pieces


def _date(value) -> dt.date | None:
    """A DATE column as the cursor returns it (a date, or ISO text on SQLite)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _local_day(value, zone: dt.tzinfo) -> dt.date | None:
    """A timestamp column as the cursor returns it (aware, or UTC text on SQLite) → its day in
    `zone` (the current time zone, looked up once per query: the lookup costs more than the
    rest of a row)."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.fromisoformat(str(value))
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone).date()


def _at(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _day(value: dt.date):
    return connection.ops.adapt_datefield_value(value)


SCORED_TABLE = "cta_rules_scored"
SCORED_COLUMNS = "account_id, owner_id, stage_id, renewal_date, start_date, band, score"


def scored_keep(scope: Scope) -> None:
    """Keep the accounts the scope looks at, with their band and score, in a temporary table
    the conditions read from then on (two or three queries; replaces this connection's
    earlier one)."""
    pg = connection.vendor == "postgresql"
    sql, params = _scored_sql(scope)
    with connection.cursor() as cursor:
        # Schema-qualified: never a permanent table of the same name.
        cursor.execute(f"DROP TABLE IF EXISTS {'pg_temp' if pg else 'temp'}.{SCORED_TABLE}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {SCORED_TABLE} AS {sql} SELECT {SCORED_COLUMNS} FROM scored",
            params,
        )
        if pg:
            # Never analysed by autovacuum: the planner would take 100,000 rows for a few.
            cursor.execute(f"ANALYZE {SCORED_TABLE}")
    scope.kept = True


def _scored(scope: Scope) -> tuple[str, list]:
    """WITH … scored: the accounts the evaluation looks at (customers on the run's date, the
    ones the run scored), with their band and score in the run."""
    if scope.kept:
        return f"WITH scored AS (SELECT {SCORED_COLUMNS} FROM {SCORED_TABLE})", []
    return _scored_sql(scope)


def _scored_sql(scope: Scope) -> tuple[str, list]:
    accounts = Account.objects.customers_on(scope.as_of)
    if scope.account_ids is not None:
        accounts = accounts.filter(pk__in=list(scope.account_ids))
    base, params = (
        accounts.order_by()
        .values_list("id", "owner_id", "stage_id", "renewal_date", "start_date")
        .query.sql_with_params()
    )
    sql = (
        f"WITH base(account_id, owner_id, stage_id, renewal_date, start_date) AS ({base}), "
        "scored AS (SELECT b.account_id, b.owner_id, b.stage_id, b.renewal_date, b.start_date, "
        "COALESCE(h.band, 'none') AS band, h.score FROM base b LEFT JOIN scoring_healthscore h "
        "ON h.run_id = %s AND h.account_id = b.account_id)"
    )
    return sql, [*params, scope.run.pk]


def _signals(scope: Scope, metric_id: int, alias: str = "s") -> tuple[str, list]:
    """The WHERE of one metric's signals observed by the end of the run's date (and of the
    accounts asked about, after a re-score)."""
    sql = f"{alias}.metric_id = %s AND {alias}.observed_at < %s"
    params: list = [metric_id, _at(window_end(scope.as_of))]
    if scope.account_ids is not None:
        ids = [int(a) for a in scope.account_ids] or [0]
        sql += f" AND {alias}.account_id IN ({', '.join(['%s'] * len(ids))})"
        params += ids
    return sql, params


HIT_COLUMNS = "sc.account_id, sc.owner_id, sc.stage_id, sc.band, sc.score"


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# Band labels by stored value (Band.of per row costs more than the rest of a row's evidence).
LABELS = {band.value: band.label for band in Band}

# The texts of one condition's query, in the language active for it (condition_hits starts
# each afresh): looking the active language up costs more than the rest of an evidence row
# (~15 µs a text, several texts a row, tens of thousands of rows a night). Per thread: two
# requests in two languages never share one.
_texts = threading.local()


def gettext(message) -> str:
    """Django's gettext (or a lazy text's str), once per text per condition query."""
    done = _texts.__dict__.setdefault("done", {})
    key = id(message) if not isinstance(message, str) else message
    if key not in done:
        done[key] = django_gettext(message) if isinstance(message, str) else str(message)
    return done[key]


def _label(band: str | None, default=None) -> str | None:
    """The band's words as plain text (None for no band): evidence is stored as JSON, in the
    language active where the rules run."""
    label = LABELS.get(band, default)
    return None if label is None else gettext(label)


def _band_words(band: str, score: float | None) -> str:
    label = _label(band, Band.NO_DATA.label)
    if score is None:
        return label
    return gettext("%(band)s (score %(score).1f)") % {"band": label, "score": score}


# ---------------------------------------------------------------- the kinds


def band_worse(scope: Scope, params: dict) -> list[Hit]:
    band = Band.of(params["band"])
    held = [b for b in RANK if RANK[b] <= RANK[band]] + [Band.NO_DATA]
    better = [b for b in RANK if RANK[b] > RANK[band]]
    before = scope.run_before()
    scored, sql_params = _scored(scope)
    sql = (
        f"{scored} SELECT {HIT_COLUMNS}, "
        "CASE WHEN sc.band = %s AND p.band IN "
        f"({', '.join(['%s'] * len(better))}) THEN 1 ELSE 0 END, "
        "p.band, p.score FROM scored sc LEFT JOIN scoring_healthscore p "
        "ON p.run_id = %s AND p.account_id = sc.account_id "
        f"WHERE sc.band IN ({', '.join(['%s'] * len(held))}) AND (p.band IN "
        f"({', '.join(['%s'] * len(better))}) OR EXISTS (SELECT 1 FROM scoring_calltoaction c "
        "WHERE c.rule_id = %s AND c.account_id = sc.account_id AND c.status IN (%s, %s)))"
    )
    # Rows that hold without firing matter only where they keep an active CTA open.
    rows = _rows(
        sql,
        [
            *sql_params,
            band,
            *better,
            before.pk if before else 0,
            *held,
            *better,
            scope.rule_id or 0,
            *ACTIVE,
        ],
    )
    hits = []
    for account_id, owner_id, stage_id, now, score, fires, was, score_before in rows:
        if not fires:
            hits.append(Hit(account_id, owner_id, stage_id, now, score, False, [], ""))
            continue
        evidence = [
            {"label": gettext("Band"), "value": _label(now)},
            {"label": gettext("Score"), "value": score},
        ]
        evidence += [
            {"label": gettext("Band on %(day)s") % {"day": before.date}, "value": _label(was)},
            {"label": gettext("Score on %(day)s") % {"day": before.date}, "value": score_before},
        ]
        words = gettext("Now %(now)s, %(before)s on %(day)s.") % {
            "now": _band_words(now, score),
            "before": _band_words(was, score_before),
            "day": before.date,
        }
        hits.append(Hit(account_id, owner_id, stage_id, now, score, True, evidence, words))
    return hits


# Scores are stored with two decimals: a drop of 14.99 is not one of 15.
SCORE_STEP = 0.005


def score_drop(scope: Scope, params: dict) -> list[Hit]:
    points, days = params["points"], params["days"]
    day = scope.as_of - dt.timedelta(days=days)
    before = scope.run_on(day)
    if before is None:
        return []
    scored, sql_params = _scored(scope)
    sql = (
        f"{scored} SELECT {HIT_COLUMNS}, 1, p.score FROM scored sc JOIN scoring_healthscore p "
        "ON p.run_id = %s AND p.account_id = sc.account_id "
        "WHERE sc.score IS NOT NULL AND p.score IS NOT NULL AND p.score - sc.score >= %s"
    )
    rows = _rows(sql, [*sql_params, before.pk, points - SCORE_STEP])
    return [
        Hit(
            account_id,
            owner_id,
            stage_id,
            band,
            score,
            True,
            [
                {"label": gettext("Score"), "value": score},
                {"label": gettext("Score on %(day)s") % {"day": day}, "value": was},
                {"label": gettext("Change"), "value": round(score - was, 2)},
            ],
            gettext("Score %(score).1f, %(was).1f on %(day)s: down %(down).1f points.")
            % {"score": score, "was": was, "day": day, "down": was - score},
        )
        for account_id, owner_id, stage_id, band, score, _fires, was in rows
    ]


def renewal_at_risk(scope: Scope, params: dict) -> list[Hit]:
    last = scope.as_of + dt.timedelta(days=params["days"])
    scored, sql_params = _scored(scope)
    sql = (
        f"{scored} SELECT {HIT_COLUMNS}, 1, sc.renewal_date FROM scored sc "
        "WHERE sc.band IN (%s, %s) AND sc.renewal_date >= %s AND sc.renewal_date <= %s"
    )
    rows = _rows(sql, [*sql_params, Band.YELLOW, Band.RED, _day(scope.as_of), _day(last)])
    hits = []
    for account_id, owner_id, stage_id, band, score, _fires, renewal in rows:
        renewal = _date(renewal)
        days = (renewal - scope.as_of).days
        evidence = [
            {"label": gettext("Band"), "value": _label(band)},
            {"label": gettext("Score"), "value": score},
            {"label": gettext("Renewal"), "value": renewal.isoformat()},
            {"label": gettext("Days to renewal"), "value": days},
        ]
        words = gettext("%(band)s; renews on %(renewal)s, in %(days)s days.") % {
            "band": _band_words(band, score),
            "renewal": renewal,
            "days": days,
        }
        hits.append(Hit(account_id, owner_id, stage_id, band, score, True, evidence, words))
    return hits


def complaint_open(scope: Scope, params: dict, metric: tuple[int, str]) -> list[Hit]:
    # Open since: the first signal above 0 after the last one at 0 (or ever). It fires when
    # that is more than `days` days before the run's date, i.e. before the start of the day
    # `days` days back.
    since_before = window_end(scope.as_of - dt.timedelta(days=params["days"] + 1))
    scored, sql_params = _scored(scope)
    where, where_params = _signals(scope, metric[0])
    # Two grouped passes, no sort: when each account last reported 0 and above 0; then, for
    # the few whose complaint is open (above 0 after the last 0), since when and how high.
    sql = (
        f"{scored}, marks AS (SELECT s.account_id, "
        "MAX(CASE WHEN s.value <= 0 THEN s.observed_at END) AS cleared, "
        "MAX(CASE WHEN s.value > 0 THEN s.observed_at END) AS raised "
        f"FROM accounts_signal s WHERE {where} GROUP BY s.account_id), "
        "still AS (SELECT account_id, cleared FROM marks WHERE raised IS NOT NULL "
        "AND (cleared IS NULL OR raised > cleared)), "
        "opened AS (SELECT s.account_id, MIN(s.observed_at) AS since, MAX(s.value) AS most "
        f"FROM accounts_signal s JOIN still o ON o.account_id = s.account_id WHERE {where} "
        "AND s.value > 0 AND (o.cleared IS NULL OR s.observed_at > o.cleared) "
        "GROUP BY s.account_id) "
        f"SELECT {HIT_COLUMNS}, 1, o.since, o.most FROM scored sc "
        "JOIN opened o ON o.account_id = sc.account_id WHERE o.since < %s"
    )
    rows = _rows(sql, [*sql_params, *where_params, *where_params, _at(since_before)])
    zone = timezone.get_current_timezone()
    name = builtin(metric[1])
    hits = []
    for account_id, owner_id, stage_id, band, score, _fires, since, most in rows:
        since = _local_day(since, zone)
        days = (scope.as_of - since).days
        evidence = [
            {
                "label": gettext("%(metric)s above 0 since") % {"metric": name},
                "value": since.isoformat(),
            },
            {"label": gettext("Days unresolved"), "value": days},
            {"label": gettext("Highest %(metric)s") % {"metric": name}, "value": most},
        ]
        words = gettext("%(metric)s above 0 since %(since)s: %(days)s days (up to %(most)g).") % {
            "metric": name,
            "since": since,
            "days": days,
            "most": most,
        }
        hits.append(Hit(account_id, owner_id, stage_id, band, score, True, evidence, words))
    return hits


def _latest_sql(where: str, start: bool) -> str:
    """The newest signal per account among those `where` selects (and after a start), for
    the accounts whose newest value is at least a minimum: one grouped pass (no sort) finds
    when each account last reported and last reported the minimum or more; where that is the
    same moment, the value is looked up in the index. (Of two signals at the same moment,
    the higher counts.)"""
    after = " AND s.observed_at >= %s" if start else ""
    return (
        "marks AS (SELECT s.account_id, MAX(s.observed_at) AS newest, "
        "MAX(CASE WHEN s.value >= %s THEN s.observed_at END) AS high "
        f"FROM accounts_signal s WHERE {where}{after} GROUP BY s.account_id), "
        "latest AS (SELECT m.account_id, m.newest AS observed_at, (SELECT MAX(v.value) "
        "FROM accounts_signal v WHERE v.metric_id = %s AND v.observed_at = m.newest "
        "AND v.account_id = m.account_id) AS value FROM marks m WHERE m.high = m.newest)"
    )


def invoice_late(scope: Scope, params: dict, metric: tuple[int, str]) -> list[Hit]:
    scored, sql_params = _scored(scope)
    where, where_params = _signals(scope, metric[0])
    sql = (
        f"{scored}, {_latest_sql(where, start=False)} "
        f"SELECT {HIT_COLUMNS}, 1, l.value, l.observed_at FROM scored sc "
        "JOIN latest l ON l.account_id = sc.account_id"
    )
    rows = _rows(sql, [*sql_params, params["days"], *where_params, metric[0]])
    zone = timezone.get_current_timezone()
    name = builtin(metric[1])
    hits = []
    for account_id, owner_id, stage_id, band, score, _fires, value, at in rows:
        on = _local_day(at, zone)
        evidence = [
            {"label": gettext("Latest %(metric)s") % {"metric": name}, "value": value},
            {"label": gettext("Reported on"), "value": on.isoformat()},
        ]
        words = gettext("Latest %(metric)s: %(value)g (reported on %(day)s).") % {
            "metric": name,
            "value": value,
            "day": on,
        }
        hits.append(Hit(account_id, owner_id, stage_id, band, score, True, evidence, words))
    return hits


def no_login(scope: Scope, params: dict, metric: tuple[int, str]) -> list[Hit]:
    # "The last N days": the run's date and the N - 1 days before it, the scorecards'
    # windows too (scoring.aggregates).
    days = params["days"]
    end = window_end(scope.as_of)
    start = end - dt.timedelta(days=days)
    customer_since = scope.as_of - dt.timedelta(days=days)
    scored, sql_params = _scored(scope)
    recent, recent_params = _signals(scope, metric[0])
    sql = (
        f"{scored}, recent AS (SELECT DISTINCT s.account_id FROM accounts_signal s "
        f"WHERE {recent} AND s.value > 0 AND s.observed_at >= %s) "
        # The last one for the few accounts without a recent one: their newest signals first
        # (signal_account_recent), not every account's of the metric.
        f"SELECT {HIT_COLUMNS}, 1, (SELECT s2.observed_at FROM accounts_signal s2 "
        "WHERE s2.account_id = sc.account_id AND s2.metric_id = %s AND s2.value > 0 "
        "AND s2.observed_at < %s ORDER BY s2.observed_at DESC LIMIT 1) "
        "FROM scored sc WHERE sc.start_date <= %s "
        "AND NOT EXISTS (SELECT 1 FROM recent r WHERE r.account_id = sc.account_id) "
        # A team that never sends this metric has no "no login" to report.
        "AND EXISTS (SELECT 1 FROM accounts_signal s3 WHERE s3.metric_id = %s)"
    )
    rows = _rows(
        sql,
        [
            *sql_params,
            *recent_params,
            _at(start),
            metric[0],
            _at(end),
            _day(customer_since),
            metric[0],
        ],
    )
    zone = timezone.get_current_timezone()
    name = builtin(metric[1])
    hits = []
    for account_id, owner_id, stage_id, band, score, _fires, last in rows:
        last = _local_day(last, zone)
        evidence = [
            {
                "label": gettext("Last %(metric)s above 0") % {"metric": name},
                "value": last.isoformat() if last else None,
            }
        ]
        if last:
            words = gettext("Last %(metric)s above 0: %(day)s (%(days)s days ago).") % {
                "metric": name,
                "day": last,
                "days": (scope.as_of - last).days,
            }
        else:
            words = gettext("Last %(metric)s above 0: never.") % {"metric": name}
        hits.append(Hit(account_id, owner_id, stage_id, band, score, True, evidence, words))
    return hits


def promoter_healthy(scope: Scope, params: dict, metric: tuple[int, str]) -> list[Hit]:
    start = window_end(scope.as_of) - dt.timedelta(days=params["days"])
    scored, sql_params = _scored(scope)
    where, where_params = _signals(scope, metric[0])
    sql = (
        f"{scored}, {_latest_sql(where, start=True)} "
        f"SELECT {HIT_COLUMNS}, 1, l.value, l.observed_at FROM scored sc "
        "JOIN latest l ON l.account_id = sc.account_id WHERE sc.band = %s"
    )
    rows = _rows(
        sql,
        [*sql_params, params["minimum"], *where_params, _at(start), metric[0], Band.GREEN],
    )
    zone = timezone.get_current_timezone()
    name = builtin(metric[1])
    hits = []
    for account_id, owner_id, stage_id, band, score, _fires, value, at in rows:
        on = _local_day(at, zone)
        evidence = [
            {"label": gettext("Band"), "value": _label(band)},
            {"label": gettext("Score"), "value": score},
            {"label": gettext("Latest %(metric)s") % {"metric": name}, "value": value},
            {"label": gettext("Answered on"), "value": on.isoformat()},
        ]
        words = gettext("%(band)s; %(metric)s %(value)g on %(day)s.") % {
            "band": _band_words(band, score),
            "metric": name,
            "value": value,
            "day": on,
        }
        hits.append(Hit(account_id, owner_id, stage_id, band, score, True, evidence, words))
    return hits


# Kinds that read the scores only, and kinds that read one metric's signals too.
SCORE_KINDS: dict[str, Callable[[Scope, dict], list[Hit]]] = {
    "band_worse": band_worse,
    "score_drop": score_drop,
    "renewal_at_risk": renewal_at_risk,
}
SIGNAL_KINDS: dict[str, Callable[[Scope, dict, tuple[int, str]], list[Hit]]] = {
    "complaint_open": complaint_open,
    "invoice_late": invoice_late,
    "no_login": no_login,
    "promoter_healthy": promoter_healthy,
}


def condition_hits(*, kind: str, parameters: dict, scope: Scope) -> list[Hit]:
    """The accounts of the scope a rule of `kind` holds for (one query). A metric the
    catalogue does not have (a team without it) holds for nobody."""
    _texts.done = {}  # this query's texts, in the language active now
    if kind in SCORE_KINDS:
        return SCORE_KINDS[kind](scope, parameters)
    if kind in SIGNAL_KINDS:
        metric = scope.metrics.get(parameters.get("metric", ""))
        if metric is None:
            return []
        return SIGNAL_KINDS[kind](scope, parameters, metric)
    raise ValueError(gettext("Unknown rule kind %(kind)r.") % {"kind": kind})
