"""Imported text is never markup (issue 13, item 1).

Unit level: :func:`perfeval.ui.text.md` leaves no Markdown special unescaped
and keeps the text; chart labels are HTML-escaped. In the browser: a real
Streamlit server over a database whose department, region, kind, problem,
measure and reason texts hold Markdown images, links, raw HTML and bare URLs
pointing at a local listener; the pages are opened in Chromium, the listener
must see no request and the DOM must hold no link or image from data."""

from __future__ import annotations

import string
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfeval.scoring import ensure_scores
from perfeval.store import Store, frames_from
from perfeval.ui import charts
from perfeval.ui.text import JOINER, md, md_join, md_list

from .conftest import CHROMIUM_ARGS, ROOT, browser_or_skip, small_evaluation, streamlit_server


def _unescape(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in string.punctuation:
            out.append(s[i + 1])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


@given(st.text())
def test_md_escapes_every_special_and_keeps_the_text(text):
    out = md(text)
    assert "\n" not in out and "\t" not in out and "\r" not in out
    assert _unescape(out).replace(JOINER, "") == " ".join(text.split()).replace(JOINER, "")
    i = 0
    while i < len(out):  # every punctuation character is preceded by its escape
        if out[i] == "\\":
            assert out[i + 1] in string.punctuation
            i += 2
            continue
        assert out[i] not in string.punctuation, (text, out)
        i += 1


def test_md_helpers_on_real_attacks():
    assert md("![x](http://e/x.png)") == "\\!\\[x\\]\\(http\u2060\\:\\/\\/e\\/x\\.png\\)"
    assert JOINER in md("www.e.cn") and JOINER in md("a@b.cn") and JOINER in md("HTTPS://e")
    assert md("# 标题\n- 项") == r"\# 标题 \- 项"
    assert md(":red[红] $x$") == r"\:red\[红\] \$x\$"
    assert md(None) == ""
    assert md_join(["a_b", None, "", "c"]) == r"a\_b · c"
    assert md_list(["[l](u)", "二"]) == "1\\. \\[l\\]\\(u\\)  \n2\\. 二"


def test_chart_labels_are_escaped():
    import pandas as pd

    name = '<a href="http://e/">点</a>'
    df = pd.DataFrame({"department": [name], "total": [80.0], "self_score": [90.0],
                       "grade": ["良"]})
    fig = charts.ranking_bar(df, f"排名 {name}")
    assert all("<a" not in str(y) for t in fig.data for y in t.y)
    assert fig.data[0].y[0] == '&lt;a href="http://e/"&gt;点&lt;/a&gt;'  # Plotly shows &quot; raw
    assert fig.data[0].customdata[0][0] == name  # click-through keeps the raw name
    assert "<a" not in fig.layout.title.text
    lines = charts.trend_lines(pd.DataFrame({"department": [name, name], "year": [2022, 2023],
                                             "total": [1.0, 2.0]}), "total", "t")
    assert "<a" not in lines.data[0].name and "<a" not in lines.data[0].hovertemplate


# --------------------------------------------------------------------------
# In the browser
# --------------------------------------------------------------------------

class _Counter(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        _Counter.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


def _evil(port: int, tag: str) -> str:
    host = f"127.0.0.1:{port}"
    return (f"{tag}![x](http://{host}/{tag}-md.png)[链接](http://{host}/{tag}-link)"
            f'<a href="http://{host}/{tag}-a">点</a><img src="http://{host}/{tag}-img.png">'
            f" http://{host}/{tag}-bare :red[红] # 标题")


@pytest.mark.browser
def test_no_markup_from_data_in_browser(tmp_path):
    chromium = browser_or_skip()
    from playwright.sync_api import sync_playwright

    listener = ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    port = listener.server_address[1]
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    _Counter.hits = []
    host = f"127.0.0.1:{port}"
    dept = "甲" + _evil(port, "dept")
    evals = []
    for name in (dept, "乙街道办事处", "丙街道办事处"):
        for year, unmet in ((2022, False), (2023, True)):
            ev = small_evaluation(name, year, unmet=unmet, self_score=96.0 if unmet else 90.0)
            ev.department.region = _evil(port, "region")
            ev.department.kind = "街道" + _evil(port, "kind")
            ev.problems = [_evil(port, "problem"), "# 标题问题"]
            ev.measures = [_evil(port, "measure")]
            ev.budget[0].reason = _evil(port, "reason")
            ev.goals[0].indicators[1].reason = _evil(port, "indreason")
            ev.source_name = _evil(port, "source") + ".xlsx"
            evals.append(ev)
    db = tmp_path / "evil.duckdb"
    with Store(db) as s:
        s.write(frames_from(evals))
        ensure_scores(s)
    q = urllib.parse.quote
    visits = {
        "profile": f"profile?dept={q(dept)}&year=2023",
        "overview": "?year=2023&cmp=2022",
        "budget": "budget?year=2023",
        "trends": f"trends?year=2023&cmp=2022&departments={q(dept)}",
        "unmet": "unmet?year=2023",
    }
    art = ROOT / "test-artifacts"
    art.mkdir(exist_ok=True)
    try:
        with streamlit_server(db, tmp_path / "server.log") as (base, _), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            for label, path in visits.items():
                page.goto(f"{base}/{path}")
                page.wait_for_selector('[data-testid="stMain"] h1', timeout=60_000)
                page.wait_for_function(
                    "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                    timeout=30_000)
                page.wait_for_timeout(1500)
                page.screenshot(path=str(art / f"markup-{label}.png"), full_page=True, timeout=90_000)
                assert page.locator('[data-testid="stException"]').count() == 0, label
                links = page.eval_on_selector_all(
                    f'a[href*="{host}"], [href*="{host}"], img[src*="{host}"],'
                    f' [src*="{host}"], [*|href*="{host}"]',
                    "els => els.map(e => e.outerHTML.slice(0, 200))")
                assert links == [], (label, links)
                # Plotly's SVG links are <a xlink:href>: none from data either.
                svg_links = page.eval_on_selector_all(
                    "svg a", "els => els.map(e => e.outerHTML.slice(0, 200))")
                assert svg_links == [], (label, svg_links)
                text = page.inner_text('[data-testid="stMain"]').replace(JOINER, "")
                if label == "profile":
                    # The texts show as the characters they hold.
                    assert f"![x](http://{host}/problem-md.png)" in text
                    assert "# 标题问题" in text
                    assert f"[链接](http://{host}/reason-link)" in text
                    assert f"http://{host}/region-bare" in text
                    assert "<a href=" in text or "点" in text
            browser.close()
    finally:
        listener.shutdown()
    assert _Counter.hits == [], _Counter.hits
