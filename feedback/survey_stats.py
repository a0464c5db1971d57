"""Survey numbers (pure functions): NPS, CSAT and CES with 95 % intervals, distributions, trends.

Intervals, all at 95 %:

- NPS: each answer becomes +1 (promoter, 9-10), 0 (passive, 7-8) or -1 (detractor, 0-6);
  NPS = 100 x their mean. Its variance is p_promoters + p_detractors - (p_p - p_d)^2, and the
  interval is the normal approximation NPS +/- 1.96 x 100 x sqrt(variance / n), clipped to
  [-100, 100].
- CSAT: the share of answers 4 or 5 (on 1-5), with the Wilson score interval, which stays
  inside [0, 100] and behaves on small samples where the plain normal one does not.
- CES: the mean answer (on 1-7) with Student's t interval, mean +/- t(0.975, n-1) x s / sqrt(n)
  (s the sample standard deviation). The t quantile comes from a table for 1-30 degrees
  of freedom and the Cornish-Fisher expansion above (error < 1e-4); written here rather
  than adding SciPy for one quantile.

An interval needs n >= 1 (n >= 2 for CES); otherwise its bounds are None.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from core.clock import as_utc
from feedback.models import SurveyKind

Z_95 = 1.959963984540054
# Student's t, two-sided 95 % (the 0.975 quantile), for 1..30 degrees of freedom.
_T_975 = (
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
    2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
    2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
)  # fmt: skip

SCALES: dict[SurveyKind, tuple[int, int]] = {
    SurveyKind.NPS: (0, 10),
    SurveyKind.CSAT: (1, 5),
    SurveyKind.CES: (1, 7),
}


@dataclass(frozen=True)
class ScoreSummary:
    """A survey score: value (NPS points, CSAT %, CES mean), sample size, 95 % interval."""

    kind: SurveyKind
    value: float | None
    n: int
    low: float | None
    high: float | None

    @property
    def unit(self) -> str:
        return {SurveyKind.NPS: "", SurveyKind.CSAT: "%", SurveyKind.CES: ""}[self.kind]


@dataclass(frozen=True)
class WeekPoint:
    week_start: date  # the Monday
    summary: ScoreSummary


def scale(kind: SurveyKind) -> tuple[int, int]:
    return SCALES[SurveyKind(kind)]


def nps_category(score: int) -> int:
    """+1 promoter (9-10), 0 passive (7-8), -1 detractor (0-6)."""
    if score >= 9:
        return 1
    return 0 if score >= 7 else -1


def nps(scores: Sequence[int]) -> ScoreSummary:
    n = len(scores)
    if n == 0:
        return ScoreSummary(SurveyKind.NPS, None, 0, None, None)
    cats = [nps_category(s) for s in scores]
    p_promoters = cats.count(1) / n
    p_detractors = cats.count(-1) / n
    mean = p_promoters - p_detractors
    variance = p_promoters + p_detractors - mean**2
    half = Z_95 * math.sqrt(variance / n)
    low, high = max(-1.0, mean - half), min(1.0, mean + half)
    return ScoreSummary(SurveyKind.NPS, 100 * mean, n, 100 * low, 100 * high)


def csat(scores: Sequence[int]) -> ScoreSummary:
    n = len(scores)
    if n == 0:
        return ScoreSummary(SurveyKind.CSAT, None, 0, None, None)
    p = sum(1 for s in scores if s >= 4) / n
    low, high = wilson_interval(p, n)
    return ScoreSummary(SurveyKind.CSAT, 100 * p, n, 100 * low, 100 * high)


def wilson_interval(p: float, n: int, z: float = Z_95) -> tuple[float, float]:
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def ces(scores: Sequence[int]) -> ScoreSummary:
    n = len(scores)
    if n == 0:
        return ScoreSummary(SurveyKind.CES, None, 0, None, None)
    mean = sum(scores) / n
    if n < 2:
        return ScoreSummary(SurveyKind.CES, mean, n, None, None)
    sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / (n - 1))
    half = t_975(n - 1) * sd / math.sqrt(n)
    return ScoreSummary(SurveyKind.CES, mean, n, mean - half, mean + half)


def t_975(df: int) -> float:
    """The 0.975 quantile of Student's t with df degrees of freedom."""
    if df < 1:
        raise ValueError("degrees of freedom must be at least 1")
    if df <= len(_T_975):
        return _T_975[df - 1]
    z = Z_95
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    return z + g1 / df + g2 / df**2 + g3 / df**3


def summarise(kind: SurveyKind, scores: Sequence[int]) -> ScoreSummary:
    kind = SurveyKind(kind)
    if kind is SurveyKind.NPS:
        return nps(scores)
    if kind is SurveyKind.CSAT:
        return csat(scores)
    return ces(scores)


def distribution(kind: SurveyKind, scores: Iterable[int]) -> list[tuple[int, int]]:
    """(score, count) for every point of the scale, zeros included."""
    low, high = scale(kind)
    counts = Counter(scores)
    return [(value, counts.get(value, 0)) for value in range(low, high + 1)]


def week_start(moment: datetime) -> date:
    day = as_utc(moment).date()
    return day - timedelta(days=day.weekday())


def weekly_trend(kind: SurveyKind, answers: Iterable[tuple[datetime, int]]) -> list[WeekPoint]:
    """The score per ISO week (weeks start on Monday, UTC), oldest first; empty weeks skipped."""
    weeks: dict[date, list[int]] = defaultdict(list)
    for moment, score in answers:
        weeks[week_start(moment)].append(score)
    return [WeekPoint(week, summarise(kind, weeks[week])) for week in sorted(weeks)]


def breakdown(
    kind: SurveyKind, groups: Mapping[str, Sequence[int]]
) -> list[tuple[str, ScoreSummary]]:
    """The score per group (service, or an answer to an extra question), largest group first."""
    rows = [(name, summarise(kind, scores)) for name, scores in groups.items() if scores]
    return sorted(rows, key=lambda row: (-row[1].n, row[0]))
