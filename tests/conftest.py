"""Shared fixtures: a fresh store per test and a small hand-made evaluation."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from perfeval.model import BudgetLine, Department, Evaluation, Goal, Indicator
from perfeval.store import Store

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
CHROMIUM = "/usr/bin/chromium"
# This machine has no network: without these Chromium keeps trying to reach out.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def pytest_collection_modifyitems(config, items):
    """Browser files first: the two xdist workers take files in this order, and
    the long ones started last would leave one worker waiting on the other."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is None)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "t.duckdb")
    yield s
    s.close()


def small_evaluation(name: str = "测试街道办事处", year: int = 2023, *, unmet: bool = True,
                     self_score: float = 95.0) -> Evaluation:
    return Evaluation(
        department=Department(name, "测试区", "街道"),
        year=year,
        self_score=self_score,
        budget=[BudgetLine("total", 100.0, 95.0), BudgetLine("basic", 40.0, 40.0),
                BudgetLine("project", 60.0, 55.0)],
        goals=[
            Goal(1, "社区治理经费", indicators=[
                Indicator("产出", "网格巡查次数", "≥1200次", "1260次", met=True),
                Indicator("产出", "矛盾纠纷调处率", "≥95%", "80%" if unmet else "96%",
                          met=not unmet),
                Indicator("效益", "重复信访发生率", "≤5%", "3%", met=True),
                Indicator("满意度", "居民满意度", "≥90%", "93%", met=True),
            ]),
            Goal(2, "环境卫生经费", indicators=[
                Indicator("产出", "垃圾清运率", "100%", "100%", met=True),
            ]),
        ],
        problems=["问题一", "问题二"],
        measures=["措施一"],
        source_name="hand.xlsx",
    )


def browser_or_skip():
    """Skip without Chromium, unless CI demands the browser tests run."""
    if shutil.which("chromium") or Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("PERFEVAL_REQUIRE_BROWSER"):
        pytest.fail("PERFEVAL_REQUIRE_BROWSER 已设置，但没有找到 /usr/bin/chromium")
    pytest.skip("没有安装 Chromium（apt-get install chromium），跳过浏览器测试")


def free_port() -> int:
    from perfeval.ui.serve import free_port as port

    return port()


@contextmanager
def streamlit_server(db: Path, log_path: Path, app: Path = ROOT / "app.py", *,
                     env: dict | None = None):
    """The dashboard as ``make run`` starts it (``python -m perfeval.ui.serve``;
    ``streamlit run`` for another app) on a free loopback port against ``db``;
    yields (base URL, process) once the health check answers, stops it afterwards.
    The start-up is the library's (perfeval.ui.serve.start_server), shared
    with the browser benchmark."""
    from perfeval.ui.serve import start_server

    script = None if Path(app) == ROOT / "app.py" else Path(app)
    try:
        server = start_server(log_path, db=db, script=script, env=env)
        base, proc = server.__enter__()
    except RuntimeError as exc:
        pytest.fail(f"streamlit did not start: {exc}")
    try:
        yield base, proc
    finally:
        server.__exit__(None, None, None)


# -- browser helpers: wait for what the user waits for, never a fixed time ----------

SIDEBAR = '[data-testid="stSidebar"]'
MAIN_CAPTION = '[data-testid="stMain"] [data-testid="stCaptionContainer"]'


def script_done(page, timeout: int = 60_000) -> None:
    """Until the script run is over (the app's own run state, not a spinner
    that may not have appeared yet) and no element is still a placeholder."""
    page.wait_for_function("""() => {
        const app = document.querySelector('[data-testid="stApp"]');
        return app && app.dataset.testScriptState === "notRunning"
            && !document.querySelector('[data-testid="stSkeleton"]'); }""", timeout=timeout)


def choose(page, label: str, option: str, *, typed: str | None = None,
           timeout: int = 30_000) -> None:
    """Pick ``option`` in the sidebar selectbox or multiselect labelled ``label``.
    A rerun can replace the open list under the pointer: then open it again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.locator(SIDEBAR).get_by_role("combobox", name=label, exact=True)
    for attempt in range(3):
        script_done(page)
        box.click()
        if typed:
            page.keyboard.type(typed)
        try:
            page.get_by_role("option", name=option, exact=True).first.click(timeout=timeout // 3)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            if attempt == 2:
                raise


def wait_caption(page, text: str, timeout: int = 60_000) -> None:
    """Until the page's filter caption says ``text`` (the rerun for the new
    filters has drawn) and the run is over."""
    from playwright.sync_api import expect

    expect(page.locator(MAIN_CAPTION).first).to_contain_text(text, timeout=timeout)
    script_done(page, timeout)


def tables(at) -> list[dict]:
    """The plain tables an AppTest run drew (perfeval.ui.tables' component): each
    its headers, rows of cell texts, and its box class (a print-only twin's is
    perfeval.ui.tables.PRINT_ONLY)."""
    import json

    return [json.loads(e.proto.json) for e in at.get("bidi_component")
            if e.proto.component_name == "perfeval.table"]


def figures(at) -> list:
    """The Plotly figures an AppTest run drew (perfeval.ui.plot's component)."""
    import json

    import plotly.io as pio

    return [pio.from_json(json.dumps(json.loads(e.proto.json)["figure"]))
            for e in at.get("bidi_component") if e.proto.component_name == "perfeval.chart"]
