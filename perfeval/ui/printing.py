"""Print layout and the "导出 PDF" control of 总览, 未完成目标 and 部门画像.

The browser makes the PDF: :func:`pdf_button` is a plain HTML button that
applies the print layout to the screen, lets Plotly and the page re-measure
at the paper's width, then calls ``window.print()`` (the user picks "另存为
PDF"); Ctrl+P gets the same CSS (without the re-measure, so a chart wider
than the paper is scaled down by CSS instead).

The print layout (:func:`print_layout`): A4 landscape, no sidebar, header,
buttons, links or widgets, charts kept whole on a page, and every
``st.dataframe`` (a canvas grid that prints badly: empty columns, cut rows)
replaced by its static twin from :func:`print_table`, a plain table of the
rows on screen that is hidden on screen (short lists are plain tables on
screen already: perfeval.ui.tables).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from perfeval.ui import tables

PAGE_MARGIN_MM = 8  # A4 landscape less these margins: 1,062 × 733 CSS pixels
# Content is laid out this much smaller on paper: a page then holds what a
# 1,517-pixel-wide screen shows, so 总览 fits on two pages.
PRINT_ZOOM = 0.7
PRINT_INNER_PX = round((297 - 2 * PAGE_MARGIN_MM) / 25.4 * 96 / PRINT_ZOOM)  # 1,517
PRINT_ROWS = 200  # rows of a long table printed (the Excel download has them all)
PRINT_CLASS = "pe-printing"  # on <body> while the 导出 PDF button prints
ONLY_PRINT = tables.PRINT_ONLY
ONLY_SCREEN = "pe-screen-only"

# What the paper does not need: navigation, controls, the toolbar, icons
# (the icon font is not embedded, so icons print as their names).
_HIDE = ", ".join([
    '[data-testid="stSidebar"]', '[data-testid="stSidebarCollapsedControl"]',
    '[data-testid="stHeader"]', '[data-testid="stToolbar"]', '[data-testid="stDecoration"]',
    '[data-testid="stStatusWidget"]', '[data-testid="stBottom"]',
    '[data-testid="stDownloadButton"]', '[data-testid="stButton"]',
    '[data-testid="stPageLink"]', '[data-testid="stElementContainer"]:has([data-testid="stPageLink-NavLink"])',
    '[data-testid="stElementContainer"]:has(.stSegmentedControl)',
    '[data-testid="stElementContainer"]:has([data-testid="stButtonGroup"])',
    '[data-testid="stElementContainer"]:has([data-testid="stSelectbox"])',
    '[data-testid="stElementContainer"]:has([data-testid="stTextInput"])',
    '[data-testid="stElementContainer"]:has([data-testid="stDataFrame"])',
    '[data-testid="stElementContainer"]:has(.pe-screen-only)',
    '[data-testid="stHorizontalBlock"]:has(.pe-screen-only)',
    '[data-testid="stIconMaterial"]', '.modebar-container',
])

# A chart's element (perfeval.ui.plot): its outer box, where a page break may not fall.
CHART = ".stBidiComponent:has(.pe-chart)"

_RULES = f"""
{_HIDE} {{ display: none !important; }}
[data-testid="stElementContainer"]:has(.{ONLY_PRINT}) {{ display: block !important; }}
.{ONLY_PRINT} {{ display: block !important; }}
[data-testid="stAppViewContainer"], [data-testid="stMain"], .stMain {{
    position: static !important; overflow: visible !important; height: auto !important; }}
[data-testid="stMainBlockContainer"], .block-container {{
    padding: 0 !important; max-width: none !important; align-self: stretch !important;
    min-width: 0 !important; }}
[data-testid="stHorizontalBlock"]:has(.pe-chart) {{
    display: flex !important; flex-wrap: nowrap !important; }}
[data-testid="stHorizontalBlock"]:has(.pe-chart) > [data-testid="stColumn"] {{
    display: flex !important; width: auto !important; min-width: 0 !important; }}
{CHART}, [data-testid="stMetric"], .{ONLY_PRINT} tr,
[data-testid="stHorizontalBlock"]:has([data-testid="stMetric"]) {{ break-inside: avoid; }}
{CHART} {{ overflow: hidden !important; max-width: 100% !important; }}
table.pe-table {{ font-size: 11px; }}
table.pe-table th, table.pe-table td {{ border: 1px solid #c8ccd4; padding: 2px 5px; }}
table.pe-table th {{ background: #eef1f5; }}
.pe-table-scroll {{ overflow: visible !important; }}
h1, h2, h3, h4, h5 {{ break-after: avoid; }}
[data-testid="stMetric"] {{ padding: 4px 8px !important; }}
h1 {{ font-size: 1.6rem !important; padding: 0 !important; }}
"""

def _scoped(prefix: str, rules: str) -> str:
    """The same rules, each selector prefixed (the button's on-screen print view)."""
    out = []
    for block in rules.strip().split("}"):
        if "{" not in block:
            continue
        sel, body = block.split("{", 1)
        sels = ", ".join(f"{prefix} {s.strip()}" for s in _split_selectors(sel))
        out.append(f"{sels} {{{body}}}")
    return "\n".join(out)


def _split_selectors(sel: str) -> list[str]:
    """Split a selector list on top-level commas (not those inside :has(...))."""
    parts, depth, cur = [], 0, ""
    for ch in sel:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p for p in (x.strip() for x in parts) if p]


_CSS = f"""<style>
@page {{ size: A4 landscape; margin: {PAGE_MARGIN_MM}mm; }}
.{ONLY_PRINT}, [data-testid="stElementContainer"]:has(.{ONLY_PRINT}) {{ display: none; }}
.pe-print-note {{ font-size: 11px; color: #555; margin: 2px 0 6px; }}
@media print {{
  html, body {{ -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
  {_RULES}
  [data-testid="stMainBlockContainer"] {{ width: 100% !important; zoom: {PRINT_ZOOM}; }}
}}
{_scoped(f"body.{PRINT_CLASS}", _RULES)}
@media screen {{
  /* Charts re-measure at the width the paper holds, without zoom (Plotly
     measures text wrongly inside a zoomed box); paper then zooms it to fit. */
  body.{PRINT_CLASS} [data-testid="stMainBlockContainer"] {{
      width: {PRINT_INNER_PX}px !important; flex: 0 0 auto !important; }}
}}
</style>"""



# The button: fixed text only (no data), so running its script is safe.
_BUTTON = f"""
<div class="{ONLY_SCREEN}" style="display:flex;justify-content:flex-end">
<button type="button" id="pe-pdf" title="按 A4 横向排版后打开浏览器的打印对话框，选择“另存为 PDF”"
 style="border:1px solid rgba(49,51,63,.2);border-radius:.5rem;background:#fff;
        padding:.25rem .75rem;font:inherit;font-size:.875rem;cursor:pointer;color:inherit;
        white-space:nowrap">
导出 PDF</button></div>
<script>
(function () {{
  const btn = document.getElementById("pe-pdf");
  if (!btn || btn.dataset.ready) return;
  btn.dataset.ready = "1";
  const done = () => {{
    document.body.classList.remove("{PRINT_CLASS}");
    window.dispatchEvent(new Event("resize"));
  }};
  window.addEventListener("afterprint", done, {{ once: false }});
  btn.addEventListener("click", () => {{
    document.body.classList.add("{PRINT_CLASS}");
    window.dispatchEvent(new Event("resize"));
    // Give Plotly and Streamlit time to re-measure at the paper's width.
    setTimeout(() => {{ window.print(); }}, 900);
  }});
}})();
</script>"""


def print_layout() -> None:
    """The print CSS (sent to the page's event container: takes no space)."""
    st.html(_CSS)


def pdf_button() -> None:
    """The "导出 PDF" control for the current page and filters."""
    st.html(_BUTTON, unsafe_allow_javascript=True)


def print_table(df: pd.DataFrame, columns: Mapping[str, str],
                formats: Mapping[str, tables.Formatter] | None = None, *, key: str,
                limit: int | None = None, title: str | None = None) -> None:
    """The print twin of an ``st.dataframe``: a plain table (perfeval.ui.tables),
    hidden on screen, printed instead of the grid. ``limit`` caps the rows
    printed (a note says so)."""
    shown = df if limit is None else df.head(limit)
    note = ""
    if limit is not None and len(df) > limit:
        note = f"打印前 {limit:,} 行（屏幕上共 {len(df):,} 行）；全部数据请在页面上导出 Excel。"
    tables.show(shown, columns, formats, key=key, print_only=True, title=title or "", note=note)
