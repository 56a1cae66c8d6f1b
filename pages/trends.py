"""趋势对比: multi-year lines for the chosen departments, a year-over-year table
with changes, and each department against the median of its kind."""

import streamlit as st

from perfeval import queries
from perfeval.ui import frame as ui

f = ui.filters()
ui.header("趋势对比", f)
ui.require_data(f)
allowed = ui.allowed()

chosen = list(f.departments[:12])


@st.fragment
def trend_panel() -> None:
    """The line chart reruns alone when the metric changes."""
    metric = st.segmented_control("指标", list(queries.TREND_METRICS), default="total",
                                  key="trend_metric", required=True,
                                  format_func=lambda k: queries.TREND_METRICS[k][1])
    lines = ui.q("trends", f, allowed, tuple(chosen))
    if lines.empty:
        st.info("当前筛选条件下没有多年数据。")
    else:
        who = "、".join(chosen) if len(chosen) <= 3 else f"{len(chosen)} 个部门"
        # A department-scoped account averages only the departments it may see.
        everyone = "全部部门平均" if allowed is None else f"可查看的 {len(allowed)} 个部门平均"
        title = f"{queries.TREND_METRICS[metric][1]}历年变化（{who if chosen else everyone}）"
        # The average line is no department: a click on it opens nothing.
        ui.chart(ui.figure("trend_lines", lines, metric, title), "trend_lines", clickable=bool(chosen))
        if not chosen:
            st.caption("在左侧“部门”中选择部门，可对比各部门的历年走势。")
        elif len(f.departments) > len(chosen):
            st.caption(f"线图显示所选的前 {len(chosen)} 个部门。")


trend_panel()

st.markdown(f"#### {f.year} 年度与 {f.compare_year or '上年'} 年度对比")
if f.compare_year is None:
    st.info("无上年数据：可在左侧选择另一个对比年度。")
else:
    yoy = ui.q("year_over_year", f, allowed, order="delta", limit=500)
    labels = {"department": "部门", "total": "计算得分", "total_prev": "上期计算得分",
              "total_delta": "计算得分变化", "self_score": "自评得分", "self_prev": "上期自评得分",
              "self_delta": "自评得分变化", "exec_rate": "执行率", "exec_prev": "上期执行率",
              "exec_delta": "执行率变化", "unmet": "未完成指标", "unmet_prev": "上期未完成指标",
              "unmet_delta": "未完成变化"}
    if yoy.empty:
        st.info("没有可对比的数据。")
    else:
        st.caption("按计算得分变化从低到高排列（最多 500 个部门）；选择一行查看部门画像。")
        num = {c: st.column_config.NumberColumn(labels[c], format="%.2f")
               for c in ("total", "total_prev", "self_score", "self_prev")}
        delta = {c: st.column_config.NumberColumn(labels[c], format="%+.2f")
                 for c in ("total_delta", "self_delta")}
        pct = {c: st.column_config.NumberColumn(labels[c], format="percent")
               for c in ("exec_rate", "exec_prev")}
        ev = ui.table(
            yoy, key="trend_yoy", hide_index=True, on_select="rerun", selection_mode="single-row",
            column_order=list(labels),
            column_config={"department": st.column_config.TextColumn("部门", pinned=True),
                           "exec_delta": st.column_config.NumberColumn("执行率变化",
                                                                       format="percent"),
                           "unmet": st.column_config.NumberColumn("未完成指标", format="%d"),
                           "unmet_prev": st.column_config.NumberColumn("上期未完成", format="%d"),
                           "unmet_delta": st.column_config.NumberColumn("未完成变化",
                                                                        format="%+d"),
                           **num, **delta, **pct})
        ui.on_table_select(ev, yoy)
        ui.download(yoy, labels, "同比对比", f, key="dl_yoy")

st.markdown("#### 与同类部门中位数比较")
med = ui.q("kind_medians", f, allowed, tuple(chosen), limit=30)
# A median over one department says nothing (a department-scoped account
# often sees only its own): compare only where the kind has two or more.
single = med[med["kind_count"] < 2] if not med.empty else med
med = med[med["kind_count"] >= 2] if not med.empty else med
if med.empty:
    st.info("同类部门不足两个，不计算中位数。" if not single.empty else "没有可比较的得分。")
else:
    title = ("所选部门与同类部门计算得分中位数之差" if chosen
             else "低于同类部门中位数最多的部门（计算得分）")
    ui.chart(ui.figure("kind_median_bar", med, title), "trend_median")
    st.caption("同类 = 同一类别（街道、委局、群团等）的全部部门；红色低于中位数，绿色高于中位数。")
