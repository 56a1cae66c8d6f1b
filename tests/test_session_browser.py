"""Sessions in Chromium, against ``streamlit run serve.py`` (the app with its
session route): a login survives a reload, a new tab and a shared link; the
cookie is HttpOnly and holds no more than a random token; logout ends it on the
server; with PERFEVAL_READ_LOGIN=1 an anonymous visitor gets nothing from the
database. Screenshots go to test-artifacts/."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from perfeval import users
from perfeval.demo import build_demo
from perfeval.scoring import ensure_scores
from perfeval.store import Store
from tests.conftest import (
    CHROMIUM_ARGS,
    browser_or_skip,
    script_done,
    streamlit_server,
    wait_caption,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).parent.parent
ARTIFACTS = ROOT / "test-artifacts"
SERVE = ROOT / "serve.py"
ADMIN, PASSWORD = "王管理", "browser-session-pw"
SIDEBAR = '[data-testid="stSidebar"]'


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    browser_or_skip()
    tmp = tmp_path_factory.mktemp("session")
    db = tmp / "demo.duckdb"
    with Store(db) as s:
        build_demo(s, with_sample=False)
        ensure_scores(s)
        users.add_user(s, ADMIN, PASSWORD, users.ADMIN, actor="测试")
        departments = s.query_df("SELECT name, region, kind FROM departments")
        years = s.query_df("SELECT DISTINCT year FROM evaluations")["year"].tolist()
    names = set(departments["name"]) | set(departments["region"].dropna()) | \
        set(departments["kind"].dropna())
    return tmp, db, sorted(names), sorted(int(y) for y in years)


def _settle(page) -> None:
    page.wait_for_selector('[data-testid="stSidebar"]', timeout=60_000)
    script_done(page)


def _logged_in(page) -> bool:
    # The sidebar is drawn once the run is over: its login block is one or the other.
    sidebar = page.locator(SIDEBAR)
    sidebar.get_by_text(f"已登录：{ADMIN}").or_(sidebar.get_by_label("用户名")).first.wait_for()
    return sidebar.get_by_text(f"已登录：{ADMIN}").count() > 0


def _login(page) -> None:
    sidebar = page.locator(SIDEBAR)
    try:
        sidebar.get_by_label("用户名").wait_for()
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "session-no-login-form.png"))
        raise
    sidebar.get_by_label("用户名").fill(ADMIN)
    sidebar.get_by_label("密码").fill(PASSWORD)
    sidebar.get_by_role("button", name="登录", exact=True).click()
    sidebar.get_by_text(f"已登录：{ADMIN}").wait_for(timeout=60_000)


def _snapshot(db: Path, sql: str):
    """``sql`` on a copy of ``db``: the server holds the file; a copy shows what it wrote."""
    import shutil
    copy = db.with_name("copy.duckdb")
    shutil.copy(db, copy)
    Path(str(copy) + ".wal").unlink(missing_ok=True)  # an earlier snapshot's
    wal = Path(str(db) + ".wal")
    if wal.exists():
        shutil.copy(wal, Path(str(copy) + ".wal"))
    with Store(copy) as s:
        return s.query_df(sql)


def _sessions(db: Path):
    return _snapshot(db, "SELECT * FROM auth.sessions ORDER BY created_at")


def _audit(db: Path):
    return _snapshot(db, "SELECT action, address, result FROM audit_log ORDER BY seq")


def test_login_survives_reload_and_new_tab_and_logout_ends_it(demo, monkeypatch):
    from playwright.sync_api import sync_playwright

    tmp, db, _, years = demo
    monkeypatch.delenv("PERFEVAL_READ_LOGIN", raising=False)
    ARTIFACTS.mkdir(exist_ok=True)
    with streamlit_server(db, tmp / "server.log", app=SERVE) as (base, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_or_skip(), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        context.set_default_timeout(120_000)  # two shared cores: a first run can be slow
        page = context.new_page()
        page.goto(f"{base}/budget")
        _settle(page)
        assert not _logged_in(page)
        _login(page)
        # The server set the cookie: HttpOnly, strict, a random token only.
        for _ in range(60):
            cookies = [c for c in context.cookies() if c["name"] == users.SESSION_COOKIE]
            if cookies:
                break
            page.wait_for_timeout(500)
        assert len(cookies) == 1, context.cookies()
        cookie = cookies[0]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert ADMIN not in cookie["value"] and len(cookie["value"]) >= 40
        assert page.evaluate("document.cookie").find(users.SESSION_COOKIE) == -1  # not for scripts
        # Kept beyond the browser session, for the configured hours (default 8).
        assert cookie["expires"] - time.time() == pytest.approx(users.session_hours() * 3600, abs=120)
        # Only the token's hash is stored on the server.
        rows = _sessions(db)
        assert rows["token_hash"].tolist() == [users.token_hash(cookie["value"])]
        assert cookie["value"] not in rows.astype(str).to_string()

        page.reload()
        _settle(page)
        assert _logged_in(page), "a reload lost the login"
        page.screenshot(path=str(ARTIFACTS / "session-after-reload.png"))

        shared = f"{base}/trends?year={years[-1]}"  # a link someone sent, opened in a new tab
        tab = context.new_page()
        tab.goto(shared)
        _settle(tab)
        assert _logged_in(tab), "a new tab did not share the login"

        # Logout in the first tab ends the session everywhere.
        page.locator(SIDEBAR).get_by_role("button", name="退出登录").click()
        page.locator(SIDEBAR).get_by_role("button", name="登录", exact=True).wait_for(timeout=60_000)
        page.reload()
        _settle(page)
        assert not _logged_in(page), "logout did not survive a reload"
        tab.reload()
        _settle(tab)
        assert not _logged_in(tab), "the other tab stayed logged in"
        rows = _sessions(db)
        assert rows["ended_at"].notna().all() and rows["end_reason"].tolist() == ["主动退出"]
        # The cookie, even if kept (copied before logout), no longer logs anyone in.
        other = browser.new_context(locale="zh-CN")
        other.set_default_timeout(120_000)
        other.add_cookies([{k: cookie[k] for k in ("name", "value", "domain", "path")}])
        stolen = other.new_page()
        stolen.goto(f"{base}/budget")
        _settle(stolen)
        assert not _logged_in(stolen)
        browser.close()


def test_read_login_shows_nothing_from_the_database_before_login(demo, monkeypatch):
    from playwright.sync_api import sync_playwright

    tmp, db, names, years = demo
    monkeypatch.setenv("PERFEVAL_READ_LOGIN", "1")
    with streamlit_server(db, tmp / "server-read.log", app=SERVE) as (base, _), \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_or_skip(), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        context.set_default_timeout(120_000)
        page = context.new_page()
        # A fresh server's first visitor opening a deep link, then the others.
        for path in ("budget", "", "profile", f"trends?year={years[-1]}"):
            page.goto(f"{base}/{path}")
            _settle(page)
            page.get_by_text("本系统需要登录后查看").wait_for(timeout=60_000)
            html = page.content()
            shown = [n for n in names if n in html] + [str(y) for y in years if str(y) in html]
            assert shown == [], (path, shown)
        page.screenshot(path=str(ARTIFACTS / "read-login-anonymous.png"))
        # A forged X-Forwarded-For from this machine is not believed: the address is unknown.
        forged = browser.new_context(locale="zh-CN", extra_http_headers={"X-Forwarded-For": "10.9.9.9"})
        forged.set_default_timeout(120_000)
        fpage = forged.new_page()
        fpage.goto(f"{base}/")
        _settle(fpage)
        fpage.locator(SIDEBAR).get_by_label("用户名").fill(ADMIN)
        fpage.locator(SIDEBAR).get_by_label("密码").fill("wrong-password")
        fpage.locator(SIDEBAR).get_by_role("button", name="登录", exact=True).click()
        fpage.locator(SIDEBAR).get_by_text("用户名或密码不正确").wait_for()
        # A shared link opened before logging in keeps its view after the login, and
        # the page then names the data (the control for the checks above).
        page.goto(f"{base}/trends?year={years[0]}")
        _settle(page)
        _login(page)
        wait_caption(page, f"{years[0]} 年度")
        html = page.content()
        assert any(n in html for n in names) and str(years[0]) in html
        assert f"year={years[0]}" in page.url
        page.screenshot(path=str(ARTIFACTS / "read-login-after-login.png"))
        log = _audit(db)
        logins = log[log["action"] == "登录"]
        assert logins["address"].tolist()[-2:] == [users.UNKNOWN_ADDRESS, "127.0.0.1"]
        assert "10.9.9.9" not in log.astype(str).to_string()
        browser.close()
