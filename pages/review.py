"""评分复核: a work list of departments, most severe first (errors, then the
largest self-score gap), each with its findings grouped by check and counted;
the selected department's findings with their evidence; whether last year's
unmet indicators and problems were put right. Chinese names only: the
checks' codes stay out of the page.

Thin: every figure comes from perfeval.audit (checks and aggregates in
DuckDB) and perfeval.reviewlist (ranking and grouping); this file reads the
global filters, calls them, and draws.
"""

from __future__ import annotations

import json

import plotly.express as px
import streamlit as st

from perfeval import rules
from perfeval.audit import (
    FINDING_LABELS,
    PROBLEM_LABELS,
    RECTIFICATION_LABELS,
    SEVERITIES,
    AuditSettings,
    audit_overview,
    audit_store,
    problem_followup,
    rectification,
    rectification_counts,
)
from perfeval.reviewlist import (
    CHECK_COUNT_LABELS,
    WORKLIST_LABELS,
    check_counts,
    rank_departments,
)
from perfeval.ui import auth, charts, plot
from perfeval.ui import frame as ui
from perfeval.ui.text import md

SHOW_ROWS = 2000  # rows of a detail table sent to the browser; the downloads have all
SEVERITY_COLORS = {"错误": charts.RED, "警告": charts.ORANGE, "提示": charts.BLUE}
# The export's columns: every finding, Chinese headers, no check codes.
EXPORT_LABELS = {k: v for k, v in FINDING_LABELS.items() if k != "code"}

# -- cached calls (keyed on the database, its data stamp and every argument) --------


@st.cache_data(ttl=600, max_entries=32, show_spinner="正在复核…")
def _overview(path, stamp, settings, where):
    return audit_overview(auth.get_store(), settings, limit=None, **dict(where))


@st.cache_data(ttl=600, max_entries=32, show_spinner="正在汇总复核发现…")
def _findings(path, stamp, settings, where):
    return audit_store(auth.get_store(), settings, **dict(where))


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def _rectify(path, stamp, settings, where):
    store = auth.get_store()
    return (rectification(store, settings, **dict(where)),
            problem_followup(store, settings, **dict(where)))


# -- page ---------------------------------------------------------------------------

store = ui.store()
f = ui.filters()
ui.header("评分复核", f, caption="按严重程度排列的复核清单、各部门的复核发现、上年问题整改")
ui.require_data(f)

with st.sidebar:
    gap = st.number_input("自评分高出多少分告警", min_value=0.0, max_value=20.0,
                          value=rules.SCORE_GAP_WARN, step=0.5, key="review_gap")
settings = AuditSettings(scheme=f.scheme, score_gap=float(gap),
                         score_gap_hint=min(rules.SCORE_GAP_HINT, float(gap)))
path, stamp = ui.cache_key()
where = {"departments": tuple(f.departments) or None, "allowed": ui.allowed(),
         "region": f.region, "kind": f.kind, "scope": f.scope}
this_year = tuple(sorted({**where, "year": f.year}.items()))

ov = _overview(path, stamp, settings, this_year)
if ov.total == 0:
    st.info("没有符合筛选条件的评价。请调整年度或部门筛选，或先导入数据。")
    st.stop()
findings = _findings(path, stamp, settings, this_year)
work = rank_departments(ov.table, findings)
counts = check_counts(findings)

cols = st.columns(5)
cols[0].metric("评价数", f"{ov.total:,}", border=True)
cols[1].metric("有错误的部门", f"{int((work[SEVERITIES[0]] > 0).sum()):,}", border=True)
for col, sev in zip(cols[2:], SEVERITIES, strict=True):
    col.metric(sev, f"{ov.counts[sev]:,}", border=True)

# -- the work list: departments, most severe first; a selected row shows its findings -
st.subheader("复核清单")
st.caption("有错误的部门排在前面（错误多的在前），其余按自评得分高出计算得分的差额从大到小；"
           f"差额高出 {float(gap):g} 分为警告。选择一行查看该部门按检查项汇总的发现及明细。")
event = ui.table(
    work, key="review_table", on_select="rerun", selection_mode="single-row",
    hide_index=True, width="stretch",
    column_order=["rank", "department", *SEVERITIES, "gap", "summary", "self_score", "total",
                  "grade", "evaluations"],
    column_config={
        "rank": st.column_config.NumberColumn("序号", format="%d", width="small", pinned=True),
        "department": st.column_config.TextColumn("部门", pinned=True),
        **{s: st.column_config.NumberColumn(s, format="%d", width="small") for s in SEVERITIES},
        "gap": st.column_config.NumberColumn("自评差额", format="%+.2f",
                                             help="自评得分 − 计算得分（部门内最大的一个评价）；"
                                                  "正数表示自评偏高"),
        "self_score": st.column_config.NumberColumn("自评得分", format="%.2f"),
        "total": st.column_config.NumberColumn("计算得分", format="%.2f",
                                               help=f"按评分方案“{f.scheme}”计算"),
        "grade": st.column_config.TextColumn("等级"),
        "evaluations": st.column_config.NumberColumn("评价数", format="%d", width="small"),
        "summary": st.column_config.TextColumn("主要问题", width="large",
                                               help="各检查项的发现数，错误在前"),
    },
)
ui.download(work, WORKLIST_LABELS, "复核清单", f, key="review_worklist_download")
rows = [r for r in (event.selection.rows if event else []) if 0 <= r < len(work)]
picked = work.iloc[rows[0] if rows else 0]
dept = str(picked["department"])
st.markdown(f"#### {md(dept)} 的复核发现" + ("" if rows else "（清单第一位）"))
mine = counts[counts["department"] == dept]
if mine.empty:
    st.success("未发现问题。")
else:
    ui.table(mine[list(CHECK_COUNT_LABELS)].rename(columns=CHECK_COUNT_LABELS),
                 hide_index=True, width="stretch", key="review_checks",
                 column_config={"说明": st.column_config.TextColumn(width="large"),
                                "发现数": st.column_config.NumberColumn(format="%d")})
    detail = findings[findings["department"] == dept]
    with st.expander(f"逐条明细（{len(detail):,} 条）"):
        shown = detail.head(SHOW_ROWS).assign(
            evidence=detail["evidence"].head(SHOW_ROWS).map(
                lambda e: "；".join(f"{k}：{v}" for k, v in json.loads(e).items()) if e else ""),
            goal_no=detail["goal_no"].head(SHOW_ROWS).astype("string").fillna(""),
            indicator=detail["indicator"].head(SHOW_ROWS).fillna(""))
        ui.table(shown[["severity", "title", "year", "goal_no", "indicator", "message",
                            "evidence"]].rename(columns=FINDING_LABELS),
                     hide_index=True, width="stretch", key="review_detail",
                     column_config={"年度": st.column_config.NumberColumn(format="%d"),
                                    "说明": st.column_config.TextColumn(width="large"),
                                    "依据": st.column_config.TextColumn(width="medium")})

# Every finding in the filters (not only the selected department's).
st.caption(f"下载全部 {len(findings):,} 条复核发现（当前筛选条件下的所有部门，含依据）：")
ui.download(findings, EXPORT_LABELS, "评分复核发现", f, key="review_download")

# -- findings by check ---------------------------------------------------------------
st.subheader("各检查项发现数")
if ov.by_code.empty:
    st.success("未发现问题。")
else:
    fig = px.bar(ov.by_code, x="count", y="title", color="severity", orientation="h",
                 category_orders={"severity": list(SEVERITIES)},
                 color_discrete_map=SEVERITY_COLORS,
                 labels={"count": "发现数", "title": "检查项", "severity": "级别"})
    fig.update_layout(yaxis={"categoryorder": "total ascending", "title": None},
                      height=120 + 28 * ov.by_code["title"].nunique(),
                      margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "title": None})
    ui.chart(plot.figure_data(fig), "review_checks", clickable=False)

# -- last year's unmet indicators and problems, this year ----------------------------
st.subheader(f"{f.year - 1} 年未完成指标在 {f.year} 年的整改情况")
rect, problems = _rectify(path, stamp, settings,
                          tuple(sorted({**where, "year": f.year - 1}.items())))
st.caption("同一部门、同一评价范围与项目；指标名称去掉空格和数字后相同即视为同一指标。"
           "是否完成以按评分规则的判断为准，无法判断时按报告所述。")
counts = rectification_counts(rect)
for col, r in zip(st.columns(len(counts)), counts.itertuples(), strict=True):
    col.metric(r.status, f"{r.count:,}", border=True)
if len(rect) > SHOW_ROWS:
    st.caption(f"共 {len(rect):,} 条，下表显示前 {SHOW_ROWS:,} 条；全部见 Excel 下载。")
ui.table(rect.head(SHOW_ROWS).fillna({"next_actual": "", "actual": "", "target": ""})
             .rename(columns=RECTIFICATION_LABELS), hide_index=True, width="stretch",
             key="rectify_table")
ui.download(rect, RECTIFICATION_LABELS, "整改跟踪", f, key="rectify_download")

with st.expander(f"{f.year - 1} 年存在的问题是否在 {f.year} 年再次出现"):
    st.caption("相似度为两段文字的二字组 Jaccard 指数（去掉标点、空格、数字和序号）；达到 "
               f"{settings.problem_similarity:.2f} 视为再次出现。")
    ui.table(problems.head(SHOW_ROWS).fillna({"similar_problem": ""})
                 .rename(columns=PROBLEM_LABELS), hide_index=True, width="stretch")
