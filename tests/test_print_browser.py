"""Print and PDF in Chromium: 总览's "导出 PDF" (page.pdf() after the button
has laid the page out for paper) gives at most two A4 landscape pages with no
sidebar or controls, whole charts and tables with every column filled;
未完成目标 and 部门画像 print landscape without the sidebar too (Ctrl+P, CSS
only). The PDFs and their PNG pages (pdftoppm) go to test-artifacts/print/."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from pathlib import Path

import pdfplumber
import pytest

from perfeval import queries
from perfeval.demo import build_demo
from perfeval.scoring import ensure_scores
from perfeval.store import Store
from perfeval.ui import printing
from tests.conftest import CHROMIUM_ARGS, browser_or_skip, streamlit_server

pytestmark = pytest.mark.browser

ROOT = Path(__file__).parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "print"
A4 = (841.9, 595.3)  # points, landscape
SIDEBAR_TEXTS = ("筛选条件", "对比年度", "审计日志")  # sidebar only
# The embedded CJK font maps some glyphs to radicals (部⻔, 演⽰): NFKC folds the
# Kangxi radicals, this the simplified-form radicals it leaves.
RADICALS = str.maketrans("⻔⻓⻅⻄⻘⻛⻋⻚⻜⻢⻬⻝⻩⻮⻰⻉⻈", "门长见西青风车页飞马齐食黄龟龙钅讠")
CONTROL_TEXTS = ("导出 PDF", "下载 Excel", "查看预算执行", "得分最高", "download", "science",
                 "arrow_forward")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    chromium = browser_or_skip()
    tmp = tmp_path_factory.mktemp("print")
    db = tmp / "demo.duckdb"
    with Store(db) as s:
        build_demo(s, with_sample=False)
        ensure_scores(s)
        gaps = queries.department_scores(s, queries.Filters(year=2024), None, order="gap",
                                         limit=5)
    with streamlit_server(db, tmp / "server.log") as (base, _):
        yield base, chromium, gaps


def _settle(page, charts: int) -> None:
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=120_000)
    page.wait_for_function(  # the run is over and nothing is still a placeholder
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=120_000)
    if charts:
        page.wait_for_function(
            f"() => document.querySelectorAll('.pe-chart .main-svg')"
            f".length >= {charts}", timeout=120_000)
    page.wait_for_timeout(1000)


def _pages_as_png(pdf: Path) -> list[Path]:
    if not shutil.which("pdftoppm"):
        return []
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(pdf.with_suffix(""))],
                   check=True, timeout=120)
    return sorted(pdf.parent.glob(pdf.stem + "-*.png"))


def _check_pdf(pdf: Path) -> tuple[list, str]:
    with pdfplumber.open(pdf) as doc:
        sizes = [(float(p.width), float(p.height)) for p in doc.pages]
        text = "\n".join(p.extract_text() or "" for p in doc.pages)
    text = unicodedata.normalize("NFKC", text).translate(RADICALS)
    for w, h in sizes:
        assert w > h, f"portrait page {w}×{h}"
        assert abs(w - A4[0]) < 2 and abs(h - A4[1]) < 2, (w, h)
    assert not [t for t in SIDEBAR_TEXTS if t in text], "the sidebar printed"
    assert not [t for t in CONTROL_TEXTS if t in text], "controls or icon names printed"
    return sizes, text


def test_overview_pdf_two_landscape_pages(server):
    from playwright.sync_api import sync_playwright

    base, chromium, gaps = server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / "overview.pdf"
    for old in ARTIFACTS.glob("overview*"):
        old.unlink()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{base}/?year=2024", timeout=120_000)
            _settle(page, charts=2)
            # The button lays the page out for paper, then calls window.print():
            # record the call instead of opening the dialog, then print to PDF.
            page.evaluate("window.print = () => { window.__printed = true; }")
            page.click("#pe-pdf")
            page.wait_for_function("window.__printed === true", timeout=30_000)
            page.wait_for_timeout(500)
            # Charts whole: in the paper layout (the button's on-screen print view,
            # what the PDF shows) each chart is drawn at its box's size, inside the page.
            boxes = page.evaluate("""() => {
                const main = document.querySelector('[data-testid="stMainBlockContainer"]')
                    .getBoundingClientRect();
                return [...document.querySelectorAll('.pe-chart')].map(c => {
                    const r = c.getBoundingClientRect(),
                          s = c.querySelector('.main-svg');
                    return [r.left - main.left, r.right - main.left, r.width,
                            parseFloat(s.getAttribute('width')),
                            parseFloat(s.getAttribute('height')), main.width]; }); }""")
            assert len(boxes) == 2
            for left, right, width, svg_w, svg_h, main_w in boxes:
                assert svg_h >= 300 and abs(svg_w - width) <= 2, (svg_w, width)
                assert left >= -1 and right <= main_w + 1
                assert main_w == pytest.approx(printing.PRINT_INNER_PX, abs=2)
            page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
        finally:
            browser.close()
    sizes, text = _check_pdf(pdf)
    assert 1 <= len(sizes) <= 2, f"{len(sizes)} pages"
    for needed in ("总览", "需要关注", "参评部门", "部门计算得分排名", "预算执行率与计算得分",
                   "自评分虚高最多的 5 个部门", "最新未完成目标"):
        assert needed in text, needed
    # The gap table prints whole: the 自评得分 column holds the values.
    first = gaps.iloc[0]
    assert f"{first['self_score']:.1f}" in text and f"{first['gap']:+.2f}" in text
    pngs = _pages_as_png(pdf)
    if shutil.which("pdftoppm"):
        assert len(pngs) == len(sizes)


@pytest.mark.parametrize("path,needed", [("unmet?year=2024", ["未完成目标", "连续未完成"]),
                                         ("profile?year=2024", ["部门画像", "年度目标与绩效指标",
                                                                "三级指标"])])
def test_other_pages_print_landscape_without_sidebar(server, path, needed):
    from playwright.sync_api import sync_playwright

    base, chromium, _ = server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / f"{path.split('?')[0]}.pdf"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{base}/{path}", timeout=120_000)
            _settle(page, charts=2 if path.startswith("profile") else 0)
            page.wait_for_selector("#pe-pdf", timeout=60_000)  # the 导出 PDF control
            # its table is there: a grid's print twin (hidden on screen) or a plain table
            page.wait_for_selector("table.pe-table", state="attached", timeout=120_000)
            _settle(page, charts=0)
            page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)  # Ctrl+P
        finally:
            browser.close()
    sizes, text = _check_pdf(pdf)
    assert sizes
    for t in needed:
        assert t in text, t
    _pages_as_png(pdf)


def test_phone_shows_headline_and_four_cards_before_the_rest(server):
    """390×844: the headline, then the first four KPI cards, then the charts;
    cards 5–8 follow the content instead of stacking before it."""
    from playwright.sync_api import sync_playwright

    base, chromium, _ = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        page.goto(base + "/")
        _settle(page, charts=2)
        tops = page.evaluate("""() => {
          const top = (e) => e.getBoundingClientRect().top + window.scrollY;
          const cards = [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stMetric"]')];
          return {headline: top(document.querySelector('.st-key-ov_headline')),
                  cards: cards.map(top),
                  chart: Math.min(...[...document.querySelectorAll('.pe-chart')].map(top))};
        }""")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "overview-390.png"))
        browser.close()
    cards = tops["cards"]
    assert len(cards) == 8
    assert tops["headline"] < min(cards[:4]) and max(cards[:4]) < tops["chart"] < min(cards[4:])


def test_no_card_text_is_cut_at_1024(server):
    """1024×768 (an iPad): no value, label or change of a KPI card is cut: no
    box inside a card that clips its content is narrower than that content."""
    from playwright.sync_api import sync_playwright

    base, chromium, _ = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        page.goto(base + "/")
        _settle(page, charts=2)
        cut = page.evaluate("""() => [...document.querySelectorAll(
            '[data-testid="stMain"] [data-testid="stMetric"] *')]
          .filter(e => getComputedStyle(e).overflowX !== 'visible'
                       && e.scrollWidth > e.clientWidth + 1)
          .map(e => e.textContent)""")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "overview-1024.png"))
        browser.close()
    assert cut == []
