"""总览: the headline (what needs action, each sentence linking to its page),
KPI cards against the comparison year, the score ranking, execution against
score, the largest self-score gaps and the latest unmet targets. Prints on
A4 landscape (perfeval.ui.printing)."""

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from perfeval import rules
from perfeval.headline import headline
from perfeval.queries import GRADE_ORDER, UNMET_LABELS
from perfeval.ui import auth, charts, links, printing, tables
from perfeval.ui import frame as ui
from perfeval.ui.links import delta_text
from perfeval.ui.reports import summary_report_control

RANK_BARS = 20  # departments in the ranking chart (short enough that 总览 prints on two pages)
SCATTER_POINTS = charts.SCATTER_POINTS

f = ui.filters()
printing.print_layout()
ui.header("总览", f)
ui.require_data(f)
allowed = ui.allowed()


@st.cache_data(ttl=600, max_entries=64, show_spinner=False)
def _headline(path, stamp, f, allowed):
    return headline(auth.get_store(), f, allowed)


def sentence_link(s) -> None:
    """A link to the sentence's page with every global filter of the URL kept."""
    params = {k: st.query_params.get_all(k) for k in links.FILTER_KEYS if k in st.query_params}
    params = {k: v if len(v) > 1 or k == "departments" else v[0] for k, v in params.items()}
    params.setdefault("year", str(f.year))  # a shared link keeps its year when data grows
    try:
        st.page_link(s.page, label=s.label, query_params={**params, **s.params})
    except StreamlitPageNotFoundError:  # a page run on its own (page tests)
        pass


# The toolbar, right-aligned: 导出 PDF (room beside it for 下载汇总报告).
printing.pdf_button()

sentences = _headline(*ui.cache_key(), f, allowed)
if sentences:
    with st.container(border=True, key="ov_headline"):
        st.markdown("##### 需要关注")
        for s in sentences:
            left, right = st.columns([3, 1], vertical_alignment="center")
            # Plain text: sentences hold department names (data, never Markdown).
            left.text(("● " if s.action else "○ ") + s.text)
            if s.page:
                with right:
                    sentence_link(s)

k = ui.q("kpis", f, allowed)
now, before = k.get(f.year, {}), k.get(f.compare_year, {}) if f.compare_year else {}


def card(col, label, key, text, *, percent=False, digits=2, inverse=False, help=None):
    col.metric(label, text, delta_text(now.get(key), before.get(key), percent=percent,
                                       digits=digits),
               delta_color="inverse" if inverse else "normal", border=True, help=help)


row = st.columns(4)
card(row[0], "参评部门", "departments", f"{now.get('departments', 0):,} 个", digits=0)
card(row[1], "全年预算数（万元）", "budget", ui.fmt_num(now.get("budget"), 0),
     help="全部参评部门全年预算数之和")
card(row[2], "全年执行数（万元）", "executed", ui.fmt_num(now.get("executed"), 0),
     help="全部参评部门全年执行数之和")
card(row[3], "预算执行率", "exec_rate", ui.fmt_pct(now.get("exec_rate"), 2), percent=True,
     help="全部参评部门执行数之和 ÷ 预算数之和")
# Cards 5–8 in a container of their own: on a phone they follow the page's
# content (frame.SCREEN_CSS) instead of stacking before it.
with st.container(key="ov_kpi_more"):
    row = st.columns(4)
    card(row[0], "平均计算得分", "avg_total", ui.fmt_num(now.get("avg_total"), 2, " 分"),
         help="按评分方案由指标和预算执行重新计算")
    card(row[1], "平均自评得分", "avg_self", ui.fmt_num(now.get("avg_self"), 2, " 分"))
    card(row[2], "未完成指标", "unmet", f"{int(now.get('unmet') or 0):,} 个", digits=0,
         inverse=True)
    grades = now.get("grades") or {g: 0 for g in GRADE_ORDER}
    row[3].metric("等级分布（优/良/中/差）", " / ".join(str(grades[g]) for g in GRADE_ORDER),
                  border=True, help=f"各等级的评价数：{rules.grade_help()}")
if f.compare_year is None:
    st.caption("没有对比年度的数据，指标卡不显示变化。")
summary_report_control(f, allowed)

left, right = st.columns([3, 2])
with left:
    n = ui.q("department_count", f, allowed)
    order = st.segmented_control("排名", ["low", "high"], default="low", key="ov_rank",
                                 required=True,
                                 format_func={"low": "得分最低", "high": "得分最高"}.get)
    top = ui.q("department_scores", f, allowed, order=order, limit=RANK_BARS)
    title = (f"部门计算得分排名（{'最低' if order == 'low' else '最高'} {len(top)} 个，共 {n} 个）"
             if n > len(top) else "部门计算得分排名")
    ui.chart(ui.figure("ranking_bar", top, title), "ov_rank_chart")
    st.caption("条形为计算得分（颜色表示等级），◆ 为自评得分。点击部门查看部门画像。")
with right:
    # At most SCATTER_POINTS points, the lowest scores: the low end is what the
    # chart is read for, and every point costs time at each redraw.
    scatter = ui.q("department_scores", f, allowed, order="low", limit=SCATTER_POINTS)
    title = (f"预算执行率与计算得分（得分最低的 {len(scatter):,} 个，共 {n:,} 个）"
             if n > len(scatter) else "预算执行率与计算得分")
    ui.chart(ui.figure("exec_score_scatter", scatter, title), "ov_scatter")
    gaps = ui.q("department_scores", f, allowed, order="gap", limit=5)
    st.markdown("##### 自评分虚高最多的 5 个部门")
    gaps = gaps[gaps["gap"] > 0]  # 虚高: only self-scores above the computed score
    if gaps.empty:
        st.info("没有自评得分高于计算得分的部门。")
    else:
        gap_labels = {"department": "部门", "self_score": "自评得分", "total": "计算得分",
                      "gap": "差额"}
        ui.plain_table(gaps, gap_labels, {"self_score": tables.num(1), "total": tables.num(2),
                                         "gap": tables.num(2, signed=True)}, key="ov_gaps")
        st.caption("差额 = 自评得分 − 计算得分。点击部门查看部门画像。")
        ui.download(gaps, gap_labels, "自评差额", f, key="dl_ov_gaps")

st.markdown("#### 最新未完成目标")
st.caption("最近导入的评价中差距最大的未完成指标。")
unmet, recent_total = ui.q("unmet_indicators", f, allowed, order="latest", limit=10)
total = int(now.get("unmet") or 0)
if total == 0:
    st.success("当前筛选条件下没有未完成的指标。")
else:
    if recent_total == 0:
        st.caption("最近导入的评价没有未完成的指标。")
    # Key columns first: on a phone 部门 stays and 指标 to 差距 come next (pages/unmet.py).
    cols = ["department", "indicator", "target_text", "actual_text", "shortfall", "goal"]
    ui.plain_table(unmet, {c: UNMET_LABELS[c] for c in cols}, {"shortfall": tables.pct(0)},
                  key="ov_unmet")
    ui.download(unmet, {c: UNMET_LABELS[c] for c in UNMET_LABELS if c in unmet.columns},
                "最新未完成目标", f, key="dl_ov_unmet")
    ui.page_link("pages/unmet.py", f"查看全部 {total:,} 个未完成指标",
                 icon=":material/arrow_forward:")
