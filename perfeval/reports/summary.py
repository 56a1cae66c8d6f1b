"""The finance bureau's annual summary of all units' self-evaluations.

Every figure comes from the dashboard's own functions with the same
:class:`~perfeval.queries.Filters` (``queries.kpis``, ``department_scores``,
``budget_by_department``, ``unmet_indicators``, ``trends``; the audit's
``audit_overview`` and ``rectification``; ``coverage.coverage``), so the
report and the pages agree (tests/test_reports_summary.py compares them).
The long lists are cut at :data:`LIST_ROWS` rows, and the report says so.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from .. import queries, rules
from ..audit import AuditSettings, audit_overview, rectification, rectification_counts
from ..coverage import coverage
from ..queries import Filters, _evals
from . import charts
from .doc import Doc, num, pct, score

LIST_ROWS = 100  # rows of a long list (unmet indicators, rectification) in the report
RANK_CHART_ROWS = 20  # departments in the ranking chart
GAP_ROWS = 10  # largest self-score gaps listed
PROBLEM_TEXTS = 5  # most frequent problem texts per kind


def _ok(v) -> bool:
    return v is not None and not (isinstance(v, float) and v != v) and v is not pd.NA


def _s(v) -> str:
    return score(v) if _ok(v) else "—"


def _cut_note(doc: Doc, shown: int, total: int, what: str) -> None:
    if total > shown:
        doc.note(f"（{what}共 {total:,} 条，此处列出前 {shown} 条；完整清单可在看板相应页面下载 Excel。）")


def summary_data(store, f: Filters, allowed: Sequence[str] | None = None) -> dict:
    """Every table and figure of the summary, straight from the dashboard's queries."""
    settings = AuditSettings(scheme=f.scheme)
    depts = list(f.departments) or None
    filt = {"region": f.region, "kind": f.kind, "scope": f.scope}
    unmet, unmet_total = queries.unmet_indicators(store, f, allowed, order="shortfall",
                                                  limit=max(LIST_ROWS, 1))
    if unmet_total > len(unmet):  # the two-year list needs every unmet row's streak
        unmet_all, _ = queries.unmet_indicators(store, f, allowed, order="shortfall",
                                                limit=unmet_total)
    else:
        unmet_all = unmet
    prev = int(f.year) - 1
    return {
        "coverage": coverage(store, f, allowed),
        "kpis": queries.kpis(store, f, allowed).get(f.year, {}),
        "scores": queries.department_scores(store, f, allowed, order="low"),
        "rank_low": queries.department_scores(store, f, allowed, order="low",
                                              limit=RANK_CHART_ROWS),
        "gaps": queries.department_scores(store, f, allowed, order="gap", limit=GAP_ROWS),
        "budget": queries.budget_by_department(store, f, allowed, order="exec_low"),
        "budget_totals": queries.budget_totals(store, f, allowed),
        "unmet": unmet, "unmet_total": unmet_total,
        "repeated": unmet_all[unmet_all["streak"] >= 2].reset_index(drop=True),
        "audit": audit_overview(store, settings, f.year, depts, allowed, limit=1, **filt),
        "problems": _problems_by_kind(store, f, allowed),
        "rectify": rectification(store, settings, prev, depts, allowed, **filt),
        "trend": queries.trends(store, f, allowed),
    }


def _problems_by_kind(store, f: Filters, allowed) -> pd.DataFrame:
    """kind, text, count: the units' own 存在的问题 of the year, most frequent first."""
    sql, params = _evals(f, allowed, [f.year])
    return store.query_df(f"""
        WITH e AS ({sql})
        SELECT coalesce(e.kind, '未分类') AS kind, fd.text, count(DISTINCT e.dept_id) AS units
        FROM e JOIN findings fd ON fd.eval_id = e.eval_id AND fd.kind = 'problem'
        GROUP BY ALL ORDER BY kind, units DESC, fd.text""", params)  # noqa: S608 (fixed filter SQL)


def summary_report(store, f: Filters, allowed: Sequence[str] | None = None, *,
                   source: str | None = None) -> Doc:
    if f.year is None:
        from ..model import PerfevalError

        raise PerfevalError("汇总报告需要选择年度")
    start = time.perf_counter()
    d = summary_data(store, f, allowed)
    return build(f, d, source=source or str(getattr(store, "path", "数据库")),
                 seconds=time.perf_counter() - start)


def build(f: Filters, d: dict, *, source: str, seconds: float | None = None) -> Doc:
    year = int(f.year)
    where = "".join(x for x in (f.region, f.kind) if x)
    doc = Doc(title=f"{year} 年度{where}预算绩效自评汇总报告")
    doc.add_title(doc.title)
    doc.subtitle(f"{f.scope}绩效自评结果汇总")
    k = d["kpis"]
    doc.heading("筛选条件与数据来源", 2)
    rows = [[name, value] for name, value in f.describe()]
    rows += [["数据来源", source],
             ["生成时间", datetime.now().strftime("%Y-%m-%d %H:%M")],
             ["参评部门", f"{int(k.get('departments') or 0):,} 个"],
             ["评价份数", f"{int(k.get('evaluations') or 0):,} 份"],
             ["等级划分", rules.grade_help()]]
    doc.table(["项目", "内容"], rows)
    if bool(d["scores"]["department"].astype(str).str.endswith("（演示）").any()):
        doc.note("注意：数据中含演示数据（名称带“（演示）”的部门），不是真实单位的数据。")

    _coverage(doc, d["coverage"])
    _scores(doc, d, k)
    _gaps(doc, d, k)
    _budget(doc, d, k)
    _unmet(doc, d)
    _problems(doc, d)
    _rectify(doc, d, year)
    _trend(doc, d)
    _appendix(doc, d)
    if seconds is not None:
        doc.note(f"本报告的数据查询用时 {seconds:.1f} 秒。")
    return doc


def _coverage(doc: Doc, cov) -> None:
    doc.heading("一、自评覆盖情况", 1)
    if cov is None or not cov.expected:
        doc.para("没有应参评单位的数据。")
        return
    doc.para(f"应参评单位 {len(cov.expected):,} 个（依据：{cov.source}），已提交自评 "
             f"{len(cov.submitted):,} 个，未提交 {len(cov.missing):,} 个，覆盖率 {pct(cov.rate)}。")
    doc.table(["应参评单位", "已提交", "未提交", "覆盖率"],
              [[f"{len(cov.expected):,}", f"{len(cov.submitted):,}", f"{len(cov.missing):,}",
                pct(cov.rate)]])
    if cov.missing:
        doc.heading("未提交自评的单位", 3)
        doc.table(["序号", "单位", "主管部门"],
                  [[str(n), u, cov.parent_of(u) or ""] for n, u in enumerate(cov.missing, 1)])


def _scores(doc: Doc, d: dict, k: dict) -> None:
    doc.heading("二、得分与等级分布", 1)
    grades = k.get("grades") or {}
    n = sum(grades.values()) if grades else 0
    doc.para(f"参评 {int(k.get('evaluations') or 0):,} 份评价的平均计算得分 {_s(k.get('avg_total'))} 分，"
             f"平均自评得分 {_s(k.get('avg_self'))} 分。等级分布："
             + "，".join(f"{g} {int(grades.get(g, 0))} 个" for g in rules.GRADE_ORDER) + "。")
    doc.table(["等级", "分数段", "评价数", "占比"],
              [[g, band, f"{int(grades.get(g, 0))}",
                pct(grades.get(g, 0) / n) if n else "—"]
               for g, band in zip(rules.GRADE_ORDER, _bands(), strict=True)])
    doc.image(charts.grades(grades, f"等级分布（共 {n} 份评价）"), 11, "图 1 等级分布")
    low = d["rank_low"]
    if not low.empty:
        doc.image(charts.ranking(low, f"计算得分最低的 {len(low)} 个部门"), 15,
                  "图 2 计算得分排名（条形为计算得分，颜色表示等级，◆ 为自评得分；各部门得分见附表 1）")


def _bands() -> list[str]:
    out = []
    upper = None
    for cut, _ in rules.GRADE_BANDS:
        out.append(f"[{cut:g}, {upper:g})" if upper is not None else f"[{cut:g}, 100]")
        upper = cut
    return out


def _gaps(doc: Doc, d: dict, k: dict) -> None:
    doc.heading("三、计算得分与自评得分", 1)
    scores = d["scores"]
    has = scores["gap"].notna()
    high = int((scores["gap"] > rules.SCORE_GAP_WARN).sum())
    doc.para(f"有自评得分的部门 {int(has.sum()):,} 个，自评得分平均比计算得分高 "
             f"{_s(k.get('avg_gap'))} 分；自评得分高出计算得分 {rules.SCORE_GAP_WARN:g} 分以上"
             f"（自评分虚高）的部门 {high:,} 个。")
    gaps = d["gaps"][d["gaps"]["gap"].notna()]
    if not gaps.empty:
        doc.heading(f"差额最大的 {len(gaps)} 个部门", 3)
        doc.table(["序号", "部门", "自评得分", "计算得分", "差额"],
                  [[str(i), r.department, _s(r.self_score), _s(r.total), _s(r.gap)]
                   for i, r in enumerate(gaps.itertuples(index=False), 1)])


def _budget(doc: Doc, d: dict, k: dict) -> None:
    doc.heading("四、预算执行情况", 1)
    totals = d["budget_totals"]
    doc.para(f"参评部门全年预算数合计 {num(k.get('budget'))} 万元，全年执行数合计 "
             f"{num(k.get('executed'))} 万元，预算执行率 {pct(k.get('exec_rate'))}。")
    labels = {"total": "总预算", "basic": "基本支出", "project": "项目支出"}
    rows = [[label, num(totals[line]["budget"]), num(totals[line]["executed"]),
             pct(totals[line]["executed"] / totals[line]["budget"])
             if totals[line]["budget"] else "—"]
            for line, label in labels.items() if line in totals]
    if rows:
        doc.table(["预算", "全年预算数（万元）", "全年执行数（万元）", "执行率"], rows)
    doc.image(charts.exec_vs_score(d["scores"], "预算执行率与计算得分"), 15,
              "图 3 预算执行率与计算得分（每点一个部门）")
    b = d["budget"]
    low = b[b["exec_rate"] < rules.LOW_EXEC_RATE]
    limit = rules.pct_text(rules.LOW_EXEC_RATE)
    doc.heading(f"执行率低于 {limit} 的部门（{len(low)} 个）", 3)
    if low.empty:
        doc.para(f"没有执行率低于 {limit} 的部门。")
    else:
        doc.table(["序号", "部门", "全年预算数（万元）", "全年执行数（万元）", "执行率", "原因"],
                  [[str(i), r.department, num(r.budget), num(r.executed), pct(r.exec_rate),
                    r.reason if isinstance(r.reason, str) else "未说明原因"]
                   for i, r in enumerate(low.itertuples(index=False), 1)])


def _unmet_rows(df: pd.DataFrame) -> list[list[str]]:
    return [[str(i), r.department, r.goal if isinstance(r.goal, str) else "", r.indicator,
             r.target_text or "", r.actual_text or "",
             pct(r.shortfall, 1) if _ok(r.shortfall) else "—",
             r.reason if isinstance(r.reason, str) else "未说明原因", str(int(r.streak))]
            for i, r in enumerate(df.itertuples(index=False), 1)]


UNMET_HEADERS = ["序号", "部门", "年度目标", "指标", "目标值", "实际值", "差距", "未完成原因",
                 "连续未完成年数"]


def _unmet(doc: Doc, d: dict) -> None:
    doc.heading("五、未完成的绩效指标", 1)
    total, rep = d["unmet_total"], d["repeated"]
    doc.para(f"按评分规则判定未完成的指标共 {total:,} 个，其中连续两年及以上未完成的 {len(rep):,} 个。")
    if total:
        shown = d["unmet"].head(LIST_ROWS)
        doc.heading("未完成指标（按差距从大到小）", 3)
        doc.table(UNMET_HEADERS, _unmet_rows(shown))
        _cut_note(doc, len(shown), total, "未完成指标")
    if len(rep):
        shown = rep.sort_values(["streak", "department"], ascending=[False, True],
                                kind="stable").head(LIST_ROWS)
        doc.heading("连续两年及以上未完成的指标", 3)
        doc.table(UNMET_HEADERS, _unmet_rows(shown))
        _cut_note(doc, len(shown), len(rep), "连续未完成指标")


def _problems(doc: Doc, d: dict) -> None:
    doc.heading("六、存在的问题", 1)
    a = d["audit"]
    doc.heading("（一）复核发现的问题（按检查项）", 2)
    doc.para(f"按复核规则检查 {a.total:,} 份评价，发现错误 {a.counts.get('错误', 0):,} 条、"
             f"警告 {a.counts.get('警告', 0):,} 条、提示 {a.counts.get('提示', 0):,} 条。")
    if not a.by_code.empty:
        doc.table(["检查项", "级别", "条数"],
                  [[r.title, r.severity, f"{int(r.count):,}"]
                   for r in a.by_code.itertuples(index=False)])
    p = d["problems"]
    doc.heading("（二）单位自述的问题（按部门类别）", 2)
    if p.empty:
        doc.para("参评单位的报告中没有填写存在的问题。")
        return
    for kind, group in p.groupby("kind", sort=True):
        doc.para(f"{kind}：单位填写的问题 {len(group):,} 种（按相同文字计），"
                 f"提出单位最多的 {min(len(group), PROBLEM_TEXTS)} 种如下。")
        doc.table(["问题", "提出的单位数"],
                  [[r.text, str(int(r.units))]
                   for r in group.head(PROBLEM_TEXTS).itertuples(index=False)])


def _rectify(doc: Doc, d: dict, year: int) -> None:
    doc.heading("七、上年度未完成指标的整改情况", 1)
    r = d["rectify"]
    counts = rectification_counts(r)
    doc.para(f"{year - 1} 年度未完成的指标共 {len(r):,} 个，在 {year} 年度的情况："
             + "，".join(f"{c.status} {int(c.count):,} 个" for c in counts.itertuples()) + "。")
    doc.table(["整改情况", "指标数"],
              [[c.status, f"{int(c.count):,}"] for c in counts.itertuples()])
    if len(r):
        shown = r.head(LIST_ROWS)
        doc.table(["序号", "部门", "指标", f"{year - 1} 年目标值", f"{year - 1} 年实际值",
                   f"{year} 年实际值", "整改情况"],
                  [[str(i), x.department, x.indicator, x.target or "", x.actual or "",
                    x.next_actual if isinstance(x.next_actual, str) else "", x.status]
                   for i, x in enumerate(shown.itertuples(index=False), 1)])
        _cut_note(doc, len(shown), len(r), "上年度未完成指标")


def _trend(doc: Doc, d: dict) -> None:
    doc.heading("八、历年趋势", 1)
    t = d["trend"]
    if t.empty:
        doc.para("没有历年数据。")
        return
    t = t.rename(columns={"total": "total", "self_score": "self_score"})
    doc.image(charts.trend(t, "历年平均得分与预算执行率"), 15, "图 4 历年趋势")
    doc.table(["年度", "平均计算得分", "平均自评得分", "预算执行率", "未完成指标数"],
              [[str(int(r.year)), _s(r.total), _s(r.self_score),
                pct(r.exec_rate) if _ok(r.exec_rate) else "—",
                f"{int(r.unmet):,}" if _ok(r.unmet) else "—"]
               for r in t.itertuples(index=False)])


def _appendix(doc: Doc, d: dict) -> None:
    """The full per-department tables, after the analysis."""
    doc.page_break()
    doc.heading("附表", 1)
    doc.heading("附表 1 各部门得分", 3)
    doc.table(["序号", "部门", "类别", "计算得分", "自评得分", "差额", "等级", "预算执行率", "未完成指标"],
              [[str(i), r.department, r.kind or "", _s(r.total), _s(r.self_score), _s(r.gap),
                r.grade or "", pct(r.exec_rate) if _ok(r.exec_rate) else "—", str(int(r.unmet))]
               for i, r in enumerate(d["scores"].itertuples(index=False), 1)])
    doc.note("按计算得分从低到高排列；差额 = 自评得分 − 计算得分，正数为自评偏高。")
    doc.heading("附表 2 各部门预算执行", 3)
    doc.table(["序号", "部门", "全年预算数（万元）", "全年执行数（万元）", "执行率"],
              [[str(i), r.department, num(r.budget), num(r.executed),
                pct(r.exec_rate) if _ok(r.exec_rate) else "—"]
               for i, r in enumerate(d["budget"].itertuples(index=False), 1)])
    doc.note("按执行率从低到高排列。")
