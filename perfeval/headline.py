"""The headline of 总览: a few sentences, written from the data, saying what
needs action in the current filters, each with the page that shows it.

Plain data, no Streamlit: :func:`headline` returns :class:`Sentence` items
(text, target page, the page's own URL parameters); the page adds the global
filters to each link and shows the text as plain text (department names are
data, never Markdown). Every threshold comes from :mod:`perfeval.rules`.

Counts are per evaluation, as on the KPI cards (for 部门整体 that is one per
department); the unit word follows the scope. "Unmet two years running" is
the same indicator name of the same department unmet (as scored,
``met_computed`` false) in the year and the year before, as the 未完成目标
page's 连续未完成 column counts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from . import rules
from .coverage import coverage
from .queries import Filters, _evals

BUDGET_PAGE = "pages/budget.py"
REVIEW_PAGE = "pages/review.py"
PROFILE_PAGE = "pages/profile.py"
UNMET_PAGE = "pages/unmet.py"
DATA_PAGE = "pages/data.py"

# Grades that need action: those below 良 (the bands of rules.GRADE_BANDS).
GOOD_GRADES = rules.GRADE_ORDER[:2]  # 优 良
WEAK_GRADES = rules.GRADE_ORDER[2:]  # 中 差
NAMES_SHOWN = 3  # names listed in the coverage sentence before "等"


@dataclass(frozen=True)
class Sentence:
    topic: str  # exec | gap | grade | unmet | coverage
    text: str  # plain text (may hold department names)
    page: str | None  # the page that shows it (a pages/ path)
    label: str  # the link's text
    params: dict[str, str] = field(default_factory=dict)  # the page's own URL parameters
    action: bool = True  # False: an all-clear sentence
    count: int = 0  # how many things need action


def _unit(f: Filters) -> str:
    return "个部门" if f.scope == "部门整体" else "个评价"


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _figures(db, f: Filters, allowed: Sequence[str] | None) -> dict:
    """Per-evaluation figures of the year, aggregated in one query. Worst
    cases are picked with the department name as tie-break (deterministic)."""
    sql, params = _evals(f, allowed, [f.year])
    weak = list(WEAK_GRADES)
    df = db.query_df(f"""
        WITH e AS ({sql}),
        x AS (SELECT e.department, b.executed / nullif(b.budget, 0) AS exec_rate,
                     s.gap, s.total, s.grade
              FROM e
              LEFT JOIN eval_scores s ON s.eval_id = e.eval_id AND s.scheme = ?
              LEFT JOIN budget_lines b ON b.eval_id = e.eval_id AND b.line = 'total')
        SELECT count(*) AS n, count(exec_rate) AS exec_known, count(gap) AS gap_known,
               count(*) FILTER (exec_rate < ?) AS low_n,
               arg_min(department, {{'r': exec_rate, 'd': department}}) FILTER (exec_rate < ?)
                   AS low_dept,
               min(exec_rate) AS low_rate,
               count(*) FILTER (gap > ?) AS gap_n,
               arg_min(department, {{'g': -gap, 'd': department}}) FILTER (gap > ?) AS gap_dept,
               max(gap) AS gap_max,
               count(*) FILTER (grade IS NOT NULL) AS graded,
               arg_min(department, {{'t': total, 'd': department}})
                   FILTER (list_contains(?::VARCHAR[], grade)) AS weak_dept,
               min(total) FILTER (list_contains(?::VARCHAR[], grade)) AS weak_total,
               arg_min(grade, {{'t': total, 'd': department}})
                   FILTER (list_contains(?::VARCHAR[], grade)) AS weak_grade,
               list(grade) FILTER (list_contains(?::VARCHAR[], grade)) AS weak_list
        FROM x""", [*params, f.scheme, rules.LOW_EXEC_RATE, rules.LOW_EXEC_RATE,  # noqa: S608
                    rules.SCORE_GAP_WARN, rules.SCORE_GAP_WARN, weak, weak, weak, weak])
    row = df.iloc[0].to_dict()
    weak_list = row.pop("weak_list")
    row["weak_counts"] = {g: int(sum(1 for x in (weak_list if weak_list is not None else [])
                                     if x == g)) for g in WEAK_GRADES}
    return row


def _unmet(db, f: Filters, allowed: Sequence[str] | None) -> tuple[int, int, bool]:
    """(unmet indicators in the year, of those unmet the year before too,
    whether the year before has evaluations in the filters)."""
    sql, params = _evals(f, allowed, [f.year - 1, f.year])
    df = db.query_df(f"""
        WITH e AS ({sql}),
        u AS (SELECT e.dept_id, e.year, i.name
              FROM indicator_scores s
              JOIN e ON e.eval_id = s.eval_id
              JOIN indicators i ON i.ind_id = s.ind_id
              WHERE s.scheme = ? AND s.met_computed = FALSE),
        prev AS (SELECT DISTINCT dept_id, name FROM u WHERE year = ?)
        SELECT count(*) FILTER (u.year = ?) AS n,
               count(*) FILTER (u.year = ? AND p.dept_id IS NOT NULL) AS repeated,
               (SELECT count(*) FROM e WHERE e.year = ?) AS prev_evals
        FROM u LEFT JOIN prev p ON p.dept_id = u.dept_id AND p.name = u.name""",  # noqa: S608
                     [*params, f.scheme, f.year - 1, f.year, f.year, f.year - 1])
    r = df.iloc[0]
    return int(r["n"]), int(r["repeated"]), int(r["prev_evals"]) > 0


def headline(db, f: Filters, allowed: Sequence[str] | None) -> list[Sentence]:
    """The sentences for the year of ``f``: those that need action first (in
    the order execution, self-score gap, grades, unmet indicators,
    submissions), then the all-clear ones. Empty without a year or data."""
    if f.year is None:
        return []
    x = _figures(db, f, allowed)
    if not int(x["n"]):
        return []
    unit = _unit(f)
    low_line = rules.pct_text(rules.LOW_EXEC_RATE)
    out: list[Sentence] = []

    n = int(x["low_n"])
    if int(x["exec_known"]):
        out.append(Sentence(
            "exec",
            f"{n:,} {unit}预算执行率低于 {low_line}，最低的是{x['low_dept']}（{_pct(x['low_rate'])}）。"
            if n else f"所有{unit[1:]}的预算执行率都不低于 {low_line}。",
            BUDGET_PAGE, "查看预算执行", action=bool(n), count=n))

    n = int(x["gap_n"])
    gap = f"{rules.SCORE_GAP_WARN:g} 分"
    if int(x["gap_known"]):
        out.append(Sentence(
            "gap",
            f"{n:,} {unit}的自评得分比计算得分高出 {gap}以上，最多的是{x['gap_dept']}"
            f"（高 {x['gap_max']:.2f} 分）。" if n else
            f"没有自评得分比计算得分高出 {gap}以上的{unit[1:]}。",
            REVIEW_PAGE, "查看评分复核", action=bool(n), count=n))

    counts = x["weak_counts"]
    n = sum(counts.values())
    if n:
        parts = "、".join(f"{g} {c} 个" for g, c in counts.items() if c)
        dept = x["weak_dept"]
        out.append(Sentence(
            "grade",
            f"{n:,} {unit}的计算得分等级为{'或'.join(WEAK_GRADES)}（{parts}），最低的是{dept}"
            f"（{x['weak_total']:.2f} 分，{x['weak_grade']}）。",
            PROFILE_PAGE, "查看部门画像", {"dept": dept}, count=n))
    elif int(x["graded"]):
        out.append(Sentence("grade", f"所有{unit[1:]}的计算得分等级都为{'或'.join(GOOD_GRADES)}。",
                            None, "", action=False))

    unmet, repeated, has_prev = _unmet(db, f, allowed)
    if unmet:
        if not has_prev:
            tail = f"无 {f.year - 1} 年度数据，无法判断是否连续未完成"
        elif repeated:
            tail = f"其中 {repeated:,} 个在 {f.year - 1} 年度也未完成"
        else:
            tail = f"其中没有 {f.year - 1} 年度也未完成的"
        out.append(Sentence("unmet", f"{unmet:,} 个绩效指标未完成，{tail}。", UNMET_PAGE,
                            "查看未完成目标", count=unmet))
    else:
        out.append(Sentence("unmet", "所有绩效指标都已完成。", None, "", action=False))

    cov = coverage(db, f, allowed)
    if cov is not None and has_prev:
        missing = list(cov.missing)
        if missing:
            names = "、".join(missing[:NAMES_SHOWN]) + ("等" if len(missing) > NAMES_SHOWN else "")
            out.append(Sentence(
                "coverage",
                f"{f.year - 1} 年度参评的单位中，{len(missing):,} 个尚未提交 {f.year} 年度自评：{names}。",
                DATA_PAGE, "查看数据管理", count=len(missing)))
        else:
            out.append(Sentence("coverage",
                                f"{f.year - 1} 年度参评的单位都已提交 {f.year} 年度自评。",
                                None, "", action=False))
    return [s for s in out if s.action] + [s for s in out if not s.action]
