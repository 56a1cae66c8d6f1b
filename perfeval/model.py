"""Domain types shared by ingest, store, scoring and audit.

Plain dataclasses: every input form (flat template, narrative report, official
workbook) is read into an :class:`Evaluation`; the store writes one evaluation
per transaction and reads them back the same way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

# 一级指标 as stored. Newer forms list 成本指标 as its own 一级指标; the
# official weights still count it under 产出, so it is read as 产出 with
# 二级指标 成本 (see normalize_category).
CATEGORIES = ("产出", "效益", "满意度")

SCOPES = ("部门整体", "项目")

# Budget line codes and their Chinese labels. total/basic/project are the
# 部门整体 lines; fiscal/carryover/other are the funding sources of a project
# table (财预〔2020〕10号 附件1).
BUDGET_LINES = {
    "total": "总预算",
    "basic": "基本支出",
    "project": "项目支出",
    "fiscal": "财政拨款",
    "carryover": "上年结转",
    "other": "其他资金",
}

FINDING_KINDS = {"problem": "存在的问题", "measure": "改进措施", "result_use": "结果应用"}


class PerfevalError(Exception):
    """An error to show the user as it is (Chinese, one line, no traceback)."""


def normalize_category(text: str | None) -> str | None:
    """Map a 一级指标 text to 产出/效益/满意度, or None when it is none of them."""
    if not text:
        return None
    t = "".join(str(text).split())
    for suffix in ("指标", "类"):
        t = t.removesuffix(suffix)
    if t in ("产出", "成本"):
        return "产出"
    if t == "效益":
        return "效益"
    if t in ("满意度", "服务对象满意度"):
        return "满意度"
    return None


@dataclass
class Department:
    name: str
    region: str | None = None  # e.g. 硚口区
    kind: str | None = None  # e.g. 街道, 委局
    parent: str | None = None  # 主管部门 of an 实施单位, for roll-up and drill-down


@dataclass
class BudgetLine:
    line: str  # a key of BUDGET_LINES
    budget: float | None = None  # 全年预算数 (A), 万元
    executed: float | None = None  # 全年执行数 (B), 万元
    initial: float | None = None  # 年初预算数, 万元
    weight: float | None = None  # 分值, as reported
    score: float | None = None  # 得分, as reported
    reason: str | None = None  # 偏差原因 (e.g. why execution < 90%)

    @property
    def rate(self) -> float | None:
        """执行率 B/A, None when A is missing or zero."""
        if self.budget and self.executed is not None:
            return self.executed / self.budget
        return None


@dataclass
class Indicator:
    category: str  # 产出 / 效益 / 满意度
    name: str  # 三级指标
    target: str | None = None  # 年度指标值 / 年初目标值, as written
    actual: str | None = None  # 实际完成值, as written
    subcategory: str | None = None  # 二级指标 (数量, 质量, 社会效益, ...)
    weight: float | None = None  # 分值, as reported
    score: float | None = None  # 得分, as reported
    met: bool | None = None  # met as the source states it; None when it does not say
    reason: str | None = None  # 偏差原因分析及改进措施
    source_text: str | None = None  # the sentence or row it was read from


@dataclass
class Goal:
    no: int
    name: str
    expected: str | None = None  # 预期目标
    achieved: str | None = None  # 实际完成情况
    indicators: list[Indicator] = field(default_factory=list)


@dataclass
class Phase:
    """One phase of the self-evaluation schedule (dates as written)."""

    name: str
    start: str | None = None
    end: str | None = None


@dataclass
class Evaluation:
    department: Department  # name "" while unknown (see FileResult.needs)
    year: int | None  # None while unknown
    scope: str = "部门整体"  # one of SCOPES
    project: str = ""  # project name for scope 项目, '' for 部门整体
    self_score: float | None = None
    self_grade: str | None = None  # a grade stated instead of a score (自评为优秀 → 优)
    budget: list[BudgetLine] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    measures: list[str] = field(default_factory=list)
    result_use: list[str] = field(default_factory=list)
    schedule: list[Phase] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)  # text the reader did not understand
    source_name: str | None = None
    checksum: str | None = None  # sha256 of the source file
    is_demo: bool = False
    # What the reader was unsure of and left empty, in Chinese (never stored).
    warnings: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.department.name, self.year, self.scope, self.project)

    def budget_line(self, line: str) -> BudgetLine | None:
        return next((b for b in self.budget if b.line == line), None)

    @property
    def indicators(self) -> list[tuple[Goal, Indicator]]:
        return [(g, i) for g in self.goals for i in g.indicators]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
