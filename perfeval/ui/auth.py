"""Login in the sidebar, sessions that survive a reload, and the viewer's departments.

A small form over the hashed user store (perfeval.users): no third-party
login widget, so nothing to keep in step with Streamlit's releases. The
logged-in user lives in ``st.session_state`` as a plain dict; every rerun
re-reads the user (a removed user or a changed role takes effect at once).

Sessions: a login creates a server-side session (``auth.sessions``, only the
token's SHA-256 stored) whose token travels in an HttpOnly, SameSite=Strict
cookie, kept ``PERFEVAL_SESSION_HOURS`` (default 8) and ended after
``PERFEVAL_SESSION_IDLE_MINUTES`` idle. A script cannot set an HttpOnly cookie,
so the server does: ``serve.py`` runs the app as an ``st.App`` with one extra
route, :data:`SESSION_ROUTE`. After a login the page posts a one-time code
(valid :data:`HANDOFF_SECONDS`, kept in this process) to that route, which
answers with the cookie; the token itself never appears in the page or a URL.
A new tab or a reload sends the cookie with its websocket handshake
(``st.context.cookies``). Logout ends the session on the server first (every
tab and the cookie stop working at once), then asks the route to drop the
cookie. Started as plain ``streamlit run app.py`` there is no route: a login
then lasts for its tab only.

Every page's queries take ``st.session_state["allowed_departments"]``
(None = all), set here from the user.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from urllib.parse import urlsplit

import streamlit as st

from perfeval import auditlog, users
from perfeval.store import Store, default_db_path, shared_store
from perfeval.users import User

USER_KEY = "auth_user"
SEEN_KEY = "auth_last_active"
NOTICE_KEY = "auth_notice"
ALLOWED_KEY = "allowed_departments"
SESSION_KEY = "auth_session"        # this tab's session: the token's hash
HANDOFF_KEY = "auth_handoff"        # one-time code the page still has to post
ENDED_KEY = "auth_cookie_ended"     # the cookie's session, known to be over: not retried
CLEAR_KEY = "auth_clear_cookie"     # the page still has to drop the cookie

SESSION_ROUTE = "perfeval/session"  # below server.baseUrlPath
HANDOFF_SECONDS = 60.0

@st.cache_resource
def _store(path: str) -> Store:
    return shared_store(path)  # the same object as the writer thread's (perfeval.spool)


def get_store() -> Store:
    """The process's one read-write Store (shared by every session)."""
    return _store(str(default_db_path()))


def client_address() -> str:
    """The client's address to log and throttle by (see users.resolve_address)."""
    peer = None
    try:
        # The raw peer: st.context.ip_address reports loopback as None.
        from streamlit.runtime.context import _get_client_context

        ctx = _get_client_context()
        peer = ctx.remote_ip if ctx is not None else None
    except Exception:  # an older or newer Streamlit without it
        try:
            peer = st.context.ip_address
        except Exception:
            peer = None
    if not isinstance(peer, str):  # AppTest gives a stand-in
        peer = None
    try:
        forwarded = list(st.context.headers.get_all("X-Forwarded-For"))
    except Exception:
        forwarded = []
    return users.resolve_address(peer, forwarded)


# -- the cookie handoff (shared by the page's runs and the server's route) -------------

_handoffs: dict[str, tuple[str, float]] = {}  # sha256(code) -> (token, expiry)
_handoffs_lock = threading.Lock()


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def offer_handoff(token: str) -> str:
    """A one-time code the page may exchange for the session cookie."""
    code = secrets.token_urlsafe(24)
    now = time.time()
    with _handoffs_lock:
        for k in [k for k, (_, exp) in _handoffs.items() if exp < now]:
            del _handoffs[k]
        _handoffs[_digest(code)] = (token, now + HANDOFF_SECONDS)
    return code


def claim_handoff(code: str) -> str | None:
    """The token for ``code``, once; None when unknown, used or expired."""
    with _handoffs_lock:
        token, expiry = _handoffs.pop(_digest(code or ""), (None, 0.0))
    return token if token is not None and expiry >= time.time() else None


def handoff_pending(code: str) -> bool:
    with _handoffs_lock:
        entry = _handoffs.get(_digest(code or ""))
    return entry is not None and entry[1] >= time.time()


def _base_path() -> str:
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + base + "/" if base else "/"


def _post_to_route(payload: dict) -> None:
    """Have the page POST ``payload`` to the session route (same origin, JSON:
    a cross-site form cannot send it)."""
    url = json.dumps(_base_path() + SESSION_ROUTE)
    body = json.dumps(json.dumps(payload))
    st.html(f"<script>fetch({url}, {{method: 'POST', credentials: 'same-origin', "
            f"headers: {{'Content-Type': 'application/json'}}, body: {body}}})"
            f".catch(() => null);</script>", unsafe_allow_javascript=True)


def session_routes() -> list:
    """The Starlette route that sets and drops the session cookie (for ``st.App``)."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def endpoint(request: Request) -> JSONResponse:
        origin = request.headers.get("origin")
        if not origin or urlsplit(origin).netloc != request.headers.get("host") or \
                request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"ok": False}, status_code=403)
        try:
            payload = await request.json()
        except ValueError:
            return JSONResponse({"ok": False}, status_code=400)
        if not isinstance(payload, dict):
            return JSONResponse({"ok": False}, status_code=400)
        cookie = dict(key=users.SESSION_COOKIE, path=_base_path().rstrip("/") or "/",
                      httponly=True, samesite="strict", secure=request.url.scheme == "https")
        response = JSONResponse({"ok": True})
        if payload.get("logout"):
            response.delete_cookie(**cookie)  # the session itself already ended on the server
            return response
        token = claim_handoff(str(payload.get("code") or ""))
        if token is None:
            return JSONResponse({"ok": False}, status_code=400)
        response.set_cookie(value=token, max_age=int(users.session_hours() * 3600), **cookie)
        return response

    return [Route(_base_path() + SESSION_ROUTE, endpoint, methods=["POST"])]


# -- the logged-in user ---------------------------------------------------------------

def _as_user(d: dict | None) -> User | None:
    if not d:
        return None
    depts = d.get("departments")
    return User(d["name"], d["role"], tuple(depts) if depts else None)


def _remember(user: User, session: str | None = None) -> None:
    st.session_state[USER_KEY] = {"name": user.name, "role": user.role,
                                  "departments": list(user.departments or []) or None}
    st.session_state[SEEN_KEY] = time.time()
    if session is not None:
        st.session_state[SESSION_KEY] = session


def _forget(store, reason: str | None, *, log: bool = True) -> None:
    user = _as_user(st.session_state.get(USER_KEY))
    session = st.session_state.pop(SESSION_KEY, None)
    st.session_state.pop(USER_KEY, None)
    st.session_state.pop(SEEN_KEY, None)
    st.session_state.pop(HANDOFF_KEY, None)
    if session is not None:
        st.session_state[ENDED_KEY] = session
        try:
            users.end_session(store, session, reason or "退出登录")
        except Exception:  # a read-only store: the session dies with its expiry
            pass
    if user is not None and reason:
        st.session_state[NOTICE_KEY] = reason
        if log:
            try:
                auditlog.log(store, auditlog.LOGOUT, actor=user.name, address=client_address(),
                             detail=reason)
            except Exception:  # a read-only store cannot log; the logout still happens
                pass


def _cookie_session() -> str | None:
    try:
        token = st.context.cookies.get(users.SESSION_COOKIE)
    except Exception:
        return None
    return users.token_hash(token) if isinstance(token, str) and token else None


def current_user(store) -> User | None:
    """The logged-in user, checked against the store and the idle time; also
    sets ``allowed_departments`` for this session's queries. A tab without a
    login takes it from the session cookie."""
    ss = st.session_state
    user = _as_user(ss.get(USER_KEY))
    session = ss.get(SESSION_KEY)
    if user is None:
        cookie = _cookie_session()
        if cookie is not None and cookie != ss.get(ENDED_KEY):
            try:
                user, reason = users.session_user(store, cookie)
            except Exception:  # e.g. a read-only store without the session table
                user, reason = None, None
            if user is None:
                ss[ENDED_KEY] = cookie
                if reason:
                    ss[NOTICE_KEY] = reason
            else:
                _remember(user, cookie)
    elif session is not None:
        # Judged on the server: a logout or an expiry in any tab ends it here too.
        fresh, reason = users.session_user(store, session)
        if fresh is None:
            _forget(store, reason or "登录已结束，请重新登录", log=reason is not None and
                    reason != "登录已结束，请重新登录")
        else:
            _remember(fresh)
        user = fresh
    else:  # a login of this tab only (no session row)
        last = float(ss.get(SEEN_KEY) or 0)
        if users.session_expired(last, time.time()):
            _forget(store, "空闲超时，已自动退出登录")
            user = None
        else:
            fresh = users.get_user(store, user.name)
            if fresh is None:
                _forget(store, "用户已被删除")
            else:
                _remember(fresh)
            user = fresh
    ss[ALLOWED_KEY] = users.allowed_departments(user)
    return user


def _login(store, name: str, password: str) -> None:
    address = client_address()
    try:
        user = users.authenticate(store, name, password, address=address)
    except users.LoginError as exc:
        st.error(str(exc))
        return
    token = users.create_session(store, user, address=address)
    _remember(user, users.token_hash(token))
    st.session_state[HANDOFF_KEY] = offer_handoff(token)
    st.session_state.pop(CLEAR_KEY, None)
    st.session_state[ALLOWED_KEY] = users.allowed_departments(user)
    st.rerun()


def login_sidebar(store) -> User | None:
    """The sidebar's login/logout block; returns the current user. Call once
    per run (the app's entry point does)."""
    user = current_user(store)
    with st.sidebar:
        notice = st.session_state.pop(NOTICE_KEY, None)
        if notice:
            st.info(notice)
        if user is not None:
            st.caption(f"已登录：{user.label}")
            code = st.session_state.get(HANDOFF_KEY)
            if code and handoff_pending(code):
                _post_to_route({"code": code})  # the server answers with the cookie
            else:
                st.session_state.pop(HANDOFF_KEY, None)
            if st.button("退出登录", key="auth_logout"):
                _forget(store, "主动退出")
                st.session_state[CLEAR_KEY] = True
                st.session_state[ALLOWED_KEY] = users.allowed_departments(None)
                st.rerun()
            return user
        if st.session_state.pop(CLEAR_KEY, False):
            _post_to_route({"logout": True})
        if users.user_count(store) == 0:
            st.caption("尚未创建用户：阅读无需登录；导入数据需先创建管理员（见“数据管理”页）。"
                       if not users.read_login_required() else
                       "尚未创建用户：请用看板启动日志中的“首次设置令牌”创建第一位管理员。")
            return None
        with st.form("auth_login", clear_on_submit=True, border=True):
            st.markdown("**登录**" + ("" if users.read_login_required() else "（导入和管理需要登录）"))
            name = st.text_input("用户名", key="auth_name")
            password = st.text_input("密码", type="password", key="auth_password")
            submitted = st.form_submit_button("登录")
        if submitted:
            _login(store, name, password)
    return None


def gate(store) -> None:
    """With ``PERFEVAL_READ_LOGIN=1``, an anonymous visitor gets the login form
    and nothing else: call before anything reads the database (the sidebar's
    filters included)."""
    if users.read_login_required() and current_user(store) is None:
        if users.user_count(store) == 0:  # nothing to log in with yet: the first-run form
            from perfeval.ui.writer import first_admin_panel

            first_admin_panel(store)
            st.stop()
        login_sidebar(store)
        st.info("本系统需要登录后查看。请在左侧栏登录。")
        st.stop()


def require_read(user: User | None) -> None:
    """Stop the page when this deployment needs a login to read."""
    if not users.can_read(user):
        st.info("本系统需要登录后查看。请在左侧栏登录。")
        st.stop()


def require(allowed: bool, message: str) -> None:
    if not allowed:
        st.warning(message)
        st.stop()
