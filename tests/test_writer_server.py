"""A real dashboard server holding its database while the command line, the
inbox and browser sessions use it (perfeval.spool), and the first-run flow."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from perfeval import spool, users
from perfeval.demo import build_demo
from perfeval.scoring import ensure_scores
from perfeval.store import Store
from tests.conftest import CHROMIUM_ARGS, ROOT, browser_or_skip, streamlit_server
from tests.test_load import NAV_LINK, exceptions, nav_links, server_errors, settle
from tests.test_spool import SAMPLE, SAMPLE_DEPT, template_csv

pytestmark = pytest.mark.browser


def cli(db: Path, *args, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "perfeval.cli", "--db", str(db), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def wait_for(check, timeout: float = 60, what: str = "") -> None:
    deadline = time.time() + timeout
    while not check():
        if time.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    chromium = browser_or_skip()
    tmp = tmp_path_factory.mktemp("writer")
    db = tmp / "served.duckdb"
    with Store(db) as s:
        build_demo(s, with_sample=False)
        ensure_scores(s)
    log = tmp / "server.log"
    with streamlit_server(db, log) as (base, proc):
        wait_for(lambda: spool.server_info(db) is not None, what="the writer's heartbeat")
        yield {"base": base, "db": db, "tmp": tmp, "log": log, "chromium": chromium}


def _page_text(chromium: str, url: str, *expect: str) -> str:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1600})
        page.goto(url)
        for text in expect:
            page.get_by_text(text).first.wait_for(timeout=120_000)
        page.wait_for_function(  # the script run is over
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
        page.wait_for_timeout(500)
        text = page.locator('[data-testid="stMain"]').inner_text()
        browser.close()
    return text


def test_command_line_while_the_dashboard_holds_the_database(demo_server):
    db, tmp = demo_server["db"], demo_server["tmp"]
    # The file is the server's: opening it from here fails, the CLI goes through the server.
    with pytest.raises(Exception, match="占用|lock"):
        Store(db, read_only=True)
    r = cli(db, "import", SAMPLE)
    assert r.returncode == 0, r.stderr
    assert f"已导入：{SAMPLE_DEPT} 2022 年度 部门整体（第 1 版）" in r.stdout
    r = cli(db, "import", template_csv(tmp / "模板.csv", "命令行街道"))
    assert r.returncode == 0 and "已导入：命令行街道 2023 年度" in r.stdout, r.stderr
    r = cli(db, "history", "--dept", "命令行街道")
    assert r.returncode == 0 and "命令行街道 2023 部门整体 第1版" in r.stdout
    out = tmp / "导出.csv"
    r = cli(db, "export", out)
    assert r.returncode == 0 and out.exists() and "命令行街道" in out.read_text("utf-8-sig")
    r = cli(db, "audit", "--year", "2022", "--dept", SAMPLE_DEPT)
    assert r.returncode in (0, 1) and SAMPLE_DEPT in r.stdout
    # The pages show the new data without a restart.
    q = urllib.parse.urlencode({"dept": SAMPLE_DEPT, "year": 2022})
    text = _page_text(demo_server["chromium"], f"{demo_server['base']}/profile?{q}",
                      f"{SAMPLE_DEPT} · 2022 年度", "自评得分")
    assert "自评得分" in text and "98" in text
    assert not server_errors(demo_server["log"], known=[])


@pytest.mark.slow
@pytest.mark.load
def test_imports_and_inbox_under_browser_load(demo_server):
    """20 command-line imports and 6 inbox files while 8 sessions browse."""
    from playwright.async_api import async_playwright

    db, tmp, base = demo_server["db"], demo_server["tmp"], demo_server["base"]
    csvs = [template_csv(tmp / f"load{k:02d}.csv", f"负载街道{k:02d}") for k in range(20)]
    inbox = spool.inbox_dir(db)
    stats = {"views": 0, "errors": [], "slowest": (0.0, "")}

    async def viewer(browser, k: int, stop: asyncio.Event):
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(base, timeout=120_000)
        await settle(page)
        links = await nav_links(page)
        n = 0
        while not stop.is_set():
            target = links[(k + n) % len(links)]
            n += 1
            t = time.perf_counter()
            await page.locator(f'{NAV_LINK}[href="{target}"], {NAV_LINK}[href^="{target}?"]'
                               ).first.click(timeout=120_000)
            await settle(page)
            elapsed = time.perf_counter() - t
            stats["views"] += 1
            if elapsed > stats["slowest"][0]:
                stats["slowest"] = (elapsed, target)
            errs = await exceptions(page)
            if errs:
                stats["errors"].append((target, errs[0][:300]))
        await page.goto("about:blank")
        await page.close()

    def imports() -> tuple[list[subprocess.CompletedProcess], float]:
        start = time.perf_counter()
        for k in range(6):
            template_csv(inbox / f"inbox{k}.csv", f"收件箱街道{k}")
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda f: cli(db, "import", f, timeout=600), csvs))
        wait_for(lambda: len(list((inbox / "done").glob("inbox*.csv"))) == 6, 300, "the inbox")
        return results, time.perf_counter() - start

    async def main():
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=demo_server["chromium"],
                                              args=CHROMIUM_ARGS)
            stop = asyncio.Event()
            viewers = [asyncio.create_task(viewer(browser, k, stop)) for k in range(8)]
            await asyncio.sleep(5)
            results, seconds = await asyncio.to_thread(imports)
            stop.set()
            await asyncio.gather(*viewers)
            await browser.close()
            return results, seconds

    results, seconds = asyncio.run(main())
    assert [r.returncode for r in results] == [0] * 20, [r.stderr for r in results if r.returncode]
    assert stats["errors"] == []
    r = cli(db, "history")
    for k in range(20):
        assert r.stdout.count(f"负载街道{k:02d} 2023 部门整体 第1版") == 1
    for k in range(6):
        assert r.stdout.count(f"收件箱街道{k} 2023 部门整体 第1版") == 1
        assert (inbox / "done" / f"inbox{k}.csv.结果.txt").exists()
    print(f"\n[load] {stats['views']} page views, slowest {stats['slowest'][0]:.1f} s "
          f"({stats['slowest'][1]}); 26 imports in {seconds:.1f} s "
          f"({26 / seconds:.2f} files/s)")
    assert not server_errors(demo_server["log"], known=[])


def test_first_administrator_in_the_browser_with_the_setup_token(tmp_path):
    from playwright.sync_api import sync_playwright

    chromium = browser_or_skip()
    db = tmp_path / "new.duckdb"
    with Store(db) as s:
        build_demo(s, with_sample=False, scale=2000)
    log = tmp_path / "server.log"
    with streamlit_server(db, log) as (base, _):
        wait_for(lambda: "首次设置令牌" in log.read_text("utf-8", "replace"), what="the token")
        token = re.search(r"首次设置令牌：(\S+)", log.read_text("utf-8")).group(1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.goto(base)
            page.locator(f'{NAV_LINK}:has-text("数据管理")').click()
            main = page.locator('[data-testid="stMain"]')
            main.get_by_label("首次设置令牌").wait_for(timeout=60_000)
            main.get_by_label("首次设置令牌").fill("wrong-token")
            main.get_by_label("管理员用户名").fill("管理员甲")
            main.get_by_label("密码", exact=True).fill("first-admin-pass")
            main.get_by_label("再输入一次密码").fill("first-admin-pass")
            main.get_by_role("button", name="创建管理员").click()
            main.get_by_text("首次设置令牌不正确").wait_for(timeout=30_000)
            main.get_by_label("首次设置令牌").fill(token)
            main.get_by_label("管理员用户名").fill("管理员甲")
            main.get_by_label("密码", exact=True).fill("first-admin-pass")
            main.get_by_label("再输入一次密码").fill("first-admin-pass")
            main.get_by_role("button", name="创建管理员").click()
            main.get_by_text("已创建管理员 管理员甲").wait_for(timeout=30_000)
            page.screenshot(path=str(tmp_path / "first-admin.png"))
            # The token is spent: the form is gone and the sidebar offers the login.
            page.locator('[data-testid="stSidebar"]').get_by_label("用户名").wait_for(
                timeout=60_000)
            assert main.get_by_label("首次设置令牌").count() == 0
            browser.close()
        r = cli(db, "user", "list")
        assert r.returncode == 0 and "管理员甲" in r.stdout and users.ADMIN in r.stdout
