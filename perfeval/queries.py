"""Read queries behind the dashboard pages.

Plain functions: ``db`` is anything with ``query_df(sql, params)`` (a
:class:`~perfeval.store.Store`; it takes a cursor per query), ``f`` the
global filters, ``allowed`` the departments the viewer may see (None = all).
Every figure is aggregated in DuckDB; only aggregated or on-screen rows reach
pandas. Only current revisions are read (``cur_evaluations``), and scores come
from the scoring tables (``eval_scores``/``indicator_scores``) under one scheme.
Nothing here builds SQL from user text: values are bound, and the few
identifiers (sort orders, metrics) come from the whitelists below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from . import rules
from .filters import THIS_YEAR, Filters, evaluations_sql, order_sql
from .rules import DEFAULT_SCHEME, GRADE_ORDER

_EXEC_RATE = rules.exec_rate_sql("s")

# Metrics of the trend page: key → (SQL over the per-department-year rows, label).
TREND_METRICS = {
    "total": ("avg(s.total)", "计算得分"),
    "self_score": ("avg(e.self_score)", "自评得分"),
    "exec_rate": (_EXEC_RATE, "预算执行率"),
    "unmet": ("sum(s.unmet_count)", "未完成指标数"),
}

UNMET_ORDERS = {
    "shortfall": "shortfall DESC NULLS LAST, lost DESC, department, goal_no, seq",
    "lost": "lost DESC NULLS LAST, department, goal_no, seq",
    "streak": "department, goal_no, seq",  # re-sorted after the streak is known
    "department": "department, goal_no, seq",
    "latest": "imported_at DESC, shortfall DESC NULLS LAST, department, goal_no, seq",
}

RANK_ORDERS = {
    "low": "total ASC NULLS LAST, department",
    "high": "total DESC NULLS LAST, department",
    "gap": "gap DESC NULLS LAST, department",
    "exec_low": "exec_rate ASC NULLS LAST, department",
    "budget": "budget DESC NULLS LAST, department",
    "name": "department",
}

BUDGET_ORDERS = {"budget": "budget DESC NULLS LAST, department",
                 "exec_low": "exec_rate ASC NULLS LAST, department",
                 "name": "department"}

YOY_ORDERS = {"delta": "total_delta ASC NULLS LAST, department", "name": "department"}

_EVAL_COLUMNS = ("e.eval_id, e.dept_id, e.department, e.region, e.kind, e.year, e.project, "
                 "e.self_score, e.is_demo, e.imported_at")


def _evals(f: Filters, allowed: Sequence[str] | None, years: Sequence[int] | None = THIS_YEAR,
           *, departments: bool = True) -> tuple[str, list]:
    """SELECT of the current evaluations in the filters (alias ``e``)."""
    return evaluations_sql(f, allowed, years=years, departments=departments,
                           columns=_EVAL_COLUMNS)


# -- frame ---------------------------------------------------------------------


def generation(db) -> int:
    """The store's generation, bumped inside every write transaction that
    changes what a page may show: the pages' cache key (Store.generation)."""
    return db.generation()


def has_real_data(db) -> bool:
    """Whether evaluations other than the demo set are current: the ones not
    written by ``perfeval demo`` (which also loads the real sample report)."""
    df = db.query_df("SELECT count(*) AS n FROM evaluations WHERE is_current "
                     "AND NOT is_demo AND coalesce(imported_by, '') <> 'demo'")
    return int(df["n"].iloc[0]) > 0


def filter_options(db, allowed: Sequence[str] | None = None, *,
                   include_demo: bool = True) -> dict[str, list]:
    """Years (latest first), regions, kinds, departments and scopes that have data."""
    cond, params = Filters(scope=None, include_demo=include_demo).where("e", years=None, allowed=allowed)
    df = db.query_df(f"""
        SELECT list(DISTINCT year ORDER BY year DESC) AS years,
               list(DISTINCT region ORDER BY region) FILTER (region IS NOT NULL) AS regions,
               list(DISTINCT kind ORDER BY kind) FILTER (kind IS NOT NULL) AS kinds,
               list(DISTINCT department ORDER BY department) AS departments,
               list(DISTINCT scope ORDER BY scope) AS scopes
        FROM cur_evaluations e WHERE {cond}""", params)  # noqa: S608 (fixed text)
    row = df.iloc[0]
    def plain(v) -> list:
        if v is None or v is pd.NA or isinstance(v, float):
            return []
        return [x.item() if hasattr(x, "item") else x for x in v]

    return {k: plain(row[k]) for k in ("years", "regions", "kinds", "departments", "scopes")}


def has_demo(db, f: Filters, allowed: Sequence[str] | None) -> bool:
    sql, params = _evals(f, allowed, f.years or None)
    df = db.query_df(f"SELECT coalesce(bool_or(is_demo), FALSE) AS d FROM ({sql}) e", params)  # noqa: S608
    return bool(df["d"].iloc[0])


# -- 总览 ------------------------------------------------------------------------


def kpis(db, f: Filters, allowed: Sequence[str] | None) -> dict[int, dict]:
    """Per year (the year and the comparison year): the overview's KPI figures."""
    years = f.years
    if not years:
        return {}
    sql, params = _evals(f, allowed, years)
    grades = ", ".join(f"count(*) FILTER (s.grade = '{g}') AS \"grade_{g}\"" for g in GRADE_ORDER)
    df = db.query_df(f"""
        WITH e AS ({sql})
        SELECT e.year,
               count(DISTINCT e.dept_id) AS departments,
               count(*) AS evaluations,
               sum(s.exec_budget) AS budget,
               sum(s.exec_executed) AS executed,
               {_EXEC_RATE} AS exec_rate,
               avg(s.total) AS avg_total,
               avg(e.self_score) AS avg_self,
               avg(s.gap) AS avg_gap,
               coalesce(sum(s.unmet_count), 0) AS unmet,
               {grades}
        FROM e
        LEFT JOIN eval_scores s ON s.eval_id = e.eval_id AND s.scheme = ?
        GROUP BY e.year""", [*params, f.scheme])  # noqa: S608 (grades from a constant)
    out = {}
    for r in df.to_dict("records"):
        r["grades"] = {g: int(r.pop(f"grade_{g}")) for g in GRADE_ORDER}
        out[int(r.pop("year"))] = {k: (None if pd.isna(v) else v) if not isinstance(v, dict)
                                   else v for k, v in r.items()}
    return out


def department_scores(db, f: Filters, allowed: Sequence[str] | None, *, order: str = "low",
                      limit: int | None = None, year: int | None = None) -> pd.DataFrame:
    """One row per department in ``year`` (default the filter's year): scores,
    execution and unmet counts, sorted by ``order`` (a key of RANK_ORDERS)."""
    year = year if year is not None else f.year
    sql, params = _evals(f, allowed, [year] if year is not None else [])
    lim = f"LIMIT {int(limit)}" if limit else ""
    order_by = order_sql(RANK_ORDERS, order)
    return db.query_df(f"""
        WITH e AS ({sql})
        SELECT e.department, any_value(e.region) AS region, any_value(e.kind) AS kind,
               count(*) AS evaluations,
               avg(s.total) AS total, avg(e.self_score) AS self_score, avg(s.gap) AS gap,
               CASE WHEN count(*) = 1 THEN any_value(s.grade) END AS grade,
               {_EXEC_RATE} AS exec_rate,
               sum(s.exec_budget) AS budget, sum(s.exec_executed) AS executed,
               coalesce(sum(s.unmet_count), 0) AS unmet
        FROM e
        LEFT JOIN eval_scores s ON s.eval_id = e.eval_id AND s.scheme = ?
        GROUP BY e.department
        ORDER BY {order_by} {lim}""", [*params, f.scheme])  # noqa: S608 (whitelist)


def department_count(db, f: Filters, allowed: Sequence[str] | None) -> int:
    sql, params = _evals(f, allowed)
    return int(db.query_df(f"SELECT count(DISTINCT dept_id) AS n FROM ({sql})", params)  # noqa: S608
               ["n"].iloc[0])


# -- 未完成目标 -------------------------------------------------------------------


def _unmet_base(f: Filters, allowed, category: str | None, keyword: str | None,
                recent: int | None = None):
    sql, params = _evals(f, allowed)
    if recent:  # only the most recently imported evaluations
        sql = f"SELECT * FROM ({sql}) ORDER BY imported_at DESC, eval_id DESC LIMIT {int(recent)}"  # noqa: S608 (int only)
    conds = ["TRUE"]
    extra: list = []
    if category:
        conds.append("i.category = ?")
        extra.append(category)
    if keyword:
        conds.append("(contains(i.name, ?) OR contains(coalesce(g.name, ''), ?)"
                     " OR contains(e.department, ?) OR contains(coalesce(i.reason, ''), ?))")
        extra += [keyword] * 4
    # The unmet scores of the chosen evaluations first (indicator_scores carries
    # eval_id), then only those rows join the 10-million-row indicators table.
    ctes = f"""
        WITH e AS ({sql}),
        u AS (SELECT s.ind_id, s.eval_id, s.lost, s.weight, s.score FROM indicator_scores s
              WHERE s.scheme = ? AND {rules.unmet_sql("s")}
                AND s.eval_id IN (SELECT eval_id FROM e))"""  # noqa: S608 (fixed text)
    base = ctes + f"""
        SELECT e.dept_id, e.department, e.year, e.imported_at, e.is_demo, i.goal_no, i.seq,
               g.name AS goal, i.category, i.name AS indicator, i.ikey, i.target_text,
               i.actual_text,
               CASE WHEN i.target_num > 0 AND i.actual_num IS NOT NULL THEN
                    CASE WHEN i.direction = 'reverse'
                         THEN greatest(i.actual_num - i.target_num, 0) / i.target_num
                         ELSE greatest(i.target_num - i.actual_num, 0) / i.target_num END
               END AS shortfall,
               u.lost, u.weight, u.score, i.reason
        FROM u
        JOIN e ON e.eval_id = u.eval_id
        JOIN indicators i ON i.ind_id = u.ind_id
        LEFT JOIN goals g ON g.eval_id = u.eval_id AND g.goal_no = i.goal_no
        WHERE {" AND ".join(conds)}"""  # noqa: S608 (fixed conditions, values bound)
    return base, [*params, f.scheme, *extra], ctes


def unmet_indicators(db, f: Filters, allowed: Sequence[str] | None, *,
                     category: str | None = None, keyword: str | None = None,
                     order: str = "shortfall", limit: int = 500) -> tuple[pd.DataFrame, int]:
    """Unmet indicators of the filter's year (as scored: ``met_computed`` false),
    with the shortfall (share of the target missed; NULL when not numeric), the
    points lost, the department's measures, and ``streak``: how many years in a
    row up to this one the department has had the same indicator unmet.
    Returns (the first ``limit`` rows, the total count). Order ``latest``
    reads only the most recently imported evaluations (at least 20), newest
    first, and counts only those."""
    keyword = (keyword or "").strip() or None
    order_by = order_sql(UNMET_ORDERS, order)
    # "latest" looks at the most recent imports only; its total counts those.
    recent = max(20, limit) if order == "latest" else None
    base, params, ctes = _unmet_base(f, allowed, category, keyword, recent)
    if category or keyword:
        total = int(db.query_df(f"SELECT count(*) AS n FROM ({base})", params)  # noqa: S608
                    ["n"].iloc[0])
    else:  # no indicator text needed: count the scores alone
        total = int(db.query_df(ctes + " SELECT count(*) AS n FROM u", params)  # noqa: S608
                    ["n"].iloc[0])
    if total == 0:
        return pd.DataFrame(columns=UNMET_COLUMNS), 0
    page = db.query_df(f"SELECT * FROM ({base}) ORDER BY {order_by} "  # noqa: S608
                       f"LIMIT {int(limit)}", params)
    # Streaks and measures for the rows on screen only. "The same indicator"
    # across years is the stored rules.indicator_key (as in the audit's UNMET_REPEATED).
    dept_ids = sorted({int(d) for d in page["dept_id"]})
    keys = sorted(set(page["ikey"]))
    runs = db.query_df(f"""
        WITH hist AS (
            SELECT DISTINCT e.dept_id, i.ikey, e.year
            FROM cur_evaluations e
            JOIN indicator_scores s ON s.eval_id = e.eval_id AND s.scheme = ?
            JOIN indicators i ON i.ind_id = s.ind_id
            WHERE e.scope = ? AND e.year <= ? AND {rules.unmet_sql("s")}
              AND list_contains(?::INTEGER[], e.dept_id)
              AND list_contains(?::VARCHAR[], i.ikey)),
        isl AS (SELECT dept_id, ikey, year,
                       year - row_number() OVER (PARTITION BY dept_id, ikey ORDER BY year) AS grp
                FROM hist)
        SELECT dept_id, ikey, count(*) AS streak
        FROM isl GROUP BY dept_id, ikey, grp HAVING max(year) = ?""",  # noqa: S608 (fixed text)
                       [f.scheme, f.scope, f.year, dept_ids, keys, f.year])
    measures = db.query_df("""
        SELECT e.dept_id, string_agg(fd.text, '；' ORDER BY e.eval_id, fd.seq) AS measures
        FROM cur_evaluations e JOIN findings fd ON fd.eval_id = e.eval_id
        WHERE fd.kind = 'measure' AND e.year = ? AND e.scope = ?
          AND list_contains(?::INTEGER[], e.dept_id)
        GROUP BY e.dept_id""", [f.year, f.scope, dept_ids])
    df = (page.merge(runs, on=["dept_id", "ikey"], how="left")
          .merge(measures, on="dept_id", how="left"))
    df["streak"] = df["streak"].fillna(1).astype("int64")
    if order == "streak":
        df = df.sort_values(["streak", "shortfall"], ascending=[False, False],
                            na_position="last", kind="stable")
    return df[UNMET_COLUMNS].reset_index(drop=True), total


UNMET_COLUMNS = ["department", "year", "goal_no", "goal", "category", "indicator", "target_text",
                 "actual_text", "shortfall", "lost", "reason", "measures", "streak", "is_demo"]

UNMET_LABELS = {"department": "部门", "year": "年度", "goal_no": "目标序号", "goal": "年度目标",
                "category": "一级指标", "indicator": "指标", "target_text": "目标值",
                "actual_text": "实际值", "shortfall": "差距", "lost": "失分",
                "reason": "未完成原因", "measures": "改进措施", "streak": "连续未完成年数"}


# -- 预算执行 ---------------------------------------------------------------------


def budget_by_department(db, f: Filters, allowed: Sequence[str] | None, *,
                         order: str = "budget", limit: int | None = None) -> pd.DataFrame:
    """Per department in the year: 总预算, 基本支出, 项目支出 (budget, executed),
    the execution rate and the stated reason for a low one."""
    sql, params = _evals(f, allowed)
    lim = f"LIMIT {int(limit)}" if limit else ""
    order_by = order_sql(BUDGET_ORDERS, order)
    # 总预算 and the rate are the scoring's (its line fallback); parts from the lines.
    return db.query_df(f"""
        WITH e AS ({sql}),
        x AS (SELECT e.department, sum(s.exec_budget) AS budget,
                     sum(s.exec_executed) AS executed, {_EXEC_RATE} AS exec_rate
              FROM e JOIN eval_scores s ON s.eval_id = e.eval_id AND s.scheme = ?
              GROUP BY e.department)
        SELECT e.department, any_value(e.region) AS region, any_value(e.kind) AS kind,
               any_value(x.budget) AS budget, any_value(x.executed) AS executed,
               any_value(x.exec_rate) AS exec_rate,
               sum(b.budget) FILTER (b.line = 'basic') AS basic_budget,
               sum(b.executed) FILTER (b.line = 'basic') AS basic_executed,
               sum(b.budget) FILTER (b.line = 'project') AS project_budget,
               sum(b.executed) FILTER (b.line = 'project') AS project_executed,
               string_agg(DISTINCT b.reason, '；') FILTER (b.reason IS NOT NULL) AS reason
        FROM e JOIN budget_lines b ON b.eval_id = e.eval_id
        LEFT JOIN x ON x.department = e.department
        GROUP BY e.department
        ORDER BY {order_by} {lim}""", [*params, f.scheme])  # noqa: S608 (whitelist)


def budget_totals(db, f: Filters, allowed: Sequence[str] | None) -> dict:
    """Sums over all departments in the year, by budget line. ``total`` is the
    scoring's execution lines (总预算, else 基本+项目, else the funding lines)
    and ``low`` counts its evaluations below rules.LOW_EXEC_RATE."""
    sql, params = _evals(f, allowed)
    df = db.query_df(f"""
        WITH e AS ({sql})
        SELECT b.line, sum(b.budget) AS budget, sum(b.executed) AS executed
        FROM e JOIN budget_lines b ON b.eval_id = e.eval_id
        WHERE b.line <> 'total'
        GROUP BY b.line
        UNION ALL
        SELECT 'total', sum(s.exec_budget) FILTER (s.exec_rate IS NOT NULL),
               sum(s.exec_executed) FILTER (s.exec_rate IS NOT NULL)
        FROM e JOIN eval_scores s ON s.eval_id = e.eval_id AND s.scheme = ?""",  # noqa: S608
                     [*params, f.scheme])
    out = {r["line"]: r for r in df.to_dict("records")}
    low = db.query_df(f"""
        WITH e AS ({sql})
        SELECT count(*) AS n FROM e JOIN eval_scores s ON s.eval_id = e.eval_id AND s.scheme = ?
        WHERE s.exec_rate < ?""", [*params, f.scheme, rules.LOW_EXEC_RATE])  # noqa: S608
    out["total"]["low"] = int(low["n"].iloc[0])
    return out


def exec_heatmap(db, f: Filters, allowed: Sequence[str] | None, *,
                 limit: int = 30) -> pd.DataFrame:
    """Execution rate per department × year (all years), for the ``limit``
    departments with the lowest rate in the filter's year."""
    sql_y, params_y = _evals(f, allowed)
    sql_all, params_all = _evals(f, allowed, None)
    return db.query_df(f"""
        WITH pick AS (
            SELECT e.dept_id FROM ({sql_y}) e
            JOIN eval_scores s ON s.eval_id = e.eval_id AND s.scheme = ?
            WHERE s.exec_rate IS NOT NULL
            GROUP BY e.dept_id
            ORDER BY {_EXEC_RATE} ASC NULLS LAST, e.dept_id
            LIMIT {int(limit)}),
        e AS ({sql_all})
        SELECT e.department, e.year, {_EXEC_RATE} AS exec_rate
        FROM e JOIN eval_scores s ON s.eval_id = e.eval_id AND s.scheme = ?
        WHERE e.dept_id IN (SELECT dept_id FROM pick) AND s.exec_rate IS NOT NULL
        GROUP BY e.department, e.year
        ORDER BY e.department, e.year""",  # noqa: S608
                       [*params_y, f.scheme, *params_all, f.scheme])


# -- 趋势对比 ---------------------------------------------------------------------


def trends(db, f: Filters, allowed: Sequence[str] | None,
           departments: Sequence[str] | None = None) -> pd.DataFrame:
    """Per department and year (every year): the four trend metrics. Without
    ``departments``: one line, 全部（平均）, over every department in the filters."""
    sql, params = _evals(f, allowed, None)
    group = "e.department"
    if departments:
        sql += " AND list_contains(?::VARCHAR[], e.department)"
        params = [*params, list(departments)]
    else:
        group = "'全部（平均）'"
    metrics = ", ".join(f"{expr} AS {key}" for key, (expr, _) in TREND_METRICS.items())
    return db.query_df(f"""
        WITH e AS ({sql})
        SELECT {group} AS department, e.year, {metrics}
        FROM e
        LEFT JOIN eval_scores s ON s.eval_id = e.eval_id AND s.scheme = ?
        GROUP BY ALL ORDER BY department, e.year""", [*params, f.scheme])  # noqa: S608


def year_over_year(db, f: Filters, allowed: Sequence[str] | None, *,
                   order: str = "delta", limit: int | None = 200) -> pd.DataFrame:
    """Per department: score, self-score, execution rate and unmet count in the
    year and the comparison year, with the changes."""
    sql, params = _evals(f, allowed, f.years)
    lim = f"LIMIT {int(limit)}" if limit else ""
    order_by = order_sql(YOY_ORDERS, order)
    return db.query_df(f"""
        WITH e AS ({sql}),
        d AS (
            SELECT e.department, e.year, avg(s.total) AS total, avg(e.self_score) AS self_score,
                   {_EXEC_RATE} AS exec_rate,
                   coalesce(sum(s.unmet_count), 0) AS unmet
            FROM e
            LEFT JOIN eval_scores s ON s.eval_id = e.eval_id AND s.scheme = ?
            GROUP BY ALL)
        SELECT coalesce(c.department, p.department) AS department,
               c.total, p.total AS total_prev, c.total - p.total AS total_delta,
               c.self_score, p.self_score AS self_prev, c.self_score - p.self_score AS self_delta,
               c.exec_rate, p.exec_rate AS exec_prev, c.exec_rate - p.exec_rate AS exec_delta,
               c.unmet, p.unmet AS unmet_prev, c.unmet - p.unmet AS unmet_delta
        FROM (SELECT * FROM d WHERE year = ?) c
        FULL JOIN (SELECT * FROM d WHERE year = ?) p USING (department)
        ORDER BY {order_by} {lim}""", [*params, f.scheme, f.year, f.compare_year])  # noqa: S608


def kind_medians(db, f: Filters, allowed: Sequence[str] | None,
                 departments: Sequence[str] | None = None, *, limit: int = 30) -> pd.DataFrame:
    """Each department's score in the year against the median of its kind
    (median over every visible department of that kind, whatever the
    department filter). Without ``departments``: the ``limit`` furthest below."""
    # Every kind and department: the medians do not depend on those filters.
    sql, params = _evals(replace(f, kind=None), allowed, departments=False)
    pick, pick_params = "", []
    chosen = list(departments or f.departments)
    if chosen:
        pick, pick_params = "WHERE list_contains(?::VARCHAR[], department)", [chosen]
    return db.query_df(f"""
        WITH e AS ({sql}),
        d AS (SELECT e.department, any_value(e.kind) AS kind, avg(s.total) AS total
              FROM e JOIN eval_scores s ON s.eval_id = e.eval_id AND s.scheme = ?
              GROUP BY e.department),
        m AS (SELECT department, coalesce(kind, '未分类') AS kind, total,
                     median(total) OVER (PARTITION BY kind) AS kind_median,
                     count(*) OVER (PARTITION BY kind) AS kind_count
              FROM d)
        SELECT *, total - kind_median AS vs_median FROM m {pick}
        ORDER BY vs_median ASC NULLS LAST, department LIMIT {int(limit)}""",  # noqa: S608
        [*params, f.scheme, *pick_params])


# -- 部门画像 ---------------------------------------------------------------------


def department_evaluations(db, f: Filters, allowed: Sequence[str] | None,
                           department: str) -> pd.DataFrame:
    """The department's current evaluations in the scope (every year), newest first."""
    if allowed is not None and department not in allowed:
        return pd.DataFrame(columns=["eval_id", "year", "project", "is_demo"])
    return db.query_df("""
        SELECT eval_id, year, project, is_demo FROM cur_evaluations
        WHERE department = ? AND scope = ? ORDER BY year DESC, project""",
                       [department, f.scope])


def evaluation_card(db, eval_id: int, scheme: str = DEFAULT_SCHEME) -> dict | None:
    df = db.query_df("""
        SELECT e.department, e.region, e.kind, e.year, e.scope, e.project, e.is_demo,
               e.source_name, e.imported_at, e.revision, s.*
        FROM cur_evaluations e JOIN eval_scores s ON s.eval_id = e.eval_id AND s.scheme = ?
        WHERE e.eval_id = ?""", [scheme, int(eval_id)])
    if df.empty:
        return None
    return {k: (None if not isinstance(v, str) and pd.isna(v) else v)
            for k, v in df.iloc[0].to_dict().items()}


def evaluation_budget(db, eval_id: int) -> pd.DataFrame:
    return db.query_df("""
        SELECT line, budget, executed, executed / nullif(budget, 0) AS exec_rate, reason
        FROM budget_lines WHERE eval_id = ?
        ORDER BY list_position(['total', 'basic', 'project', 'fiscal', 'carryover', 'other'],
                               line)""", [int(eval_id)])


def evaluation_indicators(db, eval_id: int, scheme: str = DEFAULT_SCHEME) -> pd.DataFrame:
    """Goals with their indicators, scores and status (one row per indicator)."""
    return db.query_df("""
        SELECT i.goal_no, g.name AS goal, i.category, i.subcategory, i.name AS indicator,
               i.target_text, i.actual_text, s.weight, s.score, s.lost, s.met_computed,
               s.over_achieved, i.reason
        FROM indicators i
        LEFT JOIN goals g ON g.eval_id = i.eval_id AND g.goal_no = i.goal_no
        LEFT JOIN indicator_scores s ON s.ind_id = i.ind_id AND s.scheme = ?
        WHERE i.eval_id = ? ORDER BY i.goal_no, i.seq""", [scheme, int(eval_id)])


def evaluation_findings(db, eval_id: int) -> pd.DataFrame:
    return db.query_df("SELECT kind, seq, text FROM findings WHERE eval_id = ? ORDER BY kind, seq",
                       [int(eval_id)])


def score_history(db, f: Filters, department: str, project: str = "") -> pd.DataFrame:
    return db.query_df("""
        SELECT e.year, s.total, e.self_score, s.exec_rate, s.unmet_count, s.grade
        FROM cur_evaluations e JOIN eval_scores s ON s.eval_id = e.eval_id AND s.scheme = ?
        WHERE e.department = ? AND e.scope = ? AND e.project = ?
        ORDER BY e.year""", [f.scheme, department, f.scope, project])


def evaluation_explanation(db, eval_id: int, scheme: str = DEFAULT_SCHEME):
    """(maximum, total, points lost) of one evaluation, from the scoring
    explanation (scoring.explain_stored)."""
    from .scoring import explain_stored

    es, lost = explain_stored(db, int(eval_id), scheme)
    return es.max_score, es.total, lost


def waterfall_steps(max_score: float, total: float, lost_points) -> pd.DataFrame:
    """Steps of the "where the points went" waterfall: the maximum, the points
    lost per part (预算执行, 产出, 效益, 满意度; from the scoring explanation),
    and the total. ``lost_points`` are scoring.LostPoint items."""
    parts: dict[str, float] = {}
    for p in lost_points:
        label = "预算执行" if p.kind == "execution" else f"{p.category or '其他'}指标"
        parts[label] = parts.get(label, 0.0) + float(p.lost)
    rows = [("满分", float(max_score), "absolute")]
    order = ["预算执行", "产出指标", "效益指标", "满意度指标"]
    for label in sorted(parts, key=lambda x: (order.index(x) if x in order else 9, x)):
        rows.append((label, -parts[label], "relative"))
    rows.append(("计算得分", float(total), "total"))
    return pd.DataFrame(rows, columns=["step", "value", "measure"])
