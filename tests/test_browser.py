"""The dashboard in Chromium: ``streamlit run app.py`` on a free port against a
demo database. Every page opens with its key Chinese text and no exception
box; the year filter writes the URL and a copied URL reopens the same view;
an Excel download opens with openpyxl. Screenshots go to test-artifacts/."""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl
import pytest

from perfeval.demo import build_demo
from perfeval.scoring import ensure_scores
from perfeval.store import Store
from tests.conftest import (
    CHROMIUM_ARGS,
    SIDEBAR,
    browser_or_skip,
    choose,
    script_done,
    streamlit_server,
    wait_caption,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).parent.parent
ARTIFACTS = ROOT / "test-artifacts"
# url path → (title, texts that must show outside charts and grids, charts drawn)
PAGES = {
    "": ("总览", ["参评部门", "平均计算得分", "等级分布", "自评分虚高最多", "最新未完成目标"], 2),
    "budget": ("预算执行", ["总预算执行率", "执行率低于 90%", "执行率热力图"], 2),
    "unmet": ("未完成目标", ["未完成指标", "连续两年及以上未完成", "一级指标"], 0),
    "trends": ("趋势对比", ["年度对比", "与同类部门中位数比较"], 2),
    "profile": ("部门画像", ["计算得分", "自评差额", "年度目标与绩效指标", "存在的问题"], 2),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    chromium = browser_or_skip()
    tmp = tmp_path_factory.mktemp("browser")
    db = tmp / "demo.duckdb"
    with Store(db) as s:
        build_demo(s)  # with the real sample report
        ensure_scores(s)
    with streamlit_server(db, tmp / "server.log") as (base, _):
        yield base, chromium


def _settle(page) -> None:
    """Wait until the script run is over and the charts have drawn."""
    page.wait_for_selector('[data-testid="stMain"]', timeout=30_000)
    script_done(page)
    page.wait_for_function("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .every(p => p.querySelector('.main-svg'))""", timeout=60_000)


def _no_exception(page) -> None:
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, boxes.first.inner_text()


def test_dashboard_in_browser(server):
    from playwright.sync_api import expect, sync_playwright

    base, chromium = server
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 2400},
                                      accept_downloads=True, locale="zh-CN")
        page = context.new_page()
        for path, (title, texts, charts) in PAGES.items():
            page.goto(f"{base}/{path}")
            page.get_by_role("heading", name=title, exact=True).wait_for(timeout=30_000)
            _settle(page)
            if charts:  # Plotly draws after the script run ends
                page.locator(".js-plotly-plot .main-svg").nth(charts - 1).wait_for(
                    timeout=60_000)
                page.wait_for_timeout(500)
            # Streamlit scrolls inside the page: a tall viewport shows it whole.
            page.screenshot(path=str(ARTIFACTS / f"page-{path or 'overview'}.png"))
            _no_exception(page)
            body = page.locator('[data-testid="stMain"]').inner_text()
            for text in texts:
                assert text in body, (path, text)
            assert "演示数据" in body
            assert page.locator(".js-plotly-plot").count() >= charts, path
            # Every chart button speaks Chinese; none uploads the chart (plotly.js 4's
            # "Share chart..." sends the data to Plotly Cloud).
            titles = page.evaluate("""() => [...document.querySelectorAll('.modebar-btn')]
                .map(b => b.getAttribute('data-title'))""")
            assert bool(titles) == bool(charts), path
            assert all(re.search("[\u4e00-\u9fff]", t) for t in titles), (path, titles)

        # The year filter writes the URL; the copied URL reopens the same view.
        page.goto(f"{base}/unmet")
        _settle(page)
        # The 部门 list offers departments only: no English bulk action.
        script_done(page)
        page.locator(SIDEBAR).get_by_role("combobox", name="部门", exact=True).click()
        page.get_by_role("option").first.wait_for(timeout=15_000)
        options = page.get_by_role("option").all_inner_texts()
        assert options and not [o for o in options if "Select" in o], options
        page.keyboard.press("Escape")
        assert "year=" not in page.url  # the default (latest) year is not written
        choose(page, "年度", "2022")
        page.wait_for_url("**year=2022**", timeout=15_000)
        wait_caption(page, "2022 年度")
        _no_exception(page)
        copied = page.url
        other = context.new_page()
        other.goto(copied)
        other.get_by_role("heading", name="未完成目标", exact=True).wait_for(timeout=30_000)
        wait_caption(other, "2022 年度")
        expect(other.locator(SIDEBAR).get_by_role("combobox", name="年度", exact=True)
               ).to_have_value("2022", timeout=30_000)
        other.screenshot(path=str(ARTIFACTS / "copied-url.png"))

        # The filter survives a page switch through the navigation.
        other.locator('[data-testid="stSidebar"] [data-testid="stPageLink"] a', has_text="预算执行").click()
        other.get_by_role("heading", name="预算执行", exact=True).wait_for(timeout=30_000)
        wait_caption(other, "2022 年度")
        assert "year=2022" in other.url

        # A click on a department's bar opens 部门画像 with the department in the URL.
        page.goto(f"{base}/?year=2022")
        _settle(page)
        page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
        box = page.locator(".js-plotly-plot").first.locator("g.trace.bars path").first.bounding_box()
        # Plotly hit-tests under its drag layer: a real mouse click near the bar's
        # end (the bar's box starts left of the visible axis range).
        x, y = box["x"] + box["width"] - 8, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.wait_for_timeout(300)
        page.mouse.click(x, y)
        page.wait_for_url("**/profile?**dept=**", timeout=20_000)
        page.get_by_role("heading", name="部门画像", exact=True).wait_for(timeout=30_000)
        _settle(page)
        _no_exception(page)
        assert "year=2022" in page.url
        assert "· 2022 年度" in page.locator('[data-testid="stMain"]').inner_text()
        page.wait_for_timeout(1500)  # the tables' canvas grids draw after the run
        page.screenshot(path=str(ARTIFACTS / "click-to-profile.png"))
        page.goto(f"{base}/unmet?year=2022")
        _settle(page)

        # An Excel download opens with openpyxl, filters on the first sheet.
        with page.expect_download(timeout=30_000) as dl:
            page.get_by_role("button", name="下载 Excel").first.click()
        data = Path(dl.value.path()).read_bytes()
        wb = openpyxl.load_workbook(io.BytesIO(data))
        assert wb.sheetnames[0] == "筛选条件"
        cond = {r[0]: r[1] for r in wb["筛选条件"].iter_rows(values_only=True) if r[0]}
        assert cond["年度"] == "2022"
        sheet = wb.worksheets[1]
        assert sheet.cell(1, 1).value == "部门" and sheet.max_row > 1
        browser.close()
