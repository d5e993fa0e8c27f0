"""CSAT, CES and NPS as the seeds define them, per month and segment, worked out by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.utils import timezone

from accounts.models import Metric
from scoring.analytics import surveys
from tests.factories import AccountFactory, MetricFactory, SegmentFactory, SignalFactory

JAN = timezone.make_aware(dt.datetime(2026, 1, 15, 12))
FEB = timezone.make_aware(dt.datetime(2026, 2, 15, 12))


def _answers(account, key: str, at, values) -> None:
    metric = Metric.objects.get(key=key)
    for v in values:
        SignalFactory(account=account, metric=metric, observed_at=at, value=v)


def _series(report, kind):
    return next(s for s in report.series if s.kind == kind)


@pytest.mark.django_db
def test_it_computes_csat_ces_and_nps_per_month_by_hand():
    enterprise = AccountFactory(segment=SegmentFactory(slug="enterprise"))
    smb = AccountFactory(segment=SegmentFactory(slug="smb"))
    _answers(enterprise, "csat", JAN, [5, 4])
    _answers(smb, "csat", JAN, [3, 1])
    _answers(enterprise, "nps", JAN, [10, 9, 8])
    _answers(smb, "nps", JAN, [6, 0])
    _answers(enterprise, "nps", FEB, [10, 10, 7])
    _answers(enterprise, "ces", FEB, [7, 5, 4, 2])

    report = surveys.survey_report(start=dt.date(2026, 1, 1), end=dt.date(2026, 2, 28))

    csat = _series(report, "csat")
    # January: 5 and 4 are satisfied, 3 and 1 are not: 50 % of 4 answers.
    assert csat.months[0]["month"] == "2026-01"
    assert csat.months[0]["responses"] == 4 and csat.months[0]["value"] == 50.0
    assert csat.months[0]["low"] < 50 < csat.months[0]["high"]
    assert [m["value"] for m in csat.segments["Enterprise"]] == [100.0]
    assert [m["value"] for m in csat.segments["SMB"]] == [0.0]

    nps = _series(report, "nps")
    # January: promoters 10, 9; detractors 6, 0; 8 is passive: (2 - 2) / 5 = 0.
    # February: 10, 10 promoters, 7 passive: 2/3 = 66.7.
    assert [(m["month"], m["responses"]) for m in nps.months] == [("2026-01", 5), ("2026-02", 3)]
    assert nps.months[0]["value"] == pytest.approx(0.0)
    assert nps.months[1]["value"] == pytest.approx(200 / 3)
    assert nps.months[0]["promoters"] == 2 and nps.months[0]["detractors"] == 2
    # Over both months: 4 promoters, 2 detractors of 8 answers = 25.
    assert nps.total["value"] == pytest.approx(25.0)

    ces = _series(report, "ces")
    # 1–7, 7 = very easy (the catalogue's "more is better"): average 4.5; 7 and 5 are
    # low-effort answers (the easy third, 5–7): 50 %.
    assert ces.scale == [1.0, 7.0]
    assert ces.months[0]["value"] == pytest.approx(4.5)
    assert ces.months[0]["share"] == pytest.approx(50.0)
    assert not report.missing


@pytest.mark.django_db
def test_ces_where_more_is_worse_counts_the_low_answers_as_easy():
    Metric.objects.filter(key="ces").update(direction=-1)
    _answers(AccountFactory(), "ces", JAN, [1, 2, 3, 6])
    report = surveys.survey_report(start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31))
    ces = _series(report, "ces")
    # On 1–7 with 1 = no effort, 1–3 are the low-effort third: 3 of 4.
    assert ces.total["share"] == pytest.approx(75.0)
    assert ces.higher_is_better is False


@pytest.mark.django_db
def test_answers_outside_the_scale_are_counted_and_left_out():
    _answers(AccountFactory(), "csat", JAN, [5, 9])  # 9 is no answer on 1–5
    report = surveys.survey_report(start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31))
    csat = _series(report, "csat")
    assert csat.out_of_scale == 1
    assert csat.total["responses"] == 1 and csat.total["value"] == 100.0


@pytest.mark.django_db
def test_an_imported_metric_under_another_key_and_without_a_unit_is_found_and_scaled():
    # The seeded CSAT metric renamed out of the way (measures protect it from deletion).
    Metric.objects.filter(key="csat").update(key="old_survey", name="Old survey")
    imported = MetricFactory(key="customer_satisfaction", name="Customer satisfaction", unit="")
    account = AccountFactory()
    for v in (10, 8, 7, 2):
        SignalFactory(account=account, metric=imported, observed_at=JAN, value=v)
    report = surveys.survey_report(start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31))
    csat = _series(report, "csat")
    # Answers up to 10 read as a 1–10 scale; satisfied = the top fifths (≥ 7.75): 10 and 8.
    assert csat.metric_key == "customer_satisfaction" and csat.scale == [1.0, 10.0]
    assert csat.total["value"] == 50.0


@pytest.mark.django_db
def test_no_answers_says_what_is_missing():
    report = surveys.survey_report(start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31))
    assert report.series == []
    assert any("No CSAT answers" in m for m in report.missing)


def test_scales_are_read_from_units_and_inferred_from_answers():
    assert surveys.parse_scale("1–5") == (1.0, 5.0)
    assert surveys.parse_scale("rating 0 to 10") == (0.0, 10.0)
    assert surveys.parse_scale("%") is None
    assert surveys.infer_scale("csat", np.array([1.0, 4.0])) == (1.0, 5.0)
    assert surveys.infer_scale("nps", np.array([0.0, 7.0])) == (0.0, 10.0)
    assert surveys.infer_scale("ces", np.array([1.0, 6.0])) == (1.0, 7.0)
