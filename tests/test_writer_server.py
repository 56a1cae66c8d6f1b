"""A real dashboard server holding its database while the command line, the
inbox and browser sessions use it (perfeval.spool), and the first-run flow."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import threading
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


# The app's own run state: its script run is over.
IDLE = """() => document.querySelector('[data-testid="stApp"]')
                 ?.getAttribute('data-test-script-state') === 'notRunning'"""


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


def test_a_busy_server_that_beats_late_is_still_the_server(tmp_path):
    """A heartbeat older than STALE_SECONDS from the very process that wrote
    server.json still routes commands to it; a dead or reused pid does not."""
    db = tmp_path / "x.duckdb"
    root = spool.spool_dir(db)
    root.mkdir()
    late = time.time() - 10 * spool.STALE_SECONDS
    me = {"pid": os.getpid(), "started": spool._process_started(os.getpid()),
          "host": socket.gethostname(), "heartbeat": late}
    spool._write_json(root / "server.json", me)
    assert spool.server_info(db)["pid"] == os.getpid()
    spool._write_json(root / "server.json", {**me, "started": "0"})  # the pid, reused
    assert spool.server_info(db) is None
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    spool._write_json(root / "server.json", {**me, "pid": dead.pid, "heartbeat": time.time()})
    assert spool.server_info(db) is None
    # Without a start time (no /proc) the heartbeat decides, as before.
    spool._write_json(root / "server.json", {**me, "started": None})
    assert spool.server_info(db) is None
    spool._write_json(root / "server.json", {**me, "started": None, "heartbeat": time.time()})
    assert spool.server_info(db) is not None


def test_a_read_does_not_wait_behind_the_imports(tmp_path):
    """history answers while an import holds the writer, and sees it once committed."""
    from perfeval.cli import run_in_server

    db = tmp_path / "r.duckdb"
    release = threading.Event()

    def run_command(store, argv, actor=None):
        if argv[0] == "import":  # an import that takes as long as the test says
            release.wait(120)
        return run_in_server(store, argv, actor=actor)

    store = Store(db)
    writer = spool.Writer(store, run_command, inbox=tmp_path / "inbox", poll=0.05).start()
    try:
        f = template_csv(tmp_path / "a.csv", "读写街道")
        job = spool.submit(db, ["import", str(f)], argparse.Namespace(command="import", files=[str(f)]))
        history = argparse.Namespace(command="history")
        resp = spool.wait(db, spool.submit(db, ["history"], history), timeout=60)
        assert resp.exit_code == 0 and "没有符合条件的评价" in resp.stdout
        assert (spool.spool_dir(db) / "running" / job).exists()  # still importing
        release.set()
        assert spool.wait(db, job, timeout=120).exit_code == 0
        resp = spool.wait(db, spool.submit(db, ["history"], history), timeout=60)
        assert "读写街道 2023 部门整体 第1版" in resp.stdout
    finally:
        release.set()
        writer.stop()
        store.close()


@pytest.mark.browser
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


# The load test's figures (slowest page, import throughput, CLI start-up) go
# to stdout (pytest -s) and, as JSON, beside the server log.
VIEWERS = 8
CLI_IMPORTS = 20
INBOX_FILES = 6
CLI_WORKERS = 4
VIEW_TIMEOUT = 300.0  # seconds one page view may take before it counts as an error


async def finish_view(page, path: str, timeout: float = VIEW_TIMEOUT) -> None:
    """After a click on the link to ``path``: the address shows it and the
    script run it started is over (the app's own run-state attribute)."""
    await page.wait_for_function(
        """(href) => {
            const strip = (p) => p.replace(/\\/+$/, "");
            return strip(location.pathname) === strip(new URL(href, location.href).pathname)
                && document.querySelector('[data-testid="stApp"]')
                       ?.getAttribute('data-test-script-state') === 'notRunning';
        }""", arg=path, timeout=timeout * 1000, polling=100)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.load
def test_imports_and_inbox_under_browser_load(demo_server):
    """20 command-line imports and 6 inbox files arriving while 8 sessions browse:
    every file imported once with its result recorded, no page error."""
    from playwright.async_api import async_playwright

    db, tmp, base = demo_server["db"], demo_server["tmp"], demo_server["base"]
    csvs = [template_csv(tmp / f"load{k:02d}.csv", f"负载街道{k:02d}") for k in range(CLI_IMPORTS)]
    inbox = spool.inbox_dir(db)
    views: list[tuple[float, str]] = []
    errors: list[tuple[str, str]] = []

    async def viewer(browser, k: int, ready: asyncio.Event, stop: asyncio.Event):
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(base, timeout=VIEW_TIMEOUT * 1000)
        await settle(page, VIEW_TIMEOUT)
        links = await nav_links(page)
        ready.set()
        n = 0
        while not stop.is_set():
            target = links[(k + n) % len(links)]
            n += 1
            if await page.evaluate("(h) => new URL(h, location.href).pathname === location.pathname",
                                   target):
                continue  # the page shown already: a click would start no run
            t = time.perf_counter()
            try:
                await page.locator(f'{NAV_LINK}[href="{target}"], {NAV_LINK}[href^="{target}?"]'
                                   ).first.click(timeout=VIEW_TIMEOUT * 1000)
                await finish_view(page, target)
            except Exception as exc:  # a page that never finishes is a page error
                errors.append((target, f"{type(exc).__name__}: {str(exc)[:300]}"))
                break
            views.append((time.perf_counter() - t, target))
            errs = await exceptions(page)
            if errs:
                errors.append((target, errs[0][:300]))
        await page.goto("about:blank")
        await page.close()

    def import_one(k: int) -> subprocess.CompletedProcess:
        if k % 3 == 1 and k // 3 < INBOX_FILES:  # the inbox files arrive during the imports
            template_csv(inbox / f"inbox{k // 3}.csv", f"收件箱街道{k // 3}")
        return cli(db, "import", csvs[k], timeout=900)

    def inbox_results() -> int:
        return sum(len(list((inbox / sub).glob("inbox*.csv.结果.txt"))) for sub in ("done", "failed"))

    def imports() -> tuple[list[subprocess.CompletedProcess], float, float]:
        start = time.perf_counter()
        with ThreadPoolExecutor(CLI_WORKERS) as pool:
            futures = [pool.submit(import_one, k) for k in range(CLI_IMPORTS)]
            # A read-only command while the writer is busy: its wall time is the
            # command line's start-up plus its turn at the server.
            t = time.perf_counter()
            history = cli(db, "history", "--dept", "负载街道00", timeout=900)
            history_seconds = time.perf_counter() - t
            assert history.returncode == 0, history.stderr
            results = [f.result() for f in futures]
        wait_for(lambda: inbox_results() == INBOX_FILES, 600, "the inbox files' results")
        return results, time.perf_counter() - start, history_seconds

    async def main():
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=demo_server["chromium"],
                                              args=CHROMIUM_ARGS)
            stop = asyncio.Event()
            ready = [asyncio.Event() for _ in range(VIEWERS)]
            viewers = [asyncio.create_task(viewer(browser, k, ready[k], stop))
                       for k in range(VIEWERS)]
            # The imports start once every session shows its first page.
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), VIEW_TIMEOUT)
            views_before = len(views)
            try:
                out = await asyncio.to_thread(imports)
            finally:
                stop.set()
                await asyncio.gather(*viewers, return_exceptions=True)
                await browser.close()
            return (*out, len(views) - views_before)

    results, seconds, history_seconds, views_during = asyncio.run(main())
    files = CLI_IMPORTS + INBOX_FILES
    slowest = max(views, default=(0.0, ""))
    figures = {"page_views": len(views), "page_views_during_imports": views_during,
               "slowest_page_seconds": round(slowest[0], 1), "slowest_page": slowest[1],
               "median_page_seconds": round(sorted(v for v, _ in views)[len(views) // 2], 1)
               if views else None,
               "files": files, "import_seconds": round(seconds, 1),
               "files_per_minute": round(files / seconds * 60, 1),
               "history_seconds_under_load": round(history_seconds, 1)}
    (tmp / "load-figures.json").write_text(json.dumps(figures, ensure_ascii=False, indent=1))
    print(f"\n[load] {figures}")

    assert [r.returncode for r in results] == [0] * CLI_IMPORTS, \
        [r.stderr for r in results if r.returncode]
    for k, r in enumerate(results):
        assert f"已导入：负载街道{k:02d} 2023 年度" in r.stdout, r.stdout
    assert errors == []
    assert views_during >= VIEWERS  # the sessions did browse while the files came in
    # Every file imported once, each inbox file in done/ with its result.
    r = cli(db, "history")
    assert r.returncode == 0, r.stderr
    for k in range(CLI_IMPORTS):
        assert r.stdout.count(f"负载街道{k:02d} 2023 部门整体 第1版") == 1
    for k in range(INBOX_FILES):
        assert r.stdout.count(f"收件箱街道{k} 2023 部门整体 第1版") == 1
        assert (inbox / "done" / f"inbox{k}.csv").exists()
        assert "导入成功" in (inbox / "done" / f"inbox{k}.csv.结果.txt").read_text("utf-8")
    assert not list((inbox / "failed").iterdir())
    # The queue is empty and every job has its response.
    root = spool.spool_dir(db)
    assert not list((root / "queue").iterdir()) and not list((root / "running").iterdir())
    assert not server_errors(demo_server["log"], known=[])


@pytest.mark.browser
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
            # The first run over (on a busy machine the links move until then).
            page.wait_for_function(IDLE, timeout=120_000)
            page.locator(f'{NAV_LINK}:has-text("数据管理")').click(timeout=120_000)
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
