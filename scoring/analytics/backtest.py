"""Back-test: did a scorecard version's scores, at past dates, predict churn that followed?

At each evaluation date (monthly by default) every account that was then a customer and is
scored by the version's scorecard gets the version's score as of that date (asof.py: stored
snapshots, else computed from the signals up to that date) and the label "churned within the
horizon" (labels.py). Pooled over the dates: churn rate per band with 95 % intervals, the ROC
curve and AUC (with an interval that resamples accounts), the lift of the lowest-scored decile,
and each measure's own AUC. When the data cannot support an answer the result says what is
missing instead of giving a number (`status == "not_enough_data"`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
from django.utils.translation import gettext as _

from accounts.i18n import builtin
from healthboard.lib.dates import short_day_text
from healthboard.lib.numbers import number_text, share_text
from scoring.analytics import labels as lab
from scoring.analytics import metrics
from scoring.analytics.asof import DateScores, scores_as_of
from scoring.analytics.features import no_signals_hint
from scoring.bands import ORDER, Band
from scoring.specs import ScorecardAssignment, VersionConfig, active_versions

HORIZON_DAYS = 90
# Below these the figures are noise: say so rather than show them.
MIN_ACCOUNTS = 20
MIN_CHURNED = 1
# Below this many churners the figures are shown but called indicative.
FEW_CHURNED = 20
# A band with fewer observations than this has no churn rate worth comparing.
MIN_BAND = 5

Progress = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    return None


@dataclass
class Observations:
    """One row per (account, evaluation date): the pooled, labelled scores."""

    account_ids: np.ndarray
    date_index: np.ndarray
    score: np.ndarray
    band: np.ndarray
    sub: np.ndarray  # (rows × measures)
    churned: np.ndarray
    dates: list[dt.date]
    stored: int = 0
    computed: int = 0

    @classmethod
    def pool(cls, parts: list[tuple[DateScores, np.ndarray]], dates, n_measures) -> Observations:
        if not parts:
            empty = np.array([])
            return cls(
                empty.astype(np.int64),
                empty.astype(np.int64),
                empty,
                empty.astype(object),
                np.empty((0, n_measures)),
                empty.astype(bool),
                dates,
            )
        return cls(
            account_ids=np.concatenate([p.account_ids for p, _y in parts]),
            date_index=np.concatenate(
                [np.full(len(p.account_ids), i) for i, (p, _y) in enumerate(parts)]
            ),
            score=np.concatenate([p.score for p, _y in parts]),
            band=np.concatenate([p.band for p, _y in parts]),
            sub=np.vstack([p.sub for p, _y in parts]),
            churned=np.concatenate([y for _p, y in parts]),
            dates=dates,
            stored=sum(p.stored for p, _y in parts),
            computed=sum(p.computed for p, _y in parts),
        )


def version_accounts(version: VersionConfig, pop: lab.Population) -> np.ndarray:
    """Mask of the accounts the version's scorecard scores (by segment, as runs assign them:
    the other scorecards keep their active versions)."""
    others = [v for v in active_versions() if v.scorecard_id != version.scorecard_id]
    assignment = ScorecardAssignment([*others, version])
    mine = [int(s) for s in np.unique(pop.segment_ids) if assignment.for_segment(int(s)) is version]
    return np.isin(pop.segment_ids, mine)


def observations(
    version: VersionConfig,
    dates: list[dt.date],
    *,
    horizon_days: int,
    pop: lab.Population | None = None,
    use_stored: bool = True,
    progress: Progress = no_progress,
) -> Observations:
    """The version's scores at each date, labelled by churn within the horizon."""
    pop = pop or lab.population()
    scored_by_version = version_accounts(version, pop)
    parts = []
    for i, day in enumerate(dates):
        progress(
            i / max(len(dates), 1),
            _("Scoring %(day)s (%(number)s of %(count)s)")
            % {"day": short_day_text(day), "number": i + 1, "count": len(dates)},
        )
        mask = pop.customers_on(day) & scored_by_version
        ids, seats = pop.ids[mask], pop.seats[mask]
        scored = scores_as_of(version, day, ids, seats, use_stored=use_stored)
        parts.append((scored, pop.churned_within(day, horizon_days)[mask]))
    return Observations.pool(parts, dates, len(version.measures))


@dataclass
class MeasureAuc:
    name: str
    category: str
    direction: int
    rows: int  # observations with data for the measure
    auc: float | None
    low: float | None
    high: float | None
    agrees: bool | None  # its sub-score ranks churners lower (AUC > 0.5)
    significant: bool | None  # the interval excludes 0.5


@dataclass
class BacktestResult:
    """What a back-test found; `to_json()` is what an AnalysisRun stores and --json prints."""

    scorecard: str
    version: int
    version_id: int
    is_draft: bool
    start: str
    end: str
    horizon_days: int
    dates: list[str]
    dates_too_recent: list[str]
    status: str = "ok"  # "ok" | "not_enough_data"
    missing: list[str] = field(default_factory=list)  # what is missing, in words
    n_accounts: int = 0
    n_churned: int = 0  # accounts that churned within the horizon of some date
    n_observations: int = 0
    n_churned_observations: int = 0
    n_no_data: int = 0  # observations in the "No data" band (left out of AUC and lift)
    stored_rows: int = 0
    computed_rows: int = 0
    auc: float | None = None
    auc_low: float | None = None
    auc_high: float | None = None
    churn_rate_by_band: dict[str, dict] = field(default_factory=dict)
    red_to_green: float | None = None  # churn rate of red / green
    roc: list[dict] = field(default_factory=list)
    lift: dict | None = None
    measures: list[dict] = field(default_factory=list)
    interpretation: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


def _band_rates(obs: Observations) -> dict[str, dict]:
    out = {}
    for band in ORDER:
        in_band = obs.band == band
        p = metrics.proportion(int(obs.churned[in_band].sum()), int(in_band.sum()))
        out[str(band)] = {"label": str(Band(band).label), **p.to_json()}  # stored JSON
    return out


def _measure_aucs(version: VersionConfig, obs: Observations) -> list[dict]:
    """Each measure's AUC with a 95 % interval; "significant" holds the measures jointly to
    5 % (Bonferroni), so twenty measures on pure noise do not flag one by chance."""
    from scipy.stats import norm

    z_joint = float(norm.ppf(1 - 0.025 / max(len(version.measures), 1)))
    out = []
    for j, m in enumerate(version.measures):
        col = obs.sub[:, j]
        has = ~np.isnan(col)
        value = metrics.auc(col[has], obs.churned[has])
        low = high = None
        significant = None
        if value is not None:
            se = metrics.auc_standard_error(
                value, int(obs.churned[has].sum()), int((~obs.churned[has]).sum())
            )
            low, high = max(0.0, value - metrics.Z95 * se), min(1.0, value + metrics.Z95 * se)
            significant = abs(value - 0.5) > z_joint * se
        out.append(
            asdict(
                MeasureAuc(
                    name=m.name,
                    category=m.category,
                    direction=m.spec.direction,
                    rows=int(has.sum()),
                    auc=value,
                    low=low,
                    high=high,
                    agrees=None if value is None else value > 0.5,
                    significant=significant,
                )
            )
        )
    return out


def _percent(x: float | None) -> str:
    return "–" if x is None else share_text(x, 1)


def _interpret(r: BacktestResult) -> list[str]:
    lines = [
        _(
            "%(accounts)s accounts scored on %(dates)s date(s) (%(scores)s scores); "
            "%(churned)s of the accounts churned within %(days)s days of a date they were "
            "scored on."
        )
        % {
            "accounts": number_text(r.n_accounts),
            "dates": len(r.dates),
            "scores": number_text(r.n_observations),
            "churned": number_text(r.n_churned),
            "days": r.horizon_days,
        }
    ]
    if r.auc is not None:
        lines.append(
            _(
                "AUC %(auc)s: an account that stayed scored higher than one that churned "
                "%(share)s of the time (0.5 is a coin toss, 1 a perfect ranking)."
            )
            % {"auc": number_text(r.auc, 2), "share": share_text(r.auc)}
        )
        if r.auc_low is not None:
            width = r.auc_high - r.auc_low
            interval = {
                "low": number_text(r.auc_low, 2),
                "high": number_text(r.auc_high, 2),
                "half": number_text(width / 2, 2),
            }
            if width < 0.1:
                text = _(
                    "95 %% interval %(low)s–%(high)s (accounts resampled): fairly sure of "
                    "the AUC to ±%(half)s."
                )
            else:
                text = _(
                    "95 %% interval %(low)s–%(high)s (accounts resampled): unsure of the "
                    "AUC to ±%(half)s."
                )
            lines.append(text % interval)
        if r.auc < 0.5:
            lines.append(_("Below 0.5: the score ranks churners higher than loyal accounts."))
    green = r.churn_rate_by_band.get(Band.GREEN, {})
    red = r.churn_rate_by_band.get(Band.RED, {})
    if green.get("rate") is not None and red.get("rate") is not None:
        rates = {
            "red": _percent(red["rate"]),
            "red_n": number_text(red["n"]),
            "green": _percent(green["rate"]),
            "green_n": number_text(green["n"]),
            "ratio": number_text(r.red_to_green, 1),
        }
        # A ratio over a handful of healthy churners would swing wildly: say it only with some.
        if r.red_to_green is not None and green["k"] >= 3:
            text = _(
                "%(red)s of %(red_n)s unhealthy scores were followed by churn, %(green)s of "
                "%(green_n)s healthy ones: unhealthy accounts churned %(ratio)s times as often."
            )
        else:
            text = _(
                "%(red)s of %(red_n)s unhealthy scores were followed by churn, %(green)s of "
                "%(green_n)s healthy ones."
            )
        lines.append(text % rates)
    if r.lift and r.lift.get("lift") is not None:
        lines.append(
            _(
                "The lowest-scored 10 %% churned %(lift)s times as often as average and held "
                "%(captured)s of the churn."
            )
            % {"lift": number_text(r.lift["lift"], 1), "captured": _percent(r.lift["captured"])}
        )
    wrong = [m["name"] for m in r.measures if m["agrees"] is False and m["significant"]]
    if wrong:
        lines.append(
            _(
                "Measures whose direction the data contradicts (churners score higher on them): "
                "%(measures)s."
            )
            % {"measures": ", ".join(builtin(name) for name in wrong)}
        )
    if 0 < r.n_churned < FEW_CHURNED:
        lines.append(
            _(
                "Only %(churned)s churned accounts: the figures are indicative and the "
                "intervals wide."
            )
            % {"churned": r.n_churned}
        )
    lines.append(
        _(
            "The same account is counted at each date it was scored on; intervals resample "
            "accounts, not scores, so repeated dates do not make them look surer than they are."
        )
    )
    return lines


def _not_enough(r: BacktestResult, obs: Observations, labelled: lab.LabelledDates) -> list[str]:
    missing = []
    if not labelled.dates:
        if labelled.too_recent:
            missing.append(
                _(
                    "No evaluation date whose %(days)s-day horizon has passed: the period ends "
                    "too recently (the latest usable date is %(latest)s)."
                )
                % {
                    "days": labelled.horizon_days,
                    "latest": labelled.known_until - dt.timedelta(days=labelled.horizon_days),
                }
            )
        else:
            missing.append(_("No evaluation dates: the period is empty (from after to)."))
        return missing
    if r.n_accounts < MIN_ACCOUNTS:
        missing.append(
            _("Too few accounts: %(scored)s scored, at least %(needed)s are needed.")
            % {"scored": r.n_accounts, "needed": MIN_ACCOUNTS}
        )
    if r.n_churned < MIN_CHURNED:
        missing.append(
            _(
                "No account churned within %(days)s days of any evaluation date, so nothing "
                "shows whether low scores come before churn."
            )
            % {"days": r.horizon_days}
        )
    elif r.n_churned == r.n_accounts:
        missing.append(_("Every account churned: there are no loyal accounts to compare with."))
    if r.n_observations and r.n_no_data == r.n_observations:
        missing.append(
            " ".join(
                [
                    _("No account had enough data to be scored on any evaluation date."),
                    no_signals_hint(dt.date.fromisoformat(r.end)),
                ]
            ).strip()
        )
    banded = [b for b in (Band.GREEN, Band.YELLOW, Band.RED) if (obs.band == b).sum() >= MIN_BAND]
    if r.n_observations and len(banded) < 2:
        only = Band(banded[0]).label if banded else Band.NO_DATA.label
        missing.append(
            _(
                "Only one band has %(count)s or more scores (%(band)s): band churn rates cannot "
                "be compared."
            )
            % {"count": MIN_BAND, "band": only}
        )
    return missing


def backtest(
    version: VersionConfig,
    *,
    start: dt.date,
    end: dt.date,
    horizon_days: int = HORIZON_DAYS,
    step_months: int = 1,
    is_draft: bool = False,
    today: dt.date | None = None,
    use_stored: bool = True,
    progress: Progress = no_progress,
) -> BacktestResult:
    """Back-test the version over [start, end]; see the module's docstring."""
    began = time.perf_counter()
    labelled = lab.labelled_dates(
        start, end, horizon_days=horizon_days, step_months=step_months, today=today
    )
    result = BacktestResult(
        scorecard=version.scorecard_name,
        version=version.number,
        version_id=version.id,
        is_draft=is_draft,
        start=start.isoformat(),
        end=end.isoformat(),
        horizon_days=horizon_days,
        dates=[d.isoformat() for d in labelled.dates],
        dates_too_recent=[d.isoformat() for d in labelled.too_recent],
    )
    if problems := version.problems():
        result.status = "not_enough_data"
        result.missing = [f"The version cannot score: {problems[0]}"]
        return result
    obs = observations(
        version,
        labelled.dates,
        horizon_days=horizon_days,
        use_stored=use_stored,
        progress=progress,
    )
    progress(0.95, _("Measuring"))
    fill(result, version, obs)
    result.missing = _not_enough(result, obs, labelled)
    if result.missing:
        result.status = "not_enough_data"
        # A number computed from what is missing would mislead: keep only the counts.
        result.auc = result.auc_low = result.auc_high = result.red_to_green = None
        result.roc, result.lift, result.measures = [], None, []
    result.interpretation = _interpret(result) if result.status == "ok" else []
    result.seconds = round(time.perf_counter() - began, 2)
    progress(1.0, _("Done"))
    return result


def fill(result: BacktestResult, version: VersionConfig, obs: Observations) -> None:
    """Counts, band rates, AUC, ROC, lift and per-measure AUCs of the observations."""
    result.n_observations = len(obs.score)
    result.n_accounts = int(len(np.unique(obs.account_ids)))
    result.n_churned = int(len(np.unique(obs.account_ids[obs.churned])))
    result.n_churned_observations = int(obs.churned.sum())
    result.stored_rows, result.computed_rows = obs.stored, obs.computed
    known = obs.band != Band.NO_DATA
    result.n_no_data = int((~known).sum())
    result.churn_rate_by_band = _band_rates(obs)
    s, y, g = obs.score[known], obs.churned[known], obs.account_ids[known]
    result.auc = metrics.auc(s, y)
    interval = metrics.auc_interval_by_account(s, y, g) if result.auc is not None else None
    if interval:
        result.auc_low, result.auc_high = interval
    result.roc = metrics.roc_curve(s, y)
    result.lift = metrics.lift_lowest(s, y).to_json() if len(s) else None
    red = result.churn_rate_by_band[Band.RED]["rate"]
    green = result.churn_rate_by_band[Band.GREEN]["rate"]
    if red is not None and green:
        result.red_to_green = red / green
    result.measures = _measure_aucs(version, obs)
