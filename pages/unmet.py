"""未完成目标: every unmet indicator in the filters, with its shortfall, the
reason and measures, and how many years in a row it has been unmet."""

import streamlit as st

from perfeval import queries
from perfeval.model import CATEGORIES
from perfeval.queries import UNMET_LABELS
from perfeval.ui import frame as ui
from perfeval.ui import printing, tables

SHOW_ROWS = 500  # rows sent to the browser; the download holds up to DOWNLOAD_ROWS
DOWNLOAD_ROWS = 100_000

f = ui.filters()
printing.print_layout()
ui.header("未完成目标", f)
ui.require_data(f)
allowed = ui.allowed()
printing.pdf_button()

@st.fragment
def unmet_panel() -> None:
    """Filters and table rerun alone when the 一级指标, keyword or order change."""
    c1, c2, c3 = st.columns([2, 3, 2], vertical_alignment="bottom")
    category = c1.segmented_control("一级指标", ["全部", *CATEGORIES], default="全部", key="unmet_cat",
                                    required=True)
    category = None if category == "全部" else category
    keyword = c2.text_input("关键词", key="unmet_kw", placeholder="指标、目标、部门或原因中的文字")
    order = c3.selectbox("排序", list(queries.UNMET_ORDERS)[:4], key="unmet_order",
                         format_func={"shortfall": "差距从大到小", "lost": "失分从多到少",
                                      "streak": "连续未完成年数", "department": "按部门"}.get)

    df, total = ui.q("unmet_indicators", f, allowed, category=category, keyword=keyword,
                     order=order, limit=SHOW_ROWS)
    if total == 0:
        st.success("当前筛选条件下没有未完成的指标。")
        return
    # Empty text, not the grid's "None".
    df = df.assign(**{c: df[c].fillna("") for c in ("reason", "measures", "goal", "category",
                                                     "target_text", "actual_text")})

    m = st.columns(3)
    m[0].metric("未完成指标", f"{total:,} 个", border=True)
    m[1].metric("涉及部门", f"{df['department'].nunique():,} 个" if total <= SHOW_ROWS else "—",
                border=True)
    m[2].metric("连续两年及以上未完成", f"{int((df['streak'] >= 2).sum()):,} 个"
                + ("" if total <= SHOW_ROWS else "（本页）"), border=True)
    if total > SHOW_ROWS:
        st.caption(f"显示前 {SHOW_ROWS:,} 个（共 {total:,} 个）；下载的 Excel 含全部（最多 "
                   f"{DOWNLOAD_ROWS:,} 个）。")

    # Key columns first: on a narrow screen 部门 (pinned) and 指标 with its
    # target, actual and shortfall stay in view; the rest scrolls.
    cols = ["department", "indicator", "target_text", "actual_text", "shortfall", "streak",
            "lost", "category", "goal", "year", "reason", "measures"]
    ev = ui.table(
        df, key="unmet_table", hide_index=True, on_select="rerun", selection_mode="single-row",
        column_order=cols, height=560,
        column_config={c: UNMET_LABELS[c] for c in cols} | {
            "department": st.column_config.TextColumn("部门", pinned=True),
            "year": st.column_config.NumberColumn("年度", format="%d"),
            "shortfall": st.column_config.NumberColumn("差距", format="percent",
                                                       help="未达到的部分占目标值的比例；定性指标为空"),
            "lost": st.column_config.NumberColumn("失分", format="%.2f"),
            "streak": st.column_config.NumberColumn("连续未完成", format="%d 年",
                                                    help="截至本年度连续未完成的年数"),
            "reason": st.column_config.TextColumn("未完成原因", width="medium"),
            "measures": st.column_config.TextColumn("改进措施", width="medium")})
    ui.on_table_select(ev, df)
    labels = {c: UNMET_LABELS[c] for c in cols}
    printing.print_table(df, labels, {"shortfall": tables.pct(0), "lost": tables.num(2),
                                      "year": str}, key="unmet_print", limit=printing.PRINT_ROWS)
    ui.download(df, labels, "未完成目标", f, key="dl_unmet",
                data=lambda: queries.unmet_indicators(ui.store(), f, allowed, category=category,
                                                      keyword=keyword, order=order,
                                                      limit=DOWNLOAD_ROWS)[0])
    st.caption("选择一行查看该部门的部门画像。")


unmet_panel()
