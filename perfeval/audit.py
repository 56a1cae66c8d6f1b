"""Review (复核): the checks a finance bureau runs on self-evaluations (docs/规则.md §复核).

Every check has a stable code (:data:`CHECKS`), a severity (错误 / 警告 /
提示), a Chinese message naming the goal and the indicator, and its evidence
(the values compared, a dict). Thresholds live in :class:`AuditSettings`.

One implementation, two entry points. The checks are DuckDB SQL over the
store's tables (current revisions only), run in bulk by :func:`audit_store`.
:func:`audit_evaluation` audits one evaluation held in memory by writing it
(and the previous year's, for UNMET_REPEATED) into a throwaway in-memory
store and running the same SQL, so the two paths cannot drift apart. Scores
come from the scoring tables, written with each import (rules are never
redone here, and the audit never writes): SCORE_GAP, OVER_ACHIEVED, REPORTED_SCORE_MISMATCH,
REPORTED_MET_MISMATCH, QUALITATIVE_OUT_OF_BAND and EXEC_RATE_MISMATCH read
them. A read-only store without scores skips those checks.

The review page's :func:`audit_overview` needs counts, not findings: it
scans the indicators once, counting per goal the rows each per-indicator
condition (``_IND_COND``, the same text the detail SQL filters on) holds
for, scans indicator_scores once for the scored checks (``_SCORE_COND``:
the scoring stores how reported figures compare with the rule's) and runs
the goal, budget and evaluation checks on their small tables; no indicator
is joined to its score (but the unmet ones), no message is built.
Duplicates are marked when written (rules.duplicates_sql).
tests/test_audit_overview.py holds its counts to the findings of
:func:`audit_store`.

Choices:

- "Unmet" (UNMET_REPEATED, rectification) is the scored status where the
  scoring could judge it (``met_computed``), else the report's own 完成/未完成.
- Indicators are "the same" within one evaluation when their names match
  after removing spaces; across years, after removing spaces, digits and
  percent signs as well (``消防隐患整治率 99%`` ≈ ``消防隐患整治率95%``).
- A stated 执行率 of an official form is checked against B/A when the form is
  read (it is not stored); here EXEC_RATE_MISMATCH compares an indicator
  named …执行率 (预算执行率, 资金执行率) with the evaluation's B/A.
- Rectification (:func:`rectification`): every indicator unmet in year N is
  looked up in the same department's year N+1 evaluation of the same scope
  and project: 已整改 (met), 仍未完成 (unmet again), 未再设置 (no such
  indicator), 无下年数据 (no evaluation for N+1), 无法判断 (found, but neither
  scored nor reported met or unmet).
- Problem texts (:func:`problem_followup`): similarity is the Jaccard index of
  the two texts' character bigrams, after dropping punctuation, spaces,
  digits and a leading enumeration (``1.``, ``（二）``); a year-N problem
  "再次出现" when some year-N+1 problem of the department reaches
  ``AuditSettings.problem_similarity``.
"""

# ruff: noqa: S608 -- every SQL text here is built from fixed fragments of this module; values are bound parameters.
from __future__ import annotations

import json
import re
import time
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd

from . import rules
from .filters import Filters
from .model import BUDGET_LINES, Evaluation, PerfevalError
from .rules import DEFAULT_SCHEME
from .scoring import get_scheme

SEVERITIES = ("错误", "警告", "提示")


@dataclass(frozen=True)
class Check:
    code: str
    severity: str
    title: str  # short Chinese label for tables and charts


CHECKS: dict[str, Check] = {c.code: c for c in (
    Check("SCORE_ABOVE_WEIGHT", "错误", "得分高于分值"),
    Check("WEIGHTS_NOT_100", "错误", "分值合计不为100"),
    Check("EXEC_RATE_MISMATCH", "错误", "执行率与执行数/预算数不符"),
    Check("BUDGET_PARTS_MISMATCH", "错误", "分项资金之和与总额不符"),
    Check("QUALITATIVE_OUT_OF_BAND", "错误", "定性指标得分超出档位"),
    Check("SCORE_GAP", "警告", "自评分高于指标支持分"),  # 提示 when the gap is small
    Check("REPORTED_SCORE_MISMATCH", "警告", "填报得分与评分规则不符"),
    Check("REPORTED_MET_MISMATCH", "警告", "报告完成但未达目标"),
    Check("GOAL_WITHOUT_INDICATORS", "警告", "目标没有指标"),
    Check("NO_OUTPUT_INDICATOR", "警告", "目标缺产出指标"),
    Check("NO_EFFECT_INDICATOR", "警告", "目标缺效益指标"),
    Check("NO_SATISFACTION_INDICATOR", "警告", "目标缺满意度指标"),
    Check("SINGLE_INDICATOR_GOAL", "警告", "目标只有一个指标"),
    Check("UNMEASURABLE_TARGET", "警告", "目标值无法度量"),
    Check("DUPLICATE_INDICATOR_CONFLICT", "警告", "重复指标实际值不一致"),
    Check("REVERSE_REPORTED_FULL", "警告", "反向指标按100%报完成"),
    Check("EXEC_ALL_100", "警告", "预算执行率全部为100%"),
    Check("LOW_EXEC_NO_REASON", "警告", "执行率偏低未说明原因"),
    Check("EXEC_OVER_BUDGET", "警告", "执行数超过预算数"),
    Check("OVER_ACHIEVED", "警告", "超额完成（目标可能偏低）"),
    Check("UNMET_REPEATED", "警告", "指标连续两年未完成"),
    Check("DUPLICATE_INDICATOR", "提示", "指标在多个目标下重复"),
    Check("TARGET_NO_UNIT", "提示", "目标值没有单位"),
)}


@dataclass(frozen=True)
class AuditSettings:
    """Every threshold of the audit (frozen, so a page can cache on it).

    - ``scheme``: the scoring scheme whose scores SCORE_GAP and the score
      checks read (over-achievement ratio and qualitative bands are the
      scheme's, see :mod:`perfeval.scoring`).
    - ``score_gap``: SCORE_GAP is a 警告 when self-score − computed score
      exceeds it (points); ``score_gap_hint``: a 提示 above this smaller gap
      (self-scores are usually whole numbers, so half a point is rounding).
    - ``reported_score_tolerance``: points a reported 得分 may differ from the
      rule's (REPORTED_SCORE_MISMATCH).
    - ``weight_total`` / ``weight_tolerance``: what 分值 must sum to.
    - ``amount_tolerance``: 万元 allowed between parts and total (rounding).
    - ``rate_tolerance``: fraction allowed between a stated 执行率 and B/A.
    - ``low_exec_rate``: execution below it needs a reason (LOW_EXEC_NO_REASON).
    - ``problem_similarity``: bigram Jaccard from which a next-year problem
      counts as the same problem again.
    - ``disabled``: codes not to run.
    """

    scheme: str = DEFAULT_SCHEME
    score_gap: float = rules.SCORE_GAP_WARN
    score_gap_hint: float = rules.SCORE_GAP_HINT
    reported_score_tolerance: float = 0.5
    weight_total: float = 100.0
    weight_tolerance: float = 0.01
    amount_tolerance: float = 0.01
    rate_tolerance: float = 0.005
    low_exec_rate: float = rules.LOW_EXEC_RATE
    problem_similarity: float = 0.25
    disabled: frozenset[str] = frozenset()

    def __post_init__(self):
        unknown = set(self.disabled) - set(CHECKS)
        if unknown:
            raise PerfevalError(f"未知的检查代码：{'、'.join(sorted(unknown))}")
        get_scheme(self.scheme)  # raises on an unknown scheme


@dataclass
class Finding:
    code: str
    severity: str
    department: str
    year: int
    eval_id: int
    goal_no: int | None
    indicator: str | None
    message: str
    evidence: dict = field(default_factory=dict)
    scope: str = "部门整体"
    project: str = ""

    @property
    def title(self) -> str:
        return CHECKS[self.code].title


FINDING_COLUMNS = ["code", "severity", "title", "department", "year", "scope", "project",
                   "eval_id", "goal_no", "indicator", "message", "evidence"]

# --------------------------------------------------------------------------
# SQL fragments (fixed text; every value is a bound parameter)
# --------------------------------------------------------------------------

# "The same indicator": within an evaluation by the stored name_key
# (duplicates marked when written, rules.duplicates_sql), across years by the
# stored ikey (rules.indicator_key; the unmet streak uses the same key).


def _n(expr: str) -> str:
    """A number as text, up to two decimals, no trailing zeros; '—' when NULL."""
    return (f"coalesce(regexp_replace(regexp_replace(printf('%.2f', {expr}), '0+$', ''), "
            f"'\\.$', ''), '—')")


def _pct(expr: str) -> str:
    """A fraction as a percentage text (0.835 → 83.5%)."""
    return f"({_n(f'100.0 * ({expr})')} || '%')"


def _t(expr: str) -> str:
    return f"coalesce({expr}, '—')"


_LINE_ORDER = "(CASE line " + " ".join(
    f"WHEN '{k}' THEN {n}" for n, k in enumerate(BUDGET_LINES)) + " END)"
_LINE_LABEL = "(CASE line " + " ".join(
    f"WHEN '{k}' THEN '{v}'" for k, v in BUDGET_LINES.items()) + " ELSE line END)"
def _goal_label(no: str = "goal_no", name: str = "goal_name") -> str:
    """目标3“社区治理” — built only where a message is (a_ind keeps the bare name)."""
    return f"printf('目标%d“%s”', {no}, coalesce({name}, ''))"


_IND_LABEL = f"{_goal_label()} || '的指标“' || name || '”'"
_ACTUAL = f"{_t('actual_text')}"

# The indicators in scope with their scores: a_ind's columns (the detail path).
_IND_COLS = f"""
    i.ind_id, i.eval_id, i.goal_no, i.seq, i.category, i.name, i.target_text,
    i.actual_text, i.comparator, i.target_num, i.target_unit, i.target_level,
    i.actual_num, i.actual_unit, i.actual_level, i.direction, i.direction_inferred,
    i.weight, i.score, i.met, i.reason,
    s.weight AS rule_weight, s.score AS rule_score, s.rule, s.over_achieved,
    s.met_computed, s.reported_gap, s.reported_in_band, s.met_overstated,
    {rules.met_sql('s', 'i')} AS met_final,
    i.ikey, i.dup_of, i.dup_conflict"""


# Per goal: indicator counts by category and the weights' sum, from a source
# with a_ind's columns (``{src}``), plus ``{extra}`` aggregates (the overview's counts).
_GOAL_COUNTS = """
    CREATE OR REPLACE TEMP TABLE a_gc AS
    SELECT eval_id, goal_no, count(*) AS n,
           count(*) FILTER (WHERE category = '产出') AS n_out,
           count(*) FILTER (WHERE category = '效益') AS n_eff,
           count(*) FILTER (WHERE category = '满意度') AS n_sat,
           sum(weight) AS w_sum, count(weight) AS w_n{extra}
    FROM {src} GROUP BY eval_id, goal_no
"""

# Goals with their indicator counts (goals without indicators included), and
# each evaluation's indicator weights (WEIGHTS_NOT_100), from a_gc.
_GOAL_NAME = "any_value(name)"
_PREPARE_GOALS = [
    f"""
    CREATE OR REPLACE TEMP TABLE a_goal AS
    SELECT coalesce(g.eval_id, c.eval_id) AS eval_id, coalesce(g.goal_no, c.goal_no) AS goal_no,
           g.name AS goal_name,
           coalesce(c.n, 0) AS n, coalesce(c.n_out, 0) AS n_out, coalesce(c.n_eff, 0) AS n_eff,
           coalesce(c.n_sat, 0) AS n_sat
    FROM (SELECT eval_id, goal_no, {_GOAL_NAME} AS name FROM goals
          WHERE eval_id IN (SELECT eval_id FROM a_ev) GROUP BY ALL) g
    FULL JOIN a_gc c ON g.eval_id = c.eval_id AND g.goal_no = c.goal_no
    """,
    """
    CREATE OR REPLACE TEMP TABLE a_w AS
    SELECT eval_id, sum(w_sum) AS ind_sum, sum(n) - sum(w_n) AS missing
    FROM a_gc GROUP BY eval_id HAVING sum(w_n) > 0
    """,
]

_PREPARE = [
    # Evaluations in scope, with their scores under the scheme (NULL when not scored).
    """
    CREATE OR REPLACE TEMP TABLE a_ev AS
    SELECT e.eval_id, e.department, e.year, e.scope, e.project, e.self_score,
           s.total, s.grade, s.gap, s.exec_rate, s.exec_weight, s.exec_score, s.max_score,
           s.eval_id IS NOT NULL AS scored
    FROM cur_evaluations e
    LEFT JOIN eval_scores s ON s.eval_id = e.eval_id AND s.scheme = ?
    WHERE {where}
    """,
    f"""
    CREATE OR REPLACE TEMP TABLE a_ind AS
    SELECT {_IND_COLS}, g.name AS goal_name
    FROM indicators i SEMI JOIN a_ev e ON e.eval_id = i.eval_id
    LEFT JOIN indicator_scores s ON s.ind_id = i.ind_id AND s.scheme = $scheme
    LEFT JOIN (SELECT eval_id, goal_no, any_value(name) AS name FROM goals
               WHERE eval_id IN (SELECT eval_id FROM a_ev) GROUP BY ALL) g
           ON g.eval_id = i.eval_id AND g.goal_no = i.goal_no
    """,
    """
    CREATE OR REPLACE TEMP TABLE a_bl AS
    SELECT b.* FROM budget_lines b SEMI JOIN a_ev e ON e.eval_id = b.eval_id
    """,
    """
    CREATE OR REPLACE TEMP TABLE a_fi AS
    SELECT f.* FROM findings f SEMI JOIN a_ev e ON e.eval_id = f.eval_id
    WHERE f.kind = 'problem'
    """,
]

# The previous year's unmet indicators of the same department, scope and project.
_PREPARE_PREV = f"""
    CREATE OR REPLACE TEMP TABLE a_prev AS
    SELECT k.eval_id AS cur_eval_id, i.ikey, i.name, i.actual_text, pe.year
    FROM (SELECT eval_id, department, year - 1 AS year, scope, project FROM a_ev) k
    JOIN cur_evaluations pe USING (department, year, scope, project)
    JOIN indicators i ON i.eval_id = pe.eval_id
    LEFT JOIN indicator_scores s ON s.ind_id = i.ind_id AND s.scheme = $scheme
    WHERE {rules.unmet_sql('s', 'i')}
"""

# The overview's per-evaluation counts of the scored checks (_SCORE_COND),
# from indicator_scores alone.
_SCORE_COUNTS = """
    CREATE OR REPLACE TEMP TABLE a_sc AS
    SELECT s.eval_id, {counts}
    FROM indicator_scores s SEMI JOIN a_ev e ON e.eval_id = s.eval_id
    WHERE s.scheme = $scheme GROUP BY s.eval_id
"""

# The overview's unmet indicators (eval_id, ikey), by rules.unmet_sql: of a
# scored evaluation, the rows whose score is not "met" (a small share) joined
# to their indicators; of an evaluation without scores, the report's own status.
_UNMET_KEYS = f"""
    CREATE OR REPLACE TEMP TABLE a_unmet AS
    SELECT i.eval_id, i.ikey
    FROM indicators i
    JOIN (SELECT s.ind_id, s.met_computed
          FROM indicator_scores s SEMI JOIN a_ev e ON e.eval_id = s.eval_id
          WHERE s.scheme = $scheme AND s.met_computed IS NOT TRUE) s ON s.ind_id = i.ind_id
    WHERE {rules.unmet_sql('s', 'i')}
    UNION ALL
    SELECT i.eval_id, i.ikey
    FROM indicators i SEMI JOIN a_ev e ON e.eval_id = i.eval_id AND NOT e.scored
    CROSS JOIN (SELECT NULL::BOOLEAN AS met_computed) s
    WHERE {rules.unmet_sql('s', 'i')}
"""

# The overview's a_prev (keys only): a previous-year evaluation in scope has
# its unmet keys in a_unmet already; only those out of scope (a one-year
# audit) are read again.
_PREPARE_PREV_KEYS = [
    """
    CREATE OR REPLACE TEMP TABLE a_pmap AS
    SELECT k.eval_id AS cur_eval_id, pe.eval_id AS prev_eval_id,
           pe.eval_id IN (SELECT eval_id FROM a_ev) AS in_scope
    FROM (SELECT eval_id, department, year - 1 AS year, scope, project FROM a_ev) k
    JOIN cur_evaluations pe USING (department, year, scope, project)
    """,
    f"""
    CREATE OR REPLACE TEMP TABLE a_prev AS
    SELECT m.cur_eval_id, u.ikey
    FROM a_pmap m JOIN a_unmet u ON u.eval_id = m.prev_eval_id WHERE m.in_scope
    UNION ALL
    SELECT m.cur_eval_id, i.ikey
    FROM a_pmap m JOIN indicators i ON i.eval_id = m.prev_eval_id
    LEFT JOIN (SELECT * FROM indicator_scores WHERE scheme = $scheme AND eval_id IN (
                   SELECT prev_eval_id FROM a_pmap WHERE NOT in_scope)) s ON s.ind_id = i.ind_id
    WHERE NOT m.in_scope AND {rules.unmet_sql('s', 'i')}
    """,
]

# Each check selects: code, severity (NULL = the check's), eval_id, goal_no,
# indicator, message, evidence (JSON text).
_OUT = "code, severity, eval_id, goal_no, indicator, message, evidence"

_CHECK_SQL: dict[str, str] = {}

# Checks of one indicator at a time: the condition over the indicators'
# columns (and a_ev's exec_rate). The detail SQL selects the rows of a_ind it
# holds for; the overview counts them in its one scan of the indicators
# (_prepare), so both agree.
_BAND_LO = "CASE actual_level WHEN '达成' THEN $b1_lo WHEN '部分达成' THEN $b2_lo ELSE $b3_lo END"
_BAND_HI = "CASE actual_level WHEN '达成' THEN $b1_hi WHEN '部分达成' THEN $b2_hi ELSE $b3_hi END"
_RULE_POINTS = "rule_score / rule_weight * weight"
_IND_COND = {
    "SCORE_ABOVE_WEIGHT": "score > weight + $weight_tolerance",
    "EXEC_RATE_MISMATCH": ("name LIKE '%执行率%' AND actual_unit = '%' AND actual_num IS NOT NULL"
                           " AND exec_rate IS NOT NULL"
                           " AND abs(actual_num / 100.0 - exec_rate) > $rate_tolerance"),
    "UNMEASURABLE_TARGET": "target_num IS NULL",
    "TARGET_NO_UNIT": "target_num IS NOT NULL AND target_num <> 0 AND target_unit IS NULL",
    "REVERSE_REPORTED_FULL": ("direction = 'reverse' AND actual_unit = '%' AND actual_num >= 100"
                              " AND (met OR (met IS NULL AND weight > 0 AND score >= weight))"),
}
# Checks of one scored indicator: the condition over indicator_scores' own
# columns (the scoring states how the reported figures compare with the
# rule's), so the overview counts them from that table alone.
_SCORE_COND = {
    "QUALITATIVE_OUT_OF_BAND": "NOT reported_in_band",
    "REPORTED_SCORE_MISMATCH": "abs(reported_gap) > $reported_score_tolerance",
    "REPORTED_MET_MISMATCH": "met_overstated",
    "OVER_ACHIEVED": "over_achieved",
}
# Checks of one goal, over a_goal's columns.
_GOAL_COND = {
    "GOAL_WITHOUT_INDICATORS": "n = 0",
    "NO_OUTPUT_INDICATOR": "n > 0 AND n_out = 0",
    "NO_EFFECT_INDICATOR": "n > 0 AND n_eff = 0",
    "NO_SATISFACTION_INDICATOR": "n > 0 AND n_sat = 0",
    "SINGLE_INDICATOR_GOAL": "n = 1",
}
_UNMET_ROW = "met_final = FALSE"

_CHECK_SQL["SCORE_GAP"] = f"""
SELECT 'SCORE_GAP', CASE WHEN gap > $score_gap THEN '警告' ELSE '提示' END, eval_id,
       NULL, NULL,
       '自评得分 ' || {_n('self_score')} || ' 分，按指标只能支持 ' || {_n('total')}
         || ' 分（' || $scheme || '），高出 ' || {_n('gap')} || ' 分',
       to_json({{'自评得分': self_score, '计算得分': round(total, 2), '差额': round(gap, 2),
                 '阈值': $score_gap, '等级': grade, '评分方案': $scheme}})
FROM a_ev WHERE round(gap, 2) > $score_gap_hint
"""

_CHECK_SQL["SCORE_ABOVE_WEIGHT"] = f"""
SELECT 'SCORE_ABOVE_WEIGHT', NULL, eval_id, goal_no, name,
       {_IND_LABEL} || '得分 ' || {_n('score')} || ' 高于分值 ' || {_n('weight')},
       to_json({{'分值': weight, '得分': score}})
FROM a_ind WHERE {_IND_COND["SCORE_ABOVE_WEIGHT"]}
UNION ALL
SELECT 'SCORE_ABOVE_WEIGHT', NULL, eval_id, NULL, NULL,
       {_LINE_LABEL} || '得分 ' || {_n('score')} || ' 高于分值 ' || {_n('weight')},
       to_json({{'预算行': {_LINE_LABEL}, '分值': weight, '得分': score}})
FROM a_bl WHERE score > weight + $weight_tolerance
"""

# The execution weight is the scoring's (a budget block's 分值 100 on forms
# whose indicators already hold 100 points is the form's total, not a weight).
_CHECK_SQL["WEIGHTS_NOT_100"] = f"""
WITH t AS (
    SELECT w.*, coalesce(e.exec_weight, $scheme_exec_weight) AS exec_w,
           w.ind_sum + coalesce(e.exec_weight, $scheme_exec_weight) AS total
    FROM a_w w JOIN a_ev e USING (eval_id)
)
SELECT 'WEIGHTS_NOT_100', NULL, eval_id, NULL, NULL,
       CASE WHEN missing > 0 THEN '有 ' || missing || ' 个指标未填分值；' ELSE '' END
         || '指标分值合计 ' || {_n('ind_sum')} || ' + 预算执行分值 ' || {_n('exec_w')}
         || ' = ' || {_n('total')}
         || CASE WHEN abs(total - $weight_total) > $weight_tolerance
                 THEN '，不等于 ' || {_n('$weight_total')} ELSE '' END,
       to_json({{'指标分值合计': ind_sum, '预算执行分值': exec_w, '合计': total,
                 '应为': $weight_total, '未填分值指标数': missing}})
FROM t WHERE abs(total - $weight_total) > $weight_tolerance OR missing > 0
"""

_CHECK_SQL["EXEC_RATE_MISMATCH"] = f"""
SELECT 'EXEC_RATE_MISMATCH', NULL, i.eval_id, i.goal_no, i.name,
       {_goal_label('i.goal_no', 'i.goal_name')} || '的指标“' || i.name || '”实际值 '
         || {_t('i.actual_text')}
         || '，而执行数/预算数为 ' || {_pct('e.exec_rate')},
       to_json({{'指标实际值': i.actual_text, '执行数/预算数': round(e.exec_rate, 6)}})
FROM a_ind i JOIN a_ev e USING (eval_id)
WHERE {_IND_COND["EXEC_RATE_MISMATCH"]}
"""


def _parts_sql() -> str:
    """BUDGET_PARTS_MISMATCH for each amount column and each split of the total."""
    amounts = {"budget": "全年预算数", "executed": "全年执行数", "initial": "年初预算数"}
    pivot = ", ".join(
        f"max({col}) FILTER (WHERE line = '{line}') AS {line}_{col}"
        for col in amounts for line in BUDGET_LINES)
    parts = []
    for col, label in amounts.items():
        splits = (
            ("基本支出 + 项目支出", f"basic_{col} + project_{col}",
             f"basic_{col} IS NOT NULL AND project_{col} IS NOT NULL",
             f"{{'基本支出': basic_{col}, '项目支出': project_{col}}}"),
            ("财政拨款 + 上年结转 + 其他资金",
             f"fiscal_{col} + coalesce(carryover_{col}, 0) + coalesce(other_{col}, 0)",
             f"fiscal_{col} IS NOT NULL AND (carryover_{col} IS NOT NULL OR other_{col} IS NOT NULL)",
             f"{{'财政拨款': fiscal_{col}, '上年结转': carryover_{col}, '其他资金': other_{col}}}"),
        )
        for split_label, sum_expr, cond, parts_json in splits:
            parts.append(f"""
SELECT 'BUDGET_PARTS_MISMATCH', NULL, eval_id, NULL, NULL,
       '{label}：{split_label} = ' || {_n(sum_expr)} || ' 万元，与总额 '
         || {_n(f'total_{col}')} || ' 万元不符（差 ' || {_n(f'{sum_expr} - total_{col}')} || '）',
       to_json({{'金额': '{label}', '总额': total_{col}, '分项合计': round({sum_expr}, 6),
                 '分项': {parts_json}}})
FROM p WHERE total_{col} IS NOT NULL AND {cond}
  AND abs({sum_expr} - total_{col}) > $amount_tolerance""")
    return f"WITH p AS (SELECT eval_id, {pivot} FROM a_bl GROUP BY eval_id)" + \
        "\nUNION ALL".join(parts)


_CHECK_SQL["BUDGET_PARTS_MISMATCH"] = _parts_sql()

_CHECK_SQL["QUALITATIVE_OUT_OF_BAND"] = f"""
WITH b AS (
    SELECT *, score / weight AS share, {_BAND_LO} AS lo, {_BAND_HI} AS hi
    FROM a_ind WHERE {_SCORE_COND["QUALITATIVE_OUT_OF_BAND"]}
)
SELECT 'QUALITATIVE_OUT_OF_BAND', NULL, eval_id, goal_no, name,
       {_IND_LABEL} || '实际“' || {_ACTUAL} || '”属' || actual_level || '档（得分应在分值的 '
         || {_pct('lo')} || '–' || {_pct('hi')} || '），填报得分 ' || {_n('score')}
         || ' / ' || {_n('weight')} || '（' || {_pct('share')} || '）',
       to_json({{'实际值': actual_text, '档位': actual_level, '分值': weight, '得分': score,
                 '得分率': round(share, 4), '档位下限': lo, '档位上限': hi}})
FROM b
"""

_CHECK_SQL["REPORTED_SCORE_MISMATCH"] = f"""
WITH r AS (
    SELECT *, {_RULE_POINTS} AS rule_points
    FROM a_ind WHERE {_SCORE_COND["REPORTED_SCORE_MISMATCH"]}
)
SELECT 'REPORTED_SCORE_MISMATCH', NULL, eval_id, goal_no, name,
       {_IND_LABEL} || '填报得分 ' || {_n('score')} || '（分值 ' || {_n('weight')}
         || '），按评分规则应得 ' || {_n('rule_points')} || '（目标 ' || {_t('target_text')}
         || '，实际 ' || {_ACTUAL}
         || CASE WHEN rule = 'unreadable' THEN '，实际值无法与目标比较，不能给分' ELSE '' END
         || '）',
       to_json({{'分值': weight, '填报得分': score, '按规则得分': round(rule_points, 2),
                 '规则': rule, '目标值': target_text, '实际值': actual_text}})
FROM r
UNION ALL
SELECT 'REPORTED_SCORE_MISMATCH', NULL, l.eval_id, NULL, NULL,
       '预算执行得分填报 ' || {_n('l.score')} || '（分值 ' || {_n('l.weight')} || '），按执行率 '
         || {_pct('e.exec_rate')} || ' 应得 ' || {_n('l.weight * e.exec_score / e.exec_weight')}
         || '（按方案分值 ' || {_n('e.exec_weight')} || ' 计为 ' || {_n('e.exec_score')} || '）',
       to_json({{'预算行': {_LINE_LABEL.replace('line', 'l.line')}, '分值': l.weight,
                 '填报得分': l.score, '执行率': round(e.exec_rate, 6),
                 '按规则得分': round(l.weight * e.exec_score / e.exec_weight, 2),
                 '方案执行分值': e.exec_weight, '方案执行得分': round(e.exec_score, 2)}})
FROM (SELECT eval_id, arg_min(line, CASE WHEN line = 'total' THEN 0 ELSE 1 END) AS line,
             arg_min(weight, CASE WHEN line = 'total' THEN 0 ELSE 1 END) AS weight,
             arg_min(score, CASE WHEN line = 'total' THEN 0 ELSE 1 END) AS score
      FROM a_bl WHERE weight > 0 AND score IS NOT NULL GROUP BY eval_id) l
JOIN a_ev e USING (eval_id)
WHERE e.exec_rate IS NOT NULL AND e.exec_weight > 0
  AND abs(l.score - l.weight * e.exec_score / e.exec_weight) > $reported_score_tolerance
"""

_CHECK_SQL["REPORTED_MET_MISMATCH"] = f"""
SELECT 'REPORTED_MET_MISMATCH', NULL, eval_id, goal_no, name,
       {_IND_LABEL} || '报告为完成，但实际 ' || {_ACTUAL} || ' 未达到目标 '
         || {_t('target_text')},
       to_json({{'目标值': target_text, '实际值': actual_text, '报告完成': met,
                 '按规则完成': met_computed, '规则': rule}})
FROM a_ind WHERE {_SCORE_COND["REPORTED_MET_MISMATCH"]}
"""

_CHECK_SQL["GOAL_WITHOUT_INDICATORS"] = f"""
SELECT 'GOAL_WITHOUT_INDICATORS', NULL, eval_id, goal_no, NULL,
       {_goal_label()} || '下没有绩效指标', to_json({{'指标数': 0}})
FROM a_goal WHERE {_GOAL_COND["GOAL_WITHOUT_INDICATORS"]}
"""

for _code, _col, _cat in (("NO_OUTPUT_INDICATOR", "n_out", "产出"),
                          ("NO_EFFECT_INDICATOR", "n_eff", "效益"),
                          ("NO_SATISFACTION_INDICATOR", "n_sat", "满意度")):
    _CHECK_SQL[_code] = f"""
SELECT '{_code}', NULL, eval_id, goal_no, NULL,
       {_goal_label()} || '没有{_cat}指标（产出 ' || n_out || ' 个，效益 ' || n_eff || ' 个，满意度 '
         || n_sat || ' 个）',
       to_json({{'产出': n_out, '效益': n_eff, '满意度': n_sat}})
FROM a_goal WHERE {_GOAL_COND[_code]}
"""

_CHECK_SQL["SINGLE_INDICATOR_GOAL"] = f"""
SELECT 'SINGLE_INDICATOR_GOAL', NULL, g.eval_id, g.goal_no, i.name,
       {_goal_label('g.goal_no', 'g.goal_name')} || '只有一个指标（“' || i.name || '”）',
       to_json({{'指标数': 1, '指标': i.name}})
FROM a_goal g LEFT JOIN a_ind i ON i.eval_id = g.eval_id AND i.goal_no = g.goal_no
WHERE {_GOAL_COND["SINGLE_INDICATOR_GOAL"]}
"""

_CHECK_SQL["UNMEASURABLE_TARGET"] = f"""
SELECT 'UNMEASURABLE_TARGET', NULL, eval_id, goal_no, name,
       {_IND_LABEL} || CASE WHEN nullif(trim(coalesce(target_text, '')), '') IS NULL
                            THEN '未填写目标值'
                            ELSE '目标值“' || target_text || '”无法度量（没有数值）' END,
       to_json({{'目标值': target_text, '读作': coalesce(target_level, '无法识别')}})
FROM a_ind WHERE {_IND_COND["UNMEASURABLE_TARGET"]}
"""

_CHECK_SQL["TARGET_NO_UNIT"] = f"""
SELECT 'TARGET_NO_UNIT', NULL, eval_id, goal_no, name,
       {_IND_LABEL} || '目标值“' || target_text || '”没有单位',
       to_json({{'目标值': target_text, '数值': target_num}})
FROM a_ind WHERE {_IND_COND["TARGET_NO_UNIT"]}
"""

# Later copies of a name within an evaluation, marked when written
# (rules.duplicates_sql): a finding each, a conflict when its actual reads
# differently from the first copy's (the reference, dup_of its seq).
_DUP_COND = {"DUPLICATE_INDICATOR": "dup_of IS NOT NULL AND NOT dup_conflict",
             "DUPLICATE_INDICATOR_CONFLICT": "dup_conflict"}
_CHECK_SQL["DUPLICATE_INDICATOR"] = f"""
SELECT CASE WHEN d.dup_conflict THEN 'DUPLICATE_INDICATOR_CONFLICT' ELSE 'DUPLICATE_INDICATOR' END,
       NULL, d.eval_id, d.goal_no, d.name,
       {_goal_label('d.goal_no', 'd.goal_name')} || '的指标“' || d.name || '”'
         || CASE WHEN d.goal_no = f.goal_no THEN '在同一目标下重复出现'
                 ELSE '与' || {_goal_label('f.goal_no', 'f.goal_name')} || '的同名指标重复' END
         || CASE WHEN d.dup_conflict THEN '，实际值不一致（本处 ' || {_t('d.actual_text')} || '，'
                                      || {_goal_label('f.goal_no', 'f.goal_name')}
                                      || ' ' || {_t('f.actual_text')} || '）'
                 ELSE '（实际值均为 ' || {_t('d.actual_text')} || '）' END,
       to_json({{'本处目标': d.goal_no, '本处目标值': d.target_text, '本处实际值': d.actual_text,
                 '首次出现目标': f.goal_no, '首次目标值': f.target_text, '首次实际值': f.actual_text}})
FROM a_ind d JOIN a_ind f ON f.eval_id = d.eval_id AND f.seq = d.dup_of
WHERE d.dup_of IS NOT NULL
"""

_CHECK_SQL["REVERSE_REPORTED_FULL"] = f"""
SELECT 'REVERSE_REPORTED_FULL', NULL, eval_id, goal_no, name,
       {_IND_LABEL} || '读作反向指标（越小越好' || CASE WHEN direction_inferred
         THEN '，由名称判断' ELSE '' END || '），却以实际值 ' || {_ACTUAL} || ' 报告为完成',
       to_json({{'目标值': target_text, '实际值': actual_text, '方向': '反向',
                 '方向由名称推断': direction_inferred, '报告完成': met,
                 '填报得分': score, '分值': weight}})
FROM a_ind WHERE {_IND_COND["REVERSE_REPORTED_FULL"]}
"""

_CHECK_SQL["EXEC_ALL_100"] = f"""
SELECT 'EXEC_ALL_100', NULL, eval_id, NULL, NULL,
       '全部 ' || count(*) || ' 个预算行执行率均为 100%（'
         || string_agg({_LINE_LABEL} || ' ' || {_n('budget')} || ' 万元', '，' ORDER BY {_LINE_ORDER})
         || '），请核实执行数是否按实际支出填报',
       to_json({{'预算行数': count(*),
                 '预算数': map(list({_LINE_LABEL} ORDER BY {_LINE_ORDER}), list(budget ORDER BY {_LINE_ORDER})),
                 '执行数': map(list({_LINE_LABEL} ORDER BY {_LINE_ORDER}), list(executed ORDER BY {_LINE_ORDER}))}})
FROM a_bl WHERE budget > 0
GROUP BY eval_id
HAVING bool_and(executed IS NOT NULL AND abs(executed - budget) <= $amount_tolerance)
"""

_CHECK_SQL["LOW_EXEC_NO_REASON"] = f"""
SELECT 'LOW_EXEC_NO_REASON', NULL, eval_id, NULL, NULL,
       {_LINE_LABEL} || '执行率 ' || {_pct('executed / budget')} || '（' || {_n('executed')}
         || ' / ' || {_n('budget')} || ' 万元）低于 ' || {_pct('$low_exec_rate')}
         || '，未说明原因',
       to_json({{'预算行': {_LINE_LABEL}, '预算数': budget, '执行数': executed,
                 '执行率': round(executed / budget, 6), '阈值': $low_exec_rate}})
FROM a_bl b
WHERE line IN ('total', 'basic', 'project')  -- funding-source lines repeat the total
  AND budget > 0 AND executed IS NOT NULL AND executed / budget < $low_exec_rate
  AND nullif(trim(coalesce(reason, '')), '') IS NULL
  AND NOT EXISTS (SELECT 1 FROM a_fi f WHERE f.eval_id = b.eval_id AND f.text LIKE '%执行%')
"""

_CHECK_SQL["EXEC_OVER_BUDGET"] = f"""
SELECT 'EXEC_OVER_BUDGET', NULL, eval_id, NULL, NULL,
       {_LINE_LABEL} || '执行数 ' || {_n('executed')} || ' 万元超过预算数 ' || {_n('budget')}
         || ' 万元',
       to_json({{'预算行': {_LINE_LABEL}, '预算数': budget, '执行数': executed}})
FROM a_bl WHERE executed > budget + $amount_tolerance
"""

_CHECK_SQL["OVER_ACHIEVED"] = f"""
SELECT 'OVER_ACHIEVED', NULL, eval_id, goal_no, name,
       {_IND_LABEL} || '实际 ' || {_ACTUAL} || ' 达目标 ' || {_t('target_text')} || ' 的 '
         || {_pct('actual_num / target_num')} || '（≥' || {_pct('$over_ratio')}
         || '），目标可能定得偏低',
       to_json({{'目标值': target_text, '实际值': actual_text,
                 '完成比例': round(actual_num / target_num, 4), '阈值': $over_ratio}})
FROM a_ind WHERE {_SCORE_COND["OVER_ACHIEVED"]}
"""

_CHECK_SQL["UNMET_REPEATED"] = f"""
WITH p AS (
    SELECT cur_eval_id AS eval_id, ikey, any_value(name) AS prev_name,
           any_value(actual_text) AS prev_actual, any_value(year) AS prev_year
    FROM a_prev GROUP BY ALL
)
SELECT 'UNMET_REPEATED', NULL, i.eval_id, i.goal_no, i.name,
       {_goal_label('i.goal_no', 'i.goal_name')} || '的指标“' || i.name || '”连续两年未完成（'
         || p.prev_year || ' 年实际 '
         || {_t('p.prev_actual')} || '，' || (p.prev_year + 1) || ' 年实际 '
         || {_t('i.actual_text')} || '）',
       to_json({{'上年': p.prev_year, '上年指标': p.prev_name, '上年实际值': p.prev_actual,
                 '本年目标值': i.target_text, '本年实际值': i.actual_text}})
FROM a_ind i JOIN p ON p.eval_id = i.eval_id AND p.ikey = i.ikey
WHERE {_UNMET_ROW}
"""

# The parts of two checks that read budget lines, not indicators (the overview
# runs them as they are and counts the indicator parts in its scan).
_NON_IND_SQL = {c: _CHECK_SQL[c].split("\nUNION ALL\n", 1)[1]
                for c in ("SCORE_ABOVE_WEIGHT", "REPORTED_SCORE_MISMATCH")}

# Checks whose one query yields more than one code.
_PRODUCES = {"DUPLICATE_INDICATOR": ("DUPLICATE_INDICATOR", "DUPLICATE_INDICATOR_CONFLICT")}
assert set(_CHECK_SQL) | {c for cs in _PRODUCES.values() for c in cs} == set(CHECKS)


# Key of the scope's (condition, positional params) in the parameter dict.
WHERE = "_where"


def _used(sql: str, params: dict) -> dict:
    """DuckDB rejects named parameters a statement does not use."""
    return {k: v for k, v in params.items() if k != WHERE and re.search(rf"\${k}\b", sql)}


def _filters(year, departments, where: dict | None) -> Filters:
    """The audit's scope as the dashboard's Filters (scope None: every scope)."""
    where = where or {}
    return Filters(year=year, region=where.get("region"), kind=where.get("kind"),
                   departments=tuple(departments or ()), scope=where.get("scope"))


def _where(year, departments, allowed, eval_ids, where: dict | None) -> tuple[str, list]:
    if departments is not None and not departments:
        eval_ids = []  # an explicit empty department list matches nothing
    return _filters(year, departments, where).where(
        "e", years=None if year is None else [int(year)], allowed=allowed, eval_ids=eval_ids)


def _params(settings: AuditSettings, year, departments, allowed, eval_ids,
            where: dict | None = None) -> dict:
    scheme = get_scheme(settings.scheme)
    b = scheme.bands
    return {
        "scheme": scheme.name, WHERE: _where(year, departments, allowed, eval_ids, where),
        "score_gap": float(settings.score_gap), "score_gap_hint": float(settings.score_gap_hint),
        "reported_score_tolerance": float(settings.reported_score_tolerance),
        "weight_total": float(settings.weight_total),
        "weight_tolerance": float(settings.weight_tolerance),
        "amount_tolerance": float(settings.amount_tolerance),
        "rate_tolerance": float(settings.rate_tolerance),
        "low_exec_rate": float(settings.low_exec_rate),
        "scheme_exec_weight": float(scheme.exec_weight), "over_ratio": float(scheme.over_ratio),
        "b1_lo": b["达成"][0], "b1_hi": b["达成"][1], "b2_lo": b["部分达成"][0],
        "b2_hi": b["部分达成"][1], "b3_lo": b["未达成"][0], "b3_hi": b["未达成"][1],
    }


def _normalise_filters(departments, allowed):
    if isinstance(departments, str):
        departments = [departments]
    if isinstance(allowed, str):
        allowed = [allowed]
    return (None if departments is None else list(departments),
            None if allowed is None else list(allowed))


def _prepare(cur, params: dict, *, with_prev: bool, ind_counts: dict[str, str] | None = None,
             score_counts: dict[str, str] | None = None) -> None:
    """The work tables. Without counts (the detail path) a_ind holds every
    indicator in scope. With them (the overview) there is no a_ind: one scan
    of the indicators counts, per goal, the rows each condition of
    ``ind_counts`` (code → condition over the indicators' columns) holds for,
    as column c_<code> of a_gc; one scan of indicator_scores counts those of
    ``score_counts`` per evaluation (a_sc); a_unmet holds the unmet rows' keys."""
    cond, where_params = params[WHERE]
    cur.execute(_PREPARE[0].format(where=cond), [params["scheme"], *where_params])
    if ind_counts is None:
        steps = [*_PREPARE[1:], _GOAL_COUNTS.replace("{src}", "a_ind").replace("{extra}", ""),
                 *_PREPARE_GOALS, *([_PREPARE_PREV] if with_prev else [])]
    else:
        extra = "".join(f',\n           count(*) FILTER (WHERE {c}) AS "c_{code}"'
                        for code, c in ind_counts.items())
        scan = "(SELECT i.*, e.exec_rate FROM indicators i JOIN a_ev e USING (eval_id)) AS x"
        steps = [*_PREPARE[2:], _GOAL_COUNTS.replace("{src}", scan).replace("{extra}", extra),
                 # no texts: the overview builds no messages
                 *(g.replace(_GOAL_NAME, "NULL") for g in _PREPARE_GOALS)]
        if score_counts:
            steps.append(_SCORE_COUNTS.replace("{counts}", ", ".join(
                f'count(*) FILTER (WHERE {c}) AS "c_{code}"' for code, c in score_counts.items())))
        if with_prev:
            steps += [_UNMET_KEYS, *_PREPARE_PREV_KEYS]
    for sql in steps:
        cur.execute(sql, _used(sql, params))


@contextmanager
def _scratch(store) -> Iterator:
    """A cursor for one audit; its work tables (a_ev, a_ind, …) are dropped at the end.

    (Tried: the work tables in a compressed in-memory database. At 1 million
    indicators it saved 15 % of the peak and cost 18 % more time; not kept.)"""
    cur = store.cursor()
    try:
        yield cur
    finally:
        for t in ("a_ev", "a_ind", "a_bl", "a_fi", "a_gc", "a_sc", "a_unmet", "a_goal", "a_w",
                  "a_prev", "a_pmap", "a_out", "a_res"):
            cur.execute(f"DROP TABLE IF EXISTS {t}")
        cur.close()


_SEVERITY_SQL = "CASE code " + " ".join(
    f"WHEN '{c.code}' THEN '{c.severity}'" for c in CHECKS.values()) + " END"
_TITLE_SQL = "CASE code " + " ".join(
    f"WHEN '{c.code}' THEN '{c.title}'" for c in CHECKS.values()) + " END"
_CHECK_ORDER_SQL = "CASE code " + " ".join(
    f"WHEN '{c}' THEN {k}" for k, c in enumerate(CHECKS)) + " END"
_SEVERITY_ORDER_SQL = "CASE severity " + " ".join(
    f"WHEN '{s}' THEN {k}" for k, s in enumerate(SEVERITIES)) + " END"


_OVERVIEW_SPECIAL = ("DUPLICATE_INDICATOR", "UNMET_REPEATED")


def _run_counts(cur, codes: list[str], params: dict) -> None:
    """The overview: a_out(code, severity, eval_id, n), n findings of each
    check per evaluation, without building any finding's message."""
    ind_counts = {c: _IND_COND[c] for c in codes if c in _IND_COND}
    if "DUPLICATE_INDICATOR" in codes:
        ind_counts |= _DUP_COND
    score_counts = {c: _SCORE_COND[c] for c in codes if c in _SCORE_COND}
    _prepare(cur, params, with_prev="UNMET_REPEATED" in codes, ind_counts=ind_counts,
             score_counts=score_counts)
    cur.execute("CREATE OR REPLACE TEMP TABLE a_out (code VARCHAR, severity VARCHAR, "
                "eval_id BIGINT, n BIGINT)")
    sqls = []
    for table, counted in (("a_gc", ind_counts), ("a_sc", score_counts)):
        sqls += [f"""SELECT '{code}', NULL, eval_id, sum("c_{code}") FROM {table}
                     GROUP BY eval_id HAVING sum("c_{code}") > 0""" for code in counted]
    for code in codes:
        if code in _GOAL_COND:
            sqls.append(f"""SELECT '{code}', NULL, eval_id, count(*) FROM a_goal
                            WHERE {_GOAL_COND[code]} GROUP BY eval_id""")
        elif code not in _IND_COND and code not in _SCORE_COND and code not in _OVERVIEW_SPECIAL:
            sqls.append(f"SELECT code, severity, eval_id, 1 FROM ({_CHECK_SQL[code]}) AS c({_OUT})")
        if code in _NON_IND_SQL:
            sqls.append(f"SELECT code, severity, eval_id, 1 FROM ({_NON_IND_SQL[code]}) AS c({_OUT})")
    if "UNMET_REPEATED" in codes:
        sqls.append("""
            SELECT 'UNMET_REPEATED', NULL, u.eval_id, count(*)
            FROM a_unmet u SEMI JOIN a_prev p ON p.cur_eval_id = u.eval_id AND p.ikey = u.ikey
            GROUP BY u.eval_id""")
    for sql in sqls:
        sql = f"INSERT INTO a_out {sql}"
        cur.execute(sql, _used(sql, params))


def _run(cur, settings: AuditSettings, params: dict, *, detail: bool = True) -> None:
    """Leave the scoped evaluations in temp table a_ev and the findings in a_res.

    Without ``detail`` a_res holds counts (code, severity, eval_id, n) instead
    of findings, from :func:`_run_counts`: no a_ind and no messages, most of
    the work and memory at scale."""
    codes = [c for c in _CHECK_SQL
             if not set(_PRODUCES.get(c, (c,))) <= set(settings.disabled)]
    keep = {"disabled": list(settings.disabled) or None}
    if not detail:
        _run_counts(cur, codes, params)
        cur.execute(f"""
            CREATE OR REPLACE TEMP TABLE a_res AS
            SELECT o.code, coalesce(o.severity, {_SEVERITY_SQL}) AS severity, o.eval_id,
                   CAST(sum(o.n) AS BIGINT) AS n
            FROM a_out o
            WHERE $disabled IS NULL OR NOT list_contains(CAST($disabled AS VARCHAR[]), o.code)
            GROUP BY ALL
            """, keep)  # noqa: S608 (fixed text)
        cur.execute("DROP TABLE a_out")
        return
    _prepare(cur, params, with_prev="UNMET_REPEATED" in codes)
    cur.execute("CREATE OR REPLACE TEMP TABLE a_out (code VARCHAR, severity VARCHAR, "
                "eval_id BIGINT, goal_no INTEGER, indicator VARCHAR, message VARCHAR, "
                "evidence VARCHAR)")
    for code in codes:
        if detail:
            sql = f"INSERT INTO a_out ({_OUT}) {_CHECK_SQL[code]}"
        else:
            sql = (f"INSERT INTO a_out (code, severity, eval_id) SELECT code, severity, eval_id "
                   f"FROM ({_CHECK_SQL[code]}) AS c({_OUT})")
        cur.execute(sql, _used(sql, params))
    # Sorting on integers (severity, evaluation, goal, check) is several
    # times cheaper than on department names at a million findings.
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE a_res AS
        SELECT o.code, coalesce(o.severity, {_SEVERITY_SQL}) AS severity, {_TITLE_SQL} AS title,
               e.department, e.year, e.scope, e.project, o.eval_id, o.goal_no,
               o.indicator, o.message, o.evidence, {_CHECK_ORDER_SQL} AS check_order
        FROM a_out o JOIN a_ev e USING (eval_id)
        WHERE $disabled IS NULL OR NOT list_contains(CAST($disabled AS VARCHAR[]), o.code)
        """, keep)  # noqa: S608 (fixed text)
    cur.execute("DROP TABLE a_out")


def _to_frame(cur, sql: str, params=None) -> pd.DataFrame:
    """Through Arrow: several times faster than .df() for a million text rows."""
    return cur.sql(sql, params=params).to_arrow_table().to_pandas()


def audit_store(store, settings: AuditSettings | None = None, year: int | None = None,
                departments: Sequence[str] | str | None = None,
                allowed: Sequence[str] | None = None, *,
                eval_ids: Sequence[int] | None = None, region: str | None = None,
                kind: str | None = None, scope: str | None = None) -> pd.DataFrame:
    """Findings of every current evaluation in scope (:data:`FINDING_COLUMNS`).

    ``departments`` is the user's filter, ``allowed`` the departments the
    viewer may see (None: all); ``region``, ``kind`` and ``scope`` are the
    dashboard's other filters; ``eval_ids`` narrows further (used by
    :func:`audit_evaluation` and the review page). Scores are computed first
    where missing. ``evidence`` is JSON text (:func:`findings_from_frame`
    gives dicts). Order: severity, evaluation, goal, check.
    """
    settings = settings or AuditSettings()
    departments, allowed = _normalise_filters(departments, allowed)
    params = _params(settings, year, departments, allowed, eval_ids,
                     {"region": region, "kind": kind, "scope": scope})
    with _scratch(store) as cur:
        _run(cur, settings, params)
        df = _to_frame(cur, f"""
            SELECT {', '.join(FINDING_COLUMNS)} FROM a_res
            ORDER BY {_SEVERITY_ORDER_SQL}, eval_id, goal_no NULLS FIRST, check_order,
                     indicator NULLS FIRST, message""")
    df["goal_no"] = df["goal_no"].astype("Int64")
    return df


@dataclass
class AuditOverview:
    """What the review page shows before anything is selected, aggregated in DuckDB."""

    table: pd.DataFrame  # REVIEW_COLUMNS, one row per evaluation, largest gap first
    by_code: pd.DataFrame  # code, title, severity, count
    counts: dict[str, int]  # findings per severity
    total: int  # evaluations in scope


REVIEW_COLUMNS = ["eval_id", "department", "year", "scope", "project", "self_score", "total",
                  "gap", "grade", *SEVERITIES]


def audit_overview(store, settings: AuditSettings | None = None, year: int | None = None,
                   departments: Sequence[str] | str | None = None,
                   allowed: Sequence[str] | None = None, *, limit: int | None = 500,
                   region: str | None = None, kind: str | None = None,
                   scope: str | None = None) -> AuditOverview:
    """Per-evaluation scores and finding counts, and counts per check, without
    bringing the findings themselves into pandas. ``limit`` caps the table's
    rows (largest gap first); ``total`` says how many there were."""
    settings = settings or AuditSettings()
    departments, allowed = _normalise_filters(departments, allowed)
    params = _params(settings, year, departments, allowed, None,
                     {"region": region, "kind": kind, "scope": scope})
    sev_cols = ", ".join(f"CAST(coalesce(sum(n) FILTER (WHERE severity = '{s}'), 0) AS BIGINT) "
                         f"AS \"{s}\"" for s in SEVERITIES)
    with _scratch(store) as cur:
        _run(cur, settings, params, detail=False)
        table = _to_frame(cur, f"""
            SELECT e.eval_id, e.department, e.year, e.scope, e.project, e.self_score,
                   e.total, e.gap, e.grade, {', '.join(f'coalesce(c."{s}", 0) AS "{s}"' for s in SEVERITIES)}
            FROM a_ev e LEFT JOIN (SELECT eval_id, {sev_cols} FROM a_res GROUP BY eval_id) c
                 USING (eval_id)
            ORDER BY e.gap DESC NULLS LAST, e.department, e.year, e.scope, e.project
            LIMIT $limit""", {"limit": limit if limit is not None else 2**62})
        by_code = _to_frame(cur, f"""
            SELECT code, {_TITLE_SQL} AS title, severity, CAST(sum(n) AS BIGINT) AS count
            FROM a_res GROUP BY code, severity
            ORDER BY count DESC, {_CHECK_ORDER_SQL}""")
        sev = _to_frame(cur, f"SELECT {sev_cols}, (SELECT count(*) FROM a_ev) AS n FROM a_res")
    for s in SEVERITIES:
        table[s] = table[s].astype("int64")
    row = sev.iloc[0]
    return AuditOverview(table[REVIEW_COLUMNS], by_code,
                         {s: int(row[s]) for s in SEVERITIES}, int(row["n"]))


def findings_from_frame(df: pd.DataFrame) -> list[Finding]:
    def val(x):
        return None if x is None or (not isinstance(x, str) and pd.isna(x)) else x

    return [Finding(code=r.code, severity=r.severity, department=r.department, year=int(r.year),
                    eval_id=int(r.eval_id),
                    goal_no=None if val(r.goal_no) is None else int(r.goal_no),
                    indicator=val(r.indicator), message=r.message,
                    evidence=json.loads(r.evidence) if val(r.evidence) else {},
                    scope=r.scope, project=r.project)
            for r in df.itertuples(index=False)]


def _memory_store(evals: Sequence[Evaluation]):
    from .store import Store

    store = Store(":memory:")
    store.write(list(evals))
    return store


def audit_evaluation(ev: Evaluation, settings: AuditSettings | None = None,
                     previous: Evaluation | None = None) -> list[Finding]:
    """Findings of one evaluation held in memory (a dry run: nothing is stored).

    ``previous`` is the same department's evaluation of the year before
    (for UNMET_REPEATED); any other is ignored, as in the store.
    """
    batch = [ev]
    if previous is not None and previous.key != ev.key:
        batch = [previous, ev]
    store = _memory_store(batch)
    try:
        eval_id = store.current_eval_id(ev.department.name, ev.year, ev.scope, ev.project or "")
        df = audit_store(store, settings, eval_ids=[eval_id])
    finally:
        store.close()
    return findings_from_frame(df)


def summarize(df: pd.DataFrame) -> dict[str, int]:
    """Count of findings per severity (every severity present, zeros included)."""
    counts = df["severity"].value_counts() if len(df) else pd.Series(dtype=int)
    return {s: int(counts.get(s, 0)) for s in SEVERITIES}


def findings_by_code(df: pd.DataFrame) -> pd.DataFrame:
    """code, title, severity, count — for the bar chart, most frequent first."""
    if df.empty:
        return pd.DataFrame({"code": [], "title": [], "severity": [], "count": []})
    out = (df.groupby(["code", "severity"], as_index=False).size()
           .rename(columns={"size": "count"}))
    out["title"] = out["code"].map(lambda c: CHECKS[c].title)
    return out.sort_values(["count", "code"], ascending=[False, True],
                           ignore_index=True)[["code", "title", "severity", "count"]]


def selected_eval_ids(table: pd.DataFrame, selected_rows: Sequence[int]) -> list[int]:
    """eval_ids of the rows a reviewer selected in the overview table (out-of-range rows ignored)."""
    rows = [int(r) for r in selected_rows if 0 <= int(r) < len(table)]
    return [int(x) for x in table.iloc[rows]["eval_id"]] if rows else []


def findings_of(findings: pd.DataFrame, table: pd.DataFrame,
                selected_rows: Sequence[int]) -> pd.DataFrame:
    """The findings of the evaluations at ``selected_rows`` of ``table`` (all if none)."""
    ids = selected_eval_ids(table, selected_rows)
    if not ids:
        return findings
    return findings[findings["eval_id"].isin(ids)].reset_index(drop=True)


FINDING_LABELS = {"severity": "级别", "code": "代码", "title": "检查项", "department": "部门",
                  "year": "年度", "scope": "范围", "project": "项目", "eval_id": "评价编号",
                  "goal_no": "目标", "indicator": "指标", "message": "说明", "evidence": "依据"}
RECTIFICATION_LABELS = {"department": "部门", "year": "年度", "scope": "范围", "project": "项目",
                        "goal_no": "目标", "goal": "目标名称", "indicator": "指标",
                        "target": "目标值", "actual": "实际值", "next_year": "下一年度",
                        "next_actual": "下一年度实际值", "status": "整改情况"}
PROBLEM_LABELS = {"department": "部门", "year": "年度", "scope": "范围", "project": "项目",
                  "problem": "存在的问题", "next_year": "下一年度",
                  "similar_problem": "下一年度相似问题", "similarity": "相似度",
                  "status": "情况"}
EXCEL_MAX_ROWS = 1_048_575  # a worksheet's rows, less the header


def findings_workbook(findings: pd.DataFrame, rectify: pd.DataFrame | None = None,
                      problems: pd.DataFrame | None = None) -> bytes:
    """An .xlsx of the findings (and, when given, rectification and problem follow-up),
    Chinese headers, frozen header row. Text is never read as a formula."""
    import io

    buf = io.BytesIO()
    sheets = [("复核发现", findings, FINDING_LABELS), ("整改跟踪", rectify, RECTIFICATION_LABELS),
              ("问题复现", problems, PROBLEM_LABELS)]
    with pd.ExcelWriter(buf, engine="xlsxwriter",
                        engine_kwargs={"options": {"strings_to_formulas": False,
                                                   "strings_to_urls": False}}) as xw:
        for name, df, labels in sheets:
            if df is None:
                continue
            out = df[[c for c in labels if c in df.columns]].head(EXCEL_MAX_ROWS)
            out = out.rename(columns=labels)
            out.to_excel(xw, sheet_name=name, index=False)
            ws = xw.sheets[name]
            ws.freeze_panes(1, 0)
            for k, col in enumerate(out.columns):
                width = 60 if col in ("说明", "依据", "存在的问题", "下一年度相似问题") else 14
                ws.set_column(k, k, width)
    return buf.getvalue()


# --------------------------------------------------------------------------
# Rectification: year N unmet → year N+1
# --------------------------------------------------------------------------

RECTIFICATION_STATUSES = ("已整改", "仍未完成", "未再设置", "无下年数据", "无法判断")

_RECTIFY_SQL = f"""
WITH u AS (
    SELECT i.*, e.department, e.year, e.scope, e.project
    FROM a_ind i JOIN a_ev e USING (eval_id) WHERE i.met_final = FALSE
), nxt_ev AS (
    SELECT n.eval_id AS next_eval_id, n.department, n.year - 1 AS year, n.scope, n.project
    FROM cur_evaluations n
    WHERE (n.department, n.year - 1, n.scope, n.project) IN
          (SELECT department, year, scope, project FROM u)
), nxt AS (
    SELECT x.next_eval_id, i.ikey, i.actual_text,
           {rules.met_sql('s', 'i')} AS met_final, i.seq
    FROM nxt_ev x JOIN indicators i ON i.eval_id = x.next_eval_id
    LEFT JOIN indicator_scores s ON s.ind_id = i.ind_id AND s.scheme = $scheme
), m AS (
    SELECT next_eval_id, ikey, count(*) AS matches,
           bool_or(met_final = FALSE) AS any_unmet, bool_or(met_final) AS any_met,
           string_agg(coalesce(actual_text, '—'), '；' ORDER BY seq) AS next_actual
    FROM nxt GROUP BY ALL
)
SELECT u.department, u.year, u.scope, u.project, u.goal_no,
       coalesce(u.goal_name, '') AS goal, u.name AS indicator,
       u.target_text AS target, u.actual_text AS actual,
       u.year + 1 AS next_year, m.next_actual,
       CASE WHEN x.next_eval_id IS NULL THEN '无下年数据'
            WHEN m.matches IS NULL THEN '未再设置'
            WHEN m.any_unmet THEN '仍未完成'
            WHEN m.any_met THEN '已整改'
            ELSE '无法判断' END AS status
FROM u LEFT JOIN nxt_ev x USING (department, year, scope, project)
LEFT JOIN m ON m.next_eval_id = x.next_eval_id AND m.ikey = u.ikey
ORDER BY u.department, u.year, u.scope, u.project, u.seq
"""


def rectification(store, settings: AuditSettings | None = None, year: int | None = None,
                  departments: Sequence[str] | str | None = None,
                  allowed: Sequence[str] | None = None, *, region: str | None = None,
                  kind: str | None = None, scope: str | None = None) -> pd.DataFrame:
    """Every indicator unmet in ``year`` (all years if None) and its status in the next year.

    Columns: department, year, scope, project, goal_no, goal, indicator,
    target, actual, next_year, next_actual, status (:data:`RECTIFICATION_STATUSES`).
    """
    settings = settings or AuditSettings()
    departments, allowed = _normalise_filters(departments, allowed)
    params = _params(settings, year, departments, allowed, None,
                     {"region": region, "kind": kind, "scope": scope})
    with _scratch(store) as cur:
        _prepare(cur, params, with_prev=False)
        df = cur.execute(_RECTIFY_SQL, _used(_RECTIFY_SQL, params)).df()
    return df


def rectification_counts(df: pd.DataFrame) -> pd.DataFrame:
    """status, count for every status (zeros included), in the order of RECTIFICATION_STATUSES."""
    counts = df["status"].value_counts() if len(df) else pd.Series(dtype="int64")
    return pd.DataFrame({"status": list(RECTIFICATION_STATUSES),
                         "count": [int(counts.get(s, 0)) for s in RECTIFICATION_STATUSES]})


# -- problem texts -------------------------------------------------------------

_ENUM_RE = re.compile(r"^\s*[（(]?[0-9０-９一二三四五六七八九十]+[)）.、．:：]?\s*")


def text_bigrams(text: str) -> frozenset[str]:
    """Character bigrams of a text without punctuation, spaces, digits or a leading number."""
    t = _ENUM_RE.sub("", unicodedata.normalize("NFKC", str(text)))
    t = "".join(ch for ch in t if ch.isalpha())
    if len(t) < 2:
        return frozenset([t]) if t else frozenset()
    return frozenset(t[k:k + 2] for k in range(len(t) - 1))


def text_similarity(a: str, b: str) -> float:
    """Jaccard index of the two texts' character bigrams, in [0, 1]."""
    x, y = text_bigrams(a), text_bigrams(b)
    if not x or not y:
        return 0.0
    return len(x & y) / len(x | y)


PROBLEM_STATUSES = ("再次出现", "未再出现", "无下年数据")


def problem_followup(store, settings: AuditSettings | None = None, year: int | None = None,
                     departments: Sequence[str] | str | None = None,
                     allowed: Sequence[str] | None = None, *, region: str | None = None,
                     kind: str | None = None, scope: str | None = None) -> pd.DataFrame:
    """Each problem text of ``year`` (all years if None) and its most similar next-year problem.

    Columns: department, year, scope, project, problem, next_year,
    similar_problem, similarity, status (:data:`PROBLEM_STATUSES`).
    """
    settings = settings or AuditSettings()
    departments, allowed = _normalise_filters(departments, allowed)
    cond, params = _where(year, departments, allowed, None,
                          {"region": region, "kind": kind, "scope": scope})
    sql = f"""
        WITH e AS (
            SELECT e.eval_id, e.department, e.year, e.scope, e.project FROM cur_evaluations e
            WHERE {cond}
        )
        SELECT e.department, e.year, e.scope, e.project, f.seq, f.text AS problem,
               n.eval_id IS NOT NULL AS has_next, nf.text AS next_problem
        FROM e JOIN findings f ON f.eval_id = e.eval_id AND f.kind = 'problem'
        LEFT JOIN cur_evaluations n ON n.department = e.department AND n.year = e.year + 1
             AND n.scope = e.scope AND n.project = e.project
        LEFT JOIN findings nf ON nf.eval_id = n.eval_id AND nf.kind = 'problem'"""
    pairs = store.query_df(sql, params)
    keys = ["department", "year", "scope", "project", "seq", "problem"]
    columns = [*keys[:4], "problem", "next_year", "similar_problem", "similarity", "status"]
    if pairs.empty:
        return pd.DataFrame({c: [] for c in columns})
    cache: dict[str, frozenset[str]] = {}

    def grams(t):
        if t not in cache:
            cache[t] = text_bigrams(t)
        return cache[t]

    def sim(a, b) -> float:
        if not isinstance(b, str):
            return 0.0
        x, y = grams(a), grams(b)
        return len(x & y) / len(x | y) if x and y else 0.0

    pairs["similarity"] = [sim(a, b) for a, b in zip(pairs["problem"], pairs["next_problem"],
                                                      strict=True)]
    best = (pairs.sort_values("similarity", ascending=False, kind="stable")
            .drop_duplicates(keys).sort_values(keys, ignore_index=True))
    found = best["similarity"] >= settings.problem_similarity
    best["status"] = "未再出现"
    best.loc[found, "status"] = "再次出现"
    best.loc[~best["has_next"].astype(bool), "status"] = "无下年数据"
    best["similar_problem"] = best["next_problem"].where(found, None)
    best["next_year"] = best["year"] + 1
    best["similarity"] = best["similarity"].round(3)
    return best[columns]


# --------------------------------------------------------------------------
# Bench and command line
# --------------------------------------------------------------------------


def _reset_peak_rss() -> None:
    """Reset this process's VmHWM (Linux), so the peak read after is the audit's."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def _peak_rss() -> int | None:
    try:
        with open("/proc/self/status") as fh:
            m = re.search(r"VmHWM:\s+(\d+)", fh.read())
    except OSError:
        return None
    return int(m.group(1)) * 1024 if m else None


def bench_audit(store, settings: AuditSettings | None = None, *,
                frame_limit: int = 2_000_000) -> dict:
    """Seconds to audit every current evaluation (scores computed beforehand, not timed).

    ``seconds``: every check plus the review page's aggregates, findings kept
    in DuckDB (what the page waits for); ``peak_rss_bytes``: the process's
    peak resident memory during it (Linux; None elsewhere). ``frame_seconds``: the same with all
    findings brought into pandas (:func:`audit_store`, what the CLI prints);
    measured only up to ``frame_limit`` findings, as a province's 10 million
    indicators yield millions of findings no one reads as one frame.
    """
    settings = settings or AuditSettings()
    counts = store.query_df("""
        SELECT count(DISTINCT e.eval_id) AS evaluations, count(i.ind_id) AS indicators
        FROM cur_evaluations e LEFT JOIN indicators i USING (eval_id)""").iloc[0]
    _reset_peak_rss()
    start = time.perf_counter()
    ov = audit_overview(store, settings)
    seconds = time.perf_counter() - start
    peak = _peak_rss()
    n = sum(ov.counts.values())
    out = {"evaluations": int(counts["evaluations"]), "indicators": int(counts["indicators"]),
           "findings": n, **{f"findings_{k}": v for k, v in ov.counts.items()},
           "seconds": round(seconds, 3), "peak_rss_bytes": peak}
    if n <= frame_limit:
        start = time.perf_counter()
        audit_store(store, settings)
        out["frame_seconds"] = round(time.perf_counter() - start, 3)
    return out


__all__ = [
    "AuditSettings", "CHECKS", "Check", "FINDING_COLUMNS", "Finding", "PROBLEM_STATUSES",
    "RECTIFICATION_STATUSES", "SEVERITIES", "audit_evaluation", "audit_store",
    "bench_audit", "audit_overview", "findings_workbook", "selected_eval_ids", "AuditOverview", "REVIEW_COLUMNS", "findings_by_code", "findings_from_frame", "findings_of",
    "problem_followup", "rectification", "rectification_counts", "summarize",
    "text_bigrams", "text_similarity",
]
