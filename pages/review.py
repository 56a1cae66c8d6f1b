"""评分复核: self-score against computed score, the audit's findings, rectification.

Thin: the figures come from perfeval.audit (aggregated in DuckDB); this file
reads the filters, calls it and draws.
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
    findings_workbook,
    problem_followup,
    rectification,
    rectification_counts,
    selected_eval_ids,
)
from perfeval.scoring import DEFAULT_SCHEME
from perfeval.store import Store, default_db_path
from perfeval.ui import auth

# -- data access (cached; keyed on the database and its current revisions) -----------


def _data_version(store: Store) -> tuple:
    row = store.query_df("SELECT count(*) AS n, coalesce(sum(eval_id), 0) AS s "
                         "FROM evaluations WHERE is_current").iloc[0]
    return int(row["n"]), int(row["s"])


@st.cache_data(ttl=600, max_entries=32, show_spinner="正在复核…")
def _overview(path: str, version: tuple, settings: AuditSettings, year, depts, allowed):
    return audit_overview(auth.get_store(), settings, year, depts, allowed)


@st.cache_data(ttl=600, max_entries=64)
def _findings(path: str, version: tuple, settings: AuditSettings, eval_ids: tuple):
    return audit_store(auth.get_store(), settings, eval_ids=list(eval_ids))


@st.cache_data(ttl=600, max_entries=32)
def _rectify(path: str, version: tuple, settings: AuditSettings, year, depts, allowed):
    store = auth.get_store()
    return (rectification(store, settings, year, depts, allowed),
            problem_followup(store, settings, year, depts, allowed))


def _filters() -> tuple[int | None, tuple[str, ...] | None, tuple[str, ...] | None]:
    """(year, departments, allowed) as set by the app's global filters."""
    year = st.session_state.get("year")
    depts = st.session_state.get("departments") or None
    allowed = st.session_state.get(auth.ALLOWED_KEY)  # set by auth.current_user
    return (int(year) if year else None, tuple(depts) if depts else None,
            tuple(allowed) if allowed is not None else None)


# -- page ---------------------------------------------------------------------------

SHOW_ROWS = 2000  # rows of a detail table sent to the browser; the download has all

st.title("评分复核")
store = auth.get_store()
auth.require_read(auth.current_user(store))
path = str(default_db_path())
version = _data_version(store)
year, depts, allowed = _filters()

with st.sidebar:
    gap_threshold = st.number_input("自评分高出多少分告警", min_value=0.0, max_value=20.0,
                                    value=AuditSettings.score_gap, step=0.5, key="review_gap")
settings = AuditSettings(scheme=st.session_state.get("scheme") or DEFAULT_SCHEME,
                         score_gap=float(gap_threshold),
                         score_gap_hint=min(AuditSettings.score_gap_hint, float(gap_threshold)))

ov = _overview(path, version, settings, year, depts, allowed)
if ov.total == 0:
    st.info("没有符合筛选条件的评价。请调整年度或部门筛选，或先导入数据。")
    st.stop()

cols = st.columns(4)
cols[0].metric("评价数", f"{ov.total:,}")
for col, sev in zip(cols[1:], SEVERITIES, strict=True):
    col.metric(sev, f"{ov.counts[sev]:,}")

st.subheader("部门自评分与计算得分")
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
        "total": st.column_config.NumberColumn("计算得分", format="%.2f"),
        "gap": st.column_config.NumberColumn("差额", format="%.2f",
                                             help="自评得分 − 计算得分；正数表示自评偏高"),
        "grade": st.column_config.TextColumn("等级"),
        **{s: st.column_config.NumberColumn(s, format="%d") for s in SEVERITIES},
    },
)
picked = selected_eval_ids(ov.table, event.selection.rows if event else [])
if picked:
    row = ov.table[ov.table["eval_id"] == picked[0]].iloc[0]
    st.subheader(f"{row['department']} {row['year']} 年度的复核发现")
    found = _findings(path, version, settings, tuple(picked))
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

st.subheader("各检查项发现数")
if ov.by_code.empty:
    st.success("未发现问题。")
else:
    chart = ov.by_code.assign(label=ov.by_code["title"] + "（" + ov.by_code["code"] + "）")
    fig = px.bar(chart, x="count", y="label", color="severity", orientation="h",
                 category_orders={"severity": list(SEVERITIES)},
                 color_discrete_map={"错误": "#d62728", "警告": "#ff7f0e", "提示": "#1f77b4"},
                 labels={"count": "发现数", "label": "检查项", "severity": "级别"})
    fig.update_layout(yaxis={"categoryorder": "total ascending"}, height=120 + 28 * len(chart),
                      margin={"l": 10, "r": 10, "t": 10, "b": 10})
    st.plotly_chart(fig, width="stretch")

st.subheader("上年问题整改跟踪")
from_year = year - 1 if year else None
rect, problems = _rectify(path, version, settings, from_year, depts, allowed)
st.caption(("上一年度" if from_year else "各年度") + "未完成的指标在下一年度的情况；"
           "同一部门、同一范围与项目，指标名称去掉空格和数字后相同即视为同一指标。")
counts = rectification_counts(rect)
ccols = st.columns(len(counts))
for col, r in zip(ccols, counts.itertuples(), strict=True):
    col.metric(r.status, f"{r.count:,}")
if len(rect) > SHOW_ROWS:
    st.caption(f"共 {len(rect):,} 条，下表显示前 {SHOW_ROWS:,} 条；全部见 Excel 下载。")
st.dataframe(rect.head(SHOW_ROWS).rename(columns=RECTIFICATION_LABELS), hide_index=True,
             width="stretch", key="rectify_table")
with st.expander("存在的问题是否在下一年度再次出现"):
    st.caption("相似度为两段文字的二字组 Jaccard 指数；达到 "
               f"{settings.problem_similarity:.2f} 视为再次出现。")
    st.dataframe(problems.head(SHOW_ROWS).rename(columns=PROBLEM_LABELS), hide_index=True,
                 width="stretch")


def _workbook() -> bytes:
    everything = audit_store(store, settings, year, depts, allowed)
    return findings_workbook(everything, rect, problems)


st.download_button("下载全部复核发现（Excel）", data=_workbook, file_name="评分复核.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                   icon=":material/download:")
