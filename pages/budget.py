"""预算执行: budget against executed per department (基本支出 / 项目支出), the
execution-rate table with rates under 90% marked, and a department × year heatmap."""

import streamlit as st

from perfeval import queries, rules
from perfeval.ui import frame as ui

f = ui.filters()
ui.header("预算执行", f)
ui.require_data(f)
allowed = ui.allowed()
BAR_FROM = round(2 * rules.LOW_EXEC_RATE - 1.0, 6)

totals = ui.q("budget_totals", f, allowed)
row = st.columns(4)
for col, line, label in ((row[0], "total", "总预算"), (row[1], "basic", "基本支出"),
                         (row[2], "project", "项目支出")):
    t = totals.get(line) or {}
    rate = (t.get("executed") / t["budget"]) if t.get("budget") else None
    col.metric(f"{label}执行率", ui.fmt_pct(rate, 2),
               f"预算 {ui.fmt_num(t.get('budget'), 0)} 万元", delta_color="off",
               delta_arrow="off", border=True,
               help=f"全年执行数 {ui.fmt_num(t.get('executed'))} 万元 ÷ 全年预算数 "
                    f"{ui.fmt_num(t.get('budget'))} 万元")
low = int((totals.get("total") or {}).get("low") or 0)
row[3].metric(f"执行率{rules.low_exec_text()} 的评价", f"{low:,} 个", border=True)

n = ui.q("department_count", f, allowed)
top = ui.q("budget_by_department", f, allowed, order="budget", limit=20)
if top.empty or top["budget"].isna().all():
    st.info("当前筛选条件下没有预算执行数据。")
else:
    title = f"各部门预算与执行（万元，预算最大的 {len(top)} 个，共 {n} 个）" if n > len(top) \
        else "各部门预算与执行（万元）"
    ui.chart(ui.figure("budget_bars", top, title), "bud_bars")

st.markdown("#### 执行率")
order = st.segmented_control("排序", ["exec_low", "budget", "name"], default="exec_low",
                             key="bud_order", required=True,
                             format_func={"exec_low": "执行率从低到高", "budget": "预算从大到小",
                                          "name": "按部门名称"}.get)
table = ui.q("budget_by_department", f, allowed, order=order, limit=1000)
table = table.assign(status=[rules.low_exec_text() if r is not None and r < rules.LOW_EXEC_RATE else
                             ("无数据" if r is None or r != r else "正常")
                             for r in table["exec_rate"]],
                     reason=table["reason"].fillna(""))
labels = {"department": "部门", "budget": "全年预算数（万元）", "executed": "全年执行数（万元）",
          "exec_rate": "执行率", "basic_budget": "基本支出预算（万元）",
          "basic_executed": "基本支出执行（万元）", "project_budget": "项目支出预算（万元）",
          "project_executed": "项目支出执行（万元）", "reason": "偏差原因"}
money = {c: st.column_config.NumberColumn(labels[c], format="%,.2f")
         for c in labels if c.endswith(("budget", "executed")) or c in ("budget", "executed")}
if n > len(table):
    st.caption(f"显示前 {len(table):,} 个部门（共 {n:,} 个）；下载的 Excel 含全部部门。")
ev = ui.table(
    table, key="bud_table", hide_index=True, on_select="rerun", selection_mode="single-row",
    column_order=["department", "status", "exec_rate", "budget", "executed", "basic_budget",
                  "basic_executed", "project_budget", "project_executed", "reason"],
    column_config={"department": st.column_config.TextColumn("部门", pinned=True),
                   "status": st.column_config.TextColumn("状态", width="small"),
                   # "auto" colours a bar red below the middle of [min, max] and green
                   # above it: with [2·line − 100%, 100%] the middle is the low-execution line.
                   "exec_rate": st.column_config.ProgressColumn(
                       "执行率", format="percent", min_value=BAR_FROM, max_value=1.0, color="auto",
                       help=f"红色：{rules.low_exec_text()}；绿色："
                            f"{rules.pct_text(rules.LOW_EXEC_RATE)} 及以上"
                            f"（条形从 {rules.pct_text(BAR_FROM)} 起）"),
                   "reason": st.column_config.TextColumn("偏差原因", width="medium"),
                   **money})
ui.on_table_select(ev, table)
ui.download(table, labels, "预算执行", f, key="dl_budget",
            data=lambda: queries.budget_by_department(ui.store(), f, allowed, order=order))

st.markdown("#### 执行率热力图")
show_heat = st.toggle("显示各部门历年执行率（执行率最低的 30 个部门）", value=True, key="bud_heat")
if show_heat:
    heat = ui.q("exec_heatmap", f, allowed, limit=30)
    if heat.empty:
        st.info("没有可显示的执行率。")
    else:
        ui.chart(ui.figure("exec_heatmap", heat, "部门 × 年度 预算执行率（%）"), "bud_heatmap")
