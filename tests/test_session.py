"""Sessions kept across reloads (server side, token hash only), the cookie route,
and PERFEVAL_READ_LOGIN=1 closing the whole app before anything is read (AppTest)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from perfeval import auditlog, users
from perfeval.store import Store
from perfeval.ui import auth
from tests.conftest import small_evaluation

ROOT = Path(__file__).parent.parent
APP = str(ROOT / "app.py")
PASSWORD = "session-test-password"


@pytest.fixture
def people(store):
    users.add_user(store, "王管理", PASSWORD, users.ADMIN, actor="测试")
    users.add_user(store, "赵查看", PASSWORD, users.VIEWER, ["甲街道"], actor="测试")
    return store


# -- the session table -------------------------------------------------------------

def test_a_session_keeps_the_user_and_stores_only_the_token_hash(people):
    user = users.get_user(people, "赵查看")
    token = users.create_session(people, user, address="10.0.0.5")
    digest = users.token_hash(token)
    assert users.session_user(people, digest) == (user, None)
    stored = people.query_df("SELECT * FROM auth.sessions").astype(str).to_string()
    assert token not in stored and digest in stored
    assert users.session_user(people, users.token_hash(token + "x")) == (None, None)


def test_a_session_ends_after_its_hours_or_when_idle(people, monkeypatch):
    monkeypatch.setenv("PERFEVAL_SESSION_HOURS", "2")
    monkeypatch.setenv("PERFEVAL_SESSION_IDLE_MINUTES", "30")
    user = users.get_user(people, "王管理")
    t0 = datetime(2026, 5, 1, 8, 0, 0)
    busy = users.token_hash(users.create_session(people, user, now=t0))
    idle = users.token_hash(users.create_session(people, user, now=t0))
    # Used every 20 minutes: kept until its two hours are up, then over.
    for minutes in range(20, 120, 20):
        assert users.session_user(people, busy, now=t0 + timedelta(minutes=minutes))[0] == user
    assert users.session_user(people, busy, now=t0 + timedelta(hours=2, seconds=1)) == (
        None, "登录已超过保持时间，请重新登录")
    # Left alone for more than the idle time: over.
    assert users.session_user(people, idle, now=t0 + timedelta(minutes=31)) == (
        None, "空闲超时，已自动退出登录")
    # And it stays over.
    assert users.session_user(people, idle, now=t0 + timedelta(minutes=32))[0] is None


def test_logout_password_change_and_removal_end_sessions(people):
    viewer = users.get_user(people, "赵查看")
    a, b, c = (users.token_hash(users.create_session(people, viewer)) for _ in range(3))
    users.end_session(people, a, "主动退出")
    assert users.session_user(people, a)[0] is None and users.session_user(people, b)[0] == viewer
    users.set_password(people, "赵查看", "a-new-password-1", actor="王管理")
    assert users.session_user(people, b)[0] is None and users.session_user(people, c)[0] is None
    d = users.token_hash(users.create_session(people, viewer))
    users.remove_user(people, "赵查看", actor="王管理")
    assert users.session_user(people, d)[0] is None
    reasons = people.query_df("SELECT end_reason FROM auth.sessions ORDER BY created_at")
    assert sorted(reasons["end_reason"]) == sorted(["主动退出", "密码已修改", "密码已修改", "用户已被删除"])


def test_session_hours_from_the_environment(monkeypatch):
    monkeypatch.delenv("PERFEVAL_SESSION_HOURS", raising=False)
    assert users.session_hours() == 8
    monkeypatch.setenv("PERFEVAL_SESSION_HOURS", "0.5")
    assert users.session_hours() == 0.5
    for bad in ("abc", "-3", "0"):
        monkeypatch.setenv("PERFEVAL_SESSION_HOURS", bad)
        assert users.session_hours() == 8


def test_sessions_and_attempts_stay_out_of_backups(people):
    from perfeval.backup import table_names

    users.create_session(people, users.get_user(people, "王管理"))
    with pytest.raises(users.LoginError):
        users.authenticate(people, "王管理", "wrong-password")
    cur = people.cursor()
    try:
        names = table_names(cur)
    finally:
        cur.close()
    assert "sessions" not in names and "login_attempts" not in names and "users" in names


# -- the cookie route ----------------------------------------------------------------

def _post(body, *, origin: str | None = "http://127.0.0.1:8501", host="127.0.0.1:8501",
          content_type="application/json"):
    """Call the route's endpoint as the server would, with a real Starlette request."""
    route = auth.session_routes()[0]
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if content_type:
        headers.append((b"content-type", content_type.encode()))
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    scope = {"type": "http", "method": "POST", "path": route.path, "headers": headers,
             "query_string": b"", "scheme": "http", "server": ("127.0.0.1", 8501),
             "client": ("127.0.0.1", 50000), "root_path": "", "http_version": "1.1"}
    sent = []

    async def receive():
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(route.app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    cookies = [v.decode("latin-1") for k, v in start["headers"] if k == b"set-cookie"]
    return start["status"], cookies


def test_route_exchanges_a_one_time_code_for_an_httponly_cookie():
    code = auth.offer_handoff("the-token-value")
    status, cookies = _post({"code": code})
    assert status == 200 and len(cookies) == 1
    cookie = cookies[0]
    assert cookie.startswith(f"{users.SESSION_COOKIE}=the-token-value;")
    attrs = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "max-age", "path"} <= attrs
    assert "samesite=strict" in cookie.lower()
    assert f"max-age={int(users.session_hours() * 3600)}" in cookie.lower()
    assert _post({"code": code})[0] == 400  # once only
    assert not auth.handoff_pending(code)


def test_route_refuses_other_sites_and_forms():
    code = auth.offer_handoff("another-token")
    assert _post({"code": code}, origin="https://evil.example")[0] == 403
    assert _post({"code": code}, origin=None)[0] == 403
    assert _post(b"code=" + code.encode(), content_type="application/x-www-form-urlencoded")[0] == 403
    assert _post({"code": "made-up"})[0] == 400
    assert _post({"code": code})[0] == 200  # refusals did not use it up


def test_route_drops_the_cookie_on_logout():
    status, cookies = _post({"logout": True})
    assert status == 200
    assert cookies[0].startswith(f'{users.SESSION_COOKIE}="";') or \
        cookies[0].startswith(f"{users.SESSION_COOKIE}=;")
    assert "max-age=0" in cookies[0].lower()


def test_a_handoff_expires(monkeypatch):
    code = auth.offer_handoff("late-token")
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + auth.HANDOFF_SECONDS + 1)
    assert not auth.handoff_pending(code) and auth.claim_handoff(code) is None


# -- the app: login creates a session, logout ends it, read-login gates everything ------

@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "app.duckdb"
    monkeypatch.setenv("PERFEVAL_DB", str(path))
    monkeypatch.delenv("PERFEVAL_READ_LOGIN", raising=False)
    with Store(path) as s:
        s.write([small_evaluation("甲街道", 2023), small_evaluation("乙街道", 2024)])
        users.add_user(s, "王管理", PASSWORD, users.ADMIN, actor="测试")
    return path


def _texts(at) -> str:
    from google.protobuf import text_format

    def walk(node):
        yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    return "\n".join(text_format.MessageToString(n.proto, as_utf8=True)
                     for n in walk(at._tree) if getattr(n, "proto", None) is not None)


def _login(at, password=PASSWORD):
    at.sidebar.text_input(key="auth_name").input("王管理")
    at.sidebar.text_input(key="auth_password").input(password)
    at.sidebar.button(key="FormSubmitter:auth_login-登录").click().run()
    return at


def _login_app():
    from perfeval.ui import auth

    auth.login_sidebar(auth.get_store())


def test_login_creates_a_session_and_hands_over_a_code_not_the_token(db):
    at = AppTest.from_function(_login_app, default_timeout=120).run()
    _login(at)
    assert not at.exception
    digest = at.session_state[auth.SESSION_KEY]
    code = at.session_state[auth.HANDOFF_KEY]
    page = _texts(at)
    assert "已登录：王管理" in page
    assert code in page and "perfeval/session" in page  # the page posts the code to the route
    store = auth.get_store()  # the app's own Store (this process holds the file)
    rows = store.query_df("SELECT token_hash, user_name, ended_at FROM auth.sessions")
    assert rows["token_hash"].tolist() == [digest] and rows["user_name"].tolist() == ["王管理"]
    # The token behind the code is not in the page: only its one-time code is.
    token = auth.claim_handoff(code)
    assert users.token_hash(token) == digest and token not in page
    # Logout ends the session on the server and has the page drop the cookie.
    at.sidebar.button(key="auth_logout").click().run()
    assert "已登录" not in _texts(at) and auth.SESSION_KEY not in at.session_state
    after = _texts(at)
    assert "perfeval/session" in after and "logout" in after and code not in after
    ended = store.query_df("SELECT ended_at, end_reason FROM auth.sessions")
    log = store.query_df("SELECT detail FROM audit_log WHERE action = ?", [auditlog.LOGOUT])
    assert ended["end_reason"].tolist() == ["主动退出"] and ended["ended_at"].notna().all()
    assert log["detail"].tolist() == ["主动退出"]


def test_a_session_ended_elsewhere_logs_this_tab_out(db):
    at = AppTest.from_function(_login_app, default_timeout=120).run()
    _login(at)
    digest = at.session_state[auth.SESSION_KEY]
    users.end_session(auth.get_store(), digest, "主动退出")  # e.g. logout in another tab
    at.run()
    assert "已登录" not in _texts(at) and "登录已结束" in _texts(at)


def test_read_login_gives_anonymous_visitors_only_the_login_form(db, monkeypatch):
    monkeypatch.setenv("PERFEVAL_READ_LOGIN", "1")
    at = AppTest.from_file(APP, default_timeout=120).run()
    shown = _texts(at)
    assert not at.exception
    assert "本系统需要登录后查看" in shown and "用户名" in shown
    for secret in ("甲街道", "乙街道", "测试区", "街道", "2023", "2024"):
        assert secret not in shown, secret
    assert not at.selectbox and not at.multiselect  # no filters: they would list the data
    # The control: the same app for a logged-in tab lists them in the sidebar.
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[auth.USER_KEY] = {"name": "王管理", "role": users.ADMIN, "departments": None}
    at.session_state[auth.SEEN_KEY] = time.time()
    at.run()
    shown = _texts(at)
    assert not at.exception and "已登录：王管理" in shown
    assert "甲街道" in shown and "2024" in shown and at.selectbox
