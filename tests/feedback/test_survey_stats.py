"""Survey numbers against values worked out by hand (the arithmetic is in each comment)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from feedback.models import SurveyKind
from feedback.survey_stats import (
    breakdown,
    ces,
    csat,
    distribution,
    nps,
    t_975,
    weekly_trend,
)


def test_nps_of_the_google_forms_fixture_is_zero_with_its_interval():
    # 10,6,8,3,9: promoters 10,9 -> 2/5; detractors 6,3 -> 2/5; NPS = 40 - 40 = 0.
    # variance = 0.4 + 0.4 - 0^2 = 0.8; SE = sqrt(0.8/5) = 0.4; 1.96 * 0.4 = 0.784 -> +/-78.4
    result = nps([10, 6, 8, 3, 9])
    assert result.value == 0 and result.n == 5
    assert result.low == pytest.approx(-78.4, abs=0.01)
    assert result.high == pytest.approx(78.4, abs=0.01)


def test_nps_interval_is_clipped_at_100():
    # 10,10,10,9,7,0: P = 4/6, D = 1/6, NPS = 50; variance = 5/6 - 0.5^2 = 0.58333;
    # SE = sqrt(0.58333/6) = 0.31180; 1.96 * 0.31180 = 0.61113 -> [-11.11, 111.11] -> high 100
    result = nps([10, 10, 10, 9, 7, 0])
    assert result.value == pytest.approx(50)
    assert result.low == pytest.approx(-11.11, abs=0.01)
    assert result.high == 100


def test_csat_is_the_share_of_4_and_5_with_a_wilson_interval():
    # 5,4,3,2,5,4,1,5: satisfied 5 of 8 = 62.5 %. Wilson, z^2 = 3.8415:
    # denominator 1 + 3.8415/8 = 1.48018; centre (0.625 + 3.8415/16) / 1.48018 = 0.58445;
    # half 1.96 * sqrt(0.625*0.375/8 + 3.8415/256) / 1.48018 = 1.96 * 0.21048 / 1.48018 = 0.27871
    result = csat([5, 4, 3, 2, 5, 4, 1, 5])
    assert result.value == pytest.approx(62.5)
    assert result.low == pytest.approx(30.57, abs=0.01)
    assert result.high == pytest.approx(86.32, abs=0.01)


def test_ces_is_the_mean_with_a_t_interval():
    # 2,3,5,4,6: mean 4; s^2 = (4+1+1+0+4)/4 = 2.5; SE = sqrt(2.5)/sqrt(5) = 0.70711;
    # t(0.975, 4) = 2.7764 -> half 1.96323 -> [2.0368, 5.9632]
    result = ces([2, 3, 5, 4, 6])
    assert result.value == 4
    assert result.low == pytest.approx(2.0368, abs=0.0005)
    assert result.high == pytest.approx(5.9632, abs=0.0005)


def test_small_samples_say_there_is_no_interval():
    assert nps([]).value is None and nps([]).low is None
    one = ces([5])
    assert one.value == 5 and one.low is None and one.high is None


def test_t_quantiles_come_from_the_table_then_the_expansion():
    assert t_975(1) == pytest.approx(12.706, abs=0.001)
    assert t_975(30) == pytest.approx(2.0423, abs=0.0001)
    assert t_975(100) == pytest.approx(1.9840, abs=0.0001)  # published table value


def test_the_distribution_lists_every_point_of_the_scale():
    assert distribution(SurveyKind.CSAT, [5, 5, 1]) == [(1, 1), (2, 0), (3, 0), (4, 0), (5, 2)]
    assert len(distribution(SurveyKind.NPS, [])) == 11


def test_the_weekly_trend_groups_by_monday():
    answers = [
        (datetime(2026, 3, 2, 9, tzinfo=UTC), 10),  # Monday
        (datetime(2026, 3, 8, 23, tzinfo=UTC), 0),  # Sunday, same week
        (datetime(2026, 3, 9, 0, tzinfo=UTC), 9),  # next Monday
    ]
    weeks = weekly_trend(SurveyKind.NPS, answers)
    assert [w.week_start for w in weeks] == [date(2026, 3, 2), date(2026, 3, 9)]
    assert [w.summary.value for w in weeks] == [0, 100]
    assert [w.summary.n for w in weeks] == [2, 1]


def test_a_breakdown_puts_the_largest_group_first():
    rows = breakdown(SurveyKind.NPS, {"web": [10], "api": [0, 9, 10], "none": []})
    assert [(name, s.n, round(s.value or 0, 1)) for name, s in rows] == [
        ("api", 3, 33.3),
        ("web", 1, 100.0),
    ]
