"""Load and browser tests: ``streamlit run app.py`` on a free loopback port.

- Load: ≥10 concurrent browser sessions (pages of one Chromium) switch pages
  and filters for about a minute while an administrator's session imports a
  new department through the 数据管理 page. No exception box may show, the
  server log must stay clean, and every session must see the new department
  after the import. Requests, errors and the slowest page time are printed.
- Browser: log in as administrator, upload the sample report, see the dry
  run, commit, find the department on the overview.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
import zipfile
from pathlib import Path

import pytest

from perfeval import users
from perfeval.demo import build_demo
from perfeval.ingest.template import frame_from_store
from perfeval.scoring import ensure_scores
from perfeval.store import Store
from tests.conftest import (
    CHROMIUM_ARGS,
    browser_or_skip,
    choose,
    script_done,
    small_evaluation,
    streamlit_server,
    wait_caption,
)
from tests.test_bad_files import xlsx_bomb

pytestmark = pytest.mark.browser

ROOT = Path(__file__).parent.parent
APP = Path(os.environ.get("PERFEVAL_TEST_APP") or ROOT / "app.py")
SAMPLE = ROOT / "data" / "samples" / "ronghua-2022.txt"
RONGHUA = "武汉市硚口区人民政府荣华街道办事处"
NEW_DEPT = "负载测试街道办事处"
ADMIN, PASSWORD = "管理员甲", "load-test-password"
SESSIONS = 10
DURATION = float(os.environ.get("PERFEVAL_LOAD_SECONDS", "60"))
LOG_ERRORS = re.compile(r"Traceback|Error|Exception|Uncaught", re.I)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A demo database with an administrator, served by ``streamlit run``."""
    chromium = browser_or_skip()
    tmp = tmp_path_factory.mktemp("served")
    db = tmp / "load.duckdb"
    with Store(db) as s:
        build_demo(s, with_sample=False)
        ensure_scores(s)
        users.add_user(s, ADMIN, PASSWORD, users.ADMIN, actor="测试")
    with Store(":memory:") as s:  # the file the admin imports during the load
        s.write([small_evaluation(NEW_DEPT, 2024)])
        frame_from_store(s).to_csv(tmp / "new.csv", index=False)
    log_path = tmp / "server.log"
    with streamlit_server(db, log_path, APP) as (base, server):
        yield {"base": base, "chromium": chromium, "log": log_path, "db": db,
               "pid": server.pid, "new_csv": tmp / "new.csv", "artifacts": tmp}


# Streamlit 1.67's Starlette websocket handler, when a browser's socket drops
# while the server reads from it, logs this pair of tracebacks from inside
# Streamlit and Starlette (no frame of ours): counted and reported apart.
WS_RACE = ('WebSocket is not connected. Need to call "accept" first.',
           'Cannot call "send" once a close message has been sent.')


def _blocks(text: str) -> list[str]:
    """The log split into entries: a traceback with its lines is one entry."""
    out: list[str] = []
    for line in text.splitlines():
        if out and (line.startswith((" ", "\t")) or line.startswith(("Traceback", "During"))
                    or re.match(r"^\w+(\.\w+)*(Error|Exception|Disconnected)\b", line)
                    or not line.strip()):
            out[-1] += "\n" + line
        else:
            out.append(line)
    return out


def peak_memory_mb(pid: int) -> float:
    """The server process's peak resident memory so far (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def server_errors(log_path: Path, *, known: list | None = None) -> list[str]:
    errors = []
    for block in _blocks(log_path.read_text("utf-8", "replace")):
        if not LOG_ERRORS.search(block):
            continue
        if known is not None and all(m in block for m in WS_RACE) and "perfeval" not in block \
                and "/pages/" not in block:
            known.append(block)
            continue
        errors.append(block)
    return errors


# -- helpers on an async Playwright page ------------------------------------------

async def settle(page, timeout: float = 60.0) -> None:
    """Wait until the app has finished its run (no running indicator)."""
    await page.wait_for_selector('[data-testid="stApp"]', timeout=timeout * 1000)
    await page.wait_for_function(
        """() => {
            const s = document.querySelector('[data-testid="stStatusWidget"]');
            return !s || !s.innerText.match(/Running|运行/);
        }""", timeout=timeout * 1000)
    await page.wait_for_timeout(150)
    await page.wait_for_function(
        """() => {
            const s = document.querySelector('[data-testid="stStatusWidget"]');
            return !s || !s.innerText.match(/Running|运行/);
        }""", timeout=timeout * 1000)


async def leave(page) -> None:
    """Navigate away first, so the websocket closes cleanly before the page goes."""
    await page.goto("about:blank")
    await page.wait_for_timeout(300)
    await page.close()


async def exceptions(page) -> list[str]:
    return await page.locator('[data-testid="stException"]').all_inner_texts()


# The app's own page links (they carry the filters in their query string).
NAV_LINK = '[data-testid="stSidebar"] [data-testid="stPageLink"] a'


async def nav_links(page) -> list[str]:
    """The pages' addresses without their query strings."""
    await page.wait_for_selector(NAV_LINK, timeout=120_000)
    links = page.locator(NAV_LINK)
    # The attribute as written (a selector matches it, not the resolved e.href).
    hrefs = await links.evaluate_all("els => els.map(e => e.getAttribute('href'))")
    return [h.split("?")[0] for h in hrefs if h is not None]


async def login(page) -> None:
    sidebar = page.locator('[data-testid="stSidebar"]')
    await sidebar.get_by_label("用户名").fill(ADMIN)
    await sidebar.get_by_label("密码").fill(PASSWORD)
    await sidebar.get_by_role("button", name="登录", exact=True).click()
    await sidebar.get_by_text(f"已登录：{ADMIN}").wait_for(timeout=60_000)


async def upload_and_commit(page, path: Path, expect: str) -> None:
    """On the 数据管理 page, logged in (a reload would start a new session)."""
    await page.locator('input[type="file"]').first.set_input_files(str(path))
    await page.get_by_text("试运行结果").wait_for(timeout=60_000)
    await page.get_by_text(f"【可导入】{path.name}").wait_for(timeout=60_000)
    # Table cells live in a canvas grid: present in the DOM, not "visible".
    await page.get_by_text(expect).first.wait_for(state="attached", timeout=60_000)
    await page.get_by_role("button", name=re.compile("导入 1 个无错误的文件")).click()
    await page.get_by_text("已导入 1 份评价").wait_for(timeout=60_000)


# -- the tests ------------------------------------------------------------------

@pytest.mark.load
def test_concurrent_sessions_while_an_import_commits(served):
    from playwright.async_api import async_playwright

    base = served["base"]
    stats = {"requests": 0, "errors": [], "slowest": (0.0, ""), "seen_new": set()}
    imported = asyncio.Event()
    one_at_a_time = asyncio.Lock()

    async def viewer(browser, k: int, stop_at: float):
        rng = random.Random(k)
        await asyncio.sleep(k * 0.5)  # people arrive one after another, not in one instant
        page = await browser.new_page()
        t = time.perf_counter()
        await page.goto(base, timeout=120_000, wait_until="domcontentloaded")
        await settle(page)
        stats["requests"] += 1
        links = await nav_links(page)
        assert len(links) == 8 and await page.locator(f'{NAV_LINK}:has-text("总览")').count()
        while time.perf_counter() < stop_at:
            target = rng.choice(links)
            year = rng.choice([2019, 2020, 2021, 2022, 2023, 2024])
            t = time.perf_counter()
            link = page.locator(f'{NAV_LINK}[href="{target}"], {NAV_LINK}[href^="{target}?"]')
            await link.click()
            await settle(page)
            await switch_filter(page, year)
            elapsed = time.perf_counter() - t
            stats["requests"] += 1
            if elapsed > stats["slowest"][0]:
                stats["slowest"] = (elapsed, f"{target} {year}")
            errs = await exceptions(page)
            if errs:
                stats["errors"].append((k, target, errs[0][:300]))
        # The same session (no reload), once the load is over, one after another.
        await imported.wait()
        async with one_at_a_time:
            try:
                if await sees_new(page, base):
                    stats["seen_new"].add(k)
            except Exception:
                await page.screenshot(path=str(served["artifacts"] / f"viewer-{k}.png"),
                                      full_page=True)
                raise
        await leave(page)

    async def admin(browser, start_after: float):
        await asyncio.sleep(start_after)
        page = await browser.new_page()
        await page.goto(base, timeout=120_000, wait_until="domcontentloaded")
        await settle(page)
        await page.locator(f'{NAV_LINK}:has-text("数据管理")').click()
        await settle(page)
        await login(page)
        t = time.perf_counter()
        await upload_and_commit(page, served["new_csv"], NEW_DEPT)
        stats["import_seconds"] = time.perf_counter() - t
        imported.set()
        await page.screenshot(path=str(served["artifacts"] / "load-import.png"), full_page=True)
        await leave(page)

    async def main():
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=served["chromium"],
                                              args=CHROMIUM_ARGS)
            # Warm up: until the entry point has run once, a fresh server may answer
            # with Streamlit's folder-based pages instead of the app's navigation.
            first = await browser.new_page()
            await first.goto(base, timeout=120_000)
            await first.locator(f'{NAV_LINK}:has-text("总览")').wait_for(timeout=120_000)
            await leave(first)
            stop_at = time.perf_counter() + DURATION
            await asyncio.gather(*(viewer(browser, k, stop_at) for k in range(SESSIONS)),
                                 admin(browser, DURATION / 3))
            await browser.close()

    asyncio.run(main())
    ws_races: list[str] = []
    log_errors = server_errors(served["log"], known=ws_races)
    print(f"\nload: {SESSIONS} sessions for {DURATION:.0f} s: {stats['requests']} page views, "
          f"{len(stats['errors'])} errors, slowest {stats['slowest'][0]:.2f} s "
          f"({stats['slowest'][1]}); import through the page {stats.get('import_seconds', 0):.2f} s; "
          f"server log errors {len(log_errors)} (and {len(ws_races)} Streamlit websocket "
          f"disconnect races); server peak memory {peak_memory_mb(served['pid']):.0f} MB")
    assert stats["errors"] == []
    assert log_errors == []
    assert stats["seen_new"] == set(range(SESSIONS)), SEEN_TEXT[-12:]
    assert stats["requests"] >= SESSIONS * 5


def test_admin_uploads_the_sample_and_finds_it_on_the_overview(served):
    from playwright.sync_api import sync_playwright

    base = served["base"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=served["chromium"], args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})

        async_free = _SyncPage(page)
        # Enter at the root: a fresh server answers a first deep link (/data) with
        # Streamlit's folder-based pages instead of the app's navigation.
        page.goto(base, timeout=60_000)
        async_free.settle()
        page.locator(f'{NAV_LINK}:has-text("数据管理")').click()
        async_free.settle()
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_label("用户名").fill(ADMIN)
        sidebar.get_by_label("密码").fill(PASSWORD)
        sidebar.get_by_role("button", name="登录", exact=True).click()
        sidebar.get_by_text(f"已登录：{ADMIN}").wait_for(timeout=60_000)
        page.locator('input[type="file"]').first.set_input_files(str(SAMPLE))
        page.get_by_text("试运行结果").wait_for(timeout=60_000)
        page.get_by_text(f"【可导入】{SAMPLE.name}（报告）").wait_for(timeout=60_000)
        page.get_by_text(RONGHUA).first.wait_for(state="attached", timeout=60_000)
        page.screenshot(path=str(served["artifacts"] / "dry-run.png"), full_page=True)
        counts = {lbl: page.locator('[data-testid="stMetric"]').filter(has_text=lbl).first
                  .locator('[data-testid="stMetricValue"]').inner_text()
                  for lbl in ("文件", "可导入", "有错误")}
        assert counts == {"文件": "1", "可导入": "1", "有错误": "0"}
        page.get_by_role("button", name="导入 1 个无错误的文件").click()
        page.get_by_text("已导入 1 份评价").wait_for(timeout=60_000)
        assert not page.locator('[data-testid="stException"]').count()
        find_on_overview(page, base, RONGHUA)
        page.screenshot(path=str(served["artifacts"] / "overview.png"), full_page=True)
        check_hostile_uploads(browser, base, served["artifacts"])
        browser.close()
    assert server_errors(served["log"], known=[]) == []


def check_hostile_uploads(browser, base: str, artifacts: Path) -> None:
    """A fresh session uploads a zip bomb, a 10,000-column csv and a zip whose
    member climbs out: each is listed with its reason, nothing can be committed."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(base, timeout=60_000)
    _SyncPage(page).settle()
    page.locator(f'{NAV_LINK}:has-text("数据管理")').click()
    _SyncPage(page).settle()
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_label("用户名").fill(ADMIN)
    sidebar.get_by_label("密码").fill(PASSWORD)
    sidebar.get_by_role("button", name="登录", exact=True).click()
    sidebar.get_by_text(f"已登录：{ADMIN}").wait_for(timeout=60_000)
    bad = artifacts / "bad"
    bad.mkdir(exist_ok=True)
    (bad / "炸弹.xlsx").write_bytes(xlsx_bomb(350))
    (bad / "宽表.csv").write_text(",".join(f"列{i}" for i in range(10_000)) + "\n1\n")
    with zipfile.ZipFile(bad / "越界.zip", "w") as z:
        z.writestr("../../etc/evil.txt", SAMPLE.read_bytes())
    page.locator('input[type="file"]').first.set_input_files(sorted(map(str, bad.iterdir())))
    page.get_by_text("试运行结果").wait_for(timeout=60_000)
    page.get_by_text("没有可导入的文件").wait_for(timeout=60_000)
    for reason in ("压缩炸弹", "列数超过 200", "指向压缩包以外"):
        page.get_by_text(reason).first.wait_for(state="attached", timeout=60_000)
    assert not page.get_by_role("button", name=re.compile("导入 .* 个无错误的文件")).count()
    page.screenshot(path=str(artifacts / "bad-files.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').all_inner_texts() == []
    page.close()


class _SyncPage:
    def __init__(self, page):
        self.page = page

    def settle(self):
        self.page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
        script_done(self.page)


# -- page-specific parts (the dashboard's widgets) ----------------------------------

SIDEBAR = '[data-testid="stSidebar"]'
NEW_DEPT_YEAR = 2024
SEEN_TEXT: list[str] = []


async def switch_filter(page, year: int) -> None:
    """Change the global 年度 filter (the sidebar's first selectbox)."""
    box = page.locator(f'{SIDEBAR} [data-testid="stSelectbox"]').first
    if not await box.count():
        return
    await box.click()
    option = page.get_by_role("option", name=str(year), exact=True)
    await option.first.click(timeout=30_000)
    await settle(page)


async def sees_new(page, base: str) -> bool:
    """On 总览 for the new department's year: 参评部门 counts it (demo: 30 → 31)."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    # Via another page: clicking the page already shown does not rerun it.
    await page.locator(f'{NAV_LINK}:has-text("预算执行")').click(timeout=60_000)
    await page.locator('h1:has-text("预算执行")').wait_for(timeout=60_000)
    await settle(page)
    for _ in range(3):  # a click landing while the page reruns can be lost: try again
        await page.locator(f'{NAV_LINK}:has-text("总览")').click(timeout=60_000)
        await settle(page)
        try:
            await page.locator('h1:has-text("总览")').wait_for(timeout=20_000)
        except PlaywrightTimeout:
            continue
    await switch_filter(page, NEW_DEPT_YEAR)
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="参评部门").first
    await metric.wait_for(timeout=60_000)
    # Under load a rerun takes seconds and the old figures stay on screen until
    # it ends: read until the new count shows, for at most a minute.
    deadline = time.perf_counter() + 60
    while True:
        text = await metric.inner_text()
        if "31 个" in text or time.perf_counter() > deadline:
            SEEN_TEXT.append(text)
            return "31 个" in text
        await page.wait_for_timeout(500)


def find_on_overview(page, base: str, department: str, year: int = 2022) -> None:
    """Open 总览, choose the year and the department in the sidebar filters, and
    see the department's figures and its name on the ranking chart."""
    page.locator(f'{NAV_LINK}:has-text("总览")').click()
    _SyncPage(page).settle()
    choose(page, "年度", str(year))
    wait_caption(page, f"{year} 年度")
    choose(page, "部门", department, typed="荣华")
    page.keyboard.press("Escape")
    script_done(page)
    from playwright.sync_api import expect

    def metric(label: str):
        return page.locator('[data-testid="stMetric"]').filter(has_text=label).first

    # The sample report's own figures (98 分 self-score, 97.33 computed, 5431 万元,
    # two unmet), once the rerun for the chosen department has drawn them.
    for label, text in (("参评部门", "1 个"), ("平均自评得分", "98.00 分"),
                        ("平均计算得分", "97.33 分"), ("全年预算数", "5,431"), ("未完成指标", "2 个")):
        expect(metric(label)).to_contain_text(text, timeout=60_000)
    page.locator(".main-svg text", has_text=department).first.wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').all_inner_texts() == []
