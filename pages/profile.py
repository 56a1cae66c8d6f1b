"""部门画像: one department and year — score card, where the points were lost
(waterfall from the scoring explanation), goals and indicators with their
status, problems and measures, and the score history."""

import pandas as pd
import streamlit as st

from perfeval import rules
from perfeval.model import BUDGET_LINES, FINDING_KINDS
from perfeval.queries import waterfall_steps
from perfeval.ui import frame as ui
from perfeval.ui import links, printing, tables
from perfeval.ui.reports import unit_report_control
from perfeval.ui.text import md, md_join, md_list

f = ui.filters()
printing.print_layout()
ui.header("部门画像", f)
ui.require_data(f)
allowed = ui.allowed()
printing.pdf_button()

options = ui.q("filter_options", allowed)["departments"]
dept, unknown = ui.url_select("部门", options, key=links.PROFILE_KEY, find="profile_find",
                              placeholder="选择部门（也可在其他页面点击图表或表格中的部门）")
if unknown is not None:
    st.warning("链接中的部门未找到或无权查看。", icon=":material/person_off:")
if dept is None:
    lowest = ui.q("department_scores", f, allowed, order="low", limit=1)
    if lowest.empty:
        st.info("请选择部门。")
        st.stop()
    dept = lowest["department"].iloc[0]
    st.caption(f"未选择部门，显示 {f.year} 年度计算得分最低的部门：{md(dept)}")

evals = ui.q("department_evaluations", f, allowed, dept)
if evals.empty:
    st.info(f"{md(dept)} 没有{f.scope}评价。")
    st.stop()
this_year = evals[evals["year"] == f.year]
if this_year.empty:
    latest = int(evals["year"].iloc[0])
    st.info(f"{md(dept)} 没有 {f.year} 年度的评价，下面显示最近的 {latest} 年度。")
    this_year = evals[evals["year"] == latest]
if len(this_year) > 1:
    project = st.selectbox("项目", this_year["project"].tolist(), key="profile_project")
    this_year = this_year[this_year["project"] == project]
eval_id = int(this_year["eval_id"].iloc[0])
card = ui.q("evaluation_card", eval_id, f.scheme)
if card is None:
    st.warning("该评价尚未评分。")
    st.stop()

st.subheader(f"{md(dept)} · {card['year']} 年度"
             + (f" · {md(card['project'])}" if card["project"] else ""))
st.caption(md_join((card.get("region"), card.get("kind"), f"第 {card['revision']} 版",
                    card.get("source_name"))))
unit_report_control(f, dept, card["year"], card["project"] or "")
m = st.columns(6)
m[0].metric("计算得分", ui.fmt_num(card["total"], 2), border=True,
            help=f"单位：分。满分 {ui.fmt_num(card['max_score'], 0)} 分，评分方案：{f.scheme}")
m[1].metric("等级", card["grade"] or "—", border=True, help=rules.grade_help())
m[2].metric("自评得分", ui.fmt_num(card["self_score"], 1), border=True)
m[3].metric("自评差额", "—" if card["gap"] is None else f"{card['gap']:+.2f}", border=True,
            help="自评得分 − 计算得分；正数表示自评偏高")
m[4].metric("预算执行率", ui.fmt_pct(card["exec_rate"], 1), border=True)
m[5].metric("未完成指标", f"{int(card['unmet_count'] or 0)} 个", border=True)

left, right = st.columns([3, 2])
with left:
    max_score, total, lost = ui.q("evaluation_explanation", eval_id, f.scheme)
    steps = waterfall_steps(max_score, total, lost)
    ui.chart(ui.figure("waterfall", steps, "失分去向（分）"), "profile_waterfall", clickable=False)
    if lost:
        with st.expander(f"失分明细（{len(lost)} 项）"):
            detail = pd.DataFrame([{"部分": "预算执行" if p.kind == "execution" else p.category,
                                    "目标": p.goal or "", "指标": p.indicator or "",
                                    "分值": p.weight, "得分": p.score, "失分": p.lost,
                                    "说明": p.reason} for p in lost])
            ui.plain_table(detail, {c: c for c in detail.columns},
                          {c: tables.num(2) for c in ("分值", "得分", "失分")},
                          key="profile_lost")
            ui.download(detail, None, f"失分明细-{dept}", f, key="dl_profile_lost")
with right:
    hist = ui.q("score_history", f, dept, card["project"] or "")
    if len(hist) > 1:
        ui.chart(ui.figure("score_history", hist, "历年得分"), "profile_history", clickable=False)
    else:
        st.info("只有一个年度的评价，暂无历年得分。")
    budget = ui.q("evaluation_budget", eval_id)
    if not budget.empty:
        budget = budget.assign(line=budget["line"].map(BUDGET_LINES))
        ui.plain_table(budget, {"line": "预算", "budget": "预算数（万元）",
                               "executed": "执行数（万元）", "exec_rate": "执行率"},
                      {"budget": tables.num(2), "executed": tables.num(2),
                       "exec_rate": tables.pct(1)}, key="profile_budget")
        ui.download(budget, {"line": "预算", "budget": "全年预算数（万元）",
                             "executed": "全年执行数（万元）", "exec_rate": "执行率",
                             "reason": "偏差原因"}, f"预算执行-{dept}", f, key="dl_profile_budget")
        reasons = budget["reason"].dropna().tolist()
        if reasons:
            st.caption("偏差原因：" + "；".join(map(md, reasons)))

st.markdown("#### 年度目标与绩效指标")
inds = ui.q("evaluation_indicators", eval_id, f.scheme)
if inds.empty:
    st.info("该评价没有绩效指标。")
else:
    met = inds["met_computed"].astype(object).where(inds["met_computed"].notna(), None)
    inds = inds.assign(status=["未完成" if v is False or v == 0 else
                               ("完成" if v is True or v == 1 else "无法判断") for v in met],
                       **{c: inds[c].fillna("") for c in ("reason", "goal", "category",
                                                           "indicator", "target_text",
                                                           "actual_text")})
    over = inds["over_achieved"].astype(object).where(inds["over_achieved"].notna(), False)
    inds.loc[over.astype(bool).to_numpy(), "status"] = f"超额（{rules.over_text()}）"
    goal_view = st.segmented_control("显示", ["all", "unmet"], default="all", key="profile_view",
                                     required=True,
                                     format_func={"all": "全部指标", "unmet": "只看未完成"}.get)
    shown = inds[inds["met_computed"].eq(False)] if goal_view == "unmet" else inds
    labels = {"goal_no": "序号", "goal": "年度目标", "category": "一级指标",
              "subcategory": "二级指标", "indicator": "三级指标", "target_text": "目标值",
              "actual_text": "实际值", "weight": "分值", "score": "得分", "lost": "失分",
              "reason": "偏差原因"}
    if shown.empty:
        st.success("该评价没有未完成的指标。")
    else:
        # All of its rows (a few dozen): read on screen and printed as they are.
        ui.plain_table(shown, {**{k: labels[k] for k in ("goal_no", "goal", "category",
                                                         "indicator", "target_text",
                                                         "actual_text")},
                               "status": "状态", "weight": "分值", "score": "得分",
                               "reason": "偏差原因"},
                       {"goal_no": tables.num(0), "weight": tables.num(2),
                        "score": tables.num(2)}, key="profile_indicators")
    ui.download(inds, {**labels, "met_computed": "是否完成"}, f"部门画像-{dept}", f,
                key="dl_profile")

findings = ui.q("evaluation_findings", eval_id)
cols = st.columns(3)
for col, kind in zip(cols, FINDING_KINDS, strict=True):
    with col:
        st.markdown(f"##### {FINDING_KINDS[kind]}")
        texts = findings.loc[findings["kind"] == kind, "text"].tolist()
        if texts:
            st.markdown(md_list(texts))
        else:
            st.caption("报告中没有填写。")
