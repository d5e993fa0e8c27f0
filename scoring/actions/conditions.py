"""Each rule kind's condition as one set-based query over a published run's scores and the
signals: which accounts it holds for, and the numbers behind it.

One query per rule, whatever the number of accounts: the accounts the run scored (optionally
a few of them, after a re-score) are joined with the run's scores, the scores of an earlier
run, or one grouped pass over one metric's signals. Signals have no foreign keys in the
database; they are read through their (metric, observed_at, account) index.

Every query returns rows of the same shape: account, owner, stage, band, score, whether the
rule fires, the evidence (JSON text) and the evidence in words, both written by the database
(scoring.actions.sqltext), so the rules can stage a night's hits with one INSERT … SELECT per
rule and no row passes through Python. A row that holds without firing keeps an open CTA open
(an account that turned red stays "turned red" while it is red, though it only fires on the
day it turned).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.i18n import builtin, in_sentence
from accounts.marks import marks_sql, metric_has_signals_sql
from accounts.models import Account
from healthboard.lib.idranges import IdRange
from scoring.actions import sqltext
from scoring.actions.sqltext import Fragment
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
    (or just `account_ids` of them, or those in `account_range`: one part of a night's
    evaluation), and the metric catalogue (key → id, name)."""

    run: ScoreRun
    account_ids: Sequence[int] | None
    metrics: dict[str, tuple[int, str]]
    account_range: IdRange | None = None
    # The rule being evaluated (None for an unsaved one): whose active CTAs a condition
    # that holds without firing keeps open.
    rule_id: int | None = None
    # Published runs of earlier dates, looked up once per evaluation.
    _runs: dict[object, ScoreRun | None] = field(default_factory=dict)
    # Whether the accounts looked at are kept in temporary table SCORED_TABLE (scored_keep):
    # an evaluation of every rule joins them with the run once, not once per rule.
    kept: bool = False
    # Earlier runs the accounts carry their band and score of (columns band_<i>, score_<i>
    # of `scored`, i the run's place here): the kinds comparing with one read them with the
    # accounts, once per evaluation, not once per rule (earlier_keep).
    earlier: list[int] = field(default_factory=list)

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

    def earlier_columns(self, run: ScoreRun | None) -> tuple[str, str]:
        """The SQL of an account's band and score in `run` (NULL where it was not scored, or
        there is no such run), read from `scored` (alias sc)."""
        if run is None:
            return "CAST(NULL AS text)", "CAST(NULL AS double precision)"
        if run.pk not in self.earlier:
            if self.kept:
                raise RuntimeError(f"Run {run.pk} is not kept with the accounts: earlier_keep.")
            self.earlier.append(run.pk)
        at = self.earlier.index(run.pk)
        return f"sc.band_{at}", f"sc.score_{at}"


# ---------------------------------------------------------------- SQL pieces


def _at(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _day(value: dt.date):
    return connection.ops.adapt_datefield_value(value)


SCORED_TABLE = "cta_rules_scored"
# language: the owner's (their profile's, else the installation's), for the words.
SCORED_COLUMNS = "account_id, owner_id, stage_id, renewal_date, start_date, band, score, language"


def scored_keep(scope: Scope) -> None:
    """Keep the accounts the scope looks at, with their band and score (and those in the
    earlier runs earlier_keep named), in a temporary table the conditions read from then on
    (two or three queries; replaces this connection's earlier one)."""
    pg = connection.vendor == "postgresql"
    sql, params = _scored_sql(scope)
    with connection.cursor() as cursor:
        sqltext.temp_table_drop(cursor, SCORED_TABLE)
        cursor.execute(
            f"CREATE TEMPORARY TABLE {SCORED_TABLE} AS {sql} "
            f"SELECT {_scored_columns(scope)} FROM scored",
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
        return f"WITH scored AS (SELECT {_scored_columns(scope)} FROM {SCORED_TABLE})", []
    return _scored_sql(scope)


def _scored_columns(scope: Scope) -> str:
    earlier = "".join(f", band_{at}, score_{at}" for at in range(len(scope.earlier)))
    return SCORED_COLUMNS + earlier


def _scored_sql(scope: Scope) -> tuple[str, list]:
    accounts = Account.objects.customers_on(scope.as_of)
    if scope.account_ids is not None:
        accounts = accounts.filter(pk__in=list(scope.account_ids))
    elif scope.account_range is not None:
        if scope.account_range.start is not None:
            accounts = accounts.filter(pk__gte=scope.account_range.start)
        if scope.account_range.stop is not None:
            accounts = accounts.filter(pk__lt=scope.account_range.stop)
    base, params = (
        accounts.order_by()
        .values_list("id", "owner_id", "stage_id", "renewal_date", "start_date")
        .query.sql_with_params()
    )
    # The runs' scores of the part's accounts only: PostgreSQL does not carry the accounts'
    # range over to the joined runs by itself, and read each run whole for every part.
    within = scope.account_range if scope.account_ids is None else None
    runs = [scope.run.pk, *scope.earlier]
    joins, join_params = [], []
    for at, run_id in enumerate(runs):
        alias = "h" if at == 0 else f"e{at - 1}"
        bounds, bound_params = within.sql(f"{alias}.account_id") if within else ("", [])
        joins.append(
            f"LEFT JOIN scoring_healthscore {alias} ON {alias}.run_id = %s "
            f"AND {alias}.account_id = b.account_id{bounds} "
        )
        join_params += [run_id, *bound_params]
    sql = (
        f"WITH base(account_id, owner_id, stage_id, renewal_date, start_date) AS ({base}), "
        "scored AS (SELECT b.account_id, b.owner_id, b.stage_id, b.renewal_date, b.start_date, "
        "COALESCE(h.band, 'none') AS band, h.score, "
        "COALESCE(NULLIF(dp.language, ''), %s) AS language"
        + "".join(
            f", e{at}.band AS band_{at}, e{at}.score AS score_{at}"
            for at in range(len(scope.earlier))
        )
        + " FROM base b "
        + "".join(joins)
        + "LEFT JOIN scoring_digestpreference dp ON dp.user_id = b.owner_id)"
    )
    return sql, [*params, _default_language(), *join_params]


def _default_language() -> str:
    return settings.LANGUAGE_CODE.split("-")[0]


def _signals(scope: Scope, metric_id: int, alias: str = "s") -> tuple[str, list]:
    """The WHERE of one metric's signals observed by the end of the run's date (and of the
    accounts asked about, after a re-score, or of the part's range)."""
    sql = f"{alias}.metric_id = %s AND {alias}.observed_at < %s"
    params: list = [metric_id, _at(window_end(scope.as_of))]
    if scope.account_ids is not None:
        ids = [int(a) for a in scope.account_ids] or [0]
        sql += f" AND {alias}.account_id IN ({', '.join(['%s'] * len(ids))})"
        params += ids
    elif scope.account_range is not None:
        within, bounds = scope.account_range.sql(f"{alias}.account_id")
        sql, params = sql + within, params + bounds
    return sql, params


HIT_COLUMNS = "sc.account_id, sc.owner_id, sc.stage_id, sc.band, sc.score"


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _marks(values: Sequence) -> str:
    return ", ".join(["%s"] * len(values))


def _hits_sql(
    scored: Fragment,
    ctes: Fragment,
    fires: Fragment,
    texts: Callable[[], tuple[Fragment, Fragment]],
    rest: Fragment,
    alias: str = "sc",
) -> Fragment:
    """One condition's query: WITH scored[, ctes] SELECT the hit columns, whether it fires,
    the evidence and its words (`texts`, in the owner's language) and that language, then
    `rest` (FROM … WHERE …)."""
    columns = HIT_COLUMNS.replace("sc.", f"{alias}.")
    evidence, words = _in_owners_language(texts, f"{alias}.language")
    sql = (
        f"{scored[0]}{ctes[0]} SELECT {columns}, {fires[0]} AS fires, "
        f"{evidence[0]} AS evidence, {words[0]} AS words, {alias}.language AS language "
        f"{rest[0]}"
    )
    return sql, [*scored[1], *ctes[1], *fires[1], *evidence[1], *words[1], *rest[1]]


def _each_language(build: Callable[[], object]) -> dict[str, object]:
    """`build()` (texts made with gettext) once in each of LANGUAGES and the default."""
    built = {}
    for code in [code for code, _name in settings.LANGUAGES] + [_default_language()]:
        if code not in built:
            with translation.override(code):
                built[code] = build()
    return built


def _case(built: dict[str, Fragment], column: str) -> Fragment:
    """CASE over the languages on the row's `column`: each row costs one text."""
    default = _default_language()
    sql, params = f"(CASE {column}", []
    for code, (text_sql, text_params) in built.items():
        if code != default:
            sql += f" WHEN %s THEN {text_sql}"
            params += [code, *text_params]
    return f"{sql} ELSE {built[default][0]} END)", [*params, *built[default][1]]


def in_owners_language(build: Callable[[], Fragment], column: str) -> Fragment:
    """SQL for a text built (with gettext) in each language, the row's `column` choosing."""
    return _case(_each_language(build), column)


def _in_owners_language(
    texts: Callable[[], tuple[Fragment, Fragment]], column: str
) -> tuple[Fragment, Fragment]:
    """(evidence, words), each in the row's owner's language (built once per language)."""
    built = _each_language(texts)
    return (
        _case({code: pair[0] for code, pair in built.items()}, column),
        _case({code: pair[1] for code, pair in built.items()}, column),
    )


# Band labels by stored value, translated in the query's language.
LABELS = {band.value: band.label for band in Band}


def _band_label(expr: str, *, default: bool) -> Fragment:
    """The band's words (NULL for no band unless `default`: then "No data")."""
    labels = {value: gettext(label) for value, label in LABELS.items()}
    return sqltext.choice(expr, labels, gettext(Band.NO_DATA.label) if default else None)


def _band_words(band: str, score: str) -> Fragment:
    """ "Unhealthy (score 35.0)", or the band alone without a score."""
    label = _band_label(band, default=True)
    with_score = sqltext.text(
        gettext("%(band)s (score %(score).1f)"), {"band": label, "score": score}
    )
    return (
        f"(CASE WHEN {score} IS NULL THEN {label[0]} ELSE {with_score[0]} END)",
        [*label[1], *with_score[1]],
    )


NONE: Fragment = ("", [])


def _metric_in(template: str, name: str) -> str:
    """The metric's name as `template` (translated) places it: as written where the text
    starts with it, else as it reads inside a sentence ("Highest unresolved complaints")."""
    return name if template.startswith("%(metric)s") else in_sentence(name)


def _words_of(template: str, name: str, values: dict) -> Fragment:
    """Evidence in words naming the metric (sqltext.text with the metric's name)."""
    return sqltext.text(template, {**values, "metric": sqltext.param(_metric_in(template, name))})


def _label_of(template: str, name: str) -> str:
    """An evidence label naming the metric."""
    return template % {"metric": _metric_in(template, name)}


# ---------------------------------------------------------------- the kinds


def _band_worse_run(scope: Scope, params: dict) -> ScoreRun | None:
    return scope.run_before()


def band_worse(scope: Scope, params: dict) -> Fragment:
    band = Band.of(params["band"])
    held = [b for b in RANK if RANK[b] <= RANK[band]] + [Band.NO_DATA]
    better = [b for b in RANK if RANK[b] > RANK[band]]
    before = _band_worse_run(scope, params)
    day = before.date if before else scope.as_of
    was_band, was_score = scope.earlier_columns(before)

    def texts() -> tuple[Fragment, Fragment]:
        evidence = sqltext.json_items(
            [
                (gettext("Band"), _band_label("sc.band", default=False)),
                (gettext("Score"), "sc.score"),
                (gettext("Band on %(day)s") % {"day": day}, _band_label(was_band, default=False)),
                (gettext("Score on %(day)s") % {"day": day}, was_score),
            ]
        )
        words = sqltext.text(
            gettext("Now %(now)s, %(before)s on %(day)s."),
            {
                "now": _band_words("sc.band", "sc.score"),
                "before": _band_words(was_band, was_score),
                "day": sqltext.param(str(day)),
            },
        )
        return evidence, words

    fires = (
        f"CASE WHEN sc.band = %s AND {was_band} IN ({_marks(better)}) THEN 1 ELSE 0 END",
        [band, *better],
    )
    # Rows that hold without firing matter only where they keep an active CTA open.
    rest = (
        f"FROM scored sc WHERE sc.band IN ({_marks(held)}) AND ({was_band} IN ({_marks(better)}) "
        "OR EXISTS (SELECT 1 FROM scoring_calltoaction c WHERE c.rule_id = %s "
        "AND c.account_id = sc.account_id AND c.status IN (%s, %s)))",
        [*held, *better, scope.rule_id or 0, *ACTIVE],
    )
    return _hits_sql(_scored(scope), NONE, fires, texts, rest)


# Scores are stored with two decimals: a drop of 14.99 is not one of 15.
SCORE_STEP = 0.005


def _score_drop_run(scope: Scope, params: dict) -> ScoreRun | None:
    return scope.run_on(scope.as_of - dt.timedelta(days=params["days"]))


def score_drop(scope: Scope, params: dict) -> Fragment | None:
    points = params["points"]
    day = scope.as_of - dt.timedelta(days=params["days"])
    before = _score_drop_run(scope, params)
    if before is None:
        return None
    _was_band, was = scope.earlier_columns(before)

    def texts() -> tuple[Fragment, Fragment]:
        evidence = sqltext.json_items(
            [
                (gettext("Score"), "sc.score"),
                (gettext("Score on %(day)s") % {"day": day}, was),
                (gettext("Change"), sqltext.rounded(f"sc.score - {was}", 2)),
            ]
        )
        words = sqltext.text(
            gettext("Score %(score).1f, %(was).1f on %(day)s: down %(down).1f points."),
            {
                "score": "sc.score",
                "was": was,
                "day": sqltext.param(str(day)),
                "down": f"({was} - sc.score)",
            },
        )
        return evidence, words

    rest = (
        f"FROM scored sc WHERE sc.score IS NOT NULL AND {was} IS NOT NULL "
        f"AND {was} - sc.score >= %s",
        [points - SCORE_STEP],
    )
    return _hits_sql(_scored(scope), NONE, ("1", []), texts, rest)


def renewal_at_risk(scope: Scope, params: dict) -> Fragment:
    last = scope.as_of + dt.timedelta(days=params["days"])
    days = sqltext.days_between("sc.renewal_date", sqltext.day(scope.as_of))
    renewal = sqltext.iso_day("sc.renewal_date")

    def texts() -> tuple[Fragment, Fragment]:
        evidence = sqltext.json_items(
            [
                (gettext("Band"), _band_label("sc.band", default=False)),
                (gettext("Score"), "sc.score"),
                (gettext("Renewal"), renewal),
                (gettext("Days to renewal"), days),
            ]
        )
        words = sqltext.text(
            gettext("%(band)s; renews on %(renewal)s, in %(days)s days."),
            {"band": _band_words("sc.band", "sc.score"), "renewal": renewal, "days": days},
        )
        return evidence, words

    rest = (
        "FROM scored sc WHERE sc.band IN (%s, %s) AND sc.renewal_date >= %s "
        "AND sc.renewal_date <= %s",
        [Band.YELLOW, Band.RED, _day(scope.as_of), _day(last)],
    )
    return _hits_sql(_scored(scope), NONE, ("1", []), texts, rest)


def complaint_open(scope: Scope, params: dict, metric: tuple[int, str]) -> Fragment:
    # Open since: the first signal above 0 after the last one at 0 (or ever). It fires when
    # that is more than `days` days before the run's date, i.e. before the start of the day
    # `days` days back.
    since_before = window_end(scope.as_of - dt.timedelta(days=params["days"] + 1))
    where, where_params = _signals(scope, metric[0])
    marks, marks_params = _signal_marks(scope, metric[0])
    # The marks tell whose complaint is open (above 0 after the last 0); one grouped pass
    # over the signals above 0 then finds since when and how high, for those few.
    ctes = (
        f", still AS (SELECT k.account_id, k.nonpositive_at AS cleared FROM ({marks}) k "
        "WHERE k.positive_at IS NOT NULL "
        "AND (k.nonpositive_at IS NULL OR k.positive_at > k.nonpositive_at)), "
        "opened AS (SELECT s.account_id, MIN(s.observed_at) AS since, MAX(s.value) AS most "
        f"FROM accounts_signal s JOIN still o ON o.account_id = s.account_id WHERE {where} "
        "AND s.value > 0 AND (o.cleared IS NULL OR s.observed_at > o.cleared) "
        "GROUP BY s.account_id)",
        [*marks_params, *where_params],
    )

    def texts() -> tuple[Fragment, Fragment]:
        name = builtin(metric[1])
        since = sqltext.local_day("o.since", scope.as_of, timezone.get_current_timezone())
        days = sqltext.days_between(sqltext.day(scope.as_of), since)
        evidence = sqltext.json_items(
            [
                (_label_of(gettext("%(metric)s above 0 since"), name), sqltext.iso_day(since)),
                (gettext("Days unresolved"), days),
                (_label_of(gettext("Highest %(metric)s"), name), "o.most"),
            ]
        )
        words = _words_of(
            gettext("%(metric)s above 0 since %(since)s: %(days)s days (up to %(most)g)."),
            name,
            {
                "since": sqltext.iso_day(since),
                "days": days,
                "most": "o.most",
            },
        )
        return evidence, words

    rest = (
        "FROM scored sc JOIN opened o ON o.account_id = sc.account_id WHERE o.since < %s",
        [_at(since_before)],
    )
    return _hits_sql(_scored(scope), ctes, ("1", []), texts, rest)


def _signal_marks(scope: Scope, metric_id: int) -> Fragment:
    """The marks of one metric's signals observed by the end of the run's date (of the
    accounts asked about, after a re-score, or of the part's range): accounts.marks."""
    return marks_sql(metric_id, window_end(scope.as_of), scope.account_ids, scope.account_range)


def _latest_sql(marks: str, *, start: bool) -> str:
    """latest: the accounts whose newest signal (reported since a start) is at least a
    minimum, with when and its value (of two at the same moment, the higher counts)."""
    after = " AND k.newest_at >= %s" if start else ""
    return (
        # Materialized: the evidence and the words read the value once per language (and,
        # computed from the signals, it is a lookup each time).
        ", latest AS MATERIALIZED (SELECT k.account_id, k.newest_at AS observed_at, "
        "k.newest_value AS value "
        f"FROM ({marks}) k WHERE k.newest_value >= %s{after})"
    )


def invoice_late(scope: Scope, params: dict, metric: tuple[int, str]) -> Fragment:
    marks, marks_params = _signal_marks(scope, metric[0])
    ctes = (_latest_sql(marks, start=False), [*marks_params, params["days"]])

    def texts() -> tuple[Fragment, Fragment]:
        name = builtin(metric[1])
        on = sqltext.iso_day(
            sqltext.local_day("l.observed_at", scope.as_of, timezone.get_current_timezone())
        )
        evidence = sqltext.json_items(
            [
                (_label_of(gettext("Latest %(metric)s"), name), "l.value"),
                (gettext("Reported on"), on),
            ]
        )
        words = _words_of(
            gettext("Latest %(metric)s: %(value)g (reported on %(day)s)."),
            name,
            {"value": "l.value", "day": on},
        )
        return evidence, words

    rest = ("FROM scored sc JOIN latest l ON l.account_id = sc.account_id", [])
    return _hits_sql(_scored(scope), ctes, ("1", []), texts, rest)


def no_login(scope: Scope, params: dict, metric: tuple[int, str]) -> Fragment:
    # "The last N days": the run's date and the N - 1 days before it, the scorecards'
    # windows too (scoring.aggregates).
    days = params["days"]
    end = window_end(scope.as_of)
    start = end - dt.timedelta(days=days)
    customer_since = scope.as_of - dt.timedelta(days=days)
    marks, marks_params = _signal_marks(scope, metric[0])
    # Idle: no signal above 0 since the start; last: the newest above 0 (NULL: never).
    # Materialized: the evidence and the words read `last` once per language.
    ctes = (
        f", idle AS MATERIALIZED (SELECT {HIT_COLUMNS}, sc.language, k.positive_at AS last "
        f"FROM scored sc LEFT JOIN ({marks}) k ON k.account_id = sc.account_id "
        "WHERE sc.start_date <= %s AND (k.positive_at IS NULL OR k.positive_at < %s) "
        # A team that never sends this metric has no "no login" to report.
        f"AND {metric_has_signals_sql('%s')})",
        [*marks_params, _day(customer_since), _at(start), metric[0]],
    )

    def texts() -> tuple[Fragment, Fragment]:
        name = builtin(metric[1])
        last = sqltext.local_day("i.last", scope.as_of, timezone.get_current_timezone())
        evidence = sqltext.json_items(
            [(_label_of(gettext("Last %(metric)s above 0"), name), sqltext.iso_day(last))]
        )
        ago = _words_of(
            gettext("Last %(metric)s above 0: %(day)s (%(days)s days ago)."),
            name,
            {
                "day": sqltext.iso_day(last),
                "days": sqltext.days_between(sqltext.day(scope.as_of), last),
            },
        )
        never = _words_of(gettext("Last %(metric)s above 0: never."), name, {})
        words = (
            f"(CASE WHEN i.last IS NULL THEN {never[0]} ELSE {ago[0]} END)",
            [*never[1], *ago[1]],
        )
        return evidence, words

    return _hits_sql(_scored(scope), ctes, ("1", []), texts, ("FROM idle i", []), "i")


def promoter_healthy(scope: Scope, params: dict, metric: tuple[int, str]) -> Fragment:
    start = window_end(scope.as_of) - dt.timedelta(days=params["days"])
    marks, marks_params = _signal_marks(scope, metric[0])
    ctes = (_latest_sql(marks, start=True), [*marks_params, params["minimum"], _at(start)])

    def texts() -> tuple[Fragment, Fragment]:
        name = builtin(metric[1])
        on = sqltext.iso_day(
            sqltext.local_day("l.observed_at", scope.as_of, timezone.get_current_timezone())
        )
        evidence = sqltext.json_items(
            [
                (gettext("Band"), _band_label("sc.band", default=False)),
                (gettext("Score"), "sc.score"),
                (_label_of(gettext("Latest %(metric)s"), name), "l.value"),
                (gettext("Answered on"), on),
            ]
        )
        words = _words_of(
            gettext("%(band)s; %(metric)s %(value)g on %(day)s."),
            name,
            {
                "band": _band_words("sc.band", "sc.score"),
                "value": "l.value",
                "day": on,
            },
        )
        return evidence, words

    rest = (
        "FROM scored sc JOIN latest l ON l.account_id = sc.account_id WHERE sc.band = %s",
        [Band.GREEN],
    )
    return _hits_sql(_scored(scope), ctes, ("1", []), texts, rest)


# Kinds that read the scores only, and kinds that read one metric's signals too.
SCORE_KINDS: dict[str, Callable[[Scope, dict], Fragment | None]] = {
    "band_worse": band_worse,
    "score_drop": score_drop,
    "renewal_at_risk": renewal_at_risk,
}
SIGNAL_KINDS: dict[str, Callable[[Scope, dict, tuple[int, str]], Fragment | None]] = {
    "complaint_open": complaint_open,
    "invoice_late": invoice_late,
    "no_login": no_login,
    "promoter_healthy": promoter_healthy,
}


# The kinds that compare with an earlier run, and which one.
EARLIER_RUN: dict[str, Callable[[Scope, dict], ScoreRun | None]] = {
    "band_worse": _band_worse_run,
    "score_drop": _score_drop_run,
}


def earlier_keep(*, kind: str, parameters: dict, scope: Scope) -> None:
    """Name the earlier run a rule of `kind` compares with (if any) before scored_keep, so
    the kept accounts carry their band and score in it. At most one query (cached)."""
    find = EARLIER_RUN.get(kind)
    if find is not None:
        scope.earlier_columns(find(scope, parameters))


def condition_sql(*, kind: str, parameters: dict, scope: Scope) -> Fragment | None:
    """The query of the accounts of the scope a rule of `kind` holds for, with the columns
    account_id, owner_id, stage_id, band, score, fires, evidence, words, language; None
    where it holds for nobody (a metric the catalogue lacks, no earlier run to compare with)."""
    if kind in SCORE_KINDS:
        return SCORE_KINDS[kind](scope, parameters)
    if kind in SIGNAL_KINDS:
        metric = scope.metrics.get(parameters.get("metric", ""))
        if metric is None:
            return None
        return SIGNAL_KINDS[kind](scope, parameters, metric)
    raise ValueError(gettext("Unknown rule kind %(kind)r.") % {"kind": kind})


def condition_hits(*, kind: str, parameters: dict, scope: Scope) -> list[Hit]:
    """The accounts of the scope a rule of `kind` holds for, read into Python (a preview, a
    test): one query."""
    query = condition_sql(kind=kind, parameters=parameters, scope=scope)
    if query is None:
        return []
    return [
        Hit(account_id, owner_id, stage_id, band, score, True, json.loads(evidence), words)
        if fires
        else Hit(account_id, owner_id, stage_id, band, score, False, [], "")
        for account_id, owner_id, stage_id, band, score, fires, evidence, words, _ in _rows(*query)
    ]
