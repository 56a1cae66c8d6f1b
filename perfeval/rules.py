"""The rules of the domain, each stated once (see docs/规则.md).

Thresholds, grade bands and units live here; scoring, the audit, queries and
the pages' texts read them from here instead of repeating the numbers.
"""

from __future__ import annotations

# Grade bands of the default scheme: (lower bound, grade), highest first.
GRADE_BANDS: tuple[tuple[float, str], ...] = ((90.0, "优"), (80.0, "良"), (60.0, "中"), (0.0, "差"))
GRADE_ORDER: tuple[str, ...] = tuple(g for _, g in GRADE_BANDS)

# An evaluation whose 全年执行数 / 全年预算数 is below this is "low execution".
LOW_EXEC_RATE = 0.9
# Actual ≥ this × target: over-achieved (no extra points; the target was probably too low).
OVER_ACHIEVEMENT_RATIO = 1.3
# Self-score − computed score above this many points: 自评分虚高 (a 警告); above the hint, a 提示.
SCORE_GAP_WARN = 1.0
SCORE_GAP_HINT = 0.5

# 元 per 万元: amounts are stored in 万元.
YUAN_PER_WAN = 10_000


def grade_of(total: float) -> str:
    for cut, grade in GRADE_BANDS:
        if total >= cut:
            return grade
    return GRADE_BANDS[-1][1]


def grade_help() -> str:
    """The bands as UI text: 优 ≥90，良 ≥80，中 ≥60，差 <60."""
    parts = [f"{g} ≥{cut:g}" for cut, g in GRADE_BANDS[:-1]]
    return "，".join([*parts, f"{GRADE_BANDS[-1][1]} <{GRADE_BANDS[-2][0]:g}"])


def pct_text(rate: float) -> str:
    """0.9 → '90%' for UI texts."""
    return f"{rate * 100:g}%"
