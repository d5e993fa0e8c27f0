"""Bad scorecards are refused with a message that names the problem."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from scoring.engine import ScorecardError
from scoring.models import Measure, ScorecardVersion
from scoring.pipeline import runs
from scoring.services import version_problems


@pytest.fixture
def standard(db):
    return ScorecardVersion.objects.get(scorecard__name="Standard", status="active")


def test_the_seeded_scorecards_are_valid(standard):
    for version in ScorecardVersion.objects.all():
        assert version_problems(version) == []


def test_inverted_thresholds_are_refused_at_the_field(standard):
    measure = standard.measures.get(name="CSAT")
    measure.red, measure.green = 4.5, 3.0
    with pytest.raises(ValidationError) as exc:
        measure.full_clean()
    assert "inverted" in exc.value.message_dict["green"][0]
    negative = standard.measures.get(name="Ticket resolution hours")
    negative.red, negative.green = 12, 60
    with pytest.raises(ValidationError) as exc:
        negative.full_clean()
    assert "more is worse" in exc.value.message_dict["green"][0]


def test_negative_weight_is_refused(standard):
    measure = standard.measures.first()
    measure.weight = -1
    with pytest.raises(ValidationError) as exc:
        measure.full_clean()
    assert "weight" in exc.value.message_dict


def test_band_cut_offs_must_be_ordered_and_within_0_100(standard):
    standard.red_below, standard.green_at = 80, 60
    with pytest.raises(ValidationError) as exc:
        standard.full_clean()
    assert "red_below" in exc.value.message_dict
    standard.red_below, standard.green_at = 40, 120
    with pytest.raises(ValidationError) as exc:
        standard.full_clean()
    assert "green_at" in exc.value.message_dict


def test_a_scorecard_with_no_measures_cannot_run(standard):
    standard.measures.all().delete()
    assert "no measures" in version_problems(standard)[0]
    with pytest.raises(ScorecardError, match="Standard.*no measures"):
        runs.run_start(as_of=timezone.localdate())


def test_an_inverted_measure_names_itself(standard):
    Measure.objects.filter(version=standard, name="CSAT").update(red=4.5, green=3.0)
    assert any("“CSAT”" in p and "inverted" in p for p in version_problems(standard))
