"""评分复核: self-score against computed score, the audit's findings, and
whether last year's unmet indicators and problems were put right.

Thin: every figure comes from perfeval.audit (checks and aggregates in
DuckDB); this file reads the global filters, calls it, and draws.
"""

from __future__ import annotations

import json

import plotly.express as px
import streamlit as st

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
    selected_eval_ids,
)
from perfeval.ui import auth, charts
from perfeval.ui import frame as ui
from perfeval.ui.text import md

SHOW_ROWS = 2000  # rows of a detail table sent to the browser; the downloads have all
SEVERITY_COLORS = {"错误": charts.RED, "警告": charts.ORANGE, "提示": charts.BLUE}

# -- cached calls (keyed on the database, its data stamp and every argument) --------


@st.cache_data(ttl=600, max_entries=32, show_spinner="正在复核…")
def _overview(path, stamp, settings, where):
    return audit_overview(auth.get_store(), settings, **dict(where))


@st.cache_data(ttl=600, max_entries=64, show_spinner=False)
def _findings(path, stamp, settings, eval_ids):
    return audit_store(auth.get_store(), settings, eval_ids=list(eval_ids))


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def _rectify(path, stamp, settings, where):
    store = auth.get_store()
    return (rectification(store, settings, **dict(where)),
            problem_followup(store, settings, **dict(where)))


# -- page ---------------------------------------------------------------------------

store = ui.store()
f = ui.filters()
ui.header("评分复核", f, caption="自评分与按指标计算的得分、复核发现、上年问题整改")
ui.require_data(f)

with st.sidebar:
    gap = st.number_input("自评分高出多少分告警", min_value=0.0, max_value=20.0,
                          value=AuditSettings.score_gap, step=0.5, key="review_gap")
settings = AuditSettings(scheme=f.scheme, score_gap=float(gap),
                         score_gap_hint=min(AuditSettings.score_gap_hint, float(gap)))
path, stamp = ui.cache_key()
where = {"departments": tuple(f.departments) or None, "allowed": ui.allowed(),
         "region": f.region, "kind": f.kind, "scope": f.scope}
this_year = tuple(sorted({**where, "year": f.year}.items()))

ov = _overview(path, stamp, settings, this_year)
if ov.total == 0:
    st.info("没有符合筛选条件的评价。请调整年度或部门筛选，或先导入数据。")
    st.stop()

cols = st.columns(4)
cols[0].metric("评价数", f"{ov.total:,}", border=True)
for col, sev in zip(cols[1:], SEVERITIES, strict=True):
    col.metric(sev, f"{ov.counts[sev]:,}", border=True)

# -- departments, largest gap first; a selected row shows its findings --------------
st.subheader("自评得分与计算得分")
if ov.total > len(ov.table):
    st.caption(f"按差额从大到小显示前 {len(ov.table):,} 个评价（共 {ov.total:,} 个）。")
event = st.dataframe(
    ov.table, key="review_table", on_select="rerun", selection_mode="single-row",
    hide_index=True, width="stretch",
    column_order=["department", "year", "project", "self_score", "total", "gap", "grade",
                  *SEVERITIES],
    column_config={
        "department": st.column_config.TextColumn("部门"),
        "year": st.column_config.NumberColumn("年度", format="%d"),
        "project": st.column_config.TextColumn("项目"),
        "self_score": st.column_config.NumberColumn("自评得分", format="%.2f"),
        "total": st.column_config.NumberColumn("计算得分", format="%.2f",
                                               help=f"按评分方案“{f.scheme}”计算"),
        "gap": st.column_config.NumberColumn("差额", format="%.2f",
                                             help="自评得分 − 计算得分；正数表示自评偏高"),
        "grade": st.column_config.TextColumn("等级"),
        **{s: st.column_config.NumberColumn(s, format="%d") for s in SEVERITIES},
    },
)
picked = selected_eval_ids(ov.table, event.selection.rows if event else [])
if picked:
    row = ov.table[ov.table["eval_id"] == picked[0]].iloc[0]
    st.subheader(f"{md(row['department'])} {row['year']} 年度的复核发现")
    found = _findings(path, stamp, settings, tuple(picked))
    if found.empty:
        st.success("未发现问题。")
    else:
        shown = found.assign(
            evidence=found["evidence"].map(
                lambda e: "；".join(f"{k}：{v}" for k, v in json.loads(e).items()) if e else ""),
            goal_no=found["goal_no"].astype("string").fillna(""),
            indicator=found["indicator"].fillna(""))
        st.dataframe(shown[["severity", "title", "goal_no", "indicator", "message", "evidence"]]
                     .rename(columns=FINDING_LABELS), hide_index=True, width="stretch",
                     column_config={"说明": st.column_config.TextColumn(width="large"),
                                    "依据": st.column_config.TextColumn(width="medium")})
else:
    st.caption("在上表中选择一行，查看该评价的复核发现及依据。")

# All findings in the filters (not only the selected row's), built on click.
ui.download(ov.table, FINDING_LABELS, "评分复核发现", f, key="review_download",
            data=lambda: audit_store(store, settings, **dict(this_year)))

# -- findings by check ---------------------------------------------------------------
st.subheader("各检查项发现数")
if ov.by_code.empty:
    st.success("未发现问题。")
else:
    chart = ov.by_code.assign(label=ov.by_code["title"] + "（" + ov.by_code["code"] + "）")
    fig = px.bar(chart, x="count", y="label", color="severity", orientation="h",
                 category_orders={"severity": list(SEVERITIES)},
                 color_discrete_map=SEVERITY_COLORS,
                 labels={"count": "发现数", "label": "检查项", "severity": "级别"})
    fig.update_layout(yaxis={"categoryorder": "total ascending", "title": None},
                      height=120 + 28 * chart["label"].nunique(),
                      margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "title": None})
    st.plotly_chart(fig, width="stretch")

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
st.dataframe(rect.head(SHOW_ROWS).fillna({"next_actual": "", "actual": "", "target": ""})
             .rename(columns=RECTIFICATION_LABELS), hide_index=True, width="stretch",
             key="rectify_table")
ui.download(rect, RECTIFICATION_LABELS, "整改跟踪", f, key="rectify_download")

with st.expander(f"{f.year - 1} 年存在的问题是否在 {f.year} 年再次出现"):
    st.caption("相似度为两段文字的二字组 Jaccard 指数（去掉标点、空格、数字和序号）；达到 "
               f"{settings.problem_similarity:.2f} 视为再次出现。")
    st.dataframe(problems.head(SHOW_ROWS).fillna({"similar_problem": ""})
                 .rename(columns=PROBLEM_LABELS), hide_index=True, width="stretch")
