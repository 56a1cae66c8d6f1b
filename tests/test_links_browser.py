"""Links in Chromium against a real ``streamlit run app.py``.

A deep link with filters as the very first request after a start opens the
real app (its own navigation, the filters set), also when reading needs a
login. Every kind of click-through (horizontal bar, grouped bar, scatter,
heatmap, line, table row) opens 部门画像 with every filter in the URL, adds
one history entry, and one Back restores the previous page and filters."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from perfeval import users
from perfeval.demo import build_demo
from perfeval.queries import filter_options
from perfeval.scoring import ensure_scores
from perfeval.store import Store
from tests.conftest import CHROMIUM_ARGS, browser_or_skip, streamlit_server

pytestmark = pytest.mark.browser

ROOT = Path(__file__).parent.parent
ARTIFACTS = ROOT / "test-artifacts"
SIDEBAR_NAV = '[data-testid="stSidebar"] [data-testid="stPageLink"]'
CAPTION = '[data-testid="stMain"] [data-testid="stCaptionContainer"]'


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    browser_or_skip()
    db = tmp_path_factory.mktemp("links") / "demo.duckdb"
    with Store(db) as s:
        build_demo(s)
        ensure_scores(s)
        users.add_user(s, "reader", "Reader-pass-2024", users.VIEWER, actor=None)
        region = filter_options(s)["regions"][0]
    return db, region


def settle(page, quiet_ms: int = 1200) -> None:
    """Until the script run is over: no status widget, no websocket frame for
    ``quiet_ms``, and every Plotly chart drawn."""
    page.wait_for_function("""(quiet) => {
        const app = document.querySelector('[data-testid="stApp"]');
        const w = window.__perfevalWs;
        return app && app.dataset.testScriptState === "notRunning"
            && !document.querySelector('[data-testid="stSkeleton"]')
            && w.count > 0 && Date.now() - w.last > quiet; }""", arg=quiet_ms, timeout=120_000)
    page.wait_for_function("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .every(p => p.querySelector('.main-svg'))""", timeout=60_000)


def watch_websocket(page) -> None:
    page.add_init_script("""
      window.__perfevalWs = {last: Date.now(), count: 0};
      const Orig = window.WebSocket;
      window.WebSocket = class extends Orig {
        constructor(...a) {
          super(...a);
          this.addEventListener('message', () => {
            window.__perfevalWs.last = Date.now(); window.__perfevalWs.count += 1; });
        }
      };""")


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def path(url: str) -> str:
    return urlsplit(url).path.strip("/")


def open_browser(p, chromium, **kw):
    browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    context = browser.new_context(viewport=kw.pop("viewport", {"width": 1440, "height": 1800}),
                                  locale="zh-CN", **kw)
    page = context.new_page()
    watch_websocket(page)
    return browser, page


@pytest.mark.parametrize("read_login", [False, True], ids=["open", "read-login"])
def test_deep_link_is_the_first_request(demo_db, tmp_path, monkeypatch, read_login):
    from playwright.sync_api import sync_playwright

    chromium = browser_or_skip()
    db, region = demo_db
    if read_login:
        monkeypatch.setenv("PERFEVAL_READ_LOGIN", "1")
    ARTIFACTS.mkdir(exist_ok=True)
    with streamlit_server(db, tmp_path / "server.log") as (base, _), sync_playwright() as p:
        browser, page = open_browser(p, chromium)
        page.goto(f"{base}/unmet?year=2022&region={region}")  # the server's first request
        if read_login:  # nothing from the database before the login (issue 13, item 4)
            page.get_by_label("用户名").wait_for(timeout=120_000)
            settle(page)
            assert "需要登录后查看" in page.locator('[data-testid="stMain"]').inner_text()
            assert region not in page.locator('[data-testid="stSidebar"]').inner_text()
            assert query(page.url) == {"year": ["2022"], "region": [region]}
            page.get_by_label("用户名").fill("reader")
            page.get_by_label("密码").fill("Reader-pass-2024")
            page.get_by_role("button", name="登录", exact=True).click()
            page.get_by_text("已登录").wait_for(timeout=30_000)
        page.locator(SIDEBAR_NAV).first.wait_for(timeout=120_000)  # the app's own links
        settle(page)
        nav = page.locator(SIDEBAR_NAV).all_inner_texts()
        assert any("未完成目标" in t for t in nav) and any("总览" in t for t in nav), nav
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
        assert "筛选条件" in sidebar and "budget" not in sidebar
        year_box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
        shown = year_box.inner_text() + " ".join(
            year_box.locator("input").evaluate_all("els => els.map(e => e.value)"))
        assert "2022" in shown, shown
        values = page.locator('[data-testid="stSidebar"] input').evaluate_all(
            "els => els.map(e => e.value)")
        assert region in sidebar + " ".join(values)
        assert query(page.url) == {"year": ["2022"], "region": [region]}
        page.get_by_role("heading", name="未完成目标", exact=True).wait_for(timeout=30_000)
        caption = page.locator(CAPTION).first.inner_text()
        assert "2022 年度" in caption and region in caption
        assert query(page.url) == {"year": ["2022"], "region": [region]}
        page.screenshot(path=str(ARTIFACTS / f"deep-link-{'login' if read_login else 'open'}.png"))
        browser.close()


def point_xy(chart, trace: int, index: int = 0, inset: float = 0) -> tuple[float, float]:
    """Page coordinates of point ``index`` of ``trace`` in a drawn Plotly
    chart, from Plotly's own axes (``inset``: pixels back from a bar's end)."""
    return chart.evaluate("""(gd, [t, i, inset]) => {
        const tr = gd._fullData[t], L = gd._fullLayout;
        const xa = L["xaxis" + tr.xaxis.slice(1)], ya = L["yaxis" + tr.yaxis.slice(1)];
        const r = gd.getBoundingClientRect();
        return [r.left + xa._offset + xa.d2p(tr.x[i]) - inset,
                r.top + ya._offset + ya.d2p(tr.y[i])]; }""", [trace, index, inset])


def widest(chart, selector: str) -> tuple[float, float]:
    """Near the end of the widest bar (a bar of zero width cannot be hit)."""
    boxes = [b for b in (el.bounding_box() for el in chart.locator(selector).all()) if b]
    box = max(boxes, key=lambda b: b["width"] * b["height"])
    return box["x"] + box["width"] - 6, box["y"] + box["height"] / 2


def click_at(page, xy) -> None:
    """A real mouse click (Plotly hit-tests under its drag layer)."""
    page.mouse.move(*xy)
    page.wait_for_timeout(300)
    page.mouse.click(*xy)


def click_table_row(page, table, row: int = 0) -> None:
    """Select a row of a dataframe through its row-selection column."""
    box = table.bounding_box()
    page.mouse.click(box["x"] + 14, box["y"] + 35 * (row + 1) + 17)


def expect_profile(page, before_url: str, before_len: int, wanted: dict) -> None:
    page.wait_for_url("**/profile?**", timeout=60_000)
    page.get_by_role("heading", name="部门画像", exact=True).wait_for(timeout=120_000)
    settle(page)
    got = query(page.url)
    assert got.pop("dept"), page.url
    assert got == wanted, (page.url, wanted)
    assert page.evaluate("history.length") == before_len + 1
    assert page.locator('[data-testid="stException"]').count() == 0
    page.go_back()
    settle(page)
    assert page.url == before_url
    assert page.evaluate("history.length") == before_len + 1


KINDS = {
    # id: (page, what to click: ("chart", n, trace or bar selector), ("table", n): a
    # data grid, ("list", n): a plain table (perfeval.ui.tables))
    "ranking-bar": ("", ("chart", 0, "g.trace.bars path")),
    "scatter": ("", ("chart", 1, None)),
    "grouped-bar": ("budget", ("chart", 0, "g.trace.bars path")),
    "heatmap": ("budget", ("chart", 1, 1)),
    "line": ("trends", ("chart", 0, 0)),
    "median-bar": ("trends", ("chart", 1, "g.trace.bars path")),
    "table-unmet": ("unmet", ("table", 0)),
    "table-budget": ("budget", ("table", 0)),
    "table-trends": ("trends", ("table", 0)),
    "list-gaps": ("", ("list", 0)),
    "list-unmet": ("", ("list", 1)),
    "list-unmet-keyboard": ("", ("list", 1, "Enter")),  # Tab to a row, Enter opens it
}


@pytest.fixture(scope="module")
def server(demo_db, tmp_path_factory):
    db, region = demo_db
    with Store(db) as s:
        depts = filter_options(s)["departments"]
    with streamlit_server(db, tmp_path_factory.mktemp("srv") / "server.log") as (base, _):
        yield base, region, depts


@pytest.fixture(scope="module")
def browser_context(server):
    """One browser for the click-throughs: each test opens its own tab (its own
    Streamlit session); the tabs share the HTTP cache, so Plotly's 4.7 MB is
    compiled once, not once per test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = open_browser(p, browser_or_skip())
        page.close()
        yield page.context
        browser.close()


@pytest.mark.parametrize("kind", list(KINDS))
def test_click_through_keeps_filters_and_one_back(server, browser_context, kind):
    base, region, depts = server
    where, what = KINDS[kind]
    params = {"year": ["2023"], "cmp": ["2021"], "region": [region]}
    if where == "trends":  # lines per department need chosen departments
        params = {"year": ["2023"], "cmp": ["2021"], "departments": depts[:3]}
    qs = urlencode(params, doseq=True)
    page = browser_context.new_page()
    watch_websocket(page)
    try:
        page.goto(f"{base}/{where}?{qs}")
        settle(page)
        start_url, start_len = page.url, page.evaluate("history.length")
        assert query(start_url) == params
        if what[0] == "table":
            table = page.locator('[data-testid="stDataFrame"]').nth(what[1])
            table.wait_for(timeout=120_000)
            settle(page)
            table.scroll_into_view_if_needed()
            page.wait_for_timeout(800)  # the grid draws on a canvas after the run
            click_table_row(page, table)
        elif what[0] == "list":
            row = page.locator(".pe-table-box").nth(what[1]).locator("tr.pe-click").first
            row.wait_for(timeout=120_000)
            settle(page)
            row.scroll_into_view_if_needed()
            if len(what) > 2:
                row.focus()
                page.keyboard.press(what[2])
            else:
                row.click()
        else:
            chart = page.locator(".js-plotly-plot").nth(what[1])
            chart.locator(".main-svg").first.wait_for(timeout=120_000)
            settle(page)
            chart.scroll_into_view_if_needed()
            page.wait_for_timeout(300)
            if isinstance(what[2], str):
                click_at(page, widest(chart, what[2]))
            elif kind == "scatter":  # a trace that has points
                n = chart.evaluate("gd => gd._fullData.findIndex(t => t.x && t.x.length)")
                click_at(page, point_xy(chart, n))
            else:
                click_at(page, point_xy(chart, what[2]))
        expect_profile(page, start_url, start_len, params)
    finally:
        page.close()
