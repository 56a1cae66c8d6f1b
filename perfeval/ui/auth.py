"""Login in the sidebar, session expiry, and the viewer's departments.

A small form over the hashed user store (perfeval.users): no third-party
login widget, so nothing to keep in step with Streamlit's releases. The
logged-in user lives in ``st.session_state`` as a plain dict; every rerun
re-reads the user (a removed user or a changed role takes effect at once) and
ends the session after the idle time (``PERFEVAL_SESSION_IDLE_MINUTES``).

Every page's queries take ``st.session_state["allowed_departments"]``
(None = all), set here from the user.
"""

from __future__ import annotations

import time

import streamlit as st

from perfeval import auditlog, users
from perfeval.store import Store, default_db_path, shared_store
from perfeval.users import User

USER_KEY = "auth_user"
SEEN_KEY = "auth_last_active"
NOTICE_KEY = "auth_notice"
ALLOWED_KEY = "allowed_departments"

@st.cache_resource
def _store(path: str) -> Store:
    return shared_store(path)  # the same object as the writer thread's (perfeval.spool)


def get_store() -> Store:
    """The process's one read-write Store (shared by every session)."""
    return _store(str(default_db_path()))


def client_address() -> str | None:
    try:
        address = st.context.ip_address
    except Exception:  # some proxies give none
        return None
    return address if isinstance(address, str) else None  # AppTest gives a stand-in


def _as_user(d: dict | None) -> User | None:
    if not d:
        return None
    depts = d.get("departments")
    return User(d["name"], d["role"], tuple(depts) if depts else None)


def _remember(user: User) -> None:
    st.session_state[USER_KEY] = {"name": user.name, "role": user.role,
                                  "departments": list(user.departments or []) or None}
    st.session_state[SEEN_KEY] = time.time()


def _forget(store, reason: str | None) -> None:
    user = _as_user(st.session_state.get(USER_KEY))
    st.session_state.pop(USER_KEY, None)
    st.session_state.pop(SEEN_KEY, None)
    if user is not None and reason:
        st.session_state[NOTICE_KEY] = reason
        try:
            auditlog.log(store, auditlog.LOGOUT, actor=user.name, address=client_address(),
                         detail=reason)
        except Exception:  # a read-only store cannot log; the logout still happens
            pass


def current_user(store) -> User | None:
    """The logged-in user, checked against the store and the idle time; also
    sets ``allowed_departments`` for this session's queries."""
    user = _as_user(st.session_state.get(USER_KEY))
    if user is not None:
        last = float(st.session_state.get(SEEN_KEY) or 0)
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
    st.session_state[ALLOWED_KEY] = users.allowed_departments(user)
    return user


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
            if st.button("退出登录", key="auth_logout"):
                _forget(store, "主动退出")
                st.session_state[ALLOWED_KEY] = users.allowed_departments(None)
                st.rerun()
            return user
        if users.user_count(store) == 0:
            st.caption("尚未创建用户：阅读无需登录；导入数据需先创建管理员（见“数据管理”页）。")
            return None
        with st.form("auth_login", clear_on_submit=True, border=True):
            st.markdown("**登录**" + ("" if users.read_login_required() else "（导入和管理需要登录）"))
            name = st.text_input("用户名", key="auth_name")
            password = st.text_input("密码", type="password", key="auth_password")
            submitted = st.form_submit_button("登录")
        if submitted:
            try:
                user = users.authenticate(store, name, password, address=client_address())
            except users.LoginError as exc:
                st.error(str(exc))
                return None
            _remember(user)
            st.session_state[ALLOWED_KEY] = users.allowed_departments(user)
            st.rerun()
    return None


def require_read(user: User | None) -> None:
    """Stop the page when this deployment needs a login to read."""
    if not users.can_read(user):
        st.info("本系统需要登录后查看。请在左侧栏登录。")
        st.stop()


def require(allowed: bool, message: str) -> None:
    if not allowed:
        st.warning(message)
        st.stop()
