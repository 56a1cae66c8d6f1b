"""评分复核 as a work list: departments ranked by severity, each with its
findings grouped by check and counted, in Chinese only.

Order: departments with 错误 first (most errors first), then by the largest
self-score gap (自评得分 − 计算得分, largest first), then by 警告 and name.
Inputs are the audit's own frames (:func:`perfeval.audit.audit_overview`'s
table and :func:`perfeval.audit.audit_store`'s findings); nothing here
re-runs a check.
"""

from __future__ import annotations

import pandas as pd

from . import rules
from .audit import CHECKS, SEVERITIES

# What each check means, for a reviewer (CHECKS holds the short title).
EXPLANATIONS: dict[str, str] = {
    "SCORE_ABOVE_WEIGHT": "指标得分高于该指标的分值，得分不能超过满分。",
    "WEIGHTS_NOT_100": "各指标分值之和与上级分值或总分 100 分不符。",
    "EXEC_RATE_MISMATCH": "报告的执行率与“全年执行数 ÷ 全年预算数”不一致。",
    "BUDGET_PARTS_MISMATCH": "基本支出与项目支出之和不等于总预算或总执行数。",
    "QUALITATIVE_OUT_OF_BAND": "定性指标的得分不在其完成档次（达成、部分达成、未达成）对应的分数区间内。",
    "SCORE_GAP": "自评得分高于按指标和预算执行计算的得分，自评可能偏高。",
    "REPORTED_SCORE_MISMATCH": "表中填报的指标得分与按评分规则计算的得分不一致。",
    "REPORTED_MET_MISMATCH": "报告称指标已完成，但实际值未达到目标值。",
    "GOAL_WITHOUT_INDICATORS": "年度目标下没有设置任何绩效指标。",
    "NO_OUTPUT_INDICATOR": "年度目标下没有产出指标。",
    "NO_EFFECT_INDICATOR": "年度目标下没有效益指标。",
    "NO_SATISFACTION_INDICATOR": "年度目标下没有满意度指标。",
    "SINGLE_INDICATOR_GOAL": "年度目标只有一个指标，难以全面反映目标完成情况。",
    "UNMEASURABLE_TARGET": "目标值为“完成”“效果明显”等无法量化的表述，难以核实。",
    "DUPLICATE_INDICATOR_CONFLICT": "同一指标出现在多个目标下，且各处的实际值不一致。",
    "REVERSE_REPORTED_FULL": "名称像反向指标（投诉、事故、重访率等），却按 100% 报完成。",
    "EXEC_ALL_100": "各项预算执行率均为 100%，需核实执行数据。",
    "LOW_EXEC_NO_REASON": f"预算执行率低于 {rules.pct_text(rules.LOW_EXEC_RATE)}，但没有说明原因。",
    "EXEC_OVER_BUDGET": "执行数超过预算数。",
    "OVER_ACHIEVED": f"实际值达到目标值的 {rules.pct_text(rules.OVER_ACHIEVEMENT_RATIO)} 及以上，"
                     "目标可能定得偏低（不加分）。",
    "UNMET_REPEATED": "同一指标连续两年未完成。",
    "DUPLICATE_INDICATOR": "同一指标出现在多个目标下。",
    "TARGET_NO_UNIT": "目标值是数字，但没有写单位。",
}

SHOWN_CHECKS = 3  # checks named in a department's 主要问题 before "等"

WORKLIST_COLUMNS = ["rank", "department", *SEVERITIES, "gap", "self_score", "total", "grade",
                    "evaluations", "summary"]
WORKLIST_LABELS = {"rank": "序号", "department": "部门", "gap": "自评差额",
                   "self_score": "自评得分", "total": "计算得分", "grade": "等级",
                   "evaluations": "评价数", "summary": "主要问题",
                   **{s: s for s in SEVERITIES}}
CHECK_COUNT_LABELS = {"title": "检查项", "severity": "级别", "count": "发现数",
                      "explanation": "说明"}


def explanation(code: str) -> str:
    return EXPLANATIONS.get(code, CHECKS[code].title if code in CHECKS else "")


def check_counts(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings grouped by check: department, code, title, severity, count,
    explanation — per department, most severe then most frequent first."""
    cols = ["department", "code", "title", "severity", "count", "explanation"]
    if findings.empty:
        return pd.DataFrame(columns=cols)
    out = (findings.groupby(["department", "code", "severity"], as_index=False, observed=True)
           .size().rename(columns={"size": "count"}))
    out["title"] = out["code"].map(lambda c: CHECKS[c].title if c in CHECKS else c)
    out["explanation"] = out["code"].map(explanation)
    out["_sev"] = out["severity"].map({s: k for k, s in enumerate(SEVERITIES)})
    out = out.sort_values(["department", "_sev", "count", "title"],
                          ascending=[True, True, False, True], kind="stable")
    return out[cols].reset_index(drop=True)


def rank_departments(table: pd.DataFrame, findings: pd.DataFrame) -> pd.DataFrame:
    """One row per department (:data:`WORKLIST_COLUMNS`), in work order.

    ``table``: the audit overview's per-evaluation rows (department, gap,
    self_score, total, grade and a count per severity); ``findings``: the
    findings of the same evaluations (for 主要问题)."""
    if table.empty:
        return pd.DataFrame(columns=WORKLIST_COLUMNS)
    g = table.groupby("department", as_index=False, observed=True)
    dept = g.agg(**{s: (s, "sum") for s in SEVERITIES}, gap=("gap", "max"),
                 self_score=("self_score", "mean"), total=("total", "mean"),
                 evaluations=("department", "size"))
    grades = g["grade"].agg(lambda x: x.iloc[0] if len(x) == 1 else None)
    dept = dept.merge(grades, on="department")
    dept["grade"] = dept["grade"].astype(object).where(dept["grade"].notna(), None)
    counts = check_counts(findings)
    summary = {}
    for name, part in counts.groupby("department", sort=False):
        items = [f"{r.title} {r.count}" for r in part.itertuples()]
        more = len(items) - SHOWN_CHECKS
        summary[name] = "；".join(items[:SHOWN_CHECKS]) + (f" 等 {len(items)} 项" if more > 0 else "")
    dept["summary"] = [summary.get(d, "") for d in dept["department"]]
    dept["_has_error"] = dept[SEVERITIES[0]] > 0
    dept = dept.sort_values(["_has_error", SEVERITIES[0], "gap", SEVERITIES[1], "department"],
                            ascending=[False, False, False, False, True],
                            na_position="last", kind="stable").reset_index(drop=True)
    dept["rank"] = range(1, len(dept) + 1)
    for s in SEVERITIES:
        dept[s] = dept[s].astype("int64")
    return dept[WORKLIST_COLUMNS]
