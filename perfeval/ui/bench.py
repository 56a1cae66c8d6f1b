"""Page timings for ``perfeval bench``: each dashboard page run with
Streamlit's AppTest, once with every query cache empty and then rerun.

``bench_pages(db_path)`` returns seconds per page: ``<page>`` is the rerun (a
leader clicking again: cached queries, rendering), ``<page>_cold`` the first
view of the page with the query caches emptied (what a new filter value
costs), ``app`` the entry point (sidebar filters + 总览) rerun. Imports and
the store's opening are warmed up first and not counted.

``bench_browser(db_path)``: first views and a filter change in Chromium, the
dashboard served as ``make run`` serves it (perfeval.ui.serve.start_server)
beside a trivial page, as seconds and ratios; ``chart_ref`` is the trivial
page with one small chart and grid (Streamlit's element code alone).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = {"app": "app.py", "overview": "pages/overview.py", "budget": "pages/budget.py",
         "unmet": "pages/unmet.py", "trends": "pages/trends.py", "profile": "pages/profile.py"}


def bench_pages(db_path: str | Path, *, timeout: float = 120) -> dict[str, float]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["PERFEVAL_DB"] = str(db_path)
    AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout).run()  # warm-up
    out: dict[str, float] = {}
    for name, page in PAGES.items():
        st.cache_data.clear()
        at = AppTest.from_file(str(ROOT / page), default_timeout=timeout)
        start = time.perf_counter()
        at.run()
        out[f"{name}_cold"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        at.run()
        out[name] = round(time.perf_counter() - start, 3)
        if at.exception:
            raise RuntimeError(f"{name}: {at.exception[0].value}")
    return out


# -- the browser: what a user waits for ------------------------------------------

TRIVIAL_PAGE = '''import streamlit as st
st.set_page_config(page_title="基准", layout="wide")
with st.sidebar:
    st.selectbox("年度", [2024, 2023, 2022], key="year")
st.title("基准页面")
st.write("一个最简单的 Streamlit 页面，用作浏览器计时的参照。")
'''
# The trivial page plus one small chart (perfeval.ui.plot's component, with its
# plotly.js bundle) and one small data grid: what loading the element code a
# dashboard page needs costs. Measured like the pages, as ``chart_ref_*``: the
# part of a page's ratio that no page content can remove.
CHART_REF_PAGE = TRIVIAL_PAGE + '''import pandas as pd
import plotly.graph_objects as go
from perfeval.ui import plot
plot.show(plot.figure_data(go.Figure(go.Bar(x=[1, 2, 3], y=[3, 1, 2]))), "c")
st.dataframe(pd.DataFrame({"a": [1, 2, 3], "b": ["甲", "乙", "丙"]}), key="d", on_select="rerun")
'''
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
BROWSER_PAGES = {"overview": "", "budget": "budget", "unmet": "unmet", "trends": "trends",
                 "profile": "profile"}
# Set before any page script runs: the time of the last websocket message and
# of the last change to the page (charts and grids draw after the last message).
_WATCH = """
window.__pb = {ws: Date.now(), dom: Date.now(), n: 0};
const Orig = window.WebSocket;
window.WebSocket = class extends Orig {
  constructor(...a) {
    super(...a);
    this.addEventListener('message', () => { window.__pb.ws = Date.now(); window.__pb.n += 1; });
  }
};
// Elements added or removed in the app, outside charts and grids: once drawn,
// Plotly and the data grid keep adjusting their own layers (resizes) for a long
// while, and both measure text in hidden nodes of their own outside the app
// (Plotly's tester <svg> in <body>, the grid's <canvas> in <html>).
const seen = (n) => {
  const e = n && (n.nodeType === 1 ? n : n.parentElement);
  return e && e.closest && e.closest('[data-testid="stApp"]')
      && !e.closest('.js-plotly-plot, [data-testid="stDataFrame"]');
};
new MutationObserver((ms) => {
  if (ms.some(m => seen(m.target))) window.__pb.dom = Date.now();
}).observe(document, {subtree: true, childList: true, characterData: true});
// ...but a chart (re)drawn counts: perfeval.ui.plot's component marks it so.
new MutationObserver(() => { window.__pb.dom = Date.now(); })
  .observe(document, {subtree: true, attributes: true, attributeFilter: ["data-drawn"]});
"""
_DONE = """(quiet) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const w = window.__pb, now = Date.now();
  const drawn = [...document.querySelectorAll('.js-plotly-plot')]
      .every(p => p.querySelector('.main-svg'));
  // a skeleton stands for an element whose code is still loading
  const loading = document.querySelector('[data-testid="stSkeleton"]');
  return app && app.dataset.testScriptState === "notRunning" && w.n > 0 && drawn && !loading
      && now - w.ws > quiet && now - w.dom > quiet; }"""


def _first_view(browser, url: str, quiet_ms: int, timeout_ms: int) -> tuple[float, object]:
    """Seconds from the start of navigation in a new session (a new browser
    context) until the page is finished: script run over, charts drawn."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    page.add_init_script(_WATCH)
    page.goto(url)
    page.wait_for_function(_DONE, arg=quiet_ms, timeout=timeout_ms)
    secs = page.evaluate("(Math.max(window.__pb.ws, window.__pb.dom) - performance.timeOrigin)"
                         " / 1000")
    return secs, page


def _change_year(page, year: str, quiet_ms: int, timeout_ms: int) -> float:
    """Seconds from choosing another year in the sidebar until finished again."""
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    option = page.get_by_role("option", name=year, exact=True)
    option.wait_for(timeout=timeout_ms)
    start = page.evaluate("Date.now()")
    option.click()
    page.wait_for_function("(t) => window.__pb.ws > t", arg=start, timeout=timeout_ms)
    page.wait_for_function(_DONE, arg=quiet_ms, timeout=timeout_ms)
    return page.evaluate("(t) => (Math.max(window.__pb.ws, window.__pb.dom) - t) / 1000", start)


def bench_browser(db_path: str | Path, *, repeats: int = 3, pages: dict | None = None,
                  quiet_ms: int = 1200, timeout: float = 180) -> dict[str, float]:
    """First view of each page and a year change, in Chromium, beside a trivial
    Streamlit page served in the same run: seconds (medians of ``repeats``)
    and the ratios to the trivial page's. Raises RuntimeError without
    Playwright or Chromium."""
    import contextlib
    import statistics
    import tempfile

    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise RuntimeError("浏览器计时需要 playwright（pip install playwright）") from exc
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"浏览器计时需要 Chromium：没有找到 {CHROMIUM}")
    pages = BROWSER_PAGES if pages is None else pages
    from perfeval.queries import filter_options
    from perfeval.store import Store
    from perfeval.ui.serve import start_server

    with Store(db_path, read_only=True) as s:
        years = filter_options(s)["years"]
    other = str(years[1] if len(years) > 1 else years[0])  # the year a user switches to
    timeout_ms = int(timeout * 1000)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="perfeval-browser-") as tmp:
        trivial = Path(tmp) / "trivial.py"
        trivial.write_text(TRIVIAL_PAGE, encoding="utf-8")
        chart_ref = Path(tmp) / "chart_ref.py"
        chart_ref.write_text(CHART_REF_PAGE, encoding="utf-8")
        # The dashboard as ``make run`` serves it (perfeval.ui.serve: the session
        # route, the writer thread), the reference with plain ``streamlit run``.
        with contextlib.ExitStack() as servers:
            app_base, _ = servers.enter_context(
                start_server(Path(tmp) / "app.log", db=Path(db_path)))
            ref_base, _ = servers.enter_context(
                start_server(Path(tmp) / "trivial.log", script=trivial))
            chart_base, _ = servers.enter_context(
                start_server(Path(tmp) / "chart_ref.log", script=chart_ref))
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                # Warm-up, not counted: the servers' first runs and the browser's caches.
                for url in (ref_base, chart_base,
                            *(f"{app_base}/{path}" for path in pages.values())):
                    _, page = _first_view(browser, url, quiet_ms, timeout_ms)
                    page.context.close()
                targets = {"trivial": (ref_base, "2023"), "chart_ref": (chart_base, "2023"),
                           **{name: (f"{app_base}/{path}", other) for name, path in pages.items()}}
                for name, (url, year) in targets.items():
                    first, change = [], []
                    for _ in range(repeats):
                        secs, page = _first_view(browser, url, quiet_ms, timeout_ms)
                        first.append(secs)
                        change.append(_change_year(page, year, quiet_ms, timeout_ms))
                        page.context.close()
                    out[f"{name}_first_s"] = round(statistics.median(first), 3)
                    out[f"{name}_change_s"] = round(statistics.median(change), 3)
                browser.close()
    for name in ("chart_ref", *pages):
        out[f"{name}_first_ratio"] = round(out[f"{name}_first_s"] / out["trivial_first_s"], 2)
        out[f"{name}_change_ratio"] = round(out[f"{name}_change_s"] / out["trivial_change_s"], 2)
    return out
