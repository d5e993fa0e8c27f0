"""Tests for the pure scoring engine: no database, plain pytest + hypothesis."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from scoring import engine
from scoring.bands import Band
from scoring.engine import (
    NEGATIVE,
    PERCENTILE,
    POSITIVE,
    RANGE,
    THRESHOLD,
    MeasureSpec,
    ScorecardError,
    assign_bands,
    band_for,
    score_accounts,
    sub_scores,
    validate_measures,
)

# ---------------------------------------------------------------- fixtures & strategies

raw = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
raw_or_missing = st.one_of(raw, st.just(float("nan")))


def threshold(direction: int = POSITIVE, key: str = "t", weight: float = 1.0) -> MeasureSpec:
    red, green = (2.0, 10.0) if direction == POSITIVE else (10.0, 2.0)
    return MeasureSpec(key, weight, THRESHOLD, direction, red=red, green=green)


def range_(direction: int = POSITIVE, key: str = "r", weight: float = 1.0) -> MeasureSpec:
    return MeasureSpec(key, weight, RANGE, direction, low=0.0, high=50.0)


def percentile(direction: int = POSITIVE, key: str = "p", weight: float = 1.0) -> MeasureSpec:
    return MeasureSpec(key, weight, PERCENTILE, direction)


ALL_KINDS = [
    maker(direction)
    for maker in (threshold, range_, percentile)
    for direction in (POSITIVE, NEGATIVE)
]
KIND_IDS = [f"{m.rule}-{'pos' if m.direction == POSITIVE else 'neg'}" for m in ALL_KINDS]


@st.composite
def scorecards(draw: st.DrawFn) -> tuple[np.ndarray, list[MeasureSpec]]:
    """A random scorecard (any rule and direction) and a value matrix with gaps."""
    m = draw(st.integers(1, 6))
    measures = []
    for j in range(m):
        kind = draw(st.sampled_from(ALL_KINDS))
        weight = draw(st.floats(0.01, 100))
        measures.append(
            MeasureSpec(
                str(j),
                weight,
                kind.rule,
                kind.direction,
                kind.red,
                kind.green,
                kind.low,
                kind.high,
            )
        )
    n = draw(st.integers(1, 30))
    values = draw(hnp.arrays(np.float64, (n, m), elements=raw_or_missing))
    return values, measures


# ---------------------------------------------------------------- worked examples


def test_it_interpolates_a_positive_threshold_linearly() -> None:
    sub = sub_scores(np.array([[6.0], [2.0], [10.0], [0.0], [99.0]]), [threshold(POSITIVE)])
    assert sub[:, 0].tolist() == [50.0, 0.0, 100.0, 0.0, 100.0]


def test_it_interpolates_a_negative_threshold_linearly() -> None:
    # e.g. invoice days late: red at 10 or more, green at 2 or fewer.
    sub = sub_scores(np.array([[6.0], [10.0], [2.0], [30.0], [0.0], [4.0]]), [threshold(NEGATIVE)])
    assert sub[:, 0].tolist() == [50.0, 0.0, 100.0, 0.0, 100.0, 75.0]


def test_it_scores_a_range_in_both_directions() -> None:
    values = np.array([[10.0, 10.0], [-5.0, -5.0], [60.0, 60.0]])
    sub = sub_scores(values, [range_(POSITIVE, "a"), range_(NEGATIVE, "b")])
    assert sub.tolist() == [[20.0, 80.0], [0.0, 100.0], [100.0, 0.0]]


def test_it_ranks_percentiles_with_mid_rank_ties() -> None:
    col = np.array([[1.0], [2.0], [2.0], [3.0], [np.nan]])
    pos = sub_scores(col, [percentile(POSITIVE)])[:, 0]
    neg = sub_scores(col, [percentile(NEGATIVE)])[:, 0]
    # n=4 with data: (below + equal/2) / n
    np.testing.assert_allclose(pos[:4], [12.5, 50.0, 50.0, 87.5])
    np.testing.assert_allclose(neg[:4], [87.5, 50.0, 50.0, 12.5])
    assert np.isnan(pos[4]) and np.isnan(neg[4])


@pytest.mark.parametrize("column", [[[7.0]], [[3.0], [3.0], [3.0]]], ids=["single", "all-equal"])
def test_it_gives_a_lone_or_uniform_percentile_fifty(column: list[list[float]]) -> None:
    assert np.all(sub_scores(np.array(column), [percentile()]) == 50.0)


def test_it_computes_a_weighted_mean_with_exact_contributions() -> None:
    measures = [threshold(POSITIVE, "a", weight=3.0), range_(POSITIVE, "b", weight=1.0)]
    result = score_accounts(np.array([[6.0, 50.0], [10.0, np.nan]]), measures)
    # account 0: 0.75*50 + 0.25*100 = 62.5; account 1 has only "a": 100 at 75% coverage
    np.testing.assert_allclose(result.score, [62.5, 100.0])
    np.testing.assert_allclose(result.coverage, [1.0, 0.75])
    np.testing.assert_allclose(result.contributions[0], [37.5, 25.0])
    assert result.contributions[1, 0] == 100.0 and np.isnan(result.contributions[1, 1])
    np.testing.assert_allclose(result.weights, [[0.75, 0.25], [1.0, 0.0]])


def test_it_never_rounds_a_perfect_account_past_100() -> None:
    weights = [0.3, 1.7, 2.9, 0.11, 1.3, 2.2, 0.7]
    measures = [range_(key=str(i), weight=w) for i, w in enumerate(weights)]
    values = np.full((3, len(weights)), 50.0)
    values[1, ::2] = np.nan
    values[2, 1::3] = np.nan
    assert score_accounts(values, measures).score.tolist() == [100.0, 100.0, 100.0]


def test_it_lands_exactly_on_a_band_edge_despite_float_noise() -> None:
    # 0.1/0.3/0.2 weights on 70s would sum to 69.99999999999999 unrounded.
    measures = [range_(key=str(i), weight=w) for i, w in enumerate([0.1, 0.3, 0.2])]
    result = score_accounts(np.full((1, 3), 35.0), measures)
    assert result.score[0] == 70.0
    assert assign_bands(result.score, result.coverage, min_coverage=0.5)[0] == Band.GREEN


def test_it_gives_no_score_when_an_account_has_no_data() -> None:
    result = score_accounts(
        np.array([[np.nan, np.nan], [4.0, np.nan]]),
        [threshold(key="a"), range_(key="b")],
    )
    assert np.isnan(result.score[0])
    assert result.coverage[0] == 0.0
    assert result.weights[0].tolist() == [0.0, 0.0]
    assert np.isnan(result.contributions[0]).all()
    assert not np.isnan(result.score[1])


def test_it_rejects_a_value_matrix_of_the_wrong_shape() -> None:
    for wrong in (np.zeros((3, 2)), np.zeros(3), np.float64(1.0)):
        with pytest.raises(ValueError, match="values must be"):
            sub_scores(wrong, [threshold()])


# ---------------------------------------------------------------- properties of scores


@given(scorecards())
def test_sub_scores_and_scores_stay_within_0_and_100(
    case: tuple[np.ndarray, list[MeasureSpec]],
) -> None:
    values, measures = case
    result = score_accounts(values, measures)
    assert np.array_equal(np.isnan(result.sub), np.isnan(values))
    sub = result.sub[~np.isnan(result.sub)]
    assert ((sub >= 0) & (sub <= 100)).all()
    scored = result.score[~np.isnan(result.score)]
    assert ((scored >= 0) & (scored <= 100)).all()
    assert ((result.coverage >= 0) & (result.coverage <= 1 + 1e-12)).all()
    # NaN score exactly when the account has no data at all
    assert np.array_equal(np.isnan(result.score), np.isnan(values).all(axis=1))


@given(scorecards())
def test_contributions_sum_to_the_score(
    case: tuple[np.ndarray, list[MeasureSpec]],
) -> None:
    values, measures = case
    result = score_accounts(values, measures)
    has_score = ~np.isnan(result.score)
    sums = np.nansum(result.contributions, axis=1)
    assert np.allclose(sums[has_score], result.score[has_score])
    assert np.array_equal(np.isnan(result.contributions), np.isnan(values))
    assert np.allclose(result.weights.sum(axis=1)[has_score], 1.0)


@pytest.mark.parametrize("measure", ALL_KINDS, ids=KIND_IDS)
@given(
    base=hnp.arrays(np.float64, st.integers(1, 20), elements=raw),
    bump=st.floats(0, 1e6),
)
def test_a_better_raw_value_never_moves_the_sub_score_the_wrong_way(
    measure: MeasureSpec, base: np.ndarray, bump: float
) -> None:
    # Raise the first account's raw value while the rest of the population stays put
    # (that matters for percentile rank, which depends on the peers).
    before = sub_scores(base[:, None], [measure])[0, 0]
    raised = base.copy()
    raised[0] += bump
    after = sub_scores(raised[:, None], [measure])[0, 0]
    if measure.direction == POSITIVE:
        assert after >= before
    else:
        assert after <= before


@pytest.mark.parametrize("measure", ALL_KINDS, ids=KIND_IDS)
@given(column=hnp.arrays(np.float64, st.integers(1, 30), elements=raw_or_missing))
def test_sub_scores_are_monotone_in_raw_across_a_population(
    measure: MeasureSpec, column: np.ndarray
) -> None:
    sub = sub_scores(column[:, None], [measure])[:, 0]
    has = ~np.isnan(column)
    order = np.argsort(column[has], kind="stable")
    ranked = sub[has][order]
    steps = np.diff(ranked)
    assert (steps >= -1e-9).all() if measure.direction == POSITIVE else (steps <= 1e-9).all()


@settings(max_examples=50)
@given(scorecards(), st.data())
def test_dropping_a_measures_data_renormalises_weights_and_lowers_coverage(
    case: tuple[np.ndarray, list[MeasureSpec]], data: st.DataObject
) -> None:
    values, measures = case
    full = np.where(np.isnan(values), 1.0, values)  # start with complete data
    j = data.draw(st.integers(0, len(measures) - 1))
    dropped = full.copy()
    dropped[:, j] = np.nan

    before = score_accounts(full, measures)
    after = score_accounts(dropped, measures)

    np.testing.assert_allclose(before.coverage, 1.0)
    assert (after.coverage < before.coverage).all()
    assert (after.weights[:, j] == 0).all()
    if len(measures) > 1:
        np.testing.assert_allclose(after.weights.sum(axis=1), 1.0)
        # the survivors keep their relative proportions
        w = np.array([m.weight for m in measures])
        expected = np.delete(w, j) / np.delete(w, j).sum()
        np.testing.assert_allclose(
            np.delete(after.weights, j, axis=1), np.tile(expected, (len(full), 1))
        )
    else:
        assert np.isnan(after.score).all()


# ---------------------------------------------------------------- bands


def test_it_applies_fixed_band_cutoffs_at_their_edges() -> None:
    scores = np.array([70.0, 69.99, 40.0, 39.99, 0.0, 100.0])
    bands = assign_bands(scores, np.ones(6), min_coverage=0.5)
    assert bands.tolist() == [Band.GREEN, Band.YELLOW, Band.YELLOW, Band.RED, Band.RED, Band.GREEN]


def test_no_data_or_thin_coverage_is_never_red_or_green() -> None:
    scores = np.array([np.nan, 5.0, 95.0, 5.0, 5.0])
    coverage = np.array([1.0, 0.2, 0.2, np.nan, 0.5])
    for mode in ("fixed", "percentile"):
        bands = assign_bands(
            scores,
            coverage,
            min_coverage=0.5,
            mode=mode,
            top_share=0.5,
            bottom_share=0.5,
        )
        assert bands[:4].tolist() == [Band.NO_DATA] * 4, mode
        assert bands[4] != Band.NO_DATA  # exactly at the minimum counts


def test_band_for_matches_the_vector_version() -> None:
    assert band_for(75, 1.0, min_coverage=0.5) == Band.GREEN
    assert band_for(50, 1.0, min_coverage=0.5) == Band.YELLOW
    assert band_for(10, 1.0, min_coverage=0.5) == Band.RED
    assert band_for(10, 0.4, min_coverage=0.5) == Band.NO_DATA
    assert band_for(None, 1.0, min_coverage=0.5) == Band.NO_DATA
    assert band_for(float("nan"), 1.0, min_coverage=0.5) == Band.NO_DATA
    assert band_for(55, 1.0, min_coverage=0.5, green_at=50, red_below=20) == Band.GREEN


@given(
    scores=hnp.arrays(
        np.float64,
        st.integers(0, 200),
        elements=st.floats(0, 100) | st.sampled_from([10.0, 50.0]),
    ),
    bottom=st.floats(0, 0.5),
    top=st.floats(0, 0.5),
)
def test_percentile_bands_split_the_population_by_share(
    scores: np.ndarray, bottom: float, top: float
) -> None:
    n = len(scores)
    bands = assign_bands(
        scores,
        np.ones(n),
        min_coverage=0,
        mode="percentile",
        top_share=top,
        bottom_share=bottom,
    )
    n_red, n_green = (bands == Band.RED).sum(), (bands == Band.GREEN).sum()
    assert abs(n_red - n * bottom) <= 1
    assert abs(n_green - n * top) <= 1
    assert n_red + n_green + (bands == Band.YELLOW).sum() == n
    # every red scores no higher than every yellow, every yellow no higher than green
    for lower, upper in (
        (Band.RED, Band.YELLOW),
        (Band.YELLOW, Band.GREEN),
        (Band.RED, Band.GREEN),
    ):
        lo, hi = scores[bands == lower], scores[bands == upper]
        if lo.size and hi.size:
            assert lo.max() <= hi.min()


def test_percentile_bands_default_to_a_25_50_25_split() -> None:
    bands = assign_bands(np.arange(100.0), np.ones(100), min_coverage=0, mode="percentile")
    assert bands.tolist() == [Band.RED] * 25 + [Band.YELLOW] * 50 + [Band.GREEN] * 25


def test_percentile_bands_split_ties_deterministically_by_tiebreak() -> None:
    scores = np.full(8, 50.0)
    ids = np.array([80, 10, 70, 20, 60, 30, 50, 40])
    first = assign_bands(scores, np.ones(8), min_coverage=0, mode="percentile", tiebreak=ids)
    again = assign_bands(scores, np.ones(8), min_coverage=0, mode="percentile", tiebreak=ids)
    assert first.tolist() == again.tolist()
    by_id = dict(zip(ids.tolist(), first.tolist(), strict=True))
    assert [by_id[i] for i in sorted(by_id)] == [
        Band.RED,
        Band.RED,
        Band.YELLOW,
        Band.YELLOW,
        Band.YELLOW,
        Band.YELLOW,
        Band.GREEN,
        Band.GREEN,
    ]


@given(
    hnp.arrays(np.float64, st.integers(1, 50), elements=st.sampled_from([0.0, 50.0, 100.0])),
    st.randoms(),
)
def test_percentile_bands_do_not_depend_on_input_order(
    scores: np.ndarray, rnd: random.Random
) -> None:
    ids = np.arange(len(scores)) * 7 + 3
    perm = np.array(rnd.sample(range(len(scores)), len(scores)))
    bands = assign_bands(
        scores, np.ones(len(scores)), min_coverage=0, mode="percentile", tiebreak=ids
    )
    shuffled = assign_bands(
        scores[perm],
        np.ones(len(scores)),
        min_coverage=0,
        mode="percentile",
        tiebreak=ids[perm],
    )
    assert shuffled.tolist() == bands[perm].tolist()


def test_percentile_bands_rank_only_accounts_with_data() -> None:
    scores = np.array([np.nan, 10.0, 20.0, 30.0, 40.0, np.nan])
    coverage = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    bands = assign_bands(scores, coverage, min_coverage=0.5, mode="percentile")
    assert bands.tolist() == [
        Band.NO_DATA,
        Band.RED,
        Band.YELLOW,
        Band.YELLOW,
        Band.GREEN,
        Band.NO_DATA,
    ]


def test_percentile_bands_with_nobody_to_rank() -> None:
    bands = assign_bands(
        np.array([np.nan, np.nan]), np.zeros(2), min_coverage=0.5, mode="percentile"
    )
    assert bands.tolist() == [Band.NO_DATA, Band.NO_DATA]


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("measures", "message"),
    [
        ([], "no measures"),
        (
            [MeasureSpec("logins", -1.0, THRESHOLD, POSITIVE, red=1, green=2)],
            "'logins': weight must be a positive",
        ),
        (
            [MeasureSpec("logins", 0.0, THRESHOLD, POSITIVE, red=1, green=2)],
            "weight must be a positive",
        ),
        (
            [MeasureSpec("logins", float("nan"), PERCENTILE, POSITIVE)],
            "weight must be a positive",
        ),
        (
            [MeasureSpec("logins", 1.0, "magic", POSITIVE)],
            "unknown scoring rule 'magic'",
        ),
        ([MeasureSpec("logins", 1.0, PERCENTILE, 0)], "unknown direction 0"),
        (
            [MeasureSpec("logins", 1.0, THRESHOLD, POSITIVE, red=1)],
            "'logins': threshold rule needs both",
        ),
        (
            [MeasureSpec("logins", 1.0, THRESHOLD, POSITIVE, red=10, green=2)],
            "'logins': thresholds are inverted",
        ),
        (
            [MeasureSpec("logins", 1.0, THRESHOLD, POSITIVE, red=5, green=5)],
            "thresholds are inverted",
        ),
        (
            [MeasureSpec("late", 1.0, THRESHOLD, NEGATIVE, red=2, green=10)],
            "'late': thresholds are inverted",
        ),
        (
            [MeasureSpec("nps", 1.0, RANGE, POSITIVE, low=0)],
            "'nps': range rule needs both",
        ),
        (
            [MeasureSpec("nps", 1.0, RANGE, POSITIVE, low=5, high=5)],
            "'nps': range low .* must be below high",
        ),
        (
            [MeasureSpec("nps", 1.0, RANGE, NEGATIVE, low=9, high=1)],
            "must be below high",
        ),
        ([percentile(key="x"), percentile(key="x")], "'x' appears more than once"),
    ],
    ids=[
        "empty",
        "negative-weight",
        "zero-weight",
        "nan-weight",
        "unknown-rule",
        "unknown-direction",
        "threshold-missing",
        "threshold-inverted-pos",
        "threshold-equal",
        "threshold-inverted-neg",
        "range-missing",
        "range-empty",
        "range-reversed",
        "duplicate-key",
    ],
)
def test_it_rejects_a_broken_scorecard_with_a_clear_message(
    measures: list[MeasureSpec], message: str
) -> None:
    with pytest.raises(ScorecardError, match=message):
        validate_measures(measures)
    with pytest.raises(ScorecardError, match=message):
        score_accounts(np.zeros((1, len(measures))), measures)


def test_it_accepts_a_well_formed_scorecard() -> None:
    validate_measures(ALL_KINDS[:1] + [range_(key="r2"), percentile(key="p2")])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"green_at": 40, "red_below": 70}, "red_below <= green_at"),
        ({"green_at": 120}, "<= 100"),
        ({"red_below": -5}, "0 <= red_below"),
        ({"mode": "percentile", "top_share": 1.5}, "top_share must be between 0 and 1"),
        (
            {"mode": "percentile", "bottom_share": -0.1},
            "bottom_share must be between 0 and 1",
        ),
        ({"mode": "percentile", "top_share": 0.6, "bottom_share": 0.6}, "exceeds 1"),
        ({"mode": "quartiles"}, "Unknown band mode 'quartiles'"),
        ({"min_coverage": 1.5}, "min_coverage must be between 0 and 1"),
    ],
)
def test_it_rejects_bad_band_settings(kwargs: dict, message: str) -> None:
    kwargs = {"min_coverage": 0.5, **kwargs}
    with pytest.raises(ScorecardError, match=message):
        assign_bands(np.array([50.0]), np.array([1.0]), **kwargs)


def test_percentile_rank_against_a_reference_matches_the_whole_population():
    population = np.arange(100, dtype=np.float64)
    spec = [
        engine.MeasureSpec(key="p", weight=1, rule=engine.PERCENTILE, direction=engine.POSITIVE)
    ]
    whole = engine.sub_scores(population[:, None], spec)[:, 0]
    reference = engine.reference_sample(population)
    # A slice scored against the reference gets the ranks it has in the whole population.
    sliced = engine.sub_scores(population[10:20, None], spec, {"p": reference})[:, 0]
    assert np.allclose(sliced, whole[10:20])


def test_reference_sample_is_bounded_and_sorted():
    sample = engine.reference_sample(np.random.default_rng(1).normal(size=50_000), size=101)
    assert sample.size == 101
    assert np.all(np.diff(sample) >= 0)


# ---------------------------------------------------------------- weights and problems


def test_effective_weights_share_a_categorys_weight_by_the_measures_own() -> None:
    measures = [("usage", 1.0), ("usage", 3.0), ("support", 2.0), ("advocacy", 5.0)]
    weights = engine.effective_weights(measures, {"usage": 2.0, "support": 0.5})
    # usage 2 split 1:3, support 0.5 alone, advocacy has no weight of its own: 1.
    assert weights == [0.5, 1.5, 0.5, 1.0]
    assert engine.effective_weights(measures, {}, unlisted=0.0) == [0.0] * 4
    # Measures that all weigh 0 switch their category off (no division by zero).
    assert engine.effective_weights([("usage", 0.0), ("usage", 0.0)], {"usage": 3.0}) == [0, 0]


def test_problems_name_the_measure_and_the_band_settings() -> None:
    good = [threshold(key="1"), percentile(key="2")]
    assert engine.problems(good, min_coverage=0.5) == []
    broken = [threshold(key="1"), MeasureSpec("2", 1.0, RANGE, POSITIVE, low=5, high=1)]
    found = engine.problems(
        broken, names={"2": "Seats used"}, min_coverage=0.5, green_at=30, red_below=60
    )
    assert len(found) == 2
    assert found[0].startswith("Measure “Seats used”: range low")
    assert "red_below <= green_at" in found[1]
    assert "no measures" in engine.problems([], min_coverage=0.5)[0]
    # Without names a measure is called by its key, as validate_measures calls it.
    assert engine.problems(broken, min_coverage=0.5)[0].startswith("Measure '2'")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"green_at": 40, "red_below": 70}, "red_below <= green_at"),
        ({"mode": "percentile", "top_share": 0.6, "bottom_share": 0.6}, "exceeds 1"),
        ({"mode": "quartiles"}, "Unknown band mode"),
        ({"min_coverage": -1}, "min_coverage"),
    ],
)
def test_validate_bands_refuses_what_assign_bands_refuses(kwargs: dict, message: str) -> None:
    kwargs = {"min_coverage": 0.5, **kwargs}
    with pytest.raises(ScorecardError, match=message):
        engine.validate_bands(**kwargs)
    with pytest.raises(ScorecardError, match=message):
        assign_bands(np.array([]), np.array([]), **kwargs)


def test_band_cuts_are_the_edge_scores_of_a_banded_population() -> None:
    scores = np.array([10.0, 20.0, 50.0, 60.0, 80.0, 90.0, np.nan])
    bands = assign_bands(scores, np.ones(7), min_coverage=0.5, mode="percentile")
    assert engine.band_cuts(scores, bands) == [20.0, 80.0]
    assert engine.band_cuts(scores, np.full(7, Band.YELLOW, dtype=object)) == [None, None]


def test_band_for_a_lone_account_follows_its_populations_cuts() -> None:
    # A percentile population's cuts: red up to 31.5, green from 66.
    def band(score, coverage=1.0):
        return band_for(score, coverage, min_coverage=0.5, cuts=[31.5, 66.0])

    assert [band(20), band(31.5), band(40), band(66), band(90)] == [
        Band.RED,
        Band.RED,
        Band.YELLOW,
        Band.GREEN,
        Band.GREEN,
    ]
    assert band(90, coverage=0.2) == band(None) == band(float("nan")) == Band.NO_DATA
    # A population without red (or green) accounts bands nobody red (or green).
    assert band_for(0.0, 1.0, min_coverage=0.5, cuts=[None, 66.0]) == Band.YELLOW
    assert band_for(100.0, 1.0, min_coverage=0.5, cuts=[31.5, None]) == Band.YELLOW
