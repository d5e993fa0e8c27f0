"""Why this score and what moved: the parts add up to the score, and the movers read well."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import engine, explain
from scoring.specs import MeasureConfig, VersionConfig


def measure(
    pk: int,
    name: str,
    category: str = "usage",
    weight: float = 1.0,
    *,
    metric_id: int | None = None,
    aggregation: str = "mean",
    window_days: int = 28,
    per_seat: bool = False,
) -> MeasureConfig:
    return MeasureConfig(
        id=pk,
        name=name,
        category=category,
        metric_id=metric_id if metric_id is not None else pk,
        aggregation=aggregation,
        window_days=window_days,
        per_seat=per_seat,
        spec=engine.MeasureSpec(
            key=str(pk), weight=weight, rule="range", direction=1, low=0, high=100
        ),
    )


def version(*measures: MeasureConfig, pk: int = 1, number: int = 1) -> VersionConfig:
    return VersionConfig(
        id=pk,
        scorecard_id=1,
        scorecard_name="Standard",
        number=number,
        is_default=True,
        segment_ids=frozenset(),
        band_mode="fixed",
        green_at=70,
        red_below=40,
        top_share=0.25,
        bottom_share=0.25,
        min_coverage=0.5,
        measures=tuple(measures),
    )


def snapshot(raw: list, sub: list, score: float | None = None, coverage: float = 1.0):
    """A HealthScore-shaped object; the score defaults to what the engine would store."""
    if score is None:
        weights = [1.0] * len(sub)
        present = [(w, s) for w, s in zip(weights, sub, strict=True) if s is not None]
        if present:
            score = round(sum(w * s for w, s in present) / sum(w for w, _ in present), 2)
    return SimpleNamespace(score=score, coverage=coverage, details={"raw": raw, "sub": sub})


LOGINS = measure(1, "Logins per seat per week", "usage", 2.0)
ADOPTION = measure(2, "Feature adoption", "usage", 1.0, metric_id=20)
NPS = measure(3, "NPS", "sentiment", 1.0, aggregation="nps")
TICKETS = measure(4, "Tickets in 90 days", "support", 1.0, aggregation="count")
V1 = version(LOGINS, ADOPTION, NPS, TICKETS)
UNITS = {1: "logins/week", 20: "%", 3: "0–10", 4: "severity 1–4"}


# ---------------------------------------------------------------- the breakdown


def test_contributions_add_up_to_the_score() -> None:
    score = SimpleNamespace(
        score=round((2 * 80 + 1 * 35 + 1 * 61.5) / 4, 2),
        coverage=1.0,
        details={"raw": [3.1, 41.0, 22.0, 4.0], "sub": [80, 35, 61.5, 0]},
    )
    # The engine weighs by effective weight: the snapshot's own score is the reference.
    parts = engine.score_accounts([[80, 35, 61.5, 0]], [m.spec for m in V1.measures])
    score.score = round(float(parts.score[0]), 2)

    breakdown = explain.score_breakdown(score=score, version=V1, units=UNITS)

    assert math.isclose(breakdown.total, score.score, abs_tol=0.005)
    assert sum(line.shown for line in breakdown.lines) == pytest.approx(round(score.score, 1))
    assert breakdown.shown_total == round(score.score, 1)
    assert math.isclose(sum(line.weight_share for line in breakdown.lines), 1.0)
    logins = breakdown.lines[0]
    assert logins.weight_share == pytest.approx(0.4)
    assert logins.contribution == pytest.approx(0.4 * 80)


def test_measures_without_data_show_no_data_and_weigh_nothing() -> None:
    score = snapshot([3.1, None, 22.0, None], [80, None, 60, None])

    breakdown = explain.score_breakdown(score=score, version=V1, units=UNITS)

    by_name = {line.name: line for line in breakdown.lines}
    adoption = by_name["Feature adoption"]
    assert not adoption.has_data
    assert adoption.value_text == "no data"
    assert (adoption.weight_share, adoption.contribution, adoption.shown) == (0, 0, 0)
    # The rest share the whole weight between them: logins 2 of 3, NPS 1 of 3.
    assert by_name["Logins per seat per week"].weight_share == pytest.approx(2 / 3)
    assert by_name["NPS"].weight_share == pytest.approx(1 / 3)
    assert breakdown.coverage == pytest.approx(0.6)
    assert breakdown.total == pytest.approx(2 / 3 * 80 + 1 / 3 * 60)


def test_measures_are_grouped_by_category_in_the_scorecard_order_with_subtotals() -> None:
    score = snapshot([3.1, 41.0, 22.0, 4.0], [80, 35, 60, 10])

    breakdown = explain.score_breakdown(score=score, version=V1, units=UNITS)

    assert [g.label for g in breakdown.categories] == ["Usage", "Support", "Sentiment"]
    usage = breakdown.categories[0]
    assert [line.name for line in usage.lines] == ["Logins per seat per week", "Feature adoption"]
    assert usage.contribution == pytest.approx(sum(line.contribution for line in usage.lines))
    assert usage.measures_with_data == 2
    assert sum(g.shown for g in breakdown.categories) == pytest.approx(breakdown.shown_total)


def test_a_snapshot_without_any_data_has_an_empty_breakdown() -> None:
    score = SimpleNamespace(
        score=None, coverage=0.0, details={"raw": [None] * 4, "sub": [None] * 4}
    )

    breakdown = explain.score_breakdown(score=score, version=V1)

    assert not breakdown.has_data
    assert breakdown.total == 0
    assert all(line.value_text == "no data" for line in breakdown.lines)


def test_short_or_missing_details_read_as_no_data() -> None:
    breakdown = explain.score_breakdown(
        score=SimpleNamespace(score=80.0, coverage=0.4, details={"raw": [3.1], "sub": [80]}),
        version=V1,
    )

    assert [line.has_data for line in breakdown.lines] == [True, False, False, False]
    assert breakdown.total == pytest.approx(80)


def test_values_carry_the_measure_unit() -> None:
    per_seat = measure(5, "Active users per seat", metric_id=5, per_seat=True)
    spend = measure(6, "Spend trend", "financial", metric_id=6, aggregation="trend")
    card = version(LOGINS, ADOPTION, NPS, TICKETS, per_seat, spend)
    units = {**UNITS, 5: "users", 6: "currency"}
    score = snapshot([3.14, 41.0, 22.0, 4.0, 0.456, 12.0], [80, 35, 60, 10, 50, 50])

    values = [
        line.value_text
        for line in explain.score_breakdown(score=score, version=card, units=units).lines
    ]

    # A count of tickets is not in "severity 1–4"; an NPS is not a 0–10 answer.
    # Grouped by category: usage, then support, sentiment, financial.
    assert values == [
        "3.1 logins/week",
        "41%",
        "0.46 users per seat",
        "4",
        "NPS 22",
        "12 per day",
    ]


def test_money_and_scales_read_naturally() -> None:
    assert explain.value_text(22529.4, "currency") == "$22,529"
    assert explain.value_text(-1200, "currency") == "\u2212$1,200"
    assert explain.value_text(4.25, "1–5") == "4.2 (1–5)"
    assert explain.value_text(12, "hours") == "12 hours"
    assert explain.value_text(1, "meetings") == "1 meeting"
    assert explain.value_text(1, "logins/week") == "1 login/week"
    assert explain.value_text(None, "hours") == "no data"


def test_money_is_in_the_installation_s_currency_placed_as_the_reader_s_language(settings):
    settings.CURRENCY = "DKK"
    with translation.override("da"):
        assert explain.value_text(22529.4, "currency") == "22.529\u00a0kr."
    settings.CURRENCY = "EUR"
    assert explain.value_text(-1200, "currency") == "\u2212€1,200"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1234.4, "1,234"),
        (45.55, "45.5"),
        (3.14, "3.1"),
        (3.0, "3"),
        (0.0456, "0.046"),
        (0, "0"),
        (-100, "\u2212100"),
        (None, "no data"),
        (float("nan"), "no data"),
    ],
)
def test_number_text(value, text: str) -> None:
    assert explain.number_text(value) == text


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0.1, max_value=10),
            st.one_of(st.none(), st.floats(min_value=0, max_value=100)),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_shown_parts_always_add_up_to_the_shown_score(rows) -> None:
    """Whatever the weights and sub-scores, the rounded parts add up to the rounded score."""
    measures = [measure(i + 1, f"M{i}", weight=w) for i, (w, _s) in enumerate(rows)]
    subs = [s for _w, s in rows]
    parts = engine.score_accounts(
        [[math.nan if s is None else s for s in subs]], [m.spec for m in measures]
    )
    stored = None if math.isnan(parts.score[0]) else round(float(parts.score[0]), 2)
    score = SimpleNamespace(score=stored, coverage=1.0, details={"raw": subs, "sub": subs})

    breakdown = explain.score_breakdown(score=score, version=version(*measures))

    if stored is None:
        assert not breakdown.has_data
        return
    assert math.isclose(breakdown.total, stored, abs_tol=0.006)
    assert round(sum(line.shown for line in breakdown.lines), 1) == round(stored, 1)
    assert all(line.shown >= 0 for line in breakdown.lines)
    assert all(abs(line.shown - line.contribution) < 0.1 + 1e-9 for line in breakdown.lines)


# ---------------------------------------------------------------- what moved


def two_measures(pk: int = 1, number: int = 1) -> VersionConfig:
    return version(
        measure(1, "Logins per seat per week", "usage"),
        measure(2, "CSAT", "sentiment", metric_id=20),
        pk=pk,
        number=number,
    )


def test_a_mover_says_what_changed_in_words_a_csm_can_repeat() -> None:
    card = two_measures()
    before = snapshot([3.1, 4.2], [80, 50])
    after = snapshot([1.4, 4.2], [67.6, 50])

    movers = explain.score_movers(
        current=after, previous=before, version_current=card, version_previous=card
    )

    assert [m.sentence for m in movers] == [
        "Logins per seat per week fell from 3.1 to 1.4 (\u22126.2 points)"
    ]
    assert movers[0].points == pytest.approx(-6.2)
    assert movers[0].direction == "down"


def test_movers_come_biggest_first_and_small_ones_are_left_out() -> None:
    card = version(
        measure(1, "Logins per seat per week"),
        measure(2, "CSAT", "sentiment"),
        measure(3, "NPS", "sentiment"),
        measure(4, "Referrals in a year", "advocacy"),
        measure(5, "Meetings in 90 days", "engagement"),
    )
    before = snapshot([3.0, 4.0, 10, 1, 2], [50, 50, 50, 50, 50])
    after = snapshot([2.0, 4.5, 30, 1, 2.01], [30, 90, 60, 50, 50.1])

    def movers(**limit):
        return explain.score_movers(
            current=after, previous=before, version_current=card, version_previous=card, **limit
        )

    everything = movers(limit=None)

    # Referrals did not move; meetings moved by 0.02 points: not news.
    assert [m.name for m in everything] == ["CSAT", "Logins per seat per week", "NPS"]
    assert [m.direction for m in everything] == ["up", "down", "up"]
    assert everything[0].sentence == "CSAT rose from 4 to 4.5 (+8.0 points)"
    assert len(movers()) == 3
    assert [m.name for m in movers(limit=1)] == ["CSAT"]


def test_movers_say_when_a_measure_gained_or_lost_its_data() -> None:
    card = two_measures()
    before = snapshot([3.1, None], [80, None])
    after = snapshot([None, 4.2], [None, 60])

    sentences = {
        m.name: m.sentence
        for m in explain.score_movers(
            current=after, previous=before, version_current=card, version_previous=card
        )
    }

    assert sentences == {
        "Logins per seat per week": (
            "Logins per seat per week has no recent data (was 3.1), so it no longer counts "
            "(\u221280.0 points)"
        ),
        "CSAT": "CSAT now has data: 4.2 (+60.0 points)",
    }


def test_a_new_version_is_compared_like_with_like() -> None:
    v1 = version(
        measure(1, "Logins per seat per week", "usage", metric_id=10),
        measure(2, "CSAT", "sentiment", metric_id=20),
        measure(3, "Social mentions", "advocacy", metric_id=30),
        pk=1,
        number=1,
    )
    v2 = version(
        # The same measure under its new id; a renamed one (same metric and window);
        # a new one.
        measure(11, "Logins per seat per week", "usage", metric_id=10),
        measure(12, "Customer satisfaction", "sentiment", metric_id=20),
        measure(13, "KPI attainment", "outcomes", metric_id=40),
        pk=2,
        number=2,
    )
    before = snapshot([3.0, 4.0, 2], [60, 60, 60])
    after = snapshot([3.0, 4.0, 90], [60, 60, 90])

    movers = explain.score_movers(
        current=after, previous=before, version_current=v2, version_previous=v1, limit=None
    )

    sentences = {m.name: m.sentence for m in movers}
    assert sentences["KPI attainment"] == "KPI attainment is new in v2 (+30.0 points)"
    assert sentences["Social mentions"] == (
        "Social mentions is no longer in the scorecard since v2 (\u221220.0 points)"
    )
    # Matched by name and by what they measure: unchanged, so not movers.
    assert "Logins per seat per week" not in sentences
    assert "Customer satisfaction" not in sentences


def test_no_previous_snapshot_means_no_movers() -> None:
    card = two_measures()

    assert (
        explain.score_movers(
            current=snapshot([3.1, 4.2], [80, 50]),
            previous=None,
            version_current=card,
            version_previous=None,
        )
        == []
    )


def test_a_percentage_reads_with_its_sign() -> None:
    card = version(measure(1, "Licence utilisation", metric_id=7), measure(2, "CSAT", metric_id=8))
    movers = explain.score_movers(
        current=snapshot([41.04, 4.0], [20, 50]),
        previous=snapshot([62.0, 4.0], [60, 50]),
        version_current=card,
        version_previous=card,
        units={7: "%"},
    )

    assert movers[0].sentence == "Licence utilisation fell from 62% to 41% (\u221220.0 points)"


# ---------------------------------------------------------------- against real runs


@pytest.mark.django_db
def test_the_breakdown_of_every_stored_score_adds_up_to_it() -> None:
    """Real snapshots from a run (threshold and percentile measures, missing data): the
    breakdown re-derived from them gives back the stored score."""
    import datetime as dt

    from django.utils import timezone

    from accounts.models import Metric, Signal
    from scoring.aggregates import window_end
    from scoring.models import HealthScore
    from scoring.pipeline import runs
    from scoring.specs import version_config, versions_queryset
    from tests.factories import AccountFactory, SegmentFactory

    today = timezone.localdate()
    metrics = {m.key: m for m in Metric.objects.all()}
    end = window_end(today)
    rows = []
    for i, (slug, health) in enumerate(
        [("enterprise", 0.9), ("enterprise", 0.2), ("smb", 0.5), ("mid-market", 0.7)]
    ):
        account = AccountFactory(segment=SegmentFactory(slug=slug), seats=20 + 10 * i)
        for week in range(8):
            at = end - dt.timedelta(days=7 * week + 1)
            rows += [
                Signal(
                    account=account,
                    metric=metrics["logins"],
                    observed_at=at,
                    value=account.seats * (0.5 + 4 * health),
                ),
                Signal(
                    account=account, metric=metrics["csat"], observed_at=at, value=1 + 4 * health
                ),
                Signal(
                    account=account,
                    metric=metrics["spend"],
                    observed_at=at,
                    value=1000 + 10 * week * (0.5 - health) * (i + 1),
                ),
            ]
            if health > 0.4:
                rows.append(
                    Signal(
                        account=account,
                        metric=metrics["nps"],
                        observed_at=at,
                        value=round(10 * health),
                    )
                )
    Signal.objects.bulk_create(rows)
    run = runs.run_sync(as_of=today)

    scores = list(HealthScore.objects.filter(run=run).exclude(score=None))
    assert len(scores) == 4
    configs = {v.pk: version_config(v) for v in versions_queryset()}
    for score in scores:
        breakdown = explain.score_breakdown(
            score=score, version=configs[score.version_id], units=explain.metric_units()
        )
        assert math.isclose(breakdown.total, score.score, abs_tol=0.01)
        assert breakdown.shown_total == round(score.score, 1)
        assert math.isclose(breakdown.coverage, score.coverage, abs_tol=0.001)
        assert any(not line.has_data for line in breakdown.lines)
